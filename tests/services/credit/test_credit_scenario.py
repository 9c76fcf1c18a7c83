"""The issue's browser scenario, at the domain level: an upheld objection never goes public;
a second listing goes live, restricts a tender check, and disappears from the public view
and the check the moment it is repaired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civicbrain.services.credit.domain.blocking import CandidateIndex, screen
from civicbrain.services.credit.domain.catalogue import COURT_DEFAULTERS, LISTS, MEMORANDA
from civicbrain.services.credit.domain.listing import (
    HumanReviewer,
    Listing,
    add_months,
    apply_for_repair,
    decide_objection,
    decide_repair,
    due_transitions,
    lodge_objection,
    propose_listing,
    send_notice,
)
from civicbrain.services.credit.domain.matching import Matcher, SubjectRecord
from civicbrain.services.credit.domain.measures import CheckOutcome, check_subject
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.domain.public import public_entry

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
OFFICER = "officer-12"
REVIEWER = HumanReviewer("rev-3", "objection reviewer")
DEFINITIONS = {d.code: d for d in LISTS}
FIRM = SubjectRecord(
    id="firm-1",
    kind=NameKind.ORGANIZATION,
    names=("福州金山建设有限公司", "Fuzhou Jinshan Construction Co., Ltd."),
    identifiers=("91350100M000100Y43",),
)
PERSON = SubjectRecord(id="person-1", kind=NameKind.PERSON, names=("Chen Jing",), birth_dates=("1979-11-02",))


def _propose(listing_id: str, subject: SubjectRecord) -> Listing:
    listing, event = propose_listing(
        COURT_DEFAULTERS,
        listing_id=listing_id,
        subject_id=subject.id,
        reasons=("did not pay RMB 1.2m ordered in (2025) Min 01 Zhi 77",),
        facts=("record:court:77",),
        proposed_by=OFFICER,
        now=T0,
    )
    listing, _ = send_notice(listing, COURT_DEFAULTERS, now=T0, sent_by=OFFICER, channel="portal")
    return listing


def _tender_check(query: SubjectRecord, listings: list[Listing], now: datetime) -> CheckOutcome:
    index = CandidateIndex()
    index.add_all([FIRM, PERSON])
    by_subject: dict[str, list[Listing]] = {}
    for listing in listings:
        by_subject.setdefault(listing.subject_id, []).append(listing)
    return check_subject(
        query,
        context="public tender",
        asking_agency="Finance Bureau",
        matches=screen(Matcher(), index, query),
        listings_by_subject=by_subject,
        definitions=DEFINITIONS,
        memoranda=MEMORANDA,
        now=now,
    ).outcome


def test_objection_upheld_never_public_and_repair_ends_everything() -> None:
    # First listing: the citizen objects, a reviewer upholds; it never appears anywhere.
    first = _propose("L-1", PERSON)
    first, _ = lodge_objection(
        first, COURT_DEFAULTERS, grounds="the debt was settled", lodged_by=PERSON.id, now=T0 + timedelta(days=3)
    )
    first, _ = decide_objection(
        first, upheld=True, reviewer=REVIEWER, answer="settlement on file", now=T0 + timedelta(days=6)
    )
    for day in (0, 20, 400):
        moment = T0 + timedelta(days=day)
        assert public_entry(first, COURT_DEFAULTERS, PERSON, moment) is None
        assert _tender_check(PERSON, [first], moment) is CheckOutcome.ALLOW

    # Second listing: no objection, takes effect after the window, restricts tenders.
    second = _propose("L-2", FIRM)
    query = SubjectRecord(id="bidder", kind=NameKind.ORGANIZATION, names=("FUZHOU JINSHAN CONSTRUCTION CO LTD",))
    assert _tender_check(query, [second], T0 + timedelta(days=10)) is CheckOutcome.ALLOW  # window still open
    [(second, _)] = due_transitions([second], now=T0 + timedelta(days=16))
    live = T0 + timedelta(days=17)
    assert public_entry(second, COURT_DEFAULTERS, FIRM, live) is not None
    assert _tender_check(query, [second], live) is CheckOutcome.RESTRICT
    by_id = SubjectRecord(
        id="bidder-2", kind=NameKind.ORGANIZATION, names=("Other name",), identifiers=FIRM.identifiers
    )
    assert _tender_check(by_id, [second], live) is CheckOutcome.RESTRICT

    # Repair: the moment it is granted, public view and check both drop it.
    when = add_months(second.effective_from, 12)  # type: ignore[arg-type]
    second, _ = apply_for_repair(second, COURT_DEFAULTERS, performance="paid in full", applied_by=FIRM.id, now=when)
    second, _ = decide_repair(
        second, granted=True, reviewer=REVIEWER, checks=("court confirms payment",), answer="performed", now=when
    )
    assert public_entry(second, COURT_DEFAULTERS, FIRM, when) is None
    assert _tender_check(query, [second], when) is CheckOutcome.ALLOW
