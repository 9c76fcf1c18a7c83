"""Name comparison across scripts, transliterations and typos, with evidence.

The primitives come from rigour (OpenSanctions' name library): ``analyze_names`` strips
honorifics, rewrites legal forms to one comparable form ("Aktiengesellschaft" -> "AG"),
transliterates to Latin and tags parts with symbols (initials, known given names,
org classes); ``pair_symbols`` aligns parts that share a symbol and ``compare_parts``
aligns the residue by a typo-aware edit cost. What this module adds is the *policy*
that turns those alignments into one score, and it differs from nomenklatura's
logic-v2 on one point that matters for a list with legal effect:

* **A substituted name part is evidence against the match.** When each side keeps a
  part the other side lacks ("... IBRAHIM HASAN AL-MOSULI" vs "... IBRAHIM HASAN
  AL-TIKRITI", "Bowne of Chicago" vs "Bowne of Cleveland"), the names describe two
  different people or firms that share most of a name - common in patronymic naming
  and in corporate groups. Logic-v2 averages that part away; we cap the score below
  the threshold instead. A part that is merely *missing* on one side (a dropped
  middle name, an omitted legal form) costs much less.

Smaller rules, each stated where it is applied: single-edit typos in alphabetic scripts
and initials are re-paired where compare_parts gave up; different legal forms or
numbers make two organisations different; an extra distinctive word costs an
organisation more than a person; Han names are bridged to Latin through pinyin, and
then spelled exactly.

Wrongly listing a person is the costlier error here (due process, 2020 listing rules),
so the policy leans to precision while typos and transliterations still match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from rigour.names import (
    Alignment,
    CompareConfig,
    Name,
    NamePart,
    NamePartTag,
    NameTypeTag,
    Symbol,
    align_person_name_order,
    analyze_names,
    compare_parts,
    pair_symbols,
)
from rigour.text.distance import levenshtein
from rigour.text.scripts import is_dense_script, text_scripts

try:  # PyICU (credit extra): Han -> pinyin, which rigour leaves untouched.
    from icu import Transliterator as _IcuTransliterator

    _HAN_TO_LATIN = _IcuTransliterator.createInstance("Han-Latin; Latin-ASCII; Lower")
except ImportError:  # pragma: no cover - without ICU, Han names match only Han names
    _HAN_TO_LATIN = None


class NameKind(StrEnum):
    """What a name belongs to; it decides prefix stripping and legal-form handling."""

    PERSON = "person"
    ORGANIZATION = "organization"
    OBJECT = "object"

    @classmethod
    def from_schema(cls, schema: str) -> NameKind:
        """Map a FollowTheMoney schema name onto a name kind."""
        if schema == "Person":
            return cls.PERSON
        if schema in {"Vessel", "Airplane", "Asset", "Security"}:
            return cls.OBJECT
        return cls.ORGANIZATION


_TYPE_TAGS = {
    NameKind.PERSON: NameTypeTag.PER,
    NameKind.ORGANIZATION: NameTypeTag.ORG,
    NameKind.OBJECT: NameTypeTag.OBJ,
}

# How much a symbol-paired edge is worth, by the kind of symbol that paired it. A shared
# known given name ("Mohammed"~"Muhammad") is strong but not literal; an initial is
# weaker; a nickname weaker still. Literal equality of the parts always scores 1.0.
_SYMBOL_SCORES = {
    Symbol.Category.ORG_CLASS: 0.85,
    Symbol.Category.INITIAL: 0.9,
    Symbol.Category.NAME: 0.9,
    Symbol.Category.NICK: 0.7,
    Symbol.Category.SYMBOL: 0.9,
    Symbol.Category.DOMAIN: 0.9,
    Symbol.Category.NUMERIC: 1.0,
    Symbol.Category.LOCATION: 0.9,
}

# How much a part counts in the weighted average. Legal forms, generic words
# ("International", "Holding") and initials carry little identifying information.
_SYMBOL_WEIGHTS = {
    Symbol.Category.ORG_CLASS: 0.4,
    Symbol.Category.INITIAL: 0.5,
    Symbol.Category.SYMBOL: 0.5,
    Symbol.Category.DOMAIN: 0.7,
    Symbol.Category.LOCATION: 0.8,
}
_STOPWORD_WEIGHT = 0.4

# A part present on one side only costs this fraction of its weight: names on lists are
# often fuller than names in a query (and vice versa), so missing parts are tolerated.
EXTRA_PART_COST = 0.35
# In an organisation's name an extra distinctive word usually names another legal person
# (a subsidiary, a branch, a fund: "Deutsche Bank Trust Company" vs "Deutsche Bank"), so it
# costs more. Generic words, legal forms and places already carry low weights.
EXTRA_PART_COST_ORGANIZATION = 0.6

# Below this alignment score two aligned parts are treated as different words, not typos.
SAME_PART_MIN_SCORE = 0.5

# When each side keeps an identifying part the other lacks, the score is capped here:
# just below the default threshold, so substitution alone can never produce a match.
SUBSTITUTION_CAP = 0.6

_COMPARE_CONFIG = CompareConfig()


class PartOutcome(StrEnum):
    """How one piece of name evidence was judged."""

    LITERAL = "literal"
    SYMBOL = "symbol"
    FUZZY = "fuzzy"
    DIFFERENT = "different"
    EXTRA_QUERY = "extra_query"
    EXTRA_CANDIDATE = "extra_candidate"


@dataclass(frozen=True)
class PartEvidence:
    """One aligned (or unaligned) piece of two names, as a reviewer reads it."""

    query: str
    candidate: str
    outcome: PartOutcome
    score: float
    weight: float
    symbol: str | None = None

    def describe(self) -> str:
        if self.outcome is PartOutcome.EXTRA_QUERY:
            return f"'{self.query}' only in the query"
        if self.outcome is PartOutcome.EXTRA_CANDIDATE:
            return f"'{self.candidate}' only in the candidate"
        if self.outcome is PartOutcome.LITERAL:
            return f"'{self.query}' = '{self.candidate}'"
        if self.outcome is PartOutcome.SYMBOL:
            return f"'{self.query}' ~ '{self.candidate}' (same {self.symbol})"
        if self.outcome is PartOutcome.FUZZY:
            return f"'{self.query}' ~ '{self.candidate}' (spelling variant, {self.score:.2f})"
        return f"'{self.query}' differs from '{self.candidate}'"


@dataclass(frozen=True)
class NameComparison:
    """The best-scoring alignment of two names, with every piece of evidence."""

    score: float
    query_name: str
    candidate_name: str
    parts: tuple[PartEvidence, ...] = field(default_factory=tuple)
    substitution: bool = False

    def explain(self) -> str:
        if not self.parts:
            return "no comparable name"
        text = "; ".join(part.describe() for part in self.parts)
        if self.substitution:
            text += f" - each name has a part the other lacks, so the score is capped at {SUBSTITUTION_CAP}"
        return text


NO_NAME = NameComparison(score=0.0, query_name="", candidate_name="")


@lru_cache(maxsize=65536)
def analyze(name: str, kind: NameKind, is_query: bool = False) -> tuple[Name, ...]:
    """Analyse one raw name string into rigour ``Name`` objects (cached: lists repeat names)."""
    analysed = analyze_names(_TYPE_TAGS[kind], [name], infer_initials=is_query)
    return tuple(sorted(analysed, key=lambda n: n.comparable))


def _part_weight(parts: tuple[NamePart, ...], name: Name) -> float:
    if not parts:
        return 0.0
    if all(part.tag == NamePartTag.STOP for part in parts):
        return _STOPWORD_WEIGHT
    weight = 1.0
    own = frozenset(parts)
    for span_parts, span_weight in _light_spans(name):
        if span_parts >= own or own >= span_parts:
            weight = min(weight, span_weight)
    return weight


@lru_cache(maxsize=65536)
def _light_spans(name: Name) -> tuple[tuple[frozenset[NamePart], float], ...]:
    """The spans of a name that lower a part's weight (legal forms, generic words, initials)."""
    return tuple(
        (frozenset(span.parts), _SYMBOL_WEIGHTS[span.symbol.category])
        for span in name.spans
        if span.symbol.category in _SYMBOL_WEIGHTS
    )


