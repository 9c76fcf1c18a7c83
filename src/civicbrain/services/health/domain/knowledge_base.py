"""The DDXPlus knowledge base: evidences (questions) and pathologies, as shipped in ``health/data``.

The English release (CC-BY, Fansi Tchango et al. 2022) ships inside the package. Evidence values are
normalised to strings everywhere ("0".."10" for scales, "V_123" for coded values) so that answers coming
from a CSV, a web form or a simulated patient compare equal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

BINARY, CATEGORICAL, MULTI_CHOICE = "B", "C", "M"

#: Semigran et al.'s three urgency levels, most urgent first.
EMERGENCY, SEE_DOCTOR_SOON, SELF_CARE = "emergency", "see_a_doctor_soon", "self_care"


@dataclass(frozen=True)
class Evidence:
    """One question of the knowledge base, in its own wording."""

    code: str
    question: str
    data_type: str  # B, C or M
    is_antecedent: bool
    default: str | None  # None for binary evidences (absent means "no")
    values: tuple[str, ...] = ()
    value_labels: dict[str, str] = field(default_factory=dict)
    parent: str | None = None  # the yes/no question that must be "yes" before this one makes sense

    def label(self, value: str) -> str:
        return self.value_labels.get(value, value)


@dataclass(frozen=True)
class Pathology:
    name: str
    icd10: str
    severity: int  # 1 (most severe) .. 5
    symptoms: frozenset[str]
    antecedents: frozenset[str]

    @property
    def evidences(self) -> frozenset[str]:
        return self.symptoms | self.antecedents


@dataclass(frozen=True)
class KnowledgeBase:
    evidences: dict[str, Evidence]
    pathologies: dict[str, Pathology]

    @property
    def pathology_names(self) -> list[str]:
        return sorted(self.pathologies)

    def children(self, code: str) -> list[str]:
        return [e.code for e in self.evidences.values() if e.parent == code]


def _value_str(value: object) -> str:
    return str(value)


def parse_evidences(raw: dict) -> dict[str, Evidence]:
    evidences: dict[str, Evidence] = {}
    for code, item in raw.items():
        values = tuple(_value_str(v) for v in item.get("possible-values", []))
        labels = {_value_str(k): v.get("en", str(k)) for k, v in item.get("value_meaning", {}).items()}
        parent = item.get("code_question")
        dtype = item["data_type"]
        evidences[code] = Evidence(
            code=code,
            question=item["question_en"],
            data_type=dtype,
            is_antecedent=bool(item["is_antecedent"]),
            default=None if dtype == BINARY else _value_str(item["default_value"]),
            values=values,
            value_labels=labels,
            parent=parent if parent and parent != code and parent in raw else None,
        )
    return evidences


def parse_conditions(raw: dict) -> dict[str, Pathology]:
    return {
        name: Pathology(
            name=name,
            icd10=item["icd10-id"],
            severity=int(item["severity"]),
            symptoms=frozenset(item["symptoms"]),
            antecedents=frozenset(item["antecedents"]),
        )
        for name, item in raw.items()
    }


def _packaged(name: str) -> dict:
    return json.loads(resources.files("civicbrain.services.health").joinpath("data").joinpath(name).read_text("utf-8"))


@cache
def load_knowledge_base() -> KnowledgeBase:
    """The packaged English DDXPlus knowledge base (no file outside the package is read)."""
    return KnowledgeBase(
        evidences=parse_evidences(_packaged("release_evidences.json")),
        pathologies=parse_conditions(_packaged("release_conditions.json")),
    )


def reference_data_dir() -> Path:
    """Where the read-only reference data lives (patients, French subsets); only bench and training use it."""
    return Path(os.environ.get("CIVICBRAIN_REFERENCE_DATA", "/work/shared/data"))
