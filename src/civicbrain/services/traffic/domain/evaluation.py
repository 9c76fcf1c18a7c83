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

from .emergency import MODES, EmergencyPlugin
from .incidents import IncidentDetector, IncidentPlugin
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
    """Ambulance travel time per priority arm (none / preempt / full) and everyone else's delay."""
    specs = [
        RunSpec(scenario, controller, seed=s, plugins=[EmergencyPlugin(count=count, seed=s, mode=m)], explain_every=0)
        for s in seeds
        for m in MODES
    ]
    runs = run_specs(specs, workers=workers, progress=progress)
    arms: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for r in runs:
        arms[r["ems_mode"]].append(r)
    out: dict[str, Any] = {
        "scenario": scenario.name,
        "controller": controller,
        "seeds": list(seeds),
        "ambulances_per_run": count,
    }
    base_delay = statistics.fmean(r["delay"] for r in arms["none"])
    base_median = math.nan
    for m in MODES:
        times = [t["duration"] + t["depart_delay"] for r in arms[m] for t in r["ems_trips"]]
        median = statistics.median(times) if times else math.nan
        delay = statistics.fmean(r["delay"] for r in arms[m])
        if m == "none":
            base_median = median
        out[m] = {
            "ems_trips": len(times),
            "ems_median_s": median,
            "ems_mean_s": statistics.fmean(times) if times else math.nan,
            "ems_unfinished": sum(1 for r in arms[m] for t in r["ems_trips"] if not t["arrived"]),
            "ems_median_ratio": median / base_median if base_median else math.nan,
            "delay": delay,
            "delay_change": delay / base_delay - 1.0 if base_delay else math.nan,
        }
    return out


def incident_study(
    scenario: Scenario,
    controller: str,
    seeds: Sequence[int],
    *,
    count: int = 3,
    training_seeds: Sequence[int] = (101, 102),
    workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Detection rate and time with injected blockages; false alarms on incident-free runs.

    The detector is first fitted on incident-free runs with ``training_seeds`` (disjoint from the
    evaluation seeds), then evaluated with and without injected incidents on ``seeds``.
    """
    training = run_specs(
        [
            RunSpec(scenario, controller, seed=s, plugins=[IncidentPlugin(count=0, seed=s)], explain_every=0)
            for s in training_seeds
        ],
        workers=workers,
    )
    fitted = IncidentDetector().fit([a for r in training for a in r["incident_alarms"]])

    def plugin(n: int, s: int) -> IncidentPlugin:
        return IncidentPlugin(count=n, seed=s, detector=IncidentDetector(lane_alarm_s_=dict(fitted.lane_alarm_s_)))

    specs = [RunSpec(scenario, controller, seed=s, plugins=[plugin(count, s)], explain_every=0) for s in seeds]
    specs += [RunSpec(scenario, controller, seed=s, plugins=[plugin(0, s)], explain_every=0) for s in seeds]
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
        "training_seeds": list(training_seeds),
        "recurrent_lanes": len(fitted.lane_alarm_s_),
        "injected": len(per),
        "detected": len(detect_times),
        "detection_rate": len(detect_times) / len(per) if per else math.nan,
        "detected_within_120s": sum(1 for i in per if i["within"]) / len(per) if per else math.nan,
        "median_time_to_detect": statistics.median(detect_times) if detect_times else math.nan,
        "false_alarms": false_alarms,
        "false_alarms_per_hour_per_10_junctions": false_alarms / hours / (junctions / 10.0) if hours else math.nan,
        "incident_free_hours": hours,
    }