def _joined(parts: tuple[NamePart, ...]) -> str:
    return " ".join(part.comparable for part in parts)


def _classify(alignment: Alignment, exact_spelling: bool) -> PartOutcome:
    if not alignment.qps:
        return PartOutcome.EXTRA_CANDIDATE
    if not alignment.rps:
        return PartOutcome.EXTRA_QUERY
    if alignment.qstr.replace(" ", "") == alignment.rstr.replace(" ", ""):
        return PartOutcome.LITERAL
    if alignment.symbol is not None:
        return PartOutcome.SYMBOL
    if alignment.score >= SAME_PART_MIN_SCORE and not exact_spelling:
        return PartOutcome.FUZZY
    return PartOutcome.DIFFERENT


def _legal_forms_differ(evidence: list[PartEvidence], query: Name, candidate: Name) -> bool:
    """Two different legal forms (AG vs GmbH) name two different legal persons."""
    extra_query = {e.query for e in evidence if e.outcome is PartOutcome.EXTRA_QUERY}
    extra_candidate = {e.candidate for e in evidence if e.outcome is PartOutcome.EXTRA_CANDIDATE}
    return bool(_org_class_forms(query) & extra_query) and bool(_org_class_forms(candidate) & extra_candidate)


def _numbers(name: Name) -> set[str]:
    return {str(span.symbol.id) for span in name.spans if span.symbol.category == Symbol.Category.NUMERIC}


