"""Blacklists and redlists with due process: definitions, tiers and the listing state machine.

Rules this module enforces (citations are to the anchors in issue 4):

* 2020 listing rules (Guiding Opinions on the credit-restriction system, State Council
  General Office No. 49, 2020): notice of reasons, basis and rights *before* listing;
  objections answered within a set time; exit conditions published. Hence: no listing
  takes effect without a notice, nor before the objection window has closed, nor while
  an objection is open; only a named human reviewer decides an objection.
* 2026 credit-repair tiers: minor - normally not published, at most 3 months;
  general - 3 months to 1 year; serious - 1 to 3 years. Publication ends automatically
  at the maximum; repair (the obligation performed) ends publication, sharing and every
  linked measure at once. Repair may be applied for once the tier's minimum period has
  passed, and is decided within the list's stated time.
* US FAR 9.4 debarment as a cross-check: notice, 30 days to oppose, at most 3 years.

States::

    proposed -> notice_sent -> (window passes, no objection) -> active
                            -> objected -> upheld   -> withdrawn
                                        -> rejected -> active
    active -> expired   (automatically at the maximum duration)
    active -> repaired  (repair application granted by a reviewer)

Every transition returns ``(new_listing, CreditEvent)``; listings are immutable values,
so the service stores the new one and records the event. Illegal transitions raise
``Conflict`` with a message that names the state and the rule.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from civicbrain.core.errors import Conflict, ValidationFailed
from civicbrain.services.credit.domain.events import CreditEvent

LISTING_ALGORITHM = "credit-listing"
LISTING_VERSION = "1.0"


class SeverityTier(StrEnum):
    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"


@dataclass(frozen=True)
class TierRule:
    min_months: int  # publication before repair may be applied for
    max_months: int  # publication ends automatically here
    published: bool


TIER_RULES: dict[SeverityTier, TierRule] = {
    # 2026 credit-repair tiers: minor normally unpublished, <= 3 months.
    SeverityTier.MINOR: TierRule(min_months=0, max_months=3, published=False),
    SeverityTier.GENERAL: TierRule(min_months=3, max_months=12, published=True),
    SeverityTier.SERIOUS: TierRule(min_months=12, max_months=36, published=True),
}


class ListKind(StrEnum):
    BLACKLIST = "blacklist"  # linked measures restrict
    REDLIST = "redlist"  # linked measures grant priority or facilitation


class ListingState(StrEnum):
    PROPOSED = "proposed"
    NOTICE_SENT = "notice_sent"
    OBJECTED = "objected"
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    REPAIRED = "repaired"


TERMINAL_STATES = frozenset({ListingState.WITHDRAWN, ListingState.EXPIRED, ListingState.REPAIRED})

DEFAULT_RIGHTS = (
    "You may object in writing before the objection deadline; the listing cannot take effect while "
    "your objection is open, and a named reviewer must answer it.",
    "You may ask for any record about you to be corrected at any time.",
    "Once the obligation is performed you may apply for credit repair; repair ends publication, "
    "sharing and every linked measure.",
    "You may appeal the reviewer's decision.",
)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class ListDefinition:
    """A published list: who owns it, on what law, by what criteria, for how long."""

    code: str
    title: str
    owning_agency: str
    legal_basis: str
    criteria: tuple[str, ...]
    kind: ListKind
    tier: SeverityTier
    max_duration_months: int
    exit_conditions: tuple[str, ...]
    objection_window_days: int = 15
    objection_answer_days: int = 15  # 2020 listing rules: objections answered in a set time
    repair_decision_days: int = 15
    published: bool | None = None  # None: the tier decides

    def __post_init__(self) -> None:
        rule = TIER_RULES[self.tier]
        if not self.legal_basis.strip():
            raise ValidationFailed("a list needs its legal basis", field="legal_basis")
        if not self.criteria:
            raise ValidationFailed("a list needs published criteria", field="criteria")
        if not self.exit_conditions:
            raise ValidationFailed(
                "a list needs published exit conditions (2020 listing rules)", field="exit_conditions"
            )
        if not rule.min_months <= self.max_duration_months <= rule.max_months or self.max_duration_months < 1:
            raise ValidationFailed(
                f"max_duration_months {self.max_duration_months} is outside the {self.tier.value} tier "
                f"({max(rule.min_months, 1)}-{rule.max_months} months)",
                field="max_duration_months",
            )
        if self.objection_window_days < 1:
            raise ValidationFailed("the objection window must be at least one day", field="objection_window_days")
        if self.objection_answer_days < 1:
            raise ValidationFailed("objections must be answered in a set time", field="objection_answer_days")
        if self.repair_decision_days < 1:
            raise ValidationFailed("repair must be decided in a set time", field="repair_decision_days")
        if self.published and not rule.published:
            raise ValidationFailed("minor-tier lists are not published", field="published")

    @property
    def is_published(self) -> bool:
        return TIER_RULES[self.tier].published if self.published is None else self.published


@dataclass(frozen=True)
class HumanReviewer:
    """A named official. Objections and repairs are decided only by one (2020 listing rules)."""

    id: str
    role: str

    def __post_init__(self) -> None:
        if not self.id.strip() or not self.role.strip():
            raise ValidationFailed("a reviewer needs an id and a role", field="reviewer")


@dataclass(frozen=True)
class Notice:
    reasons: tuple[str, ...]
    legal_basis: str
    rights: tuple[str, ...]
    objection_deadline: datetime
    sent_at: datetime
    channel: str


@dataclass(frozen=True)
class Objection:
    grounds: str
    lodged_at: datetime
    lodged_by: str
    answer_due: datetime
    decided_at: datetime | None = None
    upheld: bool | None = None
    reviewer: str | None = None
    answer: str | None = None


@dataclass(frozen=True)
class RepairApplication:
    performance: str  # what was done: fine paid, judgement performed, licence restored
    applied_at: datetime
    decision_due: datetime
    decided_at: datetime | None = None
    granted: bool | None = None
    reviewer: str | None = None
    checks: tuple[str, ...] = ()
    answer: str | None = None


@dataclass(frozen=True)
class CorrectionRequest:
    grounds: str
    requested_at: datetime
    requested_by: str
    appeal_ref: str | None = None


@dataclass(frozen=True)
class Listing:
    id: str
    list_code: str
    subject_id: str
    reasons: tuple[str, ...]
    facts: tuple[str, ...]  # references to the records that meet the criteria
    duration_months: int
    proposed_at: datetime
    proposed_by: str
    state: ListingState = ListingState.PROPOSED
    notice: Notice | None = None
    objection: Objection | None = None
    effective_from: datetime | None = None
    expires_at: datetime | None = None
    ended_at: datetime | None = None
    repair: RepairApplication | None = None
    corrections: tuple[CorrectionRequest, ...] = field(default_factory=tuple)

    def is_in_effect(self, now: datetime) -> bool:
        """In force now. Checked against the clock, so a listing past its maximum stops
        applying even if the daily expiry job has not yet recorded the expiry."""
        return (
            self.state is ListingState.ACTIVE
            and self.effective_from is not None
            and self.expires_at is not None
            and self.effective_from <= now < self.expires_at
        )


Transition = tuple[Listing, CreditEvent]


def _event(listing: Listing, action: str, at: datetime, actor: str, summary: str, **details: object) -> CreditEvent:
    return CreditEvent(
        algorithm=LISTING_ALGORITHM,
        version=LISTING_VERSION,
        action=action,
        subject=listing.subject_id,
        at=at,
        actor=actor,
        summary=summary,
        outcome={
            "listing_id": listing.id,
            "list": listing.list_code,
            "state": listing.state,
            "effective_from": listing.effective_from,
            "expires_at": listing.expires_at,
        },
        inputs={"listing_id": listing.id, "list": listing.list_code, "facts": list(listing.facts)},
        details=dict(details),
    )


def _require(listing: Listing, allowed: set[ListingState], action: str, rule: str) -> None:
    if listing.state not in allowed:
        allowed_text = ", ".join(sorted(s.value for s in allowed))
        raise Conflict(
            f"cannot {action} listing {listing.id}: it is '{listing.state.value}', "
            f"and {action} needs {allowed_text} ({rule})",
            field="state",
            code="illegal_transition",
        )


def _check_definition(listing: Listing, definition: ListDefinition) -> None:
    if definition.code != listing.list_code:
        raise ValidationFailed(f"listing {listing.id} belongs to list {listing.list_code}, not {definition.code}")


def propose_listing(
    definition: ListDefinition,
    *,
    listing_id: str,
    subject_id: str,
    reasons: tuple[str, ...],
    facts: tuple[str, ...],
    proposed_by: str,
    now: datetime,
    duration_months: int | None = None,
) -> Transition:
    """Propose a listing. It has no effect of any kind until notice and window have run."""
    if not reasons or not all(r.strip() for r in reasons):
        raise ValidationFailed("a listing needs its reasons in words", field="reasons")
    if not facts:
        raise ValidationFailed("a listing needs the records that meet the criteria", field="facts")
    duration = definition.max_duration_months if duration_months is None else duration_months
    if not 1 <= duration <= definition.max_duration_months:
        raise ValidationFailed(
            f"duration {duration} months exceeds the list's maximum of {definition.max_duration_months}",
            field="duration_months",
        )
    listing = Listing(
        id=listing_id,
        list_code=definition.code,
        subject_id=subject_id,
        reasons=tuple(reasons),
        facts=tuple(facts),
        duration_months=duration,
        proposed_at=now,
        proposed_by=proposed_by,
    )
    summary = (
        f"Proposed for '{definition.title}' ({definition.owning_agency}); no effect until notice and objection window."
    )
    return listing, _event(listing, "proposed", now, proposed_by, summary, reasons=list(reasons))


def send_notice(
    listing: Listing,
    definition: ListDefinition,
    *,
    now: datetime,
    sent_by: str,
    channel: str,
    rights: tuple[str, ...] = DEFAULT_RIGHTS,
) -> Transition:
    """Notify the subject of reasons, basis, rights and the objection deadline."""
    _check_definition(listing, definition)
    _require(listing, {ListingState.PROPOSED}, "send notice for", "notice is sent once, before listing")
    if not rights:
        raise ValidationFailed("a notice must state the subject's rights", field="rights")
    deadline = now + timedelta(days=definition.objection_window_days)
    notice = Notice(
        reasons=listing.reasons,
        legal_basis=definition.legal_basis,
        rights=tuple(rights),
        objection_deadline=deadline,
        sent_at=now,
        channel=channel,
    )
    updated = replace(listing, state=ListingState.NOTICE_SENT, notice=notice)
    summary = (
        f"Notice sent by {channel}: reasons, legal basis ({definition.legal_basis}) and rights; "
        f"objections accepted until {deadline:%Y-%m-%d %H:%M} UTC."
    )
    return updated, _event(updated, "notice_sent", now, sent_by, summary, objection_deadline=deadline)


def lodge_objection(
    listing: Listing, definition: ListDefinition, *, grounds: str, lodged_by: str, now: datetime
) -> Transition:
    """The subject objects within the window; the listing cannot take effect meanwhile."""
    _check_definition(listing, definition)
    _require(listing, {ListingState.NOTICE_SENT}, "object to", "objections follow a notice")
    assert listing.notice is not None
    if now > listing.notice.objection_deadline:
        raise Conflict(
            f"the objection window for listing {listing.id} closed on "
            f"{listing.notice.objection_deadline:%Y-%m-%d %H:%M} UTC; ask for a correction instead",
            field="objection",
            code="objection_window_closed",
        )
    if not grounds.strip():
        raise ValidationFailed("an objection needs its grounds", field="grounds")
    due = now + timedelta(days=definition.objection_answer_days)
    updated = replace(
        listing,
        state=ListingState.OBJECTED,
        objection=Objection(grounds=grounds, lodged_at=now, lodged_by=lodged_by, answer_due=due),
    )
    summary = (
        f"Objection lodged; the listing stays without effect until a reviewer answers it "
        f"(answer due by {due:%Y-%m-%d})."
    )
    return updated, _event(updated, "objection_lodged", now, lodged_by, summary, grounds=grounds, answer_due=due)


def decide_objection(
    listing: Listing, *, upheld: bool, reviewer: HumanReviewer, answer: str, now: datetime
) -> Transition:
    """A named human answers the objection: upheld withdraws, rejected activates."""
    _require(listing, {ListingState.OBJECTED}, "decide the objection on", "only an open objection is decided")
    if not isinstance(reviewer, HumanReviewer):
        raise ValidationFailed("objections are decided by a named human reviewer", field="reviewer")
    if not answer.strip():
        raise ValidationFailed("the answer to an objection must give reasons", field="answer")
    assert listing.objection is not None
    objection = replace(listing.objection, decided_at=now, upheld=upheld, reviewer=reviewer.id, answer=answer)
    if upheld:
        updated = replace(listing, state=ListingState.WITHDRAWN, objection=objection, ended_at=now)
        summary = f"Objection upheld by {reviewer.role} {reviewer.id}; the listing is withdrawn and never took effect."
        return updated, _event(updated, "objection_upheld", now, reviewer.id, summary, answer=answer)
    updated = _activate(replace(listing, objection=objection), now)
    summary = (
        f"Objection rejected by {reviewer.role} {reviewer.id}: {answer}. Listed until "
        f"{updated.expires_at:%Y-%m-%d}; the subject may appeal or apply for repair."
    )
    return updated, _event(updated, "objection_rejected", now, reviewer.id, summary, answer=answer)


def _activate(listing: Listing, now: datetime) -> Listing:
    return replace(
        listing,
        state=ListingState.ACTIVE,
        effective_from=now,
        expires_at=add_months(now, listing.duration_months),
    )


def activate_after_window(listing: Listing, *, now: datetime) -> Transition:
    """No objection by the deadline: the listing takes effect, never earlier."""
    _require(listing, {ListingState.NOTICE_SENT}, "activate", "activation follows an unanswered notice")
    assert listing.notice is not None
    if now <= listing.notice.objection_deadline:
        raise Conflict(
            f"listing {listing.id} cannot take effect before its objection window closes "
            f"({listing.notice.objection_deadline:%Y-%m-%d %H:%M} UTC)",
            field="state",
            code="objection_window_open",
        )
    updated = _activate(listing, now)
    summary = f"No objection by the deadline; listed until {updated.expires_at:%Y-%m-%d}."
    return updated, _event(updated, "activated", now, "system:objection-window", summary)


def expire(listing: Listing, *, now: datetime) -> Transition:
    """End an active listing at its maximum duration (2026 repair rules: automatic end)."""
    _require(listing, {ListingState.ACTIVE}, "expire", "only an active listing expires")
    assert listing.expires_at is not None
    if now < listing.expires_at:
        raise Conflict(
            f"listing {listing.id} runs until {listing.expires_at:%Y-%m-%d}", field="state", code="not_yet_expired"
        )
    updated = replace(listing, state=ListingState.EXPIRED, ended_at=listing.expires_at)
    summary = "Reached its maximum duration; publication, sharing and linked measures ended."
    return updated, _event(updated, "expired", now, "system:expiry", summary)


def apply_for_repair(
    listing: Listing, definition: ListDefinition, *, performance: str, applied_by: str, now: datetime
) -> Transition:
    """The subject shows the obligation is performed; a decision is due in the list's set time."""
    _check_definition(listing, definition)
    _require(listing, {ListingState.ACTIVE}, "apply for repair of", "repair applies to an active listing")
    if listing.repair is not None and listing.repair.decided_at is None:
        raise Conflict(f"a repair application for listing {listing.id} is already open", code="repair_open")
    if not performance.strip():
        raise ValidationFailed("say how the obligation was performed", field="performance")
    assert listing.effective_from is not None
    earliest = add_months(listing.effective_from, TIER_RULES[definition.tier].min_months)
    if now < earliest:
        raise Conflict(
            f"{definition.tier.value}-tier listings can be repaired after their minimum publication "
            f"period; apply from {earliest:%Y-%m-%d}",
            field="repair",
            code="repair_too_early",
        )
    due = now + timedelta(days=definition.repair_decision_days)
    updated = replace(listing, repair=RepairApplication(performance=performance, applied_at=now, decision_due=due))
    summary = f"Credit repair applied for; a decision is due by {due:%Y-%m-%d}."
    return updated, _event(updated, "repair_applied", now, applied_by, summary, performance=performance)


