"""Purpose binding, subject access and erasure, wearable alerts, village-doctor support and epidemic advice."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from civicbrain.core.errors import PrivacyViolation, ValidationFailed
from civicbrain.core.privacy import DataCategory
from civicbrain.core.register import Register
from civicbrain.services.health import SERVICE as HEALTH
from civicbrain.services.health import wearable_alerts
from civicbrain.services.health.feeds import WEARABLE_MINUTES
from civicbrain.services.health.models import Consultation, PoolMember
from civicbrain.services.health.seed import seed_wearable_demo, simulated_consultation
from tests.api.helpers import auth
from tests.support import card

BASE = "/api/v1/health"


# --- purpose binding -----------------------------------------------------------------------------


def test_health_data_is_refused_for_any_other_purpose(health_runtime):
    with health_runtime.unit() as ctx:
        # A feed of wearable minutes declared for benefits is refused at registration, naming the field.
        with pytest.raises(PrivacyViolation) as refused_feed:
            ctx.exchange.register_feed(
                agency_id="civil-affairs", name="heart_rates", purpose="benefits", schema=WEARABLE_MINUTES.schema
            )
        assert refused_feed.value.field in ("minute", "heart_rate", "steps")
        # An algorithm of another purpose cannot even be registered with a health input ...
        with pytest.raises(PrivacyViolation):
            Register([card(id="testsvc.uses_answers", inputs={"answers": DataCategory.HEALTH})])
        # ... and a registered one cannot be handed the AI doctor's inputs.
        with pytest.raises(PrivacyViolation) as refused_decision:
            ctx.decide(
                algorithm="testsvc.rule",
                version="1.0",
                subject="person:P0001",
                inputs={"answers": [{"code": "E_53", "answer": "yes"}]},
                outcome="granted",
                explanation={"summary": "should never be recorded"},
                mode="live",
            )
        assert refused_decision.value.field == "inputs.answers"
    # Every health card is bound to the health purpose.
    assert {c.data_purpose.value for c in HEALTH.algorithms} == {"health"}


# --- subject access and erasure --------------------------------------------------------------------


def test_subject_access_lists_and_erasure_removes_the_persons_health_data(health_runtime):
    with health_runtime.unit() as ctx:
        simulated_consultation(ctx, "P0001", "GERD", age=36, sex="female")
        held = ctx.privacy.subject_access("P0001")["services"]["health"]
        assert len(held["consultations"]) == 1 and held["consultations"][0]["answers"]
        assert held["pool"]["member_id"]
        ctx.privacy.erase("P0001")
    with health_runtime.unit() as ctx:
        assert ctx.session.scalars(select(Consultation).where(Consultation.person_id == "P0001")).all() == []
        assert ctx.session.scalar(select(PoolMember).where(PoolMember.person_id == "P0001")) is None
        held = HEALTH.subject_data(ctx, "P0001")  # type: ignore[misc]
        assert held == {"consultations": [], "pool": None, "wearables": None}


def test_consultations_are_purged_after_the_health_retention_period(health_runtime, clock):
    from civicbrain.services.health.records import purge_expired

    with health_runtime.unit() as ctx:
        assert purge_expired(ctx) == {"consultations": 0, "wearable_alerts": 0}
    clock.advance(days=10 * 365 + 3)
    with health_runtime.unit() as ctx:
        simulated_consultation(ctx, "P0001", "GERD", age=36, sex="female")  # recent: kept
        assert purge_expired(ctx)["consultations"] == 2  # the two seeded ones, ten years old
        assert [c.person_id for c in ctx.session.scalars(select(Consultation))] == ["P0001"]


# --- wearables -----------------------------------------------------------------------------------


def wearable_records(person_id: str, start, days: int, elevated_from_day: int) -> list[dict]:
    """Five-minute samples of a resting wearer (60 bpm +- noise), 15 bpm higher from ``elevated_from_day``."""
    rng = np.random.default_rng(7)
    records = []
    for i in range(days * 24 * 12):
        moment = start + timedelta(minutes=5 * i)
        rate = 60 + 4 * np.sin(2 * np.pi * (moment.hour / 24)) + rng.normal(0, 1.5)
        if i >= elevated_from_day * 24 * 12:
            rate += 15
        records.append(
            {"person_id": person_id, "minute": moment.isoformat(), "heart_rate": round(float(rate), 1), "steps": 0}
        )
    return records


def test_wearable_alerts_need_consent_and_carry_their_explanation(api, health_runtime, clock):
    citizen = auth(api, "citizen")
    assert api.put(f"{BASE}/wearables/consent", json={"consent": True}, headers=citizen).status_code == 200
    start = (clock.now - timedelta(days=12)).replace(hour=0, minute=0, second=0, microsecond=0)
    with health_runtime.unit() as ctx:
        feed = ctx.exchange.feed(WEARABLE_MINUTES.agency_id, WEARABLE_MINUTES.name)
        # The same elevated stream for a resident who did not consent: never scanned.
        report = ctx.exchange.post_records(
            feed, wearable_records("P0001", start, 12, 11) + wearable_records("P0002", start, 12, 11)
        )
        assert report.quarantined == 0
    assert api.post(f"{BASE}/wearables/scan", headers=citizen).status_code == 403
    scanned = api.post(f"{BASE}/wearables/scan", headers=auth(api, "clinician"))
    assert scanned.status_code == 200 and scanned.json()["alerts_raised"] >= 1
    alerts = api.get(f"{BASE}/wearables/alerts", headers=citizen).json()["alerts"]
    assert alerts and alerts[0]["current_bpm"] - alerts[0]["baseline_bpm"] > 10
    assert "usual" in alerts[0]["explanation"] and "not a diagnosis" in alerts[0]["explanation"]
    assert api.get(f"{BASE}/wearables/alerts", headers=auth(api, "citizen2")).json()["alerts"] == []
    with health_runtime.unit() as ctx:
        entry = ctx.ledger.get(alerts[0]["receipt"])
        assert (entry.algorithm, entry.mode) == ("health.wearable_alert", "advisory")
    # A second scan raises nothing new; withdrawing consent stops scanning.
    assert api.post(f"{BASE}/wearables/scan", headers=auth(api, "clinician")).json()["alerts_raised"] == 0
    api.put(f"{BASE}/wearables/consent", json={"consent": False}, headers=citizen)
    with health_runtime.unit() as ctx:
        assert HEALTH.subject_data(ctx, "P0001")["wearables"]["withdrawn_at"] is not None  # type: ignore[misc]


def test_the_scan_uses_the_wearers_chosen_sensitivity_and_refuses_an_unknown_one(api, health_runtime, clock):
    citizen = auth(api, "citizen")
    refused = api.put(f"{BASE}/wearables/consent", json={"consent": True, "sensitivity": "extreme"}, headers=citizen)
    assert refused.status_code == 422 and "sensitivity" in refused.text
    with health_runtime.unit() as ctx, pytest.raises(ValidationFailed) as error:
        wearable_alerts.set_consent(ctx, "P0001", consent=True, sensitivity="extreme")
    assert error.value.field == "sensitivity"
    start = (clock.now - timedelta(days=12)).replace(hour=0, minute=0, second=0, microsecond=0)
    with health_runtime.unit() as ctx:
        feed = ctx.exchange.feed(WEARABLE_MINUTES.agency_id, WEARABLE_MINUTES.name)
        ctx.exchange.post_records(feed, wearable_records("P0001", start, 12, 11))
        wearable_alerts.set_consent(ctx, "P0001", consent=True, sensitivity="high")
        high = wearable_alerts.scan(ctx)
    with health_runtime.unit() as ctx:
        for row in wearable_alerts.alerts_of(ctx, "P0001"):
            ctx.session.delete(row)
        wearable_alerts.set_consent(ctx, "P0001", consent=True, sensitivity="low")
        low = wearable_alerts.scan(ctx)
    assert len(high) == len(low) == 1
    assert high[0].raised_at < low[0].raised_at  # the lower threshold alerts sooner on the same rise
    assert "heart rate" in high[0].explanation and "usual" in high[0].explanation


def test_the_development_demo_shows_the_citizen_a_wearable_alert(health_runtime):
    with health_runtime.unit() as ctx:
        seed_wearable_demo(ctx)
        alerts = wearable_alerts.alerts_of(ctx, "P0001")
        assert len(alerts) == 1 and alerts[0].current_bpm - alerts[0].baseline_bpm > 10


# --- village doctor and epidemic advice ----------------------------------------------------------


def test_village_doctor_support_ranks_diagnoses_with_evidence_for_clinicians_only(api):
    body = {"text": "Cough and fever for three days. No chest pain.", "age": 45, "sex": "male"}
    assert api.post(f"{BASE}/village-doctor/support", json=body, headers=auth(api, "citizen")).status_code == 403
    response = api.post(f"{BASE}/village-doctor/support", json=body, headers=auth(api, "clinician"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert {r["present"] for r in result["recognised"]} == {True, False}  # "no chest pain" is a negative
    assert result["candidates"] and result["candidates"][0]["evidence_for"]
    assert len(result["next_questions"]) == 3
    nothing = api.post(f"{BASE}/village-doctor/support", json={"text": "xyz"}, headers=auth(api, "clinician"))
    assert nothing.status_code == 422 and nothing.json()["error"]["field"] == "text"
    scale = api.post(
        f"{BASE}/village-doctor/support", json={"picked": {"E_53": True, "E_55": True}}, headers=auth(api, "clinician")
    )
    assert scale.status_code == 422 and scale.json()["error"]["field"] == "picked.E_55"  # not a yes/no finding


def test_epidemic_triage_and_exposure_check(api, clock):
    first = api.post(f"{BASE}/epidemic/triage", json={"answers": {}}).json()
    assert first["question"]["code"] == "severe_breathing" and first["advice"] is None
    danger = api.post(f"{BASE}/epidemic/triage", json={"answers": {"severe_breathing": True}}).json()
    assert danger["advice"]["advice"] == "hospital" and danger["advice"]["reasons"]
    seeded_day = (clock.now - timedelta(days=3)).date().isoformat()
    check = api.post(
        f"{BASE}/epidemic/exposure-check",
        json={"segments": [{"number": "g 101", "travel_date": seeded_day, "carriage": "05"}]},
    ).json()
    assert check["stored"] is False
    assert [(m["case_id"], m["same_carriage"]) for m in check["matches"]] == [("2026-117", True)]
    other_day = api.post(
        f"{BASE}/epidemic/exposure-check", json={"segments": [{"number": "G101", "travel_date": "2026-01-01"}]}
    ).json()
    assert other_day["matches"] == []
