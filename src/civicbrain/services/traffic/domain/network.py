"""What a signal controller may know about a junction, read from the SUMO network file.

For each traffic light: its links (incoming lane -> outgoing lane, by link index), the green phases
of its own program, and the clearance times (yellow, all-red) that program uses. Parsed with
ElementTree so the structure is known before the simulation starts (detectors must be declared in
an additional file at start-up).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

GREEN = "Gg"
DEFAULT_YELLOW = 3.0


@dataclass(frozen=True)
class Link:
    """One connection through the junction. Several may share a signal index (one head for all)."""

    index: int
    in_lane: str
    out_lane: str
    # the internal lanes a vehicle on this link drives through the junction box, in order
    box: tuple[str, ...] = ()
    box_length: float = 0.0  # metres driven through the box (the internal lanes' lengths)


@dataclass
class Junction:
    """One traffic light: links, green phases (signal strings) and clearance times from its program."""

    id: str
    links: list[Link]
    green_phases: list[str]
    program_durations: list[float]
    yellow_time: float = DEFAULT_YELLOW
    all_red_time: float = 0.0
    program: list[tuple[str, float, float | None, float | None]] = field(default_factory=list)
    # derived values, computed once: controllers ask for them every simulated second
    _derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def derived(self, key: Any, build: Callable[[], T]) -> T:
        """A value derived from this junction's fixed structure, built on first use and kept.

        Controllers and detectors precompute per-junction lookups (detector ids of each phase,
        index arrays) through this, keyed by a name of their own, instead of on every decision.
        """
        try:
            return self._derived[key]
        except KeyError:
            value = self._derived[key] = build()
            return value

    @property
    def in_lanes(self) -> list[str]:
        return sorted({link.in_lane for link in self.links})

    @property
    def out_lanes(self) -> list[str]:
        return sorted({link.out_lane for link in self.links})

    @property
    def longest_box_path(self) -> float:
        """Metres of the longest path through the junction box (0 without internal lanes)."""
        return self.derived("longest_box", lambda: max((link.box_length for link in self.links), default=0.0))

    def served_lanes(self, phase: int) -> list[str]:
        """Incoming lanes with at least one green link in this phase."""
        state = self.green_phases[phase]
        return self.derived(
            ("served", phase), lambda: sorted({link.in_lane for link in self.links if state[link.index] in GREEN})
        )

    def movements(self, phase: int) -> list[Link]:
        state = self.green_phases[phase]
        return self.derived(("moves", phase), lambda: [link for link in self.links if state[link.index] in GREEN])

    def phase_serving(self, in_lane: str, out_lane: str | None = None) -> int | None:
        """The green phase giving a priority green ('G', else 'g') to this lane (and exit)."""
        best: tuple[int, int] | None = None
        for p, state in enumerate(self.green_phases):
            for link in self.links:
                if link.in_lane == in_lane and (out_lane is None or link.out_lane == out_lane):
                    rank = 2 if state[link.index] == "G" else 1 if state[link.index] == "g" else 0
                    if rank and (best is None or rank > best[0]):
                        best = (rank, p)
        return None if best is None else best[1]


@dataclass
class Network:
    junctions: dict[str, Junction]
    lane_length: dict[str, float]
    lane_edge: dict[str, str]
    lane_predecessors: dict[str, list[str]] = field(default_factory=dict)
    internal_length: dict[str, float] = field(default_factory=dict)  # internal (box) lanes

    @property
    def signalled_lanes(self) -> set[str]:
        """Lanes that end at a traffic light's stop line."""
        return {lane for j in self.junctions.values() for lane in j.in_lanes}

    @property
    def exit_lanes(self) -> set[str]:
        """Lanes a traffic light's links lead into."""
        return {lane for j in self.junctions.values() for lane in j.out_lanes}

    def upstream_segments(
        self, lane: str, reach: float, *, stop_at: set[str] | frozenset[str] = frozenset(), short_link_m: float = 0.0
    ) -> list[tuple[str, float, float]]:
        """(lane, start, length) pieces covering ``reach`` metres upstream of ``lane``'s stop line.

        Networks often split an edge a few metres before the junction; a detector on that stub
        would see nothing, so coverage continues onto the lanes feeding it (two levels at most),
        but not onto lanes in ``stop_at`` (another signal's approaches: who queues there waits
        for that signal), unless ``lane`` itself is shorter than ``short_link_m``.
        """
        pieces: list[tuple[str, float, float]] = []
        crosses = self.lane_length.get(lane, 0.0) < short_link_m
        frontier = [(lane, reach)]
        for _ in range(3):
            nxt = []
            for cur, need in frontier:
                length = self.lane_length.get(cur, 0.0)
                take = min(need, length - 0.1)
                if take >= 0.5:
                    pieces.append((cur, length - 0.1 - take, take))
                if need - max(take, 0.0) > 10.0:
                    feeding = self.lane_predecessors.get(cur, [])
                    nxt += [(pred, need - max(take, 0.0)) for pred in feeding if crosses or pred not in stop_at]
            frontier = nxt
        return pieces


