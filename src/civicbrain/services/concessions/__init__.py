"""Fare concessions: the demo city's small, rules-based service that shows the whole loop.

It reads household income data from the Civil Affairs Bureau's feed, decides eligibility for the
public-transport fare concession through ``ctx.decide``, and every decision can be looked up by
receipt and contested. It is the template the other services follow.
"""

from __future__ import annotations

from civicbrain.core.registry import ServiceSpec
from civicbrain.services.concessions.algorithms import FARE_CONCESSION
from civicbrain.services.concessions.api import router
from civicbrain.services.concessions.cli import app as cli
from civicbrain.services.concessions.feeds import HOUSEHOLD_INCOME
from civicbrain.services.concessions.seed import seed_demo

SERVICE = ServiceSpec(
    name="concessions",
    title="Fare concessions",
    description="Automatic eligibility for the public-transport fare concession, with reasons and review.",
    algorithms=(FARE_CONCESSION,),
    feeds=(HOUSEHOLD_INCOME,),
    router=router,
    cli=cli,
    seed_demo=seed_demo,
)
