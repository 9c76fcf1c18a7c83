"""A per-pathology likelihood model of every evidence, learned from patients with the knowledge base as prior.

Why naive Bayes: the DDXPlus generator samples each patient's evidences from the pathology's own symptom and
antecedent lists, so "is this evidence on the pathology's list at all" is hard knowledge we can encode exactly
(off-list evidences get a tiny probability), while the in-list rates are learned from a few dozen patients per
pathology, shrunk towards the rate pooled over every pathology that lists the evidence. The posterior is then
cheap to update one answer at a time, which the question chooser needs.

Answer encoding (one column per answerable unit):
  binary evidence            one column, P(yes)
  categorical evidence       one column per value, a categorical distribution (columns of a group sum to 1)
  multi-choice evidence      one column per value, independent P(value ticked)
Sub-questions (pain location after "do you have pain") are modelled conditionally on their parent being "yes".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .knowledge_base import BINARY, CATEGORICAL, MULTI_CHOICE, KnowledgeBase, load_knowledge_base
from .patients import Answer, PatientCase

AGE_EDGES = (0, 1, 5, 12, 18, 30, 45, 60, 75, 200)


@dataclass(frozen=True)
class QuestionColumns:
    code: str
    data_type: str
    start: int
    stop: int
    values: tuple[str, ...]


def build_columns(kb: KnowledgeBase) -> dict[str, QuestionColumns]:
    columns: dict[str, QuestionColumns] = {}
    start = 0
    for code in sorted(kb.evidences, key=lambda c: int(c.split("_")[1])):
        evidence = kb.evidences[code]
        width = 1 if evidence.data_type == BINARY else len(evidence.values)
        columns[code] = QuestionColumns(code, evidence.data_type, start, start + width, evidence.values)
        start += width
    return columns


def age_bin(age: int) -> int:
    index = int(np.searchsorted(AGE_EDGES, max(age, 0), side="right")) - 1
    return min(index, len(AGE_EDGES) - 2)


def encode_answer(question: QuestionColumns, answer: Answer) -> np.ndarray:
    """0/1 vector over the question's columns."""
    row = np.zeros(question.stop - question.start)
    if question.data_type == BINARY:
        row[0] = 1.0 if answer else 0.0
    elif question.data_type == CATEGORICAL:
        row[question.values.index(str(answer))] = 1.0
    else:
        for value in answer:  # type: ignore[union-attr]
            row[question.values.index(value)] = 1.0
    return row


