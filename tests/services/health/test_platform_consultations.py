"""The AI doctor through the platform: API, ledger, clinician queue, FHIR hand-over, review, role boundaries."""

from __future__ import annotations

import time

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicbrain.core.models import GroundTruth
from civicbrain.services.health.consultations import URGENCY_WORDS
from civicbrain.services.health.domain.doctor import initial_complaints, start_consultation
from civicbrain.services.health.domain.knowledge_base import BINARY, load_knowledge_base
from tests.api.helpers import auth

BASE = "/api/v1/health"


def patient_answer(pathology: str, question: dict) -> object:
    """A patient with ``pathology`` answers from its knowledge-base evidences (absent: no / the default)."""
    kb = load_knowledge_base()
    evidence = kb.evidences[question["code"]]
    if evidence.data_type == BINARY:
        return question["code"] in kb.pathologies[pathology].evidences
    return evidence.default if question["kind"] == "choose_one" else []


def first_complaint(pathology: str) -> str:
    present = load_knowledge_base().pathologies[pathology].evidences
    return next(code for code, _ in initial_complaints() if code in present)


def run_consultation(client: TestClient, headers: dict[str, str], pathology: str) -> dict:
    started = client.post(
        f"{BASE}/consultations",
        json={"consent": True, "initial_evidence": first_complaint(pathology), "age": 50, "sex": "male"},
        headers=headers,
    )
    assert started.status_code == 201, started.text
    view = started.json()
    while view["question"] is not None:
        assert view["state"] == "in_progress"
        answered = client.post(
            f"{BASE}/consultations/{view['id']}/answers",
            json={"code": view["question"]["code"], "value": patient_answer(pathology, view["question"])},
            headers=headers,
        )
        assert answered.status_code == 200, answered.text
        view = answered.json()
    return view


def test_consultation_ends_in_an_advisory_ledger_entry_and_a_queue_item(api, health_runtime):
    patient = auth(api, "citizen")
    view = run_consultation(api, patient, "Bronchospasm / acute asthma exacerbation")
    assert view["state"] == "awaiting_clinician"
    assert view["questions_answered"] >= 5
    assert view["advice"] == URGENCY_WORDS[view["urgency"]]
    receipt = view["receipt"]
    with health_runtime.unit() as ctx:
        entry = ctx.ledger.get(receipt)
        assert (entry.algorithm, entry.mode, entry.kind) == ("health.ai_doctor", "advisory", "automated")
        assert entry.subject_ref == ctx.ledger.ref("person:P0001")
        assert entry.outcome_label == view["urgency"]
        assert "A clinician will review" in entry.explanation["summary"]
        leading = entry.explanation["differential"][0]
        assert leading["evidence_for"] or leading["evidence_against"]
        assert len(entry.inputs["answers"]) == view["questions_answered"] + 1  # the first complaint too

    queue = api.get(f"{BASE}/queue", headers=auth(api, "clinician")).json()["consultations"]
    mine = [c for c in queue if c["id"] == view["id"]]
    assert mine and mine[0]["person_id"] == "P0001"
    assert mine[0]["summary"]["differential"][0]["pathology"] == view["summary"]["differential"][0]["pathology"]


def test_the_dialogue_needs_consent_and_takes_one_question_at_a_time(api):
    patient = auth(api, "citizen")
    refused = api.post(f"{BASE}/consultations", json={"consent": False, "initial_evidence": "E_53"}, headers=patient)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "consent"
    unknown = api.post(f"{BASE}/consultations", json={"consent": True, "initial_evidence": "E_999"}, headers=patient)
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "initial_evidence"

    view = api.post(f"{BASE}/consultations", json={"consent": True, "initial_evidence": "E_53"}, headers=patient).json()
    asked = view["question"]["code"]
    other = next(c for c in ("E_91", "E_201", "E_66") if c != asked)
    skipped = api.post(
        f"{BASE}/consultations/{view['id']}/answers", json={"code": other, "value": True}, headers=patient
    )
    assert skipped.status_code == 422 and skipped.json()["error"]["field"] == "code"
    again = api.get(f"{BASE}/consultations/{view['id']}", headers=patient).json()
    assert again["question"]["code"] == asked and again["questions_answered"] == 0


def test_a_red_flag_ends_the_dialogue_at_once_and_goes_first_in_the_queue(api):
    patient = auth(api, "citizen")
    calm = run_consultation(api, patient, "GERD")
    urgent = run_consultation(api, auth(api, "citizen2"), "Scombroid food poisoning")
    assert urgent["escalated"] is True and urgent["urgency"] == "emergency"
    assert "red flag" in " ".join(urgent["summary"]["urgency_reasons"])
    queue = [c["id"] for c in api.get(f"{BASE}/queue", headers=auth(api, "clinician")).json()["consultations"]]
    assert queue.index(urgent["id"]) < queue.index(calm["id"])


def test_the_hand_over_exports_as_a_valid_fhir_r4_bundle(api):
    from fhir.resources.R4B.bundle import Bundle

    patient = auth(api, "citizen")
    started = api.post(f"{BASE}/consultations", json={"consent": True, "initial_evidence": "E_53"}, headers=patient)
    early = api.get(f"{BASE}/consultations/{started.json()['id']}/fhir", headers=patient)
    assert early.status_code == 409

    view = run_consultation(api, patient, "GERD")
    bundle = api.get(f"{BASE}/consultations/{view['id']}/fhir", headers=auth(api, "clinician"))
    assert bundle.status_code == 200
    parsed = Bundle.model_validate(bundle.json())
    kinds = [e.resource.__resource_type__ for e in parsed.entry]
    assert kinds.count("Patient") == 1
    assert kinds.count("Condition") == len(view["summary"]["differential"])
    assert kinds.count("Observation") >= view["questions_answered"] + 1


