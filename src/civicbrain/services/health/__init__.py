"""Health service: AI doctor (history taking and differential diagnosis on the DDXPlus knowledge base),
clinician hand-over (FHIR R4), village-doctor decision support, wearable alerts, mutual-aid pool and
epidemic advice.

The rules and models live in ``domain/`` as plain Python; the modules beside it wire them into the
platform: tables (``models``), use cases (``consultations``, ``pool``, ``wearable_alerts``, ``advice``),
register cards (``algorithms``), feeds, the API, the portal pages and the CLI.
"""

from __future__ import annotations

from pathlib import Path

from civicbrain.core.registry import ServiceSpec
from civicbrain.services.health.algorithms import CARDS
from civicbrain.services.health.api import router
from civicbrain.services.health.cli import app as cli
from civicbrain.services.health.feeds import FEEDS
from civicbrain.services.health.pages import router as pages
from civicbrain.services.health.records import on_appeal_decided, on_erase, purge_expired, subject_data
from civicbrain.services.health.seed import CLINICIAN, seed_demo

SERVICE = ServiceSpec(
    name="health",
    title="Health",
    description="AI doctor with clinician hand-over, village-doctor support, wearable alerts, mutual-aid pool, "
    "epidemic advice.",
    algorithms=CARDS,
    feeds=FEEDS,
    router=router,
    pages=pages,
    cli=cli,
    portal_links=(("Health", "/health"),),
    templates_dir=str(Path(__file__).parent / "templates"),
    on_appeal_decided=on_appeal_decided,
    on_erase=on_erase,
    purge_expired=purge_expired,
    subject_data=subject_data,
    seed_demo=seed_demo,
    demo_sign_ins=(CLINICIAN,),
)
