"""The AI doctor's history taking: one question at a time, chosen by expected information gain.

A Consultation holds the posterior over the 49 pathologies. At each step it scores every question that still
makes sense (not yet answered; sub-questions only once their parent is "yes") by how much the answer is
expected to reduce the entropy of the posterior, asks the best one in the knowledge base's own wording, and
stops when one pathology is likely enough, when no question would still teach anything, or at the budget.
Its result is a differential with the evidence for and against each candidate and an urgency level with its
reasons; it is advice for the clinician who takes over, never a decision on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .differential_model import DifferentialModel
from .evidence_model import EvidenceNaiveBayes, entropy, softmax
from .knowledge_base import BINARY, CATEGORICAL, MULTI_CHOICE
from .patients import Answer, PatientCase
from .urgency import TriagePolicy, UrgencyAdvice


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    kind: str  # "yes_no", "choose_one" or "choose_any"
    options: tuple[tuple[str, str], ...] = ()  # (value code, label)
    expected_information_bits: float = 0.0

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "text": self.text,
            "kind": self.kind,
            "options": [{"value": v, "label": label} for v, label in self.options],
            "expected_information_bits": round(self.expected_information_bits, 4),
        }


@dataclass(frozen=True)
class EvidenceContribution:
    code: str
    question: str
    answer: str
    log_likelihood_ratio: float  # > 0 supports the candidate, < 0 speaks against it


@dataclass(frozen=True)
class Candidate:
    pathology: str
    icd10: str
    severity: int
    probability: float
    evidence_for: tuple[EvidenceContribution, ...] = ()
    evidence_against: tuple[EvidenceContribution, ...] = ()


@dataclass(frozen=True)
class ConsultationResult:
    differential: tuple[Candidate, ...]  # the predicted differential (probability >= threshold), best first
    probabilities: dict[str, float]  # full posterior over every pathology
    urgency: UrgencyAdvice
    answers: tuple[tuple[str, str, str], ...]  # (code, question, answer label) in the order asked
    questions_asked: int
    stopped_because: str

    @property
    def ranking(self) -> list[str]:
        return sorted(self.probabilities, key=self.probabilities.__getitem__, reverse=True)


DIFFERENTIAL_THRESHOLD = 0.01  # same cut-off applied to the dataset's differential when scoring DDR/DDP


@dataclass
class DoctorPolicy:
    """The knobs of the dialogue (recorded on the algorithm card)."""

    max_questions: int = 30
    stop_confidence: float = 0.95
    min_information_bits: float = 1e-3
    differential_temperature: float = 1.0
    differential_threshold: float = DIFFERENTIAL_THRESHOLD
    multi_choice_samples: int = 24
    # once confident, up to this many more questions refine the differential (look-alikes to keep in mind)
    differential_questions: int = 10
    min_differential_score: float = 0.05
    triage: TriagePolicy = field(default_factory=TriagePolicy)


class Consultation:
    """One patient's history taking. Not thread-safe; one per conversation."""

    def __init__(
        self,
        model: EvidenceNaiveBayes,
        age: int,
        sex: str,
        initial_evidence: str,
        policy: DoctorPolicy,
        differential_model: DifferentialModel | None = None,
    ):
        if initial_evidence not in model.columns_:
            raise ValueError(f"initial_evidence: unknown evidence code {initial_evidence!r}")
        if sex not in ("M", "F"):
            raise ValueError("sex: must be 'M' or 'F'")
        self.model = model
        self.kb = model.kb_
        self.policy = policy
        self.differential_model = differential_model
        self.confident_at: int | None = None  # questions asked when the diagnosis first became confident
        self.age, self.sex, self.initial_evidence = age, sex, initial_evidence
        self.answers: dict[str, Answer] = {initial_evidence: True}
        self.asked: list[str] = []
        self.implied: set[str] = set()
        self.log_posterior = model.log_prior(age, sex, initial_evidence)
        self.red_flag_at: int | None = None
        self._rng = np.random.default_rng(0)  # fixed: the same answers always give the same questions
        self._imply_defaults(initial_evidence, True)

    # ------------------------------------------------------------ state
    @property
    def posterior(self) -> np.ndarray:
        return softmax(self.log_posterior)

    def _imply_defaults(self, code: str, answer: Answer) -> None:
        # a "no" to a parent question settles its sub-questions: they are not asked and add no evidence
        if answer is False:
            self.implied.update(self.kb.children(code))

    def answer(self, code: str, answer: Answer) -> None:
        """Record the patient's answer to ``code`` and update the posterior."""
        if code not in self.model.columns_:
            raise ValueError(f"code: unknown evidence {code!r}")
        if code in self.answers:
            raise ValueError(f"code: {code!r} was already answered")
        answer = self._normalise(code, answer)
        self.answers[code] = answer
        self.asked.append(code)
        self.log_posterior = self.log_posterior + self.model.answer_log_likelihood(code, answer)
        self._imply_defaults(code, answer)
        if self.red_flag_at is None and self.policy.triage.red_flag(self.posterior, self.model.classes_):
            self.red_flag_at = len(self.asked)

    def _normalise(self, code: str, answer: object) -> Answer:
        evidence = self.kb.evidences[code]
        if evidence.data_type == BINARY:
            if isinstance(answer, str):
                return answer.strip().lower() in ("yes", "y", "true", "1")
            return bool(answer)
        if evidence.data_type == CATEGORICAL:
            if isinstance(answer, list | tuple | set | frozenset) and len(answer) == 1:
                answer = next(iter(answer))  # a form may send a one-element list for a choose-one question
            value = str(answer)
            if value not in evidence.values:
                raise ValueError(f"answer: {value!r} is not a value of {code} ({list(evidence.values)})")
            return value
        values = frozenset(str(v) for v in ([answer] if isinstance(answer, str) else answer))  # type: ignore[union-attr]
        unknown = values - set(evidence.values)
        if unknown:
            raise ValueError(f"answer: {sorted(unknown)} are not values of {code}")
        return values or frozenset({evidence.default})  # type: ignore[arg-type]

    # ------------------------------------------------------------ question choice
    def _open_questions(self) -> list[str]:
        open_codes = []
        for code, evidence in self.kb.evidences.items():
            if code in self.answers or code in self.implied:
                continue
            if evidence.parent is not None and self.answers.get(evidence.parent) is not True:
                continue
            open_codes.append(code)
        return open_codes

    def information_gains(self) -> dict[str, float]:
        """Expected entropy reduction (nats) of the posterior for every open question."""
        pi = self.posterior
        prior_entropy = float(entropy(pi))
        model, weight = self.model, self.model.likelihood_weight
        gains: dict[str, float] = {}
        codes = self._open_questions()
        binary = [c for c in codes if model.columns_[c].data_type == BINARY]
        if binary:
            cols = np.array([model.columns_[c].start for c in binary])
            theta = model.theta_[:, cols]
            tempered = theta**weight
            p_yes = pi @ theta
            post_yes = pi[:, None] * tempered
            post_no = pi[:, None] * (1 - theta) ** weight
            h_yes = entropy((post_yes / post_yes.sum(axis=0)).T)
            h_no = entropy((post_no / post_no.sum(axis=0)).T)
            expected = p_yes * h_yes + (1 - p_yes) * h_no
            gains.update(zip(binary, (prior_entropy - expected).tolist(), strict=True))
        for code in codes:
            question = model.columns_[code]
            if question.data_type == CATEGORICAL:
                theta = model.theta_[:, question.start : question.stop]
                p_value = pi @ theta
                post = pi[:, None] * theta**weight
                h = entropy((post / np.maximum(post.sum(axis=0), 1e-300)).T)
                gains[code] = prior_entropy - float(p_value @ h)
            elif question.data_type == MULTI_CHOICE:
                gains[code] = prior_entropy - self._sampled_entropy(pi, question)
        return gains

    def _sampled_entropy(self, pi: np.ndarray, question) -> float:
        # a multi-choice answer is a set over up to 165 values: too many to enumerate, so sample answers
        # from the predictive distribution and average the posterior entropy they would leave
        n = self.policy.multi_choice_samples
        log_theta = self.model.log_theta_[:, question.start : question.stop]
        log_not = self.model.log_not_theta_[:, question.start : question.stop]
        theta = self.model.theta_[:, question.start : question.stop]
        pathologies = self._rng.choice(len(pi), size=n, p=pi)
        ticks = (self._rng.random((n, theta.shape[1])) < theta[pathologies]).astype(float)
        ll = self.model.likelihood_weight * (ticks @ log_theta.T + (1 - ticks) @ log_not.T)
        logp = np.log(np.clip(pi, 1e-300, None))[None, :] + ll
        logp -= logp.max(axis=1, keepdims=True)
        post = np.exp(logp)
        post /= post.sum(axis=1, keepdims=True)
        return float(entropy(post).mean())

    def _confident(self) -> bool:
        return bool(self.posterior.max() >= self.policy.stop_confidence)

    def stop_reason(self) -> str | None:
        if len(self.asked) >= self.policy.max_questions:
            return "question budget reached"
        if self._confident():
            if self.differential_model is None:
                return f"confident (top pathology >= {self.policy.stop_confidence:.0%})"
            if self.confident_at is not None and (
                len(self.asked) - self.confident_at >= self.policy.differential_questions
            ):
                return "confident, and the differential has been refined"
        return None

    def _membership_features(self) -> tuple[np.ndarray, np.ndarray]:
        expected, spread = self.model.expected_columns(self.posterior, self.answers, self.implied)
        return self.differential_model.features(expected, self.age, self.sex), spread  # type: ignore[union-attr]

    def differential_scores(self) -> dict[str, float]:
        """For every open question, how much its answer could still move the differential."""
        features, spread = self._membership_features()
        column_scores = self.differential_model.question_scores(features, spread)  # type: ignore[union-attr]
        return {
            code: float(column_scores[self.model.columns_[code].start : self.model.columns_[code].stop].sum())
            for code in self._open_questions()
        }

    def next_question(self) -> Question | None:
        """The most informative question still open, or None when the consultation should stop."""
        if self.stop_reason() is not None:
            return None
        if self._confident():
            # the diagnosis is settled: spend a few questions on what separates the look-alikes
            if self.confident_at is None:
                self.confident_at = len(self.asked)
            gains = self.differential_scores()
            threshold = self.policy.min_differential_score
        else:
            gains = self.information_gains()
            threshold = self.policy.min_information_bits * np.log(2)
        if not gains:
            return None
        code = max(gains, key=gains.__getitem__)
        if gains[code] < threshold:
            return None
        evidence = self.kb.evidences[code]
        kind = {BINARY: "yes_no", CATEGORICAL: "choose_one", MULTI_CHOICE: "choose_any"}[evidence.data_type]
        options = tuple((v, evidence.label(v)) for v in evidence.values)
        return Question(code, evidence.question, kind, options, float(gains[code] / np.log(2)))

    # ------------------------------------------------------------ result
    def _answer_label(self, code: str, answer: Answer) -> str:
        evidence = self.kb.evidences[code]
        if evidence.data_type == BINARY:
            return "yes" if answer else "no"
        if isinstance(answer, frozenset):
            return ", ".join(sorted(evidence.label(v) for v in answer))
        return evidence.label(str(answer))

    def _contributions(self, index: int, pi: np.ndarray) -> list[EvidenceContribution]:
        others = pi.copy()
        others[index] = 0.0
        others = others / max(others.sum(), 1e-300)
        result = []
        for code, answer in self.answers.items():
            if code == self.initial_evidence:
                ll = self.model.initial_log_prob_[:, self.model.columns_[code].start]
            else:
                ll = self.model.answer_log_likelihood(code, answer)
            rival = np.log(max(float(others @ np.exp(ll - ll.max())), 1e-300)) + ll.max()
            result.append(
                EvidenceContribution(
                    code, self.kb.evidences[code].question, self._answer_label(code, answer), float(ll[index] - rival)
                )
            )
        return result

    def _in_differential(self, shown: np.ndarray) -> np.ndarray:
        if self.differential_model is None:
            keep = shown >= self.policy.differential_threshold
        else:
            features, _ = self._membership_features()
            membership = self.differential_model.membership(features)
            keep = membership >= self.differential_model.membership_threshold
        keep[int(np.argmax(shown))] = True  # the leading hypothesis is always on the list
        return keep

    def _candidate(self, i: int, shown: np.ndarray, pi: np.ndarray) -> Candidate:
        pathology = self.kb.pathologies[self.model.classes_[i]]
        contributions = sorted(self._contributions(i, pi), key=lambda c: -c.log_likelihood_ratio)
        return Candidate(
            pathology=pathology.name,
            icd10=pathology.icd10,
            severity=pathology.severity,
            probability=float(shown[i]),
            evidence_for=tuple(c for c in contributions[:5] if c.log_likelihood_ratio > 0),
            evidence_against=tuple(c for c in contributions[::-1][:5] if c.log_likelihood_ratio < 0),
        )

    def leading_candidates(self, n: int) -> list[Candidate]:
        """The n most probable pathologies with their evidence, whether or not they are in the differential."""
        pi = self.posterior
        return [self._candidate(int(i), pi, pi) for i in np.argsort(-pi)[:n]]

    def result(self, stopped_because: str | None = None) -> ConsultationResult:
        pi = self.posterior
        shown = softmax(self.log_posterior, self.policy.differential_temperature)
        classes = self.model.classes_
        order = np.argsort(-shown)
        keep = self._in_differential(shown)
        candidates = [self._candidate(int(i), shown, pi) for i in order if keep[i]]
        answers = tuple(
            (code, self.kb.evidences[code].question, self._answer_label(code, self.answers[code]))
            for code in [self.initial_evidence, *self.asked]
        )
        return ConsultationResult(
            differential=tuple(candidates),
            probabilities={name: float(p) for name, p in zip(classes, shown, strict=True)},
            urgency=self.policy.triage.advise(pi, classes, self.kb, red_flag_at=self.red_flag_at),
            answers=answers,
            questions_asked=len(self.asked),
            stopped_because=stopped_because or self.stop_reason() or "stopped by caller",
        )


def run_simulated_consultation(
    model: EvidenceNaiveBayes,
    case: PatientCase,
    policy: DoctorPolicy,
    trace: bool = False,
    differential_model: DifferentialModel | None = None,
) -> tuple[ConsultationResult, list[np.ndarray]]:
    """DDXPlus protocol: the patient answers from their own evidence set (absent => no / default).

    With ``trace`` the posterior after every question is returned too (for accuracy-vs-budget curves).
    """
    consultation = Consultation(model, case.age, case.sex, case.initial_evidence, policy, differential_model)
    posteriors = [consultation.log_posterior.copy()] if trace else []
    stopped = None
    while True:
        question = consultation.next_question()
        if question is None:
            stopped = consultation.stop_reason() or "no informative question left"
            break
        consultation.answer(question.code, case.answer(question.code, model.kb_))
        if trace:
            posteriors.append(consultation.log_posterior.copy())
    return consultation.result(stopped), posteriors
