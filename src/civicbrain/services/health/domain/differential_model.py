"""Which pathologies a clinician should keep in mind: a multi-label model of the differential diagnosis.

The posterior of the evidence model answers "which pathology is it"; the differential answers "which ones can
this presentation not yet rule out", and the two differ (the DDXPlus differential of a patient with a sure
diagnosis still lists a dozen look-alikes). So the differential has its own model: one logistic regression per
pathology, "is it in the differential", over the evidence answers plus age band and sex, trained on patients
whose full evidence is known. During a consultation the questions not asked are replaced by their expected
value under the current posterior, and the consultation keeps asking the questions whose answers would move
these membership probabilities most (see ``question_scores``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from .evidence_model import AGE_EDGES, EvidenceNaiveBayes, age_bin
from .patients import PatientCase

N_AGE_BINS = len(AGE_EDGES) - 1


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


class DifferentialModel:
    """Per-pathology logistic regressions on evidence columns + age band + sex.

    Parameters
    ----------
    regularisation : inverse L2 strength (scikit-learn's ``C``).
    membership_threshold : a pathology joins the predicted differential at this membership probability.
    min_probability : the dataset's own cut-off for what counts as part of a differential.
    """

    def __init__(self, regularisation: float = 1.0, membership_threshold: float = 0.35, min_probability=0.01):
        self.regularisation = regularisation
        self.membership_threshold = membership_threshold
        self.min_probability = min_probability

    def _demographics(self, ages: Sequence[int], sexes: Sequence[str]) -> np.ndarray:
        extra = np.zeros((len(ages), N_AGE_BINS + 1))
        extra[np.arange(len(ages)), [age_bin(a) for a in ages]] = 1.0
        extra[:, -1] = [1.0 if s == "F" else 0.0 for s in sexes]
        return extra

    def fit(self, cases: Sequence[PatientCase], evidence_model: EvidenceNaiveBayes) -> DifferentialModel:
        self.classes_ = list(evidence_model.classes_)
        index = {name: i for i, name in enumerate(self.classes_)}
        x = np.hstack(
            [
                evidence_model.encode_cases(cases),
                self._demographics([c.age for c in cases], [c.sex for c in cases]),
            ]
        )
        y = np.zeros((len(cases), len(self.classes_)))
        for i, case in enumerate(cases):
            for name, p in case.differential:
                if p >= self.min_probability and name in index:
                    y[i, index[name]] = 1.0
        self.coef_ = np.zeros((len(self.classes_), x.shape[1]))
        self.intercept_ = np.zeros(len(self.classes_))
        for j in range(len(self.classes_)):
            positives = y[:, j].mean()
            if positives in (0.0, 1.0):  # never (or always) in a differential: a constant
                self.intercept_[j] = -30.0 if positives == 0.0 else 30.0
                continue
            fitted = LogisticRegression(C=self.regularisation, max_iter=200).fit(x, y[:, j])
            self.coef_[j] = fitted.coef_[0]
            self.intercept_[j] = fitted.intercept_[0]
        return self

    def features(self, expected_evidence: np.ndarray, age: int, sex: str) -> np.ndarray:
        return np.concatenate([expected_evidence, self._demographics([age], [sex])[0]])

    def membership(self, features: np.ndarray) -> np.ndarray:
        """P(pathology belongs to the differential) for every pathology."""
        return _sigmoid(self.coef_ @ features + self.intercept_)

    def question_scores(self, features: np.ndarray, spread: np.ndarray) -> np.ndarray:
        """How much each evidence column could still move the memberships: the column's standard deviation
        under the posterior times the summed sensitivity of the memberships that are still undecided."""
        p = self.membership(features)
        slope = p * (1 - p)
        n = len(spread)
        return spread * (slope @ np.abs(self.coef_[:, :n]))
