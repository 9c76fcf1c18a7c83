"""Health benchmark: the AI doctor on DDXPlus, wearable alerts, free-text symptom mapping.

    nice -n 5 .venv/bin/python bench/health_bench.py [--only doctor,wearables,text] [--folds 5]

AI doctor protocol (DDXPlus): start from INITIAL_EVIDENCE + age + sex; the simulated patient answers from their
evidence set (absent => no / default); at most 30 questions. Reported on patients_dev.csv under K-fold
cross-validation: each fold is scored by a model trained on the other folds + the French-coded validation
subset (never on the fold itself). Writes bench/results/health_bench.json and health_budget_curve.png.

``evaluate(patients_csv, budget)`` runs the shipped model on any DDXPlus-format file (for the CLI).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, mean, percentile, reference_data_dir, sd, write_results  # noqa: E402

from civicbrain.services.health.domain.consultation import Consultation  # noqa: E402
from civicbrain.services.health.domain.doctor import default_policy  # noqa: E402
from civicbrain.services.health.domain.evaluation import BUDGETS, score_cases, summarise  # noqa: E402
from civicbrain.services.health.domain.evaluation import evaluate as _evaluate  # noqa: E402
from civicbrain.services.health.domain.train_doctor import fit_bundle, training_cases  # noqa: E402

ANCHORS = {  # Fansi Tchango et al. 2022, DDXPlus test set (camera-ready), percentages
    "AARLC": {"gtpa_at_1": 75.39, "questions_mean": 25.75, "ddr": 97.73, "ddp": 69.53, "ddf1": 78.24},
    "BASD": {"gtpa_at_1": 67.71, "questions_mean": 17.86, "ddr": 85.03, "ddp": 88.34, "ddf1": 83.69},
}
HEADLINE = ("gtpa_at_1", "top3", "top5", "ddr", "ddp", "ddf1", "questions_mean")


def evaluate(patients_csv: str | Path, budget: int = 30) -> dict:
    """Shipped model on any DDXPlus-format CSV; keys gtpa_at_1, top3, top5, ddr, ddp, ddf1, questions_mean,
    n_patients (fractions)."""
    return _evaluate(patients_csv, budget)


def _case_key(case) -> tuple:
    answers = tuple(
        sorted((k, str(sorted(v)) if isinstance(v, frozenset) else str(v)) for k, v in case.evidences.items())
    )
    return case.age, case.sex, case.pathology, case.initial_evidence, answers


def measure_latency(evidence, differential, cases, policy, limit: int = 60) -> list[float]:
    """Milliseconds to choose the next question plus update the differential with the answer, per step."""
    timings = []
    for case in cases[:limit]:
        consultation = Consultation(evidence, case.age, case.sex, case.initial_evidence, policy, differential)
        while True:
            start = time.perf_counter()
            question = consultation.next_question()
            if question is None:
                break
            consultation.answer(question.code, case.answer(question.code, evidence.kb_))
            timings.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        consultation.result()
        timings[-1:] = [timings[-1] + (time.perf_counter() - start) * 1000] if timings else []
    return timings


def bench_doctor(folds: int, seed: int) -> dict:
    dev, french = training_cases(reference_data_dir())
    # belt and braces: no French record identical to a scored patient may train the model
    dev_keys = {_case_key(c) for c in dev}
    french = [c for c in french if _case_key(c) not in dev_keys]
    fold_of = np.random.default_rng(seed).permutation(len(dev)) % folds
    policy = default_policy()
    outcomes, per_fold, latencies = [], [], []
    for k in range(folds):
        train = [c for c, f in zip(dev, fold_of, strict=True) if f != k]
        test = [c for c, f in zip(dev, fold_of, strict=True) if f == k]
        started = time.time()
        evidence, differential = fit_bundle(train, french)
        fold_outcomes = score_cases(evidence, test, policy, differential)
        latencies += measure_latency(evidence, differential, test, policy)
        summary = summarise(fold_outcomes)
        per_fold.append(summary)
        outcomes += fold_outcomes
        print(
            f"  fold {k}: GTPA@1 {summary['gtpa_at_1']:.3f}  DDF1 {summary['ddf1']:.3f}  "
            f"q {summary['questions_mean']:.2f}  ({time.time() - started:.0f}s)",
            flush=True,
        )
    pooled = summarise(outcomes)
    spread = {key: {"mean": mean([f[key] for f in per_fold]), "sd": sd([f[key] for f in per_fold])} for key in HEADLINE}
    return {
        "protocol": (
            f"DDXPlus, patients_dev.csv ({len(dev)} patients), {folds}-fold cross-validation (seed {seed}); "
            f"trained on the other folds + {len(french)} French-coded validation-split patients; "
            "differential = pathologies with membership probability >= 0.35 (plus the top one) vs the "
            "dataset's differential cut at probability >= 0.01; DDF1 = per-patient F1 averaged"
        ),
        "policy": {
            "max_questions": policy.max_questions,
            "stop_confidence": policy.stop_confidence,
            "differential_questions": policy.differential_questions,
            "emergency_threshold": policy.triage.emergency_threshold,
        },
        "pooled": pooled,
        "per_fold": per_fold,
        "spread_over_folds": spread,
        "latency_ms": {
            "steps": len(latencies),
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "max": max(latencies),
        },
        "anchors": ANCHORS,
    }


def plot_budget_curve(doctor: dict) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    budgets = list(BUDGETS)
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, fold in enumerate(doctor["per_fold"]):
        ax.plot(
            budgets,
            [100 * fold["gtpa_at_1_by_budget"][str(b)] for b in budgets],
            color="0.75",
            lw=1,
            label="folds" if i == 0 else None,
        )
    ax.plot(
        budgets,
        [100 * doctor["pooled"]["gtpa_at_1_by_budget"][str(b)] for b in budgets],
        "o-",
        lw=2,
        label="civicbrain (pooled CV)",
    )
    for name, anchor in ANCHORS.items():
        ax.scatter([anchor["questions_mean"]], [anchor["gtpa_at_1"]], marker="x", s=60, label=f"{name} (published)")
    ax.axhline(85, ls="--", color="tab:red", lw=1, label="target 85%")
    ax.set_xlabel("question budget")
    ax.set_ylabel("GTPA@1 (%)")
    ax.set_title("DDXPlus dev, accuracy vs question budget")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    path = RESULTS_DIR / "health_budget_curve.png"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return str(path)


def print_doctor_table(doctor: dict) -> None:
    pooled, spread = doctor["pooled"], doctor["spread_over_folds"]
    print(f"\nAI doctor - {doctor['protocol']}")
    print(f"{'metric':<16}{'civicbrain':>12}{'sd folds':>10}{'AARLC':>9}{'BASD':>9}")
    for key in HEADLINE:
        scale = 1 if key == "questions_mean" else 100
        row = f"{key:<16}{scale * pooled[key]:>12.2f}{scale * spread[key]['sd']:>10.2f}"
        for anchor in ANCHORS.values():
            row += f"{anchor[key]:>9.2f}" if key in anchor else f"{'-':>9}"
        print(row)
    curve = "  ".join(f"{b}q {100 * pooled['gtpa_at_1_by_budget'][str(b)]:.1f}%" for b in BUDGETS)
    print(f"GTPA@1 by budget: {curve}")
    print(f"questions asked (count of patients): {pooled['questions_histogram']}")
    print(
        f"urgency: severe (severity 1-2) advised emergency {100 * pooled['severe_advised_emergency']:.1f}% "
        f"of {pooled['n_severe']}; non-severe over-triaged {100 * pooled['non_severe_advised_emergency']:.1f}%; "
        f"mild (4-5) over-triaged {100 * pooled['mild_advised_emergency']:.1f}%"
    )
    lat = doctor["latency_ms"]
    print(f"latency next question + update: p50 {lat['p50']:.2f} ms, p95 {lat['p95']:.2f} ms over {lat['steps']} steps")


SECTIONS = ("doctor", "wearables", "text")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ",".join(SECTIONS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    results: dict = {}
    if "doctor" in wanted:
        results["doctor"] = bench_doctor(args.folds, args.seed)
        print_doctor_table(results["doctor"])
        results["doctor"]["budget_plot"] = plot_budget_curve(results["doctor"])
    if "wearables" in wanted:
        results["wearables"] = bench_wearables(reference_data_dir())
        print_wearables(results["wearables"])
    if "text" in wanted:
        results["symptom_text"] = bench_symptom_text(reference_data_dir())
        print_symptom_text(results["symptom_text"])
    path = write_results("health_bench", results)
    print(f"\nwrote {path}")
    return results


if __name__ == "__main__":
    main()
