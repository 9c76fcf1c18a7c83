"""The joint-measures check: an agency asks about a subject in one context.

The query's candidates come from the indexed name keys and identifiers of subjects with a listing
in effect (``candidates.py``: the blocking of ``blocking.screen``, run in SQL), and are compared by
the domain's ``Matcher`` (exact identifier first, then names with qualifiers); then
``measures.check_subject`` applies only the asking agency's memoranda that name this context. The
answer and its evidence are recorded through ``ctx.decide`` (``ctx.decide_many`` when the API
group-commits, ``recording.py``) and in the screening trail (``credit_checks``, no personal data).

The query gets a pseudonymous key (the ledger's keyed hash of its identifier, or of its name and
birth date): the same query always has the same key, so a reviewer's "not the same person"
judgement excludes the candidate for that subject from then on, without storing who was asked about.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, literal, select, true

from civicbrain.core.context import Platform
from civicbrain.core.errors import NotFound, ValidationFailed
from civicbrain.core.timeutil import aware
from civicbrain.services.credit.algorithms import CHECK
from civicbrain.services.credit.candidates import core_connection, listed_candidates, listing_rows
from civicbrain.services.credit.domain.catalogue import CITY_SCORE_TABLE
from civicbrain.services.credit.domain.listing import ListDefinition, Listing
from civicbrain.services.credit.domain.matching import (
    Judgement,
    Matcher,
    MatchResult,
    SubjectRecord,
    normalize_identifier,
)
from civicbrain.services.credit.domain.measures import CheckResult, Memorandum, check_subject
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.domain.score import ScoreResult, benefits_for
from civicbrain.services.credit.models import (
    CreditCheck,
    CreditJudgement,
    CreditList,
    CreditMemorandum,
    CreditScoreOptIn,
    CreditSubject,
)
from civicbrain.services.credit.steps import decision_request, ledger_subject
from civicbrain.services.credit.store import ListedSubject, definition_of, listing_of, memorandum_of, subject_record


@dataclass(frozen=True)
class CheckQuery:
    """Who is asked about: an ID number / registration code, or a name with a birth date."""

    kind: NameKind
    name: str | None = None
    identifier: str | None = None
    birth_date: str | None = None

    def __post_init__(self) -> None:
        if not (self.identifier or "").strip() and not (self.name or "").strip():
            raise ValidationFailed("give an ID number or registration code, or a name", field="name")

    def raw_key(self) -> str:
        if self.identifier and self.identifier.strip():
            return f"id:{normalize_identifier(self.identifier)}"
        name = " ".join((self.name or "").lower().split())
        return f"name:{self.kind.value}:{name}|{self.birth_date or ''}"


def _judgement_of(row: CreditJudgement | Row[Any]) -> Judgement:
    return Judgement(row.query_key, row.candidate_id, row.reviewer, row.reason, aware(row.decided_at))


class DbJudgementStore:
    """Reviewers' "not the same person" judgements, in ``credit_judgements`` (domain ``JudgementStore``)."""

    def __init__(self, ctx: Platform) -> None:
        self.ctx = ctx

    def is_excluded(self, subject_id: str, candidate_id: str) -> Judgement | None:
        row = self.ctx.session.scalar(
            select(CreditJudgement).where(
                CreditJudgement.query_key == subject_id, CreditJudgement.candidate_id == candidate_id
            )
        )
        return None if row is None else _judgement_of(row)

    def mark_not_same(self, subject_id: str, candidate_id: str, reviewer: str, reason: str) -> Judgement:
        if not reason.strip():
            raise ValidationFailed("say why this is not the same subject", field="reason")
        if self.ctx.session.get(CreditSubject, candidate_id) is None:
            raise NotFound(f"no subject '{candidate_id}'", field="candidate_id")
        found = self.is_excluded(subject_id, candidate_id)
        if found is not None:
            return found
        now = self.ctx.now()
        self.ctx.session.add(
            CreditJudgement(
                query_key=subject_id, candidate_id=candidate_id, reviewer=reviewer, reason=reason, decided_at=now
            )
        )
        self.ctx.session.flush()
        return Judgement(subject_id, candidate_id, reviewer, reason, now)


