"""Use cases of listing with due process: propose (with its notice), object, take effect, expire, repair.

Every step is a domain transition (``domain.listing``) recorded through ``ctx.decide``, or, for a
person's decision (repair granted or refused), through ``ctx.record_human_decision``. Objections
are core appeals against the notice's receipt: a resident can object from "my credit" or from the
core's own contest page, and the service reads the appeal either way (``sync_objection``). When a
reviewer decides it, ``on_appeal_decided`` applies the answer: the notice *overturned* means the
objection is upheld and the listing withdrawn; the notice *upheld* means the objection is rejected
and the listing takes effect (2020 listing rules: only a named human answers an objection).

Removal needs no propagation step: checks and the public query read the listing's state and its
dates at the moment they run, so a repaired or expired listing stops counting everywhere at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civicbrain.core.models import Agency, Appeal, FeedRecord
from civicbrain.core.timeutil import aware
from civicbrain.services.credit.algorithms import LISTING
from civicbrain.services.credit.domain import listing as due
from civicbrain.services.credit.domain.events import CreditEvent
from civicbrain.services.credit.domain.listing import HumanReviewer, ListingState
from civicbrain.services.credit.domain.matching import normalize_identifier
from civicbrain.services.credit.domain.measures import Memorandum
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.models import CreditList, CreditListing, CreditMemorandum, CreditSubject
from civicbrain.services.credit.steps import ledger_subject, record
from civicbrain.services.credit.store import (
    definition_of,
    listing_of,
    memorandum_row,
    new_listing_row,
    subject_id_for,
    write_listing,
)

OPEN_STATES = (ListingState.PROPOSED, ListingState.NOTICE_SENT, ListingState.OBJECTED, ListingState.ACTIVE)
NOTICE_CHANNEL = "portal: the subject's 'my credit' page"


# --- reading ------------------------------------------------------------------------------------


def get_list(ctx: Platform, code: str) -> CreditList:
    row = ctx.session.get(CreditList, code)
    if row is None:
        raise NotFound(f"no list '{code}'", field="list_code")
    return row


def get_listing(ctx: Platform, listing_id: str) -> CreditListing:
    row = ctx.session.get(CreditListing, listing_id)
    if row is None:
        raise NotFound(f"no listing '{listing_id}'", field="listing_id")
    return row


def require_owned_here(ctx: Platform, row: CreditListing) -> None:
    """Origin stays owner ("who lists, who repairs"): a listing received from another instance is a
    read-only copy; objections, repair and corrections go to the authority that listed it."""
    if row.origin_instance != ctx.settings.instance_id:
        raise Forbidden(
            f"listing {row.id} was listed by {row.origin_instance}; only that authority changes or repairs it",
            field="listing_id",
        )


def subject_of(ctx: Platform, row: CreditListing) -> CreditSubject:
    subject = ctx.session.get(CreditSubject, row.subject_id)
    assert subject is not None  # a foreign key
    return subject


def listings_for_person(ctx: Platform, person_id: str) -> list[CreditListing]:
    query = (
        select(CreditListing)
        .join(CreditSubject, CreditSubject.id == CreditListing.subject_id)
        .where(CreditSubject.person_id == person_id)
        .order_by(CreditListing.proposed_at.desc())
    )
    return list(ctx.session.scalars(query))


def listings(
    ctx: Platform, *, agency: str | None = None, states: Sequence[str] = (), limit: int | None = None
) -> list[CreditListing]:
    """Newest first; ``limit`` for pages and API lists (the job and the overdue queue read all)."""
    query = select(CreditListing).order_by(CreditListing.proposed_at.desc(), CreditListing.id).limit(limit)
    if agency:
        query = query.join(CreditList, CreditList.code == CreditListing.list_code).where(
            CreditList.owning_agency == agency
        )
    if states:
        query = query.where(CreditListing.state.in_(list(states)))
    return list(ctx.session.scalars(query))


# --- records from the exchange ------------------------------------------------------------------


@dataclass(frozen=True)
class FactRef:
    """'intermediate-court/enforcement_outcomes#(2026) Min 01 Zhi 77': agency, feed and record key."""

    agency: str
    feed: str
    key: str

    @classmethod
    def parse(cls, text: str) -> FactRef:
        source, sep, key = text.strip().partition("#")
        agency, slash, feed = source.partition("/")
        if not (sep and slash and agency and feed and key):
            raise ValidationFailed(f"'{text}' is not a record reference 'agency/feed#key'", field="facts")
        return cls(agency, feed, key)

    def __str__(self) -> str:
        return f"{self.agency}/{self.feed}#{self.key}"


def fetch_record(ctx: Platform, ref: FactRef) -> FeedRecord:
    feed = ctx.exchange.feed(ref.agency, ref.feed)
    row = ctx.session.scalar(select(FeedRecord).where(FeedRecord.feed_id == feed.id, FeedRecord.source_key == ref.key))
    if row is None:
        raise NotFound(f"the exchange holds no record '{ref}'", field="facts")
    return row


def subject_from_record(ctx: Platform, data: dict[str, object]) -> CreditSubject:
    """The credit subject a record is about, created on first sight (FtM Person or Company)."""
    kind = NameKind.PERSON if data.get("subject_kind") == "person" else NameKind.ORGANIZATION
    name = str(data.get("subject_name") or "").strip()
    if not name:
        raise ValidationFailed("the record names no subject", field="facts")
    raw_id = data.get("id_number")
    identifier = normalize_identifier(str(raw_id)) if raw_id else None
    birth = str(data["birth_date"]) if data.get("birth_date") else None
    subject_id = subject_id_for(kind, identifier, name, birth)
    subject = ctx.session.get(CreditSubject, subject_id)
    if subject is None:
        subject = CreditSubject(
            id=subject_id,
            kind=kind.value,
            name=name,
            aliases=[],
            birth_date=birth,
            country="cn",
            identifier=identifier,
            person_id=str(data["person_id"]) if data.get("person_id") else None,
            names_indexed=False,
            created_at=ctx.now(),
        )
        ctx.session.add(subject)
        ctx.session.flush()
    elif name != subject.name and name not in subject.aliases:
        subject.aliases = [*subject.aliases, name]
        subject.names_indexed = False
    return subject


def declare_memorandum(ctx: Platform, memo: Memorandum) -> CreditMemorandum:
    """A signed memorandum: the domain checks contexts, basis and proportionality; a blacklist can
    carry only restrictions and a redlist only priority."""
    list_row = get_list(ctx, memo.list_code)
    if not memo.fits(definition_of(list_row)):
        raise ValidationFailed(
            f"a {list_row.kind} carries only {'restrictions' if list_row.kind == 'blacklist' else 'priority'}",
            field="effect",
        )
    if ctx.session.get(CreditMemorandum, memo.id) is not None:
        raise Conflict(f"memorandum '{memo.id}' exists; a change is a new memorandum", field="id")
    if ctx.session.get(Agency, memo.applying_agency) is None:
        raise NotFound(f"no agency '{memo.applying_agency}'", field="applying_agency")
    row = memorandum_row(memo)
    ctx.session.add(row)
    ctx.session.flush()
    return row


# --- propose (with its notice) ------------------------------------------------------------------


def propose_listing(
    ctx: Platform,
    *,
    list_code: str,
    facts: Sequence[str],
    reasons: Sequence[str],
    proposed_by: str,
    acting_agency: str | None,
    duration_months: int | None = None,
) -> CreditListing:
    """Propose a listing from exchange records and send the notice in the same step.

    2020 listing rules: the notice (reasons, basis, rights, objection deadline) goes out before
    anything else, so a listing without a notice cannot exist, not even for a moment.
    """
    list_row = get_list(ctx, list_code)
    if acting_agency is not None and acting_agency != list_row.owning_agency:
        raise Forbidden(f"only {list_row.owning_agency} proposes listings on '{list_code}'", field="list_code")
    if not facts:
        raise ValidationFailed("name the records that meet the list's criteria", field="facts")
    refs = [FactRef.parse(f) for f in facts]
    records = [fetch_record(ctx, ref) for ref in refs]
    subjects = {subject_from_record(ctx, rec.data).id for rec in records}
    if len(subjects) != 1:
        raise ValidationFailed("the records are about different subjects: one listing, one subject", field="facts")
    subject = ctx.session.get(CreditSubject, subjects.pop())
    assert subject is not None
    already = ctx.session.scalar(
        select(CreditListing).where(
            CreditListing.subject_id == subject.id,
            CreditListing.list_code == list_code,
            CreditListing.state.in_([s.value for s in OPEN_STATES]),
        )
    )
    if already is not None:
        raise Conflict(f"{subject.name} already has listing {already.id} on this list ({already.state})")
    definition = definition_of(list_row)
    now = ctx.now()
    listing, proposed = due.propose_listing(
        definition,
        listing_id=f"{ctx.settings.instance_id}-{uuid.uuid4().hex[:12]}",
        subject_id=subject.id,
        reasons=tuple(r.strip() for r in reasons if r.strip()),
        facts=tuple(str(ref) for ref in refs),
        proposed_by=proposed_by,
        now=now,
        duration_months=duration_months,
    )
    listing, noticed = due.send_notice(listing, definition, now=now, sent_by=proposed_by, channel=NOTICE_CHANNEL)
    who = ledger_subject(subject)
    record(ctx, proposed, LISTING, subject=who, label="proposed")
    notice = record(ctx, noticed, LISTING, subject=who, label="notice_sent")
    row = new_listing_row(listing, ctx.settings.instance_id, now)
    row.notice_receipt = notice.id
    ctx.session.add(row)
    subject.names_indexed = False  # listed now: the next check screens its names (candidates.index_pending)
    ctx.session.flush()
    return row


# --- objection (core appeals) -------------------------------------------------------------------


def object_to_listing(ctx: Platform, *, person_id: str, listing_id: str, grounds: str) -> CreditListing:
    """The resident contests the notice's receipt; the listing cannot take effect meanwhile."""
    row = own_listing(ctx, person_id, listing_id)
    require_owned_here(ctx, row)
    definition = definition_of(get_list(ctx, row.list_code))
    # The domain checks state and window first, so a late objection files no appeal.
    listing, event = due.lodge_objection(
        listing_of(row), definition, grounds=grounds, lodged_by=f"person:{person_id}", now=ctx.now()
    )
    assert row.notice_receipt is not None
    appeal = ctx.appeals.file(receipt=row.notice_receipt, grounds=grounds, person_id=person_id)
    _write_objection(ctx, row, listing, event, appeal)
    return row


