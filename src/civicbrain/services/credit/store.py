"""Rows <-> domain values: the domain's immutable dataclasses are stored as columns and JSON.

Datetimes inside JSON are ISO 8601 strings; SQLite hands naive datetimes back for columns, so
every datetime read here goes through ``aware`` (the platform is UTC throughout).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from civicbrain.core.timeutil import aware
from civicbrain.services.credit.domain.listing import (
    CorrectionRequest,
    ListDefinition,
    Listing,
    ListingState,
    ListKind,
    Notice,
    Objection,
    RepairApplication,
    SeverityTier,
)
from civicbrain.services.credit.domain.matching import SubjectRecord, normalize_identifier
from civicbrain.services.credit.domain.measures import Measure, MeasureEffect, Memorandum
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.models import CreditList, CreditListing, CreditMemorandum, CreditSubject

_NOTICE_TIMES = ("objection_deadline", "sent_at")
_OBJECTION_TIMES = ("lodged_at", "answer_due", "decided_at")
_REPAIR_TIMES = ("applied_at", "decision_due", "decided_at")


def _when(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


def _to_json(value: Any, times: tuple[str, ...]) -> dict[str, Any] | None:
    if value is None:
        return None
    data = asdict(value)
    for key in times:
        if data.get(key) is not None:
            data[key] = aware(data[key]).isoformat()
    for key, item in data.items():
        if isinstance(item, tuple):
            data[key] = list(item)
    return data


def _from_json(data: dict[str, Any] | None, times: tuple[str, ...]) -> dict[str, Any] | None:
    if data is None:
        return None
    out = dict(data)
    for key in times:
        if out.get(key) is not None:
            out[key] = aware(datetime.fromisoformat(out[key]))
    for key, item in out.items():
        if isinstance(item, list):
            out[key] = tuple(item)
    return out


# --- lists and memoranda ------------------------------------------------------------------------


def definition_of(row: CreditList) -> ListDefinition:
    return ListDefinition(
        code=row.code,
        title=row.title,
        owning_agency=row.owning_agency,
        legal_basis=row.legal_basis,
        criteria=tuple(row.criteria),
        kind=ListKind(row.kind),
        tier=SeverityTier(row.tier),
        max_duration_months=row.max_duration_months,
        exit_conditions=tuple(row.exit_conditions),
        objection_window_days=row.objection_window_days,
        objection_answer_days=row.objection_answer_days,
        repair_decision_days=row.repair_decision_days,
        published=row.published,
    )


def list_row(definition: ListDefinition) -> CreditList:
    return CreditList(
        code=definition.code,
        title=definition.title,
        owning_agency=definition.owning_agency,
        legal_basis=definition.legal_basis,
        criteria=list(definition.criteria),
        kind=definition.kind.value,
        tier=definition.tier.value,
        max_duration_months=definition.max_duration_months,
        exit_conditions=list(definition.exit_conditions),
        objection_window_days=definition.objection_window_days,
        objection_answer_days=definition.objection_answer_days,
        repair_decision_days=definition.repair_decision_days,
        published=definition.published,
    )


def memorandum_of(row: CreditMemorandum, list_agency: str) -> Memorandum:
    return Memorandum(
        id=row.id,
        list_code=row.list_code,
        list_agency=list_agency,
        applying_agency=row.applying_agency,
        measure=Measure(row.measure_code, row.measure_description, MeasureEffect(row.effect)),
        contexts=frozenset(row.contexts),
        legal_basis=row.legal_basis,
        proportionality=row.proportionality,
        signed_on=row.signed_on,
        valid_until=row.valid_until,
    )


def memorandum_row(memo: Memorandum) -> CreditMemorandum:
    return CreditMemorandum(
        id=memo.id,
        list_code=memo.list_code,
        applying_agency=memo.applying_agency,
        measure_code=memo.measure.code,
        measure_description=memo.measure.description,
        effect=memo.measure.effect.value,
        contexts=sorted(memo.contexts),
        legal_basis=memo.legal_basis,
        proportionality=memo.proportionality,
        signed_on=memo.signed_on,
        valid_until=memo.valid_until,
    )


# --- subjects -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedSubject:
    """The columns of a subject that a check compares and records, read as a plain row: no ORM
    object, none of its listings' JSON (most candidates are compared and dropped)."""

    id: str
    kind: str
    name: str
    aliases: tuple[str, ...]
    birth_date: str | None
    country: str | None
    identifier: str | None
    person_id: str | None


def subject_record(row: CreditSubject | ListedSubject) -> SubjectRecord:
    return SubjectRecord(
        id=row.id,
        kind=NameKind(row.kind),
        names=(row.name, *[a for a in row.aliases if a != row.name]),
        birth_dates=(row.birth_date,) if row.birth_date else (),
        countries=(row.country,) if row.country else (),
        identifiers=(row.identifier,) if row.identifier else (),
    )


def subject_id_for(kind: NameKind, identifier: str | None, name: str, birth_date: str | None) -> str:
    """A stable id: the identifier when there is one, else the name and birth date."""
    if identifier:
        return f"{kind.value}-{normalize_identifier(identifier)}"
    key = "-".join(name.lower().split()) + (f"-{birth_date}" if birth_date else "")
    return f"{kind.value}-{key}"[:100]


# --- listings -----------------------------------------------------------------------------------


def listing_of(row: CreditListing | Row[Any]) -> Listing:
    """The domain's listing from its ORM row or a Core row of ``credit_listings`` (same column names)."""
    notice = _from_json(row.notice, _NOTICE_TIMES)
    objection = _from_json(row.objection, _OBJECTION_TIMES)
    repair = _from_json(row.repair, _REPAIR_TIMES)
    return Listing(
        id=row.id,
        list_code=row.list_code,
        subject_id=row.subject_id,
        reasons=tuple(row.reasons),
        facts=tuple(row.facts),
        duration_months=row.duration_months,
        proposed_at=aware(row.proposed_at),
        proposed_by=row.proposed_by,
        state=ListingState(row.state),
        notice=Notice(**notice) if notice else None,
        objection=Objection(**objection) if objection else None,
        effective_from=_when(row.effective_from),
        expires_at=_when(row.expires_at),
        ended_at=_when(row.ended_at),
        repair=RepairApplication(**repair) if repair else None,
        corrections=tuple(
            CorrectionRequest(**{**c, "requested_at": aware(datetime.fromisoformat(c["requested_at"]))})
            for c in row.corrections
        ),
    )


def write_listing(row: CreditListing, listing: Listing, now: datetime) -> None:
    """Copy a transition's result onto its row (the domain returns a new value each step)."""
    row.state = listing.state.value
    row.reasons = list(listing.reasons)
    row.facts = list(listing.facts)
    row.duration_months = listing.duration_months
    row.notice = _to_json(listing.notice, _NOTICE_TIMES)
    row.objection = _to_json(listing.objection, _OBJECTION_TIMES)
    row.repair = _to_json(listing.repair, _REPAIR_TIMES)
    row.corrections = [{**asdict(c), "requested_at": aware(c.requested_at).isoformat()} for c in listing.corrections]
    row.effective_from = listing.effective_from
    row.expires_at = listing.expires_at
    row.ended_at = listing.ended_at
    row.updated_at = now


def new_listing_row(listing: Listing, origin_instance: str, now: datetime) -> CreditListing:
    row = CreditListing(
        id=listing.id,
        list_code=listing.list_code,
        subject_id=listing.subject_id,
        proposed_at=listing.proposed_at,
        proposed_by=listing.proposed_by,
        origin_instance=origin_instance,
    )
    write_listing(row, listing, now)
    return row
