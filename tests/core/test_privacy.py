"""Privacy rules, subject access, erasure and retention."""

from __future__ import annotations

from datetime import timedelta

import pytest

from civicbrain.core.errors import Conflict, PrivacyViolation
from civicbrain.core.privacy import DataCategory, Purpose, check_field, check_fields


@pytest.mark.parametrize(
    "category",
    ["religion", "ethnicity", "political_opinion", "genetic", "biometric", "blood_type"],
)
def test_forbidden_categories_are_refused_for_every_purpose(category):
    for purpose in Purpose:
        with pytest.raises(PrivacyViolation) as err:
            check_fields({"the_field": category}, purpose)
        assert err.value.field == "the_field"
        assert "never collected" in err.value.message


def test_purpose_bound_categories():
    check_field("diagnosis", DataCategory.HEALTH, Purpose.HEALTH)
    check_field("grade", DataCategory.MINOR, Purpose.LEARNING)
    with pytest.raises(PrivacyViolation, match="only for: health"):
        check_field("diagnosis", DataCategory.HEALTH, Purpose.CREDIT)
    with pytest.raises(PrivacyViolation, match="only for: learning"):
        check_field("pupil_grade", DataCategory.MINOR, Purpose.HEALTH)


def test_unknown_category_names_the_field():
    with pytest.raises(PrivacyViolation) as err:
        check_fields({"x": "horoscope"}, "benefits")
    assert err.value.field == "x"


def test_subject_access_has_records_decisions_and_appeals(seeded):
    with seeded.unit() as ctx:
        data = ctx.privacy.subject_access("P0001")
    assert data["person"]["id"] == "P0001"
    assert data["records"] and data["records"][0]["agency"] == "civil-affairs"
    assert data["decisions"] and data["decisions"][0]["explanation"]["summary"]


def test_erasure_removes_the_person_and_keeps_the_ledger_verifiable(seeded):
    from civicbrain.core.ledger import verify

    with seeded.unit() as ctx:
        receipt = ctx.privacy.subject_access("P0003")["decisions"][0]["receipt"]
        request = ctx.privacy.request_erasure("P0003", "moving away")
        with pytest.raises(Conflict):
            ctx.privacy.request_erasure("P0003", "again")
    with seeded.unit() as ctx:
        ctx.privacy.decide_erasure(request.id, approve=True, by="admin", response="Erased as you asked.")
    with seeded.unit() as ctx:
        data = ctx.privacy.subject_access("P0003")
        assert data["person"]["name"] == "[erased]"
        assert data["records"] == []
        assert all(d["inputs"] == {} and d["explanation"] == {} for d in data["decisions"])
        assert ctx.ledger.get(receipt).erased
        assert verify(ctx.session).ok


def test_retention_purge_removes_expired_records(seeded, clock):
    with seeded.unit() as ctx:
        assert ctx.privacy.subject_access("P0001")["records"]
    clock.advance(days=int(timedelta(days=6 * 365 + 1).days))
    with seeded.unit() as ctx:
        removed = ctx.privacy.purge_expired()
        assert removed["civil-affairs/household_income"] == 40
        assert ctx.privacy.subject_access("P0001")["records"] == []
