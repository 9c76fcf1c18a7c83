"""Fairness and outcome audits of an algorithm's decisions, by group, computed with Fairlearn.

For each algorithm: the favourable-outcome rate by region (urban/rural), age band and sex, and —
where ground truth exists (an appeal's result, an inspection) — the error rate by group, with the
disparity ratio (lowest group rate ÷ highest) and difference for each. Group attributes are read
from the person register at audit time; the ledger never holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, selection_rate
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicbrain.core.models import GroundTruth, LedgerEntry, Person
from civicbrain.core.register import AlgorithmCard

GROUP_ATTRIBUTES = ("region", "age_band", "sex")
MIN_GROUP_SIZE = 5  # smaller groups are reported but not used for the disparity ratio: too noisy


@dataclass
class GroupFigures:
    attribute: str
    groups: list[dict[str, Any]]
    favourable_ratio: float | None
    favourable_difference: float | None
    error_ratio: float | None = None
    error_difference: float | None = None


@dataclass
class AuditReport:
    algorithm: str
    modes: tuple[str, ...]
    decisions: int
    with_ground_truth: int
    favourable_outcomes: tuple[str, ...]
    overall_favourable_rate: float | None
    by_attribute: list[GroupFigures] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "modes": list(self.modes),
            "decisions": self.decisions,
            "with_ground_truth": self.with_ground_truth,
            "favourable_outcomes": list(self.favourable_outcomes),
            "overall_favourable_rate": self.overall_favourable_rate,
            "by_attribute": [g.__dict__ for g in self.by_attribute],
            "note": self.note,
            "method": "Fairlearn MetricFrame: selection rate of favourable outcomes and error rate against "
            "ground truth, per group; ratio = min/max over groups with at least "
            f"{MIN_GROUP_SIZE} decisions; difference = max - min.",
        }


def decisions_frame(session: Session, algorithm: str, modes: tuple[str, ...]) -> pd.DataFrame:
    """One row per automated decision about a registered person, with their groups and ground truth."""
    rows = session.execute(
        select(LedgerEntry.receipt, LedgerEntry.outcome_label, Person.region, Person.age_band, Person.sex)
        .join(Person, Person.ledger_ref == LedgerEntry.subject_ref)
        .where(
            LedgerEntry.algorithm == algorithm,
            LedgerEntry.kind == "automated",
            LedgerEntry.mode.in_(modes),
            Person.erased_at.is_(None),
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["receipt", "outcome", "region", "age_band", "sex"])
    truth = (
        dict(
            session.execute(
                select(GroundTruth.receipt, GroundTruth.was_correct).where(
                    GroundTruth.receipt.in_(frame["receipt"].tolist())
                )
            ).all()
        )
        if len(frame)
        else {}
    )
    frame["was_correct"] = frame["receipt"].map(truth)
    return frame


def audit_algorithm(
    session: Session, card: AlgorithmCard, *, modes: tuple[str, ...] = ("advisory", "live")
) -> AuditReport:
    frame = decisions_frame(session, card.id, modes)
    report = AuditReport(
        algorithm=card.id,
        modes=modes,
        decisions=len(frame),
        with_ground_truth=int(frame["was_correct"].notna().sum()) if len(frame) else 0,
        favourable_outcomes=card.favourable_outcomes,
        overall_favourable_rate=None,
    )
    if frame.empty:
        report.note = "No decisions about registered people yet."
        return report
    favourable = frame["outcome"].isin(card.favourable_outcomes).astype(int).to_numpy()
    report.overall_favourable_rate = float(favourable.mean()) if card.favourable_outcomes else None
    for attribute in GROUP_ATTRIBUTES:
        sensitive = frame[attribute].fillna("unknown")
        rates = MetricFrame(
            metrics={"favourable_rate": selection_rate},
            y_true=favourable,
            y_pred=favourable,
            sensitive_features=sensitive,
        )
        counts = sensitive.value_counts()
        groups = []
        for group, row in rates.by_group.iterrows():
            groups.append(
                {
                    "group": str(group),
                    "n": int(counts.get(group, 0)),
                    "favourable_rate": float(row["favourable_rate"]),
                }
            )
        figures = GroupFigures(attribute, groups, *_ratio_and_difference(rates.by_group["favourable_rate"], counts))
        known = frame["was_correct"].notna().to_numpy()
        if known.any():
            wrong = (~frame.loc[known, "was_correct"].astype(bool)).astype(int).to_numpy()
            errors = MetricFrame(
                metrics={"error_rate": selection_rate},
                y_true=wrong,
                y_pred=wrong,
                sensitive_features=sensitive[known],
            )
            err_counts = sensitive[known].value_counts()
            for g in groups:
                if g["group"] in errors.by_group.index:
                    g["error_rate"] = float(errors.by_group.loc[g["group"], "error_rate"])
                    g["n_with_ground_truth"] = int(err_counts.get(g["group"], 0))
            figures.error_ratio, figures.error_difference = _ratio_and_difference(
                errors.by_group["error_rate"], err_counts
            )
        report.by_attribute.append(figures)
    if not card.favourable_outcomes:
        report.note = "The card names no favourable outcome, so outcome rates are not comparable across groups."
    return report


def _ratio_and_difference(rates: pd.Series, counts: pd.Series) -> tuple[float | None, float | None]:
    usable = rates[[counts.get(g, 0) >= MIN_GROUP_SIZE for g in rates.index]]
    if len(usable) < 2:
        return None, None
    high, low = float(np.max(usable)), float(np.min(usable))
    ratio = (low / high) if high > 0 else 1.0
    return round(ratio, 4), round(high - low, 4)