def own_listing(ctx: Platform, person_id: str, listing_id: str) -> CreditListing:
    """A listing about this resident; anyone else's is answered as not found (no leak)."""
    row = ctx.session.get(CreditListing, listing_id)
    if row is None or subject_of(ctx, row).person_id != person_id:
        raise NotFound(f"you have no listing '{listing_id}'", field="listing_id")
    return row


def _write_objection(
    ctx: Platform, row: CreditListing, listing: due.Listing, event: CreditEvent, appeal: Appeal
) -> None:
    write_listing(row, listing, ctx.now())
    row.appeal_id = appeal.id
    record(ctx, event, LISTING, subject=ledger_subject(subject_of(ctx, row)), label="objection_lodged")


def sync_objection(ctx: Platform, row: CreditListing) -> None:
    """An appeal filed on the notice from the core's contest page is an objection too."""
    if row.state != ListingState.NOTICE_SENT or row.notice_receipt is None:
        return
    appeal = ctx.session.scalar(select(Appeal).where(Appeal.receipt == row.notice_receipt).order_by(Appeal.id).limit(1))
    if appeal is None:
        return
    listing = listing_of(row)
    assert listing.notice is not None
    if aware(appeal.filed_at) > listing.notice.objection_deadline:
        return  # filed after the window: an ordinary appeal, not an objection that suspends the listing
    listing, event = due.lodge_objection(
        listing,
        definition_of(get_list(ctx, row.list_code)),
        grounds=appeal.grounds,
        lodged_by="appeal",
        now=aware(appeal.filed_at),
    )
    _write_objection(ctx, row, listing, event, appeal)


