"""Explanations are written by each service for its own decisions; the portal renders any shape in words."""

from __future__ import annotations

from civicbrain.core.context import Runtime
from civicbrain.core.db import create_engine
from civicbrain.core.settings import Settings
from civicbrain.portal.pages import build_templates


def render_explanation(explanation: object) -> str:
    settings = Settings(environment="test", secret_key="k" * 40, ledger_pepper="p" * 40)
    env = build_templates(Runtime(settings, (), engine=create_engine("sqlite:///:memory:"))).env
    template = env.from_string('{% import "_macros.html" as m %}{{ m.explanation(expl) }}')
    return template.render(expl=explanation)


def test_summary_first_then_each_part_under_its_own_heading():
    page = render_explanation(
        {
            "summary": "Your score is 0.42 because of two late payments.",
            "factors": [
                {"name": "late payments", "weight": 0.31234, "direction": "lowers"},
                {"name": "years registered", "weight": 0.1, "direction": "raises"},
            ],
            "similar_cases": ["case 12", "case 40"],
            "evidence": {"name_match": True, "birth_year_match": None},
        }
    )
    assert page.index("two late payments") < page.index("<h4>Factors</h4>")
    assert '<th scope="col">Weight</th>' in page and "<td>0.312</td>" in page  # records as a table, floats rounded
    assert "<li>case 12</li>" in page
    assert "<dt>Name match</dt><dd>yes</dd>" in page and "not known" in page


def test_mixed_lists_are_plain_lists_and_markup_is_escaped():
    page = render_explanation({"summary": "<b>s</b>", "rules": [{"a": 1}, {"b": 2}, "text"]})
    assert "&lt;b&gt;s&lt;/b&gt;" in page and "<table" not in page


def test_an_erased_decision_says_the_explanation_is_gone():
    assert "no longer held" in render_explanation(None)