def _numbers_differ(query: Name, candidate: Name) -> bool:
    """Numbered funds, series and branches ("Fund I" vs "Fund", "Company 23") are distinct
    legal persons; for people, numbers in names carry no such meaning."""
    if NameTypeTag.PER in (query.tag, candidate.tag):
        return False
    return _numbers(query) != _numbers(candidate)


def _org_class_forms(name: Name) -> set[str]:
    return {_joined(span.parts) for span in name.spans if span.symbol.category == Symbol.Category.ORG_CLASS}


def _score_alignments(
    alignments: list[Alignment], query: Name, candidate: Name, exact_spelling: bool = False
) -> tuple[float, tuple[PartEvidence, ...], bool]:
    evidence: list[PartEvidence] = []
    for alignment in alignments:
        outcome = _classify(alignment, exact_spelling)
        if outcome is PartOutcome.LITERAL:
            score = 1.0
        elif outcome is PartOutcome.SYMBOL:
            assert alignment.symbol is not None
            score = _SYMBOL_SCORES.get(alignment.symbol.category, 0.9)
        elif outcome in (PartOutcome.EXTRA_QUERY, PartOutcome.EXTRA_CANDIDATE):
            score = 0.0
        else:
            score = float(alignment.score)
        weight = max(_part_weight(alignment.qps, query), _part_weight(alignment.rps, candidate))
        evidence.append(
            PartEvidence(
                query=alignment.qstr,
                candidate=alignment.rstr,
                outcome=outcome,
                score=round(score, 4),
                weight=weight,
                symbol=str(alignment.symbol.category.value).lower() if alignment.symbol is not None else None,
            )
        )

    paired = [e for e in evidence if e.outcome not in (PartOutcome.EXTRA_QUERY, PartOutcome.EXTRA_CANDIDATE)]
    matched = [e for e in paired if e.outcome is not PartOutcome.DIFFERENT]
    if not matched:
        return 0.0, tuple(evidence), False
    numerator = sum(e.score * e.weight for e in paired)
    denominator = sum(e.weight for e in paired)
    extra_cost = EXTRA_PART_COST if NameTypeTag.PER in (query.tag, candidate.tag) else EXTRA_PART_COST_ORGANIZATION
    denominator += extra_cost * sum(
        e.weight for e in evidence if e.outcome in (PartOutcome.EXTRA_QUERY, PartOutcome.EXTRA_CANDIDATE)
    )
    score = numerator / denominator if denominator else 0.0

    # A substitution: an identifying part on each side with no counterpart (or aligned to
    # a clearly different word). Weighting by identifying power keeps "AG" vs "Ltd" or a
    # stray stopword from counting as a different name.
    query_only = sum(e.weight for e in evidence if e.outcome in (PartOutcome.EXTRA_QUERY, PartOutcome.DIFFERENT))
    candidate_only = sum(
        e.weight for e in evidence if e.outcome in (PartOutcome.EXTRA_CANDIDATE, PartOutcome.DIFFERENT)
    )
    substitution = (
        min(query_only, candidate_only) >= 0.5
        or _legal_forms_differ(evidence, query, candidate)
        or _numbers_differ(query, candidate)
    )
    if substitution:
        score = min(score, SUBSTITUTION_CAP)
    return score, tuple(evidence), substitution


