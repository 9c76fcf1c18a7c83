from datetime import date
from decimal import Decimal

import pytest

from civicbrain.services.health.domain.mutual_aid import (
    ClaimRequest,
    ClaimStatus,
    Document,
    MutualAidPool,
    PoolRules,
    share_per_member,
)

D = Decimal
RULES = PoolRules(
    covered_illnesses=frozenset({"C34", "I21", "K85"}),
    cap_per_claim_per_member=D("3.00"),
    management_fee=D("100.00"),
)


def request(claim_id, member="m0", illness="C34", amount="2000.00", diagnosed=date(2024, 6, 1), docs=None):
    return ClaimRequest(
        claim_id=claim_id,
        member_id=member,
        illness=illness,
        diagnosed_on=diagnosed,
        treatment_start=diagnosed,
        treatment_end=date(2024, 6, 20),
        amount=D(amount),
        documents=tuple(docs or [Document(f"{claim_id}-bill.pdf", f"bill of {claim_id}".encode())]),
    )


def pool_with(n_members, rules=RULES, balance="0", joined=date(2024, 1, 1)):
    pool = MutualAidPool(rules, balance=D(balance))
    for i in range(n_members):
        pool.join(f"m{i}", joined)
    return pool


def test_fee_formula_worked_example_with_cap_and_management_fee():
    # 1,000 members; claim A 2,000.00 -> 2.00 each; claim B 5,000.00 -> 5.00 each, capped at 3.00
    # share = (2,000 + 3,000 + 100 fee - 0 balance) / 1,000 = 5.10
    pool = pool_with(1000)
    pool.submit_claim(request("A", amount="2000.00"), today=date(2024, 7, 1))
    pool.submit_claim(request("B", member="m1", illness="I21", amount="5000.00"), today=date(2024, 7, 1))
    settlement = pool.settle_period("2024-07", today=date(2024, 7, 31))
    assert [c.payout for c in settlement.charges] == [D("2000.00"), D("3000.00")]
    assert settlement.share_per_member == D("5.10")
    assert settlement.balance_after == D("0.00")
    statement = settlement.statement_for("m42")
    assert [(c["claim_id"], c["your_part"]) for c in statement["claims"]] == [("A", D("2")), ("B", D("3"))]
    assert sum(c["your_part"] for c in statement["claims"]) + statement["management_fee_part"] == D("5.10")


def test_fee_formula_balance_and_rounding_up_stays_in_pool():
    # 3 members, one 100.00 claim, fee 1.00, balance 0.50: (100 + 1 - 0.50) / 3 = 33.5 exactly
    rules = PoolRules(covered_illnesses=frozenset({"C34"}), cap_per_claim_per_member=D("50"), management_fee=D("1"))
    pool = pool_with(3, rules, balance="0.50")
    pool.submit_claim(request("A", amount="100.00"), today=date(2024, 7, 1))
    first = pool.settle_period("p1", today=date(2024, 7, 31))
    assert first.share_per_member == D("33.50") and first.balance_after == D("0.00")
    # next period 100.00 / 3 = 33.333.. -> 33.34 each; the 0.02 surplus stays in the pool
    rules_no_fee = PoolRules(covered_illnesses=frozenset({"C34"}), cap_per_claim_per_member=D("50"))
    pool.rules = rules_no_fee
    pool.submit_claim(request("B", member="m1", amount="100.00"), today=date(2024, 8, 1))
    second = pool.settle_period("p2", today=date(2024, 8, 31))
    assert second.share_per_member == D("33.34")
    assert second.balance_after == D("0.02")


def test_share_is_never_negative_when_balance_covers_everything():
    assert share_per_member([D("10.00")], D("1.00"), D("50.00"), 10) == D("0.00")
    assert share_per_member([D("10.00"), D("20.00")], D("0"), D("0"), 7) == D("4.29")  # 4.2857.. rounded up


def test_claim_inside_waiting_period_is_refused_with_reason():
    pool = pool_with(2, joined=date(2024, 5, 1))
    claim = pool.submit_claim(request("A", diagnosed=date(2024, 6, 1)), today=date(2024, 7, 1))
    assert claim.status is ClaimStatus.REFUSED
    assert any("waiting period that ends on 2024-07-30" in r for r in claim.refusal_reasons)


def test_duplicate_document_is_refused_with_reason():
    pool = pool_with(2)
    bill = Document("bill.pdf", b"hospital bill 123")
    assert pool.submit_claim(request("A", docs=[bill]), today=date(2024, 7, 1)).status is ClaimStatus.IN_NOTICE
    copy = Document("scan-of-bill.pdf", b"hospital bill 123")
    second = pool.submit_claim(request("B", member="m1", docs=[copy]), today=date(2024, 7, 2))
    assert second.status is ClaimStatus.REFUSED
    assert any("already submitted with claim A" in r for r in second.refusal_reasons)


def test_uncovered_illness_and_inconsistent_dates_are_refused():
    pool = pool_with(1)
    bad = ClaimRequest(
        "X", "m0", "J06", date(2024, 6, 10), date(2024, 6, 12), date(2024, 6, 11), D("10"), (Document("a", b"a"),)
    )
    claim = pool.submit_claim(bad, today=date(2024, 7, 1))
    failed = {c.check for c in claim.checks if not c.passed}
    assert failed == {"covered_illness", "consistent_dates"}


def test_objected_claim_is_not_paid_before_a_human_decides():
    pool = pool_with(10)
    pool.submit_claim(request("A"), today=date(2024, 7, 1))
    assert [n["claim_id"] for n in pool.public_notice(date(2024, 7, 3))] == ["A"]
    pool.object("A", "m5", "I saw the claimant running a marathon", today=date(2024, 7, 3))
    settlement = pool.settle_period("2024-07", today=date(2024, 7, 31))
    assert settlement.charges == () and pool.claims["A"].status is ClaimStatus.OBJECTED
    with pytest.raises(ValueError, match="reviewer"):
        pool.decide_objection("A", "", True, "")
    pool.decide_objection("A", "clinician-7", True, "records confirm the diagnosis")
    paid = pool.settle_period("2024-08", today=date(2024, 8, 31))
    assert [c.claim_id for c in paid.charges] == ["A"] and pool.claims["A"].status is ClaimStatus.PAID


def test_objection_after_window_is_rejected():
    pool = pool_with(3)
    pool.submit_claim(request("A"), today=date(2024, 7, 1))
    with pytest.raises(ValueError, match="window"):
        pool.object("A", "m1", "late", today=date(2024, 7, 9))
