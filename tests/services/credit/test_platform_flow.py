"""Credit through the platform: due process, context-bound checks, the score that never restricts,
role boundaries, intake refusals and masking, with real requests on a seeded demo city.

The demo city's credit seed gives Wang Fang (P0001) a notice on the court's defaulter list today;
the clock fixture is moved by hand to cross objection windows, repair periods and maxima.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicbrain.api import create_app
from civicbrain.core.audit import audit_algorithm
from civicbrain.core.context import Runtime
from civicbrain.core.errors import PrivacyViolation
from civicbrain.core.exchange import FieldDecl
from civicbrain.demo.city import seed_city
from civicbrain.services.credit import SERVICE as CREDIT
from civicbrain.services.credit import service
from civicbrain.services.credit.algorithms import CITY_SCORE
from civicbrain.services.credit.feeds import ADMINISTRATIVE_PENALTIES, _feed
from civicbrain.services.credit.models import CreditListing
from civicbrain.services.credit.seed import LI_WEI_ID, WANG_FANG_ID
from tests.api.helpers import auth
from tests.support import TEST_CARDS, TEST_SERVICES, demo_passwords

PASSWORDS = demo_passwords()
SCORE_CONTEXTS = ("library", "public bike", "museum", "service hall")
ALL_CONTEXTS = ("public tender", "subsidy", "rail ticket", "tax service", *SCORE_CONTEXTS)


@pytest.fixture
def city(settings, engine, clock) -> Runtime:  # type: ignore[no-untyped-def]
    runtime = Runtime(settings, (*TEST_SERVICES, CREDIT), engine=engine, clock=clock, extra_cards=TEST_CARDS)
    with runtime.unit(actor="seed") as ctx:
        seed_city(ctx, people=40)
    return runtime


@pytest.fixture
def api(city: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=city), raise_server_exceptions=False) as client:
        yield client


def wang_fang_listing(client: TestClient) -> dict[str, Any]:
    (listing,) = [x for x in client.get("/api/v1/credit/me/listings", headers=auth(client, "citizen")).json()]
    return listing


def check(client: TestClient, officer: str, context: str, **subject: str) -> dict[str, Any]:
    response = client.post("/api/v1/credit/check", json={"context": context, **subject}, headers=auth(client, officer))
    assert response.status_code == 200, response.text
    return response.json()


def public(client: TestClient, q: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/credit/public/search", params={"q": q})
    assert response.status_code == 200, response.text
    return response.json()


def expire_job(client: TestClient) -> dict[str, int]:
    return client.post("/api/v1/credit/jobs/expire", headers=auth(client, "admin")).json()


def test_no_effect_before_the_window_then_context_bound_measures_then_repair_removes_everywhere(api, clock):
    listing = wang_fang_listing(api)
    # No listing without a notice: the notice (reasons, basis, rights, deadline) exists from the start.
    assert listing["state"] == "notice_sent" and listing["notice_receipt"]
    assert listing["notice"]["legal_basis"] and listing["notice"]["rights"]
    assert check(api, "tender-officer", "public tender", id_number=WANG_FANG_ID)["outcome"] == "allow"
    assert public(api, "Wang Fang") == []

    clock.advance(days=10)  # inside the 15-day window: the daily job must not activate it
    assert expire_job(api)["activated"] == 0
    assert check(api, "tender-officer", "public tender", id_number=WANG_FANG_ID)["outcome"] == "allow"

    clock.advance(days=6)
    assert expire_job(api)["activated"] == 1
    answer = check(api, "tender-officer", "public tender", id_number=WANG_FANG_ID)
    assert answer["outcome"] == "restrict"
    (measure,) = answer["measures"]
    assert measure["listing_id"] == listing["id"] and measure["legal_basis"] and measure["expires_at"]
    assert measure["match"]["features"]["identifier_match"]["score"] == 1.0
    # Only memoranda naming the asked context, and only the asking agency's own measures.
    assert check(api, "tender-officer", "rail ticket", id_number=WANG_FANG_ID)["outcome"] == "allow"
    assert check(api, "officer", "public tender", id_number=WANG_FANG_ID)["outcome"] == "allow"
    (shown,) = public(api, "wang fang")
    assert shown["masked_identifiers"] == ["3501**********1248"]
    assert WANG_FANG_ID not in str(shown)
    assert shown["how_to_object"] and shown["how_to_repair"] and shown["issuing_agency"] == "intermediate-court"

    citizen = auth(api, "citizen")
    early = api.post(f"/api/v1/credit/listings/{listing['id']}/repair", json={"performance": "paid"}, headers=citizen)
    assert early.status_code == 409 and early.json()["error"]["code"] == "repair_too_early"
    clock.advance(days=370)  # serious tier: repair from 12 months
    citizen = auth(api, "citizen")  # the earlier token expired with the moved clock
    applied = api.post(
        f"/api/v1/credit/listings/{listing['id']}/repair", json={"performance": "paid in full"}, headers=citizen
    )
    assert applied.status_code == 200, applied.text
    decision = {"granted": True, "checks": ["payment confirmed by the court"], "answer": "obligation performed"}
    decided = api.post(
        f"/api/v1/credit/listings/{listing['id']}/repair-decision", json=decision, headers=auth(api, "court-officer")
    )
    assert decided.status_code == 200 and decided.json()["state"] == "repaired"
    # Removal propagates at once: no job in between.
    assert check(api, "tender-officer", "public tender", id_number=WANG_FANG_ID)["outcome"] == "allow"
    assert public(api, "Wang Fang") == []


def test_an_upheld_objection_withdraws_the_listing_before_it_ever_takes_effect(api, clock):
    listing = wang_fang_listing(api)
    objected = api.post(
        f"/api/v1/credit/listings/{listing['id']}/objection",
        json={"grounds": "I paid the landlord in August; the receipt is attached."},
        headers=auth(api, "citizen"),
    )
    assert objected.status_code == 200 and objected.json()["state"] == "objected"
    appeal_id = objected.json()["appeal_id"]
    clock.advance(days=40)  # long past the window: an open objection still blocks the listing
    assert expire_job(api)["activated"] == 0
    overturn = {"outcome": "overturned", "reasons": "The landlord confirms payment in August 2026."}
    r = api.post(f"/api/v1/appeals/{appeal_id}/decision", json=overturn, headers=auth(api, "reviewer"))
    assert r.status_code == 200, r.text
    assert wang_fang_listing(api)["state"] == "withdrawn"
    assert expire_job(api) == {"activated": 0, "expired": 0}
    assert public(api, "Wang Fang") == []
    assert check(api, "tender-officer", "public tender", id_number=WANG_FANG_ID)["outcome"] == "allow"


def test_a_rejected_objection_activates_the_listing_and_a_late_objection_is_refused(api, clock):
    listing = wang_fang_listing(api)
    citizen = auth(api, "citizen")
    objected = api.post(
        f"/api/v1/credit/listings/{listing['id']}/objection", json={"grounds": "not mine"}, headers=citizen
    )
    uphold = {"outcome": "upheld", "reasons": "The court's enforcement file shows the debt is unpaid."}
    api.post(f"/api/v1/appeals/{objected.json()['appeal_id']}/decision", json=uphold, headers=auth(api, "reviewer"))
    assert wang_fang_listing(api)["state"] == "active"
    again = api.post(f"/api/v1/credit/listings/{listing['id']}/objection", json={"grounds": "x"}, headers=citizen)
    assert again.status_code == 409


def test_an_appeal_from_the_core_contest_page_counts_as_an_objection(city, clock):
    with city.unit(actor="test") as ctx:
        (row,) = service.listings_for_person(ctx, "P0001")
        ctx.appeals.file(receipt=row.notice_receipt, grounds="wrong person", person_id="P0001")
    clock.advance(days=20)
    with city.unit(actor="job") as ctx:
        assert service.expire_due(ctx)["activated"] == 0
        (row,) = service.listings_for_person(ctx, "P0001")
        assert row.state == "objected" and row.appeal_id is not None


def test_listings_end_at_their_maximum_even_before_the_job_runs(api, city, clock):
    firm = "91350100M000100Y43"  # seeded: in force for 150 days on the 24-month court list
    assert (
        check(api, "tender-officer", "public tender", registration=firm, kind="organization")["outcome"] == "restrict"
    )
    clock.advance(days=600)
    assert check(api, "tender-officer", "public tender", registration=firm, kind="organization")["outcome"] == "allow"
    assert public(api, firm) == []
    assert expire_job(api)["expired"] == 1
    with city.unit() as ctx:
        states = {r.state for r in ctx.session.scalars(select(CreditListing))}
    assert "expired" in states


def test_the_score_never_restricts_through_the_check(api, city, clock):
    # Li Wei opted in (seed). Pile penalties onto him until his score is as low as it goes.
    with city.unit(actor="test") as ctx:
        feed = ctx.exchange.feed(ADMINISTRATIVE_PENALTIES.agency_id, ADMINISTRATIVE_PENALTIES.name)
        records = [
            {
                "decision_number": f"PEN-{i}",
                "subject_kind": "person",
                "subject_name": "Li Wei",
                "id_number": LI_WEI_ID,
                "person_id": "P0002",
                "violation": "unlicensed street trading",
                "decided_on": "2026-10-0" + str(i),
            }
            for i in range(1, 9)
        ]
        assert ctx.exchange.post_records(feed, records).accepted == 8
    citizen2 = auth(api, "citizen2")
    assert api.post("/api/v1/credit/me/score", headers=citizen2).status_code == 409  # already opted in
    api.delete("/api/v1/credit/me/score", headers=citizen2)
    low = api.post("/api/v1/credit/me/score", headers=citizen2).json()
    assert low["score"] < 100 and low["band"] is None and low["reason_codes"]
    for officer in ("tender-officer", "officer", "court-officer", "market-officer"):
        for context in ALL_CONTEXTS:
            answer = check(api, officer, context, id_number=LI_WEI_ID)
            assert answer["outcome"] == "allow", (officer, context, answer)
            assert answer["measures"] == [] and answer["score_benefits"] == []


def test_a_high_score_grants_benefits_only_in_their_own_contexts(api, city):
    with city.unit(actor="test") as ctx:
        from civicbrain.services.credit.feeds import COMMENDATIONS

        feed = ctx.exchange.feed(COMMENDATIONS.agency_id, COMMENDATIONS.name)
        ctx.exchange.post_records(
            feed,
            [
                {
                    "record_id": "BLD-P0002-2",
                    "subject_kind": "person",
                    "subject_name": "Li Wei",
                    "id_number": LI_WEI_ID,
                    "person_id": "P0002",
                    "kind": "blood-donation",
                    "quantity": 1,
                    "occurred_on": "2025-06-01",
                },
                {
                    "record_id": "VOL-P0002-2025",
                    "subject_kind": "person",
                    "subject_name": "Li Wei",
                    "id_number": LI_WEI_ID,
                    "person_id": "P0002",
                    "kind": "volunteer-hour",
                    "quantity": 100,
                    "occurred_on": "2025-07-01",
                },
            ],
        )
        from civicbrain.services.credit.scores import rescore

        assert rescore(ctx, "P0002").score >= 700
    assert check(api, "officer", "service hall", id_number=LI_WEI_ID)["outcome"] == "priority"
    assert check(api, "officer", "public tender", id_number=LI_WEI_ID)["outcome"] == "allow"
    # A name is never enough for a benefit: only the exact ID number finds the score.
    assert check(api, "officer", "service hall", name="Li Wei")["outcome"] == "allow"


def test_withdrawal_deletes_the_score(api):
    citizen2 = auth(api, "citizen2")
    assert api.get("/api/v1/credit/me/score", headers=citizen2).json()["score"] > 0
    assert api.delete("/api/v1/credit/me/score", headers=citizen2).status_code == 200
    assert api.get("/api/v1/credit/me/score", headers=citizen2).status_code == 404
    data = api.get("/api/v1/me/data", headers=citizen2).json()
    assert "city_score" not in str(data) or "'city_score': None" in str(data)


def test_role_boundaries(api):
    listing = wang_fang_listing(api)
    body = {"list_code": "court-judgement-defaulters", "facts": ["x/y#z"], "reasons": ["r"]}
    assert api.post("/api/v1/credit/check", json={"context": "public tender", "name": "A B"}).status_code == 401
    assert (
        api.post(
            "/api/v1/credit/check", json={"context": "public tender", "name": "A B"}, headers=auth(api, "citizen")
        ).status_code
        == 403
    )
    assert api.post("/api/v1/credit/listings", json=body, headers=auth(api, "officer")).status_code == 403
    assert api.post("/api/v1/credit/listings", json=body, headers=auth(api, "citizen")).status_code == 403
    assert api.get(f"/api/v1/credit/listings/{listing['id']}", headers=auth(api, "citizen2")).status_code == 404
    assert api.get(f"/api/v1/credit/listings/{listing['id']}", headers=auth(api, "market-officer")).status_code == 403
    assert api.get(f"/api/v1/credit/listings/{listing['id']}", headers=auth(api, "court-officer")).status_code == 200
    grounds = {"grounds": "not me"}
    assert (
        api.post(
            f"/api/v1/credit/listings/{listing['id']}/objection", json=grounds, headers=auth(api, "citizen2")
        ).status_code
        == 404
    )
    assert api.get("/api/v1/credit/checks", headers=auth(api, "officer")).status_code == 403
    assert api.get("/api/v1/credit/checks", headers=auth(api, "auditor")).status_code == 200
    assert api.get("/api/v1/credit/listings", headers=auth(api, "citizen")).status_code == 403
    assert api.post("/api/v1/credit/jobs/expire", headers=auth(api, "court-officer")).status_code == 403
    judgement = {"receipt": "0" * 36, "candidate_id": "x", "reason": "y"}
    assert api.post("/api/v1/credit/judgements", json=judgement, headers=auth(api, "officer")).status_code == 403
    # Pages: a resident's page is not an officer's, and the public query needs no sign-in.
    assert api.get("/credit").status_code == 200
    assert api.get("/credit/me", follow_redirects=False).status_code in (302, 303, 307)


def test_a_revoked_token_or_disabled_officer_is_refused_by_the_very_next_check(api, city):
    from civicbrain.core.identity import revoke_token
    from civicbrain.core.models import User

    body = {"context": "public tender", "name": "A B"}
    headers = auth(api, "tender-officer")
    assert api.post("/api/v1/credit/check", json=body, headers=headers).status_code == 200
    with city.unit() as ctx:  # the check API reads the token afresh each time: nothing is cached
        revoke_token(ctx.session, headers["Authorization"].removeprefix("Bearer "))
    assert api.post("/api/v1/credit/check", json=body, headers=headers).status_code == 401
    headers = auth(api, "tender-officer")
    with city.unit() as ctx:
        ctx.session.scalars(select(User).where(User.username == "tender-officer")).one().active = False
    assert api.post("/api/v1/credit/check", json=body, headers=headers).status_code == 401


def test_a_proposal_names_exchange_records_and_is_refused_without_them(api):
    court = auth(api, "court-officer")
    missing = {
        "list_code": "court-judgement-defaulters",
        "facts": ["intermediate-court/enforcement_outcomes#no-such-case"],
        "reasons": ["x"],
    }
    r = api.post("/api/v1/credit/listings", json=missing, headers=court)
    assert r.status_code == 404 and r.json()["error"]["field"] == "facts"
    duplicate = {**missing, "facts": ["intermediate-court/enforcement_outcomes#(2026) Min 01 Zhi 311"]}
    assert api.post("/api/v1/credit/listings", json=duplicate, headers=court).status_code == 409


def test_forbidden_categories_are_refused_at_intake(api, city):
    officer = auth(api, "market-officer")
    feeds = api.get("/api/v1/feeds", headers=officer).json()["feeds"]
    feed_id = next(f["id"] for f in feeds if f["name"] == "administrative_penalties")
    record = {
        "decision_number": "FORBID-1",
        "subject_kind": "person",
        "subject_name": "Zhao Min",
        "violation": "x",
        "decided_on": "2026-10-01",
        "blood_type": "AB",
    }
    report = api.post(f"/api/v1/feeds/{feed_id}/records", json=[record], headers=officer).json()
    assert report["accepted"] == 0 and report["quarantined"] == 1
    assert any("forbidden category" in reason for reason in report["top_reasons"])
    with city.unit() as ctx:
        (held,) = ctx.exchange.quarantine(ctx.exchange.feed_by_id(feed_id))
        assert held.raw["blood_type"] != "AB"  # not stored even in quarantine
    schema = {
        "fields": [
            {"name": "case", "type": "string", "category": "judicial"},
            {"name": "faith", "type": "string", "category": "religion"},
        ],
        "key": ["case"],
    }
    response = api.post(
        "/api/v1/feeds",
        json={"agency": "market-regulation", "name": "bad_feed", "purpose": "credit", "schema": schema},
        headers=officer,
    )
    assert response.status_code == 422 and response.json()["error"]["field"] == "faith"
    # The credit platform's own name rules refuse a mislabelled field when a feed is declared.
    medical = FieldDecl(name="medical_history", type="string", category="administrative")
    with pytest.raises(PrivacyViolation, match="medical"):
        _feed("civil-affairs", "x", "x", [medical], "medical_history")


def test_not_the_same_person_excludes_the_candidate_for_that_subject(api, clock):
    listing = wang_fang_listing(api)
    clock.advance(days=16)
    expire_job(api)
    query = {"name": "Wang Fang", "birth_date": "1990-03-07"}
    first = check(api, "tender-officer", "public tender", **query)
    assert first["outcome"] == "restrict"
    (match,) = [m for m in first["matches"] if m["match"]]
    assert match["features"]["name_match"]["score"] > 0.7 and match["candidate"].startswith("person-")
    judgement = {"receipt": first["receipt"], "candidate_id": match["candidate"], "reason": "different household"}
    r = api.post("/api/v1/credit/judgements", json=judgement, headers=auth(api, "reviewer"))
    assert r.status_code == 201, r.text
    again = check(api, "tender-officer", "public tender", **query)
    assert again["outcome"] == "allow"
    assert again["matches"][0]["excluded_by_judgement"] is True
    # The ID number still finds her: the judgement was about that name-and-birth-date query only.
    assert (
        check(api, "tender-officer", "public tender", id_number=WANG_FANG_ID)["measures"][0]["listing_id"]
        == listing["id"]
    )


def test_every_check_is_in_the_screening_trail_and_the_ledger(api):
    answer = check(api, "tender-officer", "subsidy", name="Nobody Here")
    trail = api.get("/api/v1/credit/checks", headers=auth(api, "auditor")).json()
    assert trail[0]["receipt"] == answer["receipt"] and trail[0]["context"] == "subsidy"
    assert trail[0]["asking_agency"] == "finance-bureau"
    entry = api.get(f"/api/v1/register/{'credit.check'}", headers=auth(api, "auditor"))
    assert entry.status_code == 200


def test_flows_subject_access_and_score_fairness(api, city):
    flows = api.get("/api/v1/credit/public/flows").json()
    assert sum(f["added"] for f in flows) >= 2 and sum(f["removed"] for f in flows) >= 1
    page = api.get("/credit")
    assert page.status_code == 200 and "flows-chart-data" in page.text
    data = api.get("/api/v1/me/data", headers=auth(api, "citizen")).json()
    assert "court-judgement-defaulters" in str(data)
    with city.unit() as ctx:
        report = audit_algorithm(ctx.session, CITY_SCORE)
    assert report.decisions >= 1 and report.favourable_outcomes == ("benefits_unlocked",)


def test_pages_by_role(api):
    shown: dict[str, str] = {}

    def page(path: str, username: str) -> int:
        api.cookies.clear()
        login = api.get("/login")
        token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        api.post("/login", data={"username": username, "password": PASSWORDS[username], "csrf_token": token})
        response = api.get(path, follow_redirects=False)
        shown[f"{username} {path}"] = response.text
        return response.status_code

    assert page("/credit/audit", "auditor") == 200
    audit = shown["auditor /credit/audit"]
    assert "<title>Credit: audit" in audit and "Screening trail" in audit and "Federation" in audit
    assert page("/credit/audit", "citizen") == 403
    assert page("/credit/officer", "court-officer") == 200
    assert "Propose a listing" in shown["court-officer /credit/officer"]
    assert page("/credit/officer", "citizen") == 403
    assert page("/credit/me", "citizen") == 200
    mine = shown["citizen /credit/me"]
    assert "Object to this listing" in mine and "Opt in to the city score" in mine
    assert page("/credit/me", "court-officer") == 403


def test_candidates_come_from_the_name_key_index_and_only_listings_in_force(city, clock):
    from civicbrain.services.credit.candidates import candidate_subjects
    from civicbrain.services.credit.domain.matching import SubjectRecord
    from civicbrain.services.credit.domain.names import NameKind

    by_name = SubjectRecord(id="q", kind=NameKind.PERSON, names=("Wang Fang",), birth_dates=("1990-03-07",))
    by_firm = SubjectRecord(id="q", kind=NameKind.ORGANIZATION, names=("Jinshan Construction",))
    with city.unit() as ctx:
        assert candidate_subjects(ctx, by_name, ctx.now()) == []  # only a notice: not a candidate
        assert candidate_subjects(ctx, by_firm, ctx.now()) == ["organization-91350100M000100Y43"]
    clock.advance(days=16)
    with city.unit() as ctx:
        service.expire_due(ctx)
        assert candidate_subjects(ctx, by_name, ctx.now()) == [f"person-{WANG_FANG_ID}"]


def test_a_check_reads_plain_rows_and_only_the_matched_listings(city, clock):
    """The check's hot path builds no ORM objects (they cost more CPU than the queries) and reads a
    listing's due-process JSON only for a candidate that matched; the answer is the same."""
    from sqlalchemy import event

    from civicbrain.services.credit.checks import CheckQuery, screen_check
    from civicbrain.services.credit.domain.names import NameKind

    clock.advance(days=16)
    with city.unit() as ctx:
        service.expire_due(ctx)  # Wang Fang's listing takes effect
    for query in (
        CheckQuery(kind=NameKind.PERSON, identifier=WANG_FANG_ID),
        CheckQuery(kind=NameKind.PERSON, name="Wang Fang", birth_date="1990-03-07"),
    ):
        with city.unit() as ctx:
            screen_check(ctx, query=query, context="public tender", asking_agency="finance-bureau", asked_by="t")
        with city.unit() as ctx:  # the second check: caches warm, nothing pending to index
            loaded: list[object] = []
            event.listen(ctx.session, "loaded_as_persistent", lambda _s, instance, seen=loaded: seen.append(instance))
            statements: list[str] = []
            connection = ctx.session.connection()
            event.listen(connection, "before_cursor_execute", lambda *args, seen=statements: seen.append(args[2]))
            screened = screen_check(
                ctx, query=query, context="public tender", asking_agency="finance-bureau", asked_by="t"
            )
        assert screened.result.outcome.value == "restrict"
        assert loaded == []
        listing_reads = [s for s in statements if "credit_listings.notice" in s]
        assert len(listing_reads) == 1  # the matched subject's listing, once


