"""Each access boundary, proven with real requests: 401/403/404, not just hidden links."""

from __future__ import annotations

from tests.api.helpers import auth, my_first_receipt


def test_a_citizen_sees_only_their_own_decisions(client):
    mine, other = auth(client, "citizen"), auth(client, "citizen2")
    receipt = my_first_receipt(client, mine)
    assert client.get(f"/api/v1/decisions/{receipt}", headers=mine).status_code == 200
    # Another citizen gets the same 404 as for a receipt that does not exist: nothing leaks.
    assert client.get(f"/api/v1/decisions/{receipt}", headers=other).status_code == 404
    assert client.get(f"/api/v1/decisions/{receipt}").status_code == 401


def test_only_the_subject_can_contest(client):
    receipt = my_first_receipt(client, auth(client, "citizen"))
    response = client.post(
        "/api/v1/appeals", json={"receipt": receipt, "grounds": "not me"}, headers=auth(client, "citizen2")
    )
    assert response.status_code == 403
    response = client.post(
        "/api/v1/appeals", json={"receipt": receipt, "grounds": "officer"}, headers=auth(client, "officer")
    )
    assert response.status_code == 403


def test_only_reviewers_decide_appeals(client):
    citizen = auth(client, "citizen")
    receipt = my_first_receipt(client, citizen)
    appeal = client.post("/api/v1/appeals", json={"receipt": receipt, "grounds": "wrong income"}, headers=citizen)
    assert appeal.status_code == 201
    decision = {"outcome": "overturned", "reasons": "The payslips show the low band."}
    for who in ("citizen", "officer", "auditor", "admin"):
        r = client.post(f"/api/v1/appeals/{appeal.json()['id']}/decision", json=decision, headers=auth(client, who))
        assert r.status_code == 403, who
    r = client.post(f"/api/v1/appeals/{appeal.json()['id']}/decision", json=decision, headers=auth(client, "reviewer"))
    assert r.status_code == 200 and r.json()["status"] == "overturned"
    # The citizen sees the outcome and the reasons, and the review in the decision's history.
    mine = client.get("/api/v1/appeals/mine", headers=citizen).json()["appeals"]
    assert [(a["status"], a["reasons"]) for a in mine] == [("overturned", decision["reasons"])]
    history = client.get(f"/api/v1/decisions/{receipt}", headers=citizen).json()
    assert history["reviews"][0]["outcome"] == "overturned"


def test_review_queue_is_not_for_citizens_or_officers(client):
    for who, status in (("citizen", 403), ("officer", 403), ("reviewer", 200), ("auditor", 200)):
        assert client.get("/api/v1/appeals", headers=auth(client, who)).status_code == status, who


def test_officers_see_only_their_agencys_feeds(client):
    officer = auth(client, "officer")  # Civil Affairs
    feeds = client.get("/api/v1/feeds", headers=officer).json()["feeds"]
    assert {f["agency"] for f in feeds} == {"civil-affairs"}
    schema = {"fields": [{"name": "k", "type": "string", "category": "identifier"}], "key": ["k"]}
    r = client.post(
        "/api/v1/feeds",
        json={"agency": "transport", "name": "loops", "purpose": "traffic", "schema": schema},
        headers=officer,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/feeds",
        json={"agency": "civil-affairs", "name": "extra", "purpose": "benefits", "schema": schema},
        headers=officer,
    )
    assert r.status_code == 201
    assert client.get("/api/v1/feeds", headers=auth(client, "citizen")).status_code == 403


def test_officer_cannot_post_to_another_agencys_feed(client, seeded):
    admin = auth(client, "admin")
    schema = {"fields": [{"name": "k", "type": "string", "category": "traffic"}], "key": ["k"]}
    feed = client.post(
        "/api/v1/feeds",
        json={"agency": "transport", "name": "loops", "purpose": "traffic", "schema": schema},
        headers=admin,
    ).json()
    r = client.post(f"/api/v1/feeds/{feed['id']}/records", json=[{"k": "1"}], headers=auth(client, "officer"))
    assert r.status_code == 403
    assert client.get(f"/api/v1/feeds/{feed['id']}/quarantine", headers=auth(client, "officer")).status_code == 403


def test_subject_access_and_erasure_are_for_the_citizen_and_the_admin(client):
    citizen = auth(client, "citizen")
    data = client.get("/api/v1/me/data", headers=citizen).json()
    assert data["person"]["id"] == "P0001" and data["decisions"]
    assert client.get("/api/v1/me/data", headers=auth(client, "officer")).status_code == 403
    request = client.post("/api/v1/me/erasure", json={"reason": "leaving the city"}, headers=citizen).json()
    assert client.get("/api/v1/privacy/erasure-requests", headers=citizen).status_code == 403
    r = client.post(
        f"/api/v1/privacy/erasure-requests/{request['id']}",
        json={"approve": True, "response": "Done."},
        headers=auth(client, "reviewer"),
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/privacy/erasure-requests/{request['id']}",
        json={"approve": True, "response": "Done."},
        headers=auth(client, "admin"),
    )
    assert r.status_code == 200 and r.json()["status"] == "completed"
    # The erased citizen's account is closed.
    assert client.get("/api/v1/me", headers=citizen).status_code == 401


def test_auditors_see_decisions_without_personal_inputs(client):
    receipt = my_first_receipt(client, auth(client, "citizen"))
    body = client.get(f"/api/v1/decisions/{receipt}", headers=auth(client, "auditor")).json()
    assert "inputs" not in body and body["explanation"]["summary"]
    assert client.get("/api/v1/ledger/verify", headers=auth(client, "auditor")).json()["ok"] is True


def test_the_register_is_public(client):
    body = client.get("/api/v1/register").json()
    [card] = [c for c in body["algorithms"] if c["id"] == "concessions.fare_eligibility"]
    assert card["live_figures"]["decisions_total"] == 40
    export = client.get("/api/v1/register/export").json()
    record = next(r for r in export["records"] if r["id"] == "concessions.fare_eligibility")
    assert record["tier_1"]["name"] and record["tier_2"]["data_specification"]["legal_basis"]
    audit = client.get("/api/v1/register/concessions.fare_eligibility/audit").json()
    assert {a["attribute"] for a in audit["by_attribute"]} == {"region", "age_band", "sex"}


def test_service_routes_are_mounted_and_scoped(client):
    assert client.post("/api/v1/concessions/assessments", headers=auth(client, "citizen")).status_code == 403
    r = client.post("/api/v1/concessions/assessments", headers=auth(client, "officer"))
    assert r.status_code == 200 and r.json()["assessed"] == 40
