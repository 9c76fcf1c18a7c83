"""The mutual-aid pool through the platform: checks as ledger entries, objections, human decisions, settlement."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from civicbrain.api import create_app
from civicbrain.core.context import Runtime
from civicbrain.core.identity import create_user
from civicbrain.core.people import add_person
from civicbrain.demo.city import DEMO_USERS, seed_city
from civicbrain.services.health import SERVICE as HEALTH
from civicbrain.services.health.domain.mutual_aid import share_per_member
from civicbrain.services.health.seed import CLINICIAN
from tests.support import TEST_CARDS, TEST_SERVICES

BASE = "/api/v1/health/pool"
RESIDENTS = ("alice", "bob", "chen")  # fresh members, so the demo pool's own claims stay out of the sums
PASSWORDS = {u.username: u.password for u in DEMO_USERS} | {CLINICIAN[0]: CLINICIAN[1]}
PASSWORDS |= {name: f"{name}-pool-pass" for name in RESIDENTS}


@pytest.fixture
def health_runtime(settings, engine, clock) -> Runtime:  # type: ignore[no-untyped-def]
    runtime = Runtime(settings, (*TEST_SERVICES, HEALTH), engine=engine, clock=clock, extra_cards=TEST_CARDS)
    with runtime.unit(actor="seed") as ctx:
        seed_city(ctx, people=40)
        for i, name in enumerate(RESIDENTS):
            person = f"T{i:04d}"
            add_person(ctx, person_id=person, name=name, birth_year=1980, region="urban", sex="female")
            ctx.session.flush()
            create_user(ctx.session, username=name, password=PASSWORDS[name], role="citizen", person_id=person)
    return runtime


@pytest.fixture
def api(health_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=health_runtime), raise_server_exceptions=False) as client:
        yield client


def auth(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def claim(client, who: str, *, diagnosed: date, amount: str = "1000.00", document: bytes = b"invoice", illness="I21"):
    """A claim by ``who`` (signing in afresh: tests move the clock past token lifetimes)."""
    headers = auth(client, who)
    body = {
        "illness": illness,
        "diagnosed_on": diagnosed.isoformat(),
        "treatment_start": diagnosed.isoformat(),
        "treatment_end": (diagnosed + timedelta(days=3)).isoformat(),
        "amount": amount,
        "documents": [{"name": "invoice.pdf", "content_base64": base64.b64encode(document).decode()}],
    }
    response = client.post(f"{BASE}/claims", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def join_all(client) -> None:
    for name in RESIDENTS:
        assert client.post(f"{BASE}/members", headers=auth(client, name)).status_code == 201


def test_claims_inside_the_waiting_period_or_with_a_used_document_are_refused_with_the_reason(
    api, health_runtime, clock
):
    join_all(api)
    early = claim(api, "alice", diagnosed=clock.now.date() - timedelta(days=5))
    assert early["status"] == "refused"
    assert any("waiting period" in reason for reason in early["refusal_reasons"])

    clock.advance(days=100)
    first = claim(api, "alice", diagnosed=clock.now.date() - timedelta(days=5), document=b"scan 1")
    assert first["status"] == "in_public_notice" and first["refusal_reasons"] == []
    reused = claim(api, "bob", diagnosed=clock.now.date() - timedelta(days=5), document=b"scan 1")
    assert reused["status"] == "refused"
    assert [r for r in reused["refusal_reasons"] if f"already submitted with claim {first['id']}" in r]

    with health_runtime.unit() as ctx:  # every check result is a live ledger entry with its reasons
        entry = ctx.ledger.get(reused["receipt"])
        assert (entry.algorithm, entry.mode, entry.outcome_label) == ("health.pool_claim_checks", "live", "refused")
        assert "already submitted" in entry.explanation["summary"]
    mine = api.get(f"{BASE}/me", headers=auth(api, "bob")).json()
    assert [c["status"] for c in mine["claims"]] == ["refused"]


def test_an_objected_claim_is_not_paid_before_a_human_decides(api, clock):
    join_all(api)
    clock.advance(days=100)
    contested = claim(api, "alice", diagnosed=clock.now.date() - timedelta(days=5), amount="900.00")
    objected = api.post(
        f"{BASE}/claims/{contested['id']}/objections", json={"reason": "Paid twice."}, headers=auth(api, "bob")
    )
    assert objected.status_code == 200 and objected.json()["status"] == "objected_awaiting_human_decision"
    assert (
        api.post(
            f"{BASE}/claims/{contested['id']}/objections", json={"reason": "Mine."}, headers=auth(api, "alice")
        ).status_code
        == 422
    )  # not against one's own claim

    clock.advance(days=10)  # the objection window is long closed
    clinician = auth(api, "clinician")
    first = api.post(f"{BASE}/periods/2027-02/settlement", headers=clinician)
    assert first.status_code == 201
    waiting = api.get(f"{BASE}/objected", headers=clinician).json()["claims"]
    assert [c["id"] for c in waiting if c["id"] == contested["id"]]
    assert api.get(f"{BASE}/me", headers=auth(api, "alice")).json()["claims"][0]["payout"] is None
    statement = api.get(f"{BASE}/me", headers=auth(api, "chen")).json()["statements"]
    assert contested["id"] not in [c["claim_id"] for s in statement for c in s["claims"]]

    # Citizens cannot decide; a reviewer can, with reasons.
    decision = {"approve": True, "reason": "The hospital fund confirms it did not pay this treatment."}
    assert (
        api.post(f"{BASE}/claims/{contested['id']}/decision", json=decision, headers=auth(api, "chen")).status_code
        == 403
    )
    decided = api.post(f"{BASE}/claims/{contested['id']}/decision", json=decision, headers=auth(api, "reviewer"))
    assert decided.status_code == 200 and decided.json()["status"] == "approved"

    second = api.post(f"{BASE}/periods/2027-03/settlement", headers=clinician).json()
    paid = api.get(f"{BASE}/me", headers=auth(api, "alice")).json()["claims"][0]
    assert paid["status"] == "paid" and paid["paid_in_period"] == "2027-03"
    # Every member sees that their fee paid for it, and what it cost them.
    statement = api.get(f"{BASE}/me", headers=auth(api, "chen")).json()["statements"]
    period = next(s for s in statement if s["period"] == "2027-03")
    part = next(c for c in period["claims"] if c["claim_id"] == contested["id"])
    assert Decimal(part["your_part"]) == (Decimal(paid["payout"]) / second["members"]).quantize(Decimal("0.0001"))
    assert period["share"] == second["share_per_member"]


def test_settlement_follows_the_fee_formula_exactly(api, clock):
    join_all(api)
    overview = api.get(BASE).json()
    before = Decimal(overview["balance"])
    fee = Decimal(overview["rules"]["management_fee_per_period"])
    clock.advance(days=100)
    a = claim(api, "alice", diagnosed=clock.now.date() - timedelta(days=5), amount="1234.57", document=b"a")
    b = claim(api, "bob", diagnosed=clock.now.date() - timedelta(days=5), amount="800.00", document=b"b")
    clock.advance(days=8)
    settled = api.post(f"{BASE}/periods/2027-02/settlement", headers=auth(api, "clinician")).json()
    members = settled["members"]
    cap = Decimal(overview["rules"]["cap_per_claim_per_member"])
    payouts = [min(Decimal(x["amount"]) / members, cap) * members for x in (a, b)]
    expected_payouts = [p.quantize(Decimal("0.01")) for p in payouts]
    for name, expected_payout in zip(("alice", "bob"), expected_payouts, strict=True):
        paid = api.get(f"{BASE}/me", headers=auth(api, name)).json()["claims"][0]
        assert Decimal(paid["payout"]) == expected_payout
    # The demo pool's own approved claims are paid in the same period: the formula runs on the total.
    assert Decimal(settled["payouts_total"]) >= sum(expected_payouts)
    expected = share_per_member([Decimal(settled["payouts_total"])], fee, before, members)
    assert Decimal(settled["share_per_member"]) == expected
    assert Decimal(settled["balance_after"]) == (
        Decimal(settled["balance_before"])
        + members * Decimal(settled["share_per_member"])
        - Decimal(settled["payouts_total"])
        - fee
    )
    again = api.post(f"{BASE}/periods/2027-02/settlement", headers=auth(api, "clinician"))
    assert again.status_code == 409


def test_a_refusal_overturned_on_appeal_enters_public_notice(api, clock):
    join_all(api)
    refused = claim(api, "alice", diagnosed=clock.now.date() - timedelta(days=5))
    appeal = api.post(
        "/api/v1/appeals",
        json={"receipt": refused["receipt"], "grounds": "I was ill after joining."},
        headers=auth(api, "alice"),
    ).json()
    decided = api.post(
        f"/api/v1/appeals/{appeal['id']}/decision",
        json={"outcome": "overturned", "reasons": "The pool's records had the wrong joining date."},
        headers=auth(api, "reviewer"),
    )
    assert decided.status_code == 200
    now = api.get(f"{BASE}/me", headers=auth(api, "alice")).json()["claims"][0]
    assert now["status"] == "in_public_notice" and now["human_decision"]["approved"] is True
    assert refused["id"] in [n["claim_id"] for n in api.get(BASE).json()["public_notice"]]


def test_pool_role_boundaries(api):
    assert api.post(f"{BASE}/members", headers=auth(api, "clinician")).status_code == 403
    assert api.get(f"{BASE}/me", headers=auth(api, "citizen2")).status_code in (200, 404)
    assert api.get(f"{BASE}/me", headers=auth(api, "alice")).status_code == 404  # not a member yet
    for who in ("citizen", "admin", "auditor"):
        assert api.get(f"{BASE}/objected", headers=auth(api, who)).status_code == 403, who
    for who in ("citizen", "reviewer", "admin"):
        assert api.post(f"{BASE}/periods/2027-01/settlement", headers=auth(api, who)).status_code == 403, who
    public = api.get(BASE)  # the notice is public and names nobody
    assert public.status_code == 200
    assert all(
        set(n) == {"claim_id", "illness", "illness_name", "amount", "member_since", "objections_until"}
        for n in public.json()["public_notice"]
    )
