"""Test doubles that are real objects: a test algorithm card and the services the tests load."""

from __future__ import annotations

from civicbrain.core.privacy import DataCategory, Purpose
from civicbrain.core.register import AlgorithmCard
from civicbrain.services.concessions import SERVICE as CONCESSIONS


def card(**overrides: object) -> AlgorithmCard:
    """A complete card for tests; override what a test is about."""
    fields: dict[str, object] = {
        "id": "testsvc.rule",
        "version": "1.0",
        "title": "Test rule",
        "purpose": "Exercises the platform in tests.",
        "service": "testsvc",
        "owner_agency": "civil-affairs",
        "contact": "tests@demo.city",
        "legal_basis": "Test ordinance",
        "decision_type": "A test decision",
        "human_oversight": "A reviewer reads every one.",
        "data_purpose": Purpose.BENEFITS,
        "inputs": {"income_band": DataCategory.FINANCIAL, "age_band": DataCategory.DEMOGRAPHIC},
        "method": "A fixed rule.",
        "favourable_outcomes": ("granted",),
        "status": "live",
    }
    fields.update(overrides)
    return AlgorithmCard(**fields)  # type: ignore[arg-type]


TEST_CARDS = (
    card(),
    card(id="testsvc.shadow_model", title="Shadow model", status="shadow"),
    card(id="testsvc.advisory_model", title="Advisory model", status="advisory"),
)
TEST_SERVICES = (CONCESSIONS,)


def demo_passwords() -> dict[str, str]:
    """Every demo sign-in: the core's demo city and the users the services' seeds add."""
    from civicbrain.demo.city import DEMO_USERS
    from civicbrain.services.credit.seed import DEMO_OFFICERS
    from civicbrain.services.health.seed import CLINICIAN

    return (
        {u.username: u.password for u in DEMO_USERS}
        | {officer[0]: officer[1] for officer in DEMO_OFFICERS}
        | {CLINICIAN[0]: CLINICIAN[1]}
    )
