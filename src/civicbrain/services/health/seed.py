"""Demo data for the health service: a clinician, finished consultations, a pool with claims in every state.

Everything goes through the same use cases as real requests (so every decision is in the ledger); only
the public-notice dates of two claims are moved back, to show a history without waiting a week.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from civicbrain.core.context import Platform
from civicbrain.core.identity import Role, create_user
from civicbrain.services.health import consultations, pool, wearable_alerts
from civicbrain.services.health.domain.knowledge_base import BINARY, load_knowledge_base
from civicbrain.services.health.feeds import CASE_ITINERARIES, FEEDS, WEARABLE_MINUTES
from civicbrain.services.health.models import Consultation, PoolClaim

CLINICIAN = ("clinician", "demo-clinician-pass", "Dr Zhou Min (Health Commission)")


def seed_demo(ctx: Platform) -> None:
    username, password, name = CLINICIAN
    create_user(
        ctx.session,
        username=username,
        password=password,
        role=Role.OFFICER,
        display_name=name,
        agency_id="health-commission",
    )
    for spec in FEEDS:
        ctx.exchange.register_spec(spec)
    _seed_itineraries(ctx)
    waiting = simulated_consultation(ctx, "P0002", "Pneumonia", age=71, sex="male")
    reviewed = simulated_consultation(ctx, "P0003", "URTI", age=34, sex="female")
    consultations.review(
        ctx,
        reviewed,
        clinician=username,
        given=consultations.ReviewInput("confirmed", None, None, "Seen by video; rest and fluids."),
    )
    assert waiting.state == consultations.AWAITING_CLINICIAN
    _seed_pool(ctx)
    if ctx.settings.environment == "development":
        # A week and a half of wearable minutes costs ~0.7 s to store and scan: worth it for someone
        # trying the demo, not for every test that seeds the city (tests call it directly instead).
        seed_wearable_demo(ctx)


def seed_wearable_demo(ctx: Platform, person_id: str = "P0001", days: int = 10) -> None:
    """A consenting wearer whose resting heart rate rises by ~14 bpm on the last day: one alert."""
    feed = ctx.exchange.feed(WEARABLE_MINUTES.agency_id, WEARABLE_MINUTES.name)
    start = (ctx.now() - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(5)
    samples_per_day = 24 * 12  # one sample every five minutes, at rest
    records = []
    for i in range(days * samples_per_day):
        moment = start + timedelta(minutes=5 * i)
        usual = 60 + 4 * math.sin(2 * math.pi * moment.hour / 24)  # lower at night, higher by day
        rise = 14 if i >= (days - 1) * samples_per_day else 0
        rate = usual + rise + rng.gauss(0, 1.5)
        records.append({"person_id": person_id, "minute": moment.isoformat(), "heart_rate": round(rate, 1), "steps": 0})
    ctx.exchange.post_records(feed, records)
    wearable_alerts.set_consent(ctx, person_id, consent=True)
    wearable_alerts.scan(ctx)


def simulated_consultation(ctx: Platform, person_id: str, pathology: str, *, age: int, sex: str) -> Consultation:
    """A consultation answered as a patient with ``pathology`` would (its knowledge-base evidences: yes)."""
    kb = load_knowledge_base()
    present = kb.pathologies[pathology].evidences
    first = next(code for code, _text in consultations.complaints() if code in present)
    row = consultations.start(ctx, person_id=person_id, consent=True, initial_evidence=first, age=age, sex=sex)
    while (question := consultations.current_question(row)) is not None:
        evidence = kb.evidences[question.code]
        if evidence.data_type == BINARY:
            value: object = question.code in present
        elif question.kind == "choose_one":
            value = evidence.default
        else:
            value = []
        consultations.answer(ctx, row, code=question.code, value=value)
    return row


def _seed_itineraries(ctx: Platform) -> None:
    feed = ctx.exchange.feed(CASE_ITINERARIES.agency_id, CASE_ITINERARIES.name)
    day = ctx.now().date()
    ctx.exchange.post_records(
        feed,
        [
            {
                "case_id": "2026-117",
                "number": "G101",
                "travel_date": (day - timedelta(days=3)).isoformat(),
                "carriage": "5",
            },
            {
                "case_id": "2026-118",
                "number": "CA1234",
                "travel_date": (day - timedelta(days=5)).isoformat(),
                "carriage": None,
            },
        ],
    )


def _seed_pool(ctx: Platform) -> None:
    today = pool.today(ctx)
    long_ago = today - timedelta(days=200)
    members = {
        pid: pool.join(ctx, pid, long_ago) for pid in ("P0001", "P0003", "P0004", "P0005", "P0006", "P0007", "P0008")
    }
    members["P0002"] = pool.join(ctx, "P0002", today - timedelta(days=30))  # still in the waiting period

    def claim(pid: str, illness: str, days_ago: int, amount: str, document: bytes) -> PoolClaim:
        diagnosed = today - timedelta(days=days_ago)
        given = pool.ClaimInput(
            illness, diagnosed, diagnosed, diagnosed + timedelta(days=5), amount, [("invoice.pdf", document)]
        )
        return pool.submit_claim(ctx, members[pid], given)

    def noticed_days_ago(row: PoolClaim, days: int) -> None:
        row.noticed_on = today - timedelta(days=days)
        row.submitted_on = row.noticed_on

    paid_last_period = claim("P0007", "I63", 40, "15000.00", b"demo invoice: stroke, P0007")
    noticed_days_ago(paid_last_period, 20)
    pool.settle(ctx, "2026-10")
    approved = claim("P0003", "I21", 30, "20000.00", b"demo invoice: myocardial infarction, P0003")
    noticed_days_ago(approved, 10)  # its objection window has closed: paid at the next settlement
    claim("P0004", "C50", 20, "30000.00", b"demo invoice: breast cancer, P0004")  # in public notice now
    claim("P0002", "C34", 10, "25000.00", b"demo invoice: lung cancer, P0002")  # refused: waiting period
    claim("P0005", "I21", 15, "18000.00", b"demo invoice: myocardial infarction, P0003")  # refused: same document
    objected = claim("P0006", "C22", 12, "22000.00", b"demo invoice: liver cancer, P0006")
    pool.object_to(ctx, members["P0008"], objected.id, "The same treatment was already paid by the city hospital fund.")
    ctx.session.flush()
