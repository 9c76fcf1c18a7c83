"""How a scenario becomes SUMO's command line: RESCO's protocol unless a run asks otherwise."""

from pathlib import Path

import pytest

from civicbrain.services.traffic.benchmarks import is_full_run
from civicbrain.services.traffic.domain.scenarios import Scenario
from civicbrain.services.traffic.domain.simulation import sumo_command

SCENARIO = Scenario(name="tiny", net="tiny.net.xml", routes="tiny.rou.xml", begin=0.0, end=600.0)


def _option(cmd: list[str], name: str) -> str | None:
    return cmd[cmd.index(name) + 1] if name in cmd else None


def test_vehicles_are_never_teleported_and_junction_blockers_never_ignored_by_default() -> None:
    cmd = sumo_command(SCENARIO, 7, Path("trips.xml"), [])

    assert _option(cmd, "--time-to-teleport") == "-1"
    assert "--ignore-junction-blocker" not in cmd
    assert _option(cmd, "--seed") == "7" and _option(cmd, "--scale") == "1.0"


def test_a_scenario_can_let_drivers_pass_a_junction_blocker_after_a_wait() -> None:
    released = SCENARIO.scaled(1.2).releasing_junction_blockers(60)
    cmd = sumo_command(released, 1, Path("trips.xml"), [Path("detectors.add.xml")])

    assert _option(cmd, "--ignore-junction-blocker") == "60"
    assert _option(cmd, "--time-to-teleport") == "-1"  # still nobody is removed from the network
    assert _option(cmd, "--scale") == "1.2" and _option(cmd, "-a") == "detectors.add.xml"
    assert released.releasing_junction_blockers(None).junction_blocker_s is None


@pytest.mark.parametrize("seconds", [0, -5])
def test_the_junction_blocker_time_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        SCENARIO.releasing_junction_blockers(seconds)


def test_a_bench_that_ignored_junction_blockers_supports_no_status() -> None:
    args = {"quick": False, "seeds": 5, "scale": 1.0}

    assert is_full_run({"args": {**args, "ignore_junction_blocker": None}})
    assert not is_full_run({"args": {**args, "ignore_junction_blocker": 60.0}})
