"""The AI doctor in a real browser: a patient runs a consultation in the chat to the end; a clinician opens
it in the queue and corrects it; the patient sees the clinician's review.

Set CIVICBRAIN_SCREENSHOTS to a folder to save a screenshot of each main page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from civicbrain.services.health import SERVICE as HEALTH
from civicbrain.services.health.domain.doctor import initial_complaints
from civicbrain.services.health.domain.knowledge_base import BINARY, load_knowledge_base
from tests.e2e.browsing import sign_in, sign_out, snapshot
from tests.support import TEST_SERVICES

pytestmark = pytest.mark.e2e
PATHOLOGY = "GERD"  # the simulated patient answers as someone with reflux would
CORRECTION = "Stable angina"


@pytest.fixture(scope="module")
def e2e_services() -> tuple[object, ...]:
    return (*TEST_SERVICES, HEALTH)


def answer_current_question(page: Page) -> None:
    kb = load_knowledge_base()
    present = kb.pathologies[PATHOLOGY].evidences
    form = page.locator("form.question-form")
    code = form.locator("input[name=code]").get_attribute("value")
    kind = form.locator("input[name=kind]").get_attribute("value")
    assert code is not None
    evidence = kb.evidences[code]
    if kind == "yes_no":
        assert evidence.data_type == BINARY
        form.get_by_role("button", name="Yes" if code in present else "No", exact=True).click()
    elif kind == "choose_one":
        form.locator(f"input[type=radio][value='{evidence.default}']").check()
        form.get_by_role("button", name="Next").click()
    else:  # choose any: this patient ticks none
        form.get_by_role("button", name="Next").click()


def test_patient_consults_clinician_corrects_patient_sees_review(page: Page) -> None:
    sign_in(page, "citizen")
    page.goto("/health")
    expect(page.get_by_role("heading", name="Start a consultation")).to_be_visible()
    present = load_knowledge_base().pathologies[PATHOLOGY].evidences
    first = next(code for code, _question in initial_complaints() if code in present)
    page.get_by_label("What is your main complaint?").select_option(first)
    page.get_by_label("Your age").fill("52")
    page.get_by_label("Male", exact=True).check()
    page.get_by_role("button", name="Start").click()
    # Without consent nothing starts, and the form says why.
    expect(page.locator(".error-summary")).to_contain_text("consent")
    page.get_by_label("What is your main complaint?").select_option(first)
    page.get_by_label(re.compile("I agree")).check()
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/health/consultations/[0-9a-f\-]{36}$"))
    consultation_id = page.url.rsplit("/", 1)[1]
    snapshot(page, "health-chat")

    outcome = page.get_by_role("heading", name="What it might be")
    for asked in range(1, 31):
        if outcome.is_visible():
            break
        answer_current_question(page)
        # HTMX swaps the chat: one more line in the transcript, or the outcome.
        expect(page.locator("ol.transcript li").nth(asked).or_(outcome).first).to_be_visible()
    expect(outcome).to_be_visible()
    expect(page.get_by_text("A clinician will review this consultation.")).to_be_visible()
    expect(page.locator("ol.differential li").first).to_be_visible()
    snapshot(page, "health-chat-outcome")
    sign_out(page)

    sign_in(page, "clinician")
    page.goto("/health/queue")
    case = page.locator(f"#case-{consultation_id}")
    expect(case).to_be_visible()
    expect(case.locator("table.differential tbody tr").first).to_be_visible()
    snapshot(page, "health-queue")
    case.get_by_label("Correct it").check()
    case.get_by_label(re.compile("Your diagnosis")).fill(CORRECTION)
    case.get_by_label(re.compile("Urgency")).select_option("emergency")
    case.get_by_label("Notes").fill("Exertional chest pain; ECG needed.")
    case.get_by_role("button", name="Record review").click()
    expect(page.locator(f"#case-{consultation_id}")).to_contain_text("Review recorded")
    expect(page.locator(f"#case-{consultation_id}")).to_contain_text(CORRECTION)
    sign_out(page)

    sign_in(page, "citizen")
    page.goto(f"/health/consultations/{consultation_id}")
    expect(page.get_by_role("heading", name="The clinician's review")).to_be_visible()
    expect(page.get_by_text(CORRECTION)).to_be_visible()


def test_pool_wearables_epidemic_and_village_doctor_pages_work_in_the_browser(page: Page) -> None:
    sign_in(page, "citizen")
    page.goto("/health/pool")
    expect(page.get_by_role("heading", name="My membership")).to_be_visible()
    expect(page.get_by_role("heading", name="What my fees paid for")).to_be_visible()
    expect(page.locator("table.data").first).to_contain_text("Cerebral infarction")  # the seeded paid claim
    snapshot(page, "health-pool")
    page.goto("/health/wearables")
    page.get_by_role("button", name="I agree to heart-rate alerts").click()
    expect(page.get_by_role("button", name="Withdraw my consent")).to_be_visible()
    page.goto("/health/epidemic")
    page.get_by_role("button", name="Yes", exact=True).click()  # severely short of breath
    expect(page.get_by_role("heading", name="Go to hospital")).to_be_visible()
    snapshot(page, "health-epidemic")
    sign_out(page)

    sign_in(page, "clinician")
    page.goto("/health/village-doctor")
    page.get_by_label("Symptoms").fill("Sore throat and fever since yesterday, no cough.")
    page.get_by_role("button", name="Suggest").click()
    expect(page.get_by_role("heading", name="Most likely")).to_be_visible()
    expect(page.get_by_role("heading", name="Ask next")).to_be_visible()
    snapshot(page, "health-village-doctor")
