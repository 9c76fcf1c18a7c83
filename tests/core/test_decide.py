"""ctx.decide: the one door for automated decisions, and what it refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from civicbrain.core.errors import NotPermittedByRegister, PrivacyViolation, ValidationFailed
from civicbrain.core.privacy import DataCategory
from tests.support import card

GOOD = {
    "version": "1.0",
    "subject": "person:P1",
    "inputs": {"income_band": "low"},
    "outcome": {"label": "granted"},
    "explanation": {"summary": "granted because the income band is low", "factors": {"income_band": "low"}},
}


def decide(ctx, **overrides):
    return ctx.decide(**{"algorithm": "testsvc.rule", "mode": "live", **GOOD, **overrides})


def test_live_decision_takes_effect_and_keeps_its_explanation(ctx):
    decision = decide(ctx)
    assert decision.takes_effect
    stored = ctx.ledger.get(decision.id)
    assert stored.explanation["factors"] == {"income_band": "low"}
    assert stored.inputs == {"income_band": "low"}


def test_unregistered_algorithm_decides_nothing(ctx):
    with pytest.raises(NotPermittedByRegister, match="not in the register"):
        decide(ctx, algorithm="testsvc.secret_model")


def test_version_must_match_the_card(ctx):
    with pytest.raises(NotPermittedByRegister) as err:
        decide(ctx, version="2.0")
    assert err.value.field == "version"


def test_shadow_algorithm_cannot_decide_live_and_its_decisions_never_take_effect(ctx):
    with pytest.raises(NotPermittedByRegister, match="registered as 'shadow'"):
        decide(ctx, algorithm="testsvc.shadow_model", mode="live")
    shadow = decide(ctx, algorithm="testsvc.shadow_model", mode="shadow")
    assert not shadow.takes_effect
    sandbox = decide(ctx, algorithm="testsvc.rule", mode="sandbox")
    assert not sandbox.takes_effect
    advisory = decide(ctx, algorithm="testsvc.advisory_model", mode="advisory")
    assert not advisory.takes_effect  # a recommendation: a person decides


def test_unknown_mode_is_refused(ctx):
    with pytest.raises(NotPermittedByRegister) as err:
        decide(ctx, mode="retired")
    assert err.value.field == "mode"


def test_inputs_must_be_declared_on_the_card(ctx):
    with pytest.raises(PrivacyViolation) as err:
        decide(ctx, inputs={"income_band": "low", "religion": "none"})
    assert err.value.field == "inputs.religion"


def test_explanation_needs_a_summary_and_outcome_a_label(ctx):
    with pytest.raises(ValidationFailed) as err:
        decide(ctx, explanation={"factors": {}})
    assert err.value.field == "explanation.summary"
    with pytest.raises(ValidationFailed) as err:
        decide(ctx, outcome={"granted": True})
    assert err.value.field == "outcome"


def test_refused_decisions_leave_no_trace(ctx):
    with pytest.raises(NotPermittedByRegister):
        decide(ctx, algorithm="testsvc.nope")
    assert ctx.ledger.for_subject("person:P1") == []


def test_a_card_cannot_declare_a_forbidden_input():
    with pytest.raises(ValidationError, match="forbidden category 'ethnicity'"):
        card(inputs={"ethnic_group": DataCategory.ETHNICITY})


def test_health_inputs_only_for_health_purposes():
    from civicbrain.core.register import Register

    with pytest.raises(PrivacyViolation, match="may be used only for: health"):
        Register([card(id="testsvc.bad", inputs={"diagnosis": DataCategory.HEALTH})])
