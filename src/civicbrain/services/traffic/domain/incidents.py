"""Lane-blocking incidents: injection (ground truth) and detection from detector data alone.

Injection: a vehicle stops on a random signalised approach lane, at a random time and a random
position 10-90 m before the stop line, for ``duration`` seconds (a breakdown / closed lane).

Detection: each approach lane carries a chain of short lane-area detectors (E2) from the stop line
upstream (:data:`SEGMENTS`), as a camera or a series of loops along the approach reports them. An
ordinary queue is *contiguous*: it starts at the stop line (red, spillback, a turn waiting for a
gap) and grows upstream, and at green it dissolves from the front. A blocked lane shows a *hole*:
vehicles standing still in one segment while the segment directly ahead of them (towards the stop
line) has nobody standing, second after second, whatever the signal shows. That is the comparison
of occupancy upstream and downstream of a point in the California algorithms, made along the lane.

Evidence is the number of seconds the hole has been seen, decaying while a queue ahead hides it
(red: traffic that changed lanes around the obstacle queues in front of it) and reset once the
lane has nobody standing. ``alarm_s`` seconds of evidence raise an alarm. ``fit`` learns, on
incident-free runs of other seeds, the lanes where the hole appears without an incident (a stop
for a lane change, a bus stop) and raises the evidence needed there.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from .network import Network
from .simulation import LiveRun, Plugin

INCIDENT_PREFIX = "incident_"
# Distances (m) from the stop line of the segment boundaries along each approach lane. The first
# segment is the stop-line zone, where any queue begins.
SEGMENTS = (0.0, 9.0, 25.0, 45.0, 70.0, 100.0)
MIN_SEGMENT_M = 3.0


def segment_id(lane: str, k: int) -> str:
    return f"seg:{lane}#{k}"


def segment_layout(network: Network) -> dict[str, list[tuple[str, float, float]]]:
    """Per approach lane, its segments from the stop line upstream: (detector id, start pos, length)."""
    out: dict[str, list[tuple[str, float, float]]] = {}
    for lane in sorted({lane for j in network.junctions.values() for lane in j.in_lanes}):
        length = network.lane_length.get(lane, 0.0)
        pieces = []
        for k, (near, far) in enumerate(zip(SEGMENTS, SEGMENTS[1:], strict=False)):
            end = length - max(near, 0.1)
            start = max(0.0, length - far)
            if end - start < MIN_SEGMENT_M:
                break
            pieces.append((segment_id(lane, k), start, end - start))
        if len(pieces) >= 2:  # a hole needs a segment ahead of it
            out[lane] = pieces
    return out


def write_segments(network: Network, path: Path) -> None:
    rows = ["<additional>"]
    for lane, pieces in segment_layout(network).items():
        for det, start, length in pieces:
            rows.append(
                f'  <laneAreaDetector id={quoteattr(det)} lane={quoteattr(lane)} pos="{start:.2f}"'
                f' length="{length:.2f}" period="86400" file="NUL"/>'
            )
    rows.append("</additional>")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


# TraCI variable ids (traci/constants.py): vehicle count, halting count and occupancy of a
# lane-area detector (the same variables the detector bus subscribes, so neither overrides the other)
_COUNT, _HALTING, _OCCUPANCY = 0x10, 0x14, 0x13


@dataclass
class IncidentDetector:
    """Hole detector over approach segments; ``fit`` learns which lanes show holes in normal traffic."""

    alarm_s: float = 75.0  # seconds of hole evidence that raise an alarm
    decay: float = 0.25  # evidence lost per second while a queue ahead hides the hole
    clear_s: float = 10.0  # seconds with nobody standing on the lane that close an alarm
    recurrent_margin: float = 0.5  # a training peak above this share of alarm_s marks a recurrent lane ...
    recurrent_factor: float = 1.5  # ... which then needs this multiple of that peak
    lane_alarm_s_: dict[str, float] = field(default_factory=dict)
    _layout: dict[str, list[str]] = field(default_factory=dict)
    _junction_of: dict[str, str] = field(default_factory=dict)
    _evidence: dict[str, float] = field(default_factory=dict)
    _hole_at: dict[str, int] = field(default_factory=dict)
    _clear: dict[str, float] = field(default_factory=dict)
    _alarmed: set[str] = field(default_factory=set)
    peak_evidence: dict[str, float] = field(default_factory=dict)  # per lane, for calibration
    alarms: list[dict[str, Any]] = field(default_factory=list)

    def fit(self, training_peaks: list[dict[str, float]]) -> IncidentDetector:
        """Raise the evidence needed on lanes that showed holes on incident-free training runs.

        ``training_peaks``: per training run, the ``peak_evidence`` its detector reached per lane.
        A lane whose peak came within ``recurrent_margin`` of the alarm needs ``recurrent_factor``
        times its peak there (a recurrent stop must not page the operator every hour).
        """
        needed: dict[str, float] = {}
        for peaks in training_peaks:
            for lane, peak in peaks.items():
                if peak >= self.alarm_s * self.recurrent_margin:
                    needed[lane] = max(needed.get(lane, 0.0), self.alarm_s, peak * self.recurrent_factor)
        self.lane_alarm_s_ = needed
        return self

    def start(self, run: LiveRun) -> None:
        self._layout = {lane: [d for d, _, _ in p] for lane, p in segment_layout(run.network).items()}
        for jid, junction in run.network.junctions.items():
            for lane in junction.in_lanes:
                self._junction_of.setdefault(lane, jid)
        for dets in self._layout.values():
            for d in dets:
                run.sim.lanearea.subscribe(d, [_COUNT, _HALTING, _OCCUPANCY])

    def observe(self, run: LiveRun, now: float) -> None:
        raw = run.sim.lanearea.getAllSubscriptionResults()
        for lane, dets in self._layout.items():
            readings = [raw.get(d) for d in dets]
            if any(r is None for r in readings):
                continue
            halting = [int(r[_HALTING]) for r in readings]  # type: ignore[index]
            if not any(halting):
                self._clear[lane] = self._clear.get(lane, 0.0) + 1.0
                if self._clear[lane] >= self.clear_s:
                    self._evidence[lane] = 0.0
                    self._alarmed.discard(lane)
                continue
            self._clear[lane] = 0.0
            # a hole: someone stands in segment k while nobody stands in segment k-1 ahead of them
            hole = next((k for k in range(1, len(dets)) if halting[k] and not halting[k - 1]), None)
            if hole is not None:
                self._evidence[lane] = self._evidence.get(lane, 0.0) + 1.0
                self._hole_at[lane] = hole
                self.peak_evidence[lane] = max(self.peak_evidence.get(lane, 0.0), self._evidence[lane])
            else:
                self._evidence[lane] = max(0.0, self._evidence.get(lane, 0.0) - self.decay)
            needed = self.lane_alarm_s_.get(lane, self.alarm_s)
            if self._evidence.get(lane, 0.0) >= needed and lane not in self._alarmed:
                self._alarmed.add(lane)
                self._raise(run, lane, now, halting, readings)

    def _raise(self, run: LiveRun, lane: str, now: float, halting: list[int], readings: list[Any]) -> None:
        jid = self._junction_of.get(lane, "")
        hole = self._hole_at.get(lane, 1)
        state = run.sim.trafficlight.getRedYellowGreenState(jid) if jid else ""
        junction = run.network.junctions.get(jid)
        signal = ""
        if junction is not None and state:
            shown = {state[link.index] for link in junction.links if link.in_lane == lane}
            signal = "G" if shown & {"G", "g"} else "r"
        self.alarms.append(
            {
                "time": now,
                "junction": jid,
                "lane": lane,
                "edge": run.network.lane_edge.get(lane, ""),
                "explanation": {
                    "halting": sum(halting),
                    "halting_by_segment": halting,
                    "counts_by_segment": [int(r[_COUNT]) for r in readings],
                    "segments_m": list(SEGMENTS[: len(halting) + 1]),
                    "blocked_from_m": SEGMENTS[hole],
                    "evidence_s": self._evidence[lane],
                    "needed_s": self.lane_alarm_s_.get(lane, self.alarm_s),
                    "signal": signal,
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

    def additional_files(self, network: Network, folder: Path) -> list[Path]:
        path = folder / "incident_segments.add.xml"
        write_segments(network, path)
        return [path]

    def start(self, run: LiveRun) -> None:
        self.detector.start(run)
        net, sim = run.network, run.sim
        rng = random.Random(self.seed * 104729 + 3)
        lanes = sorted(
            lane
            for j in net.junctions.values()
            for lane in j.in_lanes
            if net.lane_length.get(lane, 0.0) >= 30.0
            and ("passenger" in sim.lane.getAllowed(lane) or not sim.lane.getAllowed(lane))
        )
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
        departed = None
        for inc in self.incidents:
            if "start" not in inc:
                departed = departed if departed is not None else set(run.sim.simulation.getDepartedIDList())
                if inc["id"] in departed:
                    inc["start"] = now
                    inc["end"] = now + self.duration
        self.detector.observe(run, now)

    def result(self, run: LiveRun) -> dict[str, Any]:
        return {
            "incidents": score_alarms(self.incidents, self.detector.alarms),
            "incident_alarms": self.detector.alarms,
            "incident_peaks": self.detector.peak_evidence,
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
