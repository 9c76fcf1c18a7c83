"""Turning core objects into the JSON the API returns, with each role's view of a decision."""

from __future__ import annotations

from typing import Any

from civicbrain.core.identity import Principal, Role
from civicbrain.core.ledger import EntryView
from civicbrain.core.models import Appeal, Feed, QuarantinedRecord
from civicbrain.core.register import AlgorithmCard
from civicbrain.core.timeutil import aware


def decision_view(entry: EntryView, card: AlgorithmCard | None, principal: Principal) -> dict[str, Any]:
    """What a role may see of a decision: auditors and officers see no personal inputs."""
    body: dict[str, Any] = {
        "receipt": entry.receipt,
        "seq": entry.seq,
        "entry_hash": entry.entry_hash,
        "recorded_at": aware(entry.recorded_at).isoformat(),
        "kind": entry.kind,
        "service": entry.service,
        "algorithm": entry.algorithm,
        "algorithm_title": card.title if card else entry.algorithm,
        "version": entry.version,
        "mode": entry.mode,
        "takes_effect": entry.mode == "live",
        "outcome": entry.outcome_label,
        "links_to": entry.links_to,
        "erased": entry.erased,
        "explanation": entry.explanation if not entry.erased else None,
        "human_oversight": card.human_oversight if card else None,
    }
    if principal.role in (Role.CITIZEN, Role.REVIEWER, Role.ADMIN) and not entry.erased:
        body["inputs"] = entry.inputs
        body["outcome_detail"] = entry.outcome
    return body


def appeal_view(appeal: Appeal) -> dict[str, Any]:
    return {
        "id": appeal.id,
        "receipt": appeal.receipt,
        "service": appeal.service,
        "algorithm": appeal.algorithm,
        "grounds": appeal.grounds,
        "status": appeal.status,
        "filed_at": aware(appeal.filed_at).isoformat(),
        "due_at": aware(appeal.due_at).isoformat(),
        "reviewer": appeal.reviewer,
        "reasons": appeal.reasons,
        "decided_at": aware(appeal.decided_at).isoformat() if appeal.decided_at else None,
        "outcome_receipt": appeal.outcome_receipt,
    }


def feed_view(feed: Feed) -> dict[str, Any]:
    return {
        "id": feed.id,
        "agency": feed.agency_id,
        "name": feed.name,
        "purpose": feed.purpose,
        "description": feed.description,
        "schema": feed.schema,
    }


def quarantine_view(row: QuarantinedRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "feed_id": row.feed_id,
        "upload_id": row.upload_id,
        "row_number": row.row_number,
        "raw": row.raw,
        "reasons": row.reasons,
        "status": row.status,
        "received_at": aware(row.received_at).isoformat(),
    }


def card_view(card: AlgorithmCard, figures: dict[str, Any] | None = None) -> dict[str, Any]:
    body = card.model_dump(mode="json")
    body["inputs"] = {k: v.value for k, v in card.inputs.items()}
    if figures is not None:
        body["live_figures"] = figures
    return body
