"""Pre-emption and the ambulance's exit: a green is not asked for while the lanes its movement leads
into stand full (detector readings only), unless the next junction on its route is already granted
to it, which is what empties that exit (a green wave that starts from the front)."""

from __future__ import annotations

from civicbrain.services.traffic.domain.detectors import LaneReading, out_id
from civicbrain.services.traffic.domain.emergency import EmergencyPlugin, movement_table


class FakeExitBus:
    """Exit detectors that report ``standing`` stopped cars on a 100 m detector, nothing elsewhere."""

    def __init__(self) -> None:
        self.standing: dict[str, int] = {}
        self.approach: dict[str, int] = {}  # standing cars an approach detector reports, by lane
        self.length = {out_id(lane): 100.0 for lane in ("b_0", "c_0")}

    def halted(self, key: str) -> int:
        return self.standing.get(key, 0)

    def vehicles(self, key: str) -> int:
        return self.standing.get(key, 0)

    def occupancy(self, key: str) -> float:
        return min(100.0, 7.5 * self.standing.get(key, 0))  # percent of 100 m a 7.5 m-spaced queue covers

    def incoming(self, lane: str) -> LaneReading:
        # the cars standing in an exit stand on the next junction's approach too
        n = self.approach.get(lane, self.standing.get(out_id(lane), 0))
        return LaneReading(n, n, 0.0)


class FakeRouteRun:
    """Signal J (a -> b, phase 0), then signal K (b -> c, phase 0) 100 m further; a is 300 m long, the
    other edges 100 m."""

    def __init__(self, shared_lane: bool = False) -> None:
        from civicbrain.services.traffic.domain.network import Junction, Link, Network

        lanes = ("a_0", "b_0", "c_0", "d_0", "e_0")
        # shared_lane: a_0 also feeds a -> e, which J's phase 0 (protecting a -> b) keeps red and phase 1 lets go
        j = (
            Junction("J", [Link(0, "a_0", "b_0"), Link(1, "a_0", "e_0")], ["Gr", "GG"], [30.0, 30.0], yellow_time=3.0)
            if shared_lane
            else Junction("J", [Link(0, "a_0", "b_0")], ["G", "r"], [30.0, 30.0], yellow_time=3.0)
        )
        self.network = Network(
            junctions={
                "J": j,
                "K": Junction("K", [Link(0, "b_0", "c_0")], ["G", "r"], [30.0, 30.0], yellow_time=3.0),
            },
            lane_length={lane: 300.0 if lane == "a_0" else 100.0 for lane in lanes},
            lane_edge={lane: lane[0] for lane in lanes},
        )
        self.bus = FakeExitBus()
        self.now, self.route_index, self.position = 0.0, 0, 295.0
        vehicle = type("Vehicle", (), {})()
        vehicle.getRouteIndex = lambda vid: self.route_index
        vehicle.getLaneID = lambda vid: f"{'abcd'[self.route_index]}_0"
        vehicle.getLanePosition = lambda vid: self.position
        self.speed = 0.0  # standing
        self.tls: list[tuple[str, int, float, str]] = []  # the light ahead: (signal, link, distance, state)
        vehicle.getSpeed = lambda vid: self.speed
        vehicle.getNextTLS = lambda vid: self.tls
        simulation = type("Simulation", (), {})()
        simulation.getTime = lambda: self.now
        simulation.getDepartedIDList = simulation.getArrivedIDList = lambda: []
        self.sim = type("Sim", (), {"vehicle": vehicle, "simulation": simulation})()

    def signal_view(self, jid: str, now: float) -> None:
        return None


def _plugin(run: FakeRouteRun, junctions: tuple[str, ...]) -> EmergencyPlugin:
    plugin = EmergencyPlugin(mode="preempt")
    plugin._moves = {key: m for key, m in movement_table(run).items() if m.junction in junctions}  # type: ignore[arg-type]
    plugin._routes = {"ems_0": ["a", "b", "c", "d"]}
    plugin._active = {"ems_0"}
    return plugin