def on_appeal_decided(ctx: Platform, appeal: Appeal) -> None:
    """Core appeals hook: a reviewer answered an objection (an appeal against a notice) or a
    correction request (an appeal against a later step of a listing)."""
    row = ctx.session.scalar(select(CreditListing).where(CreditListing.notice_receipt == appeal.receipt))
    if row is None:
        _on_correction_decided(ctx, appeal)
        return
    sync_objection(ctx, row)
    if row.state != ListingState.OBJECTED:
        return
    reviewer = HumanReviewer(appeal.reviewer or "reviewer", "appeals reviewer")
    upheld = appeal.status == "overturned"  # the notice overturned = the objection upheld
    listing, event = due.decide_objection(
        listing_of(row), upheld=upheld, reviewer=reviewer, answer=appeal.reasons or "", now=ctx.now()
    )
    write_listing(row, listing, ctx.now())
    label = "objection_upheld" if upheld else "objection_rejected"
    record(ctx, event, LISTING, subject=ledger_subject(subject_of(ctx, row)), label=label)


def _on_correction_decided(ctx: Platform, appeal: Appeal) -> None:
    """A granted correction request (the appeal overturned) withdraws the listing everywhere at once;
    a refused one changes nothing (the ledger holds the reviewer's answer)."""
    if appeal.status != "overturned":
        return
    entry = ctx.ledger.get(appeal.receipt)
    listing_id = entry.inputs.get("listing_id") if entry.algorithm == LISTING.id else None
    row = ctx.session.get(CreditListing, str(listing_id)) if listing_id else None
    if row is None or row.state in {s.value for s in due.TERMINAL_STATES}:
        return
    if not any(c.get("appeal_ref") == str(appeal.id) for c in row.corrections):
        return  # an appeal against the step itself, not a correction request: the ledger holds it
    listing, event = due.withdraw_after_correction(
        listing_of(row),
        appeal_ref=str(appeal.id),
        reviewer=HumanReviewer(appeal.reviewer or "reviewer", "appeals reviewer"),
        answer=appeal.reasons or "the record was corrected",
        now=ctx.now(),
    )
    write_listing(row, listing, ctx.now())
    record(ctx, event, LISTING, subject=ledger_subject(subject_of(ctx, row)), label="withdrawn_after_correction")


