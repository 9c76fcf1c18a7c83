"""Traffic service ("City Brain"): adaptive signal control on SUMO networks, emergency priority and
incident detection. The algorithms live in :mod:`civicbrain.services.traffic.domain`; this package
wires them into the platform: register cards, ledger decisions, the detector feed, CLI, API and page.
"""

from __future__ import annotations

from pathlib import Path

from civicbrain.core.registry import ServiceSpec
from civicbrain.services.traffic.algorithms import ALL_CARDS
from civicbrain.services.traffic.api import router
from civicbrain.services.traffic.cli import app as cli
from civicbrain.services.traffic.feeds import DETECTOR_COUNTS
from civicbrain.services.traffic.pages import router as pages
from civicbrain.services.traffic.seed import seed_demo

SERVICE = ServiceSpec(
    name="traffic",
    title="Traffic signals",
    description="Signal control on the city's junctions from detector counts, with emergency-vehicle priority, "
    "incident alerts, and new controllers trialled in shadow.",
    algorithms=ALL_CARDS,
    feeds=(DETECTOR_COUNTS,),
    router=router,
    pages=pages,
    cli=cli,
    portal_links=(("Traffic", "/traffic"),),
    templates_dir=str(Path(__file__).parent / "templates"),
    seed_demo=seed_demo,
    tags=("traffic",),
)
