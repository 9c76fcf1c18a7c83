"""HTTP routes of the credit service (mounted under /api/v1/credit).

Who may do what: officers of a list's owning agency propose and handle its listings; any officer
checks a subject for their own agency's measures; residents see, object to and apply to repair
their own listings and manage their own score; reviewers decide objections (core appeals), repair
and "not the same person"; auditors read the screening trail; the public query needs no sign-in.
A resident asking for a listing that is not theirs gets 404, not 403, so ids reveal nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

import anyio
import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from civicbrain.core.errors import Forbidden, NotFound
from civicbrain.core.identity import Principal, Role, principal_for_token
from civicbrain.services.credit import checks, federation_sync, public_view, scores, service
from civicbrain.services.credit.checks import CheckQuery
from civicbrain.services.credit.domain.blocking import name_keys
from civicbrain.services.credit.domain.measures import Measure, MeasureEffect, Memorandum
from civicbrain.services.credit.domain.names import NameKind, compare_name_sets
from civicbrain.services.credit.models import CreditCheck, CreditList, CreditMemorandum, CreditScoreOptIn
from civicbrain.services.credit.recording import recorder_for
from civicbrain.services.credit.views import list_view, listing_view, memorandum_view
from civicbrain.web.deps import Ctx, CurrentUser, bearer, get_runtime, optional_principal, require_principal


def _warm_name_analysis() -> None:
    """Name analysis builds rigour's tables on first use (seconds of CPU): done at start-up, off the
    event loop, so the first checks by name do not pay for it."""
    name_keys("Wang Xiaoming", NameKind.PERSON)
    compare_name_sets(["Wang Xiaoming"], ["王小明", "Wang Xiaoping"], NameKind.PERSON)


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    # Not in tests: most never match names, and those that do pay on first use as before.
    if app.state.runtime.settings.environment != "test":
        threading.Thread(target=_warm_name_analysis, name="credit-name-analysis-warm-up", daemon=True).start()
    yield


router = APIRouter(lifespan=_lifespan)
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposeBody(Strict):
    list_code: Annotated[str, Field(min_length=1, max_length=64)]
    facts: Annotated[list[Annotated[str, Field(min_length=3, max_length=400)]], Field(min_length=1, max_length=50)]
    reasons: Annotated[list[Text], Field(min_length=1, max_length=20)]
    duration_months: Annotated[int | None, Field(ge=1, le=36)] = None


class ObjectionBody(Strict):
    grounds: Text


class RepairBody(Strict):
    performance: Text


class RepairDecisionBody(Strict):
    granted: bool
    checks: Annotated[list[Text], Field(min_length=1, max_length=20)]
    answer: Text


class CheckBody(Strict):
    context: Annotated[str, Field(min_length=1, max_length=64, examples=["public tender"])]
    kind: Literal["person", "organization"] = "person"
    id_number: Annotated[str | None, Field(max_length=64, description="Resident ID number")] = None
    registration: Annotated[str | None, Field(max_length=64, description="Unified social credit code")] = None
    name: Annotated[str | None, Field(max_length=300)] = None
    birth_date: Annotated[str | None, Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] = None


class JudgementBody(Strict):
    receipt: Annotated[str, Field(min_length=36, max_length=36)]
    candidate_id: Annotated[str, Field(min_length=1, max_length=100)]
    reason: Text


def _may_handle(principal: Principal, list_row: CreditList) -> None:
    """Officers of the owning agency, reviewers and admins handle a list's listings."""
    if principal.role in (Role.REVIEWER, Role.ADMIN):
        return
    principal.require_agency(list_row.owning_agency)


# --- published definitions ------------------------------------------------------------------------


@router.get("/lists", summary="Published lists: owner, legal basis, criteria, tier, maximum duration")
def get_lists(ctx: Ctx) -> list[dict[str, Any]]:
    return [list_view(r) for r in ctx.session.scalars(select(CreditList).order_by(CreditList.code))]


@router.get("/memoranda", summary="Joint-measure memoranda: list -> measure by agency in contexts")
def get_memoranda(ctx: Ctx) -> list[dict[str, Any]]:
    return [memorandum_view(r) for r in ctx.session.scalars(select(CreditMemorandum).order_by(CreditMemorandum.id))]


