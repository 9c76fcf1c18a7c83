"""Use cases of the traffic service: evaluate controllers, operate a junction network through the
platform (live controller, shadow candidate, incident alerts), and read back what was done.

Simulations run in child processes through ``core.batch`` (libsumo allows one simulation per
process); everything that touches the database — ledger entries, the run's row — happens here in
the parent, with the results, inside one unit of work.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from civicbrain.core.context import Decision, Platform, Runtime
from civicbrain.core.errors import NotFound, ValidationFailed
from civicbrain.core.models import FeedRecord
from civicbrain.core.register import Register
from civicbrain.services.traffic.algorithms import CONTROLLER_CARDS, INCIDENT_DETECTOR, card_for
from civicbrain.services.traffic.domain.controllers import BEST, CONTROLLERS
from civicbrain.services.traffic.domain.emergency import EmergencyPlugin
from civicbrain.services.traffic.domain.evaluation import (
    fit_incident_detector,
    run_specs,
    summarize_batch,
    summarize_runs,
)
from civicbrain.services.traffic.domain.incidents import IncidentDetector, IncidentPlugin
from civicbrain.services.traffic.domain.scenarios import (
    Scenario,
    ScenarioNotFound,
    resco_scenario,
    user_scenario,
)
from civicbrain.services.traffic.domain.shadow import ShadowPlugin
from civicbrain.services.traffic.domain.simulation import Plugin, RunSpec
from civicbrain.services.traffic.feeds import DETECTOR_COUNTS
from civicbrain.services.traffic.junction_log import JunctionLog
from civicbrain.services.traffic.models import TrafficRun

Progress = Callable[[int, int], None]
WINDOW_S = 300.0
# Keys of one controller's summary in ``civicbrain traffic run --json`` (and the API's results).
SUMMARY_KEYS = (
    "delay_mean",
    "delay_sd",
    "trip_time_mean",
    "trip_time_sd",
    "wait_mean",
    "wait_sd",
    "never_departed",
    "free_flow_trip_mean",
    "free_flow_trip_sd",
    "wall_s_mean",
    "seeds",
)


# --- scenarios and controllers -------------------------------------------------------------------


def resolve_controller(name: str) -> str:
    """A controller name as the domain knows it ('best' is the recommended one)."""
    resolved = BEST if name == "best" else name
    if resolved not in CONTROLLERS:
        raise ValidationFailed(
            f"unknown controller '{name}'; choose from {', '.join(CONTROLLERS)} or 'best'", field="controller"
        )
    return resolved


def resolve_scenario(
    name: str | None = None,
    *,
    net: str | None = None,
    routes: str | None = None,
    begin: float | None = None,
    end: float | None = None,
    duration: float | None = None,
    scale: float = 1.0,
    junction_blocker_s: float | None = None,
) -> Scenario:
    """A RESCO scenario by name, or any SUMO network with its routes; optionally a shorter window, and
    optionally vehicles passing a junction blocker after ``junction_blocker_s`` seconds (SUMO's
    ``--ignore-junction-blocker``; never by default, as in RESCO's protocol)."""
    if scale <= 0 or scale > 5:
        raise ValidationFailed("scale must be above 0 and at most 5", field="scale")
    if junction_blocker_s is not None and not 0 < junction_blocker_s <= 3600:
        raise ValidationFailed(
            "a junction blocker is passed after more than 0 and at most 3600 seconds", field="ignore_junction_blocker"
        )
    try:
        if name and not net:
            scenario = resco_scenario(name).with_window(begin=begin, end=end).scaled(scale)
        elif net and routes:
            scenario = user_scenario(
                net, routes, begin=0.0 if begin is None else begin, end=3600.0 if end is None else end, scale=scale
            )
        else:
            raise ValidationFailed("name a scenario, or give both a network and a routes file", field="scenario")
    except ScenarioNotFound as exc:
        raise NotFound(str(exc), field="scenario") from None
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="end") from None
    if duration is not None:
        if duration <= 0:
            raise ValidationFailed("duration must be positive", field="duration")
        scenario = scenario.with_window(end=min(scenario.end, scenario.begin + duration))
    if scenario.end <= scenario.begin:
        raise ValidationFailed("end must be after begin", field="end")
    return scenario.releasing_junction_blockers(junction_blocker_s)