def test_memoranda_are_declared_by_the_applying_agency_and_bound_to_their_contexts(api):
    memo = {
        "id": "mou-court-concessions",
        "list_code": "court-judgement-defaulters",
        "applying_agency": "finance-bureau",
        "measure_code": "concession-exclusion",
        "measure_description": "no new public concession contracts",
        "effect": "restrict",
        "contexts": ["concession contract"],
        "legal_basis": "Demo City Concessions Ordinance art. 9",
        "proportionality": "public contracts only; ends with the listing",
        "signed_on": "2026-01-01",
    }
    assert api.post("/api/v1/credit/memoranda", json=memo, headers=auth(api, "officer")).status_code == 403
    wrong = {**memo, "effect": "priority"}
    refused = api.post("/api/v1/credit/memoranda", json=wrong, headers=auth(api, "tender-officer"))
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "effect"
    created = api.post("/api/v1/credit/memoranda", json=memo, headers=auth(api, "tender-officer"))
    assert created.status_code == 201 and created.json()["contexts"] == ["concession_contract"]
    firm = {"registration": "91350100M000100Y43", "kind": "organization"}
    answer = check(api, "tender-officer", "Concession Contract", **firm)
    assert answer["outcome"] == "restrict"
    assert [m["memorandum"] for m in answer["measures"]] == ["mou-court-concessions"]
    assert check(api, "tender-officer", "museum", **firm)["outcome"] == "allow"


