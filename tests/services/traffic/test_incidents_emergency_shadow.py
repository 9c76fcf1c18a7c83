from __future__ import annotations

from civicbrain.core.batch import map_jobs
from civicbrain.services.traffic.domain.emergency import EmergencyPlugin
from civicbrain.services.traffic.domain.incidents import (
    SEGMENTS,
    IncidentDetector,
    IncidentPlugin,
    score_alarms,
    segment_id,
)
from civicbrain.services.traffic.domain.shadow import ShadowPlugin
from civicbrain.services.traffic.domain.simulation import RunSpec, run_job


def test_score_alarms_matches_by_edge_and_time_and_counts_false_alarms():
    incidents = [
        {"id": "i0", "edge": "e1", "start": 100.0, "end": 700.0},
        {"id": "i1", "edge": "e2", "start": 50.0, "end": 650.0},
    ]
    alarms = [
        {"time": 160.0, "edge": "e1"},  # 60 s after i0 started
        {"time": 400.0, "edge": "e3"},  # nothing there: false alarm
        {"time": 20.0, "edge": "e2"},  # before i1 started: false alarm
    ]
    scored = score_alarms(incidents, alarms)
    assert scored["injected"] == 2
    assert scored["detected"] == 1 and scored["detected_within"] == 1
    assert scored["per_incident"][0]["time_to_detect"] == 60.0
    assert scored["false_alarms"] == 2


def test_plugins_on_the_small_grid(small_scenario):
    specs = [
        RunSpec(small_scenario, "fixed", seed=1, plugins=[IncidentPlugin(count=2, seed=4, duration=400.0)]),
        RunSpec(small_scenario, "qpa", seed=1, plugins=[EmergencyPlugin(count=2, seed=1, mode="preempt")]),
        RunSpec(small_scenario, "fixed", seed=1, plugins=[ShadowPlugin(candidate="qpa")]),
    ]
    incident_run, ems_run, shadow_run = map_jobs(run_job, specs, backend="processes", workers=2, isolate=True)
    inc = incident_run["incidents"]
    assert inc["injected"] == 2
    assert inc["detected"] >= 1, inc
    hits = [i for i in inc["per_incident"] if i["detected"]]
    assert all(i["time_to_detect"] <= 120.0 for i in hits)
    for alarm in incident_run["incident_alarms"]:
        assert {"halting", "halting_by_segment", "evidence_s"} <= set(alarm["explanation"])
    # ambulances are reported apart and left out of everyone else's delay
    assert len(ems_run["ems_trips"]) == 2
    assert all(t["arrived"] for t in ems_run["ems_trips"])
    assert ems_run["preemption_steps"] > 0, "the green wave must have asked the signals for something"
    assert ems_run["vehicles"] == incident_run["vehicles"] or ems_run["vehicles"] > 0
    shadow = shadow_run["shadow"]
    assert shadow["compared"] > 0
    # fixed 42/42 splits on unbalanced demand: an adaptive candidate must disagree sometimes
    assert 0.0 < shadow["disagreement_rate"] < 1.0


def _clearance_faults(trace: list, yellow: float) -> list[str]:
    """Every link that lost its green straight to red, or whose yellow was cut short."""
    faults = []
    by_junction: dict[str, list[tuple[float, str]]] = {}
    for time, jid, state, _ in trace:
        by_junction.setdefault(jid, []).append((time, state))
    for jid, rows in by_junction.items():
        yellow_since: dict[int, float] = {}
        for (_, before), (time, after) in zip(rows, rows[1:], strict=False):
            for i, (a, b) in enumerate(zip(before, after, strict=True)):
                if a in "Gg" and b == "r":
                    faults.append(f"{jid} link {i} green->red at {time}")
                if b == "y" and a != "y":
                    yellow_since[i] = time
                elif a == "y" and b != "y" and time - yellow_since.pop(i, -1e9) < yellow:
                    faults.append(f"{jid} link {i} yellow cut at {time}")
    return faults


def test_fixed_time_junctions_are_taken_over_for_the_ambulance_and_handed_back(small_scenario):
    def spec(controller: str, mode: str) -> RunSpec:
        plugin = EmergencyPlugin(count=2, seed=1, mode=mode)
        return RunSpec(small_scenario, controller, seed=1, plugins=[plugin], record_trace=True, explain_every=0)

    specs = [spec("fixed", "preempt"), spec("fixed", "none"), spec("actuated", "preempt")]
    fixed, plain, actuated = map_jobs(run_job, specs, backend="processes", workers=2, isolate=True)
    for run in (fixed, actuated):
        # the ambulances met green at every signal on their way, the takeover made that happen
        assert run["takeovers"] > 0
        assert run["ems_crossings"] and all(c["light"] in "Gg" for c in run["ems_crossings"]), run["ems_crossings"]
        # ... and every junction taken went back to its own program afterwards
        assert run["handbacks"] == run["takeovers"] and run["taken_at_end"] == []
        assert all(now == own for now, own in run["programs_after"].values()), run["programs_after"]
        # the lights went through yellow (3 s in the generated net's program), never straight to red
        assert _clearance_faults(run["takeover_trace"], yellow=3.0) == []
    # back on the fixed-time program's cycle clock: its plan (offsets, coordination) is kept
    assert fixed["off_clock_at_end"] == []
    # without priority the same trips wait at red lights and take longer
    assert any(c["light"] not in "Gg" for c in plain["ems_crossings"])
    assert "takeovers" not in plain
    slow = sorted(t["duration"] for t in plain["ems_trips"])
    fast = sorted(t["duration"] for t in fixed["ems_trips"])
    assert fast[-1] < slow[-1] and sum(fast) < sum(slow)