def decide_repair(
    listing: Listing,
    *,
    granted: bool,
    reviewer: HumanReviewer,
    checks: tuple[str, ...],
    answer: str,
    now: datetime,
) -> Transition:
    """Grant ends the listing everywhere at once; refusal keeps it, with reasons."""
    _require(listing, {ListingState.ACTIVE}, "decide repair of", "repair applies to an active listing")
    if listing.repair is None or listing.repair.decided_at is not None:
        raise Conflict(f"listing {listing.id} has no open repair application", code="no_repair_open")
    if not checks:
        raise ValidationFailed("record the checks made (payment confirmed, judgement performed, ...)", field="checks")
    if not answer.strip():
        raise ValidationFailed("a repair decision must give reasons", field="answer")
    repair = replace(
        listing.repair, decided_at=now, granted=granted, reviewer=reviewer.id, checks=checks, answer=answer
    )
    if granted:
        updated = replace(listing, state=ListingState.REPAIRED, repair=repair, ended_at=now)
        summary = "Credit repaired: publication, sharing and every linked measure end now."
        return updated, _event(updated, "repaired", now, reviewer.id, summary, checks=list(checks), answer=answer)
    updated = replace(listing, repair=repair)
    summary = f"Repair refused by {reviewer.role} {reviewer.id}: {answer}. The subject may appeal."
    return updated, _event(updated, "repair_refused", now, reviewer.id, summary, checks=list(checks), answer=answer)