def test_erasure_deletes_the_score_and_detaches_open_listings(city):
    from civicbrain.services.credit.models import CreditScoreOptIn, CreditSubject

    with city.unit(actor="admin") as ctx:
        ctx.privacy.erase("P0002")
        ctx.privacy.erase("P0001")
    with city.unit() as ctx:
        assert ctx.session.get(CreditScoreOptIn, "P0002") is None
        assert ctx.session.scalar(select(CreditSubject).where(CreditSubject.person_id.in_(["P0001", "P0002"]))) is None
        # Wang Fang's notice is a public-law record the court keeps until it ends; it no longer links to her account.
        (row,) = [r for r in ctx.session.scalars(select(CreditListing)) if r.subject_id == f"person-{WANG_FANG_ID}"]
        assert row.state == "notice_sent"


def test_the_public_query_treats_wildcards_as_text(api):
    assert public(api, "%%") == []
    assert public(api, "__") == []
    assert [r["name"] for r in public(api, "jinshan")] == ["Fuzhou Jinshan Construction Co., Ltd."]


def test_a_granted_correction_request_withdraws_the_listing_everywhere_with_a_ledger_entry(api, city, clock):
    listing = wang_fang_listing(api)
    clock.advance(days=16)
    expire_job(api)
    assert check(api, "tender-officer", "public tender", id_number=WANG_FANG_ID)["outcome"] == "restrict"
    assert public(api, "Wang Fang")
    citizen = auth(api, "citizen")
    grounds = {"grounds": "The case number is another Wang Fang's; my ID number differs in the court file."}
    r = api.post(f"/api/v1/credit/listings/{listing['id']}/correction", json=grounds, headers=citizen)
    assert r.status_code == 200, r.text
    (request,) = r.json()["corrections"]
    appeal = api.get(f"/api/v1/appeals/{request['appeal_ref']}", headers=auth(api, "reviewer")).json()
    assert appeal["status"] == "open"
    assert wang_fang_listing(api)["state"] == "active"  # a request alone changes nothing
    decision = {"outcome": "overturned", "reasons": "The court file names a different ID number."}
    reviewer = auth(api, "reviewer")
    r = api.post(f"/api/v1/appeals/{request['appeal_ref']}/decision", json=decision, headers=reviewer)
    assert r.status_code == 200, r.text
    assert wang_fang_listing(api)["state"] == "withdrawn"
    assert check(api, "tender-officer", "public tender", id_number=WANG_FANG_ID)["outcome"] == "allow"
    assert public(api, "Wang Fang") == []
    with city.unit() as ctx:
        row = ctx.session.get(CreditListing, listing["id"])
        steps = [e for e in ctx.ledger.for_subject(f"person:{row and service.subject_of(ctx, row).person_id}")]
        (withdrawn,) = [e for e in steps if e.outcome_label == "withdrawn_after_correction"]
        assert withdrawn.inputs["listing_id"] == listing["id"]
        assert "different ID number" in withdrawn.explanation["summary"]


