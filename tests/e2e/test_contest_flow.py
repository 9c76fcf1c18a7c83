"""The loop the platform exists for, in a real browser: a citizen contests a decision, a reviewer
overturns it with reasons, and the citizen sees the outcome and the reasons.

Set CIVICBRAIN_SCREENSHOTS to a folder to save a screenshot of each main page (for looking at them).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from civicbrain.core.models import Job
from tests.e2e.browsing import sign_in, sign_out, snapshot

pytestmark = pytest.mark.e2e
GROUNDS = "My household income dropped to the lowest band in September; the data used is out of date."
REASONS = "The Civil Affairs record for September confirms the lowest income band, so the concession applies."


def test_citizen_contests_reviewer_overturns_citizen_sees_outcome_and_reasons(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="What this platform refuses to build")).to_be_visible()
    snapshot(page, "portal-home")

    # The citizen finds a decision about them and its receipt.
    sign_in(page, "citizen")
    expect(page).to_have_url(re.compile(r"/my-data$"))
    expect(page.get_by_role("heading", name="My data", exact=True)).to_be_visible()
    snapshot(page, "portal-my-data")
    receipt = page.locator("a.receipt code").first.inner_text().strip()
    assert re.fullmatch(r"[0-9a-f\-]{36}", receipt)

    # ... looks it up by receipt ...
    page.get_by_role("link", name="Look up a decision").click()
    page.get_by_label("Receipt").fill(receipt)
    page.get_by_role("button", name="Look up").click()
    expect(page).to_have_url(re.compile(f"/decisions/{receipt}$"))
    expect(page.get_by_role("heading", name="Why")).to_be_visible()
    expect(page.get_by_text("This decision has not been contested.")).to_be_visible()
    snapshot(page, "portal-decision")

    # ... and contests it.
    page.get_by_label("Your grounds").fill(GROUNDS)
    page.get_by_role("button", name="Contest this decision").click()
    expect(page.get_by_text("Your appeal was filed")).to_be_visible()
    expect(page.locator(".appeal .grounds")).to_have_text(GROUNDS)
    sign_out(page)

    # A reviewer finds it in the queue and overturns it with written reasons.
    sign_in(page, "reviewer")
    expect(page).to_have_url(re.compile(r"/reviews$"))
    case = page.locator("article.case", has_text=GROUNDS)
    expect(case).to_have_count(1)
    expect(case.get_by_role("link", name=receipt)).to_be_visible()
    snapshot(page, "portal-reviews")
    case.get_by_label("Overturn").check()
    case.get_by_label("Written reasons").fill("Agreed.")
    case.get_by_role("button", name="Record decision").click()
    # HTMX swaps in just this case with the error naming the field; the choice made is kept.
    expect(case.locator(".field-error")).to_contain_text("Reasons: write the reasons")
    expect(case.locator(".error-summary")).to_be_focused()
    expect(case.get_by_label("Overturn")).to_be_checked()
    case.get_by_label("Written reasons").fill(REASONS)
    case.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text("was decided and recorded in the ledger")).to_be_visible()
    expect(page.locator("article.case", has_text=GROUNDS)).to_have_count(0)
    sign_out(page)

    # The citizen signs in again and sees the outcome and the reasons.
    sign_in(page, "citizen")
    appeal = page.locator("article.appeal", has_text=GROUNDS)
    expect(appeal.locator(".tag")).to_have_text("overturned")
    expect(appeal.locator(".reasons")).to_have_text(REASONS)
    appeal.get_by_role("link", name=re.compile("decision")).click()
    expect(page).to_have_url(re.compile(f"/decisions/{receipt}$"))
    history = page.locator("#review-history")
    expect(history.locator("article.appeal .tag")).to_have_text("overturned")
    expect(history.locator(".reasons")).to_have_text(REASONS)
    expect(history.get_by_text("human review")).to_be_visible()
    expect(page.get_by_role("button", name="Contest this decision")).to_have_count(0)
    snapshot(page, "portal-decision-overturned")


def test_register_card_draws_the_fairness_chart_with_the_vendored_plotly(page: Page) -> None:
    page.goto("/register")
    snapshot(page, "portal-register")
    page.get_by_role("link", name="Public-transport fare concession eligibility").click()
    expect(page.get_by_role("heading", name="Fairness audit")).to_be_visible()
    expect(page.locator(".chart .main-svg").first).to_be_visible()  # Plotly drew it (no CDN, CSP allows it)
    expect(page.locator(".chart .bars path")).not_to_have_count(0)
    snapshot(page, "portal-register-card")


def test_audit_and_officer_pages(page: Page) -> None:
    sign_in(page, "auditor")
    expect(page.get_by_text("Intact.")).to_be_visible()  # fetched by HTMX after the page loaded
    snapshot(page, "portal-audit")
    sign_out(page)
    sign_in(page, "officer")
    expect(page.get_by_role("heading", name="civil-affairs / household_income")).to_be_visible()
    snapshot(page, "portal-officer")


def test_job_progress_updates_in_place_through_htmx(page: Page, live_runtime) -> None:  # type: ignore[no-untyped-def]
    job_id = str(uuid.uuid4())
    with live_runtime.unit() as ctx:
        ctx.session.add(
            Job(
                id=job_id,
                kind="concessions_reassess",
                status="running",
                done=10,
                total=40,
                params={},
                created_by="officer",
                created_at=datetime.now(UTC),
            )
        )
    sign_in(page, "officer")
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("progress")).to_have_attribute("value", "25")
    snapshot(page, "portal-job")
    with live_runtime.unit() as ctx:
        job = ctx.session.get(Job, job_id)
        job.status, job.done, job.result = "done", 40, {"assessed": 40}
    # No reload: the HTMX poll swaps the fragment in and then stops polling.
    expect(page.locator(f"#job-{job_id} .tag")).to_have_text("done", timeout=5_000)
    expect(page.locator("progress")).to_have_attribute("value", "100")
    expect(page.locator(f"#job-{job_id}")).not_to_have_attribute("hx-get", re.compile(".*"))