class MemorandumBody(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-]{2,63}$")]
    list_code: Annotated[str, Field(min_length=1, max_length=64)]
    applying_agency: Annotated[str, Field(min_length=1, max_length=64)]
    measure_code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-]{1,63}$")]
    measure_description: Text
    effect: Literal["restrict", "priority"]
    contexts: Annotated[list[Annotated[str, Field(min_length=2, max_length=64)]], Field(min_length=1, max_length=10)]
    legal_basis: Text
    proportionality: Text
    signed_on: date
    valid_until: date | None = None


@router.post("/memoranda", status_code=201, summary="Declare a signed memorandum (the applying agency, admins)")
def declare_memorandum(body: MemorandumBody, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    # Agencies apply measures within their own authority: the applying agency declares what it signed.
    principal.require_agency(body.applying_agency)
    list_row = service.get_list(ctx, body.list_code)
    memo = Memorandum(
        id=body.id,
        list_code=body.list_code,
        list_agency=list_row.owning_agency,
        applying_agency=body.applying_agency,
        measure=Measure(body.measure_code, body.measure_description, MeasureEffect(body.effect)),
        contexts=frozenset(body.contexts),
        legal_basis=body.legal_basis,
        proportionality=body.proportionality,
        signed_on=body.signed_on,
        valid_until=body.valid_until,
    )
    return memorandum_view(service.declare_memorandum(ctx, memo))


# --- listings -------------------------------------------------------------------------------------


@router.post("/listings", status_code=201, summary="Propose a listing from exchange records (sends the notice)")
def propose(body: ProposeBody, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    list_row = service.get_list(ctx, body.list_code)
    principal.require_agency(list_row.owning_agency)
    row = service.propose_listing(
        ctx,
        list_code=body.list_code,
        facts=body.facts,
        reasons=body.reasons,
        proposed_by=principal.username,
        acting_agency=None if principal.role == Role.ADMIN else principal.agency_id,
        duration_months=body.duration_months,
    )
    return listing_view(row, service.subject_of(ctx, row))


@router.get("/listings", summary="Listings of your agency's lists (all lists for reviewers and auditors)")
def get_listings(
    ctx: Ctx,
    principal: CurrentUser,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    principal.require(Role.OFFICER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN)
    agency = principal.agency_id if principal.role == Role.OFFICER else None
    rows = service.listings(ctx, agency=agency, states=[state] if state else [], limit=limit)
    return [listing_view(r, service.subject_of(ctx, r)) for r in rows]


@router.get("/listings/{listing_id}", summary="One listing with its due-process history")
def get_listing(listing_id: str, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    if principal.role == Role.CITIZEN:
        row = service.own_listing(ctx, principal.person_id or "", listing_id)
    else:
        row = service.get_listing(ctx, listing_id)
        if principal.role == Role.OFFICER:
            principal.require_agency(service.get_list(ctx, row.list_code).owning_agency)
    return listing_view(row, service.subject_of(ctx, row))


@router.post("/listings/{listing_id}/objection", summary="Object to a listing you were notified of (residents)")
def object_to(listing_id: str, body: ObjectionBody, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    row = service.object_to_listing(
        ctx, person_id=principal.person_id or "", listing_id=listing_id, grounds=body.grounds
    )
    return listing_view(row, service.subject_of(ctx, row))


@router.post("/listings/{listing_id}/correction", summary="Ask for a correction (residents; reviewed as an appeal)")
def correction(listing_id: str, body: ObjectionBody, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    row = service.request_correction(
        ctx, person_id=principal.person_id or "", listing_id=listing_id, grounds=body.grounds
    )
    return listing_view(row, service.subject_of(ctx, row))


@router.post("/listings/{listing_id}/repair", summary="Apply for credit repair (the resident, or the owning agency)")
def repair(listing_id: str, body: RepairBody, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    if principal.role == Role.CITIZEN:
        person_id: str | None = principal.person_id or ""
    else:
        person_id = None
        principal.require_agency(service.get_list(ctx, service.get_listing(ctx, listing_id).list_code).owning_agency)
    row = service.apply_for_repair(
        ctx, listing_id=listing_id, performance=body.performance, applied_by=principal.username, person_id=person_id
    )
    return listing_view(row, service.subject_of(ctx, row))


@router.post("/listings/{listing_id}/repair-decision", summary="Grant or refuse repair (owning agency, reviewers)")
def repair_decision(listing_id: str, body: RepairDecisionBody, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    row = service.get_listing(ctx, listing_id)
    _may_handle(principal, service.get_list(ctx, row.list_code))
    row = service.decide_repair(
        ctx,
        listing_id=listing_id,
        granted=body.granted,
        checks=body.checks,
        answer=body.answer,
        decided_by=principal.username,
        role=principal.role.value,
    )
    return listing_view(row, service.subject_of(ctx, row))


@router.post("/jobs/expire", summary="Run the daily job now: activate closed windows, expire at maximum (admins)")
def run_expiry(ctx: Ctx, principal: CurrentUser) -> dict[str, int]:
    principal.require(Role.ADMIN)
    return service.expire_due(ctx)


# --- checks ---------------------------------------------------------------------------------------


# How many checks run at once in this process. A check is a few milliseconds of Python and a few
# database round trips, then a wait for its batch's commit (``recording``): more threads than that
# only make them queue for the interpreter lock.
CHECK_THREADS = 16


def _check_limiter(request: Request) -> anyio.CapacityLimiter:
    """One limiter per app and event loop (a test client runs its own loop)."""
    loop = asyncio.get_running_loop()
    held = getattr(request.app.state, "credit_check_limiter", None)
    if held is None or held[0] is not loop:
        held = (loop, anyio.CapacityLimiter(CHECK_THREADS))
        request.app.state.credit_check_limiter = held
    return held[1]


@router.post("/check", summary="Check a subject in a context: allow, restrict or priority, with every reason")
async def check(
    body: CheckBody, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Response:
    """Sign-in, screening and measures run in one worker thread and one unit of work; the ledger entry
    and the trail row are then written by the runtime's ``CheckRecorder`` (group commit), and the
    answer leaves once they are committed, so its receipt names a durable ledger entry.

    With the usual per-request dependencies each step would be a separate hop to the thread pool,
    and a request holding a database connection would wait for a free thread while the threads wait
    for connections: under load the pool runs dry and every request stalls. Here a check holds a
    connection only while its thread runs it. The answer is encoded (orjson) in that thread too, so
    the event loop, which serves every request, only passes bytes on.
    """
    runtime = get_runtime(request)

    def work() -> bytes:
        with runtime.unit() as ctx:
            if credentials is not None:  # the API's way in: one fixed query, read fresh for every check
                principal = principal_for_token(ctx.session, credentials.credentials, now=ctx.now())
                ctx.actor = principal.username
            else:  # a signed-in officer in the portal (session cookie)
                principal = require_principal(optional_principal(request, ctx, credentials))
            principal.require(Role.OFFICER)
            query = CheckQuery(
                kind=NameKind(body.kind),
                name=body.name,
                identifier=body.id_number or body.registration,
                birth_date=body.birth_date,
            )
            screened = checks.screen_check(
                ctx,
                query=query,
                context=body.context,
                asking_agency=principal.agency_id or "",
                asked_by=principal.username,
            )
        return orjson.dumps(recorder_for(runtime).record(screened).as_dict())

    answer = await anyio.to_thread.run_sync(work, limiter=_check_limiter(request))
    return Response(answer, media_type="application/json")


@router.post("/judgements", status_code=201, summary="Mark a check's candidate as not the same subject (reviewers)")
def not_same(body: JudgementBody, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.REVIEWER)
    judgement = checks.mark_not_same(
        ctx, receipt=body.receipt, candidate_id=body.candidate_id, reviewer=principal.username, reason=body.reason
    )
    return {"candidate_id": judgement.candidate_id, "reviewer": judgement.reviewer, "reason": judgement.reason}


@router.get("/checks", summary="The screening trail: every check, who asked, context, answer (auditors)")
def screening_trail(
    ctx: Ctx, principal: CurrentUser, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict[str, Any]]:
    principal.require(Role.AUDITOR, Role.ADMIN)
    rows = ctx.session.scalars(select(CreditCheck).order_by(CreditCheck.id.desc()).limit(limit))
    return [
        {
            "receipt": r.receipt,
            "checked_at": r.checked_at.isoformat(),
            "asking_agency": r.asking_agency,
            "asked_by": r.asked_by,
            "context": r.context,
            "outcome": r.outcome,
            "measures": r.measures,
        }
        for r in rows
    ]


# --- the public -----------------------------------------------------------------------------------


@router.get("/public/search", summary="Public query by name or unified social credit code (no sign-in)")
def public_search(ctx: Ctx, q: Annotated[str, Query(min_length=2, max_length=200)]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in public_view.search(ctx, q)]


@router.get(
    "/export.ftm.jsonl",
    summary="Listings in force as FollowTheMoney JSON lines (officials; identifiers unmasked)",
    response_class=PlainTextResponse,
)
def export_ftm(ctx: Ctx, principal: CurrentUser) -> PlainTextResponse:
    principal.require(Role.OFFICER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN)
    body = "".join(line + "\n" for line in public_view.export_ftm(ctx))
    return PlainTextResponse(body, media_type="application/x-ndjson")


@router.get("/public/flows", summary="Listings added and removed per month, by list and agency")
def public_flows(ctx: Ctx) -> list[dict[str, Any]]:
    return [f.__dict__ for f in public_view.flows(ctx)]


# --- residents ------------------------------------------------------------------------------------


@router.get("/me/listings", summary="Listings and notices about you")
def my_listings(ctx: Ctx, principal: CurrentUser) -> list[dict[str, Any]]:
    principal.require(Role.CITIZEN)
    return [listing_view(r) for r in service.listings_for_person(ctx, principal.person_id or "")]


@router.get("/me/score", summary="Your city score, its reasons and what would raise it (if you opted in)")
def my_score(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    row = ctx.session.get(CreditScoreOptIn, principal.person_id)
    if row is None:
        raise NotFound("you have not opted in to the city score", field="person_id")
    return scores.score_view(row)


@router.post("/me/score", status_code=201, summary="Opt in to the city score")
def opt_in(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    return scores.score_view(scores.opt_in(ctx, principal.person_id or ""))


@router.delete("/me/score", summary="Withdraw from the city score (the score is deleted)")
def withdraw(ctx: Ctx, principal: CurrentUser) -> dict[str, str]:
    principal.require(Role.CITIZEN)
    scores.withdraw(ctx, principal.person_id or "")
    return {"status": "withdrawn; your score and its factors are deleted"}


# --- federation (signed batches; the signature is the authentication) -------------------------------


class BatchBody(Strict):
    batch: Annotated[str, Field(min_length=2, max_length=5_000_000, description="A signed batch as JSON")]


@router.get("/federation/identity", summary="This instance's id and federation public key")
def federation_identity(ctx: Ctx) -> dict[str, str]:
    return federation_sync.identity_view(ctx)


@router.post("/federation/batches", summary="Receive a signed batch from a federated instance")
def receive_batch(body: BatchBody, ctx: Ctx) -> dict[str, Any]:
    return federation_sync.receive(ctx, body.batch)


@router.get("/federation/outbox/{destination}", summary="Signed batches for a child instance (a signed pull)")
def outbox(
    destination: str,
    ctx: Ctx,
    at: Annotated[str, Query(max_length=40, description="When the child signed the request (ISO 8601)")],
    signature: Annotated[str, Query(max_length=200, description="Child's Ed25519 signature of the request")],
    after: Annotated[int, Query(ge=0)] = 0,
) -> list[str]:
    return federation_sync.batches_for(ctx, destination, after=after, at=at, signature=signature)


@router.get("/federation/view", summary="Listings held here for other authorities (province / national view)")
def federated_view(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    if principal.role not in (Role.AUDITOR, Role.ADMIN, Role.OFFICER, Role.REVIEWER):
        raise Forbidden("the federated view is for officials")
    return federation_sync.aggregate(ctx)
