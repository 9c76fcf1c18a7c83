"""Contesting a decision: subject → grounds → human review → outcome with written reasons.

An appeal is filed against a decision's receipt by the person it was about. It lands in the owning
service's review queue with a deadline (the card's ``appeal_deadline_days`` where a rule sets one,
else the ``appeal_deadline_days`` setting, default 30). A reviewer upholds
or overturns it with reasons; the outcome is a new ledger entry linked to the original, the owning
service is told (so an overturned decision is undone), and the subject sees status and reasons.
Appeals are rows in the database, committed with the request that filed them: a restart loses none.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from civicbrain.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civicbrain.core.models import Appeal, GroundTruth
from civicbrain.core.timeutil import aware

if TYPE_CHECKING:
    from civicbrain.core.context import Platform

OUTCOMES = ("upheld", "overturned")
MAX_GROUNDS = 5000


class Appeals:
    def __init__(self, ctx: Platform) -> None:
        self.ctx = ctx

    def file(self, *, receipt: str, grounds: str, person_id: str) -> Appeal:
        """File an appeal as ``person_id``, who must be the subject of the decision."""
        grounds = (grounds or "").strip()
        if not grounds:
            raise ValidationFailed("say why you contest the decision", field="grounds")
        if len(grounds) > MAX_GROUNDS:
            raise ValidationFailed(f"grounds are limited to {MAX_GROUNDS} characters", field="grounds")
        entry = self.ctx.ledger.get(receipt)
        if entry.subject_ref != self.ctx.ledger.ref(f"person:{person_id}"):
            # Same answer as a missing receipt would leak less, but the subject needs to know why.
            raise Forbidden("only the person a decision is about can contest it", field="receipt")
        if entry.kind != "automated":
            raise ValidationFailed("this entry is a review outcome, not an automated decision", field="receipt")
        if entry.mode in ("sandbox", "shadow"):
            raise ValidationFailed(
                f"this was a {entry.mode} run that took no effect on you, so there is nothing to contest",
                field="receipt",
            )
        existing = self.ctx.session.scalar(select(Appeal).where(Appeal.receipt == receipt, Appeal.status == "open"))
        if existing is not None:
            raise Conflict(f"this decision is already under review (appeal {existing.id})", field="receipt")
        now = self.ctx.now()
        card = self.ctx.register.get(entry.algorithm) if entry.algorithm in self.ctx.register else None
        days = (card.appeal_deadline_days if card else None) or self.ctx.settings.appeal_deadline_days
        appeal = Appeal(
            receipt=receipt,
            service=entry.service,
            algorithm=entry.algorithm,
            subject_ref=entry.subject_ref,
            grounds=grounds,
            status="open",
            filed_at=now,
            due_at=now + timedelta(days=days),
        )
        self.ctx.session.add(appeal)
        self.ctx.session.flush()
        return appeal

    def get(self, appeal_id: int) -> Appeal:
        appeal = self.ctx.session.get(Appeal, appeal_id)
        if appeal is None:
            raise NotFound(f"no appeal {appeal_id}", field="appeal_id")
        return appeal

    def queue(self, *, service: str | None = None, status: str | None = "open") -> list[Appeal]:
        query = select(Appeal).order_by(Appeal.due_at, Appeal.id)
        if service:
            query = query.where(Appeal.service == service)
        if status:
            query = query.where(Appeal.status == status)
        return list(self.ctx.session.scalars(query))

    def overdue(self) -> list[Appeal]:
        now = self.ctx.now()
        return [a for a in self.queue(status="open") if aware(a.due_at) < now]

    def for_receipt(self, receipt: str) -> list[Appeal]:
        return list(self.ctx.session.scalars(select(Appeal).where(Appeal.receipt == receipt).order_by(Appeal.id)))

    def for_person(self, person_id: str) -> list[Appeal]:
        ref = self.ctx.ledger.ref(f"person:{person_id}")
        return list(self.ctx.session.scalars(select(Appeal).where(Appeal.subject_ref == ref).order_by(Appeal.id)))

    def decide(self, appeal_id: int, *, outcome: str, reasons: str, reviewer: str) -> Appeal:
        """A reviewer's decision. Recorded in the ledger and passed to the owning service."""
        if outcome not in OUTCOMES:
            raise ValidationFailed("outcome must be 'upheld' or 'overturned'", field="outcome")
        reasons = (reasons or "").strip()
        if len(reasons) < 10:
            raise ValidationFailed("write the reasons for the decision (at least 10 characters)", field="reasons")
        appeal = self.get(appeal_id)
        if appeal.status != "open":
            raise Conflict(f"appeal {appeal_id} was already decided ({appeal.status})", field="appeal_id")
        receipt = self.ctx.record_human_decision(
            about=appeal.receipt,
            what="core.appeal_review",
            outcome_label=outcome,
            reasons=reasons,
            actor=reviewer,
        )
        now = self.ctx.now()
        appeal.status = outcome
        appeal.reasons = reasons
        appeal.reviewer = reviewer
        appeal.decided_at = now
        appeal.outcome_receipt = receipt.receipt
        self.ctx.session.add(
            GroundTruth(receipt=appeal.receipt, was_correct=outcome == "upheld", source="appeal", recorded_at=now)
        )
        self.ctx.session.flush()
        spec = self.ctx.runtime.services.get(appeal.service)
        if spec is not None and spec.on_appeal_decided is not None:
            spec.on_appeal_decided(self.ctx, appeal)
        return appeal