def test_the_ftm_export_is_for_officials(api):
    assert api.get("/api/v1/credit/export.ftm.jsonl").status_code == 401
    assert api.get("/api/v1/credit/export.ftm.jsonl", headers=auth(api, "citizen")).status_code == 403
    lines = api.get("/api/v1/credit/export.ftm.jsonl", headers=auth(api, "auditor")).text.splitlines()
    assert {json.loads(line)["schema"] for line in lines} == {"Company", "Sanction"}


def test_concurrent_checks_are_group_committed_each_with_its_own_durable_receipt(api, city):
    from concurrent.futures import ThreadPoolExecutor

    from civicbrain.core.ledger import verify
    from civicbrain.services.credit.models import CreditCheck

    headers = auth(api, "tender-officer")
    bodies = [{"context": "public tender", "id_number": f"35010219900307{n:04d}"} for n in range(12)]
    bodies.append({"context": "public tender", "name": "Jinshan Construction", "kind": "organization"})

    def ask(body: dict[str, Any]) -> dict[str, Any]:
        response = api.post("/api/v1/credit/check", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, bodies))
    receipts = [a["receipt"] for a in answers]
    assert len(set(receipts)) == len(bodies)
    with city.unit() as ctx:
        for answer in answers:
            entry = ctx.ledger.get(answer["receipt"])  # committed before the answer left
            assert entry.actor == "tender-officer" and entry.outcome_label == answer["outcome"]
        trail = set(ctx.session.scalars(select(CreditCheck.receipt)))
        assert set(receipts) <= trail
        assert verify(ctx.session).ok


