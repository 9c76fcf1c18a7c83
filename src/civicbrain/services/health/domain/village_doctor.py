"""Village-doctor decision support: free text -> knowledge-base evidences -> ranked diagnoses -> next questions.

Text mapping uses TF-IDF over character n-grams (robust to spelling and inflection: "coughing" ~ "cough")
against the wording of each evidence's question, clause by clause, with a simple negation rule ("no fever",
"denies chest pain" become a "no"). Nothing is downloaded: the vocabulary is the knowledge base itself.
The ranking reuses the AI doctor's evidence model, so the village doctor and the patient chat agree; every
candidate comes with the evidence for and against it, and the suggested questions are those that best
separate the leading candidates (information gain over the posterior restricted to them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from .consultation import Candidate, Consultation, DoctorPolicy, Question
from .knowledge_base import BINARY, KnowledgeBase, load_knowledge_base

NEGATIONS = re.compile(r"\b(no|not|never|without|denies|deny|denied|none|don't|doesn't|didn't|haven't|hasn't)\b", re.I)
CLAUSE_SPLIT = re.compile(r"[.;!?\n]|,|\bbut\b|\band\b|\balso\b", re.I)
QUESTION_NOISE = re.compile(
    r"\b(do|does|did|have|has|are|is|you|your|been|ever|any|feel|noticed|experience|experiencing|a|an|the)\b", re.I
)


@dataclass(frozen=True)
class MappedEvidence:
    code: str
    question: str
    present: bool
    similarity: float
    source_text: str


def _question_phrase(question: str) -> str:
    # "Do you have a fever (either felt...)?" -> "fever either felt ..." : keep what carries the meaning
    return " ".join(QUESTION_NOISE.sub(" ", question.lower()).replace("?", " ").split())


class EvidenceTextMatcher:
    """Maps clinical free text to yes/no evidences of the knowledge base.

    Parameters
    ----------
    min_similarity : cosine similarity a clause needs with an evidence's wording to count as mentioning it.
    ngram_range : character n-gram sizes.
    """

    def __init__(self, min_similarity: float = 0.4, ngram_range: tuple[int, int] = (3, 5)):
        self.min_similarity = min_similarity
        self.ngram_range = ngram_range

    def fit(self, kb: KnowledgeBase | None = None) -> EvidenceTextMatcher:
        self.kb_ = kb or load_knowledge_base()
        # each evidence is matched on its full wording and on its head (before any parenthesis), so that
        # "fever" finds "Do you have a fever (either felt or measured with a thermometer)?"
        self.codes_, phrases = [], []
        for code, evidence in self.kb_.evidences.items():
            if evidence.data_type != BINARY:
                continue
            full = _question_phrase(evidence.question)
            head = _question_phrase(evidence.question.split("(")[0])
            for phrase in {full, head}:
                self.codes_.append(code)
                phrases.append(phrase)
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, sublinear_tf=True)
        self.evidence_vectors_ = self.vectorizer_.fit_transform(phrases)
        return self

    def similarities(self, texts: list[str]) -> np.ndarray:
        """Cosine similarity of each text with each evidence wording (rows: texts)."""
        return (self.vectorizer_.transform([t.lower() for t in texts]) @ self.evidence_vectors_.T).toarray()

    def map_text(self, text: str) -> list[MappedEvidence]:
        clauses = [c.strip() for c in CLAUSE_SPLIT.split(text) if len(c.strip()) > 2]
        if not clauses:
            return []
        sims = self.similarities(clauses)
        found: dict[str, MappedEvidence] = {}
        for clause, row in zip(clauses, sims, strict=True):
            best = int(np.argmax(row))
            if row[best] < self.min_similarity:
                continue
            code = self.codes_[best]
            mapped = MappedEvidence(
                code, self.kb_.evidences[code].question, not NEGATIONS.search(clause), float(row[best]), clause
            )
            if code not in found or mapped.similarity > found[code].similarity:
                found[code] = mapped
        return sorted(found.values(), key=lambda m: -m.similarity)


@dataclass(frozen=True)
class DecisionSupport:
    mapped: tuple[MappedEvidence, ...]
    candidates: tuple[Candidate, ...]
    next_questions: tuple[Question, ...]


def support(
    text: str = "",
    picked: dict[str, object] | None = None,
    age: int = 40,
    sex: str = "F",
    matcher: EvidenceTextMatcher | None = None,
    n_candidates: int = 5,
    n_questions: int = 3,
) -> DecisionSupport:
    """Rank diagnoses from free text and/or picked evidences ({code: answer}); suggest separating questions."""
    from .doctor import default_bundle

    evidence_model, differential = default_bundle()
    matcher = matcher or _default_matcher()
    mapped = matcher.map_text(text) if text else []
    answers: dict[str, object] = {m.code: m.present for m in mapped}
    answers.update(picked or {})
    positives = [c for c, a in answers.items() if a is True]
    if not positives:
        raise ValueError("text: no symptom of the knowledge base was recognised; pick at least one present finding")
    consultation = Consultation(evidence_model, age, sex, positives[0], DoctorPolicy(), differential)
    for code, answer in answers.items():
        if code != positives[0] and code not in consultation.answers and code not in consultation.implied:
            consultation.answer(code, answer)  # type: ignore[arg-type]
    candidates = tuple(consultation.leading_candidates(n_candidates))
    ranked = [c.pathology for c in candidates]
    # questions that separate the leading candidates: information gain with the others ruled out
    top = np.isin(np.array(evidence_model.classes_), ranked)
    consultation.log_posterior = np.where(top, consultation.log_posterior, -1e9)
    gains = consultation.information_gains()
    best = sorted(gains, key=gains.__getitem__, reverse=True)[:n_questions]
    kb = evidence_model.kb_
    kinds = {BINARY: "yes_no", "C": "choose_one", "M": "choose_any"}
    questions = tuple(
        Question(
            code,
            kb.evidences[code].question,
            kinds[kb.evidences[code].data_type],
            tuple((v, kb.evidences[code].label(v)) for v in kb.evidences[code].values),
            float(gains[code] / np.log(2)),
        )
        for code in best
    )
    return DecisionSupport(tuple(mapped), candidates, questions)


_MATCHER: EvidenceTextMatcher | None = None


def _default_matcher() -> EvidenceTextMatcher:
    global _MATCHER
    if _MATCHER is None:
        _MATCHER = EvidenceTextMatcher().fit()
    return _MATCHER
