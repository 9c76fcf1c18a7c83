"""Portal pages of the health service (mounted at /health).

    GET  /health                                 start a consultation; my consultations; links
    POST /health/consultations                   start (consent, first complaint, age, sex)
    GET  /health/consultations/{id}              the patient chat (or, for a clinician, the hand-over)
    POST /health/consultations/{id}/answer       one answer; HTMX swaps just the chat
    GET  /health/queue                           the clinician queue
    POST /health/consultations/{id}/review       confirm or correct (clinicians)
    GET  /health/pool, POST /health/pool/...     the mutual-aid pool
    GET  /health/wearables, POST consent         heart-rate alerts
    GET/POST /health/village-doctor              decision support (clinicians)
    GET/POST /health/epidemic, /health/exposure  epidemic self-check and exposure check (anyone, nothing stored)

Every page works without JavaScript; HTMX only swaps the chat and the reviewed case.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicbrain.core.context import Platform
from civicbrain.core.errors import UserError, ValidationFailed
from civicbrain.core.identity import Principal, Role
from civicbrain.services.health import advice, consultations, pool, wearable_alerts
from civicbrain.services.health.access import is_clinician, require_clinician, require_patient
from civicbrain.services.health.models import Consultation
from civicbrain.web.pages import CsrfChecked, Ctx, MaybeUser, SignedIn, is_htmx, render

router = APIRouter()
ConsultationId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f\-]{36}$")]
ClaimId = Annotated[str, Path(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")]
MAX_UPLOAD = pool.MAX_DOCUMENT_BYTES


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- landing and the patient chat ----------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def home(request: Request, ctx: Ctx, principal: MaybeUser) -> HTMLResponse:
    return render(request, "health/home.html", _home_context(ctx, principal))


def _home_context(ctx: Platform, principal: Principal | None, **extra: Any) -> dict[str, Any]:
    mine = []
    if principal is not None and principal.role == Role.CITIZEN and principal.person_id:
        mine = consultations.for_patient(ctx, principal.person_id)
    return {
        "principal": principal,
        "is_patient": principal is not None and principal.role == Role.CITIZEN,
        "is_clinician": principal is not None and is_clinician(principal),
        "complaints": consultations.complaints(),
        "consent_text": consultations.CONSENT_TEXT,
        "mine": mine,
        "urgency_words": consultations.URGENCY_WORDS,
        "error": None,
        "draft": {},
        **extra,
    }


@router.post("/consultations", dependencies=[CsrfChecked])
def start(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    initial_evidence: Annotated[str, Form(max_length=16)] = "",
    consent: Annotated[str, Form(max_length=8)] = "",
    age: Annotated[str, Form(max_length=3)] = "",
    sex: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    person_id = require_patient(principal)
    try:
        if age and not age.isdigit():
            raise ValidationFailed("write your age in years", field="age")
        row = consultations.start(
            ctx,
            person_id=person_id,
            consent=consent == "yes",
            initial_evidence=initial_evidence,
            age=int(age) if age else None,
            sex=sex or None,
        )
    except UserError as exc:
        ctx.session.rollback()
        draft = {"initial_evidence": initial_evidence, "age": age, "sex": sex}
        context = _home_context(ctx, principal, error=exc, draft=draft)
        return render(request, "health/home.html", context, status_code=exc.status_code)
    return _see_other(f"/health/consultations/{row.id}")


def _chat_context(
    ctx: Platform, principal: Principal, row: Consultation, error: UserError | None = None
) -> dict[str, Any]:
    question = consultations.current_question(row)
    summary = row.summary
    return {
        "row": row,
        "question": question,
        "scale": question is not None
        and question.kind == "choose_one"
        and all(v.isdigit() for v, _ in question.options),
        "transcript": _transcript(row),
        "summary": summary,
        "advice": consultations.URGENCY_WORDS.get(row.urgency or "", ""),
        "review": consultations.review_of(ctx, row.id),
        "is_patient": principal.person_id == row.person_id,
        "is_clinician": is_clinician(principal),
        "error": error,
    }


def _transcript(row: Consultation) -> list[tuple[str, str]]:
    """(question, answer in words) so far. Finished consultations read it from the hand-over summary."""
    if row.summary is not None:
        return [(question, answer) for _code, question, answer in row.summary["answers"]]
    from civicbrain.services.health.domain.knowledge_base import load_knowledge_base

    kb = load_knowledge_base()
    first = kb.evidences[row.initial_evidence]
    lines = [(first.question, "yes")]
    for step in row.answers:
        evidence = kb.evidences[step["code"]]
        value = step["value"]
        if isinstance(value, bool):
            words = "yes" if value else "no"
        elif isinstance(value, list):
            words = ", ".join(evidence.label(v) for v in value) or "none"
        else:
            words = evidence.label(str(value))
        lines.append((evidence.question, words))
    return lines


@router.get("/consultations/{consultation_id}", response_class=HTMLResponse)
def chat(request: Request, ctx: Ctx, principal: SignedIn, consultation_id: ConsultationId) -> HTMLResponse:
    row = consultations.get_for(ctx, principal, consultation_id)
    return render(request, "health/consultation.html", _chat_context(ctx, principal, row))


@router.post("/consultations/{consultation_id}/answer", dependencies=[CsrfChecked])
def answer(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    consultation_id: ConsultationId,
    code: Annotated[str, Form(max_length=16)] = "",
    value: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 - FastAPI copies form defaults
    kind: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    require_patient(principal)
    row = consultations.get_for(ctx, principal, consultation_id, for_update=True)
    try:
        if kind == "choose_any":
            given: Any = [v for v in value if v]
        elif not value or not value[0]:
            raise ValidationFailed("choose an answer", field="value")
        else:
            given = value[0]
        consultations.answer(ctx, row, code=code, value=given)
    except UserError as exc:
        ctx.session.rollback()
        row = consultations.get_for(ctx, principal, consultation_id)
        template = "health/_chat.html" if is_htmx(request) else "health/consultation.html"
        return render(request, template, _chat_context(ctx, principal, row, exc), status_code=exc.status_code)
    if is_htmx(request):
        return render(request, "health/_chat.html", _chat_context(ctx, principal, row))
    return _see_other(f"/health/consultations/{row.id}")


# --- the clinician queue -------------------------------------------------------------------------


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, ctx: Ctx, principal: SignedIn, reviewed: str | None = None) -> HTMLResponse:
    require_clinician(principal)
    return render(request, "health/queue.html", _queue_context(ctx, reviewed))


def _queue_context(ctx: Platform, reviewed: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "cases": consultations.clinician_queue(ctx),
        "pathologies": consultations.pathology_names(),
        "urgencies": list(consultations.URGENCY_RANK),
        "urgency_words": consultations.URGENCY_WORDS,
        "reviewed": reviewed,
        "errors": {},
        "drafts": {},
        **extra,
    }


@router.post("/consultations/{consultation_id}/review", dependencies=[CsrfChecked])
def review(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    consultation_id: ConsultationId,
    outcome: Annotated[str, Form(max_length=16)] = "",
    diagnosis: Annotated[str, Form(max_length=200)] = "",
    urgency: Annotated[str, Form(max_length=24)] = "",
    notes: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    require_clinician(principal)
    row = consultations.get_for(ctx, principal, consultation_id, for_update=True)
    try:
        saved = consultations.review(
            ctx, row, clinician=principal.username, given=consultations.ReviewInput(outcome, diagnosis, urgency, notes)
        )
    except UserError as exc:
        ctx.session.rollback()
        draft = {"outcome": outcome, "diagnosis": diagnosis, "urgency": urgency, "notes": notes}
        context = _queue_context(ctx, None, errors={consultation_id: exc}, drafts={consultation_id: draft})
        if is_htmx(request):
            row = consultations.get_for(ctx, principal, consultation_id)
            return render(request, "health/_case.html", context | {"c": row}, status_code=exc.status_code)
        return render(request, "health/queue.html", context, status_code=exc.status_code)
    if is_htmx(request):
        return render(request, "health/_reviewed.html", {"c": row, "review": saved})
    return _see_other(f"/health/queue?reviewed={row.id}")


# --- mutual-aid pool -----------------------------------------------------------------------------


def _pool_context(ctx: Platform, principal: Principal | None, **extra: Any) -> dict[str, Any]:
    member = None
    if principal is not None and principal.role == Role.CITIZEN and principal.person_id:
        member = pool.member_of(ctx, principal.person_id)
    decider = principal is not None and (principal.role == Role.REVIEWER or is_clinician(principal))
    return {
        "principal": principal,
        "is_citizen": principal is not None and principal.role == Role.CITIZEN,
        "member": member,
        "waiting_ends": pool.waiting_period_ends(member) if member else None,
        "claims": pool.claims_of(ctx, member) if member else [],
        "statements": pool.statements(ctx, member) if member else [],
        "notice": pool.public_notice(ctx),
        "periods": pool.periods(ctx),
        "balance": pool.balance(ctx),
        "rules": pool.RULES,
        "covered": pool.COVERED_ILLNESSES,
        "decider": decider,
        "objected": [(c, pool.objections_to(ctx, c.id)) for c in pool.awaiting_human(ctx)] if decider else [],
        "may_settle": principal is not None and is_clinician(principal),
        "error": None,
        "draft": {},
        "message": None,
        **extra,
    }


@router.get("/pool", response_class=HTMLResponse)
def pool_page(request: Request, ctx: Ctx, principal: MaybeUser, message: str | None = None) -> HTMLResponse:
    return render(request, "health/pool.html", _pool_context(ctx, principal, message=message))


def _pool_error(
    request: Request, ctx: Platform, principal: Principal, exc: UserError, draft: dict[str, Any]
) -> Response:
    ctx.session.rollback()
    return render(request, "health/pool.html", _pool_context(ctx, principal, error=exc, draft=draft), exc.status_code)


@router.post("/pool/join", dependencies=[CsrfChecked])
def pool_join(request: Request, ctx: Ctx, principal: SignedIn) -> Response:
    person_id = require_patient(principal)
    try:
        pool.join(ctx, person_id)
    except UserError as exc:
        return _pool_error(request, ctx, principal, exc, {})
    return _see_other("/health/pool?message=joined")


@router.post("/pool/claims", dependencies=[CsrfChecked])
async def pool_claim(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    illness: Annotated[str, Form(max_length=32)] = "",
    diagnosed_on: Annotated[str, Form(max_length=10)] = "",
    treatment_start: Annotated[str, Form(max_length=10)] = "",
    treatment_end: Annotated[str, Form(max_length=10)] = "",
    amount: Annotated[str, Form(max_length=20)] = "",
    documents: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI copies form defaults
) -> Response:
    person_id = require_patient(principal)
    draft = {
        "illness": illness,
        "diagnosed_on": diagnosed_on,
        "treatment_start": treatment_start,
        "treatment_end": treatment_end,
        "amount": amount,
    }
    try:
        member = pool.require_member(ctx, person_id)
        files = []
        for upload in documents:
            if not upload.filename:
                continue  # an empty file input sends one nameless part
            content = await upload.read(MAX_UPLOAD + 1)
            files.append((upload.filename, content))
        given = pool.ClaimInput(
            illness,
            _date(diagnosed_on, "diagnosed_on"),
            _date(treatment_start, "treatment_start"),
            _date(treatment_end, "treatment_end"),
            amount,
            files,
        )
        row = pool.submit_claim(ctx, member, given)
    except UserError as exc:
        return _pool_error(request, ctx, principal, exc, draft)
    return _see_other(f"/health/pool?message={row.status}#claim-{row.id}")


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("a date like 2026-11-02", field=field) from None


@router.post("/pool/claims/{claim_id}/objection", dependencies=[CsrfChecked])
def pool_object(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    claim_id: ClaimId,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    person_id = require_patient(principal)
    try:
        member = pool.require_member(ctx, person_id)
        pool.object_to(ctx, member, claim_id, reason)
    except UserError as exc:
        return _pool_error(request, ctx, principal, exc, {"objection": reason})
    return _see_other("/health/pool?message=objected")


@router.post("/pool/claims/{claim_id}/decision", dependencies=[CsrfChecked])
def pool_decide(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    claim_id: ClaimId,
    approve: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    if principal.role != Role.REVIEWER:
        require_clinician(principal)
    try:
        if approve not in ("yes", "no"):
            raise ValidationFailed("choose whether the claim is paid", field="approve")
        pool.decide_objection(ctx, claim_id, decided_by=principal.username, approve=approve == "yes", reason=reason)
    except UserError as exc:
        return _pool_error(request, ctx, principal, exc, {"decision_reason": reason})
    return _see_other("/health/pool?message=decided")


@router.post("/pool/settle", dependencies=[CsrfChecked])
def pool_settle(
    request: Request, ctx: Ctx, principal: SignedIn, period: Annotated[str, Form(max_length=16)] = ""
) -> Response:
    require_clinician(principal)
    try:
        pool.settle(ctx, period)
    except UserError as exc:
        return _pool_error(request, ctx, principal, exc, {"period": period})
    return _see_other("/health/pool?message=settled")


# --- wearables -----------------------------------------------------------------------------------


@router.get("/wearables", response_class=HTMLResponse)
def wearables(request: Request, ctx: Ctx, principal: SignedIn) -> HTMLResponse:
    person_id = require_patient(principal)
    from civicbrain.services.health.models import WearableConsent

    consent = ctx.session.get(WearableConsent, person_id)
    context = {
        "consent": consent if consent is not None and consent.withdrawn_at is None else None,
        "alerts": wearable_alerts.alerts_of(ctx, person_id),
        "sensitivities": list(wearable_alerts.SENSITIVITY),
    }
    return render(request, "health/wearables.html", context)


@router.post("/wearables/consent", dependencies=[CsrfChecked])
def wearables_consent(
    ctx: Ctx,
    principal: SignedIn,
    consent: Annotated[str, Form(max_length=8)] = "",
    sensitivity: Annotated[str, Form(max_length=8)] = "normal",
) -> Response:
    person_id = require_patient(principal)
    wearable_alerts.set_consent(ctx, person_id, consent=consent == "yes", sensitivity=sensitivity)
    return _see_other("/health/wearables")


# --- village doctor and epidemic advice ----------------------------------------------------------


@router.get("/village-doctor", response_class=HTMLResponse)
def village_doctor(request: Request, principal: SignedIn) -> HTMLResponse:
    require_clinician(principal)
    return render(request, "health/village_doctor.html", _support_context(None, None, {}))


def _support_context(result: dict[str, Any] | None, error: UserError | None, draft: dict[str, Any]) -> dict[str, Any]:
    return {"result": result, "error": error, "draft": draft, "findings": advice.findings()}


@router.post("/village-doctor", dependencies=[CsrfChecked])
def village_doctor_support(
    request: Request,
    principal: SignedIn,
    text: Annotated[str, Form(max_length=5000)] = "",
    age: Annotated[str, Form(max_length=3)] = "40",
    sex: Annotated[str, Form(max_length=8)] = "female",
    present: Annotated[list[str], Form(max_length=16)] = [],  # noqa: B006 - FastAPI copies form defaults
    absent: Annotated[list[str], Form(max_length=16)] = [],  # noqa: B006
) -> Response:
    require_clinician(principal)
    draft = {"text": text, "age": age, "sex": sex, "present": present, "absent": absent}
    try:
        if not age.isdigit() or int(age) > 120:
            raise ValidationFailed("an age in years, 0 to 120", field="age")
        if sex not in advice.SEX_CODES:
            raise ValidationFailed("female or male", field="sex")
        picked = {code: False for code in absent} | {code: True for code in present}
        result = advice.decision_support(text, picked, int(age), sex)
    except UserError as exc:
        return render(request, "health/village_doctor.html", _support_context(None, exc, draft), exc.status_code)
    return render(request, "health/village_doctor.html", _support_context(result, None, draft))


@router.get("/epidemic", response_class=HTMLResponse)
def epidemic(request: Request) -> HTMLResponse:
    return render(request, "health/epidemic.html", {"step": advice.epidemic_triage({}), "answers": {}, "matches": None})


@router.post("/epidemic", dependencies=[CsrfChecked])
async def epidemic_step(request: Request) -> HTMLResponse:
    # The answers so far travel in the form itself: nothing about the visitor is kept on the server.
    form = await request.form()
    codes = {q["code"] for q in advice.triage_questions()}
    answers = {k[2:]: v == "yes" for k, v in form.items() if k.startswith("a_") and k[2:] in codes}
    return render(
        request, "health/epidemic.html", {"step": advice.epidemic_triage(answers), "answers": answers, "matches": None}
    )


@router.post("/exposure", dependencies=[CsrfChecked])
def exposure(
    request: Request,
    ctx: Ctx,
    number: Annotated[str, Form(max_length=16)] = "",
    travel_date: Annotated[str, Form(max_length=10)] = "",
    carriage: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    context: dict[str, Any] = {"step": advice.epidemic_triage({}), "answers": {}, "error": None}
    try:
        if len(number.strip()) < 2:
            raise ValidationFailed("the flight or train number, such as G101", field="number")
        result = advice.exposure_check(ctx, [(number, _date(travel_date, "travel_date"), carriage or None)])
    except UserError as exc:
        return render(request, "health/epidemic.html", context | {"matches": None, "error": exc}, exc.status_code)
    return render(request, "health/epidemic.html", context | {"matches": result["matches"]})
