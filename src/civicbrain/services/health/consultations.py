"""Use cases of the AI doctor: start a consultation, answer one question at a time, hand over, review.

The domain's ``Consultation`` lives in memory; the table keeps the consent and the answers in the order
asked, so the dialogue can always be rebuilt exactly by replaying them. Replaying costs one question choice
per answer (~10 ms each), too slow for every click, so live dialogues are also kept in a small in-process
cache that is checked against the stored answers before use and rebuilt on any mismatch (a restart,
another worker, a rolled-back request).

When the dialogue ends, the differential and urgency are recorded through ``ctx.decide`` in *advisory*
mode — a suggestion for the clinician, who stays accountable — and the hand-over summary lands in the
clinician queue. A red flag (a severe pathology becoming likely) ends the dialogue at once.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select

from civicbrain.core.context import Platform
from civicbrain.core.errors import Conflict, NotFound, ValidationFailed
from civicbrain.core.identity import Principal
from civicbrain.core.models import GroundTruth, Person
from civicbrain.services.health.access import domain_error, is_clinician
from civicbrain.services.health.algorithms import AI_DOCTOR
from civicbrain.services.health.domain.consultation import Consultation as DialogueState
from civicbrain.services.health.domain.consultation import ConsultationResult, Question
from civicbrain.services.health.domain.doctor import MODEL_VERSION, initial_complaints, start_consultation
from civicbrain.services.health.domain.handover import build_summary, to_fhir_bundle
from civicbrain.services.health.domain.knowledge_base import (
    EMERGENCY,
    SEE_DOCTOR_SOON,
    SELF_CARE,
    load_knowledge_base,
)
from civicbrain.services.health.models import ClinicianReview, Consultation

CONSENT_VERSION = "2026-11"
CONSENT_TEXT = (
    "I agree that the Health Commission uses my answers to suggest what might be wrong and how urgent it is, "
    "that a clinician reviews them, and that they are kept as health records (used only for my care)."
)
IN_PROGRESS, AWAITING_CLINICIAN, REVIEWED = "in_progress", "awaiting_clinician", "reviewed"
URGENCY_WORDS = {
    EMERGENCY: "Go to an emergency department now, or call the emergency number.",
    SEE_DOCTOR_SOON: "See a doctor soon (within a day or two).",
    SELF_CARE: "This can probably be looked after at home; see a doctor if it gets worse.",
}
URGENCY_RANK = {EMERGENCY: 0, SEE_DOCTOR_SOON: 1, SELF_CARE: 2}
REVIEW_OUTCOMES = ("confirmed", "corrected")
SEXES = {"female": "F", "male": "M", "F": "F", "M": "M"}

# --- the live-dialogue cache ---------------------------------------------------------------------


@dataclass
class _Live:
    """A dialogue and the question it is waiting on.

    The pending question is chosen exactly once after each answer, live and in replay alike: the choice
    of a multi-choice question samples from the dialogue's own random generator, so choosing it a second
    time could pick another question than the one the patient sees.
    """

    dialogue: DialogueState
    pending: Question | None


_CACHE_SIZE = 256
_cache: OrderedDict[str, _Live] = OrderedDict()
# One lock for the cache and the dialogues in it: a dialogue is not thread-safe, and FastAPI runs sync
# endpoints in a thread pool. It is held only for the domain's computation (~10 ms), never across database
# work, so it can never wait on a database lock held by a request that waits on it. Two answers to the same
# consultation are serialised by the database instead (the row is read FOR UPDATE, see ``get_for``).
_lock = threading.RLock()


def _replay(row: Consultation) -> _Live:
    dialogue = start_consultation(row.age, row.sex, row.initial_evidence)
    for step in row.answers:
        dialogue.next_question()
        dialogue.answer(step["code"], step["value"])
    return _Live(dialogue, dialogue.next_question())


def _live(row: Consultation) -> _Live:
    cached = _cache.get(row.id)
    if cached is not None and cached.dialogue.asked == [a["code"] for a in row.answers]:
        _cache.move_to_end(row.id)
        return cached
    live = _replay(row)
    _remember(row.id, live)
    return live


def _remember(consultation_id: str, live: _Live) -> None:
    _cache[consultation_id] = live
    _cache.move_to_end(consultation_id)
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)


def forget_dialogue(consultation_id: str) -> None:
    with _lock:
        _cache.pop(consultation_id, None)


# --- reading ---------------------------------------------------------------------------------------


def complaints() -> list[tuple[str, str]]:
    """The first complaints a patient can pick from: (evidence code, question)."""
    return initial_complaints()


def get_for(ctx: Platform, principal: Principal, consultation_id: str, *, for_update: bool = False) -> Consultation:
    """The consultation, if this person may see it: its patient, or a clinician. Others get a 404.

    ``for_update`` locks the row until the request commits (PostgreSQL; SQLite serialises writers anyway),
    so a double-clicked answer waits and then sees the first one instead of answering twice.
    """
    row = ctx.session.get(Consultation, consultation_id, with_for_update=for_update)
    if row is None or not (is_clinician(principal) or principal.person_id == row.person_id):
        raise NotFound(f"no consultation '{consultation_id}'", field="consultation_id")
    return row


def for_patient(ctx: Platform, person_id: str) -> list[Consultation]:
    query = select(Consultation).where(Consultation.person_id == person_id).order_by(Consultation.started_at.desc())
    return list(ctx.session.scalars(query))


def clinician_queue(ctx: Platform) -> list[Consultation]:
    """Waiting consultations: red flags first, then by urgency, then oldest first."""
    rank = case(
        {level: position for level, position in URGENCY_RANK.items()},
        value=Consultation.urgency,
        else_=len(URGENCY_RANK),
    )
    query = (
        select(Consultation)
        .where(Consultation.state == AWAITING_CLINICIAN)
        .order_by(Consultation.escalated.desc(), rank, Consultation.finished_at)
    )
    return list(ctx.session.scalars(query))


def review_of(ctx: Platform, consultation_id: str) -> ClinicianReview | None:
    return ctx.session.scalar(select(ClinicianReview).where(ClinicianReview.consultation_id == consultation_id))


def current_question(row: Consultation) -> Question | None:
    """The question waiting for the patient's answer (None once the consultation has ended)."""
    if row.state != IN_PROGRESS:
        return None
    with _lock:
        return _live(row).pending


