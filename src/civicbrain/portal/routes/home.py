"""The home page: what this instance is, where and why AI is used, how to reach a human."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicbrain.portal.content import MODE_WORDS, REFUSED_USES
from civicbrain.web.pages import Ctx, MaybeUser, render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: Ctx, principal: MaybeUser) -> HTMLResponse:
    cards = [c for c in ctx.register.cards() if c.status != "retired"]
    return render(
        request,
        "home.html",
        {
            "services": list(ctx.runtime.services.values()),
            "cards": cards,
            "mode_words": MODE_WORDS,
            "refused_uses": REFUSED_USES,
            "appeal_deadline_days": ctx.settings.appeal_deadline_days,
            "principal": principal,
        },
    )
