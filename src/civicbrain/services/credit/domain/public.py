"""What the public may see, and what the credit platform may never take in.

Public query (issue 4, item 5; court defaulter-list rules on published fields): only
listings in effect on a published list are shown; a person's ID number is masked; the
issuing agency, legal basis, dates and how to object or repair are always shown. Nothing
proposed, objected, withdrawn, expired or repaired is shown.

Intake (the local credit regulations the essays cite - Shanghai 2017 art. 14 and its
peers): religion, genes, fingerprints and other biometrics, blood type, medical history,
ethnicity and political opinion are never collected. Fields are refused by their
declared category (core privacy rules, purpose "credit") *and* by their name, so a
mislabelled field ("fingerprint_hash" declared as an identifier) is still refused.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from civicbrain.core.errors import PrivacyViolation
from civicbrain.core.privacy import DataCategory, Purpose, check_field, parse_category
from civicbrain.services.credit.domain.listing import ListDefinition, Listing, ListingState
from civicbrain.services.credit.domain.matching import SubjectRecord
from civicbrain.services.credit.domain.names import NameKind

MASK = "*"

# Field-name patterns that betray a forbidden category whatever the declared category.
# Word-ish boundaries keep "blood_donation" (a commendation) apart from "blood_type".
FORBIDDEN_FIELD_PATTERNS: dict[str, re.Pattern[str]] = {
    "religion": re.compile(r"(religio|faith|belief|church|mosque|temple)", re.I),
    "ethnicity": re.compile(r"(ethnic|race|nationality_group|minzu)", re.I),
    "political opinion": re.compile(r"(politic|party_member)", re.I),
    "genetic data": re.compile(r"(genetic|genome|gene_|_gene\b|\bdna\b|dna_)", re.I),
    "biometric data": re.compile(
        r"(fingerprint|face_?template|face_?image|iris|voiceprint|biometric|palm_?print)", re.I
    ),
    "blood type": re.compile(r"(blood_?type|blood_?group|\babo\b|rhesus)", re.I),
    "medical history": re.compile(r"(medical|diagnos|disease|illness|health_?record|prescription|hiv)", re.I),
}


def forbidden_reason(field_name: str) -> str | None:
    """Which forbidden category a field's name reveals, if any."""
    for label, pattern in FORBIDDEN_FIELD_PATTERNS.items():
        if pattern.search(field_name):
            return label
    return None


def check_intake_fields(fields: Mapping[str, DataCategory | str]) -> None:
    """Refuse a credit record carrying any forbidden field; the message names the field."""
    for field_name, declared in fields.items():
        label = forbidden_reason(field_name)
        if label is not None:
            raise PrivacyViolation(
                f"field '{field_name}' looks like {label}, which the credit platform never collects",
                field=field_name,
            )
        category = declared if isinstance(declared, DataCategory) else parse_category(declared, field=field_name)
        # Core rules: forbidden categories never, health data only for health purposes.
        check_field(field_name, category, Purpose.CREDIT)


def check_intake_record(record_type: str, fields: Mapping[str, DataCategory | str]) -> None:
    """Refuse a record whose type or any field is of a forbidden kind."""
    label = forbidden_reason(record_type)
    if label is not None:
        raise PrivacyViolation(
            f"record type '{record_type}' is {label}, which the credit platform never collects", field="record_type"
        )
    check_intake_fields(fields)


def mask_identifier(value: str, kind: NameKind = NameKind.PERSON) -> str:
    """Mask a person's ID number for public display, keeping 4 leading and 4 trailing characters.

    '35010219800504123X' -> '3501**********123X'. A firm's unified social credit code is
    public registration data and is shown whole.
    """
    cleaned = value.strip().replace(" ", "")
    if kind is not NameKind.PERSON:
        return cleaned
    if len(cleaned) <= 4:
        return MASK * len(cleaned)
    if len(cleaned) < 12:
        return MASK * (len(cleaned) - 2) + cleaned[-2:]
    return cleaned[:4] + MASK * (len(cleaned) - 8) + cleaned[-4:]


@dataclass(frozen=True)
class PublicEntry:
    listing_id: str
    name: str
    masked_identifiers: tuple[str, ...]
    list_title: str
    issuing_agency: str
    legal_basis: str
    reasons: tuple[str, ...]
    listed_from: datetime
    listed_until: datetime
    how_to_object: str
    how_to_repair: str


def is_publicly_visible(listing: Listing, definition: ListDefinition, now: datetime) -> bool:
    return definition.is_published and listing.is_in_effect(now)


def public_entry(
    listing: Listing, definition: ListDefinition, subject: SubjectRecord, now: datetime
) -> PublicEntry | None:
    """The public view of one listing, or None when it must not be shown."""
    if subject.id != listing.subject_id or definition.code != listing.list_code:
        raise ValueError("listing, definition and subject do not belong together")
    if not is_publicly_visible(listing, definition, now):
        return None
    assert listing.effective_from is not None and listing.expires_at is not None
    return PublicEntry(
        listing_id=listing.id,
        name=subject.names[0] if subject.names else "",
        masked_identifiers=tuple(mask_identifier(i, subject.kind) for i in subject.identifiers),
        list_title=definition.title,
        issuing_agency=definition.owning_agency,
        legal_basis=definition.legal_basis,
        reasons=listing.reasons,
        listed_from=listing.effective_from,
        listed_until=listing.expires_at,
        how_to_object=(
            f"Ask {definition.owning_agency} to correct this listing if it is wrong; a reviewer answers and "
            "you may appeal."
        ),
        how_to_repair=(
            f"Exit conditions: {'; '.join(definition.exit_conditions)}. Apply for credit repair once met; "
            f"a decision is due within {definition.repair_decision_days} days."
        ),
    )


@dataclass(frozen=True)
class MonthlyFlow:
    month: str  # "2026-03"
    list_code: str
    agency: str
    added: int
    removed: int


def monthly_flows(listings: Iterable[Listing], definitions: Mapping[str, ListDefinition]) -> list[MonthlyFlow]:
    """Listings taking effect and ending, by month, list and agency (for the public chart)."""
    added: dict[tuple[str, str], int] = defaultdict(int)
    removed: dict[tuple[str, str], int] = defaultdict(int)
    for listing in listings:
        if listing.effective_from is not None:
            added[(listing.effective_from.strftime("%Y-%m"), listing.list_code)] += 1
        if listing.state in (ListingState.EXPIRED, ListingState.REPAIRED) and listing.ended_at is not None:
            removed[(listing.ended_at.strftime("%Y-%m"), listing.list_code)] += 1
    keys = sorted(set(added) | set(removed))
    return [
        MonthlyFlow(
            month, code, definitions[code].owning_agency, added.get((month, code), 0), removed.get((month, code), 0)
        )
        for month, code in keys
    ]
