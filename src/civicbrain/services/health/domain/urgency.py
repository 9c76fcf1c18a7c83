"""Urgency advice on Semigran et al.'s three levels, with red-flag escalation.

Triage errs on the side of safety: a pathology of severity 1-2 (DDXPlus scale, 1 = most severe) that is still
reasonably likely sends the patient to emergency care even when it is not the most likely diagnosis, because
missing a pulmonary embolism costs far more than an unnecessary visit. The over-triage this causes is
measured and reported in the benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .knowledge_base import EMERGENCY, SEE_DOCTOR_SOON, SELF_CARE, KnowledgeBase

SEVERE_MAX_SEVERITY = 2  # severity 1-2: emergency
SELF_CARE_MIN_SEVERITY = 5  # severity 5: self-care is acceptable


@dataclass(frozen=True)
class UrgencyAdvice:
    level: str  # emergency / see_a_doctor_soon / self_care
    reasons: tuple[str, ...]
    severe_probability: float
    red_flag: bool
    red_flag_at_question: int | None = None


@dataclass
class TriagePolicy:
    """Thresholds on the posterior mass of severe (1-2) and of self-care (5) pathologies."""

    emergency_threshold: float = 0.15  # total probability of severe pathologies that means emergency
    red_flag_threshold: float = 0.5  # one severe pathology this likely raises the alarm mid-dialogue
    self_care_threshold: float = 0.9  # mass on self-care pathologies needed to advise self-care

    def red_flag(self, posterior: np.ndarray, classes: Sequence[str], kb: KnowledgeBase | None = None) -> bool:
        severe = self._severe_mask(classes, kb)
        return bool((posterior * severe).max() >= self.red_flag_threshold)

    @staticmethod
    def _severe_mask(classes: Sequence[str], kb: KnowledgeBase | None) -> np.ndarray:
        from .knowledge_base import load_knowledge_base

        kb = kb or load_knowledge_base()
        return np.array([kb.pathologies[c].severity <= SEVERE_MAX_SEVERITY for c in classes], dtype=float)

    def advise(
        self,
        posterior: np.ndarray,
        classes: Sequence[str],
        kb: KnowledgeBase,
        red_flag_at: int | None = None,
    ) -> UrgencyAdvice:
        severe = self._severe_mask(classes, kb)
        severe_mass = float(posterior @ severe)
        order = np.argsort(-posterior)
        severe_named = [
            f"{classes[i]} ({posterior[i]:.0%}, severity {kb.pathologies[classes[i]].severity})"
            for i in order
            if severe[i] and posterior[i] >= 0.02
        ][:3]
        if red_flag_at is not None or severe_mass >= self.emergency_threshold:
            reasons = [f"severe pathologies hold {severe_mass:.0%} of the probability: " + ", ".join(severe_named)]
            if red_flag_at is not None:
                reasons.append(f"red flag raised after question {red_flag_at}")
            return UrgencyAdvice(EMERGENCY, tuple(reasons), severe_mass, red_flag_at is not None, red_flag_at)
        mild = np.array([kb.pathologies[c].severity >= SELF_CARE_MIN_SEVERITY for c in classes], dtype=float)
        mild_mass = float(posterior @ mild)
        top = classes[int(order[0])]
        if mild_mass >= self.self_care_threshold:
            return UrgencyAdvice(
                SELF_CARE,
                (
                    f"mild conditions hold {mild_mass:.0%} of the probability (most likely {top})",
                    f"severe pathologies only {severe_mass:.0%}; see a doctor if symptoms worsen",
                ),
                severe_mass,
                False,
            )
        return UrgencyAdvice(
            SEE_DOCTOR_SOON,
            (
                f"most likely {top} ({posterior[order[0]]:.0%}), which needs a clinician's assessment",
                f"severe pathologies {severe_mass:.0%}, below the emergency threshold {self.emergency_threshold:.0%}",
            ),
            severe_mass,
            False,
        )