# Most misspellings are a single edit (Damerau 1964): two neighbours swapped ("Taah"/"Taha"),
# a letter doubled or undoubled ("Essa"/"Esa"), or one letter wrong, missing or added in a
# word of four letters or more ("Ssad"/"Asad"). compare_parts refuses some of these on
# short parts, where its edit budget is tight, so they are recognised here. Shorter words
# are left alone: one letter turns "Tom" into "Tim"; so are syllabic and logographic scripts.
TYPO_SCORE = 0.8


def _collapse_doubles(text: str) -> str:
    return "".join(ch for i, ch in enumerate(text) if i == 0 or ch != text[i - 1])


@lru_cache(maxsize=65536)  # name parts repeat (surnames, common given names): pairs recur across checks
def is_simple_typo(left: str, right: str) -> bool:
    """True for one adjacent transposition, a doubled/undoubled letter, or (from four
    letters) a single substitution, insertion or deletion."""
    if left == right or len(left) < 2 or len(right) < 2:
        return False
    if is_dense_script(left) or is_dense_script(right):
        return False  # in Han, kana or Hangul one character is a whole name element
    if _collapse_doubles(left) == _collapse_doubles(right):
        return True
    if min(len(left), len(right)) >= 4 and levenshtein(left, right) == 1:
        return True
    if len(left) != len(right):
        return False
    diffs = [i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a != b]
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and left[diffs[0]] == right[diffs[1]]
        and (left[diffs[1]] == right[diffs[0]])
    )


# An initial ("A. Khamenei", "Hans J Friedrich") is consistent with any given name that
# starts with its letter: weak evidence for, but no evidence against. compare_parts sees
# 'a' vs 'ali' as two different words, so initials are paired here (people only).
INITIAL_SCORE = 0.9


def _is_initial_of(short: NamePart, full: NamePart) -> bool:
    s, f = short.comparable, full.comparable
    return len(s) == 1 and s.isalpha() and len(f) > 1 and f[0] == s


