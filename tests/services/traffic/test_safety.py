"""Safety layer: unit checks on a synthetic junction, and properties of a recorded live trace."""

from __future__ import annotations

from civicbrain.core.batch import map_jobs
from civicbrain.services.traffic.domain.network import Junction, Link
from civicbrain.services.traffic.domain.safety import PhaseStatus, SafeSignal, SafetyLimits
from civicbrain.services.traffic.domain.simulation import RunSpec, run_job


def _junction() -> Junction:
    links = [Link(0, "n_0", "s_0"), Link(1, "e_0", "w_0")]
    return Junction("J", links, ["Gr", "rG"], [30, 3, 30, 3], yellow_time=3.0, all_red_time=2.0)


def test_min_green_then_yellow_and_all_red_before_conflicting_green():
    sig = SafeSignal(_junction(), SafetyLimits(min_green=5, max_green=60, max_wait=90), now=0.0, record=True)
    demand = [PhaseStatus(1.0), PhaseStatus(5.0)]
    assert sig.arbitrate(1, demand, now=3.0) == (0, "min_green")
    phase, reason = sig.arbitrate(1, demand, now=6.0)
    assert (phase, reason) == (1, "controller")
    sig.request(phase, 6.0, reason)
    assert sig.state == "yr"
    for t in range(7, 9):
        sig.tick(float(t))
        assert sig.state == "yr"
    sig.tick(9.0)
    assert sig.state == "rr"  # all-red from the program
    sig.tick(10.0)
    assert sig.state == "rr"
    sig.tick(11.0)
    assert sig.state == "rG"


def test_bounded_wait_and_max_green_override_the_controller():
    sig = SafeSignal(_junction(), SafetyLimits(min_green=5, max_green=40, max_wait=30), now=0.0)
    waiting = [PhaseStatus(10.0), PhaseStatus(1.0)]
    assert sig.arbitrate(0, waiting, now=20.0) == (0, "controller")
    assert sig.arbitrate(0, waiting, now=31.0) == (1, "bounded_wait")
    sig2 = SafeSignal(_junction(), SafetyLimits(min_green=5, max_green=40, max_wait=1000), now=0.0)
    assert sig2.arbitrate(0, waiting, now=41.0) == (1, "max_green")
    # nobody waits elsewhere: the green may rest beyond max green
    assert sig2.arbitrate(0, [PhaseStatus(10.0), PhaseStatus(0.0)], now=41.0) == (0, "controller")


def test_spillback_guard_prefers_a_phase_with_free_exits():
    sig = SafeSignal(_junction(), SafetyLimits(), now=0.0)
    status = [PhaseStatus(3.0), PhaseStatus(9.0, blocked=True)]
    assert sig.arbitrate(1, status, now=10.0) == (0, "spillback")


def test_live_trace_keeps_clearance_min_green_and_bounded_wait(small_scenario):
    [result] = map_jobs(
        run_job,
        [RunSpec(small_scenario, "qpa", seed=3, record_trace=True)],
        backend="processes",
        workers=1,
        isolate=True,
    )
    trace = result["trace"]
    assert trace, "an adaptive run must switch at least once"
    limits = SafetyLimits(min_green=5.0, max_green=60.0, max_wait=120.0)
    by_junction: dict[str, list[dict]] = {}
    for e in sorted(trace, key=lambda e: e["time"]):
        by_junction.setdefault(e["junction"], []).append(e)
    for entries in by_junction.values():
        last_green_start = small_scenario.begin
        for prev, cur in zip(entries, entries[1:], strict=False):
            if cur["kind"] == "yellow":
                # a green ended: it lasted at least min green
                assert cur["time"] - (prev["time"] if prev["kind"] == "green" else last_green_start) >= limits.min_green
            if prev["kind"] == "yellow":
                assert cur["time"] - prev["time"] >= 3.0  # the network's yellow time
                for a, b in zip(prev["state"], cur["state"], strict=True):
                    assert not (a == "y" and b in "Gg"), "a yellow link must not turn green without clearance"
            if cur["kind"] == "green":
                last_green_start = cur["time"]
        # bounded wait: no phase of the junction goes unserved for longer than max_wait + clearance
        served: dict[int, float] = {}
        for e in entries:
            if e["kind"] == "green":
                if e["phase"] in served:
                    assert e["time"] - served[e["phase"]] <= limits.max_wait + 60.0 + 10.0
                served[e["phase"]] = e["time"]