# --- the dialogue ----------------------------------------------------------------------------------


def start(
    ctx: Platform, *, person_id: str, consent: bool, initial_evidence: str, age: int | None, sex: str | None
) -> Consultation:
    """Open a consultation from the first complaint. Age and sex default to the person register's."""
    if not consent:
        raise ValidationFailed("the consultation needs your consent to use your answers for your care", field="consent")
    person = ctx.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise NotFound(f"no person '{person_id}'", field="person_id")
    if age is None and person.birth_year is not None:
        age = ctx.now().year - person.birth_year
    if age is None:
        raise ValidationFailed("say how old you are", field="age")
    sex_code = SEXES.get(sex or person.sex or "")
    if sex_code is None:
        raise ValidationFailed("the knowledge base distinguishes female and male: choose the closer one", field="sex")
    kb = load_knowledge_base()
    if initial_evidence not in dict(complaints()):
        known = initial_evidence in kb.evidences
        raise ValidationFailed(
            "choose your main complaint from the list" if not known else "this is not a complaint to start from",
            field="initial_evidence",
        )
    try:
        dialogue = start_consultation(age, sex_code, initial_evidence)
    except ValueError as exc:
        raise domain_error(exc) from None
    now = ctx.now()
    row = Consultation(
        id=str(uuid.uuid4()),
        person_id=person_id,
        consent_given_at=now,
        consent_version=CONSENT_VERSION,
        age=age,
        sex=sex_code,
        initial_evidence=initial_evidence,
        answers=[],
        state=IN_PROGRESS,
        started_at=now,
        escalated=False,
    )
    ctx.session.add(row)
    ctx.session.flush()
    with _lock:
        live = _Live(dialogue, dialogue.next_question())
        _remember(row.id, live)
        result = _result_if_finished(row, live, red_flag=False)
    if result is not None:  # nothing to ask: hand over straight away
        _hand_over(ctx, row, result)
    return row


def answer(ctx: Platform, row: Consultation, *, code: str, value: Any) -> Question | None:
    """Record the answer to the question being asked; hand over when the dialogue stops or a red flag is raised.

    Returns the next question (None once handed over). Read ``row`` with ``get_for(..., for_update=True)``.
    """
    if row.state != IN_PROGRESS:
        raise Conflict("this consultation has ended; a clinician will review it", field="consultation_id")
    with _lock:
        live = _live(row)
        asked = live.pending
        if asked is not None:
            stored = _apply_answer(row, live, asked, code, value)
            row.answers = [*row.answers, {"code": code, "value": stored}]
        result = _result_if_finished(row, live, red_flag=asked is not None)
        pending = live.pending
    if result is not None:
        _hand_over(ctx, row, result)
    ctx.session.flush()
    return pending