def controller_catalogue(register: Register) -> list[dict[str, Any]]:
    """Every controller with its register status (what it may do on this instance)."""
    out = []
    for name, cls in CONTROLLERS.items():
        card = CONTROLLER_CARDS[name]
        status = register.get(card.id).status if card.id in register else "not registered"
        out.append(
            {
                "name": name,
                "title": cls.title,
                "adaptive": cls.adaptive,
                "best": name == BEST,
                "algorithm": card.id,
                "version": card.version,
                "status": status,
                "params": cls().get_params(),
            }
        )
    return out


# --- evaluation (``civicbrain traffic run``): no ledger, figures only --------------------------------


def _clean_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {str(k): _clean(v) for k, v in value.items()}


def _clean(value: Any) -> Any:
    """JSON without NaN (PostgreSQL's JSON and strict parsers refuse it): unmeasured becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _pick(summary: dict[str, Any], extra: Sequence[str] = ()) -> dict[str, Any]:
    return _clean_dict({k: summary[k] for k in (*SUMMARY_KEYS, *extra) if k in summary})


def evaluate(
    scenario: Scenario,
    controllers: Sequence[str],
    seeds: int,
    *,
    workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Each controller over ``seeds`` seeds, with fixed time measured in the same batch for the ratio."""
    if seeds < 1:
        raise ValidationFailed("at least one seed", field="seeds")
    requested = list(dict.fromkeys(resolve_controller(c) for c in controllers))
    names = requested if "fixed" in requested else ["fixed", *requested]
    specs = [
        RunSpec(scenario, c, seed=s, explain_every=0, label=f"{scenario.name}/{c}/{s}")
        for c in names
        for s in range(1, seeds + 1)
    ]
    runs = run_specs(specs, workers=workers, progress=progress)
    per_controller = summarize_batch(runs).get(scenario.name, {})
    total = summarize_runs([r for r in runs if r["controller"] in requested])
    return {
        "scenario": scenario.name,
        "begin": scenario.begin,
        "end": scenario.end,
        "scale": scenario.scale,
        "ignore_junction_blocker_s": scenario.junction_blocker_s,
        "best": BEST,
        "controllers": {
            c: _pick(per_controller[c], ("ratio_to_fixed", "ratio_to_fixed_sd")) for c in names if c in per_controller
        },
        "total": _pick(total),
    }


# --- operation: live controller, shadow candidate, incident alerts ---------------------------------


@dataclass(frozen=True)
class OperationRequest:
    scenario: Scenario
    controller: str
    candidate: str | None = None
    seeds: tuple[int, ...] = (1,)
    incidents: int = 0  # a drill: lane blockages injected into the demand (0: detect only)
    window_s: float = WINDOW_S
    ambulances: int = 0  # ambulance trips dispatched during the run, given signal priority (green wave)
    # incident-free runs (seeds 101, 102, ...) to calibrate the incident detector on first; 0: reuse the
    # latest calibration recorded for this scenario and live controller, if any
    calibration_runs: int = 0
    incident_thresholds: dict[str, float] | None = None  # per-lane evidence needed, from a calibration

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValidationFailed("at least one seed", field="seeds")
        if self.incidents < 0 or self.incidents > 10:
            raise ValidationFailed("incidents must be between 0 and 10", field="incidents")
        if self.ambulances < 0 or self.ambulances > 10:
            raise ValidationFailed("ambulances must be between 0 and 10", field="ambulances")
        if self.calibration_runs < 0 or self.calibration_runs > 5:
            raise ValidationFailed("calibration_runs must be between 0 and 5", field="calibration_runs")
        if self.candidate is not None and self.candidate == self.controller:
            raise ValidationFailed("the shadow candidate must differ from the live controller", field="candidate")


