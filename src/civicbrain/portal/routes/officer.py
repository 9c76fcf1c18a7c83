"""An officer's view of their agency's feeds: uploads and quarantined records (read-only).

Uploads and re-submissions go through the API or the CLI; this page shows what arrived and what
is waiting to be fixed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from civicbrain.core.context import Platform
from civicbrain.core.identity import Role
from civicbrain.core.models import Agency, FeedRecord
from civicbrain.web.pages import Ctx, SignedIn, render

router = APIRouter()
QUARANTINE_SHOWN = 50


@router.get("/officer", response_class=HTMLResponse)
def officer_page(request: Request, ctx: Ctx, principal: SignedIn) -> HTMLResponse:
    principal.require(Role.OFFICER, Role.ADMIN)
    agency_id = principal.agency_id if principal.role == Role.OFFICER else None
    feeds = [
        {
            "feed": feed,
            "uploads": ctx.exchange.uploads(feed),
            "records": records_held(ctx, feed.id),
            "quarantine": ctx.exchange.quarantine(feed, limit=QUARANTINE_SHOWN),
        }
        for feed in ctx.exchange.feeds(agency_id)
    ]
    agency = ctx.session.get(Agency, agency_id) if agency_id else None
    context = {"feeds": feeds, "agency": agency, "principal": principal, "quarantine_shown": QUARANTINE_SHOWN}
    return render(request, "officer.html", context)


def records_held(ctx: Platform, feed_id: int) -> int:
    return int(ctx.session.scalar(select(func.count()).where(FeedRecord.feed_id == feed_id)) or 0)
