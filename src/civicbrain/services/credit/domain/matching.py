"""Entity resolution for the credit platform: is this query the subject on that list?

Order of evidence (issue 4, "exact ID match first"):

1. A shared identifier (resident ID number, unified social credit code, passport) is a
   match on its own, whatever the names say.
2. Otherwise the names are compared (``names.compare_name_sets``); the best name score
   is the base score.
3. Qualifiers move it: a different date of birth, a different country, or two
   *different* identifiers of the same person lower it. They never raise a weak name
   match over the threshold - birth dates are shared by too many people.

The result carries yente-style evidence: feature name -> score and weight, the final
score, the threshold and an explanation in words, so the citizen, the reviewer and the
auditor read the same reasons. A reviewer's "not the same person" judgement excludes a
candidate for that subject from then on (yente's human-cleared false positives).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

from civicbrain.services.credit.domain import names
from civicbrain.services.credit.domain.names import NameComparison, NameKind, compare_name_sets

MATCHER_NAME = "credit-name-match"
MATCHER_VERSION = "1.1"  # 1.1: a birth year more than one apart rules a name match out

# Stated threshold. Same value as nomenklatura's name benchmark so the figures compare;
# set per deployment only through a new matcher version (the register card records it).
DEFAULT_THRESHOLD = 0.7

# Qualifier weights: subtracted from the name score when both sides carry the field and
# it disagrees. Birth years more than one apart pull even a perfect name match below the threshold:
# namesakes are common (hundreds of listed Zhang Weis), and a check answers "restrict" on a match,
# so a namesake born in another year must not be one (version 1.0 put it exactly at the threshold,
# "for a human to review": at 10M subjects every unlisted name-and-birth-date check in the scale
# bench was then restricted by some namesake). A year apart, or the same year and another day
# (approximate or converted dates), costs a third of it and a perfect name still matches. The cost:
# on the treated UN names screened with their birth dates, whose years the fixture moves by 2-10+
# for 39 of 683, recall 98.5% -> 94.3% (names only, the primary protocol: 99.85%, unchanged).
DOB_MISMATCH = -0.35
NEAR_DOB_FRACTION = 1 / 3  # a year apart, or another day: -0.1
COUNTRY_MISMATCH = -0.2
IDENTIFIER_MISMATCH = -0.35

_ID_CLEAN = re.compile(r"[^0-9A-Z]")


@lru_cache(maxsize=4096)
def normalize_identifier(value: str) -> str:
    """Upper-case and strip separators: '110101 19900307 663X' -> '11010119900307663X'."""
    return _ID_CLEAN.sub("", value.upper())


@dataclass(frozen=True)
class SubjectRecord:
    """A person or organisation as a list knows it, or as a query describes it."""

    id: str
    kind: NameKind
    names: tuple[str, ...]
    birth_dates: tuple[str, ...] = ()  # ISO dates or prefixes: "1965", "1965-04-29"
    countries: tuple[str, ...] = ()  # ISO 3166 alpha-2, lower case
    identifiers: tuple[str, ...] = ()

    def normalized_identifiers(self) -> set[str]:
        return {normalize_identifier(value) for value in self.identifiers if value.strip()}


@dataclass(frozen=True)
class FeatureScore:
    """One feature of a match, as yente's /match reports it."""

    score: float
    weight: float
    detail: str

    @property
    def contribution(self) -> float:
        return self.score * self.weight


