"""Demo data for the credit service: lists, memoranda, records through the exchange, listings in
several states (a history for the flows chart), and a notice to Wang Fang (P0001) so the demo
shows the loop: notice, objection, review.

History is built with the domain's transitions at past moments and each step is recorded in the
ledger like any other; today's notice goes through the real use case.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.identity import Role, create_user
from civicbrain.core.models import Agency, Person, User
from civicbrain.services.credit import scores
from civicbrain.services.credit.algorithms import LISTING
from civicbrain.services.credit.catalogue import EXTRA_AGENCIES, LISTS, MEMORANDA
from civicbrain.services.credit.domain import listing as due
from civicbrain.services.credit.domain.listing import HumanReviewer, ListDefinition
from civicbrain.services.credit.feeds import ADMINISTRATIVE_PENALTIES, COMMENDATIONS, ENFORCEMENT_OUTCOMES
from civicbrain.services.credit.service import FactRef, fetch_record, propose_listing, subject_from_record
from civicbrain.services.credit.steps import ledger_subject, record
from civicbrain.services.credit.store import list_row, memorandum_row, new_listing_row

# Development-only sign-ins (the README's table lists the core's; these are the credit service's).
DEMO_OFFICERS = (
    ("court-officer", "demo-court-pass", "Officer, Intermediate People's Court", "intermediate-court"),
    ("market-officer", "demo-market-pass", "Officer, Market Regulation", "market-regulation"),
    ("tender-officer", "demo-tender-pass", "Procurement officer, Finance Bureau", "finance-bureau"),
)
WANG_FANG_ID = "350102199003071248"
LI_WEI_ID = "350181195508120031"
FIRMS = (
    ("Fuzhou Jinshan Construction Co., Ltd.", "91350100M000100Y43"),
    ("Minjiang Fresh Foods Co., Ltd.", "91350102MA2XK3L51P"),
    ("Gulou Digital Printing Co., Ltd.", "91350102MA34T0QJ8W"),
)


def seed_demo(ctx: Platform) -> None:
    _agencies_and_officers(ctx)
    for definition in LISTS:
        ctx.session.add(list_row(definition))
    ctx.session.flush()
    for memo in MEMORANDA:
        ctx.session.add(memorandum_row(memo))
    _records(ctx)
    ctx.session.flush()
    _history(ctx)
    # Today: Wang Fang is notified of a proposed listing she can object to.
    propose_listing(
        ctx,
        list_code="court-judgement-defaulters",
        facts=["intermediate-court/enforcement_outcomes#(2026) Min 01 Zhi 311"],
        reasons=("did not pay RMB 48,000 ordered in (2026) Min 01 Zhi 311 within the time set",),
        proposed_by="court-officer",
        acting_agency="intermediate-court",
    )
    scores.opt_in(ctx, "P0002")
    _score_volunteers(ctx)


def _agencies_and_officers(ctx: Platform) -> None:
    for agency_id, name, contact in EXTRA_AGENCIES:
        if ctx.session.get(Agency, agency_id) is None:
            ctx.session.add(Agency(id=agency_id, name=name, contact=contact))
    ctx.session.flush()
    for username, password, display, agency in DEMO_OFFICERS:
        if ctx.session.scalar(select(User).where(User.username == username)) is None:
            create_user(
                ctx.session,
                username=username,
                password=password,
                role=Role.OFFICER,
                display_name=display,
                agency_id=agency,
            )


def _person(name: str, id_number: str, birth: str, person_id: str | None) -> dict[str, object]:
    return {
        "subject_kind": "person",
        "subject_name": name,
        "id_number": id_number,
        "birth_date": birth,
        "person_id": person_id,
    }


def _firm(index: int) -> dict[str, object]:
    name, code = FIRMS[index]
    return {"subject_kind": "organization", "subject_name": name, "id_number": code}


def _records(ctx: Platform) -> None:
    court = ctx.exchange.register_spec(ENFORCEMENT_OUTCOMES)
    market = ctx.exchange.register_spec(ADMINISTRATIVE_PENALTIES)
    civil = ctx.exchange.register_spec(COMMENDATIONS)
    ctx.exchange.post_records(
        court,
        [
            {
                "case_number": "(2025) Min 01 Zhi 77",
                **_firm(0),
                "obligation": "pay RMB 1.2m to a subcontractor",
                "outcome": "unperformed",
                "decided_on": "2025-11-20",
            },
            {
                "case_number": "(2025) Min 01 Zhi 102",
                **_firm(2),
                "obligation": "pay RMB 86,000 in wages",
                "outcome": "unperformed",
                "decided_on": "2025-12-03",
            },
            {
                "case_number": "(2026) Min 01 Zhi 311",
                **_person("Wang Fang", WANG_FANG_ID, "1990-03-07", "P0001"),
                "obligation": "pay RMB 48,000 to a landlord",
                "outcome": "unperformed",
                "decided_on": "2026-09-14",
            },
        ],
    )
    ctx.exchange.post_records(
        market,
        [
            {
                "decision_number": "Min Shi Jian Fa (2026) 18",
                **_firm(1),
                "violation": "sold expired food",
                "amount": 200000.0,
                "decided_on": "2026-02-10",
            },
        ],
    )
    ctx.exchange.post_records(
        civil,
        [
            {
                "record_id": f"VOL-P0002-{i}",
                "subject_kind": "person",
                "subject_name": "Li Wei",
                "id_number": LI_WEI_ID,
                "person_id": "P0002",
                "kind": "volunteer-hour",
                "quantity": 10,
                "occurred_on": f"2026-0{i}-15",
            }
            for i in range(1, 7)
        ]
        + [
            {
                "record_id": "BLD-P0002-1",
                "subject_kind": "person",
                "subject_name": "Li Wei",
                "id_number": LI_WEI_ID,
                "person_id": "P0002",
                "kind": "blood-donation",
                "quantity": 1,
                "occurred_on": "2026-05-20",
            },
            {
                "record_id": "PAY-P0002-1",
                "subject_kind": "person",
                "subject_name": "Li Wei",
                "id_number": LI_WEI_ID,
                "person_id": "P0002",
                "kind": "on-time-payment",
                "quantity": 12,
                "occurred_on": "2026-10-01",
            },
        ],
    )


def _score_volunteers(ctx: Platform, share: float = 0.2) -> None:
    """About a fifth of the residents opt in, with a year of commendations, so the register's fairness
    audit of the score has figures by region, age band and sex."""
    rng = random.Random(2026)
    feed = ctx.exchange.feed(COMMENDATIONS.agency_id, COMMENDATIONS.name)
    chosen = [
        p
        for p in ctx.session.scalars(select(Person).where(Person.id.not_in(["P0001", "P0002"])).order_by(Person.id))
        if rng.random() < share
    ]
    records = []
    for person in chosen:
        for kind, most in (("volunteer-hour", 40), ("on-time-payment", 12), ("blood-donation", 1)):
            quantity = rng.randint(0, most)
            if quantity:
                records.append(
                    {
                        "record_id": f"{kind[:3].upper()}-{person.id}-2026",
                        "subject_kind": "person",
                        "subject_name": person.name,
                        "person_id": person.id,
                        "kind": kind,
                        "quantity": quantity,
                        "occurred_on": "2026-06-30",
                    }
                )
    ctx.exchange.post_records(feed, records)
    for person in chosen:
        scores.opt_in(ctx, person.id)


def _history(ctx: Platform) -> None:
    """Three firms' listings, started months ago: one in force, one repaired, one objected and withdrawn."""
    now = ctx.now()
    lists = {d.code: d for d in LISTS}
    court, market = lists["court-judgement-defaulters"], lists["market-serious-violations"]
    reviewer = HumanReviewer("reviewer", "appeals reviewer")
    _past_listing(
        ctx,
        court,
        "intermediate-court/enforcement_outcomes#(2025) Min 01 Zhi 77",
        "did not pay RMB 1.2m ordered in (2025) Min 01 Zhi 77",
        now - timedelta(days=150),
        [],
    )
    _past_listing(
        ctx,
        market,
        "market-regulation/administrative_penalties#Min Shi Jian Fa (2026) 18",
        "sold expired food (penalty decision Min Shi Jian Fa (2026) 18)",
        now - timedelta(days=240),
        [("repair", now - timedelta(days=30), reviewer)],
    )
    _past_listing(
        ctx,
        court,
        "intermediate-court/enforcement_outcomes#(2025) Min 01 Zhi 102",
        "did not pay RMB 86,000 in wages",
        now - timedelta(days=90),
        [("objection", now - timedelta(days=85), reviewer)],
    )