class CorrectionHook(Protocol):
    """Opens a case in core appeals for a correction request and returns its reference.

    The service layer binds it to ``ctx.appeals``; the domain only keeps the reference.
    """

    def open_case(self, listing: Listing, request: CorrectionRequest) -> str: ...


def request_correction(
    listing: Listing, *, grounds: str, requested_by: str, now: datetime, hook: CorrectionHook
) -> Transition:
    """A correction request, open at any stage before the listing has ended."""
    if listing.state in TERMINAL_STATES:
        raise Conflict(f"listing {listing.id} has ended ({listing.state.value}); nothing to correct", code="ended")
    if not grounds.strip():
        raise ValidationFailed("a correction request needs its grounds", field="grounds")
    request = CorrectionRequest(grounds=grounds, requested_at=now, requested_by=requested_by)
    request = replace(request, appeal_ref=hook.open_case(listing, request))
    updated = replace(listing, corrections=(*listing.corrections, request))
    summary = f"Correction requested; reviewed through appeal {request.appeal_ref}."
    return updated, _event(updated, "correction_requested", now, requested_by, summary, appeal=request.appeal_ref)


def withdraw_after_correction(
    listing: Listing, *, appeal_ref: str, reviewer: HumanReviewer, answer: str, now: datetime
) -> Transition:
    """A reviewer granted a correction request: the record behind the listing was wrong, so the
    listing ends now, whatever its state, and with it publication, sharing and every linked measure."""
    if listing.state in TERMINAL_STATES:
        raise Conflict(f"listing {listing.id} has ended ({listing.state.value})", field="state", code="ended")
    if not any(c.appeal_ref == appeal_ref for c in listing.corrections):
        raise ValidationFailed(f"appeal {appeal_ref} is not a correction request of this listing", field="appeal_ref")
    if not isinstance(reviewer, HumanReviewer):
        raise ValidationFailed("corrections are decided by a named human reviewer", field="reviewer")
    if not answer.strip():
        raise ValidationFailed("a granted correction must give reasons", field="answer")
    updated = replace(listing, state=ListingState.WITHDRAWN, ended_at=now)
    summary = (
        f"Correction granted by {reviewer.role} {reviewer.id} (appeal {appeal_ref}): {answer}. The listing is "
        "withdrawn; publication, sharing and linked measures end now."
    )
    return updated, _event(updated, "withdrawn_after_correction", now, reviewer.id, summary, appeal=appeal_ref)


def due_transitions(listings: list[Listing], *, now: datetime) -> list[Transition]:
    """The daily job: activate unanswered notices whose window closed, expire what is due."""
    transitions: list[Transition] = []
    for listing in listings:
        if (
            listing.state is ListingState.NOTICE_SENT
            and listing.notice is not None
            and now > listing.notice.objection_deadline
        ):
            transitions.append(activate_after_window(listing, now=now))
        elif listing.state is ListingState.ACTIVE and listing.expires_at is not None and now >= listing.expires_at:
            transitions.append(expire(listing, now=now))
    return transitions


def overdue_objections(listings: list[Listing], *, now: datetime) -> list[Listing]:
    """Objections past their answer deadline, for the supervisor's queue (the listing stays
    without effect however long the answer takes: delay never works against the subject)."""
    return [
        listing
        for listing in listings
        if listing.state is ListingState.OBJECTED
        and listing.objection is not None
        and now > listing.objection.answer_due
    ]


def overdue_repairs(listings: list[Listing], *, now: datetime) -> list[Listing]:
    """Repair applications past their decision deadline, for the supervisor's queue."""
    return [
        listing
        for listing in listings
        if listing.repair is not None and listing.repair.decided_at is None and now > listing.repair.decision_due
    ]
