"""Detectors added to the simulation, and the only window controllers have onto traffic.

Every incoming lane of a signalised junction gets a lane-area detector (E2) ending at the stop line
and an induction loop (E1) just before it; every outgoing lane gets a lane-area detector from its
start. Controllers read counts, halting counts and occupancy from these, never vehicle identities,
which is what a city's cameras/loops would deliver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .network import Network

IN_DETECTOR_LENGTH = 100.0
OUT_DETECTOR_LENGTH = 100.0

# TraCI variable ids (traci/constants.py), duplicated to avoid importing traci for three numbers.
VAR_COUNT = 0x10
VAR_OCCUPANCY = 0x13
VAR_HALTING = 0x14


def in_id(lane: str, piece: int = 0) -> str:
    return f"in:{lane}" if piece == 0 else f"in:{lane}@@{piece}"


def out_id(lane: str) -> str:
    return f"out:{lane}"


def loop_id(lane: str) -> str:
    return f"loop:{lane}"


@dataclass(frozen=True)
class LaneReading:
    """What one lane-area detector reports in one second."""

    count: int = 0
    halting: int = 0
    occupancy: float = 0.0  # percent of the detector length covered by vehicles

    @property
    def moving(self) -> int:
        return self.count - self.halting


EMPTY = LaneReading()


def write_detectors(network: Network, path: Path) -> None:
    """Write the additional file declaring E2/E1 detectors for all signalised lanes."""
    in_lanes = sorted({lane for j in network.junctions.values() for lane in j.in_lanes})
    out_lanes = sorted({lane for j in network.junctions.values() for lane in j.out_lanes})
    rows = ["<additional>"]
    for lane in in_lanes:
        length = network.lane_length.get(lane, 0.0)
        for k, (piece_lane, start, det) in enumerate(network.upstream_segments(lane, IN_DETECTOR_LENGTH)):
            rows.append(
                f'  <laneAreaDetector id={quoteattr(in_id(lane, k))} lane={quoteattr(piece_lane)} pos="{start:.2f}"'
                f' length="{det:.2f}" period="86400" file="NUL"/>'
            )
        rows.append(
            f'  <inductionLoop id={quoteattr(loop_id(lane))} lane={quoteattr(lane)} pos="{max(0.0, length - 1.0):.2f}"'
            ' period="86400" file="NUL"/>'
        )
    for lane in out_lanes:
        length = network.lane_length.get(lane, 0.0)
        if length < 1.0:
            continue
        det = min(OUT_DETECTOR_LENGTH, length - 0.1)
        rows.append(
            f'  <laneAreaDetector id={quoteattr(out_id(lane))} lane={quoteattr(lane)} pos="0"'
            f' length="{det:.2f}" period="86400" file="NUL"/>'
        )
    rows.append("</additional>")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


class DetectorBus:
    """Reads all detectors once per simulation second through libsumo subscriptions.

    Readings are kept as plain dicts keyed by detector id (``in:LANE`` summed over its upstream
    pieces, ``out:LANE``) because controllers read them for every junction every second; the
    :class:`LaneReading` accessors build objects only for callers that want them.
    """

    def __init__(self, sim, network: Network) -> None:  # sim: the libsumo module
        self._sim = sim
        self.in_lanes = sorted({lane for j in network.junctions.values() for lane in j.in_lanes})
        self.out_lanes = sorted({lane for j in network.junctions.values() for lane in j.out_lanes})
        known = set(sim.lanearea.getIDList())
        loops = set(sim.inductionloop.getIDList())
        self._area_ids = sorted(known)
        self._loop_ids = [loop_id(x) for x in self.in_lanes if loop_id(x) in loops]
        # upstream pieces of an approach and the approach detector they add to
        self._pieces = [(d, d.split("@@", 1)[0]) for d in self._area_ids if "@@" in d]
        # metres each detector covers (an approach: with its upstream pieces)
        self.length: dict[str, float] = {}
        for d in self._area_ids:
            sim.lanearea.subscribe(d, [VAR_COUNT, VAR_HALTING, VAR_OCCUPANCY])
            key = d.split("@@", 1)[0]
            self.length[key] = self.length.get(key, 0.0) + float(sim.lanearea.getLength(d))
        for d in self._loop_ids:
            sim.inductionloop.subscribe(d, [VAR_COUNT, VAR_OCCUPANCY])
        self.count: dict[str, int] = {}  # vehicles on the detector (approach: with its pieces)
        self.halting: dict[str, int] = {}
        self.occupancy: dict[str, float] = {}  # percent; approach: its most occupied piece
        self._area_raw: dict[str, dict[int, float]] = {}
        self._loop_raw: dict[str, dict[int, float]] = {}
        self.passed: dict[str, int] = {}  # cumulative vehicles over each stop-line loop
        self.last_pass: dict[str, float] = {}  # time a vehicle last crossed each stop-line loop

    def update(self, now: float = 0.0) -> None:
        raw = self._sim.lanearea.getAllSubscriptionResults()
        count = {d: v[VAR_COUNT] for d, v in raw.items()}
        halting = {d: v[VAR_HALTING] for d, v in raw.items()}
        occupancy = {d: v[VAR_OCCUPANCY] for d, v in raw.items()}
        for d, key in self._pieces:  # pieces of one approach add up; occupancy keeps the most occupied
            v = raw.get(d)
            if v is not None:
                count[key] = count.get(key, 0) + v[VAR_COUNT]
                halting[key] = halting.get(key, 0) + v[VAR_HALTING]
                occupancy[key] = max(occupancy.get(key, 0.0), v[VAR_OCCUPANCY])
        self._area_raw, self.count, self.halting, self.occupancy = raw, count, halting, occupancy
        loops = self._sim.inductionloop.getAllSubscriptionResults()
        self._loop_raw = loops
        passed, last_pass = self.passed, self.last_pass
        for d, n in [(d, v[VAR_COUNT]) for d, v in loops.items() if v[VAR_COUNT]]:
            passed[d] = passed.get(d, 0) + int(n)
            last_pass[d] = now

    def _reading(self, key: str) -> LaneReading:
        if key not in self.count:
            return EMPTY
        return LaneReading(int(self.count[key]), int(self.halting[key]), float(self.occupancy[key]))

    def incoming(self, lane: str) -> LaneReading:
        return self._reading(in_id(lane))

    def own(self, lane: str) -> LaneReading:
        """The approach lane's own detector, without the pieces on the lanes feeding it."""
        v = self._area_raw.get(in_id(lane))
        if v is None:
            return EMPTY
        return LaneReading(int(v[VAR_COUNT]), int(v[VAR_HALTING]), float(v[VAR_OCCUPANCY]))

    def outgoing(self, lane: str) -> LaneReading:
        return self._reading(out_id(lane))

    def at_stop_line(self, lane: str) -> bool:
        """Whether a vehicle stands on (or crosses) the stop-line loop this second."""
        v = self._loop_raw.get(loop_id(lane))
        return v is not None and v[VAR_OCCUPANCY] > 0.0

    def since_last_pass(self, lane: str, now: float) -> float:
        """Seconds since a vehicle last crossed this lane's stop line (the actuated 'gap')."""
        return now - self.last_pass.get(loop_id(lane), -1e9)

    def discharged(self, lane: str) -> int:
        return self.passed.get(loop_id(lane), 0)
