"""Joint measures and the context-bound check.

A memorandum of understanding (the Joint Sanctions and Rewards regime) says: subjects
on list L of agency A have measure M applied by agency B *in context C*, on a stated
legal basis, with a note on why the measure is proportionate. The check answers an
agency asking about a subject in one context:

* only memoranda whose contexts include the asked context count - a listing never
  spills into contexts its memorandum did not name (EU AI Act Art. 5(1)(c): no
  detriment outside the context the data came from);
* only listings in effect now count - proposed, noticed, objected, withdrawn, expired
  and repaired listings never apply, so repair or removal propagates to every check at
  once (2026 repair rules);
* only the asking agency's own measures count - agencies that signed a memorandum apply
  measures within their own authority; an agency that signed none gets "allow";
* only subjects the matcher found the same count, and the match evidence travels with
  every applied measure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from civicbrain.core.errors import ValidationFailed
from civicbrain.services.credit.domain.contexts import normalize_context
from civicbrain.services.credit.domain.events import CreditEvent
from civicbrain.services.credit.domain.listing import ListDefinition, Listing, ListKind
from civicbrain.services.credit.domain.matching import MatchResult, SubjectRecord
from civicbrain.services.credit.domain.score import BenefitKind, ScoreGrant

CHECK_ALGORITHM = "credit-check"
# 1.1: matcher 1.1 (a birth year more than one apart rules a name match out), 10 candidates compared, and
# namesakes ranked by birth date; decisions recorded under 1.0 keep their version in the ledger.
CHECK_VERSION = "1.1"


class MeasureEffect(StrEnum):
    RESTRICT = "restrict"
    PRIORITY = "priority"


class CheckOutcome(StrEnum):
    ALLOW = "allow"
    RESTRICT = "restrict"
    PRIORITY = "priority"


@dataclass(frozen=True)
class Measure:
    code: str
    description: str
    effect: MeasureEffect


@dataclass(frozen=True)
class Memorandum:
    """List L of agency A -> measure M applied by agency B in contexts C."""

    id: str
    list_code: str
    list_agency: str
    applying_agency: str
    measure: Measure
    contexts: frozenset[str]
    legal_basis: str
    proportionality: str
    signed_on: date
    valid_until: date | None = None

    def __post_init__(self) -> None:
        if not self.contexts:
            raise ValidationFailed("a memorandum names the contexts its measure applies in", field="contexts")
        if not self.legal_basis.strip():
            raise ValidationFailed("a memorandum needs its legal basis", field="legal_basis")
        if not self.proportionality.strip():
            raise ValidationFailed("a memorandum needs a proportionality note", field="proportionality")
        object.__setattr__(self, "contexts", frozenset(normalize_context(c) for c in self.contexts))

    def covers(self, context: str, on: date) -> bool:
        in_force = self.signed_on <= on and (self.valid_until is None or on <= self.valid_until)
        return in_force and normalize_context(context) in self.contexts

    def fits(self, definition: ListDefinition) -> bool:
        """A blacklist can only carry restrictions and a redlist only priority."""
        wanted = MeasureEffect.RESTRICT if definition.kind is ListKind.BLACKLIST else MeasureEffect.PRIORITY
        return definition.code == self.list_code and self.measure.effect is wanted


@dataclass(frozen=True)
class AppliedMeasure:
    listing_id: str
    list_code: str
    list_title: str
    list_agency: str
    measure: Measure
    applying_agency: str
    memorandum_id: str
    legal_basis: str
    proportionality: str
    expires_at: datetime
    match: MatchResult

    def describe(self) -> str:
        return (
            f"{self.measure.effect.value}: {self.measure.description} (memorandum {self.memorandum_id}, "
            f"{self.legal_basis}) because of listing {self.listing_id} on '{self.list_title}' of "
            f"{self.list_agency}, until {self.expires_at:%Y-%m-%d}; match score {self.match.score:.2f}"
        )


@dataclass(frozen=True)
class CheckResult:
    query_id: str
    context: str
    asking_agency: str
    outcome: CheckOutcome
    measures: tuple[AppliedMeasure, ...]
    matches: tuple[MatchResult, ...]
    checked_at: datetime
    score_grant: ScoreGrant | None = None

    def summary(self) -> str:
        parts = [m.describe() for m in self.measures]
        if self.score_grant is not None and self.score_grant.benefits:
            parts += [
                f"city score {self.score_grant.score}: {b.description} ({b.kind.value})"
                for b in self.score_grant.benefits
            ]
        if not parts:
            return f"{self.outcome.value}: no measure applies in context '{self.context}'."
        return f"{self.outcome.value}: " + "; ".join(parts)

    def event(self) -> CreditEvent:
        """Every check is recorded: the screening audit trail."""
        return CreditEvent(
            algorithm=CHECK_ALGORITHM,
            version=CHECK_VERSION,
            action="check",
            subject=self.query_id,
            at=self.checked_at,
            actor=self.asking_agency,
            summary=self.summary(),
            outcome={
                "outcome": self.outcome,
                "score_benefits": [b.code for b in self.score_grant.benefits] if self.score_grant else [],
                "measures": [
                    {
                        "listing_id": m.listing_id,
                        "list": m.list_code,
                        "measure": m.measure.code,
                        "memorandum": m.memorandum_id,
                        "legal_basis": m.legal_basis,
                        "expires_at": m.expires_at,
                    }
                    for m in self.measures
                ],
            },
            inputs={"context": self.context, "candidates": [m.candidate_id for m in self.matches]},
            details={"matches": [m.evidence() for m in self.matches]},
        )


def check_subject(
    query: SubjectRecord,
    *,
    context: str,
    asking_agency: str,
    matches: Sequence[MatchResult],
    listings_by_subject: Mapping[str, Sequence[Listing]],
    definitions: Mapping[str, ListDefinition],
    memoranda: Sequence[Memorandum],
    now: datetime,
    score_grant: ScoreGrant | None = None,
) -> CheckResult:
    """Allow, restrict or priority for ``query`` in ``context``, with every reason.

    ``matches`` come from screening the query against the listed subjects
    (``blocking.screen``); only those with ``is_match`` count. Restrict outranks
    priority: a subject on a blacklist and a redlist is restricted in a context
    both cover, and both measures are shown. An opted-in citizen's ``score_grant``
    can only add benefits: it turns "allow" into "priority" when it carries a
    priority benefit for this context, and can never produce "restrict".
    """
    context_key = normalize_context(context)
    if not context_key:
        raise ValidationFailed("name the context of the check (e.g. 'public tender')", field="context")
    applied: list[AppliedMeasure] = []
    for match in matches:
        if not match.is_match:
            continue
        for listing in listings_by_subject.get(match.candidate_id, ()):
            if not listing.is_in_effect(now):
                continue
            definition = definitions[listing.list_code]
            assert listing.expires_at is not None
            for memo in memoranda:
                if (
                    memo.applying_agency == asking_agency
                    and memo.fits(definition)
                    and memo.covers(context_key, now.date())
                ):
                    applied.append(
                        AppliedMeasure(
                            listing_id=listing.id,
                            list_code=definition.code,
                            list_title=definition.title,
                            list_agency=definition.owning_agency,
                            measure=memo.measure,
                            applying_agency=memo.applying_agency,
                            memorandum_id=memo.id,
                            legal_basis=memo.legal_basis,
                            proportionality=memo.proportionality,
                            expires_at=listing.expires_at,
                            match=match,
                        )
                    )
    effects = {m.measure.effect for m in applied}
    if MeasureEffect.RESTRICT in effects:
        outcome = CheckOutcome.RESTRICT
    elif MeasureEffect.PRIORITY in effects or _score_gives_priority(score_grant, context_key):
        outcome = CheckOutcome.PRIORITY
    else:
        outcome = CheckOutcome.ALLOW
    return CheckResult(
        query_id=query.id,
        context=context_key,
        asking_agency=asking_agency,
        outcome=outcome,
        measures=tuple(applied),
        matches=tuple(matches),
        checked_at=now,
        score_grant=score_grant,
    )


def _score_gives_priority(grant: ScoreGrant | None, context_key: str) -> bool:
    if grant is None or grant.context != context_key:
        return False
    return any(b.kind is BenefitKind.PRIORITY for b in grant.benefits)
