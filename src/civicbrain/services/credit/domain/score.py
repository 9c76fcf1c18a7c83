"""The opt-in city score (0-1000), after Xiamen's Bailu and Fuzhou's Moli scores, made lawful.

* Voluntary: computed only for a citizen who opted in; withdrawal deletes it
  (``OptInRegister``). Nobody is scored by default.
* Published: a versioned ``PointsTable`` (its ``card_payload`` goes on the AlgorithmCard)
  says what earns and what costs points, with yearly caps; a legal violation costs at
  most 150 points per offence and stops counting after the look-back window.
* Explained: every score lists its factors, the reason codes (what earned and what cost
  the most) and what would raise it.
* Benefits only, in their own contexts: a band at 600+ names benefits (deposit-free,
  discounted, priority), each bound to one context. The types carry no way to restrict:
  ``BenefitKind`` has no restrictive member and ``ScoreGrant`` only lists benefits, so
  a low score is exactly as good as no score (EU AI Act Art. 5(1)(c)).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from civicbrain.core.errors import Forbidden, ValidationFailed
from civicbrain.services.credit.domain.contexts import normalize_context
from civicbrain.services.credit.domain.events import CreditEvent
from civicbrain.services.credit.domain.listing import add_months

SCORE_ALGORITHM = "credit-city-score"
MIN_SCORE, MAX_SCORE = 0, 1000
MAX_POINTS_PER_OFFENCE = 150
BENEFIT_FLOOR = 600  # benefits start at 600 (Bailu/Moli)


class BenefitKind(StrEnum):
    """What a score can do for a citizen. Deliberately no restrictive member."""

    DEPOSIT_FREE = "deposit_free"
    DISCOUNT = "discount"
    PRIORITY = "priority"


class RuleKind(StrEnum):
    EARN = "earn"
    VIOLATION = "violation"


@dataclass(frozen=True)
class Benefit:
    code: str
    description: str
    kind: BenefitKind
    context: str
    provider: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", normalize_context(self.context))


@dataclass(frozen=True)
class Band:
    name: str
    min_score: int
    benefits: tuple[Benefit, ...]


@dataclass(frozen=True)
class PointsRule:
    code: str
    description: str
    kind: RuleKind
    points: int  # per event; negative for violations
    yearly_cap: int | None = None  # most points per calendar year from this rule
    how_to_earn: str = ""


@dataclass(frozen=True)
class PointsTable:
    """The published table. A change is a new version, never an edit in place."""

    version: str
    published_on: date
    base: int
    rules: tuple[PointsRule, ...]
    bands: tuple[Band, ...]
    lookback_months: int = 36

    def __post_init__(self) -> None:
        if not MIN_SCORE <= self.base <= MAX_SCORE:
            raise ValidationFailed("base must lie within 0-1000", field="base")
        if self.base >= BENEFIT_FLOOR:
            raise ValidationFailed("the base must sit below the benefit floor: benefits are earned", field="base")
        codes = [r.code for r in self.rules]
        if len(set(codes)) != len(codes):
            raise ValidationFailed("rule codes must be unique", field="rules")
        for rule in self.rules:
            if rule.kind is RuleKind.VIOLATION and not -MAX_POINTS_PER_OFFENCE <= rule.points < 0:
                raise ValidationFailed(
                    f"rule {rule.code}: a violation costs between 1 and {MAX_POINTS_PER_OFFENCE} points",
                    field="rules",
                )
            if rule.kind is RuleKind.EARN and rule.points <= 0:
                raise ValidationFailed(f"rule {rule.code}: an earning rule adds points", field="rules")
        for band in self.bands:
            if band.min_score < BENEFIT_FLOOR:
                raise ValidationFailed(f"band {band.name}: benefit bands start at {BENEFIT_FLOOR}", field="bands")
        if [b.min_score for b in self.bands] != sorted(b.min_score for b in self.bands):
            raise ValidationFailed("bands must be listed from lowest to highest", field="bands")

    def rule(self, code: str) -> PointsRule:
        for rule in self.rules:
            if rule.code == code:
                return rule
        raise ValidationFailed(f"no rule '{code}' in points table {self.version}", field="rule_code")

    def contexts(self) -> frozenset[str]:
        return frozenset(b.context for band in self.bands for b in band.benefits)

    def card_payload(self) -> dict[str, object]:
        """The table as the AlgorithmCard and the public register show it."""
        return {
            "version": self.version,
            "published_on": self.published_on.isoformat(),
            "base": self.base,
            "range": [MIN_SCORE, MAX_SCORE],
            "lookback_months": self.lookback_months,
            "max_points_per_offence": MAX_POINTS_PER_OFFENCE,
            "rules": [
                {
                    "code": r.code,
                    "description": r.description,
                    "kind": r.kind.value,
                    "points": r.points,
                    "yearly_cap": r.yearly_cap,
                }
                for r in self.rules
            ],
            "bands": [
                {
                    "name": b.name,
                    "min_score": b.min_score,
                    "benefits": [
                        {"code": x.code, "kind": x.kind.value, "context": x.context, "description": x.description}
                        for x in b.benefits
                    ],
                }
                for b in self.bands
            ],
            "never": "the score never restricts, never reaches any context outside its benefits' contexts",
        }


@dataclass(frozen=True)
class ScoreEvent:
    """One fact that counts: a payment on time, an hour volunteered, a penalty."""

    rule_code: str
    occurred_on: date
    source_record: str
    quantity: int = 1


@dataclass(frozen=True)
class Factor:
    rule_code: str
    description: str
    points: int
    events: int


@dataclass(frozen=True)
class ScoreResult:
    citizen_id: str
    table_version: str
    score: int
    band: str | None
    factors: tuple[Factor, ...]
    reason_codes: tuple[str, ...]
    improvements: tuple[str, ...]
    as_of: date

    def event(self, at: datetime) -> CreditEvent:
        return CreditEvent(
            algorithm=SCORE_ALGORITHM,
            version=self.table_version,
            action="scored",
            subject=self.citizen_id,
            at=at,
            actor="system:city-score",
            summary=(
                f"City score {self.score} ({self.band or 'no benefit band'}). "
                + ("Main factors: " + "; ".join(self.reason_codes) if self.reason_codes else "No factors yet.")
            ),
            outcome={"score": self.score, "band": self.band},
            inputs={"factors": [f.rule_code for f in self.factors]},
            details={"reason_codes": list(self.reason_codes), "improvements": list(self.improvements)},
        )


def compute_score(table: PointsTable, citizen_id: str, events: Iterable[ScoreEvent], as_of: date) -> ScoreResult:
    """Base plus capped earnings minus violations inside the look-back window, clipped to 0-1000."""
    window_start = add_months(datetime.combine(as_of, datetime.min.time()), -table.lookback_months).date()
    per_rule_year: dict[tuple[str, int], int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        if not window_start <= event.occurred_on <= as_of:
            continue  # old facts stop counting: no lifelong marks
        rule = table.rule(event.rule_code)
        per_rule_year[(rule.code, event.occurred_on.year)] += rule.points * max(event.quantity, 0)
        counts[rule.code] += 1
    per_rule: dict[str, int] = defaultdict(int)
    for (code, _year), points in per_rule_year.items():
        cap = table.rule(code).yearly_cap
        per_rule[code] += min(points, cap) if cap is not None and points > 0 else points
    score = max(MIN_SCORE, min(MAX_SCORE, table.base + sum(per_rule.values())))
    factors = tuple(
        sorted(
            (Factor(code, table.rule(code).description, points, counts[code]) for code, points in per_rule.items()),
            key=lambda f: (-abs(f.points), f.rule_code),
        )
    )
    band = _band_for(table, score)
    return ScoreResult(
        citizen_id=citizen_id,
        table_version=table.version,
        score=score,
        band=band.name if band else None,
        factors=factors,
        reason_codes=_reason_codes(factors),
        improvements=_improvements(table, score, per_rule_year, as_of),
        as_of=as_of,
    )


def _band_for(table: PointsTable, score: int) -> Band | None:
    reached = [band for band in table.bands if score >= band.min_score]
    return reached[-1] if reached else None


def _reason_codes(factors: tuple[Factor, ...]) -> tuple[str, ...]:
    earned = [f for f in factors if f.points > 0][:3]
    cost = [f for f in factors if f.points < 0][:3]
    codes = [f"+{f.points} {f.rule_code}: {f.description} ({f.events}x)" for f in earned]
    codes += [f"{f.points} {f.rule_code}: {f.description} ({f.events}x)" for f in cost]
    return tuple(codes)


def _improvements(
    table: PointsTable, score: int, per_rule_year: dict[tuple[str, int], int], as_of: date
) -> tuple[str, ...]:
    tips: list[str] = []
    next_band = next((b for b in table.bands if b.min_score > score), None)
    if next_band is not None:
        tips.append(f"{next_band.min_score - score} more points reach '{next_band.name}'")
    for rule in table.rules:
        if rule.kind is not RuleKind.EARN:
            continue
        earned = per_rule_year.get((rule.code, as_of.year), 0)
        room = None if rule.yearly_cap is None else max(rule.yearly_cap - earned, 0)
        if room == 0:
            continue
        limit = f"up to {room} more points this year" if room is not None else "no yearly cap"
        tips.append(f"{rule.how_to_earn or rule.description}: +{rule.points} each ({limit})")
    violations = [code for (code, _), pts in per_rule_year.items() if pts < 0]
    if violations:
        tips.append(f"violations stop counting {table.lookback_months} months after they occurred")
    return tuple(tips)


@dataclass(frozen=True)
class ScoreGrant:
    """What the score yields in one context: benefits, or nothing. Never a restriction."""

    context: str
    benefits: tuple[Benefit, ...]
    score: int | None
    table_version: str | None

    @property
    def grants_anything(self) -> bool:
        return bool(self.benefits)


def benefits_for(table: PointsTable, result: ScoreResult | None, context: str) -> ScoreGrant:
    """The benefits the score unlocks in ``context`` - only those designed for it."""
    key = normalize_context(context)
    if result is None:
        return ScoreGrant(key, (), None, None)
    if result.table_version != table.version:
        raise ValidationFailed(
            f"score computed under table {result.table_version}, asked under {table.version}", field="table_version"
        )
    band = _band_for(table, result.score)
    unlocked: list[Benefit] = []
    if band is not None:
        for reached in table.bands:
            if reached.min_score <= band.min_score:
                unlocked.extend(b for b in reached.benefits if b.context == key)
    return ScoreGrant(key, tuple(unlocked), result.score, result.table_version)


@dataclass(frozen=True)
class Consent:
    citizen_id: str
    opted_in_at: datetime


class OptInRegister:
    """Who chose to be scored. The service persists it; this holds the rule."""

    def __init__(self) -> None:
        self._consents: dict[str, Consent] = {}

    def opt_in(self, citizen_id: str, at: datetime) -> CreditEvent:
        self._consents[citizen_id] = Consent(citizen_id, at)
        return CreditEvent(
            algorithm=SCORE_ALGORITHM,
            version="consent",
            action="opted_in",
            subject=citizen_id,
            at=at,
            actor=citizen_id,
            summary="Opted in to the city score; you can withdraw at any time and the score is then deleted.",
        )

    def withdraw(self, citizen_id: str, at: datetime) -> CreditEvent:
        """Withdrawal: the service must delete the stored score and its factors."""
        if self._consents.pop(citizen_id, None) is None:
            raise ValidationFailed("not opted in", field="citizen_id")
        return CreditEvent(
            algorithm=SCORE_ALGORITHM,
            version="consent",
            action="withdrawn_score_deleted",
            subject=citizen_id,
            at=at,
            actor=citizen_id,
            summary="Withdrew from the city score; the score and its factors are deleted.",
        )

    def is_opted_in(self, citizen_id: str) -> bool:
        return citizen_id in self._consents

    def require(self, citizen_id: str) -> None:
        if not self.is_opted_in(citizen_id):
            raise Forbidden("the city score is computed only for citizens who opted in", field="citizen_id")
