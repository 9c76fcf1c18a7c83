"""Looking a decision up by its receipt, reading its explanation and history, and contesting it."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicbrain.core.access import visible_entry
from civicbrain.core.appeals import MAX_GROUNDS
from civicbrain.core.context import Platform
from civicbrain.core.errors import UserError, ValidationFailed
from civicbrain.core.identity import Principal, Role
from civicbrain.core.ledger import EntryView
from civicbrain.core.models import Appeal
from civicbrain.portal.content import MODE_WORDS
from civicbrain.web.pages import CsrfChecked, Ctx, SignedIn, render

router = APIRouter()
RECEIPT_PATTERN = r"^[0-9a-f\-]{36}$"
ReceiptPath = Path(min_length=36, max_length=36, pattern=RECEIPT_PATTERN)
# The roles that see the inputs a decision used, as in the API's decision view: the subject and
# the people who review or run the instance. Auditors and officers see outcomes, not personal inputs.
SEES_INPUTS = (Role.CITIZEN, Role.REVIEWER, Role.ADMIN)


@router.get("/decisions", response_class=HTMLResponse)
def lookup(request: Request, principal: SignedIn, receipt: str | None = None) -> Response:
    if receipt is None:
        return render(request, "decision_lookup.html", {"receipt": ""})
    cleaned = receipt.strip().lower()
    if not re.fullmatch(RECEIPT_PATTERN, cleaned):
        error = ValidationFailed(
            "a receipt is 36 characters of digits, letters a-f and dashes, as printed on your decision",
            field="receipt",
        )
        return render(request, "decision_lookup.html", {"receipt": receipt, "error": error}, error.status_code)
    return RedirectResponse(f"/decisions/{cleaned}", status_code=303)


@router.get("/decisions/{receipt}", response_class=HTMLResponse)
def decision_page(request: Request, ctx: Ctx, principal: SignedIn, receipt: str = ReceiptPath) -> HTMLResponse:
    return render(request, "decision.html", decision_context(ctx, principal, receipt))


@router.post("/decisions/{receipt}/contest", dependencies=[CsrfChecked])
def contest(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    receipt: str = ReceiptPath,
    grounds: Annotated[str, Form()] = "",
) -> Response:
    visible_entry(ctx, principal, receipt)  # a 404 for anyone who may not see it, before any role check
    principal.require(Role.CITIZEN)
    assert principal.person_id is not None  # citizen accounts are always linked to a person
    try:
        if len(grounds) > MAX_GROUNDS:  # checked here too so the error names the field before the core sees it
            raise ValidationFailed(f"grounds are limited to {MAX_GROUNDS} characters", field="grounds")
        ctx.appeals.file(receipt=receipt, grounds=grounds, person_id=principal.person_id)
    except UserError as exc:
        ctx.session.rollback()
        context = decision_context(ctx, principal, receipt) | {"contest_error": exc, "grounds": grounds}
        return render(request, "decision.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/decisions/{receipt}?contested=1#review-history", status_code=303)


def decision_context(ctx: Platform, principal: Principal, receipt: str) -> dict[str, Any]:
    entry = visible_entry(ctx, principal, receipt)
    card = ctx.register.get(entry.algorithm) if entry.algorithm in ctx.register else None
    appeals = ctx.appeals.for_receipt(receipt)
    reviews = ctx.ledger.linked_to(receipt)
    return {
        "entry": entry,
        "card": card,
        "mode_words": MODE_WORDS,
        "show_inputs": principal.role in SEES_INPUTS and not entry.erased,
        "reviews": reviews,
        "appeals": appeals,
        "can_contest": may_contest(principal, entry, appeals),
        "principal": principal,
        "grounds": "",
    }


def may_contest(principal: Principal, entry: EntryView, appeals: list[Appeal]) -> bool:
    """Whether to offer the form. The core decides again when it is sent; this only avoids a useless form:
    none while an appeal is open, and none once the decision was overturned (there is nothing left to contest).
    """
    return (
        principal.role == Role.CITIZEN
        and entry.kind == "automated"
        and entry.mode in ("advisory", "live")
        and not entry.erased
        and not any(a.status in ("open", "overturned") for a in appeals)
    )
