"""DDXPlus patient records: parsing the CSV format and answering questions as a simulated patient.

A patient's evidence set lists only what is present; anything absent answers "no" (binary) or the
evidence's default value (categorical / multi-choice), exactly as the DDXPlus protocol prescribes.
The French-coded subsets use other evidence codes; they are mapped onto the English release through the
question text (identical in both releases) and the value wording.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .knowledge_base import BINARY, MULTI_CHOICE, KnowledgeBase, load_knowledge_base

Answer = bool | str | frozenset[str]


@dataclass(frozen=True)
class PatientCase:
    age: int
    sex: str  # "M" or "F"
    initial_evidence: str
    evidences: dict[str, Answer]  # present evidences only
    pathology: str | None = None
    differential: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    def answer(self, code: str, kb: KnowledgeBase | None = None) -> Answer:
        """What this patient says when asked ``code`` (absent => no / default value)."""
        if code in self.evidences:
            return self.evidences[code]
        evidence = (kb or load_knowledge_base()).evidences[code]
        if evidence.data_type == BINARY:
            return False
        if evidence.data_type == MULTI_CHOICE:
            return frozenset({evidence.default}) if evidence.default is not None else frozenset()
        return evidence.default or ""


def parse_evidence_tokens(tokens: Iterable[str], kb: KnowledgeBase) -> dict[str, Answer]:
    """``['E_48', 'E_54_@_V_161', 'E_56_@_7']`` -> ``{'E_48': True, 'E_54': {'V_161'}, 'E_56': '7'}``."""
    answers: dict[str, Answer] = {}
    multi: dict[str, set[str]] = {}
    for token in tokens:
        code, _, value = token.partition("_@_")
        evidence = kb.evidences[code]
        if evidence.data_type == BINARY:
            answers[code] = True
        elif evidence.data_type == MULTI_CHOICE:
            multi.setdefault(code, set()).add(value)
        else:
            answers[code] = value
    answers.update({code: frozenset(values) for code, values in multi.items()})
    return answers


def _row_to_case(row: pd.Series, kb: KnowledgeBase, translate=None) -> PatientCase:
    tokens = ast.literal_eval(row["EVIDENCES"])
    initial = row["INITIAL_EVIDENCE"]
    differential = ast.literal_eval(row["DIFFERENTIAL_DIAGNOSIS"]) if "DIFFERENTIAL_DIAGNOSIS" in row else []
    pathology = row.get("PATHOLOGY")
    if translate is not None:
        tokens, initial, pathology, differential = translate(tokens, initial, pathology, differential)
    return PatientCase(
        age=int(row["AGE"]),
        sex=str(row["SEX"]),
        initial_evidence=initial,
        evidences=parse_evidence_tokens(tokens, kb),
        pathology=pathology,
        differential=tuple((str(n), float(p)) for n, p in differential),
    )


def read_patients(path: str | Path, kb: KnowledgeBase | None = None) -> list[PatientCase]:
    """Read a CSV in the DDXPlus patient format (English release codes)."""
    kb = kb or load_knowledge_base()
    frame = pd.read_csv(path)
    missing = {"AGE", "SEX", "EVIDENCES", "INITIAL_EVIDENCE"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing DDXPlus columns {sorted(missing)}")
    return [_row_to_case(row, kb) for _, row in frame.iterrows()]


class FrenchCodeTranslator:
    """Maps French-coded DDXPlus records (Casande-RL release) onto the English release's codes."""

    def __init__(self, french_kb_dir: str | Path, kb: KnowledgeBase | None = None):
        self.kb = kb or load_knowledge_base()
        french_dir = Path(french_kb_dir)
        fr_evidences = json.loads((french_dir / "release_evidences.json").read_text("utf-8"))
        fr_conditions = json.loads((french_dir / "release_conditions.json").read_text("utf-8"))
        by_question = {e.question: e for e in self.kb.evidences.values()}
        en_raw = json.loads(
            (Path(__file__).resolve().parent.parent / "data" / "release_evidences.json").read_text("utf-8")
        )
        self.evidence_code: dict[str, str] = {}
        self.value_code: dict[tuple[str, str], str] = {}
        for fr_code, item in fr_evidences.items():
            english = by_question[item["question_en"]]
            self.evidence_code[fr_code] = english.code
            en_by_text = {
                meaning.get("fr", k): str(k) for k, meaning in en_raw[english.code].get("value_meaning", {}).items()
            }
            for fr_value, meaning in item.get("value_meaning", {}).items():
                self.value_code[(fr_code, str(fr_value))] = en_by_text[meaning.get("fr", fr_value)]
        self.condition_name = {fr_name: item["cond-name-eng"] for fr_name, item in fr_conditions.items()} | {
            item["cond-name-fr"]: item["cond-name-eng"] for item in fr_conditions.values()
        }

    def token(self, token: str) -> str:
        code, sep, value = token.partition("_@_")
        english = self.evidence_code[code]
        if not sep:
            return english
        return f"{english}_@_{self.value_code.get((code, value), value)}"

    def __call__(self, tokens, initial, pathology, differential):
        return (
            [self.token(t) for t in tokens],
            self.evidence_code[initial],
            self.condition_name.get(pathology, pathology),
            [(self.condition_name.get(n, n), p) for n, p in differential],
        )


def read_french_patients(
    csv_paths: Iterable[str | Path], french_kb_dir: str | Path, kb: KnowledgeBase | None = None
) -> Iterator[PatientCase]:
    kb = kb or load_knowledge_base()
    translate = FrenchCodeTranslator(french_kb_dir, kb)
    for path in csv_paths:
        for _, row in pd.read_csv(path).iterrows():
            yield _row_to_case(row, kb, translate)
