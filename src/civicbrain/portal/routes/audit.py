"""The auditor's page: is the ledger intact, and how does each algorithm treat each group."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicbrain.core.audit import audit_algorithm
from civicbrain.core.identity import Role
from civicbrain.core.ledger import verify
from civicbrain.core.register import live_figures
from civicbrain.portal.web import Ctx, SignedIn, render

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, ctx: Ctx, principal: SignedIn) -> HTMLResponse:
    principal.require(Role.AUDITOR, Role.ADMIN)
    # verify() streams the ledger and expunges the session as it goes; nothing else is loaded yet.
    integrity = verify(ctx.session)
    summaries = [
        (card, audit_algorithm(ctx.session, card), live_figures(ctx.session, card.id)) for card in ctx.register.cards()
    ]
    context = {"integrity": integrity, "summaries": summaries, "principal": principal, "checked_at": ctx.now()}
    return render(request, "audit.html", context)
