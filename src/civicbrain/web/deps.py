"""Request dependencies: the runtime, a unit of work per request, and who is asking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from civicbrain.core.context import Platform, Runtime
from civicbrain.core.errors import Unauthenticated
from civicbrain.core.identity import Principal, Role, principal_of, user_for_token
from civicbrain.core.models import User

bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_ctx(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Platform]:
    """A unit of work per request: committed when the endpoint returns, rolled back on error."""
    with runtime.unit() as ctx:
        request.state.ctx = ctx
        yield ctx


def optional_principal(
    request: Request,
    ctx: Annotated[Platform, Depends(get_ctx, scope="function")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal | None:
    """The caller, from a bearer token (API) or the signed session cookie (portal)."""
    if credentials is not None:
        user = user_for_token(ctx.session, credentials.credentials, now=ctx.now())
        principal = principal_of(user)
    else:
        user_id = request.session.get("user_id") if "session" in request.scope else None
        if user_id is None:
            return None
        found = ctx.session.get(User, user_id)
        if found is None or not found.active:
            request.session.clear()
            return None
        principal = principal_of(found)
    ctx.actor = principal.username
    return principal


def require_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    return principal


# scope="function": the unit of work commits when the endpoint returns, before the response is sent,
# so a client's next request (e.g. after a redirect) always sees what this one wrote.
Ctx = Annotated[Platform, Depends(get_ctx, scope="function")]
CurrentUser = Annotated[Principal, Depends(require_principal)]
MaybeUser = Annotated[Principal | None, Depends(optional_principal)]

__all__ = ["Ctx", "CurrentUser", "MaybeUser", "Role", "get_ctx", "get_runtime"]
