"""Detectors added to the simulation, and the only window controllers have onto traffic.

Every incoming lane of a signalised junction gets a lane-area detector (E2) ending at the stop line
and an induction loop (E1) just before it; every outgoing lane gets a lane-area detector from its
start; every internal lane of the junction box gets a lane-area detector over its length (a
presence zone inside the box, as a camera over the junction area gives). Controllers read counts,
halting counts and occupancy from these, never vehicle identities, which is what a city's
cameras/loops would deliver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .network import Network

IN_DETECTOR_LENGTH = 100.0
# An approach detector does not reach past another signal's stop line: the vehicles queued there
# wait for that signal, and counting them as this junction's demand made ingolstadt21's 30624898
# alternate two phases for -136436466 (a 15 m link, its queue standing at 30503246's red) while
# its entry approach filled and blocked insertion (qpa 0.537 -> 0.435 x fixed time, seeds 1-5,
# never-departed 122 -> 5, as many as fixed time). Except on a link between two signals too short
# for two stopped cars: there the two junctions act as one, and a queue on the short link is
# the upstream junction's queue for it (without it, ingolstadt21's 12 m pair locked).
SHORT_LINK_M = 15.0
OUT_DETECTOR_LENGTH = 100.0
# one aggregation interval for the whole run, so a loop's interval count is its count since the start
LOOP_PERIOD = 10_000_000
MOVING_SPEED = 1.0  # m/s; a vehicle slower than this over the stop line is not discharging


def in_id(lane: str, piece: int = 0) -> str:
    return f"in:{lane}" if piece == 0 else f"in:{lane}@@{piece}"


def out_id(lane: str) -> str:
    return f"out:{lane}"


def loop_id(lane: str) -> str:
    return f"loop:{lane}"


def box_id(lane: str) -> str:
    return f"box:{lane}"


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


def _most(values: list[float]) -> float:
    return max(values, default=0.0)


class _StepReadings(dict[str, float]):
    """One detector quantity for the current step, read from SUMO the first time a detector is asked
    for (an approach: summed over its upstream pieces, or the most of them with ``combine=_most``).

    Controllers read a handful of detectors many times a second; a hit is a plain dict lookup, which
    costs a fraction of a Python method call."""

    __slots__ = ("_read", "_parts", "_combine")

    def __init__(
        self,
        read: Callable[[str], float],
        parts: dict[str, tuple[str, ...]],
        combine: Callable[[list[float]], float] = sum,
    ) -> None:
        super().__init__()
        self._read, self._parts, self._combine = read, parts, combine

    def __missing__(self, key: str) -> float:
        parts = self._parts.get(key, ())
        read = self._read
        value = self[key] = read(parts[0]) if len(parts) == 1 else self._combine([read(d) for d in parts])
        return value


def write_detectors(network: Network, path: Path, box_min_path: float | None = None) -> None:
    """Write the additional file declaring E2/E1 detectors for all signalised lanes, and box presence
    zones at the junctions whose longest path through the box is at least ``box_min_path`` m (the
    only ones the safety layer's box clearance reads; None: no box zones). SUMO updates every declared
    detector each step, so zones nobody reads would only slow the run."""
    signalled = network.signalled_lanes
    out_lanes = sorted(network.exit_lanes)
    rows = ["<additional>"]
    for lane in sorted(signalled):
        length = network.lane_length.get(lane, 0.0)
        pieces = network.upstream_segments(lane, IN_DETECTOR_LENGTH, stop_at=signalled, short_link_m=SHORT_LINK_M)
        for k, (piece_lane, start, det) in enumerate(pieces):
            rows.append(
                f'  <laneAreaDetector id={quoteattr(in_id(lane, k))} lane={quoteattr(piece_lane)} pos="{start:.2f}"'
                f' length="{det:.2f}" period="86400" file="NUL"/>'
            )
        rows.append(
            f'  <inductionLoop id={quoteattr(loop_id(lane))} lane={quoteattr(lane)} pos="{max(0.0, length - 1.0):.2f}"'
            f' period="{LOOP_PERIOD}" file="NUL"/>'
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
    junctions = network.junctions.values()
    boxed = [] if box_min_path is None else [j for j in junctions if j.longest_box_path >= box_min_path]
    for lane in sorted({b for j in boxed for link in j.links for b in link.box}):
        length = network.internal_length.get(lane, 0.0)
        if length < 0.5:
            continue
        rows.append(
            f'  <laneAreaDetector id={quoteattr(box_id(lane))} lane={quoteattr(lane)} pos="0"'
            f' length="{length - 0.1:.2f}" period="86400" file="NUL"/>'
        )
    rows.append("</additional>")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


class DetectorBus:
    """Reads detectors on demand, at most once per detector and simulation second.

    A controller decides for a handful of junctions each second, and only for those whose minimum
    green has run out, so reading every detector every second (libsumo subscriptions) cost more
    than the control itself. Instead :meth:`observe` reads one junction's detectors the first time
    it is asked for them in a step; :meth:`update` starts a new step.

    Readings are keyed by detector id (``in:LANE`` summed over its upstream pieces, ``out:LANE``):
    :meth:`vehicles` and :meth:`halted` read one on demand; after ``observe(junction)`` the
    ``count`` and ``halting`` dicts hold all of that junction's; the :class:`LaneReading` accessors
    build objects only for callers that want them.
    """

    def __init__(self, sim, network: Network) -> None:  # sim: the libsumo module
        self._sim = sim
        self._area = sim.lanearea
        self._loop = sim.inductionloop
        # The readings of every decision, bound once. libsumo's Python wrappers only forward to its C
        # functions; calling those directly saves a Python call on each of the ~120 reads a second.
        raw = getattr(sim, "_libsumo", None)
        area, loop = self._area, self._loop
        self._vehicle_number = raw.lanearea_getLastStepVehicleNumber if raw else area.getLastStepVehicleNumber
        self._halting_number = raw.lanearea_getLastStepHaltingNumber if raw else area.getLastStepHaltingNumber
        self._area_occupancy = raw.lanearea_getLastStepOccupancy if raw else area.getLastStepOccupancy
        self._since_detection = raw.inductionloop_getTimeSinceDetection if raw else loop.getTimeSinceDetection
        self._loop_speed = raw.inductionloop_getLastStepMeanSpeed if raw else loop.getLastStepMeanSpeed
        self.in_lanes = sorted(network.signalled_lanes)
        self.out_lanes = sorted(network.exit_lanes)
        known = set(self._area.getIDList())
        self._loops = set(self._loop.getIDList())
        # the raw detectors an id adds up: an approach and its upstream pieces, an exit alone
        self._parts: dict[str, tuple[str, ...]] = {}
        for d in sorted(known):
            key = d.split("@@", 1)[0]
            self._parts[key] = (*self._parts.get(key, ()), d)
        piece_length = {d: float(self._area.getLength(d)) for d in known}
        # metres each detector covers (an approach: with its upstream pieces)
        self.length: dict[str, float] = {key: sum(piece_length[d] for d in parts) for key, parts in self._parts.items()}
        # metres of the piece on the lane itself (an approach without its upstream pieces)
        self.own_length: dict[str, float] = {key: piece_length[key] for key in self._parts if key in piece_length}
        self._junction_keys: dict[str, tuple[str, ...]] = {
            jid: tuple(
                k
                for k in [in_id(lane) for lane in j.in_lanes] + [out_id(lane) for lane in j.out_lanes]
                if k in self._parts
            )
            for jid, j in network.junctions.items()
        }
        self.now = 0.0
        # vehicles on the detector (approach: with its pieces), standing vehicles, percent occupied
        # (approach: its most occupied piece); ``vehicles(key)`` etc. read them, once a step each
        self.count = _StepReadings(self._vehicle_number, self._parts)
        self.halting = _StepReadings(self._halting_number, self._parts)
        self._occupancy = _StepReadings(lambda d: float(self._area_occupancy(d)), self._parts, combine=_most)
        self.vehicles: Callable[[str], float] = self.count.__getitem__
        self.halted: Callable[[str], float] = self.halting.__getitem__
        self.occupancy: Callable[[str], float] = self._occupancy.__getitem__
        self._observed: set[str] = set()  # junctions read this step

    def update(self, now: float = 0.0) -> None:
        """A new simulation second: readings of the previous one are stale."""
        self.now = now
        self.count.clear()
        self.halting.clear()
        self._occupancy.clear()
        self._observed.clear()

    def observe(self, junction_id: str) -> None:
        """Read the count and halting number of every detector around this junction (once a step)."""
        if junction_id in self._observed:
            return
        self._observed.add(junction_id)
        for key in self._junction_keys.get(junction_id, ()):
            self._read(key)

    def _read(self, key: str) -> None:
        self.vehicles(key)
        self.halted(key)

    def _reading(self, key: str) -> LaneReading:
        if key not in self._parts:
            return EMPTY
        return LaneReading(int(self.vehicles(key)), int(self.halted(key)), self.occupancy(key))

    def incoming(self, lane: str) -> LaneReading:
        return self._reading(in_id(lane))

    def own(self, lane: str) -> LaneReading:
        """The approach lane's own detector, without the pieces on the lanes feeding it."""
        d = in_id(lane)
        if d not in self._parts:
            return EMPTY
        area = self._area
        return LaneReading(
            int(area.getLastStepVehicleNumber(d)),
            int(area.getLastStepHaltingNumber(d)),
            float(area.getLastStepOccupancy(d)),
        )

    def outgoing(self, lane: str) -> LaneReading:
        return self._reading(out_id(lane))

    def at_stop_line(self, lane: str) -> bool:
        """Whether a vehicle stands on (or crosses) the stop-line loop this second."""
        d = loop_id(lane)
        return d in self._loops and self._loop.getLastStepOccupancy(d) > 0.0

    def queued(self, lane: str) -> bool:
        """Whether vehicles stand on this incoming lane's approach (its queue has not cleared)."""
        return self.halted(in_id(lane)) > 0

    def gap(self, loop: str) -> float:
        """Seconds since a vehicle last left this stop-line loop (0 while one is on it): the actuated 'gap'."""
        return self._since_detection(loop) if loop in self._loops else 1e9

    def discharging(self, loop: str, within: float) -> bool:
        """Whether vehicles are crossing this stop-line loop: one is on it and moving, or the last
        one left it less than ``within`` seconds ago.

        A vehicle standing on the loop (waiting for a gap to turn, or for room in its exit) is not
        discharging: counting it as traffic, as a plain occupancy gap does, holds a green that
        serves nobody until max green while the other approaches back up.
        """
        if loop not in self._loops:
            return False
        since = self._since_detection(loop)
        if since > 0.0:
            return since < within
        return self._loop_speed(loop) >= MOVING_SPEED

    def since_last_pass(self, lane: str, now: float) -> float:
        return self.gap(loop_id(lane))

    def discharged(self, lane: str) -> int:
        """Vehicles that have crossed this lane's stop line since the run began."""
        d = loop_id(lane)
        return int(self._loop.getIntervalVehicleNumber(d)) if d in self._loops else 0
