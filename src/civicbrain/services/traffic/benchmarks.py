"""What the traffic benchmark measured, read from ``bench/results/traffic_bench.json``.

The register cards, the CLI and the portal quote these figures with the bench's own protocol, so
what the public reads is what was measured. A card's status is also derived from them by a rule
written here (``measured_status``): an adaptive controller may run live only where a full benchmark
shows it is no worse than the city's fixed-time programs on every real-world scenario and locks no
vehicle out of the network. Without such a benchmark it stays in shadow.

The results folder sits beside the source tree (``bench/results``); an installed package without
it simply reports "not yet measured".
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from civicbrain.services.traffic.domain.scenarios import REAL_WORLD

RESULTS_DIR = Path(__file__).resolve().parents[4] / "bench" / "results"
FULL_BENCH = "traffic_bench"
SMOKE_BENCH = "traffic_smoke"
MIN_SEEDS_FOR_STATUS = 5
EMERGENCY_TARGET_RATIO = 0.7
EMERGENCY_MAX_DELAY_CHANGE = 0.05


def bench_path(name: str = FULL_BENCH) -> Path:
    return RESULTS_DIR / f"{name}.json"


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, Any] | None:
    try:
        # NaN (a study that measured nothing) becomes None: "not measured" everywhere downstream
        loaded = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=lambda _: None)
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def load_bench(name: str = FULL_BENCH) -> dict[str, Any] | None:
    """The bench JSON, or None when it was never run here (cached until the file changes)."""
    path = bench_path(name)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    return _load(str(path), mtime)


def latest_measurements() -> dict[str, Any] | None:
    """The full benchmark if it exists, else the smoke run (whose protocol says it is one)."""
    return load_bench(FULL_BENCH) or load_bench(SMOKE_BENCH)


def is_full_run(bench: dict[str, Any] | None) -> bool:
    """A run that can support a status: whole windows, enough seeds, demand as scheduled, SUMO as RESCO
    runs it (no junction blocker ever ignored)."""
    if not bench:
        return False
    args = bench.get("args", {})
    return (
        not args.get("quick", False)
        and int(args.get("seeds", 0)) >= MIN_SEEDS_FOR_STATUS
        and float(args.get("scale", 1.0)) == 1.0
        and args.get("ignore_junction_blocker") is None
    )


def is_finite(x: Any) -> bool:
    return isinstance(x, int | float) and not math.isnan(float(x))


def controller_supported_live(controller: str, bench: dict[str, Any] | None) -> bool:
    """The rule for an adaptive controller's ``live`` status (see the module docstring)."""
    if not is_full_run(bench):
        return False
    assert bench is not None
    results = bench.get("results", {})
    for scenario in REAL_WORLD:
        row = results.get(scenario, {}).get(controller)
        if not row or not is_finite(row.get("ratio_to_fixed")):
            return False
        if row["ratio_to_fixed"] > 1.0 or int(row.get("never_departed", 1)) != 0:
            return False
    return True


def emergency_rows(bench: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per scenario and priority arm: ambulance median with and without, everyone's delay change.

    Reads both shapes the bench has written: one pre-emption arm (``ems_median_with``/``_without``) and
    several arms keyed by name beside the ``none`` baseline (``{"none": {...}, "preempt": {...}}``).
    """
    rows = []
    for study in (bench or {}).get("emergency") or []:
        common = {
            "scenario": study.get("scenario"),
            "controller": study.get("controller"),
            "seeds": len(study.get("seeds", [])),
            "ambulances": study.get("ambulances_per_run"),
        }
        if "ems_median_with" in study:
            rows.append(
                {
                    **common,
                    "arm": "preempt",
                    "median_without": study.get("ems_median_without"),
                    "median_with": study.get("ems_median_with"),
                    "standing_without": None,
                    "standing_with": None,
                    "ratio": study.get("ems_median_ratio"),
                    "delay_change": study.get("delay_change"),
                }
            )
            continue
        for arm, figures in study.items():
            if arm == "none" or not isinstance(figures, dict) or "ems_median_s" not in figures:
                continue
            # each priority arm names the arm it is compared with (same driving, no priority)
            if "baseline" in figures and not figures["baseline"]:
                continue
            base = study.get(figures.get("baseline") or "none") or {}
            rows.append(
                {
                    **common,
                    "arm": arm,
                    "median_without": base.get("ems_median_s"),
                    "median_with": figures.get("ems_median_s"),
                    # standing still is what signal priority removes (absent in benches before it was measured)
                    "standing_without": base.get("ems_standing_median_s"),
                    "standing_with": figures.get("ems_standing_median_s"),
                    "ratio": figures.get("ems_median_ratio"),
                    "delay_change": figures.get("delay_change"),
                }
            )
    return rows


def emergency_supported_live(bench: dict[str, Any] | None, arm: str) -> bool:
    """Pre-emption (this arm) may act when every studied scenario meets the issue's targets."""
    if not is_full_run(bench):
        return False
    rows = [r for r in emergency_rows(bench) if r["arm"] == arm]
    return bool(rows) and all(
        is_finite(r["ratio"])
        and r["ratio"] <= EMERGENCY_TARGET_RATIO
        and is_finite(r["delay_change"])
        and r["delay_change"] <= EMERGENCY_MAX_DELAY_CHANGE
        for r in rows
    )


def protocol_of(bench: dict[str, Any] | None) -> str:
    if not bench:
        return "not yet measured: run `civicbrain traffic bench`"
    when = bench.get("generated_at", "unknown date")
    return f"{bench.get('protocol', 'bench/traffic_bench.py')} (run {when})"


def controller_rows(bench: dict[str, Any] | None, controller: str) -> list[tuple[str, dict[str, Any]]]:
    """(scenario, summary) pairs the bench measured for one controller."""
    if not bench:
        return []
    return [
        (scenario, by_ctrl[controller])
        for scenario, by_ctrl in bench.get("results", {}).items()
        if controller in by_ctrl
    ]


def comparison_rows(bench: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Flat rows (scenario, controller, delay mean/sd, ratio) for the portal's comparison chart."""
    rows = []
    for scenario, by_ctrl in (bench or {}).get("results", {}).items():
        for controller, r in by_ctrl.items():
            rows.append(
                {
                    "scenario": scenario,
                    "controller": controller,
                    "delay_mean": r.get("delay_mean"),
                    "delay_sd": r.get("delay_sd"),
                    "ratio_to_fixed": r.get("ratio_to_fixed"),
                    "never_departed": r.get("never_departed"),
                    "seeds": len(r.get("seeds", [])),
                }
            )
    return rows
