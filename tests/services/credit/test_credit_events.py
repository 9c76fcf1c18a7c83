"""The ledger payload of a credit event is plain JSON, whatever the domain put in it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import IntEnum, StrEnum

from civicbrain.services.credit.domain.events import CreditEvent


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def test_decision_kwargs_convert_nested_enums_dates_and_collections() -> None:
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    event = CreditEvent(
        algorithm="credit-check",
        version="1.0",
        action="check",
        subject="q",
        at=at,
        actor="finance-bureau",
        summary="allow",
        outcome={"outcome": Colour.RED, "measures": [{"expires_at": at, "level": Level.HIGH}]},
        inputs={"candidates": ("a", "b"), "seen": frozenset({"c"})},
        details={"matches": [{"score": 0.7, "match": True, "detail": None, Colour.RED: date(2026, 1, 2)}]},
    )
    kwargs = event.decision_kwargs()
    assert kwargs["outcome"] == {
        "action": "check",
        "outcome": "red",
        "measures": [{"expires_at": "2026-11-02T09:00:00+00:00", "level": Level.HIGH}],
    }
    assert type(kwargs["outcome"]["outcome"]) is str  # the enum's value, not the member
    assert kwargs["inputs"] == {"candidates": ["a", "b"], "seen": ["c"]}
    assert kwargs["explanation"]["matches"] == [{"score": 0.7, "match": True, "detail": None, "red": "2026-01-02"}]
    assert all(type(key) is str for key in kwargs["explanation"]["matches"][0])
    json.dumps(kwargs)  # nothing left that JSON cannot take


def test_decision_kwargs_copy_rather_than_share_the_domain_values() -> None:
    details = {"matches": [{"score": 1.0}]}
    event = CreditEvent("a", "1", "check", "q", datetime(2026, 1, 1, tzinfo=UTC), "x", "s", details=details)
    kwargs = event.decision_kwargs()
    kwargs["explanation"]["matches"][0]["score"] = 0.0
    assert details["matches"][0]["score"] == 1.0
