"""The credit portal pages, mounted at /credit.

    GET  /credit                        public query (no sign-in): name or code, masked IDs; monthly flows chart
    GET  /credit/me                     a resident's listings and notices, objection and repair forms, city score
    POST /credit/me/listings/{id}/object | /repair, POST /credit/me/score, /credit/me/score/withdraw
    GET  /credit/officer                propose a listing (own agency's lists), its listings, repair decisions,
                                        memoranda, and the check form (any officer, for their agency's measures)
    POST /credit/officer/propose | /listings/{id}/repair-decision | /check
    GET  /credit/audit                  flows, the screening trail, the score's fairness audit link (auditors, admins)

Forms post back and redirect (post-redirect-get); an error re-renders the page with the message
naming the field, after rolling back anything the failed step wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.errors import UserError
from civicbrain.core.identity import Principal, Role
from civicbrain.core.models import Agency, Feed, FeedRecord
from civicbrain.services.credit import checks, federation_sync, public_view, scores, service
from civicbrain.services.credit.algorithms import CITY_SCORE
from civicbrain.services.credit.checks import CheckQuery
from civicbrain.services.credit.domain.catalogue import CITY_SCORE_TABLE
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.feeds import FEEDS
from civicbrain.services.credit.models import (
    CreditCheck,
    CreditFederationBatch,
    CreditList,
    CreditMemorandum,
    CreditScoreOptIn,
)
from civicbrain.services.credit.views import listing_view, memorandum_view
from civicbrain.web.pages import CsrfChecked, Ctx, MaybeUser, SignedIn, render

router = APIRouter()
TRAIL_SHOWN = 100
SHOWN = 200  # listings and records on the officer page; the API pages through more


def _agencies(ctx: Platform) -> dict[str, str]:
    return {a.id: a.name for a in ctx.session.scalars(select(Agency))}


def _attempt(ctx: Platform, step: Callable[[], Any]) -> UserError | None:
    """Run a step; on a user error undo what it wrote and hand the error to the page."""
    try:
        step()
    except UserError as exc:
        ctx.session.rollback()
        return exc
    return None


# --- public ---------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def public_query(request: Request, ctx: Ctx, user: MaybeUser, q: str = "") -> HTMLResponse:
    results, error = [], None
    if q.strip():
        try:
            results = [r.as_dict() for r in public_view.search(ctx, q[:200])]
        except UserError as exc:
            error = exc
    flows = public_view.flows(ctx)
    context = {
        "q": q,
        "results": results,
        "searched": bool(q.strip()) and error is None,
        "error": error,
        "flows": flows,
        "chart": public_view.flows_chart(flows),
        "lists": list(ctx.session.scalars(select(CreditList).order_by(CreditList.code))),
        "agencies": _agencies(ctx),
    }
    return render(request, "credit/public.html", context, 422 if error else 200)


# --- residents ------------------------------------------------------------------------------------


def _my_context(ctx: Platform, principal: Principal) -> dict[str, Any]:
    person_id = principal.person_id or ""
    rows = service.listings_for_person(ctx, person_id)
    lists = {r.code: r for r in ctx.session.scalars(select(CreditList))}
    appeals = {a.id: a for a in ctx.appeals.for_person(person_id)}
    score = ctx.session.get(CreditScoreOptIn, person_id)
    feeds = {f.id: f for f in ctx.session.scalars(select(Feed).where(Feed.name.in_([s.name for s in FEEDS])))}
    records = ctx.session.scalars(
        select(FeedRecord)
        .where(FeedRecord.subject_id == person_id, FeedRecord.feed_id.in_(list(feeds)))
        .order_by(FeedRecord.id)
    )
    return {
        "records": [
            {"source": f"{feeds[r.feed_id].agency_id}/{feeds[r.feed_id].name}", "key": r.source_key, "data": r.data}
            for r in records
        ],
        "listings": [
            {"row": r, "view": listing_view(r), "list": lists[r.list_code], "appeal": appeals.get(r.appeal_id or -1)}
            for r in rows
        ],
        "now": ctx.now(),
        "appeals_by_id": appeals,
        "instance_id": ctx.settings.instance_id,
        "score": scores.score_view(score) if score is not None else None,
        "table": CITY_SCORE_TABLE,
        "agencies": _agencies(ctx),
    }


def _my_page(request: Request, ctx: Platform, principal: Principal, error: UserError | None = None) -> Response:
    context = _my_context(ctx, principal) | {"error": error, "done": request.query_params.get("done")}
    return render(request, "credit/me.html", context, error.status_code if error else 200)


@router.get("/me", response_class=HTMLResponse)
def my_credit(request: Request, ctx: Ctx, principal: SignedIn) -> Response:
    principal.require(Role.CITIZEN)
    return _my_page(request, ctx, principal)


@router.post("/me/listings/{listing_id}/object", dependencies=[CsrfChecked])
def object_form(
    request: Request, ctx: Ctx, principal: SignedIn, listing_id: str, grounds: Annotated[str, Form()] = ""
) -> Response:
    principal.require(Role.CITIZEN)
    error = _attempt(
        ctx,
        lambda: service.object_to_listing(
            ctx, person_id=principal.person_id or "", listing_id=listing_id, grounds=grounds
        ),
    )
    if error:
        return _my_page(request, ctx, principal, error)
    return RedirectResponse("/credit/me?done=objection", status_code=303)


@router.post("/me/listings/{listing_id}/correction", dependencies=[CsrfChecked])
def correction_form(
    request: Request, ctx: Ctx, principal: SignedIn, listing_id: str, grounds: Annotated[str, Form()] = ""
) -> Response:
    principal.require(Role.CITIZEN)
    error = _attempt(
        ctx,
        lambda: service.request_correction(
            ctx, person_id=principal.person_id or "", listing_id=listing_id, grounds=grounds
        ),
    )
    if error:
        return _my_page(request, ctx, principal, error)
    return RedirectResponse("/credit/me?done=correction", status_code=303)


@router.post("/me/listings/{listing_id}/repair", dependencies=[CsrfChecked])
def repair_form(
    request: Request, ctx: Ctx, principal: SignedIn, listing_id: str, performance: Annotated[str, Form()] = ""
) -> Response:
    principal.require(Role.CITIZEN)
    error = _attempt(
        ctx,
        lambda: service.apply_for_repair(
            ctx,
            listing_id=listing_id,
            performance=performance,
            applied_by=principal.username,
            person_id=principal.person_id or "",
        ),
    )
    if error:
        return _my_page(request, ctx, principal, error)
    return RedirectResponse("/credit/me?done=repair", status_code=303)


@router.post("/me/score", dependencies=[CsrfChecked])
def opt_in_form(request: Request, ctx: Ctx, principal: SignedIn) -> Response:
    principal.require(Role.CITIZEN)
    error = _attempt(ctx, lambda: scores.opt_in(ctx, principal.person_id or ""))
    if error:
        return _my_page(request, ctx, principal, error)
    return RedirectResponse("/credit/me?done=opted-in#score", status_code=303)


@router.post("/me/score/withdraw", dependencies=[CsrfChecked])
def withdraw_form(request: Request, ctx: Ctx, principal: SignedIn) -> Response:
    principal.require(Role.CITIZEN)
    error = _attempt(ctx, lambda: scores.withdraw(ctx, principal.person_id or ""))
    if error:
        return _my_page(request, ctx, principal, error)
    return RedirectResponse("/credit/me?done=withdrawn#score", status_code=303)


# --- officers -------------------------------------------------------------------------------------


def _officer_context(ctx: Platform, principal: Principal) -> dict[str, Any]:
    agency = principal.agency_id if principal.role == Role.OFFICER else None
    own_lists = [
        r
        for r in ctx.session.scalars(select(CreditList).order_by(CreditList.code))
        if agency is None or r.owning_agency == agency
    ]
    feeds = [
        f
        for f in ctx.session.scalars(select(Feed).where(Feed.name.in_([s.name for s in FEEDS])))
        if agency is None or f.agency_id == agency
    ]
    records = []
    for feed in feeds:
        if feed.name == "commendations":
            continue  # commendations count for the score, never towards a listing
        newest = select(FeedRecord).where(FeedRecord.feed_id == feed.id).order_by(FeedRecord.id.desc()).limit(SHOWN)
        for rec in ctx.session.scalars(newest):
            ref = f"{feed.agency_id}/{feed.name}#{rec.source_key}"
            records.append({"ref": ref, "label": f"{rec.source_key} — {rec.data.get('subject_name')}"})
    rows = service.listings(ctx, agency=agency, limit=SHOWN)
    memoranda = ctx.session.scalars(select(CreditMemorandum).order_by(CreditMemorandum.id))
    return {
        "principal": principal,
        "own_lists": own_lists,
        "records": records,
        "listings": [{"row": r, "subject": service.subject_of(ctx, r)} for r in rows],
        "memoranda": [memorandum_view(m) for m in memoranda],
        "agencies": _agencies(ctx),
        "overdue": {k: {r.id for r in v} for k, v in service.overdue(ctx).items()},
        "corrections_granted": service.corrections_granted(ctx, rows),
    }


def _officer_page(
    request: Request,
    ctx: Platform,
    principal: Principal,
    error: UserError | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    context = _officer_context(ctx, principal) | {"error": error, "done": request.query_params.get("done")}
    context |= extra or {}
    return render(request, "credit/officer.html", context, error.status_code if error else 200)


@router.get("/officer", response_class=HTMLResponse)
def officer_page(request: Request, ctx: Ctx, principal: SignedIn) -> Response:
    principal.require(Role.OFFICER, Role.ADMIN)
    return _officer_page(request, ctx, principal)


@router.post("/officer/propose", dependencies=[CsrfChecked])
def propose_form(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    list_code: Annotated[str, Form()] = "",
    fact: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    principal.require(Role.OFFICER, Role.ADMIN)
    acting = None if principal.role == Role.ADMIN else principal.agency_id
    error = _attempt(
        ctx,
        lambda: service.propose_listing(
            ctx,
            list_code=list_code,
            facts=[fact] if fact else [],
            reasons=[reason],
            proposed_by=principal.username,
            acting_agency=acting,
        ),
    )
    if error:
        return _officer_page(request, ctx, principal, error)
    return RedirectResponse("/credit/officer?done=proposed", status_code=303)


@router.post("/officer/listings/{listing_id}/repair-decision", dependencies=[CsrfChecked])
def repair_decision_form(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    listing_id: str,
    decision: Annotated[str, Form()] = "",
    checks_made: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
) -> Response:
    principal.require(Role.OFFICER, Role.ADMIN)

    def step() -> None:
        row = service.get_listing(ctx, listing_id)
        principal.require_agency(service.get_list(ctx, row.list_code).owning_agency)
        service.decide_repair(
            ctx,
            listing_id=listing_id,
            granted=decision == "grant",
            checks=[line for line in checks_made.splitlines() if line.strip()],
            answer=answer,
            decided_by=principal.username,
            role=principal.role.value,
        )

    error = _attempt(ctx, step)
    if error:
        return _officer_page(request, ctx, principal, error)
    return RedirectResponse("/credit/officer?done=repair-decided", status_code=303)


@router.post("/officer/check", dependencies=[CsrfChecked])
def check_form(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    context: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "person",
    id_number: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    birth_date: Annotated[str, Form()] = "",
) -> Response:
    principal.require(Role.OFFICER)
    answers: list[dict[str, Any]] = []

    def step() -> None:
        query = CheckQuery(
            kind=NameKind.ORGANIZATION if kind == "organization" else NameKind.PERSON,
            name=name or None,
            identifier=id_number or None,
            birth_date=birth_date or None,
        )
        answer = checks.run_check(
            ctx, query=query, context=context, asking_agency=principal.agency_id or "", asked_by=principal.username
        )
        answers.append(answer.as_dict())

    error = _attempt(ctx, step)
    return _officer_page(request, ctx, principal, error, {"check": answers[0] if answers else None})


# --- auditors -------------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, ctx: Ctx, principal: SignedIn) -> Response:
    principal.require(Role.AUDITOR, Role.ADMIN)
    flows = public_view.flows(ctx)
    trail = list(ctx.session.scalars(select(CreditCheck).order_by(CreditCheck.id.desc()).limit(TRAIL_SHOWN)))
    context = {
        "flows": flows,
        "chart": public_view.flows_chart(flows),
        "trail": trail,
        "trail_shown": TRAIL_SHOWN,
        "score_card": CITY_SCORE,
        "optins": len(list(ctx.session.scalars(select(CreditScoreOptIn.person_id)))),
        "batches": list(
            ctx.session.scalars(select(CreditFederationBatch).order_by(CreditFederationBatch.id.desc()).limit(20))
        ),
        "federated": federation_sync.aggregate(ctx),
        "agencies": _agencies(ctx),
    }
    return render(request, "credit/audit.html", context)