def _two_stream_junction() -> Junction:
    # phase 0 lets north and south go together (links 0, 1); phase 1 serves east (link 2)
    links = [Link(0, "n_0", "s_0"), Link(1, "s_0", "n_0"), Link(2, "e_0", "w_0")]
    return Junction("J", links, ["GGr", "rrG"], [30, 3, 30, 3], yellow_time=3.0, all_red_time=2.0)


def test_a_link_into_a_blocked_exit_is_held_red_through_its_own_yellow_and_released():
    sig = SafeSignal(_two_stream_junction(), SafetyLimits(), now=0.0, record=True)
    assert sig.hold_links({1}, now=10.0)
    assert sig.state == "Gyr"  # the other stream of the green keeps going
    assert not sig.hold_links({1}, now=12.0)
    assert sig.state == "Gyr"  # yellow lasts the network's yellow time
    assert sig.hold_links({1}, now=13.0)
    assert sig.state == "Grr"
    assert sig.hold_links(set(), now=20.0)  # the exit has room again
    assert sig.state == "GGr"
    assert [e.kind for e in sig.trace] == ["hold", "hold", "hold"]


def test_a_held_link_finishes_its_yellow_through_a_change_of_phase_and_stays_red():
    sig = SafeSignal(_two_stream_junction(), SafetyLimits(), now=0.0)
    sig.hold_links({1}, now=10.0)
    sig.request(1, now=11.0)
    assert sig.state == "yyr"  # the held link's yellow is not cut short by the transition
    sig.tick(14.0)
    assert sig.state == "rrr"
    sig.tick(16.0)
    assert sig.state == "rrG"
    assert sig.held == {}


def test_a_link_red_before_its_green_is_held_red_at_once():
    sig = SafeSignal(_two_stream_junction(), SafetyLimits(), now=0.0, phase=1)
    sig.request(0, now=10.0)
    sig.tick(13.0)
    sig.tick(15.0)
    assert sig.state == "GGr"
    assert sig.hold_links({0}, now=15.0)
    assert sig.state == "rGr"  # nothing to clear: it was red through the all-red


def _protected_turn_junction() -> Junction:
    # phase 0: north through (link 0) with its left turn permissive (link 1, 'g'); phase 1 protects
    # that left turn; phase 2 serves east
    links = [Link(0, "n_0", "s_0"), Link(1, "n_1", "e_0"), Link(2, "e_0", "w_0")]
    return Junction("J", links, ["Ggr", "rGr", "rrG"], [30, 3, 6, 3, 30, 3], yellow_time=3.0)


def test_a_protected_turn_phase_is_served_by_the_permissive_green_once_its_queue_clears():
    limits = SafetyLimits(min_green=5, max_green=1000, max_wait=30, serve_covered=True)
    demand = [PhaseStatus(5.0), PhaseStatus(2.0), PhaseStatus(0.0)]
    cleared = SafeSignal(_protected_turn_junction(), limits, now=0.0)
    stuck = SafeSignal(_protected_turn_junction(), limits, now=0.0)
    for t in range(1, 41):
        cleared.note_served(float(t), queued=lambda lane: False)
        stuck.note_served(float(t), queued=lambda lane: lane == "n_1")  # left turners keep waiting
    # the turn ran (permissively) and its queue cleared: bounded wait has nothing to force
    assert cleared.arbitrate(0, demand, now=40.0) == (0, "controller")
    # a phase of other movements is still forced
    assert cleared.arbitrate(0, [PhaseStatus(5.0), PhaseStatus(2.0), PhaseStatus(1.0)], now=40.0) == (2, "bounded_wait")
    # a turn that found no gap for max_wait is owed its protected phase
    assert stuck.arbitrate(0, demand, now=40.0) == (1, "bounded_wait")
    # without the option the protected phase is forced whatever happened to its turns
    plain = SafeSignal(_protected_turn_junction(), SafetyLimits(min_green=5, max_green=1000, max_wait=30), now=0.0)
    for t in range(1, 41):
        plain.note_served(float(t), queued=lambda lane: False)
    assert plain.arbitrate(0, demand, now=40.0) == (1, "bounded_wait")


