"""Fairness audit by group, with Fairlearn, over the ledger and the person register."""

from __future__ import annotations

from civicbrain.core.audit import audit_algorithm
from civicbrain.core.people import add_person


def test_outcome_and_error_rates_by_group(ctx):
    # 10 urban people all granted, 10 rural people granted only half the time.
    receipts = {}
    for i in range(20):
        region = "urban" if i < 10 else "rural"
        add_person(ctx, person_id=f"A{i}", name=f"A {i}", birth_year=1980, region=region, sex="female")
        granted = region == "urban" or i % 2 == 0
        receipts[i] = ctx.decide(
            algorithm="testsvc.rule",
            version="1.0",
            subject=f"person:A{i}",
            inputs={"income_band": "low"},
            outcome="granted" if granted else "refused",
            explanation={"summary": "test"},
            mode="live",
        ).id
    ctx.session.flush()
    # Appeals later showed two rural refusals were wrong.
    from civicbrain.core.models import GroundTruth

    for i in (11, 13):
        ctx.session.add(GroundTruth(receipt=receipts[i], was_correct=False, source="appeal", recorded_at=ctx.now()))
    for i in (0, 1, 15):
        ctx.session.add(GroundTruth(receipt=receipts[i], was_correct=True, source="appeal", recorded_at=ctx.now()))
    ctx.session.flush()

    report = audit_algorithm(ctx.session, ctx.register.get("testsvc.rule"))
    assert report.decisions == 20 and report.with_ground_truth == 5
    region = next(g for g in report.by_attribute if g.attribute == "region")
    rates = {g["group"]: g["favourable_rate"] for g in region.groups}
    assert rates == {"urban": 1.0, "rural": 0.5}
    assert region.favourable_ratio == 0.5 and region.favourable_difference == 0.5
    errors = {g["group"]: g.get("error_rate") for g in region.groups}
    assert errors == {"urban": 0.0, "rural": 2 / 3}
    assert region.error_ratio is None  # fewer than 5 decisions with ground truth per group: too noisy to compare
