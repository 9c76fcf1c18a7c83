"""Emergency vehicles and their pre-emption (green wave along the announced route).

Private cars are never identified; an ambulance announces itself and its route, as transponder
systems do. Its position along that route tells each junction ahead to prepare the phase that
serves the ambulance's movement, through the same safety layer as every other request (clearance
and minimum green are kept; only the bounded-wait and max-green rules yield while it approaches).

Three arms add the same seeded ambulance trips and differ only in the priority they get:

* ``none``: the ambulance drives as an ordinary car (the baseline);
* ``preempt``: signal pre-emption only (green wave), the ambulance otherwise drives normally;
* ``full``: pre-emption plus blue-light driving (SUMO's bluelight device: traffic forms a rescue
  lane and lets it pass; emergency vehicles may exceed the limit, speed factor 1.5), which is what
  "priority" means on the street. Most of an ambulance's trip is free driving, so signals alone
  cannot halve it; the report gives both arms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .simulation import LiveRun, Plugin

EMS_PREFIX = "ems_"
EMS_TYPE = "ems_ambulance"
EMS_BLUELIGHT_TYPE = "ems_ambulance_bluelight"
MODES = ("none", "preempt", "full")


@dataclass
class EmergencyPlugin(Plugin):
    """Adds ``count`` ambulance trips and gives them the priority of ``mode`` (see module doc)."""

    count: int = 5
    seed: int = 1
    mode: str = "full"
    lookahead_s: float = 15.0  # request the phase when the ambulance is this many seconds away ...
    lookahead_m: float = 60.0  # ... or this close, whichever reaches further
    min_signals: int = 2
    max_hold_s: float = 30.0  # one ambulance may hold a junction this long, then normal rules resume
    needs_adaptive: bool = True
    trips: list[dict[str, Any]] = field(default_factory=list)
    _active: set[str] = field(default_factory=set)
    _requests: dict[str, int] = field(default_factory=dict)
    _first_request: dict[tuple[str, str], float] = field(default_factory=dict)
    _moves: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    preemptions: int = 0

    @property
    def preempt(self) -> bool:
        return self.mode in ("preempt", "full")

    def start(self, run: LiveRun) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        sim, net = run.sim, run.network
        sim.vehicletype.copy("DEFAULT_VEHTYPE", EMS_TYPE)
        sim.vehicletype.setVehicleClass(EMS_TYPE, "emergency")
        sim.vehicletype.setMaxSpeed(EMS_TYPE, 25.0)
        sim.vehicletype.copy(EMS_TYPE, EMS_BLUELIGHT_TYPE)
        sim.vehicletype.setSpeedFactor(EMS_BLUELIGHT_TYPE, 1.5)
        sim.vehicletype.setMaxSpeed(EMS_BLUELIGHT_TYPE, 33.0)
        sim.vehicletype.setParameter(EMS_BLUELIGHT_TYPE, "has.bluelight.device", "true")
        drive_type = EMS_BLUELIGHT_TYPE if self.mode == "full" else EMS_TYPE
        # (in-edge, out-edge) -> phase serving it, per junction: the green-wave lookup table
        for jid, j in net.junctions.items():
            table: dict[tuple[str, str], int] = {}
            for link in j.links:
                key = (net.lane_edge.get(link.in_lane, ""), net.lane_edge.get(link.out_lane, ""))
                if key not in table:
                    phase = j.phase_serving(link.in_lane, link.out_lane)
                    if phase is not None:
                        table[key] = phase
            self._moves[jid] = table
        self._edge_signals = {k: jid for jid, t in self._moves.items() for k in t}
        rng = random.Random(self.seed * 7919 + 17)
        edges = sorted({net.lane_edge[lane] for j in net.junctions.values() for lane in j.in_lanes})
        exits = sorted({net.lane_edge[lane] for j in net.junctions.values() for lane in j.out_lanes})
        begin, end = run.spec.scenario.begin, run.spec.scenario.end
        span = max(60.0, end - begin - 900.0)
        tries = 0
        while len(self.trips) < self.count and tries < 500:
            tries += 1
            origin, dest = rng.choice(edges), rng.choice(exits)
            if origin == dest:
                continue
            route = sim.simulation.findRoute(origin, dest, vType=EMS_TYPE)
            signals = self._signals_on(list(route.edges))
            if len(route.edges) < 2 or len(signals) < self.min_signals:
                continue
            vid = f"{EMS_PREFIX}{len(self.trips)}"
            depart = begin + 120.0 + (len(self.trips) + rng.random()) * span / self.count
            sim.route.add(f"{vid}_route", list(route.edges))
            sim.vehicle.add(vid, f"{vid}_route", typeID=drive_type, depart=f"{depart:.0f}", departLane="best")
            self.trips.append({"id": vid, "depart": depart, "signals": len(signals), "edges": len(route.edges)})

    def _signals_on(self, edges: list[str]) -> list[str]:
        return [
            self._edge_signals[(a, b)] for a, b in zip(edges, edges[1:], strict=False) if (a, b) in self._edge_signals
        ]

    def step(self, run: LiveRun, now: float) -> None:
        sim = run.sim
        for vid in sim.simulation.getDepartedIDList():
            if vid.startswith(EMS_PREFIX):
                self._active.add(vid)
        for vid in sim.simulation.getArrivedIDList():
            self._active.discard(vid)
        self._requests = {}
        if not self.preempt:
            return
        for vid in self._active:
            self._announce(run, vid, now)

    def _announce(self, run: LiveRun, vid: str, now: float) -> None:
        """Ask the next signals on the ambulance's route, within reach, for its movement."""
        sim, net = run.sim, run.network
        route = sim.vehicle.getRoute(vid)
        idx = sim.vehicle.getRouteIndex(vid)
        if idx < 0:
            return
        lane = sim.vehicle.getLaneID(vid)
        if lane.startswith(":"):  # inside a junction: it has its green already
            return
        reach = max(self.lookahead_m, self.lookahead_s * max(sim.vehicle.getSpeed(vid), 8.0))
        dist = net.lane_length.get(lane, 0.0) - sim.vehicle.getLanePosition(vid)
        for i in range(idx, len(route) - 1):
            if dist > reach:
                break
            key = (route[i], route[i + 1])
            jid = self._edge_signals.get(key)
            if jid is not None and jid not in self._requests:
                # a stuck ambulance must not starve the junction: the hold is bounded
                first = self._first_request.setdefault((vid, jid), now)
                if now - first <= self.max_hold_s:
                    self._requests[jid] = self._moves[jid][key]
            nxt = f"{route[i + 1]}_0"
            dist += net.lane_length.get(nxt, 0.0)

    def priority_phase(self, junction: str, now: float) -> int | None:
        phase = self._requests.get(junction)
        if phase is not None:
            self.preemptions += 1
        return phase

    def result(self, run: LiveRun) -> dict[str, Any]:
        return {
            "needs_trips": True,
            "ems_planned": self.trips,
            "ems_mode": self.mode,
            "preemption_steps": self.preemptions,
        }