def test_no_green_is_asked_while_the_exit_stands_full_and_a_granted_one_is_given_back():
    run = FakeRouteRun()
    plugin = _plugin(run, ("J",))  # no signal downstream on its route: nothing would empty the exit for it
    plugin.step(run, 0.0)  # type: ignore[arg-type]
    assert plugin.priority_phase("J", 0.0) == 0 and plugin.held_phase("J", 0.0) == 0
    # b_0's exit detector fills with 12 standing cars: the green would not move the ambulance's queue
    run.bus.standing[out_id("b_0")] = 12
    run.now = 1.0
    plugin.step(run, 1.0)  # type: ignore[arg-type]
    assert plugin.priority_phase("J", 1.0) is None and plugin.held_phase("J", 1.0) is None
    # the exit drains: J is asked again, on the same crossing's hold clock
    run.bus.standing[out_id("b_0")] = 0
    run.now = 2.0
    plugin.step(run, 2.0)  # type: ignore[arg-type]
    assert plugin.priority_phase("J", 2.0) == 0


def test_a_full_exit_whose_next_junction_is_granted_to_the_ambulance_does_not_block_the_request():
    run = FakeRouteRun()
    run.bus.standing[out_id("b_0")] = 12
    plugin = _plugin(run, ("J", "K"))
    plugin.step(run, 0.0)  # type: ignore[arg-type]
    # the front first: K, which empties b, is granted; J waits while its exit is full
    assert plugin.priority_phase("K", 0.0) == 0
    assert plugin.priority_phase("J", 0.0) is None
    run.now = 1.0
    plugin.step(run, 1.0)  # type: ignore[arg-type]
    assert plugin.priority_phase("J", 1.0) == 0 and plugin.held_phase("K", 1.0) == 0


def test_the_hold_is_longer_once_the_ambulance_is_near_the_stop_line():
    run = FakeRouteRun()
    plugin = _plugin(run, ("J",))

    def asked(now: float, position: float) -> int | None:
        run.now, run.position = now, position
        plugin.step(run, now)  # type: ignore[arg-type]
        return plugin.priority_phase("J", now)

    # 5 m before the stop line, its queue moving slowly: held past 45 s, up to 90 s
    assert asked(0.0, 295.0) == 0
    assert asked(60.0, 296.0) == 0 and plugin.held_phase("J", 60.0) == 0
    assert asked(91.0, 297.0) is None and plugin.held_phase("J", 91.0) is None


def test_a_request_made_far_behind_a_queue_keeps_the_45_s_bound():
    run = FakeRouteRun()
    run.bus.approach["a_0"] = 10  # 10 standing ahead: the green is asked early, 150 m out
    plugin = _plugin(run, ("J",))
    run.position = 150.0
    plugin.step(run, 0.0)  # type: ignore[arg-type]
    assert plugin.priority_phase("J", 0.0) == 0
    run.now = 50.0
    plugin.step(run, 50.0)  # type: ignore[arg-type]
    assert plugin.priority_phase("J", 50.0) is None and plugin.held_phase("J", 50.0) is None


def test_standing_at_its_own_green_behind_standing_cars_asks_the_phase_that_lets_the_lane_go():
    run = FakeRouteRun(shared_lane=True)
    plugin = _plugin(run, ("J",))
    # 30 m out, moving, nobody standing: the protected phase of its movement
    run.position, run.speed, run.tls = 270.0, 10.0, [("J", 0, 30.0, "r")]
    plugin.step(run, 0.0)  # type: ignore[arg-type]
    assert plugin.priority_phase("J", 0.0) == 0
    # 10 m out, standing under its green behind a car that waits for a -> e (red in phase 0)
    run.position, run.speed, run.tls = 290.0, 0.0, [("J", 0, 10.0, "G")]
    run.bus.approach["a_0"] = 2  # the detector counts the ambulance and the car ahead
    phases = []
    for t in range(1, 8):
        run.now = float(t)
        plugin.step(run, float(t))  # type: ignore[arg-type]
        phases.append((plugin.priority_phase("J", float(t)), plugin.held_phase("J", float(t))))
    # after stuck_s (5 s) of that, the phase that lets every movement of its lane go
    assert phases[:5] == [(0, 0)] * 5 and phases[5:] == [(1, 1)] * 2
