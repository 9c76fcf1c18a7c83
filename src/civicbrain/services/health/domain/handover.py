"""Hand-over to a clinician: the consultation as a structured summary and as an HL7 FHIR R4 Bundle.

The summary is what the clinician reads first: the first complaint, the answers given, the negatives that
mattered (a "no" that moved a leading candidate), the differential with its evidence, and the urgency with its
reasons. The FHIR export is a ``collection`` Bundle of a Patient (pseudonymous: identifier, gender, no name),
one Observation per answer (patient-reported, status "preliminary"), one Observation for the AI urgency, and
one Condition per candidate (verificationStatus "provisional" for the leading one, "differential" for the
rest, evidence pointing at the supporting Observations). It is built and validated with ``fhir.resources``
(R4B models); the clinician's confirmation or correction is recorded by the service layer against this
suggestion.

Why R4B for an R4 export: ``fhir.resources`` 7 and 8 ship R5 (default), R4B and STU3 models; true R4 (4.0.1)
models exist only in releases up to 6.x, which are built on pydantic 1 while the platform runs pydantic 2.
R4B (4.3.0) limits its changes to particular areas (medication definitions, evidence-based medicine,
subscriptions; new CodeableReference and RatioRange types); Bundle, Patient, Observation and Condition are not
among them and this export uses no type R4B added, so its JSON is R4 for every element it uses.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from .consultation import Candidate, ConsultationResult

DDXPLUS_SYSTEM = "https://github.com/mila-iqia/ddxplus/evidences"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
URGENCY_SYSTEM = "https://civicbrain.example/fhir/CodeSystem/triage-urgency"


@dataclass(frozen=True)
class HandoverSummary:
    patient_id: str
    age: int
    sex: str
    first_complaint: str
    answers: tuple[tuple[str, str, str], ...]  # (code, question, answer)
    negatives_that_matter: tuple[tuple[str, str], ...]  # (code, question)
    differential: tuple[Candidate, ...]
    urgency: str
    urgency_reasons: tuple[str, ...]
    questions_asked: int
    model_version: str

    def as_dict(self) -> dict:
        return asdict(self)


def build_summary(
    result: ConsultationResult, patient_id: str, age: int, sex: str, model_version: str = "ddxplus-nb-ig-1"
) -> HandoverSummary:
    answers = result.answers
    negative_codes: dict[str, str] = {}
    for candidate in result.differential[:3]:
        for contribution in candidate.evidence_for + candidate.evidence_against:
            if contribution.answer == "no":
                negative_codes[contribution.code] = contribution.question
    return HandoverSummary(
        patient_id=patient_id,
        age=age,
        sex=sex,
        first_complaint=answers[0][1] if answers else "",
        answers=answers,
        negatives_that_matter=tuple(negative_codes.items()),
        differential=result.differential,
        urgency=result.urgency.level,
        urgency_reasons=result.urgency.reasons,
        questions_asked=result.questions_asked,
        model_version=model_version,
    )


def _observation(code: str, question: str, answer: str, patient_ref: str) -> dict:
    value = {"valueBoolean": answer == "yes"} if answer in ("yes", "no") else {"valueString": answer}
    return {
        "resourceType": "Observation",
        "status": "preliminary",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": DDXPLUS_SYSTEM, "code": code, "display": question}], "text": question},
        "subject": {"reference": patient_ref},
        **value,
    }


def to_fhir_bundle(summary: HandoverSummary) -> dict:
    """The hand-over as a validated FHIR R4 Bundle (JSON-ready dict)."""
    from fhir.resources.R4B.bundle import Bundle

    def urn() -> str:
        return f"urn:uuid:{uuid.uuid4()}"

    patient_ref = urn()
    entries = [
        {
            "fullUrl": patient_ref,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "https://civicbrain.example/patient-pseudonym", "value": summary.patient_id}],
                "gender": {"M": "male", "F": "female"}.get(summary.sex, "unknown"),
            },
        }
    ]
    age_ref = urn()
    entries.append(
        {
            "fullUrl": age_ref,
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "30525-0", "display": "Age"}]},
                "subject": {"reference": patient_ref},
                "valueQuantity": {
                    "value": summary.age,
                    "unit": "a",
                    "system": "http://unitsofmeasure.org",
                    "code": "a",
                },
            },
        }
    )
    observation_refs: dict[str, str] = {}
    for code, question, answer in summary.answers:
        observation_refs[code] = urn()
        entries.append(
            {"fullUrl": observation_refs[code], "resource": _observation(code, question, answer, patient_ref)}
        )
    entries.append(
        {
            "fullUrl": urn(),
            "resource": {
                "resourceType": "Observation",
                "status": "preliminary",
                "code": {"text": "AI triage urgency (advisory, for clinician review)"},
                "subject": {"reference": patient_ref},
                "valueCodeableConcept": {
                    "coding": [{"system": URGENCY_SYSTEM, "code": summary.urgency}],
                    "text": summary.urgency,
                },
                "note": [{"text": reason} for reason in summary.urgency_reasons]
                + [{"text": f"model {summary.model_version}, {summary.questions_asked} questions asked"}],
            },
        }
    )
    for rank, candidate in enumerate(summary.differential):
        supporting = [observation_refs[c.code] for c in candidate.evidence_for if c.code in observation_refs]
        entries.append(
            {
                "fullUrl": urn(),
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "verificationStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                "code": "provisional" if rank == 0 else "differential",
                            }
                        ]
                    },
                    "code": {
                        "coding": [
                            {"system": ICD10_SYSTEM, "code": candidate.icd10.upper(), "display": candidate.pathology}
                        ],
                        "text": candidate.pathology,
                    },
                    "subject": {"reference": patient_ref},
                    "evidence": [{"detail": [{"reference": ref} for ref in supporting]}] if supporting else None,
                    "note": [
                        {
                            "text": f"AI probability {candidate.probability:.1%}; severity {candidate.severity} "
                            "(DDXPlus scale, 1 = most severe); for clinician confirmation"
                        }
                    ],
                },
            }
        )
    for entry in entries:
        resource = entry["resource"]
        entry["resource"] = {k: v for k, v in resource.items() if v is not None}
    bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries})
    return bundle.model_dump(mode="json", exclude_none=True)