def _apply_answer(row: Consultation, live: _Live, asked: Question, code: str, value: Any) -> Any:
    """Answer the pending question in the dialogue (under the lock) and choose the next one."""
    if code != asked.code:
        raise ValidationFailed(f"answer the question being asked ({asked.code}), one at a time", field="code")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed("choose an answer", field="value")
    try:
        live.dialogue.answer(code, value)
    except ValueError as exc:
        _cache.pop(row.id, None)  # the dialogue may be half-updated: rebuild it next time
        raise domain_error(exc) from None
    live.pending = live.dialogue.next_question()
    stored = live.dialogue.answers[code]
    return sorted(stored) if isinstance(stored, frozenset) else stored


def _result_if_finished(row: Consultation, live: _Live, *, red_flag: bool) -> ConsultationResult | None:
    """The dialogue's result when it should stop now (under the lock); the live dialogue is then dropped."""
    dialogue = live.dialogue
    if red_flag and dialogue.red_flag_at is not None:
        stopped = "red flag: a severe condition became likely, handed to a clinician at once"
    elif live.pending is None:
        stopped = dialogue.stop_reason() or "no informative question left"
    else:
        return None
    live.pending = None
    _cache.pop(row.id, None)
    return dialogue.result(stopped)


def _hand_over(ctx: Platform, row: Consultation, result: ConsultationResult) -> None:
    """Record the AI's suggestion (advisory) and put the summary in the clinician queue."""
    summary = build_summary(result, row.person_id, row.age, row.sex, MODEL_VERSION)
    decision = ctx.decide(
        algorithm=AI_DOCTOR.id,
        version=AI_DOCTOR.version,
        subject=f"person:{row.person_id}",
        inputs={
            "age": row.age,
            "sex": row.sex,
            "first_complaint": summary.first_complaint,
            "answers": [{"code": c, "question": q, "answer": a} for c, q, a in result.answers],
        },
        outcome={
            "label": result.urgency.level,
            "urgency": result.urgency.level,
            "escalated": result.urgency.red_flag,
            "differential": [
                {"pathology": c.pathology, "icd10": c.icd10, "probability": round(c.probability, 4)}
                for c in result.differential
            ],
        },
        explanation=explanation_of(result),
        mode="advisory",
    )
    row.state = AWAITING_CLINICIAN
    row.finished_at = ctx.now()
    row.urgency = result.urgency.level
    row.escalated = result.urgency.red_flag
    row.stopped_because = result.stopped_because[:200]
    row.summary = summary.as_dict()
    row.receipt = decision.id


def explanation_of(result: ConsultationResult) -> dict[str, Any]:
    """What the patient, the clinician and an auditor read: plain words first, then the evidence."""
    top = result.differential[:5]
    leading = top[0] if top else None
    also = ", ".join(c.pathology for c in top[1:3])
    summary = (
        (f"Most likely {leading.pathology} ({leading.probability:.0%})" if leading else "No clear candidate")
        + (f"; also considered: {also}" if also else "")
        + f". {URGENCY_WORDS[result.urgency.level]} A clinician will review this consultation."
    )
    return {
        "summary": summary,
        "urgency_reasons": list(result.urgency.reasons),
        "red_flags": [result.urgency.reasons[0]] if result.urgency.red_flag else [],
        "differential": [
            {
                "pathology": c.pathology,
                "probability": round(c.probability, 4),
                "evidence_for": [f"{e.question} {e.answer}" for e in c.evidence_for],
                "evidence_against": [f"{e.question} {e.answer}" for e in c.evidence_against],
            }
            for c in top
        ],
        "questions_asked": result.questions_asked,
        "stopped_because": result.stopped_because,
    }


# --- hand-over and review ------------------------------------------------------------------------


def fhir_bundle(row: Consultation) -> dict[str, Any]:
    """The hand-over as a FHIR R4 Bundle, rebuilt from the stored summary and validated by the domain."""
    if row.summary is None:
        raise Conflict("the consultation has not ended yet: there is nothing to hand over", field="consultation_id")
    return to_fhir_bundle(summary_of(row))