def test_a_check_the_ledger_refuses_fails_alone_in_its_batch(city, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from civicbrain.core.errors import ValidationFailed
    from civicbrain.services.credit import checks, recording
    from civicbrain.services.credit.domain.names import NameKind

    with city.unit(actor="tender-officer") as ctx:
        good = [
            checks.screen_check(
                ctx, query=checks.CheckQuery(kind=NameKind.PERSON, identifier=f"X{n}"), context="subsidy",
                asking_agency="finance-bureau", asked_by="tender-officer",
            )
            for n in range(4)
        ]  # fmt: skip
    bad = checks.ScreenedCheck(good[0].result, good[0].query_key, "", "tender-officer", "tender-officer")
    real = checks.decision_request

    def refuse_empty_subjects(event, card, *, subject, label, actor=None):  # type: ignore[no-untyped-def]
        if not subject:
            raise ValidationFailed("no subject", field="subject")
        return real(event, card, subject=subject, label=label, actor=actor)

    monkeypatch.setattr(checks, "decision_request", refuse_empty_subjects)
    recorder = recording.CheckRecorder(city)
    with ThreadPoolExecutor(max_workers=5) as pool:
        futures = [pool.submit(recorder.record, s) for s in (*good[:2], bad, *good[2:])]
    outcomes = [f.exception() or f.result() for f in futures]
    assert isinstance(outcomes[2], ValidationFailed)
    assert all(isinstance(o, checks.CheckAnswer) for i, o in enumerate(outcomes) if i != 2)


def test_a_batch_interrupted_midway_fails_its_checks_and_the_next_check_is_recorded(city, monkeypatch):
    """The caller that writes a batch may be interrupted (not an ``Exception``): its checks fail
    instead of waiting for ever, and the next check writes a batch of its own."""
    from civicbrain.services.credit import checks, recording
    from civicbrain.services.credit.domain.names import NameKind

    class Interrupted(BaseException):
        pass

    with city.unit(actor="tender-officer") as ctx:
        first, second = (
            checks.screen_check(
                ctx, query=checks.CheckQuery(kind=NameKind.PERSON, identifier=f"Y{n}"), context="subsidy",
                asking_agency="finance-bureau", asked_by="tender-officer",
            )
            for n in range(2)
        )  # fmt: skip
    real = recording.record_checks

    def interrupted(ctx, screened):  # type: ignore[no-untyped-def]
        raise Interrupted()

    recorder = recording.CheckRecorder(city)
    monkeypatch.setattr(recording, "record_checks", interrupted)
    with pytest.raises(Interrupted):
        recorder.record(first)
    monkeypatch.setattr(recording, "record_checks", real)
    answer = recorder.record(second)
    with city.unit() as ctx:
        assert ctx.ledger.get(answer.receipt).outcome_label == answer.result.outcome.value


def test_rescore_all_runs_through_core_batch_with_the_same_scores_and_ledger_entries(city):
    from civicbrain.core.ledger import verify
    from civicbrain.services.credit import scores
    from civicbrain.services.credit.models import CreditScoreOptIn

    with city.unit() as ctx:
        opted = sorted(ctx.session.scalars(select(CreditScoreOptIn.person_id)))
        assert len(opted) >= 2
        single = {p: scores.rescore(ctx, p) for p in opted}
    progress: list[tuple[int, int]] = []
    with city.unit() as ctx:
        assert scores.rescore_all(ctx, chunk=1, progress=lambda done, total: progress.append((done, total))) == len(
            opted
        )
    assert progress[-1] == (len(opted), len(opted))  # one core.batch job per chunk

    def stored() -> dict[str, tuple[int | None, list[str], str | None]]:
        with city.unit() as ctx:
            rows = list(ctx.session.scalars(select(CreditScoreOptIn)))
            for row in rows:
                entry = ctx.ledger.get(row.receipt or "")
                assert entry.algorithm == CITY_SCORE.id and entry.outcome["score"] == row.score
                assert entry.subject_ref == ctx.ledger.ref(f"person:{row.person_id}")
            return {r.person_id: (r.score, list(r.reason_codes), r.receipt) for r in rows}

    batch = stored()
    for person, result in single.items():
        assert batch[person][:2] == (result.score, list(result.reason_codes))
    # What a worker process runs: its own engine (same database and schema) and unit of work.
    with city.unit() as ctx:
        (job,) = scores.scoring_jobs(ctx, [tuple(opted)])
    assert scores.run_scoring_job(job) == len(opted)
    again = stored()
    assert all(again[p][:2] == batch[p][:2] and again[p][2] != batch[p][2] for p in opted)
    with city.unit() as ctx:
        assert verify(ctx.session).ok


def test_the_name_keys_posting_counts_follow_every_change_of_the_keys(api, city):
    """A check weighs its name keys by their posting counts, kept in ``credit_name_key_counts`` rather
    than counted per check: indexing, a change of names and erasure must each move them."""
    from sqlalchemy import func

    from civicbrain.services.credit.candidates import index_pending
    from civicbrain.services.credit.models import CreditNameKey, CreditNameKeyCount, CreditSubject

    def counts_match_the_keys(ctx: Any) -> dict[str, int]:
        held = dict(ctx.session.execute(select(CreditNameKey.key, func.count()).group_by(CreditNameKey.key)).all())
        kept = dict(ctx.session.execute(select(CreditNameKeyCount.key, CreditNameKeyCount.postings)).all())
        assert {k: n for k, n in kept.items() if n} == held
        return held

    with city.unit() as ctx:
        assert index_pending(ctx) > 0  # the seeded listed subjects, indexed at the first check
        before = counts_match_the_keys(ctx)
        subject = ctx.session.get(CreditSubject, f"person-{WANG_FANG_ID}")
        subject.aliases = [*subject.aliases, "Fang Wang-Li"]
        subject.names_indexed = False
    with city.unit() as ctx:
        assert index_pending(ctx) == 1
        renamed = counts_match_the_keys(ctx)
        assert set(renamed) > set(before)  # the alias's own keys
    # Wang Fang's notice is withdrawn on her objection; erasure then removes her subject and its keys.
    objected = api.post(
        f"/api/v1/credit/listings/{wang_fang_listing(api)['id']}/objection",
        json={"grounds": "I paid the landlord in August."},
        headers=auth(api, "citizen"),
    ).json()
    overturn = {"outcome": "overturned", "reasons": "The landlord confirms payment."}
    decided = api.post(
        f"/api/v1/appeals/{objected['appeal_id']}/decision", json=overturn, headers=auth(api, "reviewer")
    )
    assert decided.status_code == 200, decided.text
    with city.unit(actor="admin") as ctx:
        ctx.privacy.erase("P0001")
    with city.unit() as ctx:
        assert ctx.session.get(CreditSubject, f"person-{WANG_FANG_ID}") is None
        erased = counts_match_the_keys(ctx)
        assert sum(erased.values()) < sum(renamed.values())


def test_a_check_by_name_and_birth_date_finds_the_listed_namesake_among_many(city, clock):
    """Thirty listed people called Wang Fang share every name key; the one born on the asked date must be
    among the candidates compared (``CANDIDATES``) even though thirty namesakes sort before it."""
    from dataclasses import replace

    from civicbrain.services.credit.candidates import CANDIDATES, candidate_subjects
    from civicbrain.services.credit.domain.matching import SubjectRecord
    from civicbrain.services.credit.domain.names import NameKind
    from civicbrain.services.credit.models import CreditSubject
    from civicbrain.services.credit.store import listing_of, new_listing_row

    clock.advance(days=16)
    with city.unit() as ctx:
        service.expire_due(ctx)  # Wang Fang's listing takes effect: the namesakes copy it
        (original,) = ctx.session.scalars(select(CreditListing).where(CreditListing.subject_id.like("person-%")))
        listing = listing_of(original)
        namesakes = CANDIDATES + 10
        for n in range(namesakes):
            subject_id = f"person-namesake-{n:02d}"
            ctx.session.add(
                CreditSubject(
                    id=subject_id, kind="person", name="Wang Fang", aliases=[], birth_date=f"{1940 + n}-06-01",
                    country="cn", identifier=None, person_id=None, names_indexed=False, created_at=ctx.now(),
                )
            )  # fmt: skip
            ctx.session.flush()  # the subject row before its listing (no ORM relationship orders them)
            namesake = replace(listing, id=f"listing-namesake-{n:02d}", subject_id=subject_id)
            ctx.session.add(new_listing_row(namesake, original.origin_instance, ctx.now()))
    last = f"{1940 + namesakes - 1}-06-01"
    query = SubjectRecord(id="q", kind=NameKind.PERSON, names=("Wang Fang",), birth_dates=(last,))
    with city.unit() as ctx:
        found = candidate_subjects(ctx, query, ctx.now())
    assert len(found) == CANDIDATES
    assert found[0] == f"person-namesake-{namesakes - 1:02d}"
