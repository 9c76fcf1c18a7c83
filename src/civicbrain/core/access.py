"""Who may read which ledger entry: one rule shared by the API and the portal.

It lives in the core (not in the API) because the portal sits below the API in the layer
contract and must apply exactly the same rule without importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicbrain.core.errors import NotFound
from civicbrain.core.identity import Principal, Role
from civicbrain.core.ledger import EntryView

if TYPE_CHECKING:
    from civicbrain.core.context import Platform


def visible_entry(ctx: Platform, principal: Principal, receipt: str) -> EntryView:
    """The entry, if this person may see it. Others get the same 404 as for a missing receipt."""
    entry = ctx.ledger.get(receipt)
    if principal.role in (Role.REVIEWER, Role.AUDITOR, Role.ADMIN):
        return entry
    if principal.role == Role.CITIZEN and entry.subject_ref == ctx.ledger.ref(f"person:{principal.person_id}"):
        return entry
    if (
        principal.role == Role.OFFICER
        and entry.algorithm in ctx.register
        and ctx.register.get(entry.algorithm).owner_agency == principal.agency_id
    ):
        return entry
    raise NotFound(f"no decision with receipt '{receipt}'", field="receipt")
