from datetime import date

import pytest

from civicbrain.services.health.domain.epidemic import (
    CLINIC,
    HOSPITAL,
    STAY_HOME,
    EpidemicTriage,
    ExposureChecker,
    PublishedCase,
    TravelSegment,
)
from civicbrain.services.health.domain.village_doctor import EvidenceTextMatcher, support


@pytest.fixture(scope="module")
def matcher():
    return EvidenceTextMatcher().fit()


def test_free_text_maps_to_kb_evidences_with_negation(matcher):
    mapped = {m.code: m.present for m in matcher.map_text("Bad cough and fever for 3 days, no chest pain.")}
    assert mapped.get("E_201") is True  # cough
    assert mapped.get("E_91") is True  # fever
    assert mapped.get("E_14") is False  # chest pain (even at rest), negated


def test_unrelated_text_maps_to_nothing(matcher):
    assert matcher.map_text("The weather is lovely today.") == []


def test_decision_support_ranks_with_evidence_and_suggests_questions():
    result = support("sore throat and fever, cough", age=25, sex="F")
    assert len(result.candidates) == 5
    probabilities = [c.probability for c in result.candidates]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(c.evidence_for or c.evidence_against for c in result.candidates)
    asked = {m.code for m in result.mapped}
    assert result.next_questions and not asked & {q.code for q in result.next_questions}
    with pytest.raises(ValueError, match="no symptom"):
        support("hello there")


def run_triage(yes: set[str]) -> tuple[EpidemicTriage, int]:
    triage, asked = EpidemicTriage(), 0
    while (question := triage.next_question()) is not None:
        triage.answer(question.code, question.code in yes)
        asked += 1
    return triage, asked


def test_danger_sign_sends_to_hospital_at_once():
    triage, asked = run_triage({"severe_breathing"})
    advice = triage.advice()
    assert advice.advice == HOSPITAL and asked == 1
    assert "danger sign" in advice.reasons[0]


def test_symptoms_with_risk_go_to_clinic_and_mild_stay_home():
    assert run_triage({"fever", "age_65"})[0].advice().advice == CLINIC
    mild = run_triage({"cough"})[0].advice()
    assert mild.advice == STAY_HOME and any("no danger sign" in r for r in mild.reasons)
    exposed = run_triage({"contact_case"})[0].advice()
    assert exposed.advice == STAY_HOME and "quarantine" in exposed.instructions


def test_exposure_check_matches_normalised_numbers_and_carriages():
    checker = ExposureChecker(
        [
            PublishedCase("case-1", TravelSegment("G 101", date(2020, 1, 20), "05"), "city health commission"),
            PublishedCase("case-2", TravelSegment("CA1234", date(2020, 1, 21))),
        ]
    )
    matches = checker.check(
        [
            TravelSegment("g101", date(2020, 1, 20), "5"),
            TravelSegment("CA 1234", date(2020, 1, 21), "12"),
            TravelSegment("CA1234", date(2020, 1, 22)),  # other day: no match
        ]
    )
    assert [(m.case_id, m.same_carriage) for m in matches] == [("case-1", True), ("case-2", False)]
    assert "same carriage" in matches[0].explanation
    assert not hasattr(checker, "itinerary")  # nothing of the traveller is kept on the checker
