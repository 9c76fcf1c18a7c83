"""Friendly HTML error pages for portal paths; API paths keep the API's JSON error shape.

The API installs its handlers first; this wraps each of them, answering with HTML only when the
path is not under /api, so the API's behaviour is unchanged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicbrain.core.errors import CivicError
from civicbrain.portal.security import is_api_path
from civicbrain.web.pages import SignInRequired, render

log = logging.getLogger("civicbrain.portal")
Handler = Callable[[Request, Any], Awaitable[Response]]

TITLES = {
    400: "Something in the request is not right",
    401: "Please sign in",
    403: "You cannot do this",
    404: "Page not found",
    405: "Not available this way",
    409: "This conflicts with the current state",
    422: "Something in the request is not right",
    500: "Something went wrong on our side",
}


def error_page(request: Request, status: int, message: str, reference: str | None = None) -> Response:
    title = TITLES.get(status, "Something went wrong")
    context = {"status": status, "title": title, "message": message, "reference": reference}
    try:
        return render(request, "error.html", context, status)
    except Exception:  # the error page itself must never fail: fall back to plain words
        log.exception("could not render the error page")
        return HTMLResponse(f"<h1>{title}</h1><p>Reference {reference or '-'}</p>", status_code=status)


def install(app: FastAPI) -> None:
    api_handlers: dict[Any, Handler] = dict(app.exception_handlers)

    def for_portal(exc_class: Any, portal_handler: Handler) -> None:
        api_handler = api_handlers.get(exc_class)

        async def handler(request: Request, exc: Any) -> Response:
            if is_api_path(request.url.path) and api_handler is not None:
                return await api_handler(request, exc)
            return await portal_handler(request, exc)

        app.add_exception_handler(exc_class, handler)

    async def civic_error(request: Request, exc: CivicError) -> Response:
        if exc.status_code >= 500:
            return await unexpected(request, exc)
        return error_page(request, exc.status_code, exc.message)

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "There is no page at this address.", 405: "This page cannot be used with that method."}
        return error_page(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Portal forms validate their own fields and re-render; this catches malformed addresses.
        first = exc.errors()[0] if exc.errors() else {}
        where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        if first.get("loc", ("",))[0] == "path":
            return error_page(request, 404, "There is no page at this address.")
        field = ".".join(where) or "request"
        return error_page(request, 422, f"{field}: {first.get('msg', 'invalid value')}")

    async def unexpected(request: Request, exc: Exception) -> Response:
        reference = uuid.uuid4().hex[:12]
        log.exception("unexpected error on a portal page (reference %s)", reference, exc_info=exc)
        return error_page(request, 500, "Please try again later. If it persists, quote this reference.", reference)

    async def sign_in_required(request: Request, _exc: Exception) -> Response:
        if request.method != "GET":
            # A form posted after the session expired: its address cannot be revisited with GET.
            return RedirectResponse("/login", status_code=303)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    for_portal(CivicError, civic_error)
    for_portal(StarletteHTTPException, http_error)
    for_portal(RequestValidationError, validation_error)
    for_portal(Exception, unexpected)
    app.add_exception_handler(SignInRequired, sign_in_required)
