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

from .emergency import BASELINE, MODES, EmergencyPlugin
from .incidents import IncidentDetector, IncidentPlugin
from .metrics import summarize
from .scenarios import Scenario
from .simulation import RunSpec, run_job

# Incident-free runs the detector is calibrated on; studies score other seeds only.
INCIDENT_TRAINING_SEEDS = (101, 102, 103)

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


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _crashed_run(spec: RunSpec) -> dict[str, Any]:
    """What a simulation that crashed leaves in the study: which seed and arm it was.

    SUMO 1.28 segfaults now and then inside its step with several blue-light vehicles about
    (ingolstadt21, fixed time, seed 1, ``full``: two of them queued near one junction); each run has
    a process of its own (``map_jobs(isolate=True)``), so the crash costs this run only.
    """
    mode = next((getattr(p, "mode", None) for p in spec.plugins if isinstance(p, EmergencyPlugin)), None)
    return {"crashed": True, "seed": spec.seed, "ems_mode": mode, "label": spec.label}


def _ems_times(runs: Sequence[dict[str, Any]]) -> list[float]:
    return [t["duration"] + t["depart_delay"] for r in runs for t in r["ems_trips"]]


def _on_green(runs: Sequence[dict[str, Any]]) -> float:
    """Share of the ambulances' signal crossings made on green."""
    lights = [c["light"] for r in runs for c in r.get("ems_crossings", [])]
    return sum(1 for light in lights if light in "Gg") / len(lights) if lights else math.nan