# --- correction requests (core appeals) ----------------------------------------------------------


@dataclass
class _AppealCase:
    """The domain's ``CorrectionHook``: a correction request is a core appeal against the listing's
    latest decision, so a named reviewer answers it with reasons and the subject sees the outcome."""

    ctx: Platform
    receipt: str
    person_id: str

    def open_case(self, listing: due.Listing, request: due.CorrectionRequest) -> str:
        appeal = self.ctx.appeals.file(receipt=self.receipt, grounds=request.grounds, person_id=self.person_id)
        return str(appeal.id)


def latest_receipt(ctx: Platform, row: CreditListing) -> str:
    """The newest automated step recorded for this listing (what a correction request contests)."""
    entries = ctx.ledger.for_subject(ledger_subject(subject_of(ctx, row)))
    steps = [
        e
        for e in entries
        if e.algorithm == LISTING.id and e.kind == "automated" and e.inputs.get("listing_id") == row.id
    ]
    if not steps:
        raise NotFound(f"no recorded step of listing '{row.id}'", field="listing_id")
    return steps[-1].receipt


def request_correction(ctx: Platform, *, person_id: str, listing_id: str, grounds: str) -> CreditListing:
    """The subject asks for a record behind a listing to be corrected, at any stage before it ends."""
    row = own_listing(ctx, person_id, listing_id)
    require_owned_here(ctx, row)
    case = _AppealCase(ctx, latest_receipt(ctx, row), person_id)
    listing, event = due.request_correction(
        listing_of(row), grounds=grounds, requested_by=f"person:{person_id}", now=ctx.now(), hook=case
    )
    write_listing(row, listing, ctx.now())
    record(ctx, event, LISTING, subject=ledger_subject(subject_of(ctx, row)), label="correction_requested")
    return row


def corrections_granted(ctx: Platform, rows: Sequence[CreditListing]) -> dict[str, list[int]]:
    """Listings with a correction request a reviewer granted (the appeal overturned): the owning agency
    must correct or withdraw them. Shown on the officer page until the listing ends."""
    wanted = {int(c["appeal_ref"]): r.id for r in rows for c in r.corrections if c.get("appeal_ref")}
    if not wanted:
        return {}
    granted: dict[str, list[int]] = {}
    for appeal in ctx.session.scalars(select(Appeal).where(Appeal.id.in_(list(wanted)))):
        if appeal.status == "overturned":
            granted.setdefault(wanted[appeal.id], []).append(appeal.id)
    return granted


