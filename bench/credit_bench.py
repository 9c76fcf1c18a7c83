"""Credit service benchmark - matching section.

Protocol (stated with the figures, written to bench/results/credit_bench.json):

1. Name pairs (nomenklatura name bench format). Every pair becomes two entities of the
   row's schema carrying only the name; a pair is a predicted match when the score is
   >= 0.7 (the name bench's default threshold, and our matcher's stated threshold). Our
   matcher and nomenklatura's logic-v2 (default config) score the same rows in the same
   run. The file is a dev split: no rule in the matcher refers to an item of it.
2. Entity checks (nomenklatura entity bench, checks.yml): labelled query/candidate
   entities with name properties only; same threshold and same-run comparison. Its
   labels partly overlap the name pairs (nk_checks) and sometimes disagree with them.
3. Screening (OpenSanctions qarin fixtures). The list holds the 683 untreated UN names;
   each treated name (typos, dropped or split parts, reordering) is screened against it
   through candidate generation (top 10 by blocking keys, as the check API) and the matcher. Recall: the
   treated name matches its own untreated entry. False positives: any of the 2,000
   synthetic people matches any list entry. Run twice: names only (the primary protocol:
   yente's candidate-generation fixtures are name fixtures) and with birth dates as
   qualifiers (the treated file also perturbs dates: years moved, days changed, dropped).
4. Optional scale (--list-size N): a synthetic list of N people recombined from the
   2,000 synthetic name parts and birth dates, then the treated UN queries and the
   negatives screened against list + UN entries: index build rate and query latency.

Run: .venv/bin/python bench/credit_bench.py [--pairs FILE.csv] [--list-size 100000]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import mean, percentile, reference_data_dir, write_results  # noqa: E402

from civicbrain.services.credit.domain.blocking import CandidateIndex  # noqa: E402
from civicbrain.services.credit.domain.evaluation import (  # noqa: E402
    evaluate_entity_checks,
    logic_v2_scorer,
    our_pair_score,
    read_pairs,
    score_pairs,
)
from civicbrain.services.credit.domain.matching import DEFAULT_THRESHOLD, Matcher, SubjectRecord  # noqa: E402
from civicbrain.services.credit.domain.names import NameKind  # noqa: E402

CANDIDATES = 10  # as the check API compares (credit.candidates.CANDIDATES)


def _read_people(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _person(record_id: str, row: dict[str, str], with_dates: bool) -> SubjectRecord:
    dates = (row["date_of_birth"],) if with_dates and row.get("date_of_birth") else ()
    return SubjectRecord(id=record_id, kind=NameKind.PERSON, names=(row["full_name"],), birth_dates=dates)


def bench_pairs(pairs_path: Path) -> dict[str, Any]:
    pairs = read_pairs(pairs_path)
    out: dict[str, Any] = {"file": str(pairs_path), "threshold": DEFAULT_THRESHOLD}
    scorers = {"ours": our_pair_score, "logic_v2": logic_v2_scorer()}
    for name, scorer in scorers.items():
        if scorer is None:
            out[name] = {"available": False}
            continue
        scorer("Warm Up", "Warm Upp", "Person")  # load name taggers outside the timing
        scorer("Warm Up Ltd", "Warm Upp Ltd", "Company")
        started = time.perf_counter()
        metrics = score_pairs(pairs, scorer, DEFAULT_THRESHOLD)
        elapsed = time.perf_counter() - started
        scores = metrics.pop("scores")
        metrics["seconds"] = round(elapsed, 2)
        groups: dict[str, dict[str, int]] = {}
        for pair, score in zip(pairs, scores, strict=True):
            g = groups.setdefault(pair.case_group or "-", {"n": 0, "correct": 0})
            g["n"] += 1
            g["correct"] += int((score >= DEFAULT_THRESHOLD) == pair.is_match)
        metrics["accuracy_by_group"] = {k: round(v["correct"] / v["n"], 3) for k, v in sorted(groups.items())}
        out[name] = metrics
    return out


def _screen_run(
    matcher: Matcher, index: CandidateIndex, queries: list[SubjectRecord], expected: list[str] | None
) -> dict[str, Any]:
    latencies: list[float] = []
    hits = candidate_hits = matched_any = 0
    for i, query in enumerate(queries):
        started = time.perf_counter()
        candidates = index.candidates(query, limit=CANDIDATES)
        results = matcher.rank(query, candidates, limit=CANDIDATES)
        latencies.append((time.perf_counter() - started) * 1000)
        if any(r.is_match for r in results):
            matched_any += 1
        if expected is not None:
            candidate_hits += any(c.id == expected[i] for c in candidates)
            hits += any(r.is_match and r.candidate_id == expected[i] for r in results)
    out: dict[str, Any] = {
        "queries": len(queries),
        "latency_ms_mean": round(mean(latencies), 2),
        "latency_ms_p99": round(percentile(latencies, 99), 2),
    }
    if expected is not None:
        out["recall"] = round(hits / len(queries), 4)
        out["candidate_recall"] = round(candidate_hits / len(queries), 4)
    else:
        out["false_positive_rate"] = round(matched_any / len(queries), 4)
        out["false_positives"] = matched_any
    return out


def bench_screening(data: Path, list_size: int) -> dict[str, Any]:
    untreated = _read_people(data / "positives_un_untreated.csv")
    treated = _read_people(data / "positives_un_treated.csv")
    negatives = _read_people(data / "negatives_global.csv") + _read_people(data / "negatives_us.csv")
    matcher = Matcher()
    out: dict[str, Any] = {"list_entries": len(untreated), "negatives": len(negatives), "candidates": CANDIDATES}
    for label, with_dates in (("names_only", False), ("names_and_birth_dates", True)):
        index = CandidateIndex()
        index.add_all(_person(f"un-{i}", row, with_dates) for i, row in enumerate(untreated))
        positives = [_person(f"q-{i}", row, with_dates) for i, row in enumerate(treated)]
        expected = [f"un-{i}" for i in range(len(treated))]
        out[label] = {
            "positives": _screen_run(matcher, index, positives, expected),
            "negatives": _screen_run(
                matcher, index, [_person(f"n-{i}", row, with_dates) for i, row in enumerate(negatives)], None
            ),
        }
    if list_size:
        out["scale"] = bench_scale(matcher, untreated, treated, negatives, list_size)
    return out


def bench_scale(
    matcher: Matcher,
    untreated: list[dict[str, str]],
    treated: list[dict[str, str]],
    negatives: list[dict[str, str]],
    list_size: int,
) -> dict[str, Any]:
    rng = random.Random(4)
    firsts = [r["first_name"] for r in negatives if r["first_name"]]
    middles = [r["middle_name"] for r in negatives if r["middle_name"]]
    lasts = [r["last_name"] for r in negatives if r["last_name"]]
    index = CandidateIndex()
    started = time.perf_counter()
    for i in range(list_size):
        parts = [rng.choice(firsts)] + ([rng.choice(middles)] if rng.random() < 0.3 else []) + [rng.choice(lasts)]
        dob = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        index.add(SubjectRecord(f"syn-{i}", NameKind.PERSON, (" ".join(parts),), (dob,)))
    index.add_all(_person(f"un-{i}", row, False) for i, row in enumerate(untreated))
    build_seconds = time.perf_counter() - started
    sample = list(range(0, len(treated), 3))
    positives = [_person(f"q-{i}", treated[i], False) for i in sample]
    return {
        "list_size": len(index),
        "index_build_records_per_s": round(len(index) / build_seconds),
        "positives": _screen_run(matcher, index, positives, [f"un-{i}" for i in sample]),
        "note": "synthetic entries recombine the negatives' name parts, so the negatives are not screened here",
    }


def _print_tables(result: dict[str, Any]) -> None:
    pairs = result["name_pairs"]
    print(f"\nName pairs: {pairs['file']} (threshold {pairs['threshold']})")
    print(f"{'matcher':<10} {'n':>5} {'precision':>10} {'recall':>8} {'F1':>7} {'TP':>5} {'FP':>5} {'FN':>5} {'s':>6}")
    for name in ("ours", "logic_v2"):
        m = pairs[name]
        if not m.get("n"):
            print(f"{name:<10} not available")
            continue
        print(
            f"{name:<10} {m['n']:>5} {m['precision']:>10.3f} {m['recall']:>8.3f} {m['f1']:>7.3f} "
            f"{m['tp']:>5} {m['fp']:>5} {m['fn']:>5} {m['seconds']:>6.1f}"
        )
    checks = result.get("entity_checks")
    if checks:
        print(f"\nEntity checks: {checks['file']}")
        for name in ("ours", "logic_v2"):
            m = checks[name]
            if m.get("n"):
                print(
                    f"{name:<10} {m['n']:>5} {m['precision']:>10.3f} {m['recall']:>8.3f} {m['f1']:>7.3f} "
                    f"{m['tp']:>5} {m['fp']:>5} {m['fn']:>5}"
                )
    screening = result.get("screening")
    if not screening:
        return
    print(f"\nScreening: {screening['list_entries']} UN entries, {screening['negatives']} synthetic negatives")
    print(f"{'protocol':<24} {'recall':>7} {'cand.recall':>11} {'FP rate':>8} {'FP':>4} {'p99 ms':>7}")
    for label in ("names_only", "names_and_birth_dates"):
        s = screening[label]
        print(
            f"{label:<24} {s['positives']['recall']:>7.4f} {s['positives']['candidate_recall']:>11.4f} "
            f"{s['negatives']['false_positive_rate']:>8.4f} {s['negatives']['false_positives']:>4} "
            f"{max(s['positives']['latency_ms_p99'], s['negatives']['latency_ms_p99']):>7.1f}"
        )
    scale = screening.get("scale")
    if scale:
        p = scale["positives"]
        print(
            f"\nScale: {scale['list_size']} entries indexed at {scale['index_build_records_per_s']}/s; "
            f"{p['queries']} treated queries: recall {p['recall']:.4f}, "
            f"latency mean {p['latency_ms_mean']} ms, p99 {p['latency_ms_p99']} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="credit matching benchmark")
    data = reference_data_dir() / "credit"
    parser.add_argument("--pairs", type=Path, default=data / "nomenklatura_benchmarks" / "name_bench_cases.dev.csv")
    parser.add_argument(
        "--entity-checks", type=Path, default=data / "nomenklatura_benchmarks" / "entity_bench_checks.yml"
    )
    parser.add_argument("--screening-data", type=Path, default=data / "opensanctions_qarin_negatives")
    parser.add_argument("--list-size", type=int, default=0, help="also screen against N synthetic entries")
    parser.add_argument("--skip-screening", action="store_true")
    args = parser.parse_args(argv)

    result: dict[str, Any] = {"protocol": __doc__.split("Run:")[0].strip(), "name_pairs": bench_pairs(args.pairs)}
    if args.entity_checks.exists():
        result["entity_checks"] = {"file": str(args.entity_checks), **evaluate_entity_checks(args.entity_checks)}
    if not args.skip_screening:
        result["screening"] = bench_screening(args.screening_data, args.list_size)
    _print_tables(result)
    ours, reference = result["name_pairs"]["ours"], result["name_pairs"]["logic_v2"]
    if reference.get("f1") is not None:
        verdict = "meets" if ours["f1"] >= reference["f1"] else "misses"
        print(f"\nTarget ours F1 >= logic-v2 F1: {verdict} ({ours['f1']:.3f} vs {reference['f1']:.3f})")
    if "screening" in result:
        s = result["screening"]["names_only"]
        ok = s["positives"]["recall"] >= 0.99 and s["negatives"]["false_positive_rate"] <= 0.01
        print(f"Target recall >= 0.99 with <= 1% negatives matched (names only): {'meets' if ok else 'misses'}")
    path = write_results("credit_bench", result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