def _repair_loose_parts(alignments: list[Alignment], person: bool = False) -> list[Alignment]:
    """Re-pair single parts left unmatched (or judged different) that differ by a simple
    typo, or (for people) where one is the initial of the other."""
    query_loose = [a for a in alignments if len(a.qps) == 1 and (not a.rps or _is_different(a))]
    candidate_loose = [a for a in alignments if len(a.rps) == 1 and (not a.qps or _is_different(a))]
    repaired: list[Alignment] = []
    consumed: set[int] = set()
    for q in query_loose:
        for c in candidate_loose:
            if id(c) in consumed or id(q) in consumed:
                continue
            qp, cp = q.qps[0], c.rps[0]
            if is_simple_typo(qp.comparable, cp.comparable):
                repaired.append(Alignment(qps=[qp], rps=[cp], score=TYPO_SCORE))
                consumed.update({id(q), id(c)})
            elif person and (_is_initial_of(qp, cp) or _is_initial_of(cp, qp)):
                initial = Symbol(Symbol.Category.INITIAL, min(qp.comparable, cp.comparable, key=len))
                repaired.append(Alignment(qps=[qp], rps=[cp], symbol=initial, score=INITIAL_SCORE))
                consumed.update({id(q), id(c)})
    if not repaired:
        return alignments
    kept: list[Alignment] = repaired
    for a in alignments:
        if id(a) not in consumed:
            kept.append(a)
        elif a.qps and a.rps:
            # A "different" pair that gave up one side: the other side stays as an extra.
            kept.extend(_leftover(a, repaired))
    return kept


def _is_different(alignment: Alignment) -> bool:
    return (
        bool(alignment.qps and alignment.rps) and alignment.symbol is None and (alignment.score < SAME_PART_MIN_SCORE)
    )


def _leftover(alignment: Alignment, repaired: list[Alignment]) -> list[Alignment]:
    used_q = {p for r in repaired for p in r.qps}
    used_r = {p for r in repaired for p in r.rps}
    rest: list[Alignment] = []
    rest.extend(Alignment(qps=[p], rps=[], score=0.0) for p in alignment.qps if p not in used_q)
    rest.extend(Alignment(qps=[], rps=[p], score=0.0) for p in alignment.rps if p not in used_r)
    return rest


def _compare_name_objects(query: Name, candidate: Name, exact_spelling: bool = False) -> NameComparison:
    best = NameComparison(score=0.0, query_name=query.original, candidate_name=candidate.original)
    if query.comparable.replace(" ", "") == candidate.comparable.replace(" ", ""):
        literal = PartEvidence(
            query=query.comparable,
            candidate=candidate.comparable,
            outcome=PartOutcome.LITERAL,
            score=1.0,
            weight=1.0,
        )
        return NameComparison(1.0, query.original, candidate.original, (literal,))
    for edges in pair_symbols(query, candidate):
        alignments = list(edges)
        used_query = {part for edge in edges for part in edge.qps}
        used_candidate = {part for edge in edges for part in edge.rps}
        query_rest = [p for p in query.parts if p not in used_query]
        candidate_rest = [p for p in candidate.parts if p not in used_candidate]
        if query_rest or candidate_rest:
            if NameTypeTag.PER in (query.tag, candidate.tag):
                query_rest, candidate_rest = align_person_name_order(query_rest, candidate_rest)
            else:
                query_rest = NamePart.tag_sort(query_rest)
                candidate_rest = NamePart.tag_sort(candidate_rest)
            alignments.extend(compare_parts(query_rest, candidate_rest, config=_COMPARE_CONFIG))
            alignments = _repair_loose_parts(alignments, person=NameTypeTag.PER in (query.tag, candidate.tag))
        score, evidence, substitution = _score_alignments(alignments, query, candidate, exact_spelling)
        if score > best.score:
            best = NameComparison(score, query.original, candidate.original, evidence, substitution)
    return best


def _compare_object_names(query: str, candidate: str) -> NameComparison:
    """Vessels and other objects: whole-string edit similarity, numbers must agree.

    Object names are short and brand-like ("Snow" vs "Snoe" are two ships), so each edit
    costs more than in a person's name.
    """
    q = " ".join(query.lower().split())
    c = " ".join(candidate.lower().split())
    if not q or not c:
        return NO_NAME
    distance = levenshtein(q, c)
    score = max(0.0, 1.0 - 1.5 * distance / max(len(q), len(c)))
    if [ch for ch in q if ch.isdigit()] != [ch for ch in c if ch.isdigit()]:
        score = min(score, SUBSTITUTION_CAP)
    outcome = PartOutcome.LITERAL if distance == 0 else PartOutcome.FUZZY
    part = PartEvidence(query=q, candidate=c, outcome=outcome, score=round(score, 4), weight=1.0)
    return NameComparison(score, query, candidate, (part,))


