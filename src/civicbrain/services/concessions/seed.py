"""Demo data for the concession service: a month of income records, then everyone assessed."""

from __future__ import annotations

import random

from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.models import Person
from civicbrain.services.concessions.feeds import HOUSEHOLD_INCOME
from civicbrain.services.concessions.service import assess_everyone


def seed_demo(ctx: Platform) -> None:
    rng = random.Random(7)
    feed = ctx.exchange.register_spec(HOUSEHOLD_INCOME)
    records = []
    for person in ctx.session.scalars(select(Person).order_by(Person.id)):
        # Rural households are poorer on average in the demo city, as in the real ones.
        low_share = 0.35 if person.region == "rural" else 0.18
        roll = rng.random()
        band = "low" if roll < low_share else ("middle" if roll < 0.8 else "high")
        records.append(
            {
                "person_id": person.id,
                "month": "2026-10",
                "income_band": band,
                "minimum_livelihood": band == "low" and rng.random() < 0.3,
            }
        )
    ctx.exchange.post_records(feed, records)
    assess_everyone(ctx)