@dataclass(frozen=True)
class CheckAnswer:
    result: CheckResult
    receipt: str
    query_key: str

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "receipt": self.receipt,
            "query_key": self.query_key,
            "context": r.context,
            "asking_agency": r.asking_agency,
            "outcome": r.outcome.value,
            "summary": r.summary(),
            "measures": [
                {
                    "listing_id": m.listing_id,
                    "list": m.list_code,
                    "list_title": m.list_title,
                    "list_agency": m.list_agency,
                    "measure": m.measure.code,
                    "measure_description": m.measure.description,
                    "effect": m.measure.effect.value,
                    "applying_agency": m.applying_agency,
                    "memorandum": m.memorandum_id,
                    "legal_basis": m.legal_basis,
                    "proportionality": m.proportionality,
                    "expires_at": m.expires_at.isoformat(),
                    "match": m.match.evidence(),
                }
                for m in r.measures
            ],
            "matches": [m.evidence() for m in r.matches if m.is_match or m.excluded_by_judgement],
            "score_benefits": [
                {"code": b.code, "kind": b.kind.value, "description": b.description}
                for b in (r.score_grant.benefits if r.score_grant else ())
            ],
            "checked_at": r.checked_at.isoformat(),
        }


def query_key(ctx: Platform, query: CheckQuery) -> str:
    return ctx.ledger.ref(f"credit-query:{query.raw_key()}")


@dataclass(frozen=True)
class _Catalogue:
    stamp: tuple[int, int]
    definitions: dict[str, ListDefinition]
    memoranda: dict[str, list[Memorandum]]  # by applying agency


# Lists and memoranda change rarely and only by insertion (a change to a memorandum is a new one), so
# each process keeps them and re-reads them when their row counts change: one cheap query per check
# instead of reading and converting both tables. Keyed by engine: tests run several databases.
_CATALOGUES: dict[int, _Catalogue] = {}
_LIST_COUNT = select(func.count()).select_from(CreditList.__table__).scalar_subquery()
_MEMORANDUM_COUNT = select(func.count()).select_from(CreditMemorandum.__table__).scalar_subquery()


def _catalogue(ctx: Platform, stamp: tuple[int, int]) -> _Catalogue:
    """The lists and memoranda, from this process's cache while their row counts (``stamp``, read by
    the check) are unchanged."""
    key = id(ctx.session.get_bind())
    cached = _CATALOGUES.get(key)
    if cached is not None and cached.stamp == stamp:
        return cached
    lists = {row.code: row for row in ctx.session.scalars(select(CreditList))}
    memoranda: dict[str, list[Memorandum]] = defaultdict(list)
    for row in ctx.session.scalars(select(CreditMemorandum).order_by(CreditMemorandum.id)):
        memoranda[row.applying_agency].append(memorandum_of(row, lists[row.list_code].owning_agency))
    fresh = _Catalogue(stamp, {code: definition_of(row) for code, row in lists.items()}, dict(memoranda))
    _CATALOGUES[key] = fresh
    return fresh


class _KnownJudgements(DbJudgementStore):
    """``DbJudgementStore`` with this query's judgements read up front (by ``_read_check_context``: a
    query subject has a handful at most), instead of one query per candidate while the check ranks them."""

    def __init__(self, ctx: Platform, query_key: str, found: dict[str, Judgement]) -> None:
        super().__init__(ctx)
        self._query_key = query_key
        self._found = found

    def is_excluded(self, subject_id: str, candidate_id: str) -> Judgement | None:
        if subject_id != self._query_key:
            return super().is_excluded(subject_id, candidate_id)
        return self._found.get(candidate_id)

    def mark_not_same(self, subject_id: str, candidate_id: str, reviewer: str, reason: str) -> Judgement:
        judgement = super().mark_not_same(subject_id, candidate_id, reviewer, reason)
        if subject_id == self._query_key:
            self._found[candidate_id] = judgement
        return judgement


_JUDGEMENTS = CreditJudgement.__table__
_OPT_INS = CreditScoreOptIn.__table__
_SUBJECTS = CreditSubject.__table__
_JUDGED = (
    select(
        _JUDGEMENTS.c.query_key,
        _JUDGEMENTS.c.candidate_id,
        _JUDGEMENTS.c.reviewer,
        _JUDGEMENTS.c.reason,
        _JUDGEMENTS.c.decided_at,
    )
    .where(_JUDGEMENTS.c.query_key == bindparam("query_key"))
    .subquery("judged")
)
_SCORED = (
    select(
        _OPT_INS.c.person_id.label("score_person_id"),
        _OPT_INS.c.score.label("score_value"),
        _OPT_INS.c.band.label("score_band"),
        _OPT_INS.c.table_version.label("score_table_version"),
        _OPT_INS.c.reason_codes.label("score_reason_codes"),
        _OPT_INS.c.improvements.label("score_improvements"),
        _OPT_INS.c.scored_at.label("score_scored_at"),
    )
    .join(_SUBJECTS, _SUBJECTS.c.person_id == _OPT_INS.c.person_id)
    .where(_SUBJECTS.c.identifier == bindparam("identifier"))
    .limit(1)
    .subquery("scored")
)
_ANCHOR = select(literal(1).label("anchor")).subquery("anchor")
# What a check needs besides its candidates, in one round trip: the catalogue's stamp, this query's
# "not the same person" judgements (one row each; one row of NULLs when there are none) and, for an ID
# number, the opted-in resident's stored score (the same on every row).
_CHECK_CONTEXT = select(
    _LIST_COUNT.label("list_count"), _MEMORANDUM_COUNT.label("memorandum_count"), _JUDGED, _SCORED
).select_from(_ANCHOR.outerjoin(_JUDGED, true()).outerjoin(_SCORED, true()))