def _box_junction(path: float = 34.0) -> Junction:
    # link 0 (n->s) crosses the box on two internal lanes (split by an internal junction)
    links = [
        Link(0, "n_0", "s_0", box=(":J_0_0", ":J_4_0"), box_length=path),
        Link(1, "e_0", "w_0", box=(":J_1_0",), box_length=12.0),
    ]
    return Junction("J", links, ["Gr", "rG"], [30, 3, 30, 3], yellow_time=3.0, all_red_time=0.0)


def _switch_to_phase_1(limits: SafetyLimits, path: float = 34.0) -> SafeSignal:
    sig = SafeSignal(_box_junction(path), limits, now=0.0, record=True)
    sig.request(1, 10.0)
    assert sig.state == "yr"
    return sig


def test_all_red_goes_on_while_the_ending_phases_vehicles_leave_the_box():
    sig = _switch_to_phase_1(SafetyLimits(box_clearance=8.0, box_stall=2))
    # standing in link 0's box after the yellow: 3, then 2, then 1, then none
    standing = {13.0: 3, 14.0: 2, 15.0: 1, 16.0: 0}
    seen: list[Link] = []

    def box_stuck(link: Link) -> int:
        seen.append(link)
        return standing[now] if link.index == 0 else 0

    for now in (13.0, 14.0, 15.0):
        sig.tick(now, box_stuck)
        assert sig.state == "rr", now  # all-red: the crossing stream is not let in yet
    now = 16.0
    sig.tick(now, box_stuck)
    assert sig.state == "rG"
    assert {k.index for k in seen} == {0}  # only the links losing green are asked about
    assert [t.reason for t in sig.trace if t.kind == "all_red"] == ["box_clearance"]


def test_box_clearance_is_bounded_and_gives_up_when_nobody_leaves():
    capped = _switch_to_phase_1(SafetyLimits(box_clearance=4.0, box_stall=10))
    leaving = iter(range(10, 0, -1))  # one vehicle leaves each second, more than the cap allows
    green_at = next(
        t for t in range(13, 30) if capped.tick(float(t), lambda k, n=next(leaving): n) and capped.state == "rG"
    )
    assert green_at == 17  # yellow ends at 13, at most 4 s of all-red
    stalled = _switch_to_phase_1(SafetyLimits(box_clearance=20.0, box_stall=2))
    shown = []
    for t in range(13, 30):
        stalled.tick(float(t), lambda k: 2)  # two vehicles stand there and do not move
        shown.append(stalled.state)
    assert shown[:2] == ["rr", "rr"] and shown[2] == "rG"  # gives up after 2 s without progress


def test_box_clearance_off_without_box_readings_or_at_a_short_box_keeps_the_programs_clearance():
    cases = [
        (SafetyLimits(), lambda k: 5, 34.0),
        (SafetyLimits(box_clearance=8.0), None, 34.0),
        (SafetyLimits(box_clearance=8.0, box_min_path=30.0), lambda k: 5, 20.0),  # an ordinary junction
    ]
    for limits, reader, path in cases:
        sig = _switch_to_phase_1(limits, path)
        sig.tick(13.0, reader)
        assert sig.state == "rG"


def test_box_presence_zones_are_declared_on_the_internal_lanes_of_signalised_links(small_scenario, tmp_path):
    from civicbrain.services.traffic.domain.detectors import box_id, write_detectors
    from civicbrain.services.traffic.domain.network import read_network

    network = read_network(small_scenario.net)
    links = [k for j in network.junctions.values() for k in j.links]
    assert links and all(k.box and all(lane.startswith(":") for lane in k.box) for k in links)
    assert all(k.box_length == sum(network.internal_length[lane] for lane in k.box) > 0 for k in links)
    path = tmp_path / "det.add.xml"
    write_detectors(network, path, box_min_path=0.0)
    text = path.read_text()
    lanes = {lane for k in links for lane in k.box if network.internal_length[lane] >= 0.5}
    assert lanes and all(f'id="{box_id(lane)}"' in text for lane in lanes)
    # zones only where the box clearance would read them: none without it, none at short boxes
    longest = max(j.longest_box_path for j in network.junctions.values())
    for box_min_path in (None, longest + 1.0):
        write_detectors(network, path, box_min_path=box_min_path)
        assert 'id="box:' not in path.read_text()
