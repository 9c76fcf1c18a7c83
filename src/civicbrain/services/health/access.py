"""Who may do what in the health service, and how domain errors reach the user.

Clinicians are officers of the Health Commission. Admins run the instance but are *not* clinicians: they
get no access to consultations, because health data is purpose-bound to care.
"""

from __future__ import annotations

from civicbrain.core.errors import Forbidden, ValidationFailed
from civicbrain.core.identity import Principal, Role

HEALTH_AGENCY = "health-commission"


def is_clinician(principal: Principal) -> bool:
    return principal.role == Role.OFFICER and principal.agency_id == HEALTH_AGENCY


def require_clinician(principal: Principal) -> None:
    if not is_clinician(principal):
        raise Forbidden("this needs a clinician: an officer of the Health Commission")


def require_patient(principal: Principal) -> str:
    """The signed-in citizen's person id (the patient acts only for themselves)."""
    principal.require(Role.CITIZEN)
    if principal.person_id is None:  # create_user never makes such a citizen; kept for a clear message
        raise Forbidden("this account is not linked to a resident")
    return principal.person_id


def domain_error(exc: ValueError) -> ValidationFailed:
    """The domain raises ``ValueError("field: what is wrong")``: keep the field, in our error shape."""
    message = str(exc)
    field, sep, rest = message.partition(": ")
    if sep and field.replace("_", "").replace(", ", "").isalnum():
        return ValidationFailed(rest, field=field.split(",")[0].strip())
    return ValidationFailed(message)
