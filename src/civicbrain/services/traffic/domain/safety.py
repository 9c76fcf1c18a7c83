"""The safety layer every adaptive controller goes through.

A controller only *asks* for a green phase. This layer decides what the lights actually show:

* clearance taken from the network's own program: links losing their green show yellow for the
  program's yellow time, then all-red for its all-red time, before any conflicting green;
* box clearance: when the program's clearance ends while vehicles of the links losing green still
  stand inside the junction box (box presence zones), the all-red goes on, a second at a time, until
  they have left, stop leaving (``box_stall``) or ``box_clearance`` seconds have passed; only at
  junctions with a path of at least ``box_min_path`` m through the box (ordinary crossings clear
  within the yellow, and a wait there cost ingolstadt21 more than it saved). On a cluster junction with 30 m paths
  through the box and no all-red in its program, a phase otherwise ends with its turners stopped
  mid-box, the next phase's vehicles drive in across them and the box locks with its exits empty;
  an all-red on every switch avoids that but costs capacity where boxes clear within the yellow;
* minimum green: a green is never cut before ``min_green`` (except that nothing can shorten clearance);
* maximum green: after ``max_green`` the green moves on if any other phase has demand;
* bounded wait: a phase with waiting vehicles is served at most ``max_wait`` seconds after it was
  last served, whatever the controller prefers;
* spillback / gridlock guard: a phase whose exits are all blocked is not given green while another
  phase with demand and free exits exists (a green into a full street only locks the junction and,
  upstream, blocks vehicles from entering the network);
* exit holds: within a green phase, a link whose exit lane is blocked is held red (through its own
  yellow) until the exit has room again. A vehicle let into the junction box with nowhere to go
  stops inside it, across the paths of the crossing streams; between two closely spaced signals
  (a 12 m link holds two cars) that locks both junctions for good.

Every change of the lights is appended to ``trace`` so the properties can be checked afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .network import GREEN, Junction, Link


@dataclass(frozen=True)
class SafetyLimits:
    min_green: float = 5.0
    max_green: float = 60.0
    max_wait: float = 120.0
    hold_blocked_exits: bool = True  # hold red the links of a green whose exit is blocked
    # a protected-turn phase counts as served while the phase shown gives all its links green
    # (the turns permissively) and the turning lanes' queues have cleared: bounded wait then does
    # not force a phase whose movements just ran (see SafeSignal.note_served)
    serve_covered: bool = False
    # most seconds of all-red added after the program's clearance while vehicles of the links
    # losing green stand in the junction box (0: the program's clearance only)
    box_clearance: float = 0.0
    # ... giving up once this many seconds pass without a vehicle leaving the box
    box_stall: int = 2
    # ... only at junctions whose longest path through the box is at least this long (metres): a
    # vehicle entering at the end of the yellow needs (path + 5 m) / 13.9 m/s >= 2.5 s to clear it
    box_min_path: float = 30.0


@dataclass(frozen=True)
class TraceEntry:
    time: float
    junction: str
    kind: str  # "green" | "yellow" | "all_red" | "hold" (links of the green held or released)
    state: str
    phase: int  # green phase shown (green) or being moved to (yellow/all_red)
    reason: str = ""


@dataclass
class PhaseStatus:
    """Detector-derived status of one green phase, supplied by the controller each decision."""

    demand: float  # vehicles waiting or approaching on the lanes it serves
    blocked: bool = False  # all its exits are full (spillback)


def permissive_lanes(junction: Junction) -> list[dict[int, tuple[str, ...]]]:
    """For each green phase p, the other phases q all of whose green links p shows green too
    (q protects turns that p lets go permissively), each with the incoming lanes of the links q
    upgrades from a permissive 'g' in p to a protected 'G'."""

    states = junction.green_phases

    def upgraded_lanes(p: int, q: int) -> tuple[str, ...]:
        return tuple(
            sorted({k.in_lane for k in junction.links if states[p][k.index] == "g" and states[q][k.index] == "G"})
        )

    def build() -> list[dict[int, tuple[str, ...]]]:
        greens = [{i for i, c in enumerate(state) if c in GREEN} for state in states]
        return [
            {q: upgraded_lanes(p, q) for q, links in enumerate(greens) if q != p and links <= shown}
            for p, shown in enumerate(greens)
        ]

    return junction.derived("permissive_lanes", build)


def clearing_links(junction: Junction, phase: int, target: int) -> tuple[Link, ...]:
    """Links green in ``phase`` and not in ``target`` that pass through the box: their vehicles
    can still stand inside it when the target's green would begin."""

    def build() -> tuple[Link, ...]:
        before, after = junction.green_phases[phase], junction.green_phases[target]
        return tuple(k for k in junction.links if k.box and before[k.index] in GREEN and after[k.index] not in GREEN)

    return junction.derived(("clearing_links", phase, target), build)


