"""Train the shipped AI-doctor bundle: ``python -m civicbrain.services.health.domain.train_doctor``.

Training data: DDXPlus ``patients_dev.csv`` and the French-coded *validation* subset (mapped to English
codes). The French "test" subset and the mixed ``All_data_MandF_7276_random.csv`` are deliberately left out:
both contain patients of the official test split (58 and 48 exact matches with ``patients_dev.csv``), and the
held-out evaluation patients come from that split too. Deterministic: same data, same bundle.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from .differential_model import DifferentialModel
from .doctor import MODEL_FILE, save_model
from .evidence_model import EvidenceNaiveBayes
from .knowledge_base import reference_data_dir
from .patients import PatientCase, read_french_patients, read_patients

FRENCH_TRAINING_FILES = ("release_validate_patients_subset.csv",)


def training_cases(data_dir: Path | None = None) -> tuple[list[PatientCase], list[PatientCase]]:
    """(development patients, French-coded validation patients)."""
    ddxplus = (data_dir or reference_data_dir()) / "health" / "ddxplus"
    dev = read_patients(ddxplus / "patients_dev.csv")
    french = list(
        read_french_patients([ddxplus / "french_subsets" / f for f in FRENCH_TRAINING_FILES], ddxplus / "french_kb")
    )
    return dev, french


def fit_bundle(
    cases: Sequence[PatientCase], extra_cases: Sequence[PatientCase]
) -> tuple[EvidenceNaiveBayes, DifferentialModel]:
    evidence = EvidenceNaiveBayes().fit(cases, extra_cases)
    differential = DifferentialModel().fit(list(cases) + list(extra_cases), evidence)
    return evidence, differential


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data" / MODEL_FILE)
    args = parser.parse_args(argv)
    dev, french = training_cases()
    evidence, differential = fit_bundle(dev, french)
    save_model(args.out, evidence, differential)
    print(f"trained on {len(dev)} development + {len(french)} French-coded patients -> {args.out}")


if __name__ == "__main__":
    main()