def _past_listing(
    ctx: Platform,
    definition: ListDefinition,
    fact: str,
    reason: str,
    start: datetime,
    steps: Sequence[tuple[str, datetime, HumanReviewer]],
) -> None:
    subject = subject_from_record(ctx, fetch_record(ctx, FactRef.parse(fact)).data)
    officer = f"{definition.owning_agency}-officer"
    listing, first = due.propose_listing(
        definition,
        listing_id=f"{ctx.settings.instance_id}-seed-{subject.id[-8:].lower()}",
        subject_id=subject.id,
        reasons=(reason,),
        facts=(fact,),
        proposed_by=officer,
        now=start,
    )
    events = [first]
    listing, event = due.send_notice(listing, definition, now=start, sent_by=officer, channel="registered letter")
    events.append(event)
    for kind, at, reviewer in steps:
        if kind == "objection":
            listing, event = due.lodge_objection(
                listing, definition, grounds="the wages were paid in cash", lodged_by=subject.id, now=at
            )
            events.append(event)
            listing, event = due.decide_objection(
                listing,
                upheld=True,
                reviewer=reviewer,
                answer="payslips show the wages were paid",
                now=at + timedelta(days=5),
            )
            events.append(event)
    if listing.state is due.ListingState.NOTICE_SENT:
        listing, event = due.activate_after_window(
            listing, now=start + timedelta(days=definition.objection_window_days, hours=1)
        )
        events.append(event)
    for kind, at, reviewer in steps:
        if kind == "repair":
            listing, event = due.apply_for_repair(
                listing, definition, performance="penalty paid, stock destroyed", applied_by=subject.id, now=at
            )
            events.append(event)
            listing, event = due.decide_repair(
                listing,
                granted=True,
                reviewer=reviewer,
                checks=("payment confirmed by the bureau",),
                answer="performed",
                now=at,
            )
            events.append(event)
    for event in events:
        record(ctx, event, LISTING, subject=ledger_subject(subject), label=event.action)
    ctx.session.add(new_listing_row(listing, ctx.settings.instance_id, ctx.now()))
    ctx.session.flush()