@dataclass(frozen=True)
class _CheckContext:
    stamp: tuple[int, int]
    judgements: dict[str, Judgement]  # by candidate id
    score: Row[Any] | None  # the opted-in resident's row (``score_*`` columns), by exact ID number only


def _read_check_context(ctx: Platform, key: str, query: CheckQuery) -> _CheckContext:
    # A benefit is never granted on a fuzzy name match: the score is looked up by an exact ID number.
    identifier = normalize_identifier(query.identifier) if query.identifier and query.kind is NameKind.PERSON else None
    rows = core_connection(ctx).execute(_CHECK_CONTEXT, {"query_key": key, "identifier": identifier}).all()
    judgements = {row.candidate_id: _judgement_of(row) for row in rows if row.candidate_id is not None}
    first = rows[0]
    score = first if first.score_person_id is not None else None
    return _CheckContext((int(first.list_count), int(first.memorandum_count)), judgements, score)


def _score_of(ctx: Platform, row: Row[Any] | None) -> ScoreResult | None:
    """An opted-in resident's stored score, if it was computed with the current points table."""
    if row is None or row.score_value is None or row.score_table_version != CITY_SCORE_TABLE.version:
        return None
    return ScoreResult(
        citizen_id=row.score_person_id,
        table_version=row.score_table_version,
        score=row.score_value,
        band=row.score_band,
        factors=(),
        reason_codes=tuple(row.score_reason_codes),
        improvements=tuple(row.score_improvements),
        as_of=aware(row.score_scored_at).date() if row.score_scored_at else ctx.now().date(),
    )


@dataclass(frozen=True)
class ScreenedCheck:
    """A check's answer before it is recorded: what ``record_check`` writes to the ledger and the trail."""

    result: CheckResult
    query_key: str
    ledger_subject: str
    asked_by: str
    actor: str | None


def screen_check(ctx: Platform, *, query: CheckQuery, context: str, asking_agency: str, asked_by: str) -> ScreenedCheck:
    """Screen and apply the asking agency's measures for this context; writes nothing but the
    screening index of newly listed subjects.

    A handful of queries whatever the list's size: candidates with their listings in one; the query's
    judgements, the catalogue's stamp and an opted-in resident's score in one (the catalogue itself
    from the process's cache); the matched listings' full rows.
    """
    now = ctx.now()
    key = query_key(ctx, query)
    record_ = SubjectRecord(
        id=key,
        kind=query.kind,
        names=(query.name.strip(),) if query.name and query.name.strip() else (),
        birth_dates=(query.birth_date,) if query.birth_date else (),
        identifiers=(query.identifier,) if query.identifier else (),
    )
    found = listed_candidates(ctx, record_, now)
    known = _read_check_context(ctx, key, query)
    subjects = {c.subject.id: c.subject for c in found}
    matches: list[MatchResult] = []
    if found:
        # The database already did the blocking (identifier hits, then the best-ranked names), so the
        # candidates go straight to the explained comparison, as ``blocking.screen`` hands them on.
        matcher = Matcher(judgements=_KnownJudgements(ctx, key, known.judgements))
        matches = matcher.rank(record_, [subject_record(c.subject) for c in found], limit=len(found))
    # Only a match's listings can apply: only theirs are read in full and converted to domain values.
    matched = {m.candidate_id for m in matches if m.is_match}
    wanted = [listing_id for c in found if c.subject.id in matched for listing_id in c.listing_ids]
    listings_by_subject: dict[str, list[Listing]] = defaultdict(list)
    for row in listing_rows(ctx, wanted):
        listings_by_subject[row.subject_id].append(listing_of(row))
    catalogue = _catalogue(ctx, known.stamp)
    score = _score_of(ctx, known.score)
    grant = benefits_for(CITY_SCORE_TABLE, score, context) if score is not None else None
    result = check_subject(
        record_,
        context=context,
        asking_agency=asking_agency,
        matches=matches,
        listings_by_subject=listings_by_subject,
        definitions=catalogue.definitions,
        memoranda=catalogue.memoranda.get(asking_agency, []),
        now=now,
        score_grant=grant,
    )
    return ScreenedCheck(result, key, _ledger_subject_of(subjects, result, key), asked_by, ctx.actor)


