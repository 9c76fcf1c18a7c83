"""Opt-in city score: published table rules, explanations, benefits only in own contexts,
and the score can never restrict through the check."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicbrain.core.errors import Forbidden, ValidationFailed
from civicbrain.services.credit.domain.matching import SubjectRecord
from civicbrain.services.credit.domain.measures import CheckOutcome, check_subject
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.domain.score import (
    Band,
    Benefit,
    BenefitKind,
    OptInRegister,
    PointsRule,
    PointsTable,
    RuleKind,
    ScoreEvent,
    benefits_for,
    compute_score,
)

LIBRARY = Benefit("library-deposit-free", "borrow without deposit", BenefitKind.DEPOSIT_FREE, "library", "City Library")
BIKES = Benefit("bike-discount", "half-price public bikes", BenefitKind.DISCOUNT, "public bike", "Transport Bureau")
CLINIC = Benefit("clinic-priority", "priority booking", BenefitKind.PRIORITY, "clinic booking", "Health Bureau")

TABLE = PointsTable(
    version="2026.1",
    published_on=date(2026, 1, 1),
    base=550,
    rules=(
        PointsRule("on-time-payment", "utility or fee paid on time", RuleKind.EARN, 2, 60, "pay public bills on time"),
        PointsRule("volunteer-hour", "hour of registered volunteering", RuleKind.EARN, 1, 100, "volunteer"),
        PointsRule("blood-donation", "blood donation", RuleKind.EARN, 30, 60, "donate blood"),
        PointsRule("traffic-violation", "traffic offence with a fine", RuleKind.VIOLATION, -20),
        PointsRule("tax-evasion", "tax evasion penalty", RuleKind.VIOLATION, -150),
    ),
    bands=(
        Band("Jasmine 600", 600, (LIBRARY,)),
        Band("Jasmine 700", 700, (BIKES, CLINIC)),
    ),
)
AS_OF = date(2026, 6, 30)


def test_table_refuses_unlawful_rules() -> None:
    with pytest.raises(ValidationFailed, match="at most|between 1 and 150"):
        replace(TABLE, rules=(PointsRule("x", "big fine", RuleKind.VIOLATION, -200),))
    with pytest.raises(ValidationFailed, match="benefit bands start at 600"):
        replace(TABLE, bands=(Band("cheap", 500, (LIBRARY,)),))
    with pytest.raises(ValidationFailed, match="below the benefit floor"):
        replace(TABLE, base=650)
    assert TABLE.card_payload()["max_points_per_offence"] == 150


def test_score_caps_explains_and_suggests() -> None:
    events = [ScoreEvent("on-time-payment", date(2026, 2, d), f"bill-{d}") for d in range(1, 29)]
    events += [ScoreEvent("blood-donation", date(2026, 3, 1), "don-1"), ScoreEvent("volunteer-hour", AS_OF, "v", 12)]
    events += [ScoreEvent("traffic-violation", date(2026, 4, 1), "fine-9")]
    result = compute_score(TABLE, "c1", events, AS_OF)
    # 550 + min(56, 60) + 30 + 12 - 20
    assert result.score == 628
    assert result.band == "Jasmine 600"
    assert result.factors[0].rule_code == "on-time-payment"
    assert any(code.startswith("-20 traffic-violation") for code in result.reason_codes)
    assert any("72 more points reach 'Jasmine 700'" in tip for tip in result.improvements)
    assert any("donate blood" in tip for tip in result.improvements)
    assert result.event(datetime(2026, 6, 30, tzinfo=UTC)).decision_kwargs()["explanation"]["summary"]


def test_old_violations_stop_counting() -> None:
    old = [ScoreEvent("tax-evasion", date(2022, 1, 10), "p-1")]
    assert compute_score(TABLE, "c1", old, AS_OF).score == TABLE.base
    recent = [ScoreEvent("tax-evasion", date(2025, 1, 10), "p-1")]
    assert compute_score(TABLE, "c1", recent, AS_OF).score == TABLE.base - 150


def test_benefits_only_in_their_own_context() -> None:
    rich = [ScoreEvent("volunteer-hour", date(2026, 1, 5), "v", 100), ScoreEvent("blood-donation", AS_OF, "b", 2)]
    result = compute_score(TABLE, "c1", rich, AS_OF)
    assert result.score == 710
    assert benefits_for(TABLE, result, "Library").benefits == (LIBRARY,)
    assert benefits_for(TABLE, result, "clinic booking").benefits == (CLINIC,)
    assert benefits_for(TABLE, result, "public tender").benefits == ()
    assert benefits_for(TABLE, None, "library").benefits == ()


def test_opt_in_and_withdrawal() -> None:
    register = OptInRegister()
    with pytest.raises(Forbidden, match="opted in"):
        register.require("c1")
    register.opt_in("c1", datetime(2026, 1, 1, tzinfo=UTC))
    register.require("c1")
    event = register.withdraw("c1", datetime(2026, 2, 1, tzinfo=UTC))
    assert event.action == "withdrawn_score_deleted"
    assert not register.is_opted_in("c1")


def test_benefit_kinds_have_no_restriction() -> None:
    assert {k.value for k in BenefitKind} == {"deposit_free", "discount", "priority"}


rule_codes = st.sampled_from([r.code for r in TABLE.rules])
score_events = st.lists(
    st.builds(
        ScoreEvent,
        rule_code=rule_codes,
        occurred_on=st.dates(min_value=date(2023, 1, 1), max_value=AS_OF),
        source_record=st.just("r"),
        quantity=st.integers(min_value=1, max_value=40),
    ),
    max_size=40,
)
contexts = st.sampled_from(["library", "public bike", "clinic booking", "public tender", "rail ticket", "subsidy"])


@settings(max_examples=150, deadline=None)
@given(events=score_events, context=contexts)
def test_score_never_restricts_through_the_check(events: list[ScoreEvent], context: str) -> None:
    result = compute_score(TABLE, "c1", events, AS_OF)
    assert 0 <= result.score <= 1000
    grant = benefits_for(TABLE, result, context)
    query = SubjectRecord(id="c1", kind=NameKind.PERSON, names=("Lin Mei",))
    check = check_subject(
        query,
        context=context,
        asking_agency="City Library",
        matches=[],
        listings_by_subject={},
        definitions={},
        memoranda=[],
        now=datetime(2026, 6, 30, tzinfo=UTC),
        score_grant=grant,
    )
    assert check.outcome is not CheckOutcome.RESTRICT
    if not grant.benefits:
        # A low score (or none) is exactly as good as not being scored.
        assert check.outcome is CheckOutcome.ALLOW
    assert all(b.context == check.context for b in grant.benefits)