def emergency_study(
    scenario: Scenario,
    controller: str,
    seeds: Sequence[int],
    *,
    count: int = 5,
    modes: Sequence[str] = MODES,
    workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Ambulance travel time per arm (see ``emergency``) and everyone else's delay.

    Each priority arm is compared with the arm that drives the same way without the platform's
    signal priority (``preempt`` with ``none``, ``full`` with ``siren``), seed by seed on the same
    demand and the same ambulance trips. ``controller`` is the base signal control of every arm: an
    adaptive one gives priority through its safety layer, fixed time / actuated by taking the
    requested junctions over from their programs (see ``takeover``). ``free_flow_median_s`` is the
    ambulances' median trip time with all time loss removed: the floor that no signal priority can
    go below. ``ems_standing_median_s`` is their median time standing still (SUMO's waiting time),
    which signal priority removes directly; the rest of the time loss is driving in traffic (behind
    slower cars, braking for turns, starting away), which no signal removes.
    """
    specs = [
        RunSpec(scenario, controller, seed=s, plugins=[EmergencyPlugin(count=count, seed=s, mode=m)], explain_every=0)
        for s in seeds
        for m in modes
    ]
    runs = map_jobs(
        run_job, specs, backend="processes", workers=workers, isolate=True, on_crash=_crashed_run, progress=progress
    )
    crashed = [(r["seed"], r["ems_mode"]) for r in runs if r.get("crashed")]
    # a crashed run drops its seed from its pair of arms (the comparison is seed by seed)
    partner = {**BASELINE, **{base: arm for arm, base in BASELINE.items()}}
    dropped = {(seed, m) for seed, mode in crashed for m in (mode, partner.get(mode))}
    runs = [r for r in runs if not r.get("crashed")]
    arms: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for r in runs:
        if (r["seed"], r["ems_mode"]) not in dropped:
            arms[r["ems_mode"]].append(r)
    out: dict[str, Any] = {
        "crashed_runs": [{"seed": seed, "arm": mode} for seed, mode in crashed],
        "scenario": scenario.name,
        "controller": controller,
        "seeds": list(seeds),
        "ambulances_per_run": count,
        "signals_per_trip": statistics.fmean(t["signals"] for r in runs for t in r["ems_planned"])
        if runs
        else math.nan,
    }
    for m in modes:
        times = _ems_times(arms[m])
        free = [t["duration"] - t["time_loss"] for r in arms[m] for t in r["ems_trips"]]
        standing = [t["waiting"] for r in arms[m] for t in r["ems_trips"]]
        out[m] = {
            "ems_trips": len(times),
            "ems_median_s": statistics.median(times) if times else math.nan,
            "ems_p25_s": _quantile(times, 0.25),
            "ems_p75_s": _quantile(times, 0.75),
            "ems_mean_s": statistics.fmean(times) if times else math.nan,
            "free_flow_median_s": statistics.median(free) if free else math.nan,
            "ems_standing_median_s": statistics.median(standing) if standing else math.nan,
            "ems_unfinished": sum(1 for r in arms[m] for t in r["ems_trips"] if not t["arrived"]),
            "on_green": _on_green(arms[m]),
            "takeovers": sum(int(r.get("takeovers", 0)) for r in arms[m]),
            "handbacks": sum(int(r.get("handbacks", 0)) for r in arms[m]),
            "delay": statistics.fmean(r["delay"] for r in arms[m]) if arms[m] else math.nan,
            "baseline": BASELINE.get(m),
        }
    for m in modes:
        base = BASELINE.get(m)
        if base not in arms or not arms[base] or not arms[m]:
            continue
        arm, ref = out[m], out[base]
        arm["ems_median_ratio"] = arm["ems_median_s"] / ref["ems_median_s"]
        arm["floor_ratio"] = ref["free_flow_median_s"] / ref["ems_median_s"]
        arm["delay_change"] = arm["delay"] / ref["delay"] - 1.0
        by_seed = {r["seed"]: r for r in arms[base]}
        per_seed = []
        ratio_seeds = []
        delay_seed = []
        for r in arms[m]:
            b = by_seed.get(r["seed"])
            if b is None:
                continue
            t_arm, t_ref = _ems_times([r]), _ems_times([b])
            if t_arm and t_ref:
                per_seed.append(statistics.median(t_arm) / statistics.median(t_ref))
                ratio_seeds.append(r["seed"])
            delay_seed.append(r["delay"] / b["delay"] - 1.0)
        arm["ratio_by_seed"] = per_seed
        arm["ratio_seeds"] = ratio_seeds
        arm["ratio_seed_sd"] = statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0
        arm["delay_change_by_seed"] = delay_seed
        arm["delay_change_seed_sd"] = statistics.stdev(delay_seed) if len(delay_seed) > 1 else 0.0
    return out


def incident_study(
    scenario: Scenario,
    controller: str,
    seeds: Sequence[int],
    *,
    count: int = 3,
    training_seeds: Sequence[int] = INCIDENT_TRAINING_SEEDS,
    workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Detection rate and time with injected blockages; false alarms on incident-free runs.

    The detector is first fitted on incident-free runs with ``training_seeds`` (disjoint from the
    evaluation seeds), then evaluated with and without injected incidents on ``seeds``.
    """
    if set(training_seeds) & set(seeds):
        raise ValueError("training_seeds must be disjoint from the evaluation seeds")
    fitted = fit_incident_detector(scenario, controller, training_seeds, workers=workers)

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
    by_seed = [
        {
            "seed": r["seed"],
            "injected": r["incidents"]["injected"],
            "within_120s": r["incidents"]["detected_within"],
            "false_alarms_incident_free": f["incidents"]["false_alarms"],
        }
        for r, f in zip(with_inc, free, strict=True)
    ]
    return {
        "scenario": scenario.name,
        "controller": controller,
        "seeds": list(seeds),
        "training_seeds": list(training_seeds),
        "recurrent_lanes": len(fitted.lane_alarm_s_),
        "alarm_s": fitted.alarm_s,
        "injected": len(per),
        "detected": len(detect_times),
        "detection_rate": len(detect_times) / len(per) if per else math.nan,
        "detected_within_120s": sum(1 for i in per if i["within"]) / len(per) if per else math.nan,
        "median_time_to_detect": statistics.median(detect_times) if detect_times else math.nan,
        "p90_time_to_detect": _quantile(detect_times, 0.9),
        "false_alarms": false_alarms,
        "false_alarms_per_hour_per_10_junctions": false_alarms / hours / (junctions / 10.0) if hours else math.nan,
        "incident_free_hours": hours,
        "junctions": junctions,
        "by_seed": by_seed,
        "missed": [{k: i.get(k) for k in ("lane", "pos", "start", "time_to_detect")} for i in per if not i["within"]],
    }


def fit_incident_detector(
    scenario: Scenario, controller: str, training_seeds: Sequence[int], *, workers: int = 2
) -> IncidentDetector:
    """The detector calibrated on incident-free runs of ``training_seeds`` (lanes with recurrent holes)."""
    training = run_specs(
        [
            RunSpec(scenario, controller, seed=s, plugins=[IncidentPlugin(count=0, seed=s)], explain_every=0)
            for s in training_seeds
        ],
        workers=workers,
    )
    return IncidentDetector().fit([r["incident_peaks"] for r in training])
