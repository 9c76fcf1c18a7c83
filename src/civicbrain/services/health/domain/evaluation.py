"""Scoring the AI doctor under the DDXPlus protocol.

GTPA@k: the true pathology is among the k most probable. DDR / DDP: recall / precision of the predicted
differential against the dataset's DIFFERENTIAL_DIAGNOSIS, both taken as the set of pathologies with
probability >= 0.01 (DIFFERENTIAL_THRESHOLD); DDF1 is the per-patient F1 of the two, averaged over patients,
as in Fansi Tchango et al. 2022 (their tables match a per-patient average, not the F1 of the means).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .consultation import DIFFERENTIAL_THRESHOLD, ConsultationResult, DoctorPolicy, run_simulated_consultation
from .differential_model import DifferentialModel
from .evidence_model import EvidenceNaiveBayes
from .knowledge_base import EMERGENCY, SELF_CARE, load_knowledge_base
from .patients import PatientCase, read_patients
from .urgency import SEVERE_MAX_SEVERITY

BUDGETS = (5, 10, 15, 20, 30)


def differential_scores(result: ConsultationResult, case: PatientCase) -> tuple[float, float, float]:
    truth = {name for name, p in case.differential if p >= DIFFERENTIAL_THRESHOLD}
    predicted = {c.pathology for c in result.differential}
    if not truth or not predicted:
        return 0.0, 0.0, 0.0
    hits = len(truth & predicted)
    recall, precision = hits / len(truth), hits / len(predicted)
    f1 = 0.0 if hits == 0 else 2 * recall * precision / (recall + precision)
    return recall, precision, f1


@dataclass
class CaseOutcome:
    pathology: str
    rank: int  # 0-based rank of the true pathology in the final posterior
    questions: int
    recall: float
    precision: float
    f1: float
    urgency: str
    severity: int
    top1_at_budget: dict[int, bool] = field(default_factory=dict)
    red_flag_at: int | None = None  # question after which the red flag escalated, if it did


def score_cases(
    model: EvidenceNaiveBayes,
    cases: Sequence[PatientCase],
    policy: DoctorPolicy,
    differential_model: DifferentialModel | None = None,
) -> list[CaseOutcome]:
    kb = model.kb_
    outcomes = []
    truth_index = {name: i for i, name in enumerate(model.classes_)}
    for case in cases:
        result, trace = run_simulated_consultation(
            model, case, policy, trace=True, differential_model=differential_model
        )
        ranking = result.ranking
        recall, precision, f1 = differential_scores(result, case)
        true_i = truth_index[case.pathology]
        at_budget = {b: int(np.argmax(trace[min(b, len(trace) - 1)])) == true_i for b in BUDGETS}
        outcomes.append(
            CaseOutcome(
                pathology=case.pathology,
                rank=ranking.index(case.pathology),
                questions=result.questions_asked,
                recall=recall,
                precision=precision,
                f1=f1,
                urgency=result.urgency.level,
                severity=kb.pathologies[case.pathology].severity,
                top1_at_budget=at_budget,
                red_flag_at=result.urgency.red_flag_at_question,
            )
        )
    return outcomes


def summarise(outcomes: Sequence[CaseOutcome]) -> dict:
    ranks = np.array([o.rank for o in outcomes])
    questions = np.array([o.questions for o in outcomes])
    severe = [o for o in outcomes if o.severity <= SEVERE_MAX_SEVERITY]
    not_severe = [o for o in outcomes if o.severity > SEVERE_MAX_SEVERITY]
    mild = [o for o in outcomes if o.severity >= 4]
    return {
        "n_patients": len(outcomes),
        "gtpa_at_1": float(np.mean(ranks < 1)),
        "top3": float(np.mean(ranks < 3)),
        "top5": float(np.mean(ranks < 5)),
        "ddr": float(np.mean([o.recall for o in outcomes])),
        "ddp": float(np.mean([o.precision for o in outcomes])),
        "ddf1": float(np.mean([o.f1 for o in outcomes])),
        "questions_mean": float(questions.mean()),
        "questions_histogram": {str(k): int(v) for k, v in zip(*np.unique(questions, return_counts=True), strict=True)},
        "gtpa_at_1_by_budget": {str(b): float(np.mean([o.top1_at_budget[b] for o in outcomes])) for b in BUDGETS},
        "severe_advised_emergency": float(np.mean([o.urgency == EMERGENCY for o in severe])) if severe else None,
        "n_severe": len(severe),
        "non_severe_advised_emergency": (
            float(np.mean([o.urgency == EMERGENCY for o in not_severe])) if not_severe else None
        ),
        "mild_advised_emergency": float(np.mean([o.urgency == EMERGENCY for o in mild])) if mild else None,
        "self_care_advised_for_severe": (float(np.mean([o.urgency == SELF_CARE for o in severe])) if severe else None),
        # escalated at once mid-dialogue: where the platform stops the chat and hands over
        "severe_red_flagged": float(np.mean([o.red_flag_at is not None for o in severe])) if severe else None,
        "severe_red_flag_question_mean": _mean_or_none([o.red_flag_at for o in severe if o.red_flag_at is not None]),
        "non_severe_red_flagged": (
            float(np.mean([o.red_flag_at is not None for o in not_severe])) if not_severe else None
        ),
    }


def _mean_or_none(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def evaluate(
    patients_csv: str | Path,
    budget: int = 30,
    models: tuple[EvidenceNaiveBayes, DifferentialModel] | None = None,
) -> dict:
    """Run the DDXPlus protocol with the shipped model on any DDXPlus-format CSV (English release codes).

    Returns fractions under the keys gtpa_at_1, top3, top5, ddr, ddp, ddf1, questions_mean, n_patients
    (plus budget curve and urgency figures). The shipped model was trained on patients_dev.csv: scoring
    that file with it is optimistic; bench/health_bench.py reports cross-validated figures instead.
    """
    from .doctor import default_bundle, default_policy

    if not 1 <= budget <= 30:
        raise ValueError("budget: must be between 1 and 30 questions (DDXPlus protocol)")
    model, differential = models or default_bundle()
    cases = read_patients(patients_csv, load_knowledge_base())
    unknown = {c.pathology for c in cases} - set(model.classes_)
    if unknown:
        raise ValueError(f"PATHOLOGY: unknown pathologies {sorted(unknown)}")
    policy = default_policy()
    policy.max_questions = budget
    return summarise(score_cases(model, cases, policy, differential)) | {"budget": budget}
