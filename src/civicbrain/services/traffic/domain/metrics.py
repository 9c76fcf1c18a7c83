"""RESCO's trip metrics, computed from SUMO's tripinfo output.

Delay of a vehicle = timeLoss + departDelay (time lost driving plus time waiting to enter). A
vehicle that never entered the network within the window is charged ``end - scheduled depart``:
ignoring it would reward a controller for locking traffic out. The simulation runs with
``--time-to-teleport -1`` so no vehicle is teleported out of a jam.

Needs ``--tripinfo-output.write-unfinished`` (vehicles still driving at the end are counted with
what they lost so far) and ``--tripinfo-output.write-undeparted`` (vehicles still waiting to enter
are listed with depart -1).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

METRIC_KEYS = ("delay", "trip_time", "wait", "free_flow_trip")
# A vehicle still outside when the window closes may simply have been due in its last seconds (its
# one chance to enter fell on a second when the entry spot was taken). Those that waited longer
# than this were kept out by a queue: insertion was blocked.
INSERTION_BLOCKED_S = 60.0


@dataclass(frozen=True)
class Trip:
    id: str
    depart: float  # actual depart; -1 if it never entered
    scheduled: float | None  # desired depart; None if it never entered (SUMO does not write it then)
    duration: float
    time_loss: float
    depart_delay: float
    waiting_time: float
    arrived: bool


def read_tripinfo(path: str, *, exclude_prefixes: tuple[str, ...] = ()) -> list[Trip]:
    trips = []
    for _, elem in ET.iterparse(path, events=("end",)):
        if elem.tag != "tripinfo":
            continue
        vid = elem.get("id", "")
        if exclude_prefixes and vid.startswith(exclude_prefixes):
            elem.clear()
            continue
        depart = float(elem.get("depart", "-1"))
        depart_delay = float(elem.get("departDelay", "0"))
        # For a vehicle that never entered, SUMO writes depart -1 and departDelay = the time it
        # waited up to the end of the run, i.e. end - scheduled depart.
        scheduled = depart - depart_delay if depart >= 0 else None
        trips.append(
            Trip(
                id=vid,
                depart=depart,
                scheduled=scheduled,
                duration=float(elem.get("duration", "0")),
                time_loss=float(elem.get("timeLoss", "0")),
                depart_delay=depart_delay,
                waiting_time=float(elem.get("waitingTime", "0")),
                arrived=float(elem.get("arrival", "-1")) >= 0,
            )
        )
        elem.clear()
    return trips


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def trip_metrics(trips: Iterable[Trip]) -> dict[str, float | int]:
    """Delay (RESCO), trip time, wait, never-departed and free-flow floor over one run."""
    trips = list(trips)
    departed = [t for t in trips if t.depart >= 0]
    never = [t for t in trips if t.depart < 0]
    finished = [t for t in departed if t.arrived]
    # Never-departed vehicles are charged end - scheduled depart, which is their departDelay.
    delays = [t.time_loss + t.depart_delay for t in departed] + [t.depart_delay for t in never]
    return {
        "vehicles": len(trips),
        "delay": _mean(delays),
        "delay_departed": _mean([t.time_loss + t.depart_delay for t in departed]),
        "trip_time": _mean([t.duration for t in finished]),
        "wait": _mean([t.waiting_time for t in departed]),
        "time_loss": _mean([t.time_loss for t in departed]),
        "free_flow_trip": _mean([t.duration - t.time_loss for t in finished]),
        "finished": len(finished),
        "never_departed": len(never),
        "never_departed_blocked": sum(1 for t in never if t.depart_delay > INSERTION_BLOCKED_S),
    }


def summarize(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return math.nan, math.nan
    m = sum(vals) / len(vals)
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return m, sd
