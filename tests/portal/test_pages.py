"""The portal's pages: each renders for the roles it serves and refuses the others with a real status
code (403/404, not just a hidden link); sign-in, CSRF and form errors that name the field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from markupsafe import escape
from sqlalchemy import func, select, text

from civicbrain.core.models import Appeal, ErasureRequest, Job
from civicbrain.portal.content import REFUSED_USES
from tests.portal.conftest import csrf_of, receipt_of, sign_in

STAFF_AND_CITIZENS = ("citizen", "officer", "reviewer", "auditor", "admin")


def html(response) -> str:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    return response.text


def appeals_count(runtime) -> int:  # type: ignore[no-untyped-def]
    with runtime.unit() as ctx:
        return int(ctx.session.scalar(select(func.count()).select_from(Appeal)) or 0)


# --- public pages --------------------------------------------------------------------------------


def test_home_says_where_and_why_ai_is_used_how_to_contest_and_what_is_refused(client):
    page = html(client.get("/"))
    assert "Fare concessions" in page  # the services this instance runs
    assert "Public-transport fare concession eligibility" in page  # from the register
    assert "Every refusal can be contested by its receipt" in page  # the card's human oversight
    assert "How to contest a decision and reach a human" in page
    for title, _why in REFUSED_USES:
        assert str(escape(title)) in page
    assert 'href="/login"' in page


def test_register_lists_cards_with_owner_status_and_live_figures(client):
    page = html(client.get("/register"))
    assert "Public-transport fare concession eligibility" in page
    assert "civil-affairs" in page
    assert "Decisions recorded</dt><dd>40" in page  # one live decision per demo resident
    assert 'href="/api/v1/register/export"' in page


def test_register_card_shows_every_field_and_the_fairness_audit(client):
    page = html(client.get("/register/concessions.fare_eligibility"))
    for expected in (
        "Demo City Public Transport Concession Ordinance",
        "income_band",
        "financial",
        "Three published rules",
        "Stale income data",
        "Refusals name the data used",
        "rules implemented as published",
    ):
        assert expected in page
    assert "Favourable outcome rate and error rate by group" in page  # the audit table
    for attribute in ("Region", "Age band", "Sex"):
        assert attribute in page
    assert 'data-plot="audit-chart-data"' in page and '"type": "bar"' in page  # the Plotly chart's data
    assert 'src="/static/portal.js"' in page  # loads the vendored plotly.min.js for the chart


def test_unknown_card_is_a_friendly_404_page(client):
    response = client.get("/register/concessions.no_such_rule")
    assert response.status_code == 404
    assert "no algorithm" in html(response)


def test_unknown_page_is_html_but_api_errors_keep_their_json_shape(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "Page not found" in html(page)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    api_auth = client.get(f"/api/v1/decisions/{uuid.uuid4()}")
    assert api_auth.status_code == 401 and api_auth.json()["error"]["code"] == "unauthenticated"


def test_portal_pages_carry_security_headers_and_the_api_is_untouched(client):
    page = client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in client.get("/api/v1/health").headers


def test_vendored_scripts_are_served_locally(client):
    htmx = client.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:2000]
    plotly = client.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000
    assert "cdn" not in html(client.get("/register/concessions.fare_eligibility")).lower()


# --- signing in and out ----------------------------------------------------------------------------


def test_sign_in_lands_on_the_roles_page_and_sign_out_ends_the_session(client):
    response = sign_in(client, "citizen")
    assert response.headers["location"] == "/my-data"
    page = html(client.get("/my-data"))
    assert "Wang Fang" in page and "Sign out" in page
    out = client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/my-data", follow_redirects=False).status_code == 303  # back to the sign-in page


def test_wrong_password_re_renders_the_form_naming_the_field(client):
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"username": "citizen", "password": "wrong", "csrf_token": token})
    assert response.status_code == 401
    page = html(response)
    assert "unknown username or wrong password" in page and 'id="password-error"' in page
    assert 'value="citizen"' in page  # what was typed is kept


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client):
    token = csrf_of(client, "/login")
    data = {"username": "reviewer", "password": "demo-reviewer-pass", "csrf_token": token, "next": "/audit"}
    assert client.post("/login", data=data, follow_redirects=False).headers["location"] == "/audit"
    token = csrf_of(client, "/")
    data = {"username": "reviewer", "password": "demo-reviewer-pass", "csrf_token": token, "next": "//evil.example"}
    assert client.post("/login", data=data, follow_redirects=False).headers["location"] == "/reviews"


def test_pages_that_need_a_user_send_anonymous_visitors_to_sign_in(client, receipt):
    for path in ("/my-data", "/reviews", "/audit", "/officer", "/decisions", f"/decisions/{receipt}"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=/"), path


# --- CSRF ---------------------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused(client, seeded, receipt):
    no_token = client.post("/login", data={"username": "citizen", "password": "demo-citizen-pass"})
    assert no_token.status_code == 403 and "reload the page" in html(no_token)
    sign_in(client, "citizen")
    forged = client.post(f"/decisions/{receipt}/contest", data={"grounds": "forged", "csrf_token": "not-the-token"})
    assert forged.status_code == 403
    assert appeals_count(seeded) == 0


def test_the_csrf_token_changes_at_sign_in(client):
    before = csrf_of(client, "/login")
    sign_in(client, "citizen")
    assert csrf_of(client, "/my-data") != before


# --- decisions ----------------------------------------------------------------------------------------


def test_citizen_reads_their_decision_with_explanation_and_a_contest_form(client, receipt):
    sign_in(client, "citizen")
    page = html(client.get(f"/decisions/{receipt}"))
    assert "fare concession" in page  # the explanation's summary
    assert "Rules" in page and "household income band is" in page  # the rules, rendered generically
    assert "Data used" in page and "income_band" in page.lower().replace(" ", "_")
    assert "live</strong> mode" in page and "Yes, it took effect." in page
    assert "Every refusal can be contested by its receipt" in page  # human oversight from the card
    assert "Contest this decision" in page and 'name="grounds"' in page


def test_lookup_by_receipt_redirects_and_a_malformed_receipt_names_the_field(client, receipt):
    sign_in(client, "citizen")
    found = client.get("/decisions", params={"receipt": receipt.upper()}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/decisions/{receipt}"
    bad = client.get("/decisions", params={"receipt": "not a receipt"})
    assert bad.status_code == 422
    page = html(bad)
    assert 'id="receipt-error"' in page and "Receipt" in page and 'aria-invalid="true"' in page


def test_someone_elses_decision_is_a_404_for_a_citizen(client, receipt):
    sign_in(client, "citizen2")
    response = client.get(f"/decisions/{receipt}")
    assert response.status_code == 404 and "no decision with receipt" in html(response)
    contest = client.post(f"/decisions/{receipt}/contest", data={"grounds": "x" * 20, "csrf_token": csrf_of(client)})
    assert contest.status_code == 404


@pytest.mark.parametrize("username", ["reviewer", "auditor", "admin", "officer"])
def test_staff_read_decisions_without_a_contest_form(client, receipt, username):
    sign_in(client, username)
    page = html(client.get(f"/decisions/{receipt}"))
    assert "Review history" in page and 'name="grounds"' not in page
    # auditors and officers see outcomes, not the personal inputs
    assert ("Data used" in page) == (username in ("reviewer", "admin"))


def test_only_the_subject_can_contest(client, seeded, receipt):
    sign_in(client, "reviewer")
    response = client.post(f"/decisions/{receipt}/contest", data={"grounds": "x" * 20, "csrf_token": csrf_of(client)})
    assert response.status_code == 403
    assert appeals_count(seeded) == 0


def test_contest_without_grounds_re_renders_the_form_naming_the_field(client, seeded, receipt):
    sign_in(client, "citizen")
    response = client.post(f"/decisions/{receipt}/contest", data={"grounds": "   ", "csrf_token": csrf_of(client)})
    assert response.status_code == 422
    page = html(response)
    assert 'id="grounds-error"' in page and "Grounds" in page and "say why you contest the decision" in page
    assert appeals_count(seeded) == 0


def test_contest_files_an_appeal_shown_on_the_decision_and_in_my_data(client, seeded, receipt):
    sign_in(client, "citizen")
    response = client.post(
        f"/decisions/{receipt}/contest",
        data={"grounds": "My income fell in September.", "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = html(client.get(response.headers["location"]))
    assert "Your appeal was filed" in page and "My income fell in September." in page
    assert 'name="grounds"' not in page  # no second appeal while one is open
    again = client.post(f"/decisions/{receipt}/contest", data={"grounds": "again", "csrf_token": csrf_of(client)})
    assert again.status_code == 409 and "already under review" in html(again)
    assert appeals_count(seeded) == 1
    assert "My income fell in September." in html(client.get("/my-data"))


# --- my data ------------------------------------------------------------------------------------------


def test_my_data_lists_decisions_with_receipts_records_and_the_download(client, receipt):
    sign_in(client, "citizen")
    page = html(client.get("/my-data"))
    assert f'href="/decisions/{receipt}"' in page
    assert 'href="/api/v1/me/data"' in page
    assert "household_income" in page and "civil-affairs" in page  # records held, from the feed
    assert client.get("/api/v1/me/data").json()["person"]["id"] == "P0001"  # the link works with the cookie


@pytest.mark.parametrize("username", ["officer", "reviewer", "auditor", "admin"])
def test_my_data_is_for_citizens_only(client, username):
    sign_in(client, username)
    assert client.get("/my-data").status_code == 403


def test_erasure_request_is_recorded_once(client, seeded):
    sign_in(client, "citizen")
    response = client.post("/my-data/erasure", data={"reason": "moving away", "csrf_token": csrf_of(client)})
    assert response.status_code == 200 and "Your erasure request was received" in html(response)
    assert "Your request is pending" in html(client.get("/my-data"))
    with seeded.unit() as ctx:
        rows = list(ctx.session.scalars(select(ErasureRequest)))
    assert [(r.person_id, r.reason, r.status) for r in rows] == [("P0001", "moving away", "pending")]


# --- review queue ---------------------------------------------------------------------------------------


def file_appeal(seeded, grounds: str = "The income data is from last year.") -> int:  # type: ignore[no-untyped-def]
    with seeded.unit() as ctx:
        return ctx.appeals.file(receipt=receipt_of(seeded), grounds=grounds, person_id="P0001").id


@pytest.mark.parametrize("username", ["citizen", "officer"])
def test_review_queue_is_refused_to_citizens_and_officers(client, seeded, username):
    file_appeal(seeded)
    sign_in(client, username)
    response = client.get("/reviews")
    assert response.status_code == 403 and "reviewer" in html(response)


def test_reviewer_sees_the_case_with_explanation_and_grounds(client, seeded, clock):
    appeal_id = file_appeal(seeded)
    clock.advance(days=31)
    sign_in(client, "reviewer")
    page = html(client.get("/reviews"))
    assert f"Appeal {appeal_id}" in page
    assert "The income data is from last year." in page
    assert "fare concession" in page  # the decision's explanation
    assert "1 overdue" in page and "tag-overdue" in page
    assert f'action="/reviews/{appeal_id}"' in page


def test_auditors_read_the_queue_but_cannot_decide(client, seeded):
    appeal_id = file_appeal(seeded)
    sign_in(client, "auditor")
    page = html(client.get("/reviews"))
    assert "only reviewers decide appeals" in page and f'action="/reviews/{appeal_id}"' not in page
    forced = client.post(
        f"/reviews/{appeal_id}",
        data={"outcome": "overturned", "reasons": "An auditor tries to decide.", "csrf_token": csrf_of(client)},
    )
    assert forced.status_code == 403
    with seeded.unit() as ctx:
        assert ctx.appeals.get(appeal_id).status == "open"


def test_short_reasons_re_render_the_queue_naming_the_field(client, seeded):
    appeal_id = file_appeal(seeded)
    sign_in(client, "reviewer")
    response = client.post(
        f"/reviews/{appeal_id}", data={"outcome": "overturned", "reasons": "too short", "csrf_token": csrf_of(client)}
    )
    assert response.status_code == 422
    page = html(response)
    assert 'id="reasons-error"' in page and "at least 10 characters" in page
    assert 'value="overturned" checked' in page  # the draft is kept
    no_outcome = client.post(
        f"/reviews/{appeal_id}", data={"reasons": "Long enough reasons here.", "csrf_token": csrf_of(client)}
    )
    assert no_outcome.status_code == 422 and 'id="outcome-error"' in html(no_outcome)


def test_htmx_decisions_answer_with_just_the_case(client, seeded):
    appeal_id = file_appeal(seeded)
    sign_in(client, "reviewer")
    htmx = {"HX-Request": "true"}
    token = csrf_of(client, "/reviews")
    short = client.post(
        f"/reviews/{appeal_id}", data={"outcome": "upheld", "reasons": "short", "csrf_token": token}, headers=htmx
    )
    assert short.status_code == 422
    fragment = html(short)
    assert fragment.lstrip().startswith("<article") and 'id="reasons-error"' in fragment
    done = client.post(
        f"/reviews/{appeal_id}",
        data={"outcome": "upheld", "reasons": "The income record was correct.", "csrf_token": token},
        headers=htmx,
    )
    assert done.status_code == 200
    assert "<html" not in done.text and "was decided and recorded in the ledger" in done.text
    with seeded.unit() as ctx:
        assert ctx.appeals.get(appeal_id).status == "upheld"


def test_overturn_is_recorded_and_the_citizen_sees_outcome_and_reasons(client, seeded):
    appeal_id = file_appeal(seeded)
    sign_in(client, "reviewer")
    reasons = "The September income record shows the lowest band."
    response = client.post(
        f"/reviews/{appeal_id}",
        data={"outcome": "overturned", "reasons": reasons, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "No open appeals" in html(client.get("/reviews"))
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    sign_in(client, "citizen")
    page = html(client.get(f"/decisions/{receipt_of(seeded)}"))
    assert "tag-overturned" in page and reasons in page and "human review" in page
    assert "After review" in page and "the decision was reversed" in page
    assert 'name="grounds"' not in page  # nothing left to contest
    assert reasons in html(client.get("/my-data"))


# --- audit and officer pages -----------------------------------------------------------------------------


def test_audit_page_shows_fairness_and_loads_the_ledger_check(client):
    sign_in(client, "auditor")
    page = html(client.get("/audit"))
    assert 'href="/register/concessions.fare_eligibility#fairness"' in page
    assert 'hx-get="/audit/ledger"' in page and 'href="/audit/ledger"' in page  # HTMX, or a link without JS
    fragment = html(client.get("/audit/ledger", headers={"HX-Request": "true"}))
    assert "<html" not in fragment and "Intact." in fragment and "All 40 entries chain correctly" in fragment
    full = html(client.get("/audit/ledger"))
    assert "<html" in full and "Intact." in full and "Fairness by algorithm" in full


def test_audit_page_names_the_first_broken_entry(client, seeded):
    with seeded.engine.begin() as conn:
        if seeded.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER core_ledger_no_update"))
        else:
            conn.execute(text("ALTER TABLE core_ledger_entries DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE core_ledger_entries SET outcome_label = 'tampered' WHERE seq = 7"))
        if seeded.engine.dialect.name != "sqlite":
            conn.execute(text("ALTER TABLE core_ledger_entries ENABLE TRIGGER USER"))
    sign_in(client, "auditor")
    fragment = html(client.get("/audit/ledger", headers={"HX-Request": "true"}))
    assert "Broken at entry 7" in fragment and "was edited" in fragment


@pytest.mark.parametrize("username", ["citizen", "officer", "reviewer"])
def test_audit_page_is_refused_to_other_roles(client, username):
    sign_in(client, username)
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/ledger").status_code == 403


def test_officer_sees_their_agencys_feeds_records_and_quarantine(client, seeded):
    with seeded.unit() as ctx:
        feed = ctx.exchange.feed("civil-affairs", "household_income")
        bad = {"person_id": "P0003", "month": "2026-11", "income_band": "low", "minimum_livelihood": "perhaps"}
        ctx.exchange.post_records(feed, [bad])
    sign_in(client, "officer")
    page = html(client.get("/officer"))
    assert "Civil Affairs Bureau" in page and "civil-affairs / household_income" in page
    assert "person_id" in page  # the declared schema
    assert "<strong>40</strong> validated records held" in page
    assert "<strong>1</strong> waiting in quarantine" in page
    assert "valid boolean" in page and "perhaps" in page  # the reason and the record as sent


@pytest.mark.parametrize("username", ["citizen", "reviewer", "auditor"])
def test_officer_page_is_refused_to_other_roles(client, username):
    sign_in(client, username)
    assert client.get("/officer").status_code == 403


# --- jobs ---------------------------------------------------------------------------------------------------


def add_job(seeded, *, status: str, done: int, total: int, created_by: str | None = "officer") -> str:  # type: ignore[no-untyped-def]
    job_id = str(uuid.uuid4())
    with seeded.unit() as ctx:
        ctx.session.add(
            Job(
                id=job_id,
                kind="concessions_reassess",
                status=status,
                done=done,
                total=total,
                params={},
                created_by=created_by,
                created_at=datetime(2026, 11, 2, tzinfo=UTC),
            )
        )
    return job_id


def test_running_job_shows_progress_and_polls_with_htmx(client, seeded):
    job_id = add_job(seeded, status="running", done=30, total=120)
    sign_in(client, "officer")
    page = html(client.get(f"/jobs/{job_id}"))
    assert "<html" in page and 'value="25"' in page and "30 of 120" in page
    assert f'hx-get="/jobs/{job_id}"' in page and "every 1s" in page
    fragment = html(client.get(f"/jobs/{job_id}", headers={"HX-Request": "true"}))
    assert "<html" not in fragment and f'id="job-{job_id}"' in fragment


def test_finished_job_stops_polling(client, seeded):
    job_id = add_job(seeded, status="done", done=120, total=120)
    sign_in(client, "admin")
    page = html(client.get(f"/jobs/{job_id}"))
    assert 'value="100"' in page and "hx-get" not in page


def test_job_interrupted_by_a_restart_stops_polling_and_says_why(client, seeded):
    job_id = add_job(seeded, status="interrupted", done=3, total=10)
    with seeded.unit() as ctx:
        ctx.session.get(Job, job_id).error = "the server stopped while this job ran; start it again"
    sign_in(client, "officer")
    page = html(client.get(f"/jobs/{job_id}"))
    assert "hx-get" not in page and "The job interrupted: the server stopped while this job ran" in page


def test_citizens_see_only_their_own_jobs(client, seeded):
    job_id = add_job(seeded, status="running", done=1, total=2)
    sign_in(client, "citizen")
    assert client.get(f"/jobs/{job_id}").status_code == 404
    assert client.get(f"/jobs/{uuid.uuid4()}").status_code == 404
