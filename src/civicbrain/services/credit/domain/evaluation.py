"""Scoring a name matcher on labelled pairs, ours beside nomenklatura's logic-v2.

The pair format is nomenklatura's name benchmark (``contrib/name_bench/cases.csv``):
``case_group, schema, name1, name2, is_match, ...``. Protocol, identical for both
matchers: each pair becomes two entities of the row's schema carrying only the name;
a pair is predicted a match when the score reaches the threshold (0.7, the name bench's
default and our stated threshold). Logic-v2 runs in the same process on the same rows
(``LogicV2.compare`` with its default config, as the name bench's own wrapper does).

``civicbrain credit match-eval --pairs FILE.csv`` calls ``evaluate_pairs`` so that the
matcher can be checked on pairs it was never developed on.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicbrain.services.credit.domain.matching import DEFAULT_THRESHOLD
from civicbrain.services.credit.domain.names import NameKind, compare_name_sets, compare_names

PairScorer = Callable[[str, str, str], float]


@dataclass(frozen=True)
class LabelledPair:
    schema: str
    name1: str
    name2: str
    is_match: bool
    case_group: str = ""


def read_pairs(csv_path: str | Path) -> list[LabelledPair]:
    """Read a name-bench CSV; a missing column or a bad label names the row."""
    pairs: list[LabelledPair] = []
    with open(csv_path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"schema", "name1", "name2", "is_match"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"pairs: missing column(s) {sorted(missing)} in {csv_path}")
        for line, row in enumerate(reader, start=2):
            label = (row["is_match"] or "").strip().lower()
            if label not in {"true", "false", "1", "0"}:
                raise ValueError(f"pairs: is_match must be true/false on line {line}, got {label!r}")
            pairs.append(
                LabelledPair(
                    schema=(row["schema"] or "Person").strip(),
                    name1=row["name1"],
                    name2=row["name2"],
                    is_match=label in {"true", "1"},
                    case_group=row.get("case_group") or "",
                )
            )
    return pairs


@dataclass(frozen=True)
class EntityCheck:
    """One labelled query/candidate pair of nomenklatura's entity bench (name properties)."""

    schema: str
    query: dict[str, list[str]]
    candidate: dict[str, list[str]]
    is_match: bool


_NAME_PART_ORDER = ("firstName", "middleName", "fatherName", "lastName")


def read_entity_checks(yml_path: str | Path) -> list[EntityCheck]:
    import yaml

    with open(yml_path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    checks: list[EntityCheck] = []
    for item in data.get("checks", []):

        def props(side: dict[str, Any]) -> dict[str, list[str]]:
            return {k: [v] if isinstance(v, str) else [str(x) for x in v] for k, v in side.items()}

        checks.append(EntityCheck(item["schema"], props(item["query"]), props(item["candidate"]), bool(item["match"])))
    return checks


def entity_names(properties: dict[str, list[str]]) -> list[str]:
    """Full names, or the name parts joined in given-middle-patronymic-family order."""
    names = list(properties.get("name", []))
    parts = [" ".join(properties[p]) for p in _NAME_PART_ORDER if properties.get(p)]
    if parts:
        names.append(" ".join(parts))
    return names


def our_entity_score(check: EntityCheck) -> float:
    kind = NameKind.from_schema(check.schema)
    return compare_name_sets(entity_names(check.query), entity_names(check.candidate), kind).score


def logic_v2_entity_scorer() -> Callable[[EntityCheck], float] | None:
    try:
        from followthemoney import ValueEntity, model
        from nomenklatura.matching.logic_v2.model import LogicV2
    except ImportError:
        return None
    config = LogicV2.default_config()
    ids = itertools.count()

    def score(check: EntityCheck) -> float:
        schema = model.get(check.schema)
        if schema is None:
            return 0.0
        entities = []
        for side in (check.query, check.candidate):
            entity = ValueEntity(schema, {"id": f"e-{next(ids)}"})
            for prop, values in side.items():
                for value in values:
                    entity.add(prop, value)
            entities.append(entity)
        return float(LogicV2.compare(entities[0], entities[1], config).score)

    return score


def evaluate_entity_checks(yml_path: str | Path, threshold: float = DEFAULT_THRESHOLD) -> dict[str, dict[str, Any]]:
    """Ours and logic-v2 on the entity bench, same protocol as ``evaluate_pairs``."""
    checks = read_entity_checks(yml_path)
    labels = [c.is_match for c in checks]
    result: dict[str, dict[str, Any]] = {
        "ours": dict(confusion_metrics(labels, [our_entity_score(c) >= threshold for c in checks]))
    }
    reference = logic_v2_entity_scorer()
    if reference is None:
        result["logic_v2"] = {"available": False}
    else:
        result["logic_v2"] = dict(confusion_metrics(labels, [reference(c) >= threshold for c in checks]))
    return result


def our_pair_score(name1: str, name2: str, schema: str) -> float:
    return compare_names(name1, name2, NameKind.from_schema(schema)).score


def logic_v2_scorer() -> PairScorer | None:
    """nomenklatura's logic-v2, or None when the optional 'credit' extra is not installed."""
    try:
        from followthemoney import ValueEntity, model
        from nomenklatura.matching.logic_v2.model import LogicV2
    except ImportError:
        return None
    config = LogicV2.default_config()
    # logic-v2 memoises name analysis per entity, and entities hash by id: every pair
    # needs fresh ids or it would be scored with an earlier pair's names.
    ids = itertools.count()

    def score(name1: str, name2: str, schema: str) -> float:
        schema_obj = model.get(schema)
        if schema_obj is None:
            return 0.0
        query = ValueEntity(schema_obj, {"id": f"query-{next(ids)}"})
        query.add("name", name1)
        candidate = ValueEntity(schema_obj, {"id": f"candidate-{next(ids)}"})
        candidate.add("name", name2)
        return float(LogicV2.compare(query, candidate, config).score)

    return score


def confusion_metrics(labels: Iterable[bool], predictions: Iterable[bool]) -> dict[str, float | int]:
    tp = fp = fn = tn = 0
    for label, predicted in zip(labels, predictions, strict=True):
        if label and predicted:
            tp += 1
        elif predicted:
            fp += 1
        elif label:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "n": tp + fp + fn + tn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def score_pairs(pairs: list[LabelledPair], scorer: PairScorer, threshold: float) -> dict[str, Any]:
    scores = [scorer(p.name1, p.name2, p.schema) for p in pairs]
    metrics: dict[str, Any] = dict(confusion_metrics((p.is_match for p in pairs), (s >= threshold for s in scores)))
    metrics["threshold"] = threshold
    metrics["scores"] = scores
    return metrics


def evaluate_pairs(csv_path: str | Path, threshold: float = DEFAULT_THRESHOLD) -> dict[str, dict[str, Any]]:
    """Precision, recall, F1 and n of ours and of logic-v2 on the same pairs, same run."""
    pairs = read_pairs(csv_path)
    ours = score_pairs(pairs, our_pair_score, threshold)
    ours.pop("scores")
    result: dict[str, dict[str, Any]] = {"ours": ours}
    reference = logic_v2_scorer()
    if reference is None:
        result["logic_v2"] = {"available": False, "reason": "nomenklatura is not installed (pip install .[credit])"}
    else:
        logic_v2 = score_pairs(pairs, reference, threshold)
        logic_v2.pop("scores")
        result["logic_v2"] = logic_v2
    return result
