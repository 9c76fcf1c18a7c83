"""The credit loop in a real browser (issue 4): an officer proposes a listing; the resident receives
the notice and objects; a reviewer upholds the objection (overturns the notice); the listing never
appears publicly. A second listing goes live after its window, restricts a tender check, and
disappears from the public query and the check the moment it is repaired.

The server runs the real app on a loopback port with a clock the test moves (windows and repair
periods are weeks and months); the daily job is run in-process, as the scheduler would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from civicbrain.core.context import Runtime
from civicbrain.services.credit import SERVICE as CREDIT
from civicbrain.services.credit import service
from civicbrain.services.credit.feeds import ENFORCEMENT_OUTCOMES
from tests.conftest import Clock
from tests.e2e.browsing import sign_in, sign_out
from tests.e2e.conftest import seeded_runtime
from tests.support import TEST_SERVICES

pytestmark = pytest.mark.e2e
LI_WEI_ID = "350181195508120031"
CASES = ("(2026) Min 01 Zhi 401", "(2026) Min 01 Zhi 402")
OBJECTION = "I repaid this debt in July; the creditor's receipt is attached to my file."
REVIEW = "The creditor confirms repayment in July 2026, so the listing is withdrawn."


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def live_runtime(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[Runtime]:
    runtime = seeded_runtime(tmp_path_factory.mktemp("e2e-credit"), (*TEST_SERVICES, CREDIT), clock=clock)
    with runtime.unit(actor="seed") as ctx:
        feed = ctx.exchange.feed(ENFORCEMENT_OUTCOMES.agency_id, ENFORCEMENT_OUTCOMES.name)
        ctx.exchange.post_records(
            feed,
            [
                {
                    "case_number": case,
                    "subject_kind": "person",
                    "subject_name": "Li Wei",
                    "id_number": LI_WEI_ID,
                    "birth_date": "1955-08-12",
                    "person_id": "P0002",
                    "obligation": "repay RMB 30,000 to a supplier",
                    "outcome": "unperformed",
                    "decided_on": "2026-10-01",
                }
                for case in CASES
            ],
        )
    # The matcher's name analysis builds its transliterators on first use (seconds on a loaded
    # machine): do it before the browser's first check, as a server does before taking traffic.
    warm_up_matcher()
    yield runtime
    runtime.engine.dispose()


def warm_up_matcher() -> None:
    from civicbrain.services.credit.domain.matching import Matcher, SubjectRecord
    from civicbrain.services.credit.domain.names import NameKind

    query = SubjectRecord(id="warm-up-query", kind=NameKind.PERSON, names=("Li Wei",))
    Matcher().compare(query, SubjectRecord(id="warm-up-candidate", kind=NameKind.PERSON, names=("李伟",)))


def propose(page: Page, case: str, reason: str) -> None:
    sign_in(page, "court-officer")
    page.goto("/credit/officer")
    page.get_by_label("List", exact=True).select_option("court-judgement-defaulters")
    page.get_by_label("Record that meets the criteria").select_option(label=f"{case} — Li Wei")
    page.get_by_label("Reasons (the subject reads these)").fill(reason)
    page.get_by_role("button", name="Propose listing and send notice").click()
    expect(page.get_by_text("Listing proposed; the notice was sent")).to_be_visible()
    sign_out(page)


def public_query(page: Page) -> None:
    page.goto("/credit")
    page.get_by_label("Name or unified social credit code").fill("Li Wei")
    page.get_by_role("button", name="Search").click()


def tender_check(page: Page) -> None:
    sign_in(page, "tender-officer")
    page.goto("/credit/officer")
    page.get_by_label("Context", exact=True).fill("public tender")
    page.get_by_label("ID number or unified social credit code").fill(LI_WEI_ID)
    page.get_by_role("button", name="Check", exact=True).click()


def run_daily_job(runtime: Runtime) -> None:
    with runtime.unit(actor="scheduler") as ctx:
        service.expire_due(ctx)


def test_objection_upheld_never_public_then_live_listing_restricts_until_repaired(
    page: Page, live_runtime: Runtime, clock: Clock
) -> None:
    propose(page, CASES[0], "did not repay RMB 30,000 ordered in (2026) Min 01 Zhi 401")

    # The resident finds the notice on "my credit" and objects.
    sign_in(page, "citizen2")
    page.goto("/credit/me")
    notice = page.locator("article.listing[data-state='notice_sent']")
    expect(notice).to_have_count(1)
    expect(notice.get_by_text("Object by")).to_be_visible()
    notice.get_by_label("Your objection: why this listing is wrong").fill(OBJECTION)
    notice.get_by_role("button", name="Object to this listing").click()
    expect(page.get_by_text("Your objection was filed")).to_be_visible()
    expect(page.locator("article.listing[data-state='objected']")).to_have_count(1)
    sign_out(page)

    # A reviewer upholds the objection: the notice is overturned with written reasons.
    sign_in(page, "reviewer")
    page.goto("/reviews")
    case = page.locator("article.case", has_text=OBJECTION)
    expect(case).to_have_count(1)
    case.get_by_label("Overturn").check()
    case.get_by_label("Written reasons").fill(REVIEW)
    case.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text("was decided and recorded in the ledger")).to_be_visible()
    sign_out(page)

    # Withdrawn, and it never appears publicly, not even after the window would have closed.
    clock.advance(days=16)
    run_daily_job(live_runtime)
    public_query(page)
    expect(page.get_by_text("No listing in force matches")).to_be_visible()
    sign_in(page, "citizen2")
    page.goto("/credit/me")
    withdrawn = page.locator("article.listing[data-state='withdrawn']")
    expect(withdrawn.locator(".reasons")).to_have_text(REVIEW)
    sign_out(page)

    # A second listing: no objection, so it takes effect when the window closes.
    propose(page, CASES[1], "did not repay RMB 30,000 ordered in (2026) Min 01 Zhi 402")
    clock.advance(days=16)
    run_daily_job(live_runtime)
    public_query(page)
    entry = page.locator("article.listing-public")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("3501**********0031")
    expect(entry).not_to_contain_text(LI_WEI_ID)
    tender_check(page)
    result = page.locator("article.check-result")
    expect(result).to_have_attribute("data-outcome", "restrict")
    expect(result).to_contain_text("excluded from government procurement tenders")
    sign_out(page)

    # A year on, he has paid: he applies for repair and the court grants it.
    clock.advance(days=370)
    sign_in(page, "citizen2")
    page.goto("/credit/me")
    active = page.locator("article.listing[data-state='active']")
    active.get_by_label("How the obligation was performed").fill("Paid the supplier in full on 3 November 2027.")
    active.get_by_role("button", name="Apply for credit repair").click()
    expect(page.get_by_text("Your repair application was filed")).to_be_visible()
    sign_out(page)
    sign_in(page, "court-officer")
    page.goto("/credit/officer")
    row = page.locator("tr", has_text="Paid the supplier in full")
    row.get_by_label("Grant repair").check()
    row.get_by_label("Checks made (one a line)").fill("supplier confirms payment")
    row.get_by_label("Reasons").fill("The obligation in the judgement is performed.")
    row.get_by_role("button", name="Record repair decision").click()
    expect(page.get_by_text("Repair decision recorded")).to_be_visible()
    sign_out(page)

    # Gone from the public query and from the check at once: no job in between.
    public_query(page)
    expect(page.get_by_text("No listing in force matches")).to_be_visible()
    tender_check(page)
    expect(page.locator("article.check-result")).to_have_attribute("data-outcome", "allow")
    expect(page.get_by_role("link", name=re.compile("Credit")).first).to_be_visible()
