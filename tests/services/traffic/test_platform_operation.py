"""Traffic through the platform: signal plans recorded through ctx.decide (sampled, explained),
shadow decisions that never act, incident alerts as advice, and the register's say over modes.

Simulations are costly, so each distinct simulation runs once per module (pure results, no
database); recording happens per test on a fresh database, as the service does in the parent.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from sqlalchemy import func, select

from civicbrain.core.context import Runtime
from civicbrain.core.errors import NotPermittedByRegister, ValidationFailed
from civicbrain.core.models import LedgerEntry
from civicbrain.services.concessions import SERVICE as CONCESSIONS
from civicbrain.services.traffic import SERVICE as TRAFFIC
from civicbrain.services.traffic.algorithms import CONTROLLER_CARDS, INCIDENT_DETECTOR
from civicbrain.services.traffic.domain.network import read_network
from civicbrain.services.traffic.models import TrafficRun
from civicbrain.services.traffic.service import (
    operation_request,
    record_operation,
    review_incident,
    simulate_operation,
)

WINDOW_S = 300.0
DURATION_S = 900.0


def traffic_service(**statuses: str):  # type: ignore[no-untyped-def]
    """The traffic service with some cards' statuses set, as the city's governance board would."""
    cards = tuple(
        card.model_copy(update={"status": statuses[card.id]}) if card.id in statuses else card
        for card in TRAFFIC.algorithms
    )
    return dataclasses.replace(TRAFFIC, algorithms=cards)


# Pinned statuses keep the tests independent of whatever the latest benchmark supports.
PINNED = traffic_service(**{"traffic.qpa": "shadow", "traffic.max_pressure": "shadow", "traffic.fixed": "live"})


@pytest.fixture
def traffic_runtime(settings, engine, clock) -> Runtime:  # type: ignore[no-untyped-def]
    runtime = Runtime(settings, (CONCESSIONS, PINNED), engine=engine, clock=clock)
    from civicbrain.core.models import Agency
    from civicbrain.demo.city import AGENCIES

    with runtime.unit() as ctx:
        for agency_id, name, contact in AGENCIES:
            ctx.session.add(Agency(id=agency_id, name=name, contact=contact))
    return runtime


@pytest.fixture(scope="module")
def short_scenario(small_scenario):  # type: ignore[no-untyped-def]
    return small_scenario.with_window(end=small_scenario.begin + DURATION_S)


@pytest.fixture(scope="module")
def with_shadow(short_scenario):  # type: ignore[no-untyped-def]
    """Fixed time live, qpa in shadow beside it, one blockage injected as a drill."""
    request = operation_request(short_scenario, "fixed", "qpa", seeds=(1,), incidents=1, window_s=WINDOW_S)
    return request, *simulate_operation(request)


@pytest.fixture(scope="module")
def live_alone(short_scenario):  # type: ignore[no-untyped-def]
    request = operation_request(short_scenario, "fixed", None, seeds=(1,), incidents=1, window_s=WINDOW_S)
    return simulate_operation(request)[0]


def entries(ctx, algorithm: str, mode: str | None = None) -> list:  # type: ignore[no-untyped-def]
    query = select(LedgerEntry.receipt).where(LedgerEntry.algorithm == algorithm)
    if mode:
        query = query.where(LedgerEntry.mode == mode)
    return [ctx.ledger.get(r) for r in ctx.session.scalars(query)]


def test_signal_plans_are_sampled_per_junction_and_window_with_explanations(traffic_runtime, with_shadow):
    request, live_runs, candidate_runs = with_shadow
    junctions = len(read_network(request.scenario.net).junctions)
    windows = math.ceil(DURATION_S / WINDOW_S)
    with traffic_runtime.unit(actor="test") as ctx:
        report = record_operation(ctx, request, live_runs, candidate_runs)
        live = entries(ctx, CONTROLLER_CARDS["fixed"].id, "live")
        shadow = entries(ctx, CONTROLLER_CARDS["qpa"].id, "shadow")
        total = ctx.session.scalar(select(func.count()).select_from(LedgerEntry))
    # One entry per junction per 5 simulated minutes: 900 s of 4 junctions is 12 rows, not 900 x 4.
    assert len(live) == junctions * windows == report.decisions["live"]
    assert len(shadow) == junctions * windows == report.decisions["shadow"]
    assert total == report.decisions["live"] + report.decisions["shadow"] + report.decisions["advisory"]
    assert {e.subject_ref for e in live} == {f"junction:{j}" for j in read_network(request.scenario.net).junctions}
    for entry in live + shadow:
        exp = entry.explanation
        assert exp["summary"].startswith(("Junction", "Shadow, not acted on"))
        assert exp["window"]["end"] - exp["window"]["start"] <= WINDOW_S
        assert exp["phases"], "the phases shown and the queues behind them"
        assert sum(p["green_s"] for p in exp["phases"]) + exp["clearance_s"] == pytest.approx(
            exp["window"]["end"] - exp["window"]["start"], abs=1.0
        )
        assert set(entry.inputs) <= set(CONTROLLER_CARDS["fixed"].inputs)
    # The adaptive candidate's windows say why it chose its phases (controller and safety reasons).
    assert any(e.explanation["reasons"] for e in shadow)
    assert all(not e.explanation["reasons"] for e in live), "fixed time: the program decides, no reasons"


def test_shadow_decisions_never_take_effect(traffic_runtime, with_shadow, live_alone):
    request, live_runs, candidate_runs = with_shadow
    # The live run is the same with or without a candidate beside it: the candidate drove nothing.
    for key in ("delay", "trip_time", "wait", "never_departed", "vehicles"):
        assert live_runs[0][key] == live_alone[0][key]
    # ... while the candidate, on the same demand, did run the lights differently.
    assert candidate_runs[0]["delay"] != live_runs[0]["delay"]
    with traffic_runtime.unit(actor="test") as ctx:
        report = record_operation(ctx, request, live_runs, candidate_runs)
        shadow = entries(ctx, CONTROLLER_CARDS["qpa"].id)
        run = ctx.session.get(TrafficRun, report.run_id)
        assert run is not None and run.candidate == "qpa"
    assert shadow and all(e.mode == "shadow" for e in shadow)
    assert all("not acted on" in e.explanation["summary"] for e in shadow)
    # Beside the live lights, on the live run's own detectors, the candidate said what it would do.
    report_beside = live_runs[0]["shadow"]
    assert report_beside["compared"] > 0 and "shadow" not in live_alone[0]
    assert all(0.0 <= e.explanation["beside_live"]["disagreement_rate"] <= 1.0 for e in shadow)
    assert run.summary["agreement"]["compared"] == report_beside["compared"]
    difference = report.difference
    assert difference is not None
    assert difference["delay_change_s"] == pytest.approx(candidate_runs[0]["delay"] - live_runs[0]["delay"])


def test_incident_alerts_are_advisory_and_reviewed_by_a_person(traffic_runtime, with_shadow):
    request, live_runs, candidate_runs = with_shadow
    alarms = live_runs[0]["incident_alarms"]
    with traffic_runtime.unit(actor="test") as ctx:
        report = record_operation(ctx, request, live_runs, candidate_runs)
        alerts = entries(ctx, INCIDENT_DETECTOR.id)
    assert report.decisions["advisory"] == len(alarms) == len(alerts)
    assert all(e.mode == "advisory" and e.outcome_label == "incident_suspected" for e in alerts)
    run_incidents = report.incidents
    assert [a["receipt"] for a in run_incidents] == [a.receipt for a in sorted(alerts, key=lambda e: e.seq)]
    assert alerts, "the drill's blockage must raise at least one alarm, or the review below tests nothing"
    with traffic_runtime.unit(actor="operator") as ctx:
        with pytest.raises(ValidationFailed):
            review_incident(ctx, alerts[0].receipt, outcome="maybe", reasons="x", actor="operator")
        made = review_incident(
            ctx, alerts[0].receipt, outcome="confirmed", reasons="Camera 12 shows a broken-down van.", actor="operator"
        )
        assert ctx.ledger.linked_to(alerts[0].receipt)[0].receipt == made


def test_the_register_decides_who_may_run_live(traffic_runtime, short_scenario):
    from civicbrain.services.traffic.service import check_permitted

    # qpa is pinned to shadow: it may stand beside the live controller, not replace it.
    with pytest.raises(NotPermittedByRegister, match="may not decide in 'live' mode"):
        check_permitted(traffic_runtime.register, operation_request(short_scenario, "qpa"))
    check_permitted(traffic_runtime.register, operation_request(short_scenario, "fixed", "qpa"))
    with pytest.raises(ValidationFailed):
        operation_request(short_scenario, "fixed", "fixed")
    with pytest.raises(ValidationFailed, match="unknown controller"):
        operation_request(short_scenario, "green-for-everyone")


def test_operation_with_ambulances_and_a_calibrated_incident_detector(settings, engine, clock, short_scenario):
    """The live controller gives dispatched ambulances a green wave (fixed time too: its junctions are taken
    over for them); the incident detector is calibrated on incident-free runs of other seeds first, and the
    next run reuses that calibration."""
    from civicbrain.services.traffic.service import latest_calibration, operate

    live_qpa = traffic_service(**{"traffic.qpa": "live", "traffic.fixed": "live"})
    runtime = Runtime(settings, (CONCESSIONS, live_qpa), engine=engine, clock=clock)
    assert operation_request(short_scenario, "fixed", seeds=(1,), ambulances=2).ambulances == 2
    with pytest.raises(ValidationFailed):
        operation_request(short_scenario, "qpa", seeds=(1,), ambulances=11)
    request = operation_request(short_scenario, "qpa", seeds=(1,), incidents=1, ambulances=2, calibration_runs=1)
    report = operate(runtime, request, actor="test")
    assert report.as_dict()["emergency"]["trips"] == 2
    with runtime.unit(actor="test") as ctx:
        run = ctx.session.get(TrafficRun, report.run_id)
        assert run is not None
        emergency = run.summary["emergency"]
        assert emergency["trips"] == 2 and emergency["arrived"] == 2
        assert emergency["mode"] == "preempt" and emergency["preemption_steps"] > 0
        calibration = run.incidents["calibration"]
        assert calibration["source"].startswith("incident-free runs, seeds [101]")
        assert latest_calibration(ctx, short_scenario.name, "qpa") == calibration["lane_alarm_s"]
        assert run.incidents["drill"]["injected"] == 1
    again = operate(runtime, dataclasses.replace(request, calibration_runs=0, ambulances=0), actor="test")
    with runtime.unit(actor="test") as ctx:
        run = ctx.session.get(TrafficRun, again.run_id)
        assert run is not None and run.incidents["calibration"]["source"] == "latest recorded calibration"
        assert run.summary["emergency"] is None
