"""What every portal page needs: a unit of work, who is signed in, CSRF, and rendering.

Shared by the portal and services' pages. It sits below the API in the layer contract, so it resolves the
signed-in user from the session cookie itself (the same ``user_id`` key the API's dependencies read)
instead of importing the API's dependencies.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from civicbrain.core.context import Platform, Runtime
from civicbrain.core.errors import Forbidden
from civicbrain.core.identity import Principal, principal_of
from civicbrain.core.models import User

CSRF_SESSION_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """Raised by pages that need a signed-in user; answered with a redirect to the sign-in page."""


class CsrfRejected(Forbidden):
    code = "csrf_rejected"


def get_ctx(request: Request) -> Iterator[Platform]:
    """One unit of work per page, committed before the response leaves (see ``scope`` below).

    Committing before the response matters for post-redirect-get: the browser's next request must
    see what this one wrote, on PostgreSQL as on SQLite.
    """
    runtime: Runtime = request.app.state.runtime
    with runtime.unit() as ctx:
        yield ctx


Ctx = Annotated[Platform, Depends(get_ctx, scope="function")]


def current_principal(request: Request, ctx: Ctx) -> Principal | None:
    """The signed-in user, re-read from the database on every request so a disabled account is out at once."""
    user_id = request.session.get("user_id")
    if user_id is None:
        return None
    user = ctx.session.get(User, user_id)
    if user is None or not user.active:
        request.session.clear()
        return None
    principal = principal_of(user)
    ctx.actor = principal.username
    request.state.principal = principal
    return principal


def signed_in(principal: Annotated[Principal | None, Depends(current_principal)]) -> Principal:
    if principal is None:
        raise SignInRequired()
    return principal


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use. Forms carry it; every POST must send it back."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return str(token)


def check_csrf(request: Request, csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> None:
    """Refuse a POST whose token (form field, or header for HTMX) does not match the session's.

    The session cookie is already SameSite=strict; the token also protects browsers that ignore
    SameSite and any same-site page an attacker might control.
    """
    expected = request.session.get(CSRF_SESSION_KEY)
    sent = csrf_token_field or request.headers.get(CSRF_HEADER, "")
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise CsrfRejected("this form has expired or did not come from this site: reload the page and try again")


MaybeUser = Annotated[Principal | None, Depends(current_principal)]
SignedIn = Annotated[Principal, Depends(signed_in)]
CsrfChecked = Depends(check_csrf)


def templates_of(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    return templates_of(request).TemplateResponse(request, name, context or {}, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: a crafted ``next`` must not send someone to another site after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
