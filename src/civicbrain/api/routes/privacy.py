"""Subject access and erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from civicbrain.core.identity import Role
from civicbrain.core.models import ErasureRequest
from civicbrain.core.timeutil import aware
from civicbrain.web.deps import Ctx, CurrentUser

router = APIRouter(prefix="/api/v1", tags=["privacy"])


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=2000)


class ErasureDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    response: str = Field(min_length=5, max_length=2000)


def _request_view(r: ErasureRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "person_id": r.person_id,
        "status": r.status,
        "reason": r.reason,
        "requested_at": aware(r.requested_at).isoformat(),
        "decided_at": aware(r.decided_at).isoformat() if r.decided_at else None,
        "response": r.response,
    }


@router.get("/me/data", summary="Everything held about me and every decision about me (citizens)")
def my_data(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    assert principal.person_id is not None
    return ctx.privacy.subject_access(principal.person_id)


@router.post("/me/erasure", status_code=201, summary="Ask for my data to be erased (citizens)")
def request_erasure(body: ErasureIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    assert principal.person_id is not None
    return _request_view(ctx.privacy.request_erasure(principal.person_id, body.reason))


@router.get("/privacy/erasure-requests", summary="Pending erasure requests (admins)")
def erasure_requests(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.ADMIN)
    return {"requests": [_request_view(r) for r in ctx.privacy.erasure_requests()]}


@router.post("/privacy/erasure-requests/{request_id}", summary="Approve or refuse an erasure request (admins)")
def decide_erasure(
    body: ErasureDecisionIn, ctx: Ctx, principal: CurrentUser, request_id: int = Path(ge=1, le=2**31 - 1)
) -> dict[str, Any]:
    principal.require(Role.ADMIN)
    request = ctx.privacy.decide_erasure(
        request_id, approve=body.approve, by=principal.username, response=body.response
    )
    return _request_view(request)