@dataclass
class OperationReport:
    run_id: int
    live: dict[str, Any]
    candidate: dict[str, Any] | None
    difference: dict[str, Any] | None
    decisions: dict[str, int]
    incidents: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    emergency: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return _clean_dict(
            {
                "run_id": self.run_id,
                "live": self.live,
                "candidate": self.candidate,
                "difference": self.difference,
                "decisions": self.decisions,
                "incidents": len(self.incidents),
                "receipts": self.receipts[:5],
                "emergency": self.emergency,
            }
        )


def operation_request(
    scenario: Scenario, controller: str, candidate: str | None = None, **kwargs: Any
) -> OperationRequest:
    return OperationRequest(
        scenario=scenario,
        controller=resolve_controller(controller),
        candidate=resolve_controller(candidate) if candidate else None,
        **kwargs,
    )


def check_permitted(register: Register, request: OperationRequest) -> None:
    """Refuse before simulating anything: the live controller must be registered live, the candidate
    for shadow, the detector for advice. (ctx.decide checks again on every entry.)"""
    live = card_for(request.controller)
    register.permit(live.id, live.version, "live")
    if request.candidate:
        cand = card_for(request.candidate)
        register.permit(cand.id, cand.version, "shadow")
    register.permit(INCIDENT_DETECTOR.id, INCIDENT_DETECTOR.version, "advisory")


CALIBRATION_SEEDS = 101  # calibration runs use seeds 101, 102, ...: never the seeds operated on


def _spec(request: OperationRequest, controller: str, seed: int, role: str) -> RunSpec:
    detector = IncidentDetector(lane_alarm_s_=dict(request.incident_thresholds or {}))
    plugins: list[Plugin] = [
        JunctionLog(window_s=request.window_s),
        IncidentPlugin(count=request.incidents, seed=seed, detector=detector),
    ]
    if request.ambulances:
        # the same ambulance trips on the same demand in the candidate's run, with priority in both: an
        # adaptive controller serves it through its safety layer, a program's junctions are taken over
        # for the ambulance and handed back to their cycle clock (``domain.takeover``)
        plugins.append(EmergencyPlugin(count=request.ambulances, seed=seed, mode="preempt"))
    if role == "live" and request.candidate and CONTROLLERS[request.candidate].adaptive:
        # the candidate also reads the live run's own detectors and says what it would do, acting on nothing
        plugins.append(ShadowPlugin(candidate=request.candidate, sample_every=request.window_s))
    return RunSpec(
        request.scenario,
        controller,
        seed=seed,
        explain_every=request.window_s,  # the domain's snapshot of scores, once per window
        plugins=plugins,
        label=f"{role}/{request.scenario.name}/{controller}/{seed}",
    )


def operation_specs(request: OperationRequest) -> list[RunSpec]:
    """Per seed, the live run (with the candidate reading its detectors) and, on the same demand (same
    routes, same seed), a second simulation the candidate drives, so the outcome difference is measured."""
    specs = [_spec(request, request.controller, s, "live") for s in request.seeds]
    if request.candidate:
        specs += [_spec(request, request.candidate, s, "shadow") for s in request.seeds]
    return specs


def calibrate_incidents(request: OperationRequest, *, workers: int = 2) -> dict[str, float]:
    """Per-lane alarm thresholds from incident-free runs of the live controller on calibration seeds."""
    seeds = [CALIBRATION_SEEDS + k for k in range(request.calibration_runs)]
    return fit_incident_detector(request.scenario, request.controller, seeds, workers=workers).lane_alarm_s_