# --- the daily job ------------------------------------------------------------------------------


def expire_due(ctx: Platform) -> dict[str, int]:
    """Activate notices whose window closed unanswered, expire listings at their maximum.

    Run daily (``civicbrain credit expire`` or the admin endpoint). Checks and the public query do
    not wait for it: they test the dates themselves, so a listing past its maximum never applies.
    """
    now = ctx.now()
    own = CreditListing.origin_instance == ctx.settings.instance_id  # copies end by their owner's delta
    pending = list(
        ctx.session.scalars(select(CreditListing).where(CreditListing.state == ListingState.NOTICE_SENT, own))
    )
    for row in pending:
        sync_objection(ctx, row)
    due_rows = [r for r in pending if r.state == ListingState.NOTICE_SENT]
    due_rows += list(
        ctx.session.scalars(
            select(CreditListing).where(
                CreditListing.state == ListingState.ACTIVE, CreditListing.expires_at <= now, own
            )
        )
    )
    by_id = {r.id: r for r in due_rows}
    counts = {"activated": 0, "expired": 0}
    for listing, event in due.due_transitions([listing_of(r) for r in due_rows], now=now):
        row = by_id[listing.id]
        write_listing(row, listing, now)
        label = "activated" if listing.state is ListingState.ACTIVE else "expired"
        counts[label] += 1
        record(ctx, event, LISTING, subject=ledger_subject(subject_of(ctx, row)), label=label)
    return counts


# --- credit repair ------------------------------------------------------------------------------


def apply_for_repair(
    ctx: Platform, *, listing_id: str, performance: str, applied_by: str, person_id: str | None
) -> CreditListing:
    """The subject (or the owning agency on their behalf) shows the obligation is performed."""
    row = own_listing(ctx, person_id, listing_id) if person_id else get_listing(ctx, listing_id)
    require_owned_here(ctx, row)
    definition = definition_of(get_list(ctx, row.list_code))
    listing, event = due.apply_for_repair(
        listing_of(row), definition, performance=performance, applied_by=applied_by, now=ctx.now()
    )
    write_listing(row, listing, ctx.now())
    decision = record(ctx, event, LISTING, subject=ledger_subject(subject_of(ctx, row)), label="repair_applied")
    row.repair_receipt = decision.id
    return row


def decide_repair(
    ctx: Platform,
    *,
    listing_id: str,
    granted: bool,
    checks: Sequence[str],
    answer: str,
    decided_by: str,
    role: str,
) -> CreditListing:
    """A person decides; a grant ends publication, sharing and every linked measure at once."""
    row = get_listing(ctx, listing_id)
    require_owned_here(ctx, row)
    listing, event = due.decide_repair(
        listing_of(row),
        granted=granted,
        reviewer=HumanReviewer(decided_by, role),
        checks=tuple(c.strip() for c in checks if c.strip()),
        answer=answer,
        now=ctx.now(),
    )
    write_listing(row, listing, ctx.now())
    assert row.repair_receipt is not None  # the application recorded it
    ctx.record_human_decision(
        about=row.repair_receipt,
        what="credit.repair_decision",
        outcome_label="repaired" if granted else "repair_refused",
        reasons=f"{event.summary} Checks: {'; '.join(listing.repair.checks if listing.repair else ())}. {answer}",
        actor=decided_by,
    )
    return row


def overdue(ctx: Platform) -> dict[str, list[CreditListing]]:
    """Objections and repair applications past their answer deadline (the supervisor's queue)."""
    now = ctx.now()
    rows = listings(ctx, states=(ListingState.OBJECTED, ListingState.ACTIVE))
    by_id = {r.id: r for r in rows}
    values = [listing_of(r) for r in rows]
    return {
        "objections": [by_id[x.id] for x in due.overdue_objections(values, now=now)],
        "repairs": [by_id[x.id] for x in due.overdue_repairs(values, now=now)],
    }


def is_in_effect(row: CreditListing, now: datetime) -> bool:
    return listing_of(row).is_in_effect(now)
