"""The auditor's page: is the ledger intact, and how does each algorithm treat each group."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicbrain.core.audit import audit_algorithm
from civicbrain.core.context import Platform
from civicbrain.core.identity import Principal, Role
from civicbrain.core.ledger import verify
from civicbrain.core.register import live_figures
from civicbrain.web.pages import Ctx, SignedIn, is_htmx, render

router = APIRouter()
AUDITORS = (Role.AUDITOR, Role.ADMIN)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, ctx: Ctx, principal: SignedIn) -> HTMLResponse:
    # The chain check reads every entry (seconds on a large ledger), so the page comes first and
    # HTMX fetches the check; without JavaScript, a link runs it.
    return render(request, "audit.html", audit_context(ctx, principal, integrity=None))


@router.get("/audit/ledger", response_class=HTMLResponse)
def ledger_check(request: Request, ctx: Ctx, principal: SignedIn) -> HTMLResponse:
    principal.require(*AUDITORS)
    # verify() streams the ledger and expunges the session as it goes; nothing else is loaded yet.
    integrity = verify(ctx.session)
    if is_htmx(request):
        return render(request, "_ledger_integrity.html", {"integrity": integrity, "checked_at": ctx.now()})
    return render(request, "audit.html", audit_context(ctx, principal, integrity=integrity))


def audit_context(ctx: Platform, principal: Principal, *, integrity: Any) -> dict[str, Any]:
    principal.require(*AUDITORS)
    summaries = [
        (card, audit_algorithm(ctx.session, card), live_figures(ctx.session, card.id)) for card in ctx.register.cards()
    ]
    return {"integrity": integrity, "summaries": summaries, "principal": principal, "checked_at": ctx.now()}
