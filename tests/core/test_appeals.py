"""Appeals: contest → human review → outcome in the ledger, with deadlines, surviving restarts."""

from __future__ import annotations

import pytest

from civicbrain.core.context import Runtime
from civicbrain.core.errors import Conflict, Forbidden, ValidationFailed
from civicbrain.core.ledger import verify
from tests.support import TEST_CARDS, TEST_SERVICES


def first_receipt(runtime, person="P0001"):
    with runtime.unit() as ctx:
        return ctx.privacy.subject_access(person)["decisions"][0]["receipt"]


def test_contest_review_overturn_is_recorded_and_linked(seeded):
    receipt = first_receipt(seeded)
    with seeded.unit() as ctx:
        appeal = ctx.appeals.file(receipt=receipt, grounds="My income dropped last month.", person_id="P0001")
        assert appeal.status == "open"
    with seeded.unit() as ctx:
        decided = ctx.appeals.decide(
            appeal.id, outcome="overturned", reasons="New payslips show the low band.", reviewer="reviewer"
        )
    with seeded.unit() as ctx:
        [review] = ctx.ledger.linked_to(receipt)
        assert review.kind == "human" and review.outcome_label == "overturned"
        assert review.explanation["summary"] == "New payslips show the low band."
        assert review.actor == "reviewer" and review.receipt == decided.outcome_receipt
        mine = ctx.appeals.for_person("P0001")
        assert [(a.status, a.reasons) for a in mine] == [("overturned", "New payslips show the low band.")]
        assert verify(ctx.session).ok


def test_only_the_subject_can_contest_and_only_once_at_a_time(seeded):
    receipt = first_receipt(seeded)
    with seeded.unit() as ctx, pytest.raises(Forbidden):
        ctx.appeals.file(receipt=receipt, grounds="not mine", person_id="P0002")
    with seeded.unit() as ctx:
        ctx.appeals.file(receipt=receipt, grounds="first", person_id="P0001")
    with seeded.unit() as ctx, pytest.raises(Conflict):
        ctx.appeals.file(receipt=receipt, grounds="second", person_id="P0001")


def test_reasons_are_required_and_outcomes_are_final(seeded):
    receipt = first_receipt(seeded)
    with seeded.unit() as ctx:
        appeal = ctx.appeals.file(receipt=receipt, grounds="wrong data", person_id="P0001")
    with seeded.unit() as ctx, pytest.raises(ValidationFailed) as err:
        ctx.appeals.decide(appeal.id, outcome="upheld", reasons="no", reviewer="r")
    assert err.value.field == "reasons"
    with seeded.unit() as ctx:
        ctx.appeals.decide(appeal.id, outcome="upheld", reasons="The data was right.", reviewer="r")
    with seeded.unit() as ctx, pytest.raises(Conflict):
        ctx.appeals.decide(appeal.id, outcome="overturned", reasons="Changed my mind.", reviewer="r")


def test_shadow_decisions_cannot_be_contested(seeded):
    with seeded.unit() as ctx:
        shadow = ctx.decide(
            algorithm="testsvc.shadow_model",
            version="1.0",
            subject="person:P0001",
            inputs={"income_band": "low"},
            outcome="granted",
            explanation={"summary": "shadow run"},
            mode="shadow",
        )
    with seeded.unit() as ctx, pytest.raises(ValidationFailed, match="took no effect"):
        ctx.appeals.file(receipt=shadow.id, grounds="?", person_id="P0001")


def test_deadline_and_overdue_list(seeded, clock, settings):
    receipt = first_receipt(seeded)
    with seeded.unit() as ctx:
        appeal = ctx.appeals.file(receipt=receipt, grounds="late review?", person_id="P0001")
        assert (appeal.due_at - appeal.filed_at).days == settings.appeal_deadline_days
        assert ctx.appeals.overdue() == []
    clock.advance(days=31)
    with seeded.unit() as ctx:
        assert [a.id for a in ctx.appeals.overdue()] == [appeal.id]


def test_appeals_survive_a_restart(seeded, settings, engine, clock):
    receipt = first_receipt(seeded)
    with seeded.unit() as ctx:
        ctx.appeals.file(receipt=receipt, grounds="please check", person_id="P0001")
    seeded.engine.dispose()  # the server goes away
    restarted = Runtime(settings, TEST_SERVICES, engine=engine, clock=clock, extra_cards=TEST_CARDS)
    with restarted.unit() as ctx:
        assert [a.grounds for a in ctx.appeals.queue()] == ["please check"]


def test_a_card_can_set_a_shorter_deadline(seeded, settings, engine, clock):
    from tests.support import card

    fast = card(id="testsvc.fast_review", appeal_deadline_days=15)
    runtime = Runtime(settings, TEST_SERVICES, engine=engine, clock=clock, extra_cards=(*TEST_CARDS, fast))
    with runtime.unit() as ctx:
        decision = ctx.decide(
            algorithm="testsvc.fast_review",
            version="1.0",
            subject="person:P0001",
            inputs={"income_band": "low"},
            outcome="granted",
            explanation={"summary": "test"},
            mode="live",
        )
        appeal = ctx.appeals.file(receipt=decision.id, grounds="please look again", person_id="P0001")
        assert (appeal.due_at - appeal.filed_at).days == 15
