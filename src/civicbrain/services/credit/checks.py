"""The joint-measures check: an agency asks about a subject in one context.

The query's candidates come from the indexed name keys and identifiers of subjects with a listing
in effect (``candidates.py``), and are screened by the domain (``blocking.screen``: exact identifier
first, then names with qualifiers); then ``measures.check_subject`` applies only the
asking agency's memoranda that name this context. The answer and its evidence are recorded
through ``ctx.decide`` and in the screening trail (``credit_checks``, no personal data).

The query gets a pseudonymous key (the ledger's keyed hash of its identifier, or of its name and
birth date): the same query always has the same key, so a reviewer's "not the same person"
judgement excludes the candidate for that subject from then on, without storing who was asked about.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.errors import NotFound, ValidationFailed
from civicbrain.core.timeutil import aware
from civicbrain.services.credit.algorithms import CHECK
from civicbrain.services.credit.candidates import candidate_subjects, load_subjects
from civicbrain.services.credit.domain.blocking import CandidateIndex, screen
from civicbrain.services.credit.domain.catalogue import CITY_SCORE_TABLE
from civicbrain.services.credit.domain.listing import Listing, ListingState
from civicbrain.services.credit.domain.matching import Judgement, Matcher, SubjectRecord, normalize_identifier
from civicbrain.services.credit.domain.measures import CheckResult, check_subject
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.domain.score import ScoreResult, benefits_for
from civicbrain.services.credit.models import (
    CreditCheck,
    CreditJudgement,
    CreditList,
    CreditListing,
    CreditMemorandum,
    CreditScoreOptIn,
    CreditSubject,
)
from civicbrain.services.credit.steps import ledger_subject, record
from civicbrain.services.credit.store import definition_of, listing_of, memorandum_of, subject_record


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
        if row is None:
            return None
        return Judgement(row.query_key, row.candidate_id, row.reviewer, row.reason, aware(row.decided_at))

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


def _listings_in_force(ctx: Platform, subject_ids: list[str], now: datetime) -> dict[str, list[Listing]]:
    """The listings a check may use: in force now, for the candidates only."""
    by_subject: dict[str, list[Listing]] = defaultdict(list)
    if not subject_ids:
        return {}
    rows = ctx.session.scalars(
        select(CreditListing).where(
            CreditListing.subject_id.in_(subject_ids),
            CreditListing.state == ListingState.ACTIVE,
            CreditListing.expires_at > now,
        )
    )
    for row in rows:
        by_subject[row.subject_id].append(listing_of(row))
    return dict(by_subject)


def _score_for(ctx: Platform, query: CheckQuery) -> ScoreResult | None:
    """An opted-in resident's stored score, found only by their exact ID number: a benefit is never
    granted on a fuzzy name match."""
    if not query.identifier or query.kind is not NameKind.PERSON:
        return None
    subject = ctx.session.scalar(
        select(CreditSubject).where(
            CreditSubject.identifier == normalize_identifier(query.identifier), CreditSubject.person_id.is_not(None)
        )
    )
    if subject is None:
        return None
    opt_in = ctx.session.get(CreditScoreOptIn, subject.person_id)
    if opt_in is None or opt_in.score is None or opt_in.table_version != CITY_SCORE_TABLE.version:
        return None
    return ScoreResult(
        citizen_id=subject.person_id or "",
        table_version=opt_in.table_version,
        score=opt_in.score,
        band=opt_in.band,
        factors=(),
        reason_codes=tuple(opt_in.reason_codes),
        improvements=tuple(opt_in.improvements),
        as_of=aware(opt_in.scored_at).date() if opt_in.scored_at else ctx.now().date(),
    )


def run_check(ctx: Platform, *, query: CheckQuery, context: str, asking_agency: str, asked_by: str) -> CheckAnswer:
    now = ctx.now()
    key = query_key(ctx, query)
    record_ = SubjectRecord(
        id=key,
        kind=query.kind,
        names=(query.name.strip(),) if query.name and query.name.strip() else (),
        birth_dates=(query.birth_date,) if query.birth_date else (),
        identifiers=(query.identifier,) if query.identifier else (),
    )
    subjects = load_subjects(ctx, candidate_subjects(ctx, record_, now))
    listings_by_subject = _listings_in_force(ctx, [s.id for s in subjects], now)
    index = CandidateIndex()
    index.add_all(subject_record(s) for s in subjects)
    matches = screen(Matcher(judgements=DbJudgementStore(ctx)), index, record_) if subjects else []
    lists = {row.code: row for row in ctx.session.scalars(select(CreditList))}
    definitions = {code: definition_of(row) for code, row in lists.items()}
    memoranda = [
        memorandum_of(row, lists[row.list_code].owning_agency)
        for row in ctx.session.scalars(
            select(CreditMemorandum).where(CreditMemorandum.applying_agency == asking_agency)
        )
    ]
    score = _score_for(ctx, query)
    grant = benefits_for(CITY_SCORE_TABLE, score, context) if score is not None else None
    result = check_subject(
        record_,
        context=context,
        asking_agency=asking_agency,
        matches=matches,
        listings_by_subject=listings_by_subject,
        definitions=definitions,
        memoranda=memoranda,
        now=now,
        score_grant=grant,
    )
    decision = record(
        ctx, result.event(), CHECK, subject=_ledger_subject_of(ctx, result, key), label=result.outcome.value
    )
    ctx.session.add(
        CreditCheck(
            receipt=decision.id,
            checked_at=now,
            asking_agency=asking_agency,
            asked_by=asked_by,
            context=result.context,
            outcome=result.outcome.value,
            measures=[
                {"listing_id": m.listing_id, "measure": m.measure.code, "memorandum": m.memorandum_id}
                for m in result.measures
            ],
        )
    )
    ctx.session.flush()
    return CheckAnswer(result, decision.id, key)


def _ledger_subject_of(ctx: Platform, result: CheckResult, key: str) -> str:
    """A check that applied a measure to a resident is about that resident: they see it and can contest it."""
    for measure in result.measures:
        subject = ctx.session.get(CreditSubject, measure.match.candidate_id)
        if subject is not None:
            return ledger_subject(subject)
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
