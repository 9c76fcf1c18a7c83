"""The traffic page (mounted at /traffic): the network, junction figures, controller comparison,
emergency and incident results, incident alerts, and a button that runs a scenario as a job.

    GET  /traffic[?scenario=NAME]   everything above for one scenario (public; the forms for Transport officers)
    POST /traffic/runs              start a run (CSRF-checked), then 303 to the job's progress page /jobs/{id}
    POST /traffic/incidents/{receipt}/review   an operator confirms or dismisses an alert, with what they checked
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from civicbrain.core.identity import Principal, Role
from civicbrain.services.traffic import benchmarks
from civicbrain.services.traffic.algorithms import AGENCY, CONTROLLER_CARDS, INCIDENT_DETECTOR
from civicbrain.services.traffic.charts import comparison_figure, network_figure
from civicbrain.services.traffic.domain.controllers import BEST
from civicbrain.services.traffic.domain.scenarios import RESCO_NAMES, ScenarioNotFound, list_scenarios, resco_scenario
from civicbrain.services.traffic.geo import network_geojson
from civicbrain.services.traffic.service import (
    REVIEW_OUTCOMES,
    detector_summary,
    incident_alerts,
    recent_runs,
    review_incident,
    start_operation,
)
from civicbrain.web.pages import CsrfChecked, Ctx, MaybeUser, SignedIn, render

router = APIRouter()
DEFAULT_SCENARIO = "cologne8"
DURATIONS = ((900, "first 15 minutes"), (1800, "first 30 minutes"), (3600, "the whole hour"))


def may_run(principal: Principal | None) -> bool:
    return principal is not None and (
        principal.role == Role.ADMIN or (principal.role == Role.OFFICER and principal.agency_id == AGENCY)
    )


def _network(scenario: str, junctions: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    try:
        geojson = network_geojson(resco_scenario(scenario).net)
    except (ScenarioNotFound, ImportError, OSError) as exc:
        return None, f"The network cannot be drawn here: {exc}"
    return network_figure(geojson, junctions), None


def _comparison_rows(scenario: str, runs: list[Any]) -> list[dict[str, Any]]:
    bench = benchmarks.latest_measurements()
    rows = [
        {**r, "label": f"{r['controller']} (bench, {r['seeds']} seeds)", "source": "bench"}
        for r in benchmarks.comparison_rows(bench)
        if r["scenario"] == scenario
    ]
    for run in runs:
        for role in ("live", "candidate"):
            summary = run.summary.get(role)
            name = run.controller if role == "live" else run.candidate
            if summary and name:
                ratio = None
                if name == "fixed":
                    ratio = 1.0
                elif role == "candidate" and run.controller == "fixed":  # same demand, same seeds: a true ratio
                    ratio = (run.summary.get("difference") or {}).get("delay_ratio")
                rows.append(
                    {
                        "label": f"{name} (run {run.id}{', shadow' if role == 'candidate' else ''})",
                        "controller": name,
                        "delay_mean": summary.get("delay_mean"),
                        "delay_sd": summary.get("delay_sd"),
                        "never_departed": summary.get("never_departed"),
                        "ratio_to_fixed": ratio,
                        "seeds": len(summary.get("seeds", [])),
                        "source": "run",
                    }
                )
    return rows


@router.get("", response_class=HTMLResponse)
def traffic_page(
    request: Request,
    ctx: Ctx,
    principal: MaybeUser,
    scenario: Annotated[str, Query(max_length=40)] = DEFAULT_SCENARIO,
) -> HTMLResponse:
    if scenario not in RESCO_NAMES:
        scenario = DEFAULT_SCENARIO
    runs = recent_runs(ctx, scenario=scenario, limit=10)
    latest = runs[0] if runs else None
    junctions = latest.junctions if latest else {}
    network_chart, network_problem = _network(scenario, junctions)
    rows = _comparison_rows(scenario, list(reversed(runs[:5])))
    bench = benchmarks.latest_measurements()
    register = ctx.register
    live_ok = [n for n, c in CONTROLLER_CARDS.items() if c.id in register and register.get(c.id).allows("live")]
    shadow_ok = [n for n, c in CONTROLLER_CARDS.items() if c.id in register and register.get(c.id).allows("shadow")]
    context = {
        "scenario": scenario,
        "scenarios": list_scenarios(),
        "network_chart": network_chart,
        "network_problem": network_problem,
        "latest": latest,
        "runs": runs,
        "comparison_rows": rows,
        "comparison_chart": comparison_figure(rows, f"Delay by controller, {scenario}"),
        "bench": bench,
        "bench_protocol": benchmarks.protocol_of(bench),
        "emergency": benchmarks.emergency_rows(bench),
        "incident_studies": (bench or {}).get("incidents") or [],
        "alerts": incident_alerts(ctx, limit=20),
        "review_outcomes": REVIEW_OUTCOMES,
        "detectors": detector_summary(ctx),
        "incident_card": INCIDENT_DETECTOR,
        "cards": CONTROLLER_CARDS,
        "best": BEST,
        "live_controllers": live_ok,
        "shadow_controllers": [n for n in shadow_ok],
        "default_candidate": BEST if BEST in shadow_ok and BEST not in live_ok else None,
        "durations": DURATIONS,
        "may_run": may_run(principal),
        "principal": principal,
    }
    return render(request, "traffic/index.html", context)


@router.post("/runs", dependencies=[CsrfChecked])
def start_run(
    ctx: Ctx,
    principal: SignedIn,
    scenario: Annotated[str, Form(max_length=40)],
    controller: Annotated[str, Form(max_length=40)],
    candidate: Annotated[str, Form(max_length=40)] = "",
    duration_s: Annotated[int, Form(ge=60, le=4 * 3600)] = 900,
    incidents: Annotated[int, Form(ge=0, le=10)] = 0,
) -> RedirectResponse:
    principal.require_agency(AGENCY)
    if scenario not in RESCO_NAMES:
        scenario = DEFAULT_SCENARIO
    params: dict[str, Any] = {
        "scenario": scenario,
        "controller": controller,
        "candidate": candidate or None,
        "seeds": 1,
        "duration_s": duration_s,
        "incidents": incidents,
    }
    job_id = start_operation(ctx, params, requested_by=principal.username)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/incidents/{receipt}/review", dependencies=[CsrfChecked])
def review_alert(
    ctx: Ctx,
    principal: SignedIn,
    receipt: Annotated[str, Path(min_length=36, max_length=36)],
    outcome: Annotated[str, Form(max_length=20)],
    reasons: Annotated[str, Form(max_length=2000)],
    scenario: Annotated[str, Form(max_length=40)] = DEFAULT_SCENARIO,
) -> RedirectResponse:
    principal.require_agency(AGENCY)
    review_incident(ctx, receipt, outcome=outcome, reasons=reasons, actor=principal.username)
    back = scenario if scenario in RESCO_NAMES else DEFAULT_SCENARIO
    return RedirectResponse(f"/traffic?scenario={back}#incidents", status_code=303)
