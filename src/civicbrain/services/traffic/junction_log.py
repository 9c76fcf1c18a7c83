"""What each junction did and why, summarised per time window, inside the simulation process.

A controller decides every second or so; recording each choice would write millions of ledger
rows for a city-hour. :class:`JunctionLog` hooks into the domain's run loop as a plugin and keeps,
per junction and per window (5 simulated minutes by default): seconds of green per phase, seconds
of clearance, the reasons the controller and the safety layer gave (counted), and the queues the
detectors reported on each phase's approaches. The parent process turns each window into one
ledger entry, so a one-hour run writes junctions x 12 rows.

It also yields per-junction figures for the traffic page: stopped delay (vehicle-seconds halting
within the approach detectors, per vehicle that crossed the stop line) and queue length.
Everything it reads comes from the detectors or the signal state the city itself set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from civicbrain.services.traffic.domain.simulation import LiveRun, Plugin

CLEARANCE = -1  # stands for "yellow or all-red" in the green-seconds tally


@dataclass
class _Window:
    start: float
    green_s: dict[int, float] = field(default_factory=dict)
    halting_sum: dict[int, float] = field(default_factory=dict)  # per phase: halting vehicles summed over seconds
    halting_max: dict[int, int] = field(default_factory=dict)
    stopped_veh_s: float = 0.0
    queue_max: int = 0
    seconds: int = 0
    discharged_at_start: int = 0
    reasons_at_start: dict[str, int] = field(default_factory=dict)


@dataclass
class JunctionLog(Plugin):
    window_s: float = 300.0
    windows: list[dict[str, Any]] = field(default_factory=list)
    _open: dict[str, _Window] = field(default_factory=dict)
    _phase_lanes: dict[str, list[list[str]]] = field(default_factory=dict)
    _in_lanes: dict[str, list[str]] = field(default_factory=dict)
    _green_index: dict[str, dict[str, int]] = field(default_factory=dict)

    def start(self, run: LiveRun) -> None:
        for jid, junction in run.network.junctions.items():
            self._phase_lanes[jid] = [junction.served_lanes(p) for p in range(len(junction.green_phases))]
            self._in_lanes[jid] = junction.in_lanes
            self._green_index[jid] = {state: p for p, state in enumerate(junction.green_phases)}
        begin = run.spec.scenario.begin
        for jid in self._in_lanes:
            self._open[jid] = _Window(start=begin)

    def _shown_phase(self, run: LiveRun, jid: str) -> int:
        signal = run.signals.get(jid)
        if signal is not None:  # adaptive: the safety layer knows what it shows
            return signal.phase if signal.mode == "green" else CLEARANCE
        # fixed-time and actuated programs run inside SUMO: read the state it shows
        return self._green_index[jid].get(run.sim.trafficlight.getRedYellowGreenState(jid), CLEARANCE)

    def step(self, run: LiveRun, now: float) -> None:
        bus = run.bus
        if bus is None:  # the runner always builds detectors when a plugin is present
            return
        for jid, window in self._open.items():
            # a step to time t simulates the second (t-1, t]: it belongs to the window that ends at t
            if now > window.start + self.window_s:
                self._close(run, jid, window, now)
                window = self._open[jid]
            phase = self._shown_phase(run, jid)
            window.green_s[phase] = window.green_s.get(phase, 0.0) + 1.0
            window.seconds += 1
            halting = sum(bus.incoming(lane).halting for lane in self._in_lanes[jid])
            window.stopped_veh_s += halting
            window.queue_max = max(window.queue_max, halting)
            for p, lanes in enumerate(self._phase_lanes[jid]):
                h = sum(bus.incoming(lane).halting for lane in lanes)
                window.halting_sum[p] = window.halting_sum.get(p, 0.0) + h
                window.halting_max[p] = max(window.halting_max.get(p, 0), h)

    def _discharged(self, run: LiveRun, jid: str) -> int:
        assert run.bus is not None
        return sum(run.bus.discharged(lane) for lane in self._in_lanes[jid])

    def _close(self, run: LiveRun, jid: str, window: _Window, now: float) -> None:
        reasons_now = dict(run.reasons.get(jid, {}))
        if window.seconds:
            reasons = {
                k: v - window.reasons_at_start.get(k, 0)
                for k, v in reasons_now.items()
                if v - window.reasons_at_start.get(k, 0) > 0
            }
            n = float(window.seconds)
            self.windows.append(
                {
                    "junction": jid,
                    "start": window.start,
                    "end": min(now, window.start + self.window_s),
                    "green_s": {str(p): s for p, s in sorted(window.green_s.items()) if p != CLEARANCE},
                    "clearance_s": window.green_s.get(CLEARANCE, 0.0),
                    "queue_mean_by_phase": {str(p): round(v / n, 2) for p, v in sorted(window.halting_sum.items())},
                    "queue_max_by_phase": {str(p): v for p, v in sorted(window.halting_max.items())},
                    "queue_mean": round(window.stopped_veh_s / n, 2),
                    "queue_max": window.queue_max,
                    "stopped_veh_s": window.stopped_veh_s,
                    "discharged": self._discharged(run, jid) - window.discharged_at_start,
                    "reasons": reasons,
                }
            )
        self._open[jid] = _Window(
            start=window.start + self.window_s,
            discharged_at_start=self._discharged(run, jid) if run.bus is not None else 0,
            reasons_at_start=reasons_now,
        )

    def result(self, run: LiveRun) -> dict[str, Any]:
        end = run.spec.scenario.end
        for jid, window in list(self._open.items()):
            self._close(run, jid, window, end)
        return {"junction_windows": self.windows}
