"""Subject access, erasure ("right to be forgotten") and retention purges.

The rules themselves (categories, forbidden and purpose-bound data, retention periods) are in
:mod:`civicbrain.core.privacy`; this module carries out the requests people make under them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from civicbrain.core.errors import Conflict, NotFound, ValidationFailed
from civicbrain.core.exchange import FeedSchema
from civicbrain.core.models import Appeal, ErasureRequest, Feed, FeedRecord, Person, QuarantinedRecord, User
from civicbrain.core.privacy import parse_category, retention_for
from civicbrain.core.timeutil import aware

if TYPE_CHECKING:
    from civicbrain.core.context import Platform

ERASED_NAME = "[erased]"


class PrivacyOffice:
    def __init__(self, ctx: Platform) -> None:
        self.ctx = ctx
        self.session = ctx.session

    def person(self, person_id: str) -> Person:
        person = self.session.get(Person, person_id)
        if person is None:
            raise NotFound(f"no person '{person_id}'", field="person_id")
        return person

    # --- subject access ------------------------------------------------------------------------

    def subject_access(self, person_id: str) -> dict[str, Any]:
        """Everything held about a person and every decision about them, as one JSON document."""
        person = self.person(person_id)
        subject = f"person:{person_id}"
        feeds = {f.id: f for f in self.session.scalars(select(Feed))}
        records = [
            {
                "agency": feeds[r.feed_id].agency_id,
                "feed": feeds[r.feed_id].name,
                "purpose": feeds[r.feed_id].purpose,
                "source_key": r.source_key,
                "received_at": aware(r.received_at).isoformat(),
                "data": r.data,
            }
            for r in self.ctx.exchange.records_about(person_id)
        ]
        decisions = [
            {
                "receipt": e.receipt,
                "recorded_at": aware(e.recorded_at).isoformat(),
                "kind": e.kind,
                "service": e.service,
                "algorithm": e.algorithm,
                "version": e.version,
                "mode": e.mode,
                "outcome": e.outcome_label,
                "links_to": e.links_to,
                "inputs": e.inputs,
                "explanation": e.explanation,
            }
            for e in self.ctx.ledger.for_subject(subject)
        ]
        appeals = [
            {
                "id": a.id,
                "receipt": a.receipt,
                "status": a.status,
                "grounds": a.grounds,
                "reasons": a.reasons,
                "filed_at": aware(a.filed_at).isoformat(),
                "due_at": aware(a.due_at).isoformat(),
            }
            for a in self.ctx.appeals.for_person(person_id)
        ]
        services = {
            name: spec.subject_data(self.ctx, person_id)
            for name, spec in self.ctx.runtime.services.items()
            if spec.subject_data is not None
        }
        return {
            "generated_at": self.ctx.now().isoformat(),
            "instance": self.ctx.settings.instance_name,
            "person": {
                "id": person.id,
                "name": person.name,
                "birth_year": person.birth_year,
                "region": person.region,
                "age_band": person.age_band,
                "sex": person.sex,
            },
            "records": records,
            "decisions": decisions,
            "appeals": appeals,
            "erasure_requests": [
                {
                    "id": r.id,
                    "status": r.status,
                    "requested_at": aware(r.requested_at).isoformat(),
                    "response": r.response,
                }
                for r in self.session.scalars(select(ErasureRequest).where(ErasureRequest.person_id == person_id))
            ],
            "services": services,
        }

    # --- erasure -------------------------------------------------------------------------------

    def request_erasure(self, person_id: str, reason: str) -> ErasureRequest:
        person = self.person(person_id)
        if person.erased_at is not None:
            raise Conflict("this person's data was already erased", field="person_id")
        pending = self.session.scalar(
            select(ErasureRequest).where(ErasureRequest.person_id == person_id, ErasureRequest.status == "pending")
        )
        if pending is not None:
            raise Conflict(f"an erasure request is already pending (request {pending.id})", field="person_id")
        request = ErasureRequest(
            person_id=person_id, reason=(reason or "").strip(), status="pending", requested_at=self.ctx.now()
        )
        self.session.add(request)
        self.session.flush()
        return request

    def erasure_requests(self, status: str | None = "pending") -> list[ErasureRequest]:
        query = select(ErasureRequest).order_by(ErasureRequest.id)
        if status:
            query = query.where(ErasureRequest.status == status)
        return list(self.session.scalars(query))

    def decide_erasure(self, request_id: int, *, approve: bool, by: str, response: str) -> ErasureRequest:
        """Approve (and carry out) or refuse an erasure request, with a response the person reads."""
        request = self.session.get(ErasureRequest, request_id)
        if request is None:
            raise NotFound(f"no erasure request {request_id}", field="request_id")
        if request.status != "pending":
            raise Conflict(f"erasure request {request_id} is already {request.status}", field="request_id")
        if not response or len(response.strip()) < 5:
            raise ValidationFailed("write a response to the person", field="response")
        if approve:
            open_appeals = self.session.scalar(
                select(Appeal).where(
                    Appeal.subject_ref == self.ctx.ledger.ref(f"person:{request.person_id}"),
                    Appeal.status == "open",
                )
            )
            if open_appeals is not None:
                raise Conflict("the person has an appeal under review; erase after it is decided", field="request_id")
            self.erase(request.person_id)
        request.status = "completed" if approve else "refused"
        request.decided_at = self.ctx.now()
        request.decided_by = by
        request.response = response.strip()
        self.session.flush()
        return request

    def erase(self, person_id: str) -> None:
        """Remove a person: records about them, their ledger payloads (key destroyed), services' data."""
        person = self.person(person_id)
        for spec in self.ctx.runtime.services.values():
            if spec.on_erase is not None:
                spec.on_erase(self.ctx, person_id)
        self.session.execute(delete(FeedRecord).where(FeedRecord.subject_id == person_id))
        self.ctx.ledger.forget_subject(f"person:{person_id}")
        person.name = ERASED_NAME
        person.birth_year = None
        person.region = None
        person.age_band = None
        person.sex = None
        person.erased_at = self.ctx.now()
        for user in self.session.scalars(select(User).where(User.person_id == person_id)):
            user.active = False
        self.session.flush()

    # --- retention -----------------------------------------------------------------------------

    def purge_expired(self) -> dict[str, int]:
        """Delete feed records, quarantined rows and services' data older than their categories allow."""
        now = self.ctx.now()
        removed: dict[str, int] = {}
        for feed in self.session.scalars(select(Feed)):
            schema = FeedSchema.model_validate(feed.schema)
            period = retention_for(parse_category(f.category, field=f.name) for f in schema.fields)
            cutoff = now - period
            result = self.session.execute(
                delete(FeedRecord).where(FeedRecord.feed_id == feed.id, FeedRecord.received_at < cutoff)
            )
            q = self.session.execute(
                delete(QuarantinedRecord).where(
                    QuarantinedRecord.feed_id == feed.id,
                    QuarantinedRecord.received_at < now - min(period, timedelta(days=90)),
                )
            )
            removed[f"{feed.agency_id}/{feed.name}"] = int(result.rowcount or 0) + int(q.rowcount or 0)  # type: ignore[attr-defined]
        for name, spec in self.ctx.runtime.services.items():
            if spec.purge_expired is not None:
                for kind, count in spec.purge_expired(self.ctx).items():
                    removed[f"{name}/{kind}"] = count
        self.session.flush()
        return removed
