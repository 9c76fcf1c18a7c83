"""What the health service holds about a person: subject access, erasure, and appeal outcomes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from civicbrain.core.context import Platform
from civicbrain.core.models import Appeal
from civicbrain.core.privacy import RETENTION, DataCategory
from civicbrain.services.health import consultations, pool, wearable_alerts
from civicbrain.services.health.algorithms import POOL_CLAIM_CHECKS
from civicbrain.services.health.models import (
    ClinicianReview,
    Consultation,
    PoolClaim,
    PoolDocument,
    PoolObjection,
    WearableAlert,
    WearableConsent,
)


def subject_data(ctx: Platform, person_id: str) -> dict[str, Any]:
    """Everything this service holds about the person, as JSON."""
    held: dict[str, Any] = {"consultations": [], "pool": None, "wearables": None}
    for row in consultations.for_patient(ctx, person_id):
        review = consultations.review_of(ctx, row.id)
        held["consultations"].append(
            {
                "id": row.id,
                "state": row.state,
                "consent_given_at": row.consent_given_at.isoformat(),
                "consent_version": row.consent_version,
                "age": row.age,
                "sex": row.sex,
                "first_complaint": row.initial_evidence,
                "answers": row.answers,
                "urgency": row.urgency,
                "summary": row.summary,
                "receipt": row.receipt,
                "clinician_review": (
                    {
                        "outcome": review.outcome,
                        "diagnosis": review.diagnosis,
                        "urgency": review.urgency,
                        "notes": review.notes,
                        "receipt": review.receipt,
                    }
                    if review
                    else None
                ),
            }
        )
    member = pool.member_of(ctx, person_id)
    if member is not None:
        held["pool"] = {
            "member_id": member.id,
            "joined_on": member.joined_on.isoformat(),
            "claims": [
                {
                    "id": c.id,
                    "illness": c.illness,
                    "amount": c.amount,
                    "status": c.status,
                    "checks": c.checks,
                    "documents": [{"name": d.name, "sha256": d.sha256} for d in _documents(ctx, c.id)],
                }
                for c in pool.claims_of(ctx, member)
            ],
            "objections_raised": [
                {"claim_id": o.claim_id, "reason": o.reason, "raised_on": o.raised_on.isoformat()}
                for o in ctx.session.scalars(select(PoolObjection).where(PoolObjection.member_id == member.id))
            ],
            "statements": pool.statements(ctx, member),
        }
    consent = ctx.session.get(WearableConsent, person_id)
    if consent is not None:
        held["wearables"] = {
            "consented_at": consent.consented_at.isoformat(),
            "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
            "sensitivity": consent.sensitivity,
            "alerts": [wearable_alerts.alert_view(a) for a in wearable_alerts.alerts_of(ctx, person_id)],
        }
    return held


def _documents(ctx: Platform, claim_id: str) -> list[PoolDocument]:
    return list(ctx.session.scalars(select(PoolDocument).where(PoolDocument.claim_id == claim_id)))


def on_erase(ctx: Platform, person_id: str) -> None:
    """Remove the person's consultations, reviews, wearable data and pool claims' personal details.

    A paid claim stays in the pool's accounts (other members' statements list it), but no longer points to
    anyone: its member row is kept under its random id, the link to the person is dropped, and its
    documents' hashes and the objections' free text are deleted.
    """
    ids = list(ctx.session.scalars(select(Consultation.id).where(Consultation.person_id == person_id)))
    if ids:
        ctx.session.execute(delete(ClinicianReview).where(ClinicianReview.consultation_id.in_(ids)))
        ctx.session.execute(delete(Consultation).where(Consultation.id.in_(ids)))
        for consultation_id in ids:
            consultations.forget_dialogue(consultation_id)
    ctx.session.execute(delete(WearableAlert).where(WearableAlert.person_id == person_id))
    ctx.session.execute(delete(WearableConsent).where(WearableConsent.person_id == person_id))
    member = pool.member_of(ctx, person_id)
    if member is not None:
        claim_ids = list(ctx.session.scalars(select(PoolClaim.id).where(PoolClaim.member_id == member.id)))
        if claim_ids:
            ctx.session.execute(delete(PoolDocument).where(PoolDocument.claim_id.in_(claim_ids)))
        ctx.session.execute(delete(PoolObjection).where(PoolObjection.member_id == member.id))
        member.person_id = f"erased:{member.id}"
    ctx.session.flush()


def purge_expired(ctx: Platform) -> dict[str, int]:
    """Delete consultations and wearable alerts older than the health retention period (core privacy rules).

    The pool's accounts are kept: other members' statements are built from them.
    """
    cutoff = ctx.now() - RETENTION[DataCategory.HEALTH]
    old = list(ctx.session.scalars(select(Consultation.id).where(Consultation.started_at < cutoff)))
    if old:
        ctx.session.execute(delete(ClinicianReview).where(ClinicianReview.consultation_id.in_(old)))
        ctx.session.execute(delete(Consultation).where(Consultation.id.in_(old)))
        for consultation_id in old:
            consultations.forget_dialogue(consultation_id)
    alerts = ctx.session.execute(delete(WearableAlert).where(WearableAlert.raised_at < cutoff))
    ctx.session.flush()
    return {"consultations": len(old), "wearable_alerts": int(alerts.rowcount or 0)}  # type: ignore[attr-defined]


def on_appeal_decided(ctx: Platform, appeal: Appeal) -> None:
    """Only the pool's claim refusals have an effect to undo; the AI doctor and alerts are advisory."""
    if appeal.algorithm == POOL_CLAIM_CHECKS.id:
        pool.on_checks_appeal_decided(ctx, appeal)
