"""HTTP routes of the traffic service (mounted under /api/v1/traffic).

Reading is open to everyone: scenarios, controllers, networks, runs and incident alerts are about
roads and junctions, never about people. Starting a run and reviewing an alert is for Transport
Bureau officers (and admins). Runs take minutes, so they start as background jobs: the answer is
202 with the job's address; ``GET /api/v1/jobs/{id}`` reports progress and the result.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from civicbrain.core.errors import NotFound
from civicbrain.services.traffic.algorithms import AGENCY
from civicbrain.services.traffic.domain.scenarios import RESCO_NAMES, ScenarioNotFound, list_scenarios, resco_scenario
from civicbrain.services.traffic.geo import network_geojson
from civicbrain.services.traffic.service import (
    REVIEW_OUTCOMES,
    controller_catalogue,
    get_run,
    incident_alerts,
    recent_runs,
    review_incident,
    run_view,
    start_operation,
)
from civicbrain.web.deps import Ctx, CurrentUser

router = APIRouter()
ScenarioName = Path(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")


class RunIn(BaseModel):
    """A run of a built-in scenario. Arbitrary network files are for the CLI, not for web callers."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(min_length=1, max_length=40, description=f"One of: {', '.join(RESCO_NAMES)}")
    controller: str = Field("fixed", min_length=1, max_length=40, description="Live controller (or 'best').")
    candidate: str | None = Field(None, min_length=1, max_length=40, description="Shadow candidate, never acts.")
    seeds: int = Field(1, ge=1, le=5)
    scale: float = Field(1.0, gt=0, le=3)
    duration_s: float | None = Field(None, ge=60, le=4 * 3600, description="Simulate only the window's start.")
    incidents: int = Field(0, ge=0, le=10, description="Lane blockages to inject (a drill); 0 detects only.")
    ambulances: int = Field(0, ge=0, le=10, description="Ambulance trips given a green wave (pre-emption).")
    calibration_runs: int = Field(
        0, ge=0, le=5, description="Incident-free runs to calibrate the incident detector on first; 0 reuses the last."
    )


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(description=f"One of: {', '.join(REVIEW_OUTCOMES)}")
    reasons: str = Field(min_length=1, max_length=2000)


@router.get("/scenarios", summary="The built-in scenarios (RESCO) and their time windows")
def scenarios() -> list[dict[str, Any]]:
    return list_scenarios()


@router.get("/controllers", summary="Signal controllers, with what the register allows each to do")
def controllers(ctx: Ctx) -> list[dict[str, Any]]:
    return controller_catalogue(ctx.register)


@router.get("/scenarios/{name}/network", summary="A scenario's road network as GeoJSON")
def network(name: str = ScenarioName) -> dict[str, Any]:
    if name not in RESCO_NAMES:
        raise NotFound(f"unknown scenario '{name}'; choose from {', '.join(RESCO_NAMES)}", field="name")
    try:
        return network_geojson(resco_scenario(name).net)
    except ScenarioNotFound as exc:  # the scenario files are not installed on this instance
        raise NotFound(str(exc), field="name") from None


@router.post("/runs", status_code=202, summary="Run a scenario through the platform (Transport officers)")
def start_run(body: RunIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require_agency(AGENCY)
    job_id = start_operation(ctx, body.model_dump(), requested_by=principal.username)
    return {"job_id": job_id, "status": f"/api/v1/jobs/{job_id}", "page": f"/jobs/{job_id}"}


@router.get("/runs", summary="Runs done on this instance, newest first")
def runs(
    ctx: Ctx, scenario: str | None = Query(None, max_length=40), limit: int = Query(20, ge=1, le=200)
) -> list[dict[str, Any]]:
    return [run_view(r) for r in recent_runs(ctx, scenario=scenario, limit=limit)]


@router.get("/runs/{run_id}", summary="One run's results: controllers, shadow difference, junctions, incidents")
def run(ctx: Ctx, run_id: int = Path(ge=1, le=2**31 - 1)) -> dict[str, Any]:
    return run_view(get_run(ctx, run_id))


@router.get("/incidents", summary="Incident alerts (advisory), with the operator's review")
def incidents(ctx: Ctx, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    return incident_alerts(ctx, limit=limit)


@router.post("/incidents/{receipt}/review", summary="Confirm or dismiss an alert (Transport officers)")
def review(
    body: ReviewIn, ctx: Ctx, principal: CurrentUser, receipt: str = Path(min_length=36, max_length=36)
) -> dict[str, Any]:
    principal.require_agency(AGENCY)
    made = review_incident(ctx, receipt, outcome=body.outcome, reasons=body.reasons, actor=principal.username)
    return {"receipt": made, "about": receipt, "outcome": body.outcome}
