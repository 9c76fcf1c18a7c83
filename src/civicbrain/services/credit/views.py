"""JSON shapes shared by the API, the CLI and the pages (one place, so they cannot drift)."""

from __future__ import annotations

from typing import Any

from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.domain.public import mask_identifier
from civicbrain.services.credit.models import CreditList, CreditListing, CreditMemorandum, CreditSubject


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def list_view(row: CreditList) -> dict[str, Any]:
    return {
        "code": row.code,
        "title": row.title,
        "owning_agency": row.owning_agency,
        "legal_basis": row.legal_basis,
        "criteria": row.criteria,
        "kind": row.kind,
        "tier": row.tier,
        "max_duration_months": row.max_duration_months,
        "exit_conditions": row.exit_conditions,
        "objection_window_days": row.objection_window_days,
        "objection_answer_days": row.objection_answer_days,
        "repair_decision_days": row.repair_decision_days,
    }


def memorandum_view(row: CreditMemorandum) -> dict[str, Any]:
    return {
        "id": row.id,
        "list": row.list_code,
        "applying_agency": row.applying_agency,
        "measure": row.measure_code,
        "measure_description": row.measure_description,
        "effect": row.effect,
        "contexts": row.contexts,
        "legal_basis": row.legal_basis,
        "proportionality": row.proportionality,
        "signed_on": row.signed_on.isoformat(),
        "valid_until": _iso(row.valid_until),
    }


def subject_view(row: CreditSubject, *, masked: bool = True) -> dict[str, Any]:
    identifier = row.identifier
    if identifier and masked:
        identifier = mask_identifier(identifier, NameKind(row.kind))
    return {"id": row.id, "kind": row.kind, "name": row.name, "identifier": identifier}


def listing_view(row: CreditListing, subject: CreditSubject | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "list": row.list_code,
        "subject": subject_view(subject) if subject is not None else row.subject_id,
        "state": row.state,
        "reasons": row.reasons,
        "facts": row.facts,
        "duration_months": row.duration_months,
        "proposed_at": _iso(row.proposed_at),
        "proposed_by": row.proposed_by,
        "notice": row.notice,
        "notice_receipt": row.notice_receipt,
        "objection": row.objection,
        "appeal_id": row.appeal_id,
        "effective_from": _iso(row.effective_from),
        "expires_at": _iso(row.expires_at),
        "ended_at": _iso(row.ended_at),
        "repair": row.repair,
        "corrections": row.corrections,
        "origin_instance": row.origin_instance,
    }