def test_clinician_correction_is_recorded_against_the_suggestion(api, health_runtime):
    view = run_consultation(api, auth(api, "citizen"), "GERD")
    clinician = auth(api, "clinician")
    ai_top = view["summary"]["differential"][0]["pathology"]
    other = next(p for p in ("Pericarditis", "Stable angina") if p != ai_top)

    inconsistent = api.post(
        f"{BASE}/consultations/{view['id']}/review",
        json={"outcome": "confirmed", "diagnosis": other},
        headers=clinician,
    )
    assert inconsistent.status_code == 422 and inconsistent.json()["error"]["field"] == "outcome"

    corrected = api.post(
        f"{BASE}/consultations/{view['id']}/review",
        json={"outcome": "corrected", "diagnosis": other, "urgency": "emergency", "notes": "ECG changes."},
        headers=clinician,
    )
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert body["about"] == view["receipt"]
    with health_runtime.unit() as ctx:
        human = ctx.ledger.get(body["receipt"])
        assert (human.kind, human.links_to, human.outcome_label) == ("human", view["receipt"], "corrected")
        assert other in human.explanation["summary"] and ai_top in human.explanation["summary"]
        truth = ctx.session.scalars(select(GroundTruth).where(GroundTruth.receipt == view["receipt"])).all()
        assert [(t.was_correct, t.source) for t in truth] == [(False, "clinician_review")]

    twice = api.post(f"{BASE}/consultations/{view['id']}/review", json={"outcome": "confirmed"}, headers=clinician)
    assert twice.status_code == 409
    seen = api.get(f"{BASE}/consultations/{view['id']}", headers=auth(api, "citizen")).json()
    assert seen["state"] == "reviewed" and seen["review"]["diagnosis"] == other
    assert view["id"] not in [c["id"] for c in api.get(f"{BASE}/queue", headers=clinician).json()["consultations"]]


def test_a_confirmation_is_ground_truth_that_the_ai_was_right(api, health_runtime):
    view = run_consultation(api, auth(api, "citizen"), "GERD")
    done = api.post(
        f"{BASE}/consultations/{view['id']}/review", json={"outcome": "confirmed"}, headers=auth(api, "clinician")
    )
    assert done.status_code == 200 and done.json()["diagnosis"] == view["summary"]["differential"][0]["pathology"]
    with health_runtime.unit() as ctx:
        truth = ctx.session.scalars(select(GroundTruth).where(GroundTruth.receipt == view["receipt"])).all()
        assert [t.was_correct for t in truth] == [True]


def test_role_boundaries(api):
    view = run_consultation(api, auth(api, "citizen"), "GERD")
    url = f"{BASE}/consultations/{view['id']}"
    # Another resident, an admin, an auditor and an officer of another agency do not see the consultation.
    for who in ("citizen2", "admin", "auditor", "officer"):
        headers = auth(api, who)
        assert api.get(url, headers=headers).status_code == 404, who
        assert api.get(f"{url}/fhir", headers=headers).status_code == 404, who
    # Only clinicians read the queue and review; admins run the instance but are not clinicians.
    for who in ("citizen", "admin", "officer", "reviewer"):
        headers = auth(api, who)
        assert api.get(f"{BASE}/queue", headers=headers).status_code == 403, who
    assert api.post(f"{url}/review", json={"outcome": "confirmed"}, headers=auth(api, "citizen")).status_code == 403
    # Clinicians do not answer for the patient.
    clinician = auth(api, "clinician")
    start = api.post(f"{BASE}/consultations", json={"consent": True, "initial_evidence": "E_53"}, headers=clinician)
    assert start.status_code == 403
    assert api.get(f"{BASE}/queue").status_code == 401


def test_choosing_the_next_question_is_fast():
    """p95 of one dialogue step (answer + choose the next question) under 50 ms, over whole consultations."""
    kb = load_knowledge_base()
    timings = []
    for pathology in ("GERD", "Pneumonia", "Tuberculosis", "Bronchitis"):
        present = kb.pathologies[pathology].evidences
        dialogue = start_consultation(50, "M", first_complaint(pathology))
        question = dialogue.next_question()
        while question is not None:
            evidence = kb.evidences[question.code]
            value = (question.code in present) if evidence.data_type == BINARY else evidence.default
            began = time.perf_counter()
            dialogue.answer(question.code, value if question.kind != "choose_any" else [])
            question = dialogue.next_question()
            timings.append(time.perf_counter() - began)
    assert len(timings) >= 30
    assert float(np.percentile(timings, 95)) < 0.050, np.percentile(timings, [50, 95, 100])


def test_a_restarted_process_continues_the_dialogue_where_it_stopped(api):
    from civicbrain.services.health.consultations import _cache

    patient = auth(api, "citizen")
    view = api.post(f"{BASE}/consultations", json={"consent": True, "initial_evidence": "E_53"}, headers=patient).json()
    for _ in range(3):
        question = view["question"]
        value = (
            False
            if question["kind"] == "yes_no"
            else ([] if question["kind"] == "choose_any" else question["options"][0]["value"])
        )
        view = api.post(
            f"{BASE}/consultations/{view['id']}/answers",
            json={"code": question["code"], "value": value},
            headers=patient,
        ).json()
    expected = view["question"]["code"]
    _cache.clear()  # as after a restart: the dialogue is rebuilt from the stored answers
    assert api.get(f"{BASE}/consultations/{view['id']}", headers=patient).json()["question"]["code"] == expected
