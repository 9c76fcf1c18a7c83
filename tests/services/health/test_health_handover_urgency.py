import numpy as np
import pytest

from civicbrain.services.health.domain.doctor import start_consultation
from civicbrain.services.health.domain.handover import build_summary, to_fhir_bundle
from civicbrain.services.health.domain.knowledge_base import (
    EMERGENCY,
    SEE_DOCTOR_SOON,
    SELF_CARE,
    load_knowledge_base,
)
from civicbrain.services.health.domain.urgency import TriagePolicy


def finished_consultation():
    consultation = start_consultation(62, "M", "E_201")
    kb = load_knowledge_base()
    while (question := consultation.next_question()) is not None:
        answer = (
            question.code in ("E_91", "E_53") if question.kind == "yes_no" else [kb.evidences[question.code].default]
        )
        consultation.answer(question.code, answer)
    return consultation.result()


def test_handover_bundle_is_valid_fhir_with_patient_observations_conditions():
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.bundle import Bundle

    result = finished_consultation()
    summary = build_summary(result, "pseudo-42", 62, "M")
    bundle = to_fhir_bundle(summary)
    Bundle.model_validate(bundle)  # round trip through the FHIR models
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1
    assert kinds.count("Condition") == len(result.differential)
    assert kinds.count("Observation") == len(result.answers) + 2  # answers + age + urgency
    conditions = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
    statuses = [c["verificationStatus"]["coding"][0]["code"] for c in conditions]
    assert statuses[0] == "provisional" and set(statuses[1:]) <= {"differential"}
    patient = bundle["entry"][0]["resource"]
    assert "name" not in patient and patient["gender"] == "male"
    assert summary.urgency in (EMERGENCY, SEE_DOCTOR_SOON, SELF_CARE) and summary.urgency_reasons


def test_urgency_levels_follow_severity_mass():
    kb = load_knowledge_base()
    classes = kb.pathology_names
    policy = TriagePolicy()

    def advise(name, p=0.95):
        posterior = np.full(len(classes), (1 - p) / (len(classes) - 1))
        posterior[classes.index(name)] = p
        return policy.advise(posterior, classes, kb)

    assert advise("Pulmonary embolism").level == EMERGENCY
    assert advise("URTI").level == SELF_CARE
    assert advise("Pneumonia").level == SEE_DOCTOR_SOON
    # a severe pathology at 20% still means emergency, even when a mild one leads
    posterior = np.zeros(len(classes))
    posterior[classes.index("URTI")] = 0.8
    posterior[classes.index("Pulmonary embolism")] = 0.2
    assert policy.advise(posterior, classes, kb).level == EMERGENCY
