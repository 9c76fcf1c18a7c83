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
