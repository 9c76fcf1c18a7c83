"""Public query rules: masking, only live published listings; intake refuses forbidden categories."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from civicbrain.core.errors import PrivacyViolation
from civicbrain.core.privacy import DataCategory
from civicbrain.services.credit.domain.listing import (
    HumanReviewer,
    SeverityTier,
    apply_for_repair,
    decide_repair,
)
from civicbrain.services.credit.domain.matching import SubjectRecord
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.domain.public import (
    check_intake_fields,
    check_intake_record,
    mask_identifier,
    monthly_flows,
    public_entry,
)
from tests.services.credit.test_credit_due_process import DEFAULTERS, active, noticed

SUBJECT = SubjectRecord(id="S1", kind=NameKind.PERSON, names=("Zhang Wei",), identifiers=("35010219800504123X",))


def test_person_id_is_masked_company_code_is_not() -> None:
    assert mask_identifier("35010219800504123X") == "3501**********123X"
    assert mask_identifier("1234567") == "*****67"
    assert mask_identifier("91350100M000100Y43", NameKind.ORGANIZATION) == "91350100M000100Y43"


def test_public_entry_shows_only_live_published_listings() -> None:
    listing = active()
    now = listing.effective_from + timedelta(days=1)  # type: ignore[operator]
    entry = public_entry(listing, DEFAULTERS, SUBJECT, now)
    assert entry is not None
    assert entry.masked_identifiers == ("3501**********123X",)
    assert "35010219800504123X" not in repr(entry)
    assert entry.issuing_agency == DEFAULTERS.owning_agency and entry.legal_basis == DEFAULTERS.legal_basis
    assert "repair" in entry.how_to_repair and entry.how_to_object

    assert public_entry(noticed(), DEFAULTERS, SUBJECT, now) is None  # not yet in effect
    assert public_entry(listing, DEFAULTERS, SUBJECT, listing.expires_at) is None  # type: ignore[arg-type]
    minor = replace(DEFAULTERS, tier=SeverityTier.MINOR, max_duration_months=3)
    assert public_entry(replace(listing, duration_months=3), minor, SUBJECT, now) is None

    later = listing.effective_from + timedelta(days=400)  # type: ignore[operator]
    pending, _ = apply_for_repair(listing, DEFAULTERS, performance="paid", applied_by="S1", now=later)
    reviewer = HumanReviewer("rev-1", "officer")
    repaired, _ = decide_repair(pending, granted=True, reviewer=reviewer, checks=("paid",), answer="ok", now=later)
    assert public_entry(repaired, DEFAULTERS, SUBJECT, later) is None
    flows = monthly_flows([repaired, noticed(listing_id="L9")], {DEFAULTERS.code: DEFAULTERS})
    assert sum(f.added for f in flows) == 1 and sum(f.removed for f in flows) == 1


@pytest.mark.parametrize(
    ("field", "category"),
    [
        ("religion", DataCategory.ADMINISTRATIVE),
        ("fingerprint_hash", DataCategory.IDENTIFIER),
        ("blood_type", DataCategory.FINANCIAL),
        ("medical_history", DataCategory.ADMINISTRATIVE),
        ("gene_panel", DataCategory.ADMINISTRATIVE),
        ("notes", DataCategory.HEALTH),  # declared health data, off purpose for credit
        ("notes", DataCategory.BIOMETRIC),
    ],
)
def test_forbidden_categories_are_refused_at_intake(field: str, category: DataCategory) -> None:
    with pytest.raises(PrivacyViolation) as error:
        check_intake_fields({"subject_id": DataCategory.IDENTIFIER, field: category})
    assert error.value.field == field


def test_ordinary_credit_records_pass() -> None:
    check_intake_fields(
        {
            "subject_id": DataCategory.IDENTIFIER,
            "penalty_amount": DataCategory.ADMINISTRATIVE,
            "blood_donation_count": "administrative",  # a commendation, not blood type
            "judgement_ref": DataCategory.JUDICIAL,
        }
    )
    check_intake_record("volunteering", {"hours": DataCategory.ADMINISTRATIVE})
    with pytest.raises(PrivacyViolation, match="record type"):
        check_intake_record("medical_history", {"hours": DataCategory.ADMINISTRATIVE})
