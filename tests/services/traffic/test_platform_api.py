"""The traffic service's shells: the CLI's `run --json` shape, the API's roles, GeoJSON, the seed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civicbrain.core.context import Runtime
from civicbrain.services.concessions import SERVICE as CONCESSIONS
from civicbrain.services.traffic import SERVICE as TRAFFIC
from civicbrain.services.traffic.cli import app as traffic_cli
from civicbrain.services.traffic.domain.network import read_network
from civicbrain.services.traffic.feeds import DETECTOR_COUNTS
from civicbrain.services.traffic.geo import network_geojson
from tests.api.helpers import auth

SUMMARY_KEYS = {
    "delay_mean",
    "delay_sd",
    "trip_time_mean",
    "wait_mean",
    "never_departed",
    "free_flow_trip_mean",
    "seeds",
}
SIGNALS_OFFICER = ("signals", "demo-signals-pass")


def has_resco() -> bool:
    from civicbrain.services.traffic.domain.scenarios import ScenarioNotFound, resco_scenario

    try:
        resco_scenario("cologne1")
    except ScenarioNotFound:
        return False
    return True


def run_small(scenario, *options: str):  # type: ignore[no-untyped-def]
    """`civicbrain traffic run` on the generated test network."""
    return CliRunner().invoke(traffic_cli, ["run", "--net", scenario.net, "--routes", scenario.routes, *options])


def test_cli_run_json_has_every_figure_per_controller_and_in_total(small_scenario):
    result = run_small(small_scenario, "--end", "300", "--controller", "best", "--seeds", "1", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["best"] == "qpa" and out["end"] == 300
    assert out["ignore_junction_blocker_s"] is None  # RESCO's protocol unless asked otherwise
    # fixed time always runs beside the requested controller: ratios are measured in the same batch
    assert set(out["controllers"]) == {"fixed", "qpa"}
    for summary in [*out["controllers"].values(), out["total"]]:
        assert set(summary) >= SUMMARY_KEYS
        assert summary["seeds"] == [1]
        assert summary["delay_mean"] > 0 and summary["free_flow_trip_mean"] > 0
        assert summary["trip_time_mean"] >= summary["free_flow_trip_mean"]
    assert out["total"]["delay_mean"] == out["controllers"]["qpa"]["delay_mean"]
    assert out["controllers"]["fixed"]["ratio_to_fixed"] == 1.0


def test_cli_run_can_let_vehicles_pass_junction_blockers_and_says_so(small_scenario):
    result = run_small(
        small_scenario, "--end", "120", "--controller", "fixed", "--ignore-junction-blocker", "60", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ignore_junction_blocker_s"] == 60


def test_cli_refuses_a_junction_blocker_time_that_is_not_positive(small_scenario):
    result = run_small(small_scenario, "--ignore-junction-blocker", "0")
    assert result.exit_code == 2
    assert "field: ignore_junction_blocker" in result.output


def test_cli_refuses_a_missing_network_naming_it(tmp_path: Path):
    result = CliRunner().invoke(
        traffic_cli, ["run", "--net", str(tmp_path / "no.net.xml"), "--routes", str(tmp_path / "no.rou.xml")]
    )
    assert result.exit_code == 2
    assert "net file not found" in result.output


def test_cli_lists_controllers_with_their_cards():
    result = CliRunner().invoke(traffic_cli, ["controllers", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["name"] for r in rows} >= {"fixed", "actuated", "max_pressure", "qpa"}
    assert sum(r["best"] for r in rows) == 1
    assert all(r["algorithm"] == f"traffic.{r['name']}" for r in rows)


def test_geojson_has_roads_as_lines_and_every_signal_as_a_point(small_scenario):
    geo = network_geojson(small_scenario.net)
    assert geo["type"] == "FeatureCollection"
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    points = [f for f in geo["features"] if f["geometry"]["type"] == "Point"]
    assert lines and all(len(f["geometry"]["coordinates"]) >= 2 for f in lines)
    assert {f["properties"]["id"] for f in points} == set(read_network(small_scenario.net).junctions)
    assert all(len(f["geometry"]["coordinates"]) == 2 for f in points)


@pytest.fixture
def traffic_client(settings, engine, clock):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from civicbrain.api import create_app
    from civicbrain.demo.city import seed_city

    runtime = Runtime(settings, (CONCESSIONS, TRAFFIC), engine=engine, clock=clock)
    with runtime.unit(actor="seed") as ctx:
        started = time.perf_counter()
        seed_city(ctx, people=10)
        ctx.session.flush()
        seed_seconds = time.perf_counter() - started  # the demo city includes the Transport officer 'signals'
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        client.seed_seconds = seed_seconds
        yield client


def signals_officer(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/token", json={"username": SIGNALS_OFFICER[0], "password": SIGNALS_OFFICER[1]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_seed_is_quick_and_registers_the_detector_feed(traffic_client):
    assert traffic_client.seed_seconds < 3.0
    with traffic_client.app.state.runtime.unit() as ctx:
        feed = ctx.exchange.feed(DETECTOR_COUNTS.agency_id, DETECTOR_COUNTS.name)
        records = ctx.exchange.records(feed, limit=1000)
    assert feed.purpose == "traffic"
    assert len(records) == 24 and all(0 <= r.data["occupancy"] <= 100 for r in records)


def test_starting_a_run_needs_a_transport_officer_or_an_admin(traffic_client):
    body = {"scenario": "cologne1", "controller": "fixed", "duration_s": 60}
    assert traffic_client.post("/api/v1/traffic/runs", json=body).status_code == 401
    for user in ("citizen", "officer", "reviewer", "auditor"):  # 'officer' works for Civil Affairs
        response = traffic_client.post("/api/v1/traffic/runs", json=body, headers=auth(traffic_client, user))
        assert response.status_code == 403, (user, response.text)
        assert response.json()["error"]["code"]
    bad = {**body, "seeds": 50}
    response = traffic_client.post("/api/v1/traffic/runs", json=bad, headers=signals_officer(traffic_client))
    assert response.status_code == 422


@pytest.mark.skipif(not has_resco(), reason="RESCO scenarios need the traffic extra (sumo-rl)")
def test_a_transport_officer_runs_a_scenario_as_a_job_and_reads_the_results(traffic_client):
    headers = signals_officer(traffic_client)
    body = {"scenario": "cologne1", "controller": "fixed", "candidate": "qpa", "duration_s": 600}
    response = traffic_client.post("/api/v1/traffic/runs", json=body, headers=headers)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 120
    while (job := traffic_client.get(f"/api/v1/jobs/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job["status"] == "done", job
    assert job["done"] == job["total"] == 3  # live, shadow, then recording
    run = traffic_client.get(f"/api/v1/traffic/runs/{job['result']['run_id']}").json()
    assert run["controller"] == "fixed" and run["candidate"] == "qpa"
    assert run["decisions"]["live"] == 2 and run["decisions"]["shadow"] == 2  # 1 junction x 2 windows each
    assert set(run["junctions"]) == set(read_network(_cologne1_net()).junctions)
    assert run["summary"]["difference"]["delay_change_s"] is not None
    # the decisions are in the ledger with their explanations, readable by receipt
    receipt = run["decisions"]["receipts"][0]
    entry = traffic_client.get(f"/api/v1/decisions/{receipt}", headers=auth(traffic_client, "auditor"))
    assert entry.status_code == 200, entry.text
    geo = traffic_client.get("/api/v1/traffic/scenarios/cologne1/network").json()
    assert {f["properties"]["id"] for f in geo["features"] if f["geometry"]["type"] == "Point"} == set(run["junctions"])
    assert traffic_client.get("/api/v1/traffic/scenarios/nowhere/network").status_code == 404


def _cologne1_net() -> str:
    from civicbrain.services.traffic.domain.scenarios import resco_scenario

    return resco_scenario("cologne1").net