class FakeLaneArea:
    def __init__(self) -> None:
        self.results: dict[str, dict[int, float]] = {}

    def subscribe(self, det: str, variables: list[int]) -> None:
        self.results.setdefault(det, {v: 0 for v in variables})

    def getAllSubscriptionResults(self) -> dict[str, dict[int, float]]:  # noqa: N802 (libsumo's name)
        return self.results


class FakeRun:
    """Just enough of a live run for the detector: a network with one 120 m approach lane."""

    def __init__(self) -> None:
        from civicbrain.services.traffic.domain.network import Junction, Link, Network

        self.network = Network(
            junctions={"J": Junction("J", [Link(0, "a_0", "b_0")], ["G"], [30.0])},
            lane_length={"a_0": 120.0, "b_0": 120.0},
            lane_edge={"a_0": "a", "b_0": "b"},
        )
        self.sim = type("Sim", (), {})()
        self.sim.lanearea = FakeLaneArea()
        self.sim.trafficlight = type("TL", (), {"getRedYellowGreenState": staticmethod(lambda j: "G")})()

    def show(self, halting: list[int]) -> None:
        for k, h in enumerate(halting):
            self.sim.lanearea.results[segment_id("a_0", k)] = {0x10: h, 0x14: h, 0x13: 0.0}


def test_the_detector_flags_a_hole_ahead_of_standing_vehicles_not_an_ordinary_queue():
    run = FakeRun()
    detector = IncidentDetector(alarm_s=20.0)
    detector.start(run)  # type: ignore[arg-type]
    assert len(run.sim.lanearea.results) == len(SEGMENTS) - 1  # 120 m lane: all five segments
    # a queue from the stop line back, for a long red: contiguous, no alarm
    run.show([2, 3, 2, 0, 0])
    for t in range(200):
        detector.observe(run, float(t))  # type: ignore[arg-type]
    assert detector.alarms == []
    # a vehicle standing 45-70 m out with nobody standing ahead of it: alarm after alarm_s seconds
    run.show([0, 0, 0, 1, 2])
    for t in range(200, 260):
        detector.observe(run, float(t))  # type: ignore[arg-type]
    assert [a["time"] for a in detector.alarms] == [219.0]
    assert detector.alarms[0]["explanation"]["blocked_from_m"] == SEGMENTS[3]


def test_fit_raises_the_bar_only_on_lanes_with_recurrent_holes():
    detector = IncidentDetector(alarm_s=40.0).fit([{"a_0": 30.0, "c_0": 5.0}, {"a_0": 50.0}])
    assert set(detector.lane_alarm_s_) == {"a_0"}
    assert detector.lane_alarm_s_["a_0"] == 50.0 * detector.recurrent_factor


class FakeAmbulanceRun:
    """One signal ``J`` that controls two intersections an ambulance crosses in turn (as Ingolstadt's joined
    signals do): a -> b at J needs phase 0, then c -> d at J again needs phase 1. Edges are 100 m long."""

    def __init__(self) -> None:
        from civicbrain.services.traffic.domain.network import Junction, Link, Network

        links = [Link(0, "a_0", "b_0"), Link(1, "c_0", "d_0")]
        lanes = ("a_0", "b_0", "c_0", "d_0")
        self.network = Network(
            junctions={"J": Junction("J", links, ["Gr", "rG"], [30.0, 30.0], yellow_time=3.0)},
            lane_length={lane: 100.0 for lane in lanes},
            lane_edge={lane: lane[0] for lane in lanes},
        )
        self.bus = None
        self.now, self.route_index, self.position = 0.0, 0, 50.0
        vehicle = type("Vehicle", (), {})()
        vehicle.getRouteIndex = lambda vid: self.route_index
        vehicle.getLaneID = lambda vid: f"{'abcd'[self.route_index]}_0"
        vehicle.getLanePosition = lambda vid: self.position
        vehicle.getSpeed = lambda vid: 10.0
        vehicle.getNextTLS = lambda vid: []
        simulation = type("Simulation", (), {})()
        simulation.getTime = lambda: self.now
        simulation.getDepartedIDList = simulation.getArrivedIDList = lambda: []
        self.sim = type("Sim", (), {"vehicle": vehicle, "simulation": simulation})()

    def signal_view(self, jid: str, now: float) -> None:
        return None  # lead time = clearance + margin: the request starts a few seconds ahead


def test_a_signal_met_twice_on_a_route_gets_a_request_for_each_crossing_with_its_own_hold_clock():
    from civicbrain.services.traffic.domain.emergency import Movement

    run = FakeAmbulanceRun()
    plugin = EmergencyPlugin(mode="preempt", max_hold_s=30.0)
    plugin._moves = {("a", "b"): Movement("J", 0, ("a_0",)), ("c", "d"): Movement("J", 1, ("c_0",))}
    plugin._routes = {"ems_0": ["a", "b", "c", "d"]}
    plugin._active = {"ems_0"}

    def step(now: float, route_index: int, position: float) -> int | None:
        run.now, run.route_index, run.position = now, route_index, position
        plugin.step(run, now)  # type: ignore[arg-type]
        return plugin.priority_phase("J", now)

    # first crossing: 5 m before J on a, phase 0 asked and held
    assert step(0.0, 0, 95.0) == 0 and plugin.held_phase("J", 0.0) == 0
    # on c, 40 s later (past the 30 s hold of the first crossing), 5 m before J again: phase 1 is asked for,
    # on a hold clock of its own (the first crossing's clock would have run out)
    assert step(40.0, 2, 95.0) == 1
    assert plugin.held_phase("J", 40.0) == 1
