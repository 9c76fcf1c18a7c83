from __future__ import annotations

from civicbrain.core.batch import map_jobs
from civicbrain.services.traffic.domain.emergency import EmergencyPlugin
from civicbrain.services.traffic.domain.incidents import IncidentPlugin, score_alarms
from civicbrain.services.traffic.domain.shadow import ShadowPlugin
from civicbrain.services.traffic.domain.simulation import RunSpec, run_job


def test_score_alarms_matches_by_edge_and_time_and_counts_false_alarms():
    incidents = [
        {"id": "i0", "edge": "e1", "start": 100.0, "end": 700.0},
        {"id": "i1", "edge": "e2", "start": 50.0, "end": 650.0},
    ]
    alarms = [
        {"time": 160.0, "edge": "e1"},  # 60 s after i0 started
        {"time": 400.0, "edge": "e3"},  # nothing there: false alarm
        {"time": 20.0, "edge": "e2"},  # before i1 started: false alarm
    ]
    scored = score_alarms(incidents, alarms)
    assert scored["injected"] == 2
    assert scored["detected"] == 1 and scored["detected_within"] == 1
    assert scored["per_incident"][0]["time_to_detect"] == 60.0
    assert scored["false_alarms"] == 2


def test_plugins_on_the_small_grid(small_scenario):
    specs = [
        RunSpec(small_scenario, "fixed", seed=1, plugins=[IncidentPlugin(count=2, seed=4, duration=400.0)]),
        RunSpec(small_scenario, "qpa", seed=1, plugins=[EmergencyPlugin(count=2, seed=1, mode="full")]),
        RunSpec(small_scenario, "fixed", seed=1, plugins=[ShadowPlugin(candidate="qpa")]),
    ]
    incident_run, ems_run, shadow_run = map_jobs(run_job, specs, backend="processes", workers=2, isolate=True)
    inc = incident_run["incidents"]
    assert inc["injected"] == 2
    assert inc["detected"] >= 1, inc
    for alarm in incident_run["incident_alarms"]:
        assert {"halting", "green_for_s"} <= set(alarm["explanation"])
    # ambulances are reported apart and left out of everyone else's delay
    assert len(ems_run["ems_trips"]) == 2
    assert all(t["arrived"] for t in ems_run["ems_trips"])
    assert ems_run["vehicles"] == incident_run["vehicles"] or ems_run["vehicles"] > 0
    shadow = shadow_run["shadow"]
    assert shadow["compared"] > 0
    # fixed 42/42 splits on unbalanced demand: an adaptive candidate must disagree sometimes
    assert 0.0 < shadow["disagreement_rate"] < 1.0