def _is_green_phase(state: str) -> bool:
    return any(c in GREEN for c in state) and "y" not in state and "Y" not in state


def read_network(net_path: str) -> Network:
    lane_length: dict[str, float] = {}
    lane_edge: dict[str, str] = {}
    internal_length: dict[str, float] = {}
    # tl -> link index -> its connections (in lane, out lane, via): one signal index may control several
    # connections (ingolstadt21's 243641585 drives a whole two-lane approach, three exits, with index 0)
    links: dict[str, dict[int, list[tuple[str, str, str]]]] = {}
    via: dict[str, str] = {}  # lane -> the internal lane it continues on (a box split by internal junctions)
    predecessors: dict[str, list[str]] = {}
    programs: dict[str, list[tuple[str, float, float | None, float | None]]] = {}
    current_edge = ""
    internal = False
    for _, elem in ET.iterparse(net_path, events=("start",)):
        tag = elem.tag
        if tag == "edge":
            current_edge = elem.get("id", "")
            internal = elem.get("function") == "internal"
        elif tag == "lane" and internal:
            internal_length[elem.get("id", "")] = float(elem.get("length", "0"))
        elif tag == "lane":
            lane_length[elem.get("id", "")] = float(elem.get("length", "0"))
            lane_edge[elem.get("id", "")] = current_edge
        elif tag == "tlLogic":
            programs.setdefault(elem.get("id", ""), [])
            current_edge = "tl:" + elem.get("id", "")
        elif tag == "phase" and current_edge.startswith("tl:"):
            tl = current_edge[3:]
            mn, mx = elem.get("minDur"), elem.get("maxDur")
            programs[tl].append(
                (
                    elem.get("state", ""),
                    float(elem.get("duration", "0")),
                    float(mn) if mn else None,
                    float(mx) if mx else None,
                )
            )
        elif tag == "connection":
            in_lane = f"{elem.get('from')}_{elem.get('fromLane')}"
            out_lane = f"{elem.get('to')}_{elem.get('toLane')}"
            if elem.get("via") and in_lane.startswith(":"):
                via[in_lane] = elem.get("via", "")
            if not in_lane.startswith(":") and not out_lane.startswith(":"):
                predecessors.setdefault(out_lane, []).append(in_lane)
            tl, idx = elem.get("tl", ""), int(elem.get("linkIndex", "-1"))
            if tl and idx >= 0:
                links.setdefault(tl, {}).setdefault(idx, []).append((in_lane, out_lane, elem.get("via", "")))
    junctions: dict[str, Junction] = {}
    for tl, phases in programs.items():
        if tl not in links or not phases:
            continue
        greens: list[str] = []
        for state, _, _, _ in phases:
            if _is_green_phase(state) and state not in greens:
                greens.append(state)
        yellows = [d for s, d, _, _ in phases if "y" in s or "Y" in s]
        all_reds = [d for s, d, _, _ in phases if s and all(c in "rs" for c in s.lower())]
        junctions[tl] = Junction(
            id=tl,
            links=[_link(i, parts, via, internal_length) for i in sorted(links[tl]) for parts in links[tl][i]],
            green_phases=greens,
            program_durations=[d for _, d, _, _ in phases],
            yellow_time=max(yellows) if yellows else DEFAULT_YELLOW,
            all_red_time=max(all_reds) if all_reds else 0.0,
            program=phases,
        )
    return Network(
        junctions=junctions,
        lane_length=lane_length,
        lane_edge=lane_edge,
        lane_predecessors=predecessors,
        internal_length=internal_length,
    )


def _link(index: int, parts: tuple[str, str, str], via: dict[str, str], internal_length: dict[str, float]) -> Link:
    in_lane, out_lane, first = parts
    box = _box_path(first, via)
    return Link(index, in_lane, out_lane, box=box, box_length=sum(internal_length.get(b, 0.0) for b in box))


def _box_path(first: str, via: dict[str, str]) -> tuple[str, ...]:
    """The internal lanes from ``first`` on (an internal junction splits a path; a few hops at most)."""
    path: list[str] = []
    lane = first
    while lane and lane not in path and len(path) < 4:
        path.append(lane)
        lane = via.get(lane, "")
    return tuple(path)
