from __future__ import annotations

import pytest

from civicbrain.core.batch import map_jobs
from civicbrain.services.traffic.domain.controllers import CONTROLLERS, list_controllers, make_controller
from civicbrain.services.traffic.domain.evaluation import summarize_batch
from civicbrain.services.traffic.domain.simulation import RunSpec, run_job


def test_registry_lists_the_required_controllers_and_best():
    names = {c["name"] for c in list_controllers()}
    assert {"fixed", "actuated", "max_pressure", "qpa"} <= names
    assert make_controller("best").name in CONTROLLERS
    with pytest.raises(KeyError):
        make_controller("nonsense")


def test_adaptive_controller_beats_fixed_time_on_unbalanced_demand(small_scenario):
    specs = [RunSpec(small_scenario, c, seed=s) for c in ("fixed", "qpa") for s in (1, 2)]
    runs = map_jobs(run_job, specs, backend="processes", workers=2, isolate=True)
    summary = summarize_batch(runs)["smallgrid"]
    assert summary["fixed"]["never_departed"] == 0
    assert summary["qpa"]["never_departed"] == 0
    assert summary["qpa"]["ratio_to_fixed"] < 0.8, (summary["qpa"]["delay_mean"], summary["fixed"]["delay_mean"])
    # every adaptive decision can be explained: sampled explanations carry per-phase queues
    sampled = [d for r in runs if r["controller"] == "qpa" for d in r["decisions_sampled"]]
    assert sampled
    phases = sampled[0]["explanation"]["phases"]
    assert {"phase", "score", "demand", "queues"} <= set(phases[0])
