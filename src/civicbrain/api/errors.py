"""One JSON shape for every API error: ``{"error": {"code", "message", "field"?}}``.

The caller's mistakes (validation, permissions, missing things) are 4xx with a message naming the
field and the rule. Anything unexpected is logged with a reference and answered 500 without
internals, so a stack trace never reaches a citizen.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicbrain.core.errors import CivicError

log = logging.getLogger("civicbrain.api")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return {"error": body}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CivicError)
    async def civic_error(_request: Request, exc: CivicError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("internal error: %s", exc.message)
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = _field_of(first.get("loc", ()))
        message = str(first.get("msg", "invalid request"))
        if field:
            message = f"{field}: {message}"
        return JSONResponse(error_body("validation_error", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.exception("unexpected error (reference %s)", reference, exc_info=exc)
        return JSONResponse(
            error_body("internal_error", f"something went wrong on our side (reference {reference})"),
            status_code=500,
        )