def has_han(text: str) -> bool:
    return "Han" in text_scripts(text)


# Chinese legal forms, longest first, as the English forms rigour recognises, so that a
# firm's pinyin name meets its registered English name's legal form ("... Co., Ltd.").
_HAN_LEGAL_FORMS = (
    ("股份有限公司", "Joint Stock Company"),
    ("有限责任公司", "Limited Liability Company"),
    ("有限公司", "Limited"),
    ("合伙企业", "Partnership"),
)


def han_to_latin(text: str, kind: NameKind = NameKind.PERSON) -> str | None:
    """Hanyu pinyin without tones, syllables apart: '张伟' -> 'zhang wei' (None without ICU).

    For organisations a trailing legal form is translated rather than transliterated:
    '福州金山建设有限公司' -> 'fu zhou jin shan jian she Limited'.
    """
    if _HAN_TO_LATIN is None:
        return None
    stem, legal_form = text.strip(), ""
    if kind is not NameKind.PERSON:
        for han, english in _HAN_LEGAL_FORMS:
            if stem.endswith(han):
                stem, legal_form = stem[: -len(han)], english
                break
    latin = str(_HAN_TO_LATIN.transliterate(stem))
    return f"{latin} {legal_form}".strip()


def _bridged_forms(name: str, other: str, kind: NameKind) -> list[str]:
    """The name, plus its pinyin when the other side is not written in Han characters.

    Two Han names are compared in Han: pinyin would merge homophones (高市/高石 both
    'gao shi'), so transliteration is used only to bridge scripts.
    """
    forms = [name]
    if has_han(name) and not has_han(other):
        # Both the plain pinyin and, for firms, the form with a translated legal form.
        for variant in (han_to_latin(name), han_to_latin(name, kind)):
            if variant and variant not in forms:
                forms.append(variant)
    return forms


@lru_cache(maxsize=65536)
def compare_names(query: str, candidate: str, kind: NameKind) -> NameComparison:
    """Compare two name strings of the same kind; the best alignment wins.

    Cached (the result is immutable): a screening meets the same common names again and again, and a
    check often compares its query with several listed people of the same name.
    """
    if kind is NameKind.OBJECT:
        return _compare_object_names(query, candidate)
    best = NameComparison(score=0.0, query_name=query, candidate_name=candidate)
    query_forms = _bridged_forms(query, candidate, kind)
    candidate_forms = _bridged_forms(candidate, query, kind)
    # Pinyin is a deterministic spelling of the characters: one letter off is another
    # character (xiaoming / xiaoping), not a typo, so bridged comparisons allow no fuzz.
    exact_spelling = len(query_forms) + len(candidate_forms) > 2
    query_names = [n for form in query_forms for n in analyze(form, kind, True)]
    candidate_names = [n for form in candidate_forms for n in analyze(form, kind, False)]
    for query_name in query_names:
        for candidate_name in candidate_names:
            result = _compare_name_objects(query_name, candidate_name, exact_spelling)
            if result.score > best.score:
                best = result
                if best.score >= 1.0:
                    return best
    return best


def compare_name_sets(queries: list[str], candidates: list[str], kind: NameKind) -> NameComparison:
    """Compare every query name with every candidate name (aliases); the best pair wins."""
    best = NO_NAME
    for query in queries:
        for candidate in candidates:
            result = compare_names(query, candidate, kind)
            if result.score > best.score:
                best = result
                if best.score >= 1.0:
                    return best
    return best
