"""Contesting decisions and reviewing appeals."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from civicbrain.api.views import appeal_view
from civicbrain.core.errors import NotFound
from civicbrain.core.identity import Role
from civicbrain.web.deps import Ctx, CurrentUser

router = APIRouter(prefix="/api/v1/appeals", tags=["appeals"])


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt: str = Field(min_length=36, max_length=36, pattern=r"^[0-9a-f\-]{36}$")
    grounds: str = Field(min_length=1, max_length=5000)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "overturned"]
    reasons: str = Field(min_length=10, max_length=5000)


@router.post("", status_code=201, summary="Contest a decision about me (citizens)")
def file_appeal(body: AppealIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    assert principal.person_id is not None  # citizens are always linked to a person
    return appeal_view(ctx.appeals.file(receipt=body.receipt, grounds=body.grounds, person_id=principal.person_id))


@router.get("/mine", summary="My appeals and their outcomes (citizens)")
def my_appeals(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.CITIZEN)
    assert principal.person_id is not None
    return {"appeals": [appeal_view(a) for a in ctx.appeals.for_person(principal.person_id)]}


@router.get("", summary="The review queue (reviewers, auditors, admins)")
def queue(
    ctx: Ctx,
    principal: CurrentUser,
    status: Literal["open", "upheld", "overturned", "all"] = "open",
    service: str | None = Query(None, max_length=32),
) -> dict[str, Any]:
    principal.require(Role.REVIEWER, Role.AUDITOR, Role.ADMIN)
    rows = ctx.appeals.queue(service=service, status=None if status == "all" else status)
    return {"appeals": [appeal_view(a) for a in rows], "overdue": [a.id for a in ctx.appeals.overdue()]}


@router.get("/{appeal_id}", summary="One appeal")
def get_appeal(ctx: Ctx, principal: CurrentUser, appeal_id: int = Path(ge=1, le=2**31 - 1)) -> dict[str, Any]:
    appeal = ctx.appeals.get(appeal_id)
    if principal.role == Role.CITIZEN:
        if appeal.subject_ref != ctx.ledger.ref(f"person:{principal.person_id}"):
            raise NotFound(f"no appeal {appeal_id}", field="appeal_id")
    else:
        principal.require(Role.REVIEWER, Role.AUDITOR, Role.ADMIN)
    return appeal_view(appeal)


@router.post("/{appeal_id}/decision", summary="Uphold or overturn, with written reasons (reviewers only)")
def decide_appeal(
    body: ReviewIn, ctx: Ctx, principal: CurrentUser, appeal_id: int = Path(ge=1, le=2**31 - 1)
) -> dict[str, Any]:
    principal.require(Role.REVIEWER)
    appeal = ctx.appeals.decide(appeal_id, outcome=body.outcome, reasons=body.reasons, reviewer=principal.username)
    return appeal_view(appeal)