@dataclass(frozen=True)
class MatchResult:
    """The verdict on one (query, candidate) pair, with the evidence behind it."""

    query_id: str
    candidate_id: str
    score: float
    threshold: float
    is_match: bool
    features: dict[str, FeatureScore]
    explanation: str
    algorithm: str = MATCHER_NAME
    version: str = MATCHER_VERSION
    excluded_by_judgement: bool = False

    def evidence(self) -> dict[str, object]:
        """A JSON-ready form for the ledger entry and the API."""
        return {
            "algorithm": self.algorithm,
            "version": self.version,
            "query": self.query_id,
            "candidate": self.candidate_id,
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "match": self.is_match,
            "excluded_by_judgement": self.excluded_by_judgement,
            "features": {
                name: {"score": round(f.score, 4), "weight": f.weight, "detail": f.detail}
                for name, f in self.features.items()
            },
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class Judgement:
    """A reviewer's decision that a candidate is *not* the subject."""

    subject_id: str
    candidate_id: str
    reviewer: str
    reason: str
    decided_at: datetime


class JudgementStore(Protocol):
    """Where reviewers' negative judgements live; the service layer persists them."""

    def is_excluded(self, subject_id: str, candidate_id: str) -> Judgement | None: ...

    def mark_not_same(self, subject_id: str, candidate_id: str, reviewer: str, reason: str) -> Judgement: ...


@dataclass
class InMemoryJudgementStore:
    """A judgement store for tests, the bench and single-process use."""

    _judgements: dict[tuple[str, str], Judgement] = field(default_factory=dict)

    def is_excluded(self, subject_id: str, candidate_id: str) -> Judgement | None:
        return self._judgements.get((subject_id, candidate_id))

    def mark_not_same(self, subject_id: str, candidate_id: str, reviewer: str, reason: str) -> Judgement:
        if not reviewer.strip():
            raise ValueError("reviewer: a judgement needs the reviewer who made it")
        if not reason.strip():
            raise ValueError("reason: a judgement needs a reason a reader can check")
        judgement = Judgement(subject_id, candidate_id, reviewer, reason, datetime.now(UTC))
        self._judgements[(subject_id, candidate_id)] = judgement
        return judgement


@lru_cache(maxsize=65536)  # a check compares one query date with ~10 candidates' dates, which repeat
def date_parts(value: str) -> tuple[int, ...]:
    """'1969-7-16' -> (1969, 7, 16); unparseable tails are dropped, not guessed."""
    parts: list[int] = []
    for piece in value.strip()[:10].split("-"):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def _dob_disagreement(query: tuple[int, ...], candidate: tuple[int, ...]) -> tuple[float, str] | None:
    common = min(len(query), len(candidate))
    if common == 0 or query[:common] == candidate[:common]:
        return None
    if abs(query[0] - candidate[0]) <= 1:
        # Off by a year, or same year and another day: approximate and converted dates
        # (lunar or Hijri calendars, "about 1965") often land here, so it weighs less.
        return NEAR_DOB_FRACTION, "birth dates are close but not equal"
    return 1.0, f"birth years {query[0]} and {candidate[0]} differ"


def _dob_feature(query: SubjectRecord, candidate: SubjectRecord) -> FeatureScore | None:
    query_dates = [d for d in (date_parts(v) for v in query.birth_dates) if d]
    candidate_dates = [d for d in (date_parts(v) for v in candidate.birth_dates) if d]
    if not query_dates or not candidate_dates:
        return None
    mildest: tuple[float, str] | None = None
    for q in query_dates:
        for c in candidate_dates:
            disagreement = _dob_disagreement(q, c)
            if disagreement is None:
                return FeatureScore(0.0, DOB_MISMATCH, "birth dates agree")
            if mildest is None or disagreement[0] < mildest[0]:
                mildest = disagreement
    assert mildest is not None
    return FeatureScore(mildest[0], DOB_MISMATCH, mildest[1])


def _country_feature(query: SubjectRecord, candidate: SubjectRecord) -> FeatureScore | None:
    if not query.countries or not candidate.countries:
        return None
    q = {c.lower() for c in query.countries}
    c = {c.lower() for c in candidate.countries}
    if q & c:
        return FeatureScore(0.0, COUNTRY_MISMATCH, f"country {sorted(q & c)[0]} agrees")
    return FeatureScore(1.0, COUNTRY_MISMATCH, f"countries {sorted(q)} and {sorted(c)} differ")


class Matcher:
    """Compares a query with candidates; stateless apart from the judgement store."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, judgements: JudgementStore | None = None) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold: must be in (0, 1]")
        self.threshold = threshold
        self.judgements: JudgementStore = judgements if judgements is not None else InMemoryJudgementStore()

    def compare(self, query: SubjectRecord, candidate: SubjectRecord) -> MatchResult:
        features: dict[str, FeatureScore] = {}
        query_ids, candidate_ids = query.normalized_identifiers(), candidate.normalized_identifiers()
        shared_ids = query_ids & candidate_ids
        if shared_ids:
            # Rule 1: an exact identifier is decisive; names are not consulted.
            features["identifier_match"] = FeatureScore(1.0, 1.0, f"identifier {sorted(shared_ids)[0]} is shared")
            return self._verdict(query, candidate, 1.0, features)

        comparison: NameComparison = compare_name_sets(
            list(query.names), list(candidate.names), _common_kind(query, candidate)
        )
        features["name_match"] = FeatureScore(
            comparison.score,
            1.0,
            f"'{comparison.query_name}' vs '{comparison.candidate_name}': {comparison.explain()}",
        )
        score = comparison.score
        if score > 0.0:
            for name, feature in (
                ("dob_mismatch", _dob_feature(query, candidate)),
                ("country_mismatch", _country_feature(query, candidate)),
                ("identifier_mismatch", self._identifier_mismatch(query, candidate, query_ids, candidate_ids)),
            ):
                if feature is not None:
                    features[name] = feature
                    score += feature.contribution
        return self._verdict(query, candidate, max(0.0, min(1.0, score)), features)

    @staticmethod
    def _identifier_mismatch(
        query: SubjectRecord, candidate: SubjectRecord, query_ids: set[str], candidate_ids: set[str]
    ) -> FeatureScore | None:
        if query_ids and candidate_ids and query.kind is candidate.kind:
            return FeatureScore(1.0, IDENTIFIER_MISMATCH, "both carry identifiers and none is shared")
        return None

    def _verdict(
        self, query: SubjectRecord, candidate: SubjectRecord, score: float, features: dict[str, FeatureScore]
    ) -> MatchResult:
        judgement = self.judgements.is_excluded(query.id, candidate.id)
        over = score >= self.threshold
        if judgement is not None:
            explanation = (
                f"score {score:.2f} against threshold {self.threshold}; excluded: {judgement.reviewer} judged "
                f"on {judgement.decided_at:%Y-%m-%d} that this is not the same subject ({judgement.reason})"
            )
        else:
            verdict = "match" if over else "no match"
            reasons = "; ".join(f"{name} {f.contribution:+.2f} ({f.detail})" for name, f in features.items())
            explanation = f"{verdict}: score {score:.2f} against threshold {self.threshold}. {reasons}"
        return MatchResult(
            query_id=query.id,
            candidate_id=candidate.id,
            score=score,
            threshold=self.threshold,
            is_match=over and judgement is None,
            features=features,
            explanation=explanation,
            excluded_by_judgement=judgement is not None,
        )

    def rank(self, query: SubjectRecord, candidates: Iterable[SubjectRecord], limit: int = 10) -> list[MatchResult]:
        """Score every candidate and return the best first (matches and near misses)."""
        results = [self.compare(query, candidate) for candidate in candidates]
        results.sort(key=lambda r: (-r.is_match, -r.score, r.candidate_id))
        return results[:limit]


def _common_kind(query: SubjectRecord, candidate: SubjectRecord) -> NameKind:
    # A person query against a firm's list entry (or the reverse) is compared as an
    # organisation name: no honorific stripping, legal forms still recognised.
    if query.kind is candidate.kind:
        return query.kind
    return NameKind.ORGANIZATION


def matcher_card_payload(threshold: float = DEFAULT_THRESHOLD) -> dict[str, object]:
    """What the register's AlgorithmCard states about the matcher (parameters, not prose)."""
    return {
        "algorithm": MATCHER_NAME,
        "version": MATCHER_VERSION,
        "threshold": threshold,
        "order": ["identifier_match (decisive)", "name_match", "qualifiers (can only lower)"],
        "qualifiers": {
            "dob_mismatch": DOB_MISMATCH,
            "dob_near_mismatch": round(DOB_MISMATCH * NEAR_DOB_FRACTION, 3),
            "country_mismatch": COUNTRY_MISMATCH,
            "identifier_mismatch": IDENTIFIER_MISMATCH,
        },
        "name_policy": {
            "extra_part_cost_person": names.EXTRA_PART_COST,
            "extra_part_cost_organization": names.EXTRA_PART_COST_ORGANIZATION,
            "substitution_cap": names.SUBSTITUTION_CAP,
            "typo_score": names.TYPO_SCORE,
            "initial_score": names.INITIAL_SCORE,
        },
        "libraries": ["rigour (name analysis, symbols, compare_parts)", "PyICU (Han to pinyin)"],
        "human_override": "a reviewer's not-the-same judgement excludes a candidate for that subject",
    }
