"""HTTP routes of the concession service (mounted under /api/v1/concessions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from civicbrain.services.concessions.algorithms import FARE_CONCESSION
from civicbrain.services.concessions.service import assess_everyone
from civicbrain.web.deps import Ctx, CurrentUser

router = APIRouter()


@router.post("/assessments", summary="Re-assess every resident with income data (Civil Affairs officers)")
def reassess(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require_agency(FARE_CONCESSION.owner_agency)
    results = assess_everyone(ctx)
    eligible = sum(r.decision.outcome_label == "eligible" for r in results)
    return {"assessed": len(results), "eligible": eligible, "receipts": [r.decision.id for r in results[:50]]}
