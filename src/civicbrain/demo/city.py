"""Seeds the demo city so the portal shows a complete loop on first start.

Everything is synthetic and seeded (``random.Random(2026)``): the same city every time. The
passwords below are development credentials, printed by ``make run`` and listed in the README;
an instance outside development must not be seeded (the command refuses).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import func, select

from civicbrain.core.context import Platform
from civicbrain.core.errors import ConfigurationError
from civicbrain.core.identity import Role, create_user
from civicbrain.core.models import Agency, Person
from civicbrain.core.people import add_person

AGENCIES = (
    ("city-data-office", "City Data Office", "data-office@demo.city"),
    ("civil-affairs", "Civil Affairs Bureau", "contact@civil-affairs.demo.city"),
    ("transport", "Transport Bureau", "signals@transport.demo.city"),
    ("market-regulation", "Market Regulation Administration", "credit@market.demo.city"),
    ("intermediate-court", "Intermediate People's Court", "registry@court.demo.city"),
    ("health-commission", "Health Commission", "ai-doctor@health.demo.city"),
    ("education-bureau", "Education Bureau", "learning@edu.demo.city"),
)

FAMILY = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu")
GIVEN = ("Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Jun", "Hui", "Tao", "Xia", "Ping", "Hong", "Bo", "Lan", "Qiang")


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: Role
    display_name: str
    agency_id: str | None = None
    person_id: str | None = None


DEMO_USERS = (
    DemoUser("admin", "demo-admin-pass", Role.ADMIN, "Digital team admin"),
    DemoUser("officer", "demo-officer-pass", Role.OFFICER, "Officer, Civil Affairs", agency_id="civil-affairs"),
    DemoUser("signals", "demo-signals-pass", Role.OFFICER, "Signal engineer, Transport Bureau", agency_id="transport"),
    DemoUser("reviewer", "demo-reviewer-pass", Role.REVIEWER, "Appeals reviewer"),
    DemoUser("auditor", "demo-auditor-pass", Role.AUDITOR, "Independent auditor"),
    DemoUser("citizen", "demo-citizen-pass", Role.CITIZEN, "Wang Fang (resident)", person_id="P0001"),
    DemoUser("citizen2", "demo-citizen2-pass", Role.CITIZEN, "Li Wei (resident)", person_id="P0002"),
)
N_PEOPLE = 300


def is_seeded(ctx: Platform) -> bool:
    return bool(ctx.session.scalar(select(func.count()).select_from(Agency)))


def seed_city(ctx: Platform, *, people: int = N_PEOPLE) -> bool:
    """Seed agencies, residents, users and every service's demo data. Returns False if already seeded."""
    if ctx.settings.environment == "production":
        raise ConfigurationError("the demo city is never seeded into a production instance")
    if is_seeded(ctx):
        return False
    for agency_id, name, contact in AGENCIES:
        ctx.session.add(Agency(id=agency_id, name=name, contact=contact))
    rng = random.Random(2026)
    for i in range(1, people + 1):
        pid = f"P{i:04d}"
        if pid == "P0001":
            name, sex, year, region = "Wang Fang", "female", 1990, "urban"
        elif pid == "P0002":
            name, sex, year, region = "Li Wei", "male", 1955, "rural"
        else:
            name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
            sex = rng.choice(("female", "male"))
            year = rng.randint(1935, 2007)
            region = "urban" if rng.random() < 0.62 else "rural"
        add_person(ctx, person_id=pid, name=name, birth_year=year, region=region, sex=sex)
    ctx.session.flush()
    for user in DEMO_USERS:
        create_user(
            ctx.session,
            username=user.username,
            password=user.password,
            role=user.role,
            display_name=user.display_name,
            agency_id=user.agency_id,
            person_id=user.person_id,
        )
    for spec in ctx.runtime.services.values():
        if spec.seed_demo is not None:
            spec.seed_demo(ctx)
    return True


def people_count(ctx: Platform) -> int:
    return int(ctx.session.scalar(select(func.count()).select_from(Person)) or 0)
