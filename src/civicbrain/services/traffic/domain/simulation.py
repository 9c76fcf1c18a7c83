"""One simulation = one process: run a scenario under a controller and return its metrics.

libsumo keeps one simulation per process, so bulk runs go through ``core.batch.map_jobs`` with
``isolate=True`` and :func:`run_job` as the job function.

Extensions (emergency pre-emption, incident injection and detection, shadow controllers) hook into
the loop as :class:`Plugin` objects instead of growing this module. A plugin asking for signal
priority (``wants_priority``) gets it from the safety layer under adaptive control, and under
fixed-time or SUMO actuated control by taking the junction over from its program while it asks
(:mod:`.takeover`).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from .controllers import (
    Actuated,
    Choice,
    Controller,
    blocked_links,
    explain,
    make_controller,
    phase_status,
    stuck_in_box,
)
from .detectors import DetectorBus, write_detectors
from .metrics import read_tripinfo, trip_metrics
from .network import Network, read_network
from .safety import SafeSignal
from .scenarios import Scenario
from .takeover import ProgramSignals, ProgramView

# Vehicles added by the platform itself, not part of the scenario's demand.
SYNTHETIC_PREFIXES = ("ems_", "incident_")


def sumo_home() -> str:
    import sumo  # eclipse-sumo wheel

    return os.environ.get("SUMO_HOME") or sumo.SUMO_HOME


class Plugin:
    """Hooks into a live run. Subclasses override what they need."""

    wants_priority = False  # asks junctions for phases (priority_phase / held_phase)

    def additional_files(self, network: Network, folder: Path) -> list[Path]:
        """SUMO additional files (e.g. its own detectors) to declare at start-up, written into ``folder``."""
        return []

    def start(self, run: LiveRun) -> None: ...

    def step(self, run: LiveRun, now: float) -> None: ...

    def priority_phase(self, junction: str, now: float) -> int | None:
        return None

    def held_phase(self, junction: str, now: float) -> int | None:
        """The phase a vehicle already granted this junction still needs until it has passed.

        Read where the runner has taken a junction over from its program: a program would not
        hold the green on its own once the request paused (adaptive control re-decides anyway).
        """
        return None

    def result(self, run: LiveRun) -> dict[str, Any]:
        return {}


@dataclass
class RunSpec:
    scenario: Scenario
    controller: str = "fixed"
    seed: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    explain_every: float = 300.0  # sample one explanation per junction this often (0: none)
    record_trace: bool = False
    plugins: list[Plugin] = field(default_factory=list)
    label: str = ""


@dataclass
class LiveRun:
    sim: Any
    spec: RunSpec
    network: Network
    controller: Controller
    bus: DetectorBus | None
    signals: dict[str, SafeSignal]
    decisions: list[dict[str, Any]] = field(default_factory=list)
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    switches: int = 0
    programs: ProgramSignals | None = None  # junctions SUMO's programs run, taken over for priority

    def signal_view(self, jid: str, now: float) -> SafeSignal | ProgramView | None:
        """The lights of a junction as the priority logic reads them, whoever drives them."""
        signal = self.signals.get(jid)
        if signal is None and self.programs is not None:
            return self.programs.view(jid, now)
        return signal


def _write_actuated_programs(network: Network, ctrl: Actuated, path: Path) -> None:
    rows = ["<additional>"]
    for j in network.junctions.values():
        rows.append(f'  <tlLogic id={quoteattr(j.id)} type="actuated" programID="civic_actuated" offset="0">')
        rows.append(f'    <param key="max-gap" value="{ctrl.max_gap}"/>')
        rows.append(f'    <param key="passing-time" value="{ctrl.passing_time}"/>')
        rows.append(f'    <param key="detector-gap" value="{ctrl.detector_gap}"/>')
        for state, duration, mn, mx in j.program:
            if any(c in "Gg" for c in state) and "y" not in state:
                lo = mn if mn is not None else min(5.0, duration)
                hi = mx if mx is not None else max(duration * 2, lo)
                rows.append(f'    <phase duration="{duration}" state="{state}" minDur="{lo}" maxDur="{hi}"/>')
            else:
                rows.append(f'    <phase duration="{duration}" state="{state}"/>')
        rows.append("  </tlLogic>")
    rows.append("</additional>")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def sumo_command(scenario: Scenario, seed: int, tripinfo: Path, additional: list[Path]) -> list[str]:
    cmd = [
        "sumo",
        "-n", scenario.net,
        "-r", scenario.routes,
        "--begin", str(scenario.begin),
        "--end", str(scenario.end),
        "--seed", str(seed),
        "--time-to-teleport", "-1",
        "--tripinfo-output", str(tripinfo),
        "--tripinfo-output.write-unfinished",
        "--tripinfo-output.write-undeparted",
        "--scale", str(scenario.scale),
        "--no-step-log", "--no-warnings", "--duration-log.disable",
    ]  # fmt: skip
    if scenario.junction_blocker_s is not None:
        cmd += ["--ignore-junction-blocker", f"{scenario.junction_blocker_s:g}"]
    if additional:
        cmd += ["-a", ",".join(str(p) for p in additional)]
    return cmd


def _decide(run: LiveRun, jid: str, signal: SafeSignal, now: float, plugins: list[Plugin]) -> None:
    junction = run.network.junctions[jid]
    assert run.bus is not None
    forced = None
    for plugin in plugins:
        forced = plugin.priority_phase(jid, now)
        if forced is not None:
            break
    status = None
    if forced is not None:
        status = phase_status(junction, run.bus)
        choice = Choice(forced, [s.demand for s in status], "emergency pre-emption")
    else:
        choice = run.controller.choose(junction, signal, run.bus, now)
    if forced is None and not choice.rivals_waiting and choice.phase == signal.phase:
        # nobody waits for another phase: bounded wait, max green and spillback have nothing to
        # move to, so the safety layer would keep this green too (and reading its status is the cost)
        final, reason = choice.phase, "controller"
    else:
        status = status or phase_status(junction, run.bus)
        final, reason = signal.arbitrate(choice.phase, status, now, priority=forced is not None)
    counts = run.reasons.setdefault(jid, {})
    key = reason if reason != "controller" else choice.reason
    counts[key] = counts.get(key, 0) + 1
    every = run.spec.explain_every
    if every and int(now) % int(every) == 0:
        exp = explain(junction, choice, status or phase_status(junction, run.bus), run.bus)
        exp.update(safety=reason, served=final)
        run.decisions.append({"time": now, "junction": jid, "explanation": exp})
    if final != signal.phase:
        signal.request(final, now, reason)
        run.switches += 1


def _wanted(plugins: list[Plugin]) -> Callable[[str, float], int | None]:
    """The phase the plugins ask of a junction now, or keep holding for a vehicle not yet past."""

    def wanted(jid: str, now: float) -> int | None:
        for plugin in plugins:
            phase = plugin.priority_phase(jid, now)
            if phase is None:
                phase = plugin.held_phase(jid, now)
            if phase is not None:
                return phase
        return None

    return wanted


def simulate(spec: RunSpec) -> dict[str, Any]:
    """Run one simulation in this process and return its metrics (and whatever plugins report)."""
    import libsumo as sim

    scenario = spec.scenario
    network = read_network(scenario.net)
    controller = make_controller(spec.controller, **spec.params)
    priority = [p for p in spec.plugins if p.wants_priority]
    with tempfile.TemporaryDirectory(prefix="civic_sumo_") as tmp:
        tmpdir = Path(tmp)
        additional = [tmpdir / "detectors.add.xml"]
        limits = controller.limits()
        box_min_path = limits.box_min_path if controller.adaptive and limits.box_clearance > 0 else None
        write_detectors(network, additional[0], box_min_path)
        if isinstance(controller, Actuated):
            additional.append(tmpdir / "actuated.add.xml")
            _write_actuated_programs(network, controller, additional[1])
        for plugin in spec.plugins:
            additional += plugin.additional_files(network, tmpdir)
        tripinfo = tmpdir / "tripinfo.xml"
        wall0 = time.perf_counter()
        sim.start(sumo_command(scenario, spec.seed, tripinfo, additional))
        try:
            need_bus = controller.adaptive or bool(spec.plugins)
            bus = DetectorBus(sim, network) if need_bus else None
            signals: dict[str, SafeSignal] = {}
            if isinstance(controller, Actuated):
                for jid in network.junctions:
                    sim.trafficlight.setProgram(jid, "civic_actuated")
            if controller.adaptive:
                for jid, junction in network.junctions.items():
                    sig = SafeSignal(junction, limits, now=scenario.begin, record=spec.record_trace)
                    signals[jid] = sig
                    sim.trafficlight.setRedYellowGreenState(jid, sig.state)
            run = LiveRun(sim, spec, network, controller, bus, signals)
            if priority and not controller.adaptive:
                run.programs = ProgramSignals(sim, network, limits, record=spec.record_trace)
                run.programs.start(sim.simulation.getTime())
            for plugin in spec.plugins:
                plugin.start(run)
            next_decision = {jid: scenario.begin for jid in signals}
            interval = controller.decision_interval
            queued = bus.queued if bus is not None else None
            box_stuck = partial(stuck_in_box, bus) if bus is not None else None
            wanted = _wanted(priority)
            now = sim.simulation.getTime()
            while now < scenario.end:
                sim.simulationStep()
                now = sim.simulation.getTime()
                if bus is not None:
                    bus.update(now)
                for jid, signal in signals.items():
                    changed = signal.tick(now, box_stuck)
                    signal.note_served(now, queued)
                    if signal.mode == "green" and signal.limits.hold_blocked_exits:
                        blocked = blocked_links(network.junctions[jid], bus, signal.phase)
                        if blocked or signal.held:
                            changed = signal.hold_links(blocked, now) or changed
                    if changed:
                        sim.trafficlight.setRedYellowGreenState(jid, signal.state)
                    if now >= next_decision[jid] and signal.at_decision_point(now):
                        next_decision[jid] = now + interval
                        before = signal.state
                        _decide(run, jid, signal, now, spec.plugins)
                        if signal.state != before:
                            sim.trafficlight.setRedYellowGreenState(jid, signal.state)
                for plugin in spec.plugins:
                    plugin.step(run, now)
                if run.programs is not None:
                    run.programs.step(now, wanted)
            extra = run.programs.result() if run.programs is not None else {}
            for plugin in spec.plugins:
                extra.update(plugin.result(run))
        finally:
            sim.close()
        wall = time.perf_counter() - wall0
        trips = read_tripinfo(str(tripinfo), exclude_prefixes=SYNTHETIC_PREFIXES)
        if extra.get("needs_trips"):
            extra.pop("needs_trips")
            extra.update(_synthetic_trips(str(tripinfo)))
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "controller": controller.name,
        "seed": spec.seed,
        "scale": scenario.scale,
        "begin": scenario.begin,
        "end": scenario.end,
        "junctions": len(network.junctions),
        "wall_s": round(wall, 2),
        "label": spec.label,
        **trip_metrics(trips),
        "switches": run.switches,
        "decision_reasons": run.reasons,
        "decisions_sampled": run.decisions,
    }
    if spec.record_trace:
        result["trace"] = [t.__dict__ for s in signals.values() for t in s.trace]
    result.update(extra)
    return result


def _synthetic_trips(path: str) -> dict[str, Any]:
    """Trips of the platform's own vehicles (ambulances), which the demand metrics leave out."""
    trips = [t for t in read_tripinfo(path) if t.id.startswith("ems_")]
    return {
        "ems_trips": [
            {
                "id": t.id,
                "duration": t.duration,
                "time_loss": t.time_loss,
                "waiting": t.waiting_time,
                "arrived": t.arrived,
                "depart_delay": t.depart_delay,
            }
            for t in trips
        ]
    }


def run_job(spec: RunSpec) -> dict[str, Any]:
    """Module-level job function for ``core.batch.map_jobs`` (one fresh process per run)."""
    return simulate(spec)
