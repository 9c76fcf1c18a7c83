"""The public query and the monthly flows: what anyone may see without signing in.

Only listings in effect on a published list are shown (``domain.public``); ID numbers are masked;
nothing proposed, objected, withdrawn, expired or repaired appears, and because the state and the
dates are read at query time, a repaired listing leaves the public view the moment it is repaired.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from civicbrain.core.context import Platform
from civicbrain.core.errors import ValidationFailed
from civicbrain.core.models import Agency
from civicbrain.services.credit.domain.ftm import export_lines
from civicbrain.services.credit.domain.listing import ListingState
from civicbrain.services.credit.domain.matching import normalize_identifier
from civicbrain.services.credit.domain.public import MonthlyFlow, PublicEntry, monthly_flows, public_entry
from civicbrain.services.credit.models import CreditList, CreditListing, CreditSubject
from civicbrain.services.credit.store import definition_of, listing_of, subject_record

MAX_RESULTS = 50
PALETTE = ("#1d4f91", "#2e7d5b", "#a4541c", "#6b3fa0", "#8a8a00")


@dataclass(frozen=True)
class PublicResult:
    entry: PublicEntry
    agency_name: str

    def as_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "listing_id": e.listing_id,
            "name": e.name,
            "masked_identifiers": list(e.masked_identifiers),
            "list": e.list_title,
            "issuing_agency": e.issuing_agency,
            "issuing_agency_name": self.agency_name,
            "legal_basis": e.legal_basis,
            "reasons": list(e.reasons),
            "listed_from": e.listed_from.isoformat(),
            "listed_until": e.listed_until.isoformat(),
            "how_to_object": e.how_to_object,
            "how_to_repair": e.how_to_repair,
        }


def search(ctx: Platform, text: str) -> list[PublicResult]:
    """By name (any part of it) or by unified social credit code / ID number (exact)."""
    text = (text or "").strip()
    if len(text) < 2:
        raise ValidationFailed("type at least two characters of a name or a code", field="q")
    now = ctx.now()
    code = normalize_identifier(text)
    query = (
        select(CreditListing, CreditSubject, CreditList)
        .join(CreditSubject, CreditSubject.id == CreditListing.subject_id)
        .join(CreditList, CreditList.code == CreditListing.list_code)
        .where(CreditListing.state == ListingState.ACTIVE, CreditListing.expires_at > now)
        .where(
            or_(
                func.lower(CreditSubject.name).contains(text.lower(), autoescape=True),
                CreditSubject.identifier == code,
            )
        )
        .order_by(CreditSubject.name, CreditListing.effective_from)
        .limit(MAX_RESULTS)
    )
    agencies = {a.id: a.name for a in ctx.session.scalars(select(Agency))}
    results = []
    for listing_row, subject, list_row in ctx.session.execute(query).all():
        entry = public_entry(listing_of(listing_row), definition_of(list_row), subject_record(subject), now)
        if entry is not None:
            results.append(PublicResult(entry, agencies.get(entry.issuing_agency, entry.issuing_agency)))
    return results


def export_ftm(ctx: Platform, *, published_only: bool = True) -> Iterator[str]:
    """FollowTheMoney JSON lines (Person/Company, then each Sanction) of this instance's listings in
    force, the format OpenSanctions, yente and nomenklatura read. Identifiers are whole: the export
    is for agencies and screening tools, not the public page."""
    now = ctx.now()
    lists = {row.code: definition_of(row) for row in ctx.session.scalars(select(CreditList))}
    rows = list(
        ctx.session.scalars(
            select(CreditListing)
            .where(
                CreditListing.state == ListingState.ACTIVE,
                CreditListing.expires_at > now,
                CreditListing.origin_instance == ctx.settings.instance_id,
            )
            .order_by(CreditListing.id)
        )
    )
    subject_ids = sorted({r.subject_id for r in rows})
    subjects = {
        s.id: subject_record(s)
        for s in ctx.session.scalars(select(CreditSubject).where(CreditSubject.id.in_(subject_ids)))
    }
    yield from export_lines(subjects, (listing_of(r) for r in rows), lists, now, published_only=published_only)


def flows(ctx: Platform) -> list[MonthlyFlow]:
    """Listings taking effect and ending, by month, list and agency (published lists only). Only this
    instance's own: copies received from the province are counted where they were listed."""
    lists = {row.code: definition_of(row) for row in ctx.session.scalars(select(CreditList))}
    published = [code for code, d in lists.items() if d.is_published]
    rows = ctx.session.scalars(
        select(CreditListing).where(
            CreditListing.list_code.in_(published),
            CreditListing.effective_from.is_not(None),
            CreditListing.origin_instance == ctx.settings.instance_id,
        )
    )
    return monthly_flows((listing_of(r) for r in rows), lists)


def flows_chart(items: list[MonthlyFlow]) -> dict[str, Any] | None:
    """Added above the axis, removed below, one colour per list (the essays' monthly-flow figures)."""
    if not items:
        return None
    months = sorted({f.month for f in items})
    traces = []
    for index, code in enumerate(sorted({f.list_code for f in items})):
        colour = PALETTE[index % len(PALETTE)]
        by_month = {f.month: f for f in items if f.list_code == code}
        agency = next(iter(by_month.values())).agency
        for label, sign, opacity in (("added", 1, 1.0), ("removed", -1, 0.55)):
            traces.append(
                {
                    "type": "bar",
                    "name": f"{code} ({agency}) {label}",
                    "x": months,
                    "y": [sign * getattr(by_month[m], label) if m in by_month else 0 for m in months],
                    "marker": {"color": colour, "opacity": opacity},
                    "hovertemplate": f"%{{x}}: %{{y}} {label}<extra>{code}</extra>",
                }
            )
    layout = {
        "barmode": "relative",
        "title": {"text": "Listings added and removed per month"},
        "yaxis": {"title": {"text": "listings (removed below zero)"}},
        "height": 360,
        "margin": {"t": 48, "r": 16, "b": 64, "l": 64},
        "legend": {"orientation": "h", "y": -0.2},
        "font": {"family": "system-ui, sans-serif", "size": 13},
    }
    return {"data": traces, "layout": layout}
