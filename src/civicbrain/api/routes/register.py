"""The public algorithm register and its fairness audits. Readable by anyone, signed in or not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from civicbrain.api.views import card_view
from civicbrain.core.audit import audit_algorithm
from civicbrain.core.register import live_figures
from civicbrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1/register", tags=["register"])
AlgorithmId = Path(min_length=3, max_length=100, pattern=r"^[a-z][a-z0-9_]*\.[a-z0-9_.\-]+$")


@router.get("", summary="Every registered algorithm, with live figures from the ledger")
def list_register(ctx: Ctx) -> dict[str, Any]:
    cards = [card_view(c, live_figures(ctx.session, c.id)) for c in ctx.register.cards()]
    return {"instance": ctx.settings.instance_name, "algorithms": cards}


@router.get("/export", summary="The register in the UK Algorithmic Transparency Recording Standard's fields")
def export_register(ctx: Ctx) -> dict[str, Any]:
    return {
        "standard": "UK Algorithmic Transparency Recording Standard, tiers 1 and 2",
        "instance": ctx.settings.instance_name,
        "records": [{"id": c.id, "version": c.version, **c.to_atrs()} for c in ctx.register.cards()],
    }


@router.get("/{algorithm_id}", summary="One algorithm's card")
def get_card(ctx: Ctx, algorithm_id: str = AlgorithmId) -> dict[str, Any]:
    card = ctx.register.get(algorithm_id)
    return card_view(card, live_figures(ctx.session, card.id))


@router.get("/{algorithm_id}/audit", summary="Outcome and error rates by region, age band and sex")
def get_audit(ctx: Ctx, algorithm_id: str = AlgorithmId) -> dict[str, Any]:
    card = ctx.register.get(algorithm_id)
    return audit_algorithm(ctx.session, card).as_dict()