def summary_of(row: Consultation) -> Any:
    """The stored summary as the domain's HandoverSummary (dataclasses rebuilt from their JSON)."""
    from civicbrain.services.health.domain.consultation import Candidate, EvidenceContribution
    from civicbrain.services.health.domain.handover import HandoverSummary

    data = dict(row.summary or {})
    candidates = tuple(
        Candidate(
            **{
                **c,
                "evidence_for": tuple(EvidenceContribution(**e) for e in c["evidence_for"]),
                "evidence_against": tuple(EvidenceContribution(**e) for e in c["evidence_against"]),
            }
        )
        for c in data["differential"]
    )
    return HandoverSummary(
        **{
            **data,
            "answers": tuple(tuple(a) for a in data["answers"]),
            "negatives_that_matter": tuple(tuple(n) for n in data["negatives_that_matter"]),
            "differential": candidates,
            "urgency_reasons": tuple(data["urgency_reasons"]),
        }
    )


@dataclass(frozen=True)
class ReviewInput:
    outcome: str
    diagnosis: str | None
    urgency: str | None
    notes: str


def review(ctx: Platform, row: Consultation, *, clinician: str, given: ReviewInput) -> ClinicianReview:
    """The clinician confirms or corrects the AI's suggestion; recorded against it in the ledger.

    The review is also ground truth for the algorithm's error audit: the suggestion was right when the
    clinician's diagnosis is the AI's leading candidate and the urgency is the same.
    """
    if row.state != AWAITING_CLINICIAN or row.receipt is None or row.summary is None:
        raise Conflict(
            "this consultation is not waiting for a clinician"
            + (" (it was already reviewed)" if row.state == REVIEWED else " (the patient has not finished)"),
            field="consultation_id",
        )
    if given.outcome not in REVIEW_OUTCOMES:
        raise ValidationFailed("choose whether you confirm or correct the suggestion", field="outcome")
    ai_diagnosis = row.summary["differential"][0]["pathology"] if row.summary["differential"] else ""
    diagnosis = (given.diagnosis or "").strip() or (ai_diagnosis if given.outcome == "confirmed" else "")
    urgency = (given.urgency or "").strip() or (row.urgency if given.outcome == "confirmed" else "")
    notes = given.notes.strip()
    if not diagnosis:
        raise ValidationFailed("write your diagnosis", field="diagnosis")
    if len(diagnosis) > 200:
        raise ValidationFailed("a diagnosis is at most 200 characters", field="diagnosis")
    if urgency not in URGENCY_RANK:
        raise ValidationFailed("choose an urgency: emergency, see_a_doctor_soon or self_care", field="urgency")
    if len(notes) > 5000:
        raise ValidationFailed("notes are limited to 5000 characters", field="notes")
    agrees = diagnosis == ai_diagnosis and urgency == row.urgency
    if given.outcome == "confirmed" and not agrees:
        raise ValidationFailed(
            "a confirmation keeps the AI's diagnosis and urgency; choose 'correct' to change them", field="outcome"
        )
    if given.outcome == "corrected" and agrees:
        raise ValidationFailed("a correction changes the diagnosis or the urgency", field="diagnosis")
    reasons = (
        f"Clinician {given.outcome} the AI's suggestion: diagnosis {diagnosis}, urgency {urgency.replace('_', ' ')}"
        f" (AI suggested {ai_diagnosis or 'nothing'}, {str(row.urgency).replace('_', ' ')})."
        + (f" Notes: {notes}" if notes else "")
    )
    receipt = ctx.record_human_decision(
        about=row.receipt, what="health.clinician_review", outcome_label=given.outcome, reasons=reasons, actor=clinician
    )
    now = ctx.now()
    ctx.session.add(GroundTruth(receipt=row.receipt, was_correct=agrees, source="clinician_review", recorded_at=now))
    saved = ClinicianReview(
        consultation_id=row.id,
        clinician=clinician,
        outcome=given.outcome,
        diagnosis=diagnosis,
        urgency=urgency,
        notes=notes,
        reviewed_at=now,
        receipt=receipt.receipt,
    )
    ctx.session.add(saved)
    row.state = REVIEWED
    ctx.session.flush()
    return saved


def pathology_names() -> list[str]:
    return load_knowledge_base().pathology_names
