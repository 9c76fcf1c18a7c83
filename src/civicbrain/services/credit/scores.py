"""The opt-in city score: consent, scoring from exchange records, withdrawal that deletes.

Only residents who opted in are scored (``credit_score_optins`` is the consent register); their
records come from the exchange (commendations from Civil Affairs, penalties, unperformed court
obligations). Each score is a ``ctx.decide`` under the ``credit.city_score`` card with its reason
codes and what would raise it. Withdrawal deletes the row - score, factors and reasons - and is
recorded, so the ledger shows the choice and nothing of the deleted score remains outside it.

The score reaches the check only as ``benefits_for`` in its own contexts (see ``checks.py``): it
has no way to restrict (``domain.score``: ``BenefitKind`` has no restrictive member).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.errors import Conflict, NotFound
from civicbrain.core.models import Feed, FeedRecord, Person
from civicbrain.services.credit.algorithms import CITY_SCORE, SCORE_CONSENT
from civicbrain.services.credit.domain.catalogue import CITY_SCORE_TABLE
from civicbrain.services.credit.domain.events import CreditEvent
from civicbrain.services.credit.domain.score import ScoreEvent, ScoreResult, compute_score
from civicbrain.services.credit.feeds import COMMENDATIONS, FEEDS, SCORE_RULE_OF_FEED
from civicbrain.services.credit.models import CreditScoreOptIn
from civicbrain.services.credit.service import subject_from_record
from civicbrain.services.credit.steps import record


def _credit_feeds(ctx: Platform) -> dict[int, str]:
    query = select(Feed).where(Feed.name.in_([spec.name for spec in FEEDS]), Feed.purpose == "credit")
    return {f.id: f.name for f in ctx.session.scalars(query)}


def _records_about(ctx: Platform, person_id: str, feeds: dict[int, str]) -> list[FeedRecord]:
    query = select(FeedRecord).where(FeedRecord.subject_id == person_id, FeedRecord.feed_id.in_(list(feeds)))
    return list(ctx.session.scalars(query.order_by(FeedRecord.id)))


def register_resident(ctx: Platform, person_id: str) -> None:
    """Make an opted-in resident a credit subject (from a record naming their ID number), so an
    agency's check by ID number can find the benefits their score unlocks."""
    for row in _records_about(ctx, person_id, _credit_feeds(ctx)):
        if row.data.get("id_number"):
            subject_from_record(ctx, row.data)
            return


def score_events(ctx: Platform, person_id: str) -> list[ScoreEvent]:
    """The resident's records in the credit feeds that the points table counts."""
    feeds = _credit_feeds(ctx)
    rule_codes = {rule.code for rule in CITY_SCORE_TABLE.rules}
    events: list[ScoreEvent] = []
    for row in _records_about(ctx, person_id, feeds):
        feed = feeds[row.feed_id]
        data = row.data
        if feed == COMMENDATIONS.name:
            code, on, quantity = str(data.get("kind")), data.get("occurred_on"), int(data.get("quantity") or 1)
        elif feed in SCORE_RULE_OF_FEED and data.get("outcome", "unperformed") != "performed":
            code, on, quantity = SCORE_RULE_OF_FEED[feed], data.get("decided_on"), 1
        else:
            continue
        if code in rule_codes and on:
            events.append(ScoreEvent(code, date.fromisoformat(str(on)), f"{feed}#{row.source_key}", quantity))
    return events


def _consent_event(person_id: str, action: str, at: Any, summary: str) -> CreditEvent:
    return CreditEvent(
        algorithm="credit-city-score",
        version="consent",
        action=action,
        subject=person_id,
        at=at,
        actor=f"person:{person_id}",
        summary=summary,
    )


def opt_in(ctx: Platform, person_id: str) -> CreditScoreOptIn:
    if ctx.session.get(Person, person_id) is None:
        raise NotFound(f"no resident '{person_id}'", field="person_id")
    if ctx.session.get(CreditScoreOptIn, person_id) is not None:
        raise Conflict("you have already opted in to the city score", field="person_id")
    now = ctx.now()
    row = CreditScoreOptIn(person_id=person_id, opted_in_at=now, factors=[], reason_codes=[], improvements=[])
    ctx.session.add(row)
    event = _consent_event(
        person_id,
        "opted_in",
        now,
        "Opted in to the city score; you can withdraw at any time and the score is then deleted.",
    )
    record(ctx, event, SCORE_CONSENT, subject=f"person:{person_id}", label="opted_in")
    register_resident(ctx, person_id)
    rescore(ctx, person_id)
    return row


def withdraw(ctx: Platform, person_id: str) -> None:
    row = ctx.session.get(CreditScoreOptIn, person_id)
    if row is None:
        raise NotFound("you have not opted in to the city score", field="person_id")
    ctx.session.delete(row)
    event = _consent_event(
        person_id,
        "withdrawn_score_deleted",
        ctx.now(),
        "Withdrew from the city score; the score and its factors are deleted.",
    )
    record(ctx, event, SCORE_CONSENT, subject=f"person:{person_id}", label="withdrawn")
    ctx.session.flush()


def rescore(ctx: Platform, person_id: str) -> ScoreResult:
    row = ctx.session.get(CreditScoreOptIn, person_id)
    if row is None:
        raise NotFound("the city score is computed only for residents who opted in", field="person_id")
    now = ctx.now()
    result = compute_score(CITY_SCORE_TABLE, person_id, score_events(ctx, person_id), now.date())
    label = "benefits_unlocked" if result.band else "no_benefit_band"
    decision = record(ctx, result.event(now), CITY_SCORE, subject=f"person:{person_id}", label=label)
    row.score = result.score
    row.band = result.band
    row.table_version = result.table_version
    row.factors = [
        {"rule": f.rule_code, "description": f.description, "points": f.points, "events": f.events}
        for f in result.factors
    ]
    row.reason_codes = list(result.reason_codes)
    row.improvements = list(result.improvements)
    row.scored_at = now
    row.receipt = decision.id
    ctx.session.flush()
    return result


def rescore_all(ctx: Platform) -> int:
    """Re-score everyone who opted in (daily, or after a points-table version)."""
    people = list(ctx.session.scalars(select(CreditScoreOptIn.person_id).order_by(CreditScoreOptIn.person_id)))
    for person_id in people:
        rescore(ctx, person_id)
    return len(people)


def score_view(row: CreditScoreOptIn) -> dict[str, Any]:
    benefits = [
        {"band": band.name, "code": b.code, "description": b.description, "context": b.context, "kind": b.kind.value}
        for band in CITY_SCORE_TABLE.bands
        if row.score is not None and row.score >= band.min_score
        for b in band.benefits
    ]
    return {
        "person_id": row.person_id,
        "score": row.score,
        "band": row.band,
        "table_version": row.table_version,
        "factors": row.factors,
        "reason_codes": row.reason_codes,
        "improvements": row.improvements,
        "benefits": benefits,
        "receipt": row.receipt,
        "opted_in_at": row.opted_in_at.isoformat(),
    }
