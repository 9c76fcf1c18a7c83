"""A citizen's own data: decisions about them, their appeals, records held, and erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.errors import UserError, ValidationFailed
from civicbrain.core.identity import Principal, Role
from civicbrain.core.models import ErasureRequest
from civicbrain.web.pages import CsrfChecked, Ctx, SignedIn, render

router = APIRouter()
MAX_REASON = 2000


@router.get("/my-data", response_class=HTMLResponse)
def my_data(request: Request, ctx: Ctx, principal: SignedIn) -> HTMLResponse:
    return render(request, "my_data.html", my_data_context(ctx, principal))


@router.post("/my-data/erasure", dependencies=[CsrfChecked])
def request_erasure(request: Request, ctx: Ctx, principal: SignedIn, reason: Annotated[str, Form()] = "") -> Response:
    principal.require(Role.CITIZEN)
    assert principal.person_id is not None
    try:
        if len(reason) > MAX_REASON:
            raise ValidationFailed(f"the reason is limited to {MAX_REASON} characters", field="reason")
        ctx.privacy.request_erasure(principal.person_id, reason)
    except UserError as exc:
        ctx.session.rollback()
        context = my_data_context(ctx, principal) | {"erasure_error": exc, "reason": reason}
        return render(request, "my_data.html", context, status_code=exc.status_code)
    return RedirectResponse("/my-data?erasure=requested#erasure", status_code=303)


def my_data_context(ctx: Platform, principal: Principal) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    assert principal.person_id is not None
    held = ctx.privacy.subject_access(principal.person_id)
    appeals_by_receipt = {a["receipt"]: a for a in held["appeals"]}
    automated = [d for d in held["decisions"] if d["kind"] == "automated"]
    outcomes_by_receipt = {d["links_to"]: d for d in held["decisions"] if d["kind"] == "human" and d["links_to"]}
    pending = ctx.session.scalar(
        select(ErasureRequest).where(
            ErasureRequest.person_id == principal.person_id, ErasureRequest.status == "pending"
        )
    )
    return {
        "held": held,
        "decisions": automated,
        "appeals_by_receipt": appeals_by_receipt,
        "outcomes_by_receipt": outcomes_by_receipt,
        "cards": {c.id: c for c in ctx.register.cards()},
        "erasure_pending": pending,
        "principal": principal,
        "reason": "",
    }
