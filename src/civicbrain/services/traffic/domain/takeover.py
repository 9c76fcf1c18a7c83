"""Signal priority at junctions that run the network's own programs (fixed time, SUMO actuated).

This is how emergency-vehicle pre-emption works on a fixed-time controller in the street: while
no priority is asked, SUMO runs the junction's program untouched. When a priority request comes
for a junction, the runner takes it over from its program:

* at the program's current green (a request during the program's yellow/all-red waits for the
  next green, so the program's own clearance runs out as planned), keeping that green's elapsed
  time, so its minimum green is not cut;
* from then on the junction is driven by a :class:`SafeSignal` (the same safety layer adaptive
  control uses: the net's yellow and all-red before any conflicting green, minimum green), which
  serves the requested phase for as long as it is asked for;
* when nobody asks any more (the vehicle has passed, or its hold ran out) the junction goes back
  to its program: into the green the program's cycle clock shows now if that is the green on
  display, else through the safety layer's clearance into the first green of the clock (from the
  moment that clearance ends) that still has ``min_green`` seconds to run, re-entering the program
  at that phase with the time the clock leaves it. The cycle keeps its timing, so offsets and
  coordination with the neighbours survive the interruption. An actuated program has no clock:
  it gets back the green on display and its own gap logic goes on from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .network import Network
from .safety import SafeSignal, SafetyLimits

Wanted = Callable[[str, float], int | None]


@dataclass
class ProgramView:
    """What the lead-time logic needs to know of a junction its program runs (SafeSignal's shape)."""

    mode: str  # "green" or "clearance"
    phase: int  # green phase shown (-1 in clearance)
    limits: SafetyLimits
    green_since: float

    def green_elapsed(self, now: float) -> float:
        return now - self.green_since if self.mode == "green" else 0.0


@dataclass
class Program:
    """A junction's own program, as SUMO runs it, and where its cycle clock started."""

    program_id: str
    states: list[str]
    durations: list[float]
    static: bool  # a fixed-time program: its phase follows the cycle clock
    origin: float = 0.0  # simulation time at which the cycle was at its start

    @property
    def cycle(self) -> float:
        return sum(self.durations)

    def clock(self, t: float) -> tuple[int, float]:
        """The phase the cycle clock shows at time ``t`` and the time that phase ends.

        As SUMO counts: a phase ending at ``end`` still shows at time ``end`` and switches in the
        step after it, so a phase shows for ``end - duration < t <= end``.
        """
        pos = (t - self.origin) % self.cycle
        if pos < 1e-6:
            pos = self.cycle  # the last phase's final second
        end = t - pos
        for k, d in enumerate(self.durations):
            end += d
            if t <= end + 1e-6:
                return k, end
        return len(self.durations) - 1, end  # rounding at the cycle's end


@dataclass
class Takeover:
    signal: SafeSignal
    releasing: bool = False
    rejoin_index: int = -1  # program phase to re-enter at
    rejoin_end: float | None = None  # when the clock ends that phase (None: the program's own logic)


@dataclass
class ProgramSignals:
    """The junctions SUMO's programs run, taken over one by one while priority is asked for."""

    sim: Any
    network: Network
    limits: SafetyLimits
    record: bool = False
    programs: dict[str, Program] = field(default_factory=dict)
    active: dict[str, Takeover] = field(default_factory=dict)
    takeovers: int = 0
    handbacks: int = 0
    # every change of the lights at a taken-over junction, and of its program after the handback:
    # (time, junction, state, program id) when ``record``
    trace: list[tuple[float, str, str, str]] = field(default_factory=list)
    _shown: dict[str, str] = field(default_factory=dict)
    _touched: set[str] = field(default_factory=set)

    def start(self, now: float) -> None:
        """Read each program and its clock before anything is changed."""
        tl = self.sim.trafficlight
        for jid in self.network.junctions:
            pid = tl.getProgram(jid)
            logic = next(lg for lg in tl.getAllProgramLogics(jid) if lg.programID == pid)
            phases = list(logic.phases)
            prog = Program(pid, [p.state for p in phases], [float(p.duration) for p in phases], logic.type == 0)
            k = tl.getPhase(jid)
            into = prog.durations[k] - (tl.getNextSwitch(jid) - now)  # seconds the running phase has run
            prog.origin = now - (sum(prog.durations[:k]) + into)
            self.programs[jid] = prog

    def view(self, jid: str, now: float) -> SafeSignal | ProgramView:
        taken = self.active.get(jid)
        if taken is not None:
            return taken.signal
        green = self._program_green(jid, now)
        if green is None:
            return ProgramView("clearance", -1, self.limits, now)
        phase, since = green
        return ProgramView("green", phase, self.limits, since)

    def _program_green(self, jid: str, now: float) -> tuple[int, float] | None:
        """The green phase the program shows and since when, or None during its yellow/all-red."""
        tl, junction = self.sim.trafficlight, self.network.junctions[jid]
        state = tl.getRedYellowGreenState(jid)
        if state not in junction.green_phases:
            return None
        ran = tl.getPhaseDuration(jid) - (tl.getNextSwitch(jid) - now)
        return junction.green_phases.index(state), now - ran

    def step(self, now: float, wanted: Wanted) -> None:
        """Take over, drive, or hand back each junction; ``wanted(jid, now)``: the phase asked for."""
        for jid in self.network.junctions:
            phase = wanted(jid, now)
            taken = self.active.get(jid)
            if taken is None and phase is not None:
                taken = self._take(jid, now)
            if taken is not None:
                self._drive(jid, taken, phase, now)
            if self.record and jid in self._touched:
                self._note(jid, now)

    def _take(self, jid: str, now: float) -> Takeover | None:
        green = self._program_green(jid, now)
        if green is None:
            return None  # the program is in its clearance: take over at its next green
        phase, since = green
        signal = SafeSignal(self.network.junctions[jid], self.limits, now=now, phase=phase)
        signal.green_since = since  # the running green keeps its minimum
        self.active[jid] = taken = Takeover(signal)
        self.takeovers += 1
        self._touched.add(jid)
        self.sim.trafficlight.setRedYellowGreenState(jid, signal.state)  # the same lights, now ours
        return taken

    def _drive(self, jid: str, taken: Takeover, phase: int | None, now: float) -> None:
        signal = taken.signal
        changed = signal.tick(now)  # clearance runs on; no box-clearance hook: programs have none
        if phase is not None:
            taken.releasing = False  # asked again (another vehicle): the release is off
            if signal.mode == "green" and phase != signal.phase:
                # the safety layer keeps min green and clearance (status is not read for priority)
                final, reason = signal.arbitrate(phase, [], now, priority=True)
                if final != signal.phase:
                    signal.request(final, now, reason)
                    changed = True
        elif signal.at_decision_point(now) or (taken.releasing and signal.mode == "green"):
            if not taken.releasing:
                taken.releasing = True
                self._plan_rejoin(jid, taken, now)
            target = self._target(jid, taken)
            if target == signal.phase:
                self._hand_back(jid, taken, now)
                return
            signal.request(target, now, "handback")
            changed = True
        if changed:
            self.sim.trafficlight.setRedYellowGreenState(jid, signal.state)

    def _clearance(self, jid: str) -> float:
        junction = self.network.junctions[jid]
        return junction.yellow_time + junction.all_red_time

    def _plan_rejoin(self, jid: str, taken: Takeover, now: float) -> None:
        """Choose the program phase to re-enter at (see the module docstring)."""
        prog, junction = self.programs[jid], self.network.junctions[jid]
        shown = junction.green_phases[taken.signal.phase]
        if not prog.static:
            # actuated: its own logic goes on from the green on display
            taken.rejoin_index, taken.rejoin_end = self._index_of(prog, shown), None
            return
        k, end = prog.clock(now)
        if prog.states[k] == shown:
            taken.rejoin_index, taken.rejoin_end = k, end
            return
        ready = now + self._clearance(jid)  # when a green after our clearance could begin
        k, end = prog.clock(ready)
        for _ in range(2 * len(prog.states)):
            state = prog.states[k]
            if state in junction.green_phases and (state == shown or end - ready >= self.limits.min_green):
                taken.rejoin_index, taken.rejoin_end = k, end
                return
            k = (k + 1) % len(prog.states)
            end += prog.durations[k]
        taken.rejoin_index, taken.rejoin_end = self._index_of(prog, shown), None  # no green in the cycle

    @staticmethod
    def _index_of(prog: Program, state: str) -> int:
        return prog.states.index(state) if state in prog.states else 0

    def _target(self, jid: str, taken: Takeover) -> int:
        state = self.programs[jid].states[taken.rejoin_index]
        greens = self.network.junctions[jid].green_phases
        return greens.index(state) if state in greens else taken.signal.phase

    def _hand_back(self, jid: str, taken: Takeover, now: float) -> None:
        tl, prog = self.sim.trafficlight, self.programs[jid]
        tl.setProgram(jid, prog.program_id)
        tl.setPhase(jid, taken.rejoin_index)
        if taken.rejoin_end is not None:
            # the phase ends when the clock says: the cycle keeps its timing (and the plan its offsets);
            # 0 s left = it shows now and switches in the next step, as the clock does
            tl.setPhaseDuration(jid, max(0.0, taken.rejoin_end - now))
        del self.active[jid]
        self.handbacks += 1

    def _note(self, jid: str, now: float) -> None:
        tl = self.sim.trafficlight
        state = tl.getRedYellowGreenState(jid)
        if self._shown.get(jid) != state:
            self._shown[jid] = state
            self.trace.append((now, jid, state, tl.getProgram(jid)))

    def _off_clock(self) -> list[str]:
        """Junctions handed back to a fixed-time program whose phase no longer follows its cycle clock."""
        tl, now = self.sim.trafficlight, self.sim.simulation.getTime()
        off = []
        for jid in sorted(self._touched - set(self.active)):
            prog = self.programs[jid]
            if not prog.static:
                continue
            k, end = prog.clock(now)
            if tl.getPhase(jid) != k or abs(tl.getNextSwitch(jid) - end) > 0.5:
                off.append(jid)
        return off

    def result(self) -> dict[str, Any]:
        tl = self.sim.trafficlight
        out: dict[str, Any] = {
            "takeovers": self.takeovers,
            "handbacks": self.handbacks,
            "taken_at_end": sorted(self.active),
            # the program each junction ever taken over runs at the end (its own, after the handback)
            "programs_after": {j: [tl.getProgram(j), self.programs[j].program_id] for j in sorted(self._touched)},
            "off_clock_at_end": self._off_clock(),
        }
        if self.record:
            out["takeover_trace"] = self.trace
        return out
