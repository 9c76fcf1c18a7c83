"""Bearer tokens for API clients."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from civicbrain.core.identity import authenticate, issue_token
from civicbrain.web.deps import Ctx, CurrentUser

router = APIRouter(prefix="/api/v1", tags=["auth"])


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@router.post("/auth/token", summary="Exchange a username and password for a bearer token")
def create_token(body: Credentials, ctx: Ctx) -> dict[str, Any]:
    user = authenticate(ctx.session, body.username, body.password)
    token, expires = issue_token(ctx.session, user, now=ctx.now(), ttl_hours=ctx.settings.token_ttl_hours)
    return {"access_token": token, "token_type": "bearer", "expires_at": expires.isoformat(), "role": user.role}


@router.get("/me", summary="Who I am signed in as")
def me(principal: CurrentUser) -> dict[str, Any]:
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role.value,
        "agency": principal.agency_id,
        "person_id": principal.person_id,
    }
