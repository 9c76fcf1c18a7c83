"""Credit service: a public credit information platform with due process.

The rules and algorithms live in ``domain/`` (plain Python); models, use cases, API, CLI
and portal pages are wired on top of them by the platform layer:

* ``feeds``       - agencies' records come in through the exchange (forbidden categories refused)
* ``service``     - listing with due process: propose + notice, objection (core appeals), expiry, repair
* ``checks``      - the joint-measures check, recorded through ``ctx.decide`` (the screening trail)
* ``scores``      - the opt-in city score: consent, scoring, withdrawal that deletes
* ``public_view`` - the public query (masked) and the monthly flows
* ``federation_sync`` - signed batches over HTTP between city, province and national instances
* ``api`` / ``cli`` / ``pages`` - the ways in; ``store`` converts rows and domain values
"""

from __future__ import annotations

from pathlib import Path

from civicbrain.core.registry import ServiceSpec
from civicbrain.services.credit.algorithms import CARDS
from civicbrain.services.credit.api import router
from civicbrain.services.credit.cli import app as cli
from civicbrain.services.credit.feeds import FEEDS
from civicbrain.services.credit.hooks import on_erase, subject_data
from civicbrain.services.credit.pages import router as pages
from civicbrain.services.credit.seed import DEMO_OFFICERS, seed_demo
from civicbrain.services.credit.service import on_appeal_decided

SERVICE = ServiceSpec(
    name="credit",
    title="Public credit information",
    description="Public credit records, blacklists and redlists with due process, joint measures checked in "
    "context, a public query, an opt-in city score that only grants benefits, credit repair and federation.",
    algorithms=CARDS,
    feeds=FEEDS,
    router=router,
    pages=pages,
    cli=cli,
    portal_links=(("Credit", "/credit"),),
    templates_dir=str(Path(__file__).parent / "templates"),
    on_appeal_decided=on_appeal_decided,
    on_erase=on_erase,
    subject_data=subject_data,
    seed_demo=seed_demo,
    demo_sign_ins=tuple((username, password, who) for username, password, who, _agency in DEMO_OFFICERS),
)
