"""Use cases: assess one resident, or everyone with income data, through ctx.decide."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from civicbrain.core.context import Decision, Platform
from civicbrain.core.models import Person
from civicbrain.services.concessions.algorithms import FARE_CONCESSION
from civicbrain.services.concessions.feeds import HOUSEHOLD_INCOME
from civicbrain.services.concessions.rules import assess


@dataclass(frozen=True)
class AssessmentResult:
    person_id: str
    decision: Decision


def assess_person(ctx: Platform, person: Person, income: dict | None) -> AssessmentResult:
    income = income or {}
    inputs = {
        "age_band": person.age_band,
        "income_band": income.get("income_band"),
        "minimum_livelihood": income.get("minimum_livelihood"),
    }
    result = assess(**inputs)
    decision = ctx.decide(
        algorithm=FARE_CONCESSION.id,
        version=FARE_CONCESSION.version,
        subject=f"person:{person.id}",
        inputs=inputs,
        outcome={"label": result.label, "concession": "reduced fare" if result.eligible else None},
        explanation={
            "summary": result.summary(),
            "rules_fired": list(result.reasons),
            "rules": list(result.rules_checked),
        },
        mode="live",
    )
    return AssessmentResult(person.id, decision)


def assess_everyone(ctx: Platform) -> list[AssessmentResult]:
    feed = ctx.exchange.feed(HOUSEHOLD_INCOME.agency_id, HOUSEHOLD_INCOME.name)
    income = ctx.exchange.latest_for_subjects(feed)
    people = ctx.session.scalars(select(Person).where(Person.erased_at.is_(None)).order_by(Person.id))
    return [assess_person(ctx, p, income.get(p.id)) for p in people if p.id in income]
