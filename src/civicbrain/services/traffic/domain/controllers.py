"""Signal controllers. All of them see the junction only through detector readings.

* ``fixed``: the network's own fixed-time programs (SUMO runs them; no Python in the loop).
* ``actuated``: SUMO's gap-based actuated control over the same phases (minDur/maxDur from the net).
* ``max_pressure``: Varaiya's max-pressure, phase with the largest sum of (upstream - downstream)
  vehicle counts over its movements, re-decided every ``decision_interval`` seconds.
* ``qpa`` (queue-pressure actuated, ours): holds a green while vehicles are still flowing over its
  stop lines, or are about to arrive at them, and no other phase has a much larger weighted queue;
  otherwise gaps out to the phase
  with the largest queue pressure, skipping phases nobody waits for. Queues count more than moving
  vehicles, exits that are backing up count against a phase. On busy junctions, where greens rarely
  gap out, a phase that has waited long grows in weight and an approach whose detector stays full
  is credited with the queue it cannot see, so minor and entry approaches are not starved.

Adaptive controllers return a :class:`Choice`; the safety layer turns it into lights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .detectors import DetectorBus, box_id, in_id, loop_id, out_id
from .network import Junction, Link
from .safety import PhaseStatus, SafeSignal, SafetyLimits

EXIT_BLOCKED_OCCUPANCY = 60.0  # percent; a jammed exit detector reads roughly 65-80 %
JAM_SPACING = 7.5  # metres of lane a stopped car takes in a queue (5 m car, 2.5 m gap)
MIN_GAP = 2.5  # metres a stopped car keeps to its leader
FULL_FRACTION = 0.8  # an approach detector is full when its halting vehicles fill this share of it


@dataclass
class Choice:
    phase: int
    scores: list[float]
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # False when the controller saw no vehicle on any lane another phase serves: then the safety
    # rules (bounded wait, max green, spillback) have nothing to weigh and can be skipped
    rivals_waiting: bool = True


def exit_blocked(bus: DetectorBus, lane: str) -> bool:
    return _blocked(bus, out_id(lane))


def stuck_in_box(bus: DetectorBus, link: Link) -> int:
    """Vehicles of this link standing inside the junction box (its presence zones) while its exit
    has room: they will leave within a clearance if no crossing stream is let in. Those standing
    there for a full exit would not (0), and holding the other phases red for them only adds lost
    time."""
    standing = sum([bus.halted(box_id(lane)) for lane in link.box])
    if standing == 0 or exit_blocked(bus, link.out_lane):
        return 0
    return standing


def _blocked(bus: DetectorBus, exit_key: str) -> bool:
    """A standing queue fills the exit: jammed (a long detector), or no room left for one more car
    (a short link between two close junctions, where one or two stopped cars already fill it)."""
    halting = bus.halted(exit_key)  # first: it is already read, occupancy costs a detector call
    if halting == 0:
        return False
    occupancy = bus.occupancy(exit_key)
    if halting >= 2 and occupancy >= EXIT_BLOCKED_OCCUPANCY:
        return True
    # metres not covered by vehicles, less the gap each keeps to its leader
    free = bus.length.get(exit_key, 0.0) * (1.0 - occupancy / 100.0) - MIN_GAP * bus.vehicles(exit_key)
    return free < JAM_SPACING


def blocked_links(junction: Junction, bus: DetectorBus, phase: int) -> set[int]:
    """Signal indices green in ``phase`` that would let vehicles into a standing, full exit.

    Usually an index drives one connection, held when its exit is full. Where one index drives
    several (a single head for a whole approach: ingolstadt21's 243641585), it is held when some
    lane it serves has every exit full, as that lane's vehicles could only stop in the box; not
    when only one of a lane's exits is full, which would stop every lane of the approach for the
    few vehicles bound there (they wait at the stop line as behind any red)."""

    def build() -> tuple[list[tuple[str, tuple[int, ...]]], list[tuple[tuple[str, ...], int]]]:
        exits: dict[tuple[int, str], set[str]] = {}
        for m in junction.movements(phase):
            exits.setdefault((m.index, m.in_lane), set()).add(out_id(m.out_lane))
        # a lane with one exit under an index (nearly all): grouped by exit, each exit read once
        by_exit: dict[str, set[int]] = {}
        several: list[tuple[tuple[str, ...], int]] = []
        for (index, _), lane_exits in sorted(exits.items()):
            if len(lane_exits) == 1:
                by_exit.setdefault(next(iter(lane_exits)), set()).add(index)
            else:
                several.append((tuple(sorted(lane_exits)), index))
        return [(key, tuple(sorted(indices))) for key, indices in sorted(by_exit.items())], several

    blocked: set[int] = set()
    halted = bus.halted
    single, several = junction.derived(("lane_exits", phase), build)
    for exit_key, indices in single:
        if halted(exit_key) and _blocked(bus, exit_key):  # most exits: one cached read, nobody standing
            blocked.update(indices)
    for lane_exits, index in several:
        if index not in blocked and all(_blocked(bus, e) for e in lane_exits):
            blocked.add(index)
    return blocked


def long_links(junction: Junction, bus: DetectorBus, metres: float) -> bool:
    """Whether every approach and exit lane of the junction is at least ``metres`` long (its own
    detector piece, without the lanes feeding it).

    There a flowing green can be held against a heavier rival (``long_link_switch_ratio``): on a
    saturated network every cut costs a yellow and a restart, and the queue it keeps waiting has
    room to stand (arterial4x4: 690.7 -> 641.6 s, cologne1 at 1.2x demand 0.54 -> 0.41 x fixed
    time). Where a link stores only a car or two (ingolstadt21's 12 m pair between gneJ257 and
    243641585), the waiting queue spills back through the neighbouring box, and holding greens
    harder there locked 1-2 of 5 seeds. It is a property of each junction, read from its detectors:
    it holds at all grid and arterial junctions, at 9 of Cologne's 12 and at 1 of Ingolstadt's 29
    (their edges are split into pieces of a few metres near the junctions, which it reads as short).
    """

    def build() -> bool:
        own = bus.own_length
        lanes = [in_id(lane) for lane in junction.in_lanes] + [out_id(lane) for lane in junction.out_lanes]
        return all(own.get(d, 0.0) >= metres for d in lanes)

    return junction.derived(("long_links", metres), build)


@dataclass(frozen=True)
class PhaseKeys:
    """Detector ids a phase is judged by, resolved once per junction (decisions run every second)."""

    served: tuple[str, ...]  # approach detectors of the lanes it gives green
    loops: tuple[str, ...]  # their stop-line loops
    moves: tuple[tuple[str, str], ...]  # (approach, exit) detector of each green link
    exits: tuple[str, ...]  # distinct exit detectors


def _build_phase_keys(junction: Junction) -> list[PhaseKeys]:
    keys = []
    for p in range(len(junction.green_phases)):
        moves = junction.movements(p)
        lanes = junction.served_lanes(p)
        keys.append(
            PhaseKeys(
                served=tuple(in_id(lane) for lane in lanes),
                loops=tuple(loop_id(lane) for lane in lanes),
                moves=tuple((in_id(m.in_lane), out_id(m.out_lane)) for m in moves),
                exits=tuple(sorted({out_id(m.out_lane) for m in moves})),
            )
        )
    return keys


def phase_keys(junction: Junction) -> list[PhaseKeys]:
    return junction.derived("phase_keys", lambda: _build_phase_keys(junction))


def rival_keys(junction: Junction) -> list[tuple[str, ...]]:
    """For each green phase, the approach detectors of the lanes the other phases serve."""

    def build() -> list[tuple[str, ...]]:
        keys = phase_keys(junction)
        return [tuple(sorted({d for q, k in enumerate(keys) if q != p for d in k.served})) for p in range(len(keys))]

    return junction.derived("rival_keys", build)


def approach_keys(junction: Junction) -> list[str]:
    return junction.derived("approach_keys", lambda: sorted({d for k in phase_keys(junction) for d in k.served}))


def phase_status(junction: Junction, bus: DetectorBus) -> list[PhaseStatus]:
    """Demand (vehicles on served lanes) and spillback for each green phase."""
    vehicles = bus.vehicles
    out = []
    for k in phase_keys(junction):
        demand = float(sum([vehicles(d) for d in k.served]))
        blocked = bool(k.exits) and all(_blocked(bus, e) for e in k.exits)
        out.append(PhaseStatus(demand=demand, blocked=blocked))
    return out


class Controller:
    """Base class. ``adaptive`` controllers run through :class:`SafeSignal`."""

    name = "base"
    title = ""
    adaptive = True
    decision_interval = 1.0

    def limits(self) -> SafetyLimits:
        return SafetyLimits()

    def choose(self, junction: Junction, signal: SafeSignal, bus: DetectorBus, now: float) -> Choice:
        """Adaptive controllers pick the next phase here; fixed-time and actuated ones leave it to SUMO."""
        raise TypeError(f"controller '{self.name}' does not choose phases: SUMO runs its program")

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


class FixedTime(Controller):
    name = "fixed"
    title = "Fixed-time (the network's own programs)"
    adaptive = False


class Actuated(Controller):
    """SUMO's own actuated logic; the runner swaps each program for an actuated copy."""

    name = "actuated"
    title = "SUMO actuated (gap-based, minDur/maxDur of the network)"
    adaptive = False

    def __init__(self, max_gap: float = 3.0, passing_time: float = 1.9, detector_gap: float = 2.0) -> None:
        self.max_gap = max_gap
        self.passing_time = passing_time
        self.detector_gap = detector_gap


class MaxPressure(Controller):
    name = "max_pressure"
    title = "Max-pressure (Varaiya 2013)"

    def __init__(self, decision_interval: float = 5.0, min_green: float = 5.0, max_green: float = 60.0) -> None:
        self.decision_interval = decision_interval
        self.min_green = min_green
        self.max_green = max_green

    def limits(self) -> SafetyLimits:
        return SafetyLimits(min_green=self.min_green, max_green=self.max_green)

    def choose(self, junction: Junction, signal: SafeSignal, bus: DetectorBus, now: float) -> Choice:
        vehicles = bus.vehicles
        scores = [float(sum(vehicles(i) - vehicles(o) for i, o in k.moves)) for k in phase_keys(junction)]
        best = max(range(len(scores)), key=lambda p: (scores[p], p == signal.phase))
        return Choice(best, scores, "max pressure")


class QueuePressureActuated(Controller):
    """Ours: gap-out actuation plus queue-pressure phase selection with phase skipping."""

    name = "qpa"
    title = "Queue-pressure actuated (civicbrain)"

    def __init__(
        self,
        min_green: float = 5.0,
        max_green: float = 60.0,
        max_wait: float = 200.0,
        moving_weight: float = 0.7,
        exit_weight: float = 0.5,
        switch_ratio: float = 2.0,
        long_link_switch_ratio: float = 3.0,
        long_link_m: float = 30.0,
        switch_margin: float = 2.0,
        per_movement: bool = False,
        gap_s: float | None = 2.0,
        age_weight: float = 0.03,
        age_after: float = 90.0,
        saturation_weight: float = 0.2,
        saturation_after: float = 30.0,
        hold_blocked_exits: bool = True,
        serve_covered: bool = True,
        arrival_ratio: float = 1.5,
        box_clearance: float = 8.0,
        box_stall: int = 3,
        box_min_path: float = 30.0,
    ) -> None:
        self.min_green = min_green
        self.max_green = max_green
        # bounded wait: 200 s rather than 150 s, as forcing a nearly empty phase (a lane change
        # left one car on it) cuts flowing greens at saturated junctions (arterial4x4, ingolstadt1
        # at 1.2x demand)
        self.max_wait = max_wait
        self.moving_weight = moving_weight  # a moving vehicle counts less than a stopped one
        self.exit_weight = exit_weight  # queued vehicles on an exit lane count against the phase
        self.switch_ratio = switch_ratio  # rival must outweigh the flowing phase by this factor ...
        self.switch_margin = switch_margin  # ... plus this many vehicles, to cut a flowing green
        # ... and by this factor at a junction all of whose approach and exit lanes are at least
        # long_link_m long (they store a few stopped cars), see long_links()
        self.long_link_switch_ratio = long_link_switch_ratio
        self.long_link_m = long_link_m
        # count a lane once per movement it feeds (as max-pressure does): favours phases that
        # release several turning streams from the same queue
        self.per_movement = per_movement
        # a green counts as flowing while vehicles cross its stop lines at most gap_s apart (as in
        # actuated control); None: while any vehicle on its approaches is moving
        self.gap_s = gap_s
        # a queue that has waited longer weighs more: score x (1 + age_weight x seconds red),
        # which approximates accumulated delay rather than queue length
        self.age_weight = age_weight
        self.age_after = age_after  # ... counting only the seconds red beyond this
        # an approach whose detector is full hides a queue beyond it (on a short entry edge it is
        # the queue of vehicles waiting to enter the network): while it stays full, each second adds
        # this many vehicles to its score, so a phase serving it cannot be outweighed indefinitely
        # by approaches with longer detectors
        self.saturation_weight = saturation_weight
        self.saturation_after = saturation_after  # ... counting only the seconds full beyond this
        self.hold_blocked_exits = hold_blocked_exits  # the safety layer's per-link spillback guard
        # bounded wait counts a protected-turn phase served by the permissive green once the turns'
        # queues clear: forcing it anyway (every max_wait s at a busy junction) cut the flowing green
        # for a phase nobody needed (cologne1: 39 of its 46 protected greens an hour, 5 s yellow each)
        self.serve_covered = serve_covered
        # a green that gapped out at the stop line still holds while vehicles moving on its
        # approaches (within the detectors, a few seconds out) outweigh the best rival's score
        # divided by this: cutting it just before they arrive makes them stop, wait a whole red and
        # start again, and costs two clearances. 0: gap out regardless.
        self.arrival_ratio = arrival_ratio
        # extra all-red, up to this many seconds, while the ending phase's vehicles stand in the
        # junction box (safety layer); cologne3's cluster junction locked at 1.2x demand without it
        self.box_clearance = box_clearance
        self.box_stall = box_stall  # ... while a vehicle has left the box within this many seconds
        self.box_min_path = box_min_path  # ... at junctions with a path this long through the box
        self._full_since: dict[str, float] = {}
        self._lane_green: dict[str, float] = {}  # last time each approach had a green (seen at decisions)

    def limits(self) -> SafetyLimits:
        return SafetyLimits(
            min_green=self.min_green,
            max_green=self.max_green,
            max_wait=self.max_wait,
            hold_blocked_exits=self.hold_blocked_exits,
            serve_covered=self.serve_covered,
            box_clearance=self.box_clearance,
            box_stall=self.box_stall,
            box_min_path=self.box_min_path,
        )

    def _score(self, k: PhaseKeys, bus: DetectorBus) -> float:
        vehicles, halted, mw, ew = bus.vehicles, bus.halted, self.moving_weight, self.exit_weight
        if self.per_movement:
            score = 0.0
            for i, o in k.moves:
                h = halted(i)
                score += h + mw * (vehicles(i) - h) - ew * vehicles(o)
            return score
        total = 0.0
        for d in k.served:
            h = halted(d)
            total += h + mw * (vehicles(d) - h)
        if k.exits:
            total -= ew * sum([halted(e) for e in k.exits]) / len(k.exits)
        return total

    def _hidden_queue(self, junction: Junction, bus: DetectorBus, now: float) -> dict[str, float]:
        """Estimated vehicles queued beyond each full approach detector of this junction."""
        halted, length, full_since = bus.halted, bus.length, self._full_since
        hidden = {}
        for d in approach_keys(junction):
            if halted(d) * JAM_SPACING >= FULL_FRACTION * length.get(d, 0.0) > 0.0:
                full_for = now - full_since.setdefault(d, now) - self.saturation_after
                if full_for > 0:
                    hidden[d] = self.saturation_weight * full_for
            else:
                full_since.pop(d, None)
        return hidden

    def choose(self, junction: Junction, signal: SafeSignal, bus: DetectorBus, now: float) -> Choice:
        keys = phase_keys(junction)
        n = len(keys)
        current = signal.phase
        cur = keys[current]
        if self.age_weight:
            lane_green = self._lane_green
            for d in cur.served:
                lane_green[d] = now
        if n == 1:
            return Choice(current, [0.0], "single phase", rivals_waiting=False)
        vehicles = bus.vehicles
        if not any([vehicles(d) for d in rival_keys(junction)[current]]):
            # most decisions on a quiet junction: read the rivals' counts only
            return Choice(current, [], "no rival demand", rivals_waiting=False)
        scores = [self._score(k, bus) for k in keys]
        if self.age_weight:
            # age = how long the phase's longest-red queued lane has been red; a lane that had green
            # in another phase (a shared or permissive lane) is not waiting for this one
            halted = bus.halted
            for p in range(n):
                if p != current and scores[p] > 0:
                    red = max(
                        [now - lane_green.setdefault(d, now) for d in keys[p].served if halted(d)],
                        default=0.0,
                    )
                    scores[p] *= 1.0 + self.age_weight * max(0.0, red - self.age_after)
        if self.saturation_weight:
            hidden = self._hidden_queue(junction, bus, now)
            if hidden:
                for p, k in enumerate(keys):
                    scores[p] += sum(hidden.get(d, 0.0) for d in k.served)
        if self.gap_s is None:
            flowing = sum([vehicles(d) - bus.halted(d) for d in cur.served])
        else:
            # the loop reports seconds since the last vehicle left it; a vehicle counted in the step
            # ending at t left during (t-1, t], so "crossed within gap_s steps" is < gap_s + 1
            limit = self.gap_s + 1.0
            flowing = sum([1 for d in cur.loops if bus.discharging(d, limit)])
        rivals = [p for p in range(n) if p != current]
        best = max(rivals, key=lambda p: scores[p])
        if scores[best] <= 0:
            return Choice(current, scores, "no rival demand")
        ratio = self.switch_ratio
        if self.long_link_switch_ratio and long_links(junction, bus, self.long_link_m):
            ratio = self.long_link_switch_ratio
        if flowing > 0 and scores[best] < ratio * max(scores[current], 0.0) + self.switch_margin:
            return Choice(current, scores, "extend: traffic still flowing")
        if flowing == 0 and self.arrival_ratio:
            arriving = self.moving_weight * sum([vehicles(d) - bus.halted(d) for d in cur.served])
            if scores[best] < self.arrival_ratio * arriving:
                return Choice(current, scores, "extend: vehicles arriving")
        # not flowing: whatever still stands on the green approaches cannot leave now (a turn
        # waiting for gaps, a blocked exit), so holding the green only makes the rivals wait
        return Choice(best, scores, "switch: gap-out" if flowing == 0 else "switch: rival queue outweighs")


CONTROLLERS: dict[str, type[Controller]] = {
    c.name: c for c in (FixedTime, Actuated, MaxPressure, QueuePressureActuated)
}
BEST = "qpa"


def make_controller(name: str, **params: Any) -> Controller:
    if name == "best":
        name = BEST
    if name not in CONTROLLERS:
        raise KeyError(f"unknown controller {name!r}; choose from {', '.join(CONTROLLERS)} or 'best'")
    return CONTROLLERS[name](**params)


def list_controllers() -> list[dict[str, Any]]:
    return [
        {"name": n, "title": c.title, "adaptive": c.adaptive, "params": c().get_params(), "best": n == BEST}
        for n, c in CONTROLLERS.items()
    ]


def explain(junction: Junction, choice: Choice, status: list[PhaseStatus], bus: DetectorBus) -> dict[str, Any]:
    """The evidence behind one decision, in the shape recorded through ``ctx.decide``."""
    return {
        "phase": choice.phase,
        "reason": choice.reason,
        "phases": [
            {
                "phase": p,
                "score": round(choice.scores[p], 2) if p < len(choice.scores) else None,
                "demand": s.demand,
                "exit_blocked": s.blocked,
                "queues": {lane: bus.halted(in_id(lane)) for lane in junction.served_lanes(p)},
            }
            for p, s in enumerate(status)
        ],
    }
