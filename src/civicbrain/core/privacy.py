"""Data categories, the rules on them, retention, erasure and subject access.

Every field an agency feeds or a service stores is declared with a :class:`DataCategory`. The
rules are platform-wide and not configurable per service, because they are the promise the city
makes to its residents:

* **Forbidden** categories are never collected, for any purpose (the credit-platform rules the
  Nesta essays cite forbid religion, genetics, fingerprints, blood type; we add the rest of the
  GDPR Art. 9 special categories that no service here needs).
* **Purpose-bound** categories may be used only for the purposes listed: health data for health
  services, minors' data for learning.
* Every category has a **retention period** after which the purge job removes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from civicbrain.core.errors import PrivacyViolation


class DataCategory(StrEnum):
    # Ordinary categories.
    IDENTIFIER = "identifier"  # pseudonymous ids, registration numbers
    CONTACT = "contact"
    DEMOGRAPHIC = "demographic"  # age band, sex, urban/rural region (used for fairness audits)
    LOCATION = "location"
    FINANCIAL = "financial"
    ADMINISTRATIVE = "administrative"  # penalties, licences, permits, tax grades
    JUDICIAL = "judicial"  # court outcomes, enforcement
    TRAFFIC = "traffic"  # detector counts, not people
    EDUCATION = "education"
    PUBLIC_RECORD = "public_record"  # already lawfully public (company registry)
    # Purpose-bound categories.
    HEALTH = "health"
    MINOR = "minor"  # any data about a person under 18
    # Forbidden categories.
    RELIGION = "religion"  # religious or philosophical belief
    ETHNICITY = "ethnicity"
    POLITICAL_OPINION = "political_opinion"
    GENETIC = "genetic"
    BIOMETRIC = "biometric"  # fingerprints, face templates, voice prints
    BLOOD_TYPE = "blood_type"


class Purpose(StrEnum):
    TRAFFIC = "traffic"
    COURTS = "courts"
    CREDIT = "credit"
    HEALTH = "health"
    LEARNING = "learning"
    BENEFITS = "benefits"
    ADMINISTRATION = "administration"


FORBIDDEN: Mapping[DataCategory, str] = {
    DataCategory.RELIGION: "religious or philosophical belief is never collected",
    DataCategory.ETHNICITY: "ethnic origin is never collected",
    DataCategory.POLITICAL_OPINION: "political opinion is never collected",
    DataCategory.GENETIC: "genetic data is never collected",
    DataCategory.BIOMETRIC: "biometric data (fingerprints, face templates) is never collected",
    DataCategory.BLOOD_TYPE: "blood type is never collected",
}

PURPOSE_BOUND: Mapping[DataCategory, frozenset[Purpose]] = {
    DataCategory.HEALTH: frozenset({Purpose.HEALTH}),
    DataCategory.MINOR: frozenset({Purpose.LEARNING}),
}

RETENTION: Mapping[DataCategory, timedelta] = {
    DataCategory.IDENTIFIER: timedelta(days=6 * 365),
    DataCategory.CONTACT: timedelta(days=2 * 365),
    DataCategory.DEMOGRAPHIC: timedelta(days=6 * 365),
    DataCategory.LOCATION: timedelta(days=90),
    DataCategory.FINANCIAL: timedelta(days=6 * 365),
    DataCategory.ADMINISTRATIVE: timedelta(days=5 * 365),
    DataCategory.JUDICIAL: timedelta(days=5 * 365),
    DataCategory.TRAFFIC: timedelta(days=365),
    DataCategory.EDUCATION: timedelta(days=3 * 365),
    DataCategory.PUBLIC_RECORD: timedelta(days=10 * 365),
    DataCategory.HEALTH: timedelta(days=10 * 365),
    DataCategory.MINOR: timedelta(days=365),
}


def parse_category(value: str, *, field: str) -> DataCategory:
    try:
        return DataCategory(value)
    except ValueError:
        allowed = ", ".join(c.value for c in DataCategory)
        raise PrivacyViolation(
            f"field '{field}': unknown data category '{value}' (one of: {allowed})", field=field
        ) from None


def parse_purpose(value: str, *, field: str = "purpose") -> Purpose:
    try:
        return Purpose(value)
    except ValueError:
        allowed = ", ".join(p.value for p in Purpose)
        raise PrivacyViolation(f"unknown purpose '{value}' (one of: {allowed})", field=field) from None


def check_field(field: str, category: DataCategory, purpose: Purpose) -> None:
    """Refuse a forbidden category, or a purpose-bound one used for another purpose."""
    if category in FORBIDDEN:
        raise PrivacyViolation(f"field '{field}' has category '{category.value}': {FORBIDDEN[category]}", field=field)
    allowed = PURPOSE_BOUND.get(category)
    if allowed is not None and purpose not in allowed:
        names = ", ".join(sorted(p.value for p in allowed))
        raise PrivacyViolation(
            f"field '{field}' has category '{category.value}', which may be used only for: {names} "
            f"(not '{purpose.value}')",
            field=field,
        )


def check_fields(fields: Mapping[str, DataCategory | str], purpose: Purpose | str) -> None:
    """Check every declared field of a feed, a table or a decision's inputs."""
    p = purpose if isinstance(purpose, Purpose) else parse_purpose(purpose)
    for name, category in fields.items():
        cat = category if isinstance(category, DataCategory) else parse_category(category, field=name)
        check_field(name, cat, p)


@dataclass(frozen=True)
class FieldSpec:
    """A declared field: what it holds, its type, and whether it identifies the record's subject."""

    name: str
    type: str
    category: DataCategory
    required: bool = True


def retention_for(categories: Iterable[DataCategory]) -> timedelta:
    """A record is kept as long as its shortest-lived category allows (minimisation)."""
    periods = [RETENTION[c] for c in categories if c in RETENTION]
    return min(periods) if periods else timedelta(days=365)