def record_checks(ctx: Platform, screened: list[ScreenedCheck]) -> list[CheckAnswer]:
    """Record screened checks through ``ctx.decide_many`` (each checked as ``ctx.decide`` checks it) and
    in the screening trail, in ``ctx``'s unit of work; each entry names the officer who asked."""
    requests = [
        decision_request(s.result.event(), CHECK, subject=s.ledger_subject, label=s.result.outcome.value, actor=s.actor)
        for s in screened
    ]
    decisions = ctx.decide_many(requests)
    trail = [
        {
            "receipt": decision.id,
            "checked_at": s.result.checked_at,
            "asking_agency": s.result.asking_agency,
            "asked_by": s.asked_by,
            "context": s.result.context,
            "outcome": s.result.outcome.value,
            "measures": [
                {"listing_id": m.listing_id, "measure": m.measure.code, "memorandum": m.memorandum_id}
                for m in s.result.measures
            ],
        }
        for s, decision in zip(screened, decisions, strict=True)
    ]
    _write_trail(ctx, trail)
    return [CheckAnswer(s.result, d.id, s.query_key) for s, d in zip(screened, decisions, strict=True)]


_TRAIL_COLUMNS = ("receipt", "checked_at", "asking_agency", "asked_by", "context", "outcome", "measures")
_INSERT_TRAIL = insert(CreditCheck.__table__)
# On PostgreSQL the trail rows go through the driver in one batch: SQLAlchemy's per-call work (and the
# RETURNING of ids nobody reads) cost more than the insert. ``measures`` is JSON text, as SQLAlchemy's
# JSON type would have written it (``json.dumps``).
_INSERT_TRAIL_POSTGRES = (
    f"INSERT INTO credit_checks ({', '.join(_TRAIL_COLUMNS)}) "
    f"VALUES ({', '.join('%(' + c + ')s' for c in _TRAIL_COLUMNS[:-1])}, %(measures)s::json)"
)


def _write_trail(ctx: Platform, trail: list[dict[str, Any]]) -> None:
    connection = core_connection(ctx)
    if connection.dialect.name != "postgresql":
        connection.execute(_INSERT_TRAIL, trail)
        return
    rows = [{**row, "measures": json.dumps(row["measures"])} for row in trail]
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.executemany(_INSERT_TRAIL_POSTGRES, rows)


def record_check(ctx: Platform, screened: ScreenedCheck) -> CheckAnswer:
    return record_checks(ctx, [screened])[0]


def run_check(ctx: Platform, *, query: CheckQuery, context: str, asking_agency: str, asked_by: str) -> CheckAnswer:
    """Screen, apply the asking agency's measures for this context, record the answer (one unit of work)."""
    screened = screen_check(ctx, query=query, context=context, asking_agency=asking_agency, asked_by=asked_by)
    answer = record_check(ctx, screened)
    ctx.session.flush()
    return answer


def _ledger_subject_of(subjects: dict[str, ListedSubject], result: CheckResult, key: str) -> str:
    """A check that applied a measure to a resident is about that resident: they see it and can contest it."""
    for measure in result.measures:
        subject = subjects.get(measure.match.candidate_id)
        if subject is not None:  # a transient row, never added to the session: the rule reads two columns
            return ledger_subject(CreditSubject(id=subject.id, person_id=subject.person_id))
    return f"credit-query:{key}"


def mark_not_same(ctx: Platform, *, receipt: str, candidate_id: str, reviewer: str, reason: str) -> Judgement:
    """A reviewer judges that a check's candidate is not the queried subject; recorded against the check."""
    check = ctx.session.scalar(select(CreditCheck).where(CreditCheck.receipt == receipt))
    if check is None:
        raise NotFound(f"no check with receipt '{receipt}'", field="receipt")
    entry = ctx.ledger.get(receipt)
    candidates = entry.inputs.get("candidates", []) if entry.payload else []
    if candidate_id not in candidates:
        raise ValidationFailed(f"'{candidate_id}' was not a candidate in this check", field="candidate_id")
    key = str(entry.explanation.get("matches", [{}])[0].get("query", "")) if entry.payload else ""
    if not key:
        raise ValidationFailed("this check's evidence is no longer held", field="receipt")
    judgement = DbJudgementStore(ctx).mark_not_same(key, candidate_id, reviewer, reason)
    ctx.record_human_decision(
        about=receipt,
        what="credit.not_same_subject",
        outcome_label="not_same_subject",
        reasons=f"{candidate_id} is not the subject asked about: {reason}",
        actor=reviewer,
    )
    return judgement
