"""Due process: no listing without notice, no effect before the window, human objection
decisions, automatic expiry, repair propagating to checks, context-bound measures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from civicbrain.core.errors import Conflict, ValidationFailed
from civicbrain.services.credit.domain.listing import (
    HumanReviewer,
    ListDefinition,
    Listing,
    ListingState,
    ListKind,
    SeverityTier,
    activate_after_window,
    add_months,
    apply_for_repair,
    decide_objection,
    decide_repair,
    due_transitions,
    expire,
    lodge_objection,
    overdue_objections,
    overdue_repairs,
    propose_listing,
    request_correction,
    send_notice,
)
from civicbrain.services.credit.domain.matching import Matcher, SubjectRecord
from civicbrain.services.credit.domain.measures import (
    CheckOutcome,
    Measure,
    MeasureEffect,
    Memorandum,
    check_subject,
)
from civicbrain.services.credit.domain.names import NameKind

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REVIEWER = HumanReviewer(id="rev-1", role="credit review officer")

DEFAULTERS = ListDefinition(
    code="court-defaulters",
    title="Judgement defaulters",
    owning_agency="Intermediate People's Court",
    legal_basis="SPC Provisions on Publishing the List of Judgement Defaulters (2017), art. 1",
    criteria=("able to perform an effective judgement and refusing to",),
    kind=ListKind.BLACKLIST,
    tier=SeverityTier.SERIOUS,
    max_duration_months=24,
    exit_conditions=("judgement performed", "maximum duration reached"),
    objection_window_days=15,
    repair_decision_days=3,
)
TAX_A = ListDefinition(
    code="tax-grade-a",
    title="Grade A taxpayers",
    owning_agency="Tax Bureau",
    legal_basis="Tax credit evaluation measures, art. 3",
    criteria=("grade A tax credit rating",),
    kind=ListKind.REDLIST,
    tier=SeverityTier.GENERAL,
    max_duration_months=12,
    exit_conditions=("rating downgraded", "maximum duration reached"),
)
DEFINITIONS = {d.code: d for d in (DEFAULTERS, TAX_A)}

TENDER_BAN = Memorandum(
    id="mou-2016-141",
    list_code="court-defaulters",
    list_agency="Intermediate People's Court",
    applying_agency="Finance Bureau",
    measure=Measure("no-tender", "excluded from government procurement tenders", MeasureEffect.RESTRICT),
    contexts=frozenset({"public tender"}),
    legal_basis="Joint memorandum on defaulters (2016), measure 12",
    proportionality="limited to public money; ends with the listing",
    signed_on=date(2016, 1, 20),
)
TAX_PRIORITY = Memorandum(
    id="mou-tax-a",
    list_code="tax-grade-a",
    list_agency="Tax Bureau",
    applying_agency="Finance Bureau",
    measure=Measure("fast-track", "tender paperwork fast-tracked", MeasureEffect.PRIORITY),
    contexts=frozenset({"public tender", "subsidy"}),
    legal_basis="Joint memorandum on grade A taxpayers, measure 3",
    proportionality="procedural priority only",
    signed_on=date(2016, 7, 1),
)


def proposed(definition: ListDefinition = DEFAULTERS, listing_id: str = "L1", subject: str = "S1") -> Listing:
    listing, _ = propose_listing(
        definition,
        listing_id=listing_id,
        subject_id=subject,
        reasons=("did not pay the amount ordered in case (2025) Min 01 Zhi 123",),
        facts=("record:court-enforcement:8841",),
        proposed_by="officer-3",
        now=T0,
    )
    return listing


def noticed(definition: ListDefinition = DEFAULTERS, **kwargs: str) -> Listing:
    listing, _ = send_notice(proposed(definition, **kwargs), definition, now=T0, sent_by="officer-3", channel="post")
    return listing


def active(definition: ListDefinition = DEFAULTERS, **kwargs: str) -> Listing:
    listing = noticed(definition, **kwargs)
    assert listing.notice is not None
    activated, _ = activate_after_window(listing, now=listing.notice.objection_deadline + timedelta(minutes=1))
    return activated


def test_list_definition_respects_tier_limits() -> None:
    with pytest.raises(ValidationFailed, match="outside the serious tier"):
        replace(DEFAULTERS, max_duration_months=48)
    with pytest.raises(ValidationFailed, match="outside the minor tier"):
        replace(DEFAULTERS, tier=SeverityTier.MINOR, max_duration_months=6)
    minor = replace(DEFAULTERS, tier=SeverityTier.MINOR, max_duration_months=3)
    assert not minor.is_published
    with pytest.raises(ValidationFailed, match="exit conditions"):
        replace(DEFAULTERS, exit_conditions=())


def test_no_listing_without_notice() -> None:
    listing = proposed()
    assert not listing.is_in_effect(T0 + timedelta(days=400))
    with pytest.raises(Conflict, match="needs notice_sent"):
        activate_after_window(listing, now=T0 + timedelta(days=30))
    assert due_transitions([listing], now=T0 + timedelta(days=30)) == []


def test_notice_states_reasons_basis_rights_and_deadline() -> None:
    listing, event = send_notice(proposed(), DEFAULTERS, now=T0, sent_by="officer-3", channel="post")
    assert listing.notice is not None
    assert listing.notice.reasons == listing.reasons
    assert listing.notice.legal_basis == DEFAULTERS.legal_basis
    assert listing.notice.rights
    assert listing.notice.objection_deadline == T0 + timedelta(days=15)
    assert event.action == "notice_sent" and "2026-03-17" in event.summary
    kwargs = event.decision_kwargs()
    assert kwargs["explanation"]["summary"] and kwargs["subject"] == "S1"
    with pytest.raises(Conflict):
        send_notice(listing, DEFAULTERS, now=T0, sent_by="officer-3", channel="post")


def test_no_effect_before_the_window_closes() -> None:
    listing = noticed()
    assert listing.notice is not None
    deadline = listing.notice.objection_deadline
    assert not listing.is_in_effect(deadline)
    with pytest.raises(Conflict, match="before its objection window closes"):
        activate_after_window(listing, now=deadline)
    assert due_transitions([listing], now=deadline) == []
    [(after, event)] = due_transitions([listing], now=deadline + timedelta(seconds=1))
    assert after.state is ListingState.ACTIVE and after.is_in_effect(deadline + timedelta(seconds=1))
    assert event.action == "activated"


def test_objection_blocks_effect_until_a_human_decides() -> None:
    listing = noticed()
    objected, _ = lodge_objection(
        listing, DEFAULTERS, grounds="I paid on 1 March", lodged_by="S1", now=T0 + timedelta(days=2)
    )
    assert objected.state is ListingState.OBJECTED
    assert objected.objection is not None and objected.objection.answer_due == T0 + timedelta(days=17)
    assert overdue_objections([objected], now=T0 + timedelta(days=18)) == [objected]
    assert due_transitions([objected], now=T0 + timedelta(days=60)) == []  # the window passing changes nothing
    assert not objected.is_in_effect(T0 + timedelta(days=60))
    with pytest.raises(ValidationFailed, match="human reviewer"):
        decide_objection(objected, upheld=False, reviewer="system", answer="x", now=T0)  # type: ignore[arg-type]

    withdrawn, event = decide_objection(
        objected, upheld=True, reviewer=REVIEWER, answer="payment receipt verified", now=T0 + timedelta(days=5)
    )
    assert withdrawn.state is ListingState.WITHDRAWN and withdrawn.effective_from is None
    assert "never took effect" in event.summary
    with pytest.raises(Conflict):
        activate_after_window(withdrawn, now=T0 + timedelta(days=60))


def test_rejected_objection_activates_at_decision() -> None:
    objected, _ = lodge_objection(noticed(), DEFAULTERS, grounds="not me", lodged_by="S1", now=T0 + timedelta(days=1))
    decided_at = T0 + timedelta(days=9)
    listed, event = decide_objection(
        objected, upheld=False, reviewer=REVIEWER, answer="ID number matches the judgement", now=decided_at
    )
    assert listed.state is ListingState.ACTIVE and listed.effective_from == decided_at
    assert listed.expires_at == add_months(decided_at, 24)
    assert event.actor == "rev-1"


def test_objection_after_deadline_is_refused() -> None:
    listing = noticed()
    with pytest.raises(Conflict, match="closed"):
        lodge_objection(listing, DEFAULTERS, grounds="late", lodged_by="S1", now=T0 + timedelta(days=16))


def test_automatic_expiry_at_maximum_duration() -> None:
    listing = active()
    assert listing.expires_at is not None
    assert listing.is_in_effect(listing.expires_at - timedelta(seconds=1))
    assert not listing.is_in_effect(listing.expires_at)  # the clock ends it even before the job runs
    with pytest.raises(Conflict, match="runs until"):
        expire(listing, now=listing.expires_at - timedelta(days=1))
    [(expired, event)] = due_transitions([listing], now=listing.expires_at + timedelta(hours=3))
    assert expired.state is ListingState.EXPIRED and expired.ended_at == listing.expires_at
    assert event.action == "expired"


def test_repair_needs_minimum_period_and_a_decision_in_time() -> None:
    listing = active()
    assert listing.effective_from is not None
    with pytest.raises(Conflict, match="minimum publication"):
        apply_for_repair(listing, DEFAULTERS, performance="paid", applied_by="S1", now=listing.effective_from)
    when = add_months(listing.effective_from, 12)
    pending, event = apply_for_repair(listing, DEFAULTERS, performance="paid in full", applied_by="S1", now=when)
    assert pending.state is ListingState.ACTIVE and pending.repair is not None
    assert pending.repair.decision_due == when + timedelta(days=3)
    assert overdue_repairs([pending], now=when + timedelta(days=4)) == [pending]
    with pytest.raises(ValidationFailed, match="checks"):
        decide_repair(pending, granted=True, reviewer=REVIEWER, checks=(), answer="ok", now=when)
    repaired, event = decide_repair(
        pending, granted=True, reviewer=REVIEWER, checks=("court confirmed payment",), answer="performed", now=when
    )
    assert repaired.state is ListingState.REPAIRED and not repaired.is_in_effect(when)
    assert event.action == "repaired"


def test_correction_request_opens_an_appeal_through_the_hook() -> None:
    opened: list[str] = []

    class Hook:
        def open_case(self, listing: Listing, request: object) -> str:
            opened.append(listing.id)
            return "appeal-77"

    listing, event = request_correction(
        active(), grounds="wrong case number", requested_by="S1", now=T0 + timedelta(days=20), hook=Hook()
    )
    assert opened == ["L1"]
    assert listing.corrections[-1].appeal_ref == "appeal-77"
    assert event.details["appeal"] == "appeal-77"


def _check(query: SubjectRecord, listings: dict[str, list[Listing]], context: str, now: datetime, agency: str):
    listed = [SubjectRecord(id="S1", kind=NameKind.PERSON, names=("Zhang Wei",), birth_dates=("1980-05-04",))]
    matcher = Matcher()
    matches = [matcher.compare(query, candidate) for candidate in listed]
    return check_subject(
        query,
        context=context,
        asking_agency=agency,
        matches=matches,
        listings_by_subject=listings,
        definitions=DEFINITIONS,
        memoranda=[TENDER_BAN, TAX_PRIORITY],
        now=now,
    )


QUERY = SubjectRecord(id="q1", kind=NameKind.PERSON, names=("张伟",), birth_dates=("1980-05-04",))


def test_check_is_context_bound_and_repair_propagates() -> None:
    listing = active()
    now = listing.effective_from + timedelta(days=1)  # type: ignore[operator]
    tender = _check(QUERY, {"S1": [listing]}, "Public Tender", now, "Finance Bureau")
    assert tender.outcome is CheckOutcome.RESTRICT
    [measure] = tender.measures
    assert measure.legal_basis == TENDER_BAN.legal_basis and measure.expires_at == listing.expires_at
    assert measure.match.is_match and "name_match" in measure.match.features
    assert tender.event().decision_kwargs()["outcome"]["outcome"] == "restrict"

    # Same listing, a context no memorandum names: nothing spills over.
    assert _check(QUERY, {"S1": [listing]}, "rail ticket", now, "Finance Bureau").outcome is CheckOutcome.ALLOW
    # An agency that signed no memorandum applies nothing.
    assert _check(QUERY, {"S1": [listing]}, "public tender", now, "Railway Bureau").outcome is CheckOutcome.ALLOW

    later = add_months(listing.effective_from, 12)  # type: ignore[arg-type]
    pending, _ = apply_for_repair(listing, DEFAULTERS, performance="paid", applied_by="S1", now=later)
    repaired, _ = decide_repair(pending, granted=True, reviewer=REVIEWER, checks=("paid",), answer="ok", now=later)
    assert _check(QUERY, {"S1": [repaired]}, "public tender", later, "Finance Bureau").outcome is CheckOutcome.ALLOW


def test_pending_listings_never_apply() -> None:
    for listing in (proposed(), noticed()):
        assert _check(QUERY, {"S1": [listing]}, "public tender", T0, "Finance Bureau").outcome is CheckOutcome.ALLOW


def test_redlist_gives_priority_and_restriction_outranks_it() -> None:
    redlisted = active(TAX_A, listing_id="L2")
    now = redlisted.effective_from + timedelta(days=1)  # type: ignore[operator]
    assert _check(QUERY, {"S1": [redlisted]}, "subsidy", now, "Finance Bureau").outcome is CheckOutcome.PRIORITY
    both = {"S1": [redlisted, active()]}
    result = _check(QUERY, both, "public tender", now, "Finance Bureau")
    assert result.outcome is CheckOutcome.RESTRICT and len(result.measures) == 2


def test_unmatched_subject_is_allowed() -> None:
    stranger = SubjectRecord(id="q2", kind=NameKind.PERSON, names=("Li Na",))
    listing = active()
    now = listing.effective_from + timedelta(days=1)  # type: ignore[operator]
    result = _check(stranger, {"S1": [listing]}, "public tender", now, "Finance Bureau")
    assert result.outcome is CheckOutcome.ALLOW and not result.measures


def test_memorandum_cannot_restrict_through_a_redlist() -> None:
    wrong = replace(TAX_PRIORITY, measure=Measure("ban", "banned", MeasureEffect.RESTRICT))
    assert not wrong.fits(TAX_A)
    with pytest.raises(ValidationFailed, match="contexts"):
        replace(TENDER_BAN, contexts=frozenset())
