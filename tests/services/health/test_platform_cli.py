"""`civicbrain health evaluate`: the DDXPlus protocol on any patient file, as a table or JSON."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from civicbrain.services.health.cli import app
from civicbrain.services.health.domain.doctor import initial_complaints
from civicbrain.services.health.domain.knowledge_base import BINARY, load_knowledge_base

KEYS = {"gtpa_at_1", "top3", "top5", "ddr", "ddp", "ddf1", "questions_mean", "n_patients"}


def write_patients(path) -> None:  # type: ignore[no-untyped-def]
    """Three patients in the DDXPlus CSV format, each with the yes/no symptoms of their pathology."""
    kb = load_knowledge_base()
    starts = dict(initial_complaints())
    rows = []
    for name, age, sex in (("GERD", 45, "M"), ("URTI", 30, "F"), ("Bronchiolitis", 1, "F")):
        pathology = kb.pathologies[name]
        symptoms = sorted(
            c for c in pathology.symptoms if kb.evidences[c].data_type == BINARY and kb.evidences[c].parent is None
        )
        initial = next(c for c in symptoms if c in starts)
        rows.append(
            {
                "AGE": age,
                "DIFFERENTIAL_DIAGNOSIS": str([[name, 0.7], [kb.pathology_names[0], 0.3]]),
                "SEX": sex,
                "PATHOLOGY": name,
                "EVIDENCES": str(symptoms),
                "INITIAL_EVIDENCE": initial,
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)


def test_evaluate_prints_the_protocol_metrics_as_json(tmp_path):
    patients = tmp_path / "patients.csv"
    write_patients(patients)
    result = CliRunner().invoke(app, ["evaluate", "--patients", str(patients), "--budget", "10", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert set(metrics) >= KEYS
    assert metrics["n_patients"] == 3 and metrics["budget"] == 10
    assert 0 < metrics["questions_mean"] <= 10
    assert all(0.0 <= metrics[k] <= 1.0 for k in ("gtpa_at_1", "top3", "top5", "ddr", "ddp", "ddf1"))
    assert metrics["top5"] >= metrics["top3"] >= metrics["gtpa_at_1"]

    table = CliRunner().invoke(app, ["evaluate", "--patients", str(patients), "--budget", "5"])
    assert table.exit_code == 0 and "gtpa_at_1" in table.output


def test_evaluate_names_what_is_wrong(tmp_path):
    missing = CliRunner().invoke(app, ["evaluate", "--patients", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "no file" in missing.output
    patients = tmp_path / "patients.csv"
    write_patients(patients)
    too_many = CliRunner().invoke(app, ["evaluate", "--patients", str(patients), "--budget", "31"])
    assert too_many.exit_code != 0


def test_ask_runs_a_terminal_consultation_to_its_advice():
    # "n" answers yes/no questions and is refused by number prompts, which then take the "1" after it
    # (and the other way round), so the same input drives any sequence of question kinds.
    answers = "52\nF\nburning\n1\n" + "n\n1\n" * 80
    result = CliRunner().invoke(app, ["ask"], input=answers)
    assert result.exit_code == 0, result.output
    assert "What it might be" in result.output and "not a diagnosis" in result.output
