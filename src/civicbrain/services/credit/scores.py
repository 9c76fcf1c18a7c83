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

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text, update

from civicbrain.core.batch import Backend, ProgressCallback, map_jobs, plan
from civicbrain.core.context import Platform, Runtime
from civicbrain.core.db import create_engine
from civicbrain.core.errors import Conflict, NotFound, ValidationFailed
from civicbrain.core.models import Feed, FeedRecord, Person
from civicbrain.core.settings import Settings
from civicbrain.services.credit.algorithms import CITY_SCORE, SCORE_CONSENT
from civicbrain.services.credit.domain.catalogue import CITY_SCORE_TABLE
from civicbrain.services.credit.domain.events import CreditEvent
from civicbrain.services.credit.domain.score import ScoreEvent, ScoreResult, compute_score
from civicbrain.services.credit.feeds import COMMENDATIONS, FEEDS, SCORE_RULE_OF_FEED
from civicbrain.services.credit.models import CreditScoreOptIn
from civicbrain.services.credit.service import subject_from_record
from civicbrain.services.credit.steps import decision_request, record


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


def _score_event(feed: str, data: dict[str, Any], source_key: str, rule_codes: set[str]) -> ScoreEvent | None:
    """What one record in a credit feed counts for in the points table, if anything."""
    if feed == COMMENDATIONS.name:
        code, on, quantity = str(data.get("kind")), data.get("occurred_on"), int(data.get("quantity") or 1)
    elif feed in SCORE_RULE_OF_FEED and data.get("outcome", "unperformed") != "performed":
        code, on, quantity = SCORE_RULE_OF_FEED[feed], data.get("decided_on"), 1
    else:
        return None
    if code in rule_codes and on:
        return ScoreEvent(code, date.fromisoformat(str(on)), f"{feed}#{source_key}", quantity)
    return None


def score_events(ctx: Platform, person_id: str) -> list[ScoreEvent]:
    """The resident's records in the credit feeds that the points table counts."""
    feeds = _credit_feeds(ctx)
    rule_codes = {rule.code for rule in CITY_SCORE_TABLE.rules}
    events = (
        _score_event(feeds[r.feed_id], r.data, r.source_key, rule_codes) for r in _records_about(ctx, person_id, feeds)
    )
    return [e for e in events if e is not None]


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
    label = _score_label(result)
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


def _score_label(result: ScoreResult) -> str:
    return "benefits_unlocked" if result.band else "no_benefit_band"


def score_chunk(ctx: Platform, person_ids: Sequence[str]) -> int:
    """Score a chunk of opted-in residents in ``ctx``'s unit of work: their records in one query, the
    published points table, every score recorded through ``ctx.decide_many`` (one ledger batch) and
    written back in one statement. The same scores, reasons and ledger entries as ``rescore``."""
    now = ctx.now()
    opted_in = set(
        ctx.session.scalars(select(CreditScoreOptIn.person_id).where(CreditScoreOptIn.person_id.in_(person_ids)))
    )
    wanted = [p for p in person_ids if p in opted_in]  # withdrawn since the job was planned: not scored
    if not wanted:
        return 0
    feeds = _credit_feeds(ctx)
    rule_codes = {rule.code for rule in CITY_SCORE_TABLE.rules}
    events: dict[str, list[ScoreEvent]] = defaultdict(list)
    records = ctx.session.execute(
        select(FeedRecord.subject_id, FeedRecord.feed_id, FeedRecord.data, FeedRecord.source_key)
        .where(FeedRecord.subject_id.in_(wanted), FeedRecord.feed_id.in_(list(feeds)))
        .order_by(FeedRecord.id)
    )
    for person_id, feed_id, data, source_key in records:
        event = _score_event(feeds[feed_id], data, source_key, rule_codes)
        if event is not None:
            events[str(person_id)].append(event)
    results = [compute_score(CITY_SCORE_TABLE, p, events[p], now.date()) for p in wanted]
    decisions = ctx.decide_many(
        [
            decision_request(r.event(now), CITY_SCORE, subject=f"person:{r.citizen_id}", label=_score_label(r))
            for r in results
        ]
    )
    ctx.session.execute(
        update(CreditScoreOptIn),
        [
            {
                "person_id": r.citizen_id,
                "score": r.score,
                "band": r.band,
                "table_version": r.table_version,
                "factors": [
                    {"rule": f.rule_code, "description": f.description, "points": f.points, "events": f.events}
                    for f in r.factors
                ],
                "reason_codes": list(r.reason_codes),
                "improvements": list(r.improvements),
                "scored_at": now,
                "receipt": d.id,
            }
            for r, d in zip(results, decisions, strict=True)
        ],
    )
    return len(results)


@dataclass(frozen=True)
class ScoringJob:
    """One ``core.batch`` job: a chunk of residents, and what a fresh process needs to reach the platform."""

    settings: Settings
    database_url: str
    search_path: str | None  # PostgreSQL: the caller's schema, which its engine may set per connection
    as_of: datetime
    person_ids: tuple[str, ...]


def run_scoring_job(job: ScoringJob) -> int:
    """Module-level job for ``core.batch.map_jobs``: its own engine and unit of work, the run's clock."""
    from civicbrain.services.credit import SERVICE

    options = {"connect_args": {"options": f"-csearch_path={job.search_path}"}} if job.search_path else {}
    engine = create_engine(job.database_url, **options)
    try:
        runtime = Runtime(job.settings, [SERVICE], engine=engine, clock=lambda: job.as_of)
        with runtime.unit(actor="system:city-score") as ctx:
            return score_chunk(ctx, job.person_ids)
    finally:
        engine.dispose()


def scoring_jobs(ctx: Platform, chunks: Sequence[tuple[str, ...]]) -> list[ScoringJob]:
    """One job per chunk, reaching the same database (and schema) as ``ctx`` at ``ctx``'s time."""
    bind = ctx.session.get_bind()
    url = bind.url.render_as_string(hide_password=False)
    path = None
    if bind.dialect.name == "postgresql":
        path = str(ctx.session.execute(text("SHOW search_path")).scalar_one()).replace(" ", "")
    return [ScoringJob(ctx.settings, url, path, ctx.now(), ids) for ids in chunks]


def rescore_all(
    ctx: Platform,
    *,
    chunk: int = 5_000,
    backend: Backend | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> int:
    """Re-score everyone who opted in (daily, or after a points-table version), through ``core.batch``.

    The residents are split into chunks of ``chunk``; each chunk is one job (``score_chunk``), run
    in-process by default, or in local processes or on a Dask cluster (``backend``, as ``core.batch``
    chooses). In-process, the chunks are scored in the caller's unit of work; elsewhere each job
    commits its own chunk, so a failed run keeps the chunks already done (a re-run scores them again).
    """
    if chunk < 1:
        raise ValidationFailed("a chunk holds at least one resident", field="chunk")
    people = list(ctx.session.scalars(select(CreditScoreOptIn.person_id).order_by(CreditScoreOptIn.person_id)))
    chunks = [tuple(people[k : k + chunk]) for k in range(0, len(people), chunk)]
    chosen = plan(backend=backend, workers=workers)
    if chosen.backend == "inline":
        done = map_jobs(lambda ids: score_chunk(ctx, ids), chunks, backend="inline", progress=progress)
    else:
        jobs = scoring_jobs(ctx, chunks)
        done = map_jobs(run_scoring_job, jobs, backend=chosen.backend, workers=chosen.workers, progress=progress)
    return sum(done)


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
