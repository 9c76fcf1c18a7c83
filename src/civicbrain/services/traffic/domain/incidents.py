"""Lane-blocking incidents: injection (ground truth) and detection from detector data alone.

Injection: a vehicle stops on a random signalised approach lane, at a random time and a random
position inside the approach detector, for ``duration`` seconds (a breakdown / closed lane).

Detection (in the spirit of the California algorithms, which compare occupancy upstream with
flow downstream): while a lane has a priority green, after ``settle_s`` seconds,

* vehicles halt on its approach detector,
* its stop-line loop is empty (an ordinary queue starts *at* the stop line and covers the loop; a
  blocked lane has its head empty and the queue held upstream; a turn waiting for a gap stands on
  the loop),
* nothing has crossed the stop-line loop since the green settled, and its exits are not jammed
  (so it is not spillback).

``alarm_s`` seconds of this evidence, or ``dead_greens`` consecutive greens that ended with it
(adaptive control gives a lane that does not flow only short greens), raise an alarm. Discharge
over the loop, or an empty approach, clears the evidence. ``fit`` raises the bar on lanes that
show the signature in incident-free training runs. The detector reads only lane counts, loop
occupancy and the signal state the city itself set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .controllers import exit_blocked
from .simulation import LiveRun, Plugin

INCIDENT_PREFIX = "incident_"


@dataclass
class IncidentDetector:
    """Blockage detector; ``fit`` learns which lanes show the signature in normal traffic.

    Some approaches show the blockage signature without any incident (e.g. vehicles queueing
    mid-lane for a lane change). ``fit`` takes the alarms raised on incident-free training runs
    (seeds disjoint from evaluation) and raises the evidence needed on those lanes by
    ``recurrent_factor`` instead of silencing them.
    """

    settle_s: float = 3.0
    alarm_s: float = 15.0
    clear_s: float = 5.0
    recurrent_factor: float = 4.0
    # adaptive control gives a blocked lane only short greens (nothing flows, it gaps out), so
    # evidence also counts whole greens that ended with nothing discharged and the head empty
    dead_greens: int = 3
    lane_alarm_s_: dict[str, float] = field(default_factory=dict)
    _green_since: dict[str, tuple[str, float]] = field(default_factory=dict)
    _evidence: dict[str, float] = field(default_factory=dict)
    _clear: dict[str, float] = field(default_factory=dict)
    _passed_at_settle: dict[str, int] = field(default_factory=dict)
    _this_green: dict[str, float] = field(default_factory=dict)
    _dead_greens: dict[str, int] = field(default_factory=dict)
    _alarmed: set[str] = field(default_factory=set)
    alarms: list[dict[str, Any]] = field(default_factory=list)

    def fit(self, training_alarms: list[dict[str, Any]]) -> IncidentDetector:
        self.lane_alarm_s_ = {a["lane"]: self.alarm_s * self.recurrent_factor for a in training_alarms}
        return self

    def _end_green(self, lane: str) -> None:
        self._green_since.pop(lane, None)
        self._passed_at_settle.pop(lane, None)
        if self._this_green.pop(lane, 0.0) > 0:
            self._dead_greens[lane] = self._dead_greens.get(lane, 0) + 1

    def observe(self, run: LiveRun, now: float) -> None:
        assert run.bus is not None
        sim, bus = run.sim, run.bus
        for jid, junction in run.network.junctions.items():
            state = sim.trafficlight.getRedYellowGreenState(jid)
            lanes: dict[str, list] = {}
            for link in junction.links:
                lanes.setdefault(link.in_lane, []).append(link)
            for lane, links in lanes.items():
                # a priority green on one of its links: a lane with only permissive 'g' turns may
                # rightly wait for gaps in oncoming traffic
                green = any(state[link.index] == "G" for link in links)
                if not green:
                    if lane in self._green_since:
                        self._end_green(lane)
                    continue
                since = self._green_since.setdefault(lane, now)
                if now - since < self.settle_s:
                    continue
                # a lane that still discharges over its stop-line loop is slow, not blocked
                passed = self._passed_at_settle.setdefault(lane, bus.discharged(lane))
                reading = bus.own(lane)
                if bus.discharged(lane) > passed:
                    self._evidence[lane] = 0.0
                    self._dead_greens[lane] = 0
                    self._this_green[lane] = -1.0  # this green discharged: not dead
                elif (
                    reading.halting > 0
                    and not bus.at_stop_line(lane)  # head of the lane empty: the queue is held upstream
                    and not any(exit_blocked(bus, link.out_lane) for link in links)
                ):
                    self._evidence[lane] = self._evidence.get(lane, 0.0) + 1.0
                    if self._this_green.get(lane, 0.0) >= 0:
                        self._this_green[lane] = self._this_green.get(lane, 0.0) + 1.0
                    self._clear[lane] = 0.0
                elif reading.halting == 0:
                    self._clear[lane] = self._clear.get(lane, 0.0) + 1.0
                    if self._clear[lane] >= self.clear_s:
                        self._evidence[lane] = 0.0
                        self._dead_greens[lane] = 0
                        self._alarmed.discard(lane)
                factor = self.lane_alarm_s_.get(lane, self.alarm_s) / self.alarm_s
                dead_enough = self._dead_greens.get(lane, 0) >= self.dead_greens * factor
                if (
                    self._evidence.get(lane, 0.0) >= self.alarm_s * factor or dead_enough
                ) and lane not in self._alarmed:
                    self._alarmed.add(lane)
                    self.alarms.append(
                        {
                            "time": now,
                            "junction": jid,
                            "lane": lane,
                            "edge": run.network.lane_edge.get(lane, ""),
                            "explanation": {
                                "halting": reading.halting,
                                "green_for_s": now - since,
                                "dead_greens": self._dead_greens.get(lane, 0),
                                "evidence_s": self._evidence[lane],
                                "exits_free": True,
                            },
                        }
                    )


@dataclass
class IncidentPlugin(Plugin):
    """Injects ``count`` blockages (seeded) and runs the detector; ``count=0`` measures false alarms."""

    count: int = 3
    seed: int = 1
    duration: float = 600.0
    detector: IncidentDetector = field(default_factory=IncidentDetector)
    incidents: list[dict[str, Any]] = field(default_factory=list)

    def start(self, run: LiveRun) -> None:
        net, sim = run.network, run.sim
        rng = random.Random(self.seed * 104729 + 3)
        lanes = sorted(
            lane
            for j in net.junctions.values()
            for lane in j.in_lanes
            if net.lane_length.get(lane, 0.0) >= 30.0
            and "passenger" in sim.lane.getAllowed(lane)
            or not sim.lane.getAllowed(lane)
        )
        lanes = [lane for lane in lanes if net.lane_length.get(lane, 0.0) >= 30.0]
        begin, end = run.spec.scenario.begin, run.spec.scenario.end
        span = end - begin - self.duration - 300.0
        for k in range(self.count):
            lane = rng.choice(lanes)
            length = net.lane_length[lane]
            pos = length - rng.uniform(10.0, min(90.0, length - 5.0))
            start = begin + 300.0 + (k + rng.random()) * span / max(1, self.count)
            edge, index = net.lane_edge[lane], int(lane.rsplit("_", 1)[1])
            vid = f"{INCIDENT_PREFIX}{k}"
            sim.route.add(f"{vid}_route", [edge])
            sim.vehicle.add(
                vid,
                f"{vid}_route",
                depart=f"{start:.0f}",
                departLane=str(index),
                departPos=f"{pos - 2.0:.1f}",
                departSpeed="0",
            )
            sim.vehicle.setStop(vid, edge, pos=pos, laneIndex=index, duration=self.duration)
            self.incidents.append({"id": vid, "lane": lane, "edge": edge, "pos": round(pos, 1), "planned": start})

    def step(self, run: LiveRun, now: float) -> None:
        for inc in self.incidents:
            if "start" not in inc and inc["id"] in run.sim.simulation.getDepartedIDList():
                inc["start"] = now
                inc["end"] = now + self.duration
        self.detector.observe(run, now)

    def result(self, run: LiveRun) -> dict[str, Any]:
        return {
            "incidents": score_alarms(self.incidents, self.detector.alarms),
            "incident_alarms": self.detector.alarms,
        }


def score_alarms(
    incidents: list[dict[str, Any]], alarms: list[dict[str, Any]], within_s: float = 120.0
) -> dict[str, Any]:
    """Match alarms to incidents on the same edge while they were active."""
    started = [i for i in incidents if "start" in i]
    used: set[int] = set()
    out = []
    for inc in started:
        hit = None
        for k, a in enumerate(alarms):
            if a["edge"] == inc["edge"] and inc["start"] <= a["time"] <= inc["end"] + 60.0:
                hit = k if hit is None else hit
                used.add(k)
        delay = alarms[hit]["time"] - inc["start"] if hit is not None else None
        out.append(
            {
                **inc,
                "detected": hit is not None,
                "time_to_detect": delay,
                "within": delay is not None and delay <= within_s,
            }
        )
    false = [a for k, a in enumerate(alarms) if k not in used]
    return {
        "injected": len(started),
        "detected": sum(1 for o in out if o["detected"]),
        "detected_within": sum(1 for o in out if o["within"]),
        "false_alarms": len(false),
        "per_incident": out,
    }
