"""One error hierarchy for the whole platform.

Two kinds of failure, kept apart on purpose:

* :class:`UserError` and its subclasses are the caller's fault. They carry a stable ``code``, a
  message written for the person who made the request, and — where one field is to blame — the
  ``field`` name, so the portal can point at it. They map to 4xx responses.
* Anything else is ours. The API logs it with a reference and answers 500 without internals.

Every API error has the same JSON shape: ``{"error": {"code", "message", "field"?}}``.
"""

from __future__ import annotations

from typing import Any


class CivicError(Exception):
    """Base of every error the platform raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}


class UserError(CivicError):
    """The request cannot be served as asked; the message says why and what to change."""

    status_code = 400
    code = "bad_request"


class ValidationFailed(UserError):
    status_code = 422
    code = "validation_error"


class NotFound(UserError):
    status_code = 404
    code = "not_found"


class Unauthenticated(UserError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(UserError):
    status_code = 403
    code = "forbidden"


class Conflict(UserError):
    status_code = 409
    code = "conflict"


class PrivacyViolation(UserError):
    """A field's data category is forbidden, or not allowed for the stated purpose."""

    status_code = 422
    code = "privacy_violation"


class NotPermittedByRegister(UserError):
    """An algorithm is not registered, or not registered for the requested mode."""

    status_code = 409
    code = "algorithm_not_permitted"


class ConfigurationError(CivicError):
    """The platform is configured unsafely or inconsistently; raised at start-up."""

    code = "configuration_error"
