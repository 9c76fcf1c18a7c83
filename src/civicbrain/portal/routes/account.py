"""Signing in and out with a username and password (the portal's session cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicbrain.core.errors import UserError
from civicbrain.core.identity import Role, authenticate, principal_of
from civicbrain.web.pages import CsrfChecked, Ctx, MaybeUser, csrf_token, render, safe_next

router = APIRouter()

# Where each role lands after signing in, unless it came from a page it asked for.
LANDING = {
    Role.CITIZEN: "/my-data",
    Role.REVIEWER: "/reviews",
    Role.AUDITOR: "/audit",
    Role.OFFICER: "/officer",
    Role.ADMIN: "/",
}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, principal: MaybeUser, next: str = "") -> HTMLResponse:  # noqa: A002
    return render(request, "login.html", {"next": safe_next(next, ""), "username": "", "principal": principal})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "",  # noqa: A002
) -> Response:
    try:
        if not username.strip():
            raise UserError("enter your username", field="username")
        user = authenticate(ctx.session, username.strip(), password)
    except UserError as exc:
        ctx.session.rollback()
        context = {"next": safe_next(next, ""), "username": username, "error": exc}
        return render(request, "login.html", context, status_code=exc.status_code)
    principal = principal_of(user)
    # A fresh session on sign-in: nothing from before (including the CSRF token) carries over,
    # so a token planted before sign-in is useless after it.
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["who"] = {"name": principal.display_name, "role": principal.role.value}
    csrf_token(request)
    return RedirectResponse(safe_next(next, LANDING[principal.role]), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)