def latest_calibration(ctx: Platform, scenario: str, controller: str) -> dict[str, float] | None:
    """The incident-detector calibration recorded last for this scenario and live controller."""
    query = (
        select(TrafficRun)
        .where(TrafficRun.scenario == scenario, TrafficRun.controller == controller)
        .order_by(TrafficRun.id.desc())
        .limit(20)
    )
    for run in ctx.session.scalars(query):
        calibration = (run.incidents or {}).get("calibration")
        if calibration is not None:
            return dict(calibration.get("lane_alarm_s", {}))
    return None


def simulate_operation(
    request: OperationRequest, *, workers: int = 2, progress: Progress | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(live runs, candidate runs), one child process each."""
    runs = run_specs(operation_specs(request), workers=workers, progress=progress)
    n = len(request.seeds)
    return runs[:n], runs[n:]


def _clock(seconds: float) -> str:
    s = int(seconds) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _window_explanation(
    window: dict[str, Any], snapshot: dict[str, Any] | None, *, shadow_of: str | None
) -> dict[str, Any]:
    span = max(1.0, window["end"] - window["start"])
    green = {int(p): s for p, s in window["green_s"].items()}
    queues = {int(p): q for p, q in window["queue_mean_by_phase"].items()}
    main = max(green, key=lambda p: green[p]) if green else None
    longest = max(queues, key=lambda p: queues[p]) if queues else None
    when = f"{_clock(window['start'])}-{_clock(window['end'])}"
    parts = []
    if main is not None:
        parts.append(f"phase {main} showed green {100 * green[main] / span:.0f}% of the time")
    if window["reasons"]:
        top = sorted(window["reasons"].items(), key=lambda kv: -kv[1])[:3]
        parts.append("reasons: " + ", ".join(f"{reason} ({n}x)" for reason, n in top))
    else:
        parts.append("the junction's own program set the phases")
    if longest is not None:
        parts.append(f"longest mean queue {queues[longest]:.1f} vehicles, on phase {longest}'s approaches")
    prefix = (
        f"Shadow, not acted on: in a parallel simulation of the same demand, {shadow_of} at junction"
        if shadow_of
        else "Junction"
    )
    return {
        "summary": f"{prefix} {window['junction']}, {when}: " + "; ".join(parts) + ".",
        "window": {"start": window["start"], "end": window["end"]},
        "phases": [
            {
                "phase": p,
                "green_s": green.get(p, 0.0),
                "queue_mean": queues.get(p, 0.0),
                "queue_max": window["queue_max_by_phase"].get(str(p), 0),
            }
            for p in sorted(set(green) | set(queues))
        ],
        "clearance_s": window["clearance_s"],
        "reasons": window["reasons"],
        "decision_snapshot": snapshot,
    }


def _snapshots(run: dict[str, Any]) -> dict[tuple[str, float], dict[str, Any]]:
    return {(d["junction"], d["time"]): d["explanation"] for d in run.get("decisions_sampled", [])}


def _snapshot_in(snaps: dict[tuple[str, float], dict[str, Any]], window: dict[str, Any]) -> dict[str, Any] | None:
    for (jid, t), exp in snaps.items():
        if jid == window["junction"] and window["start"] <= t < window["end"]:
            return exp
    return None


def _beside_live(live_run: dict[str, Any] | None, junction: str) -> dict[str, Any] | None:
    """How often the candidate, reading the live run's own detectors, would have chosen another phase."""
    stats = ((live_run or {}).get("shadow") or {}).get("by_junction", {}).get(junction)
    if not stats or not stats.get("compared"):
        return None
    return {**stats, "disagreement_rate": round(stats["disagreed"] / stats["compared"], 3)}


def record_signal_plans(
    ctx: Platform, controller: str, run: dict[str, Any], *, mode: str, live_run: dict[str, Any] | None = None
) -> list[Decision]:
    """One ledger entry per junction per window: the phases shown and the queues and reasons behind them.

    For a shadow candidate, ``live_run`` is the live run of the same seed: its shadow report says how
    often the candidate disagreed with the live lights on the same detector data.
    """
    card = card_for(controller)
    snaps = _snapshots(run)
    shadow_of = controller if mode == "shadow" else None
    decisions = []
    for window in run.get("junction_windows", []):
        explanation = _window_explanation(window, _snapshot_in(snaps, window), shadow_of=shadow_of)
        beside = _beside_live(live_run, window["junction"]) if mode == "shadow" else None
        if beside:
            explanation["beside_live"] = beside
            explanation["summary"] += (
                f" Reading the live run's own detectors, it would have chosen another phase than the live lights "
                f"in {100 * beside['disagreement_rate']:.0f}% of {beside['compared']} checks at this junction."
            )
        green = window["green_s"]
        decisions.append(
            ctx.decide(
                algorithm=card.id,
                version=card.version,
                subject=f"junction:{window['junction']}",
                inputs={"approach_queues": window["queue_mean_by_phase"], "stop_line_flow": window["discharged"]},
                outcome={
                    "label": "signal_plan",
                    "green_s": green,
                    "main_phase": max(green, key=lambda p: green[p]) if green else None,
                    "seed": run["seed"],
                },
                explanation=explanation,
                mode=mode,
            )
        )
    return decisions


def _alarm_summary(alarm: dict[str, Any]) -> str:
    exp = alarm["explanation"]
    signal = {"G": "green", "r": "red"}.get(exp.get("signal", ""), "")
    signal_txt = f" (its signal shows {signal} now)" if signal else ""
    start = exp.get("blocked_from_m")
    where = f" {start:.0f} m or more before the stop line" if isinstance(start, int | float) else ""
    return (
        f"Lane {alarm['lane']} at junction {alarm['junction']} is probably blocked{where}: vehicles stood still "
        f"there with nobody standing in the stretch ahead of them for {exp.get('evidence_s', 0):.0f} s "
        f"(an ordinary queue starts at the stop line){signal_txt}. An operator should check it."
    )


def record_incident_alerts(ctx: Platform, run: dict[str, Any]) -> list[dict[str, Any]]:
    """Each alarm of the detector becomes an advisory decision an operator confirms or dismisses."""
    alerts = []
    for alarm in run.get("incident_alarms", []):
        exp = alarm["explanation"]
        inputs = {
            "approach_halting": exp.get("halting"),
            "halting_by_segment": exp.get("halting_by_segment"),
            "segments_m": exp.get("segments_m"),
            "signal": exp.get("signal"),
        }
        decision = ctx.decide(
            algorithm=INCIDENT_DETECTOR.id,
            version=INCIDENT_DETECTOR.version,
            subject=f"junction:{alarm['junction']}",
            inputs=inputs,
            outcome={"label": "incident_suspected", "lane": alarm["lane"], "edge": alarm["edge"]},
            explanation={"summary": _alarm_summary(alarm), **exp, "at": _clock(alarm["time"])},
            mode="advisory",
        )
        alerts.append(
            {
                "seed": run["seed"],
                "time": alarm["time"],
                "at": _clock(alarm["time"]),
                "junction": alarm["junction"],
                "lane": alarm["lane"],
                "edge": alarm["edge"],
                "halting": exp.get("halting"),
                "evidence_s": exp.get("evidence_s"),
                "receipt": decision.id,
            }
        )
    return alerts


def junction_figures(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per junction over all windows and seeds: stopped delay per vehicle, mean and max queue."""
    acc: dict[str, dict[str, float]] = {}
    for run in runs:
        for w in run.get("junction_windows", []):
            a = acc.setdefault(w["junction"], {"veh_s": 0.0, "discharged": 0.0, "q_sum": 0.0, "n": 0.0, "q_max": 0.0})
            a["veh_s"] += w["stopped_veh_s"]
            a["discharged"] += w["discharged"]
            a["q_sum"] += w["queue_mean"]
            a["n"] += 1
            a["q_max"] = max(a["q_max"], w["queue_max"])
    return {
        jid: {
            "stopped_delay_s": round(a["veh_s"] / a["discharged"], 1) if a["discharged"] else None,
            "queue_mean": round(a["q_sum"] / a["n"], 2) if a["n"] else None,
            "queue_max": int(a["q_max"]),
            "discharged": int(a["discharged"] / max(1, len(runs))),
        }
        for jid, a in sorted(acc.items())
    }


Runs = list[dict[str, Any]]


def _difference(live: dict[str, Any], cand: dict[str, Any], live_runs: Runs, cand_runs: Runs) -> dict[str, Any]:
    by_seed = {r["seed"]: r for r in live_runs}
    ratios = [c["delay"] / by_seed[c["seed"]]["delay"] for c in cand_runs if by_seed.get(c["seed"], {}).get("delay")]
    return {
        "delay_change_s": cand["delay_mean"] - live["delay_mean"],
        "delay_ratio": sum(ratios) / len(ratios) if ratios else math.nan,
        "trip_time_change_s": cand["trip_time_mean"] - live["trip_time_mean"],
        "wait_change_s": cand["wait_mean"] - live["wait_mean"],
        "never_departed_change": cand["never_departed"] - live["never_departed"],
    }


def _agreement(live_runs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The candidate's disagreement with the live lights on the live runs' own detector data."""
    reports = [r["shadow"] for r in live_runs if r.get("shadow")]
    compared = sum(int(r["compared"]) for r in reports)
    if not compared:
        return None
    disagreed = sum(round(r["disagreement_rate"] * r["compared"]) for r in reports)
    return {"compared": compared, "disagreed": disagreed, "disagreement_rate": round(disagreed / compared, 3)}


def _drill(runs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [r["incidents"] for r in runs if r.get("incidents", {}).get("injected")]
    if not scored:
        return None
    return {k: sum(s[k] for s in scored) for k in ("injected", "detected", "detected_within", "false_alarms")}


def _emergency(runs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The ambulances of the run: their travel times and how often signals were pre-empted for them."""
    trips = [t for r in runs for t in r.get("ems_trips", [])]
    if not trips:
        return None
    times = [t["duration"] + t["depart_delay"] for t in trips]
    return {
        "mode": runs[0].get("ems_mode"),
        "trips": len(trips),
        "arrived": sum(1 for t in trips if t["arrived"]),
        "median_travel_s": statistics.median(times),
        "time_loss_s": [round(t["time_loss"], 1) for t in trips],
        "preemption_steps": sum(int(r.get("preemption_steps", 0)) for r in runs),
    }


def record_operation(
    ctx: Platform,
    request: OperationRequest,
    live_runs: list[dict[str, Any]],
    candidate_runs: list[dict[str, Any]],
    *,
    calibration: dict[str, Any] | None = None,
) -> OperationReport:
    """Write the ledger entries and the run's row from the simulations' results."""
    decisions: dict[str, int] = {"live": 0, "shadow": 0, "advisory": 0}
    receipts: list[str] = []
    alerts: list[dict[str, Any]] = []
    for run in live_runs:
        made = record_signal_plans(ctx, request.controller, run, mode="live")
        decisions["live"] += len(made)
        receipts += [d.id for d in made[:2]]
        found = record_incident_alerts(ctx, run)
        decisions["advisory"] += len(found)
        alerts += found
    if request.candidate:
        live_by_seed = {r["seed"]: r for r in live_runs}
        for run in candidate_runs:
            made = record_signal_plans(
                ctx, request.candidate, run, mode="shadow", live_run=live_by_seed.get(run["seed"])
            )
            assert not any(d.takes_effect for d in made)  # the ledger's own guarantee, stated here
            decisions["shadow"] += len(made)
    live = _pick(summarize_runs(live_runs))
    cand = _pick(summarize_runs(candidate_runs)) if candidate_runs else None
    difference = _clean_dict(_difference(live, cand, live_runs, candidate_runs)) if cand else None
    row = TrafficRun(
        created_at=ctx.now(),
        created_by=ctx.actor,
        scenario=request.scenario.name,
        begin=request.scenario.begin,
        end=request.scenario.end,
        scale=request.scenario.scale,
        seeds=list(request.seeds),
        controller=request.controller,
        candidate=request.candidate,
        summary={
            "live": live,
            "candidate": cand,
            "difference": difference,
            "agreement": _agreement(live_runs),
            "emergency": _emergency(live_runs),
            "emergency_candidate": _emergency(candidate_runs),
        },
        junctions=junction_figures(live_runs),
        incidents=_clean_dict({"alerts": alerts, "drill": _drill(live_runs), "calibration": calibration}),
        decisions={**decisions, "receipts": receipts[:10]},
    )
    ctx.session.add(row)
    ctx.session.flush()
    return OperationReport(
        row.id, live, cand, difference, decisions, alerts, receipts, emergency=row.summary["emergency"]
    )


def operate(
    runtime: Runtime,
    request: OperationRequest,
    *,
    actor: str | None,
    workers: int = 2,
    progress: Progress | None = None,
) -> OperationReport:
    """Check the register, simulate in child processes, then record everything in one unit of work."""
    check_permitted(runtime.register, request)
    calibration: dict[str, Any] | None = None
    if request.incident_thresholds is not None:
        calibration = {"source": "request", "lane_alarm_s": request.incident_thresholds}
    elif request.calibration_runs:
        seeds = [CALIBRATION_SEEDS + k for k in range(request.calibration_runs)]
        calibration = {"source": f"incident-free runs, seeds {seeds}", "lane_alarm_s": calibrate_incidents(request)}
    else:
        with runtime.unit(actor=actor) as ctx:
            found = latest_calibration(ctx, request.scenario.name, request.controller)
        if found is not None:
            calibration = {"source": "latest recorded calibration", "lane_alarm_s": found}
    if calibration is not None:
        request = replace(request, incident_thresholds=dict(calibration["lane_alarm_s"]))
    total = len(operation_specs(request)) + 1
    live_runs, candidate_runs = simulate_operation(
        request, workers=workers, progress=(lambda done, _n: progress(done, total)) if progress else None
    )
    with runtime.unit(actor=actor) as ctx:
        report = record_operation(ctx, request, live_runs, candidate_runs, calibration=calibration)
    if progress:
        progress(total, total)
    return report


# --- background job (portal button, API) ------------------------------------------------------------

JOB_KIND = "traffic.operation"


def request_from_params(params: dict[str, Any]) -> OperationRequest:
    scenario = resolve_scenario(
        params.get("scenario"),
        net=params.get("net"),
        routes=params.get("routes"),
        begin=params.get("begin"),
        end=params.get("end"),
        duration=params.get("duration_s"),
        scale=float(params.get("scale", 1.0)),
    )
    return operation_request(
        scenario,
        params["controller"],
        params.get("candidate"),
        seeds=tuple(range(1, int(params.get("seeds", 1)) + 1)),
        incidents=int(params.get("incidents", 0)),
        ambulances=int(params.get("ambulances", 0)),
        calibration_runs=int(params.get("calibration_runs", 0)),
    )


def operation_job(runtime: Runtime, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The job function behind POST /api/v1/traffic/runs and the traffic page's button."""
    request = request_from_params(params)
    report = operate(runtime, request, actor=params.get("requested_by"), progress=progress)
    return {**report.as_dict(), "page": "/traffic"}


def start_operation(ctx: Platform, params: dict[str, Any], *, requested_by: str) -> str:
    """Validate now (the caller hears about a bad request at once), then run in the background."""
    check_permitted(ctx.register, request_from_params(params))
    # The job is recorded in this request's unit of work and starts once it commits.
    return ctx.runtime.jobs.submit(
        JOB_KIND, {**params, "requested_by": requested_by}, operation_job, created_by=requested_by, ctx=ctx
    )


# --- reading back ------------------------------------------------------------------------------------


def run_view(run: TrafficRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "created_at": run.created_at.isoformat(),
        "created_by": run.created_by,
        "scenario": run.scenario,
        "begin": run.begin,
        "end": run.end,
        "scale": run.scale,
        "seeds": run.seeds,
        "controller": run.controller,
        "candidate": run.candidate,
        "summary": run.summary,
        "junctions": run.junctions,
        "incidents": run.incidents,
        "decisions": run.decisions,
    }


def recent_runs(ctx: Platform, *, scenario: str | None = None, limit: int = 20) -> list[TrafficRun]:
    query = select(TrafficRun).order_by(TrafficRun.id.desc()).limit(limit)
    if scenario:
        query = query.where(TrafficRun.scenario == scenario)
    return list(ctx.session.scalars(query))


def get_run(ctx: Platform, run_id: int) -> TrafficRun:
    run = ctx.session.get(TrafficRun, run_id)
    if run is None:
        raise NotFound(f"no traffic run {run_id}", field="run_id")
    return run


REVIEW_OUTCOMES = ("confirmed", "false_alarm")
INCIDENT_REVIEW = "traffic.incident_review"  # what the operator's human decision is recorded as


def incident_alerts(ctx: Platform, *, limit: int = 100) -> list[dict[str, Any]]:
    """The detector's alerts, newest run first, with the operator's review if there is one."""
    out: list[dict[str, Any]] = []
    for run in recent_runs(ctx, limit=limit):
        for alert in run.incidents.get("alerts", []):
            reviews = [e for e in ctx.ledger.linked_to(alert["receipt"]) if e.algorithm == INCIDENT_REVIEW]
            out.append(
                {
                    **alert,
                    "run_id": run.id,
                    "scenario": run.scenario,
                    "review": reviews[-1].outcome_label if reviews else None,
                }
            )
            if len(out) >= limit:
                return out
    return out


def detector_summary(ctx: Platform, *, recent: int = 2000) -> list[dict[str, Any]]:
    """Per loop, what the detector feed delivered lately: intervals held, the latest count and occupancy."""
    try:
        feed = ctx.exchange.feed(DETECTOR_COUNTS.agency_id, DETECTOR_COUNTS.name)
    except NotFound:
        return []
    query = select(FeedRecord).where(FeedRecord.feed_id == feed.id).order_by(FeedRecord.id.desc()).limit(recent)
    loops: dict[str, dict[str, Any]] = {}
    for record in ctx.session.scalars(query):
        data = record.data
        loop = loops.setdefault(data["loop_id"], {"loop_id": data["loop_id"], "intervals": 0, "vehicles": 0})
        loop["intervals"] += 1
        loop["vehicles"] += int(data["count"])
        if str(data["interval_start"]) > str(loop.get("latest_interval", "")):
            loop.update(
                latest_interval=str(data["interval_start"]),
                latest_count=data["count"],
                latest_occupancy=data["occupancy"],
                flow_per_hour=round(data["count"] * 3600 / max(1, int(data["interval_s"]))),
            )
    return sorted(loops.values(), key=lambda r: r["loop_id"])


def review_incident(ctx: Platform, receipt: str, *, outcome: str, reasons: str, actor: str) -> str:
    """An operator confirms or dismisses an alert; the human decision is chained to the alert."""
    if outcome not in REVIEW_OUTCOMES:
        raise ValidationFailed(f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}", field="outcome")
    if not reasons.strip():
        raise ValidationFailed("say what you checked", field="reasons")
    entry = ctx.ledger.get(receipt)
    if entry.algorithm != INCIDENT_DETECTOR.id:
        raise NotFound(f"no incident alert with receipt '{receipt}'", field="receipt")
    return ctx.record_human_decision(
        about=receipt, what=INCIDENT_REVIEW, outcome_label=outcome, reasons=reasons, actor=actor
    ).receipt
