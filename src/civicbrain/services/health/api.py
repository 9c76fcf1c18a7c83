"""HTTP routes of the health service (mounted under /api/v1/health).

Patients are citizens acting for themselves; clinicians are Health Commission officers. A consultation
someone may not see answers 404, as if it did not exist.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from civicbrain.core.errors import Forbidden, ValidationFailed
from civicbrain.core.identity import Principal, Role
from civicbrain.services.health import advice, consultations, pool, wearable_alerts
from civicbrain.services.health.access import is_clinician, require_clinician, require_patient
from civicbrain.services.health.models import Consultation
from civicbrain.web.deps import Ctx, CurrentUser

router = APIRouter()
ConsultationId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f\-]{36}$")]
ClaimId = Annotated[str, Path(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")]


# --- AI doctor -----------------------------------------------------------------------------------


class ConsultationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consent: bool = Field(description="The patient agrees to the use of their answers for their care.")
    initial_evidence: str = Field(min_length=1, max_length=16, description="The first complaint's evidence code.")
    age: int | None = Field(None, ge=0, le=120)
    sex: Literal["female", "male"] | None = None


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=16)
    value: bool | str | list[Annotated[str, Field(max_length=16)]] = Field(
        description="yes/no: true or false; choose one: a value code; choose any: a list of value codes"
    )


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["confirmed", "corrected"]
    diagnosis: str | None = Field(None, max_length=200)
    urgency: Literal["emergency", "see_a_doctor_soon", "self_care"] | None = None
    notes: str = Field("", max_length=5000)


def consultation_view(row: Consultation, principal: Principal) -> dict[str, Any]:
    question = consultations.current_question(row)
    view: dict[str, Any] = {
        "id": row.id,
        "state": row.state,
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "questions_answered": len(row.answers),
        "question": question.as_dict() if question else None,
        "urgency": row.urgency,
        "escalated": row.escalated,
        "receipt": row.receipt,
    }
    if row.summary is not None:
        view["advice"] = consultations.URGENCY_WORDS[row.summary["urgency"]]
        view["summary"] = row.summary
    if is_clinician(principal):
        view["person_id"] = row.person_id
    return view


@router.get("/complaints", summary="The first complaints a consultation can start from")
def complaints() -> dict[str, Any]:
    return {"complaints": [{"code": code, "question": text} for code, text in consultations.complaints()]}


@router.post("/consultations", status_code=201, summary="Start an AI-doctor consultation (patients)")
def start_consultation(body: ConsultationIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    person_id = require_patient(principal)
    row = consultations.start(
        ctx,
        person_id=person_id,
        consent=body.consent,
        initial_evidence=body.initial_evidence,
        age=body.age,
        sex=body.sex,
    )
    return consultation_view(row, principal)


@router.get("/consultations/mine", summary="My consultations (patients)")
def my_consultations(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    person_id = require_patient(principal)
    return {"consultations": [consultation_view(r, principal) for r in consultations.for_patient(ctx, person_id)]}


@router.get("/consultations/{consultation_id}", summary="One consultation: the next question, or the hand-over")
def get_consultation(consultation_id: ConsultationId, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    row = consultations.get_for(ctx, principal, consultation_id)
    view = consultation_view(row, principal)
    review = consultations.review_of(ctx, row.id)
    if review is not None:
        view["review"] = {
            "outcome": review.outcome,
            "diagnosis": review.diagnosis,
            "urgency": review.urgency,
            "clinician": review.clinician,
            "reviewed_at": review.reviewed_at.isoformat(),
            "receipt": review.receipt,
        }
    return view


@router.post("/consultations/{consultation_id}/answers", summary="Answer the question being asked (the patient)")
def answer(consultation_id: ConsultationId, body: AnswerIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    require_patient(principal)  # a citizen reaches only their own consultations (get_for answers 404)
    row = consultations.get_for(ctx, principal, consultation_id, for_update=True)
    consultations.answer(ctx, row, code=body.code, value=body.value)
    return consultation_view(row, principal)


@router.get("/consultations/{consultation_id}/fhir", summary="The hand-over as an HL7 FHIR R4 Bundle")
def fhir(consultation_id: ConsultationId, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    row = consultations.get_for(ctx, principal, consultation_id)
    return consultations.fhir_bundle(row)


@router.get("/queue", summary="The clinician queue: finished consultations, red flags first (clinicians)")
def queue(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    require_clinician(principal)
    return {"consultations": [consultation_view(r, principal) for r in consultations.clinician_queue(ctx)]}


@router.post("/consultations/{consultation_id}/review", summary="Confirm or correct the AI's suggestion (clinicians)")
def review(consultation_id: ConsultationId, body: ReviewIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    require_clinician(principal)
    row = consultations.get_for(ctx, principal, consultation_id, for_update=True)
    saved = consultations.review(
        ctx,
        row,
        clinician=principal.username,
        given=consultations.ReviewInput(body.outcome, body.diagnosis, body.urgency, body.notes),
    )
    return {
        "consultation_id": row.id,
        "outcome": saved.outcome,
        "diagnosis": saved.diagnosis,
        "urgency": saved.urgency,
        "receipt": saved.receipt,
        "about": row.receipt,
    }


# --- mutual-aid pool -----------------------------------------------------------------------------


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(min_length=1, max_length=7_000_000)


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    illness: str = Field(min_length=1, max_length=32, description="ICD-10 code on the covered list")
    diagnosed_on: date
    treatment_start: date
    treatment_end: date
    amount: str = Field(min_length=1, max_length=20, pattern=r"^-?[0-9]+(\.[0-9]{1,2})?$")
    documents: list[DocumentIn] = Field(default_factory=list, max_length=20)


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class ObjectionDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(min_length=10, max_length=5000)


def claim_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "illness": row.illness,
        "illness_name": pool.COVERED_ILLNESSES.get(row.illness, row.illness),
        "amount": row.amount,
        "status": row.status,
        "checks": row.checks,
        "refusal_reasons": [c["reason"] for c in row.checks if not c["passed"]],
        "noticed_on": row.noticed_on.isoformat() if row.noticed_on else None,
        "receipt": row.receipt,
        "human_decision": (
            {"by": row.human_decision_by, "approved": row.human_decision_approved, "reason": row.human_decision_reason}
            if row.human_decision_by
            else None
        ),
        "paid_in_period": row.paid_in_period,
        "payout": row.payout,
    }


def require_pool_decider(principal: Principal) -> None:
    """Objections are decided by a reviewer or a Health Commission officer."""
    if principal.role != Role.REVIEWER and not is_clinician(principal):
        raise Forbidden("this needs a reviewer or a Health Commission officer")


@router.get("/pool", summary="The pool's rules, its public notice and settled periods (public)")
def pool_overview(ctx: Ctx) -> dict[str, Any]:
    return {
        "rules": {
            "waiting_period_days": pool.RULES.waiting_period_days,
            "objection_window_days": pool.RULES.objection_window_days,
            "cap_per_claim_per_member": str(pool.RULES.cap_per_claim_per_member),
            "management_fee_per_period": str(pool.RULES.management_fee),
            "covered_illnesses": pool.COVERED_ILLNESSES,
            "fee_formula": "share = max(0, payouts + management fee - balance) / members, rounded up to the cent",
        },
        "balance": str(pool.balance(ctx)),
        "public_notice": pool.public_notice(ctx),
        "periods": [
            {
                "period": p.period,
                "members": p.members,
                "payouts_total": p.payouts_total,
                "management_fee": p.management_fee,
                "balance_before": p.balance_before,
                "share_per_member": p.share_per_member,
                "balance_after": p.balance_after,
            }
            for p in pool.periods(ctx)
        ],
    }


@router.post("/pool/members", status_code=201, summary="Join the mutual-aid pool (citizens)")
def join_pool(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    person_id = require_patient(principal)
    member = pool.join(ctx, person_id)
    return {
        "member_id": member.id,
        "joined_on": member.joined_on.isoformat(),
        "waiting_period_ends": pool.waiting_period_ends(member).isoformat(),
    }


@router.get("/pool/me", summary="My membership, claims, and what my fees paid for (members)")
def my_pool(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    person_id = require_patient(principal)
    member = pool.require_member(ctx, person_id)
    return {
        "member_id": member.id,
        "joined_on": member.joined_on.isoformat(),
        "waiting_period_ends": pool.waiting_period_ends(member).isoformat(),
        "claims": [claim_view(c) for c in pool.claims_of(ctx, member)],
        "statements": pool.statements(ctx, member),
    }


@router.post("/pool/claims", status_code=201, summary="Claim, with documents (members)")
def submit_claim(body: ClaimIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    person_id = require_patient(principal)
    member = pool.require_member(ctx, person_id)
    documents = []
    for i, document in enumerate(body.documents):
        try:
            documents.append((document.name, base64.b64decode(document.content_base64, validate=True)))
        except (binascii.Error, ValueError):
            raise ValidationFailed("not valid base64", field=f"documents.{i}.content_base64") from None
    given = pool.ClaimInput(
        body.illness, body.diagnosed_on, body.treatment_start, body.treatment_end, body.amount, documents
    )
    return claim_view(pool.submit_claim(ctx, member, given))


@router.post("/pool/claims/{claim_id}/objections", summary="Object to a claim in public notice (members)")
def object_to_claim(claim_id: ClaimId, body: ObjectionIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    person_id = require_patient(principal)
    member = pool.require_member(ctx, person_id)
    row = pool.object_to(ctx, member, claim_id, body.reason)
    return {"claim_id": row.id, "status": row.status}


@router.get("/pool/objected", summary="Objected claims waiting for a human decision (reviewers, Health Commission)")
def objected(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    require_pool_decider(principal)
    return {
        "claims": [
            claim_view(c)
            | {
                "objections": [
                    {"reason": o.reason, "raised_on": o.raised_on.isoformat()} for o in pool.objections_to(ctx, c.id)
                ]
            }
            for c in pool.awaiting_human(ctx)
        ]
    }


@router.post("/pool/claims/{claim_id}/decision", summary="Decide an objected claim (reviewers, Health Commission)")
def decide_objection(claim_id: ClaimId, body: ObjectionDecisionIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    require_pool_decider(principal)
    row = pool.decide_objection(ctx, claim_id, decided_by=principal.username, approve=body.approve, reason=body.reason)
    return claim_view(row)


@router.post("/pool/periods/{period}/settlement", status_code=201, summary="Settle a period (Health Commission)")
def settle(
    ctx: Ctx, principal: CurrentUser, period: str = Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9\-]+$")
) -> dict[str, Any]:
    require_clinician(principal)
    record = pool.settle(ctx, period)
    return {
        "period": record.period,
        "members": record.members,
        "payouts_total": record.payouts_total,
        "management_fee": record.management_fee,
        "balance_before": record.balance_before,
        "share_per_member": record.share_per_member,
        "balance_after": record.balance_after,
    }


# --- wearables, village doctor, epidemic advice --------------------------------------------------


class WearableConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consent: bool
    sensitivity: Literal["low", "normal", "high"] = "normal"


@router.put("/wearables/consent", summary="Give or withdraw consent to heart-rate alerts (citizens)")
def wearable_consent(body: WearableConsentIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    person_id = require_patient(principal)
    row = wearable_alerts.set_consent(ctx, person_id, consent=body.consent, sensitivity=body.sensitivity)
    return {"consented": row.withdrawn_at is None, "sensitivity": row.sensitivity}


@router.get("/wearables/alerts", summary="My heart-rate alerts, with their explanation (citizens)")
def my_alerts(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    person_id = require_patient(principal)
    return {"alerts": [wearable_alerts.alert_view(a) for a in wearable_alerts.alerts_of(ctx, person_id)]}


@router.post(
    "/wearables/scan", summary="Check consenting wearers' streams for sustained elevations (Health Commission)"
)
def scan(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    require_clinician(principal)
    raised = wearable_alerts.scan(ctx)
    return {"alerts_raised": len(raised)}


class SupportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=5000)
    picked: dict[Annotated[str, Field(max_length=16)], bool] = Field(default_factory=dict, max_length=60)
    age: int = Field(40, ge=0, le=120)
    sex: Literal["female", "male"] = "female"


@router.post("/village-doctor/support", summary="Ranked diagnoses and next questions from symptoms (clinicians)")
def village_doctor(body: SupportIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    require_clinician(principal)
    return advice.decision_support(body.text, body.picked, body.age, body.sex)


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[Annotated[str, Field(max_length=32)], bool] = Field(default_factory=dict, max_length=20)


@router.post("/epidemic/triage", summary="Hospital, clinic or stay home, with reasons (anyone; nothing is stored)")
def epidemic_triage(body: TriageIn) -> dict[str, Any]:
    return advice.epidemic_triage(body.answers)


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=2, max_length=16)
    travel_date: date
    carriage: str | None = Field(None, max_length=8)


class ItineraryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segments: list[SegmentIn] = Field(min_length=1, max_length=30)


@router.post("/epidemic/exposure-check", summary="Did I travel with a confirmed case? (anyone; itinerary not stored)")
def exposure_check(body: ItineraryIn, ctx: Ctx) -> dict[str, Any]:
    return advice.exposure_check(ctx, [(s.number, s.travel_date, s.carriage) for s in body.segments])
