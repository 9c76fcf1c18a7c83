"""The health portal pages render for the people they are for, refuse the others, and post through CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civicbrain.api import create_app
from civicbrain.core.context import Runtime
from civicbrain.demo.city import seed_city
from civicbrain.services.health import SERVICE as HEALTH
from tests.support import TEST_CARDS, TEST_SERVICES, demo_passwords

PASSWORDS = demo_passwords()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def portal(settings, engine, clock) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    runtime = Runtime(settings, (*TEST_SERVICES, HEALTH), engine=engine, clock=clock, extra_cards=TEST_CARDS)
    with runtime.unit(actor="seed") as ctx:
        seed_city(ctx, people=40)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield client


def csrf(client: TestClient, path: str) -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no form on {path}"
    return match.group(1)


def sign_in(client: TestClient, username: str) -> None:
    data = {"username": username, "password": PASSWORDS[username], "csrf_token": csrf(client, "/login")}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        (None, "/health", 200),
        (None, "/health/pool", 200),
        (None, "/health/epidemic", 200),
        ("citizen", "/health", 200),
        ("citizen", "/health/wearables", 200),
        ("citizen", "/health/queue", 403),
        ("citizen", "/health/village-doctor", 403),
        ("admin", "/health/queue", 403),
        ("clinician", "/health/queue", 200),
        ("clinician", "/health/village-doctor", 200),
        ("clinician", "/health/pool", 200),
        ("reviewer", "/health/pool", 200),
        ("citizen", "/my-data", 200),  # the core page, listing what health holds about the citizen
    ],
)
def test_who_sees_which_page(portal, who, path, status):
    if who:
        sign_in(portal, who)
    assert portal.get(path, follow_redirects=False).status_code == status


def test_the_queue_shows_the_seeded_hand_over_and_a_review_goes_through_htmx(portal):
    sign_in(portal, "clinician")
    page = portal.get("/health/queue").text
    case_id = re.search(r'id="case-([0-9a-f\-]{36})"', page).group(1)
    assert "Differential" in page and "Evidence for" in page
    token = csrf(portal, "/health/queue")
    missing = portal.post(
        f"/health/consultations/{case_id}/review",
        data={"csrf_token": token, "outcome": "corrected"},
        headers={"HX-Request": "true"},
    )
    assert missing.status_code == 422 and "Your diagnosis" in missing.text and f'id="case-{case_id}"' in missing.text
    done = portal.post(
        f"/health/consultations/{case_id}/review",
        data={"csrf_token": token, "outcome": "corrected", "diagnosis": "Pneumonia", "urgency": "emergency"},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 200 and "Review recorded" in done.text
    no_token = portal.post(f"/health/consultations/{case_id}/review", data={"outcome": "confirmed"})
    assert no_token.status_code == 403


def test_a_member_claims_through_the_pool_page_with_a_document(portal, clock):
    sign_in(portal, "citizen")  # a member since the demo seeding, long past the waiting period
    token = csrf(portal, "/health/pool")
    diagnosed = (clock.now - timedelta(days=6)).date()
    form = {
        "csrf_token": token,
        "illness": "C50",
        "diagnosed_on": diagnosed.isoformat(),
        "treatment_start": diagnosed.isoformat(),
        "treatment_end": (diagnosed + timedelta(days=2)).isoformat(),
        "amount": "4200.00",
    }
    files = [("documents", ("report.pdf", b"pathology report of Wang Fang", "application/pdf"))]
    sent = portal.post("/health/pool/claims", data=form, files=files, follow_redirects=False)
    assert sent.status_code == 303 and "in_public_notice" in sent.headers["location"]
    again = portal.post("/health/pool/claims", data=form, files=files, follow_redirects=True)
    assert "already submitted with claim" in again.text  # the same document, refused with the reason
    bad = portal.post("/health/pool/claims", data=form | {"diagnosed_on": "yesterday"}, files=files)
    assert bad.status_code == 422 and "diagnosed_on" in bad.text.replace("Diagnosed on", "diagnosed_on")


def test_the_epidemic_pages_keep_answers_in_the_form_only(portal, clock):
    token = csrf(portal, "/health/epidemic")
    step = portal.post("/health/epidemic", data={"csrf_token": token, "a_severe_breathing": "no"})
    assert step.status_code == 200 and 'name="a_severe_breathing" value="no"' in step.text
    advice = portal.post("/health/epidemic", data={"csrf_token": token, "a_severe_breathing": "yes"})
    assert "Go to hospital" in advice.text
    day = (clock.now - timedelta(days=5)).date().isoformat()
    match = portal.post("/health/exposure", data={"csrf_token": token, "number": "CA 1234", "travel_date": day})
    assert "confirmed case 2026-118" in match.text


def test_the_core_decision_page_explains_the_ai_doctors_suggestion(portal):
    sign_in(portal, "clinician")
    queue = portal.get("/health/queue").text
    receipt = re.search(r'href="/decisions/([0-9a-f\-]{36})"', queue).group(1)
    page = portal.get(f"/decisions/{receipt}")
    assert page.status_code == 200 and "A clinician will review this consultation" in page.text
    sign_in(portal, "citizen2")  # the patient of the seeded hand-over (Li Wei, P0002)
    assert portal.get(f"/decisions/{receipt}").status_code == 200
    sign_in(portal, "citizen")
    assert portal.get(f"/decisions/{receipt}").status_code == 404
