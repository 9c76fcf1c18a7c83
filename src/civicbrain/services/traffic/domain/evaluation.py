"""Runs over seeds/scenarios/controllers and their summaries: the public API the service calls.

Every simulation runs in its own fresh process through ``core.batch.map_jobs`` (libsumo allows
one simulation per process). Ratios to fixed time are taken within the same batch, seed by seed,
because absolute figures move with the SUMO version.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from civicbrain.core.batch import map_jobs

from .emergency import EmergencyPlugin
from .incidents import IncidentPlugin
from .metrics import summarize
from .scenarios import Scenario
from .simulation import RunSpec, run_job

Progress = Callable[[int, int], None]
SUMMARY_KEYS = ("delay", "trip_time", "wait", "free_flow_trip", "never_departed", "wall_s")


def run_specs(specs: Sequence[RunSpec], *, workers: int = 2, progress: Progress | None = None) -> list[dict[str, Any]]:
    return map_jobs(run_job, list(specs), backend="processes", workers=workers, isolate=True, progress=progress)


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sd over seeds, in the shape of ``civicbrain traffic run --json``."""
    out: dict[str, Any] = {"seeds": sorted(r["seed"] for r in runs)}
    for key in SUMMARY_KEYS:
        out[f"{key}_mean"], out[f"{key}_sd"] = summarize([float(r[key]) for r in runs])
    out["never_departed"] = sum(int(r["never_departed"]) for r in runs)
    return out


def run_scenario(
    scenario: Scenario,
    controllers: Sequence[str],
    seeds: Sequence[int],
    *,
    workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run each controller over the seeds; per-controller summaries and ratios to fixed time."""
    names = list(controllers)
    if "fixed" not in names:
        names = ["fixed", *names]  # the ratio's denominator is always measured in the same batch
    specs = [RunSpec(scenario, c, seed=s, label=f"{scenario.name}/{c}/{s}") for c in names for s in seeds]
    runs = run_specs(specs, workers=workers, progress=progress)
    return summarize_batch(runs)


def summarize_batch(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per scenario -> controller summary, with the delay ratio to fixed time of the same seeds."""
    out: dict[str, dict[str, Any]] = {}
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        by.setdefault((r["scenario"], r["controller"]), []).append(r)
    for (scen, ctrl), rs in by.items():
        summary = summarize_runs(rs)
        fixed = {r["seed"]: r["delay"] for r in by.get((scen, "fixed"), [])}
        ratios = [r["delay"] / fixed[r["seed"]] for r in rs if fixed.get(r["seed"])]
        summary["ratio_to_fixed"] = statistics.fmean(ratios) if ratios else math.nan
        summary["ratio_to_fixed_sd"] = statistics.stdev(ratios) if len(ratios) > 1 else 0.0
        summary["runs"] = [
            {k: r[k] for k in ("seed", "delay", "trip_time", "wait", "never_departed", "wall_s")} for r in rs
        ]
        out.setdefault(scen, {})[ctrl] = summary
    return out


def emergency_study(
    scenario: Scenario,
    controller: str,
    seeds: Sequence[int],
    *,
    count: int = 5,
    workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Ambulance travel time with vs without pre-emption, and everyone else's delay change."""
    specs = [
        RunSpec(
            scenario, controller, seed=s, plugins=[EmergencyPlugin(count=count, seed=s, preempt=p)], explain_every=0
        )
        for s in seeds
        for p in (False, True)
    ]
    runs = run_specs(specs, workers=workers, progress=progress)
    arms: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for r in runs:
        arms[bool(r["ems_preempt"])].append(r)
    times = {p: [t["duration"] + t["depart_delay"] for r in arms[p] for t in r["ems_trips"]] for p in arms}
    delay = {p: statistics.fmean(r["delay"] for r in arms[p]) for p in arms}
    med = {p: statistics.median(times[p]) if times[p] else math.nan for p in arms}
    return {
        "scenario": scenario.name,
        "controller": controller,
        "seeds": list(seeds),
        "ambulances_per_run": count,
        "ems_median_without": med[False],
        "ems_median_with": med[True],
        "ems_median_ratio": med[True] / med[False] if med[False] else math.nan,
        "ems_mean_without": statistics.fmean(times[False]) if times[False] else math.nan,
        "ems_mean_with": statistics.fmean(times[True]) if times[True] else math.nan,
        "ems_unfinished_with": sum(1 for r in arms[True] for t in r["ems_trips"] if not t["arrived"]),
        "delay_without": delay[False],
        "delay_with": delay[True],
        "delay_change": delay[True] / delay[False] - 1.0 if delay[False] else math.nan,
    }


def incident_study(
    scenario: Scenario,
    controller: str,
    seeds: Sequence[int],
    *,
    count: int = 3,
    workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Detection rate and time with injected blockages; false alarms on incident-free runs."""
    specs = [
        RunSpec(scenario, controller, seed=s, plugins=[IncidentPlugin(count=count, seed=s)], explain_every=0)
        for s in seeds
    ]
    specs += [
        RunSpec(scenario, controller, seed=s, plugins=[IncidentPlugin(count=0, seed=s)], explain_every=0) for s in seeds
    ]
    runs = run_specs(specs, workers=workers, progress=progress)
    with_inc, free = runs[: len(seeds)], runs[len(seeds) :]  # map_jobs keeps item order
    per = [i for r in with_inc for i in r["incidents"]["per_incident"]]
    detect_times = [i["time_to_detect"] for i in per if i["detected"]]
    hours = sum(r["end"] - r["begin"] for r in free) / 3600.0
    junctions = free[0]["junctions"] if free else 1
    false_alarms = sum(r["incidents"]["false_alarms"] for r in free)
    return {
        "scenario": scenario.name,
        "controller": controller,
        "seeds": list(seeds),
        "injected": len(per),
        "detected": len(detect_times),
        "detection_rate": len(detect_times) / len(per) if per else math.nan,
        "detected_within_120s": sum(1 for i in per if i["within"]) / len(per) if per else math.nan,
        "median_time_to_detect": statistics.median(detect_times) if detect_times else math.nan,
        "false_alarms": false_alarms,
        "false_alarms_per_hour_per_10_junctions": false_alarms / hours / (junctions / 10.0) if hours else math.nan,
        "incident_free_hours": hours,
    }