class EvidenceNaiveBayes:
    """Smoothed per-pathology likelihoods of every evidence answer, with age, sex and first-complaint priors.

    Parameters
    ----------
    smoothing : pseudo-count pulling an in-list rate towards the rate pooled over pathologies listing it.
    off_list_probability : probability of an evidence the pathology's knowledge-base list does not contain.
    prior_smoothing : pseudo-count for class, age, sex and initial-evidence distributions.
    likelihood_weight : exponent on evidence likelihoods (< 1 tempers naive Bayes' over-confidence).
    """

    def __init__(
        self,
        smoothing: float = 2.0,
        off_list_probability: float = 1e-4,
        prior_smoothing: float = 1.0,
        likelihood_weight: float = 1.0,
    ):
        self.smoothing = smoothing
        self.off_list_probability = off_list_probability
        self.prior_smoothing = prior_smoothing
        self.likelihood_weight = likelihood_weight

    # ---------------------------------------------------------------- fitting
    def encode_cases(self, cases: Sequence[PatientCase]) -> np.ndarray:
        matrix = np.zeros((len(cases), self.n_columns_))
        for i, case in enumerate(cases):
            for code, question in self.columns_.items():
                matrix[i, question.start : question.stop] = encode_answer(question, case.answer(code, self.kb_))
        return matrix

    def fit(
        self,
        cases: Sequence[PatientCase],
        extra_cases: Sequence[PatientCase] = (),
        kb: KnowledgeBase | None = None,
    ) -> EvidenceNaiveBayes:
        """Learn from ``cases`` (likelihoods and class prior) and ``extra_cases`` (likelihoods only, e.g. the
        French-coded subsets whose pathology mix differs from the population we triage)."""
        self.kb_ = kb or load_knowledge_base()
        self.classes_ = self.kb_.pathology_names
        self.columns_ = build_columns(self.kb_)
        self.n_columns_ = max(q.stop for q in self.columns_.values())
        class_index = {name: i for i, name in enumerate(self.classes_)}
        all_cases = list(cases) + list(extra_cases)
        x = self.encode_cases(all_cases)
        y = np.array([class_index[c.pathology] for c in all_cases])
        n_classes = len(self.classes_)
        onehot = np.zeros((len(all_cases), n_classes))
        onehot[np.arange(len(all_cases)), y] = 1.0

        # in_list[d, question] : the knowledge base lists this evidence for this pathology
        codes = list(self.columns_)
        in_list = np.array([[code in self.kb_.pathologies[name].evidences for code in codes] for name in self.classes_])
        theta = np.zeros((n_classes, self.n_columns_))
        for qi, code in enumerate(codes):
            question = self.columns_[code]
            cols = slice(question.start, question.stop)
            parent = self.kb_.evidences[code].parent
            eligible = np.ones(len(all_cases), bool)
            if parent is not None:  # model the sub-question given its parent is "yes"
                eligible = x[:, self.columns_[parent].start] > 0
            counts = onehot[eligible].T @ x[eligible, cols]  # (classes, width)
            totals = onehot[eligible].sum(axis=0)[:, None]
            listed = in_list[:, qi]
            pooled_rows = listed[y] & eligible
            if pooled_rows.any():
                pooled = x[pooled_rows, cols].mean(axis=0)
            else:
                pooled = np.full(question.stop - question.start, 0.5)
            pooled = np.clip(pooled, 0.02, 0.98) if question.data_type != CATEGORICAL else pooled + 0.01
            if question.data_type == CATEGORICAL:
                pooled = pooled / pooled.sum()
            rates = (counts + self.smoothing * pooled) / (totals + self.smoothing)
            off = self._off_list_rates(question)
            rates[~listed] = off
            if question.data_type == CATEGORICAL:
                rates = rates / rates.sum(axis=1, keepdims=True)
            theta[:, cols] = np.clip(rates, 1e-6, 1 - 1e-6) if question.data_type != CATEGORICAL else rates
        self.theta_ = theta
        self._structure = None
        self.log_theta_ = np.log(theta)
        self.log_not_theta_ = np.log1p(-np.clip(theta, 0, 1 - 1e-9))

        primary = np.array([class_index[c.pathology] for c in cases])
        self.class_log_prior_ = self._log_categorical(np.bincount(primary, minlength=n_classes))
        ages = np.array([age_bin(c.age) for c in all_cases])
        self.age_log_prob_ = self._log_conditional(y, ages, len(AGE_EDGES) - 1)
        sexes = np.array([1 if c.sex == "F" else 0 for c in all_cases])
        self.sex_log_prob_ = self._log_conditional(y, sexes, 2)
        # P(first complaint = e | pathology): the chief complaint is strongly pathology specific
        first = np.array([self.columns_[c.initial_evidence].start for c in all_cases])
        self.initial_log_prob_ = self._log_initial(y, first, in_list, codes)
        return self

    def _off_list_rates(self, question: QuestionColumns) -> np.ndarray:
        eps = self.off_list_probability
        width = question.stop - question.start
        if question.data_type == BINARY:
            return np.array([eps])
        evidence = self.kb_.evidences[question.code]
        rates = np.full(width, eps)
        if evidence.default in question.values:
            rates[question.values.index(evidence.default)] = 1 - eps
        return rates

    def _log_categorical(self, counts: np.ndarray) -> np.ndarray:
        smoothed = counts + self.prior_smoothing
        return np.log(smoothed / smoothed.sum())

    def _log_conditional(self, y: np.ndarray, values: np.ndarray, n_values: int) -> np.ndarray:
        table = np.zeros((len(self.classes_), n_values))
        np.add.at(table, (y, values), 1.0)
        pooled = (table.sum(axis=0) + 1.0) / (table.sum() + n_values)
        smoothed = table + 5.0 * self.prior_smoothing * pooled
        return np.log(smoothed / smoothed.sum(axis=1, keepdims=True))

    def _log_initial(self, y, first_columns, in_list, codes) -> np.ndarray:
        n_classes = len(self.classes_)
        table = np.zeros((n_classes, self.n_columns_))
        np.add.at(table, (y, first_columns), 1.0)
        # prior: any listed binary symptom may be the first complaint, in proportion to its rate
        prior = np.zeros_like(table)
        for qi, code in enumerate(codes):
            question = self.columns_[code]
            if question.data_type == BINARY and not self.kb_.evidences[code].is_antecedent:
                prior[:, question.start] = np.where(in_list[:, qi], self.theta_[:, question.start], 0.0)
        prior = prior / np.maximum(prior.sum(axis=1, keepdims=True), 1e-12)
        smoothed = table + self.prior_smoothing * prior + 1e-6
        return np.log(smoothed / smoothed.sum(axis=1, keepdims=True))

    # ---------------------------------------------------------------- inference
    def log_prior(self, age: int, sex: str, initial_evidence: str) -> np.ndarray:
        """Log-probabilities (unnormalised) from age, sex and the first complaint."""
        return (
            self.class_log_prior_
            + self.age_log_prob_[:, age_bin(age)]
            + self.sex_log_prob_[:, 1 if sex == "F" else 0]
            + self.likelihood_weight * self.initial_log_prob_[:, self.columns_[initial_evidence].start]
        )

    def answer_log_likelihood(self, code: str, answer: Answer) -> np.ndarray:
        """Log P(answer | pathology) for every pathology, tempered by ``likelihood_weight``."""
        question = self.columns_[code]
        cols = slice(question.start, question.stop)
        row = encode_answer(question, answer)
        if question.data_type == BINARY:
            ll = self.log_theta_[:, question.start] if row[0] else self.log_not_theta_[:, question.start]
        elif question.data_type == CATEGORICAL:
            ll = self.log_theta_[:, cols] @ row
        else:
            ll = self.log_theta_[:, cols] @ row + self.log_not_theta_[:, cols] @ (1 - row)
        return self.likelihood_weight * ll

    def _column_structure(self) -> tuple[np.ndarray, np.ndarray]:
        """Per column: the column of its parent question (-1 if none) and its value under the default answer."""
        if getattr(self, "_structure", None) is None:
            parent_col = np.full(self.n_columns_, -1)
            default_row = np.zeros(self.n_columns_)
            for code, question in self.columns_.items():
                evidence = self.kb_.evidences[code]
                if evidence.parent is not None:
                    parent_col[question.start : question.stop] = self.columns_[evidence.parent].start
                if evidence.data_type != BINARY:
                    default_answer = (
                        frozenset({evidence.default}) if evidence.data_type == MULTI_CHOICE else evidence.default
                    )
                    default_row[question.start : question.stop] = encode_answer(question, default_answer)
            self._structure = (parent_col, default_row)
        return self._structure

    def expected_columns(
        self, posterior: np.ndarray, answers: Mapping[str, Answer], implied: set[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every column's value: exact where answered, its posterior-predictive mean where not.

        Returns (expected value, standard deviation); the deviation is 0 for what is already known.
        """
        parent_col, default_row = self._column_structure()
        parent_yes = np.where(parent_col >= 0, self.theta_[:, np.maximum(parent_col, 0)], 1.0)
        for code, answer in answers.items():  # a parent answered "yes" is certain
            if answer is True:
                parent_yes[:, parent_col == self.columns_[code].start] = 1.0
        expected = posterior @ (parent_yes * self.theta_ + (1 - parent_yes) * default_row)
        spread = np.sqrt(np.clip(expected * (1 - expected), 0, None))
        for code in implied:
            question = self.columns_[code]
            expected[question.start : question.stop] = default_row[question.start : question.stop]
            spread[question.start : question.stop] = 0.0
        for code, answer in answers.items():
            question = self.columns_[code]
            expected[question.start : question.stop] = encode_answer(question, answer)
            spread[question.start : question.stop] = 0.0
        return expected, spread

    def log_posterior(self, age: int, sex: str, initial_evidence: str, answers: Mapping[str, Answer]):
        logp = self.log_prior(age, sex, initial_evidence)
        for code, answer in answers.items():
            logp = logp + self.answer_log_likelihood(code, answer)
        return logp


def softmax(logp: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logp / temperature
    z = z - z.max()
    p = np.exp(z)
    return p / p.sum()


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    return -(p * np.log(np.clip(p, 1e-300, None))).sum(axis=axis)


__all__ = ["EvidenceNaiveBayes", "softmax", "entropy", "build_columns", "encode_answer", "MULTI_CHOICE"]
