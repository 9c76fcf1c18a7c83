"""The human-review queue: open appeals with the decision, its explanation and the grounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.errors import UserError, ValidationFailed
from civicbrain.core.identity import Principal, Role
from civicbrain.core.ledger import EntryView
from civicbrain.core.models import Appeal
from civicbrain.core.register import AlgorithmCard
from civicbrain.core.timeutil import aware
from civicbrain.web.pages import CsrfChecked, Ctx, SignedIn, is_htmx, render

router = APIRouter()
QUEUE_READERS = (Role.REVIEWER, Role.AUDITOR, Role.ADMIN)
RECENTLY_DECIDED = 20
MAX_REASONS = 5000


@dataclass(frozen=True)
class Case:
    appeal: Appeal
    entry: EntryView
    card: AlgorithmCard | None
    overdue: bool


@router.get("/reviews", response_class=HTMLResponse)
def queue(request: Request, ctx: Ctx, principal: SignedIn, service: str | None = None) -> HTMLResponse:
    return render(request, "reviews.html", queue_context(ctx, principal, service))


@router.post("/reviews/{appeal_id}", dependencies=[CsrfChecked])
def decide(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    appeal_id: int = Path(ge=1, le=2**31 - 1),
    outcome: Annotated[str, Form()] = "",
    reasons: Annotated[str, Form()] = "",
) -> Response:
    principal.require(Role.REVIEWER)  # only reviewers decide: a 403 for everyone else, whatever the form says
    try:
        if outcome not in ("upheld", "overturned"):
            raise ValidationFailed("choose whether to uphold or overturn the decision", field="outcome")
        if len(reasons) > MAX_REASONS:
            raise ValidationFailed(f"reasons are limited to {MAX_REASONS} characters", field="reasons")
        appeal = ctx.appeals.decide(appeal_id, outcome=outcome, reasons=reasons, reviewer=principal.username)
    except UserError as exc:
        ctx.session.rollback()
        form_state = {"errors": {appeal_id: exc}, "drafts": {appeal_id: {"outcome": outcome, "reasons": reasons}}}
        if is_htmx(request):
            # Only this case comes back, with its error; the rest of the queue stays as the reviewer left it.
            appeal = ctx.appeals.get(appeal_id)
            context = {"case": case_of(ctx, appeal), "may_decide": True, **form_state}
            return render(request, "_review_case.html", context, status_code=exc.status_code)
        context = queue_context(ctx, principal, None) | form_state
        return render(request, "reviews.html", context, status_code=exc.status_code)
    if is_htmx(request):
        return render(request, "_review_decided.html", {"appeal": appeal})
    return RedirectResponse(f"/reviews?decided={appeal_id}", status_code=303)


def queue_context(ctx: Platform, principal: Principal, service: str | None) -> dict[str, Any]:
    principal.require(*QUEUE_READERS)
    open_cases = [case_of(ctx, a) for a in ctx.appeals.queue(service=service or None, status="open")]
    decided = list(
        ctx.session.scalars(
            select(Appeal).where(Appeal.status != "open").order_by(Appeal.decided_at.desc()).limit(RECENTLY_DECIDED)
        )
    )
    return {
        "cases": open_cases,
        "overdue_count": sum(1 for c in open_cases if c.overdue),
        "decided": decided,
        "services": sorted(ctx.runtime.services),
        "service": service or "",
        "may_decide": principal.role == Role.REVIEWER,
        "errors": {},
        "drafts": {},
        "principal": principal,
    }


def case_of(ctx: Platform, appeal: Appeal) -> Case:
    card = ctx.register.get(appeal.algorithm) if appeal.algorithm in ctx.register else None
    return Case(appeal, ctx.ledger.get(appeal.receipt), card, aware(appeal.due_at) < ctx.now())
