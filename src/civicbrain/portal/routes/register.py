"""The public algorithm register: every card, its live figures and its fairness audit."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from civicbrain.core.audit import audit_algorithm
from civicbrain.core.register import live_figures
from civicbrain.portal.charts import favourable_rate_chart
from civicbrain.portal.content import MODE_WORDS
from civicbrain.web.pages import Ctx, MaybeUser, render

router = APIRouter()
AlgorithmId = Path(min_length=3, max_length=100, pattern=r"^[a-z][a-z0-9_]*\.[a-z0-9_.\-]+$")


@router.get("/register", response_class=HTMLResponse)
def register_list(request: Request, ctx: Ctx, principal: MaybeUser) -> HTMLResponse:
    rows = [(card, live_figures(ctx.session, card.id)) for card in ctx.register.cards()]
    return render(request, "register_list.html", {"rows": rows, "mode_words": MODE_WORDS, "principal": principal})


@router.get("/register/{algorithm_id}", response_class=HTMLResponse)
def register_card(request: Request, ctx: Ctx, principal: MaybeUser, algorithm_id: str = AlgorithmId) -> HTMLResponse:
    card = ctx.register.get(algorithm_id)
    report = audit_algorithm(ctx.session, card)
    context = {
        "card": card,
        "figures": live_figures(ctx.session, card.id),
        "report": report,
        "chart": favourable_rate_chart(report),
        "mode_words": MODE_WORDS,
        "principal": principal,
    }
    return render(request, "register_card.html", context)