def transition_state(current: str, target: str, colour: str) -> str:
    """Links green now and not green next get ``colour`` ('y' or 'r'); links green in both stay."""
    out = []
    for a, b in zip(current, target, strict=True):
        if a in GREEN and b in GREEN:
            out.append(a)
        elif a in GREEN:
            out.append(colour)
        else:
            out.append("r")
    return "".join(out)


@dataclass
class SafeSignal:
    """The signal head of one junction, driven through the safety rules."""

    junction: Junction
    limits: SafetyLimits
    now: float
    phase: int = 0
    mode: str = "green"
    target: int = 0
    mode_until: float = 0.0
    green_since: float = 0.0
    last_served: list[float] = field(default_factory=list)
    trace: list[TraceEntry] = field(default_factory=list)
    record: bool = False
    # links of the current green held for a blocked exit: link index -> "y" (clearing) or "r"
    held: dict[int, str] = field(default_factory=dict)
    _held_yellow_until: dict[int, float] = field(default_factory=dict)
    _left_green: str | None = None  # the green shown when the last change of phase began
    _box_wait_until: float | None = None  # end of the box clearance allowed for this change
    _box_least: int = 0  # fewest vehicles seen standing in the clearing box during this change
    _box_stalled: int = 0  # seconds in a row the box has not emptied further
    _box_futile: bool = False  # the last box clearance gave up with vehicles still standing there

    def __post_init__(self) -> None:
        self.green_since = self.now
        self.last_served = [self.now] * len(self.junction.green_phases)
        self.target = self.phase

    @property
    def state(self) -> str:
        j = self.junction
        green = self._shown_green()
        if self.mode == "green":
            return green
        colour = "y" if self.mode == "yellow" else "r"
        state = transition_state(green, j.green_phases[self.target], colour)
        if colour == "y" and self.held:  # a held link still clearing keeps its yellow
            state = "".join("y" if self.held.get(i) == "y" else c for i, c in enumerate(state))
        return state

    def _shown_green(self) -> str:
        green = self.junction.green_phases[self.phase]
        if not self.held:
            return green
        return "".join(self.held.get(i, c) for i, c in enumerate(green))

    def hold_links(self, blocked: set[int] | frozenset[int], now: float) -> bool:
        """Hold red the links of the current green whose exits are ``blocked``; release the others.

        A held link shows yellow for the network's yellow time first; one that was red before
        this green began (nothing to clear) is held red at once. Returns True when the shown
        state changed.
        """
        if self.mode != "green":
            return False
        green = self.junction.green_phases[self.phase]
        changed = False
        for i in list(self.held):
            if self.held[i] == "y" and now >= self._held_yellow_until[i]:
                self.held[i] = "r"
                changed = True
            if i not in blocked and self.held[i] == "r":
                del self.held[i]
                changed = True
        fresh = now == self.green_since
        for i in blocked:
            if i in self.held or green[i] not in GREEN:
                continue
            if fresh and not self._was_green_before(i) or self.junction.yellow_time <= 0:
                self.held[i] = "r"
            else:
                self.held[i] = "y"
                self._held_yellow_until[i] = now + self.junction.yellow_time
            changed = True
        if changed:
            self._log(now, "exit_blocked", kind="hold")
        return changed

    def _was_green_before(self, link: int) -> bool:
        # a link green in both the previous and this phase kept its green through the clearance
        return self._left_green is not None and self._left_green[link] in GREEN

    def green_elapsed(self, now: float) -> float:
        return now - self.green_since if self.mode == "green" else 0.0

    def at_decision_point(self, now: float) -> bool:
        return self.mode == "green" and self.green_elapsed(now) >= self.limits.min_green

    def arbitrate(
        self, choice: int, status: list[PhaseStatus], now: float, *, priority: bool = False
    ) -> tuple[int, str]:
        """The phase that will actually be served, and why, given the controller's choice."""
        current = self.phase
        if self.green_elapsed(now) < self.limits.min_green:
            return current, "min_green"
        if priority:  # emergency pre-emption: clearance and min green still hold
            return choice, "priority"
        waiting = [
            (now - self.last_served[p], p)
            for p, s in enumerate(status)
            if p != current and s.demand > 0 and now - self.last_served[p] >= self.limits.max_wait
        ]
        if waiting:
            return max(waiting)[1], "bounded_wait"
        others = [(s.demand, p) for p, s in enumerate(status) if p != current and s.demand > 0 and not s.blocked]
        if choice == current and self.green_elapsed(now) >= self.limits.max_green and others:
            return max(others)[1], "max_green"
        if status[choice].blocked:
            free = [(s.demand, p) for p, s in enumerate(status) if p != choice and s.demand > 0 and not s.blocked]
            if free:
                return max(free)[1], "spillback"
        return choice, "controller"

    def request(self, phase: int, now: float, reason: str = "controller") -> None:
        """Start the move to ``phase`` (no-op if it is already green or a change is under way)."""
        if self.mode != "green" or phase == self.phase:
            return
        j = self.junction
        # held links stay red (or finish their yellow) through the clearance
        self._left_green = self._shown_green()
        self.target = phase
        self.last_served[self.phase] = now
        if j.yellow_time > 0:
            self.mode, self.mode_until = "yellow", now + j.yellow_time
        elif j.all_red_time > 0:
            self.mode, self.mode_until = "all_red", now + j.all_red_time
        else:
            self._start_green(now)
        self._log(now, reason)

    def tick(self, now: float, box_stuck: Callable[[Link], int] | None = None) -> bool:
        """Advance clearance; returns True when the shown state changed.

        ``box_stuck(link)``: vehicles of this link standing in the box (its presence zones) that
        can leave it (0 when its exit has no room); with it and ``limits.box_clearance`` the all-red lasts until
        the links losing green have cleared the box (see the module's docstring).
        """
        if self.mode == "green" or now < self.mode_until:
            return False
        if self.mode == "yellow" and self.junction.all_red_time > 0:
            self.mode, self.mode_until = "all_red", now + self.junction.all_red_time
        elif self._box_occupied(now, box_stuck):
            self.mode_until = now + 1.0
            if self.mode == "all_red":
                return False
            self.mode = "all_red"
            self._log(now, "box_clearance")
            return True
        else:
            self._start_green(now)
        self._log(now, "clearance_done")
        return True

    def _box_occupied(self, now: float, box_stuck: Callable[[Link], int] | None) -> bool:
        """Whether the all-red goes on for vehicles of the ending phase still standing in the box.

        Only while they are leaving: once the count standing there has not fallen for
        ``box_stall`` seconds they are waiting for something the all-red does not give them
        (ingolstadt21: a vehicle standing for minutes in one box would otherwise stretch every
        change of that junction to the full ``box_clearance``). After such a wait, the next
        changes of the junction give up at the first second nobody leaves, until a wait empties
        the box again (gneJ257 of ingolstadt21: 170 waits of 6 s an hour otherwise).
        """
        if box_stuck is None or self.limits.box_clearance <= 0 or not self._long_box():
            return False
        standing = sum(box_stuck(link) for link in clearing_links(self.junction, self.phase, self.target))
        if self._box_wait_until is None:
            self._box_wait_until = now + self.limits.box_clearance
            self._box_least, self._box_stalled = standing, 0
        elif standing < self._box_least:
            self._box_least, self._box_stalled = standing, 0
        else:
            self._box_stalled += 1
        if standing == 0:
            self._box_futile = False  # the box emptied: the wait helped
            return False
        # after a wait that did not empty the box, give up at the first second nobody leaves
        patience = 1 if self._box_futile else self.limits.box_stall
        if now >= self._box_wait_until or self._box_stalled >= patience:
            self._box_futile = True
            return False
        return True

    def _long_box(self) -> bool:
        return self.junction.longest_box_path >= self.limits.box_min_path

    def _start_green(self, now: float) -> None:
        self.held = {}
        self._box_wait_until = None
        self.mode, self.phase, self.green_since = "green", self.target, now
        self.last_served[self.phase] = now

    def note_served(self, now: float, queued: Callable[[str], bool] | None = None) -> None:
        """The current green keeps its phase 'served' (used for bounded-wait bookkeeping).

        With ``serve_covered`` it also serves each phase q whose links it all shows green, at the
        moments when no vehicle stands on the lanes whose turns q would protect (``queued``, from
        their approach detectors): a permissive turn whose queue has cleared was served, one that
        keeps finding no gap was not, and q then comes due under bounded wait as before.
        """
        if self.mode != "green":
            return
        self.last_served[self.phase] = now
        if self.limits.serve_covered and queued is not None:
            for q, lanes in permissive_lanes(self.junction)[self.phase].items():
                if not any(queued(lane) for lane in lanes):
                    self.last_served[q] = now

    def _log(self, now: float, reason: str, kind: str | None = None) -> None:
        if self.record:
            phase = self.phase if self.mode == "green" else self.target
            self.trace.append(TraceEntry(now, self.junction.id, kind or self.mode, self.state, phase, reason))
