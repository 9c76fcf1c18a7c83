"""Looking a decision up by its receipt, and the ledger's integrity check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from civicbrain.api.views import appeal_view, decision_view
from civicbrain.core.access import visible_entry
from civicbrain.core.identity import Role
from civicbrain.core.ledger import verify
from civicbrain.web.deps import Ctx, CurrentUser

router = APIRouter(prefix="/api/v1", tags=["decisions"])
Receipt = Path(min_length=36, max_length=36, pattern=r"^[0-9a-f\-]{36}$")


@router.get("/decisions/{receipt}", summary="A decision by its receipt, with its explanation and review history")
def get_decision(ctx: Ctx, principal: CurrentUser, receipt: str = Receipt) -> dict[str, Any]:
    entry = visible_entry(ctx, principal, receipt)
    card = ctx.register.get(entry.algorithm) if entry.algorithm in ctx.register else None
    body = decision_view(entry, card, principal)
    body["reviews"] = [decision_view(e, None, principal) for e in ctx.ledger.linked_to(receipt)]
    body["appeals"] = [appeal_view(a) for a in ctx.appeals.for_receipt(receipt)]
    return body


@router.get("/ledger/verify", summary="Check the whole hash chain (auditors and admins)")
def verify_ledger(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.AUDITOR, Role.ADMIN)
    result = verify(ctx.session)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "first_broken_seq": result.first_broken_seq,
        "first_broken_receipt": result.first_broken_receipt,
        "reason": result.reason,
    }
