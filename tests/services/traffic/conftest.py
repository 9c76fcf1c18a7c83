"""A small generated network (SUMO's netgenerate) with seeded, unbalanced demand."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from civicbrain.services.traffic.domain.scenarios import Scenario, user_scenario

# Heavy west->east traffic against light north-south traffic: the network's fixed 42/42 split
# wastes green on the light approaches, which an adaptive controller should exploit.
ROUTES = """<routes>
  <vType id="car" vClass="passenger"/>
  <flow id="we0" type="car" begin="0" end="900" probability="0.12" from="left0A0" to="B0right0"/>
  <flow id="we1" type="car" begin="0" end="900" probability="0.10" from="left1A1" to="B1right1"/>
  <flow id="ew1" type="car" begin="0" end="900" probability="0.05" from="right1B1" to="A1left1"/>
  <flow id="sn0" type="car" begin="0" end="900" probability="0.04" from="bottom0A0" to="A1top0"/>
  <flow id="ns1" type="car" begin="0" end="900" probability="0.04" from="top1B1" to="B0bottom1"/>
</routes>
"""


@pytest.fixture(scope="session")
def small_scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    pytest.importorskip("libsumo")
    sumo = pytest.importorskip("sumo")
    folder: Path = tmp_path_factory.mktemp("smallnet")
    net, routes = folder / "grid.net.xml", folder / "grid.rou.xml"
    subprocess.run(
        [
            str(Path(sumo.SUMO_HOME) / "bin" / "netgenerate"),
            "--grid",
            "--grid.number",
            "2",
            "--grid.length",
            "200",
            "--grid.attach-length",
            "150",
            "--default-junction-type",
            "traffic_light",
            "--default.lanenumber",
            "1",
            "--no-turnarounds",
            "true",
            "-o",
            str(net),
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    routes.write_text(ROUTES, encoding="utf-8")
    return user_scenario(str(net), str(routes), begin=0, end=900, name="smallgrid")
