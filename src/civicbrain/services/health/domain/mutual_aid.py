"""Mutual-aid pool (after Xiang Hu Bao): members share the actual payouts of each period equally.

Rules, each of which refuses with a reason a member can read and contest:
  * a claim's illness must be diagnosed after the member's waiting period (default 90 days) has ended;
  * the illness must be on the covered list;
  * no document may have been used before (same content hash, in any claim, or twice in one claim);
  * the dates must be consistent (treatment ends after it starts, nothing in the future, diagnosis before the
    end of treatment, treatment not before the member joined).
A claim that passes is published (public notice, no personal data) and members may object within the
objection window; an objected claim waits for a human decision and is never paid before it. Claims whose
window closed without objection, or whose objection a human overruled, are paid at the next settlement.

Settlement of a period, with N the members sharing it:
    per-member portion of claim c  = min(approved amount of c / N, cap per claim per member)
    payout of claim c              = portion of c x N            (the cap limits what the pool pays)
    share per member               = max(0, sum of payouts + management fee - pool balance) / N,
                                     rounded UP to the cent (so the pool never runs short)
    new balance                    = balance + N x share - payouts - fee   (the rounding stays in the pool
                                     and lowers the next period's share)
Every member's statement lists the claims their share paid for, with the amount each one cost them.
Money is Decimal throughout; no float touches it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class ClaimStatus(StrEnum):
    REFUSED = "refused"
    IN_NOTICE = "in_public_notice"
    OBJECTED = "objected_awaiting_human_decision"
    APPROVED = "approved"
    PAID = "paid"


@dataclass(frozen=True)
class Document:
    name: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Member:
    member_id: str
    joined_on: date


@dataclass(frozen=True)
class ClaimRequest:
    claim_id: str
    member_id: str
    illness: str  # ICD-10 code or covered-list name
    diagnosed_on: date
    treatment_start: date
    treatment_end: date
    amount: Decimal
    documents: tuple[Document, ...]


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    reason: str


@dataclass
class Objection:
    member_id: str
    reason: str
    raised_on: date


@dataclass
class Claim:
    request: ClaimRequest
    checks: tuple[CheckResult, ...]
    status: ClaimStatus
    noticed_on: date | None = None
    objections: list[Objection] = field(default_factory=list)
    human_decision: tuple[str, bool, str] | None = None  # (reviewer, approved, reason)
    paid_in_period: str | None = None
    payout: Decimal | None = None

    @property
    def refusal_reasons(self) -> list[str]:
        return [c.reason for c in self.checks if not c.passed]


@dataclass(frozen=True)
class PoolRules:
    covered_illnesses: frozenset[str]
    waiting_period_days: int = 90
    objection_window_days: int = 7
    cap_per_claim_per_member: Decimal = Decimal("3.00")
    management_fee: Decimal = Decimal("0.00")  # per period, in money


@dataclass(frozen=True)
class ClaimCharge:
    claim_id: str
    illness: str
    payout: Decimal
    per_member: Decimal  # unrounded portion of this claim in each member's share


@dataclass(frozen=True)
class PeriodSettlement:
    period: str
    members: int
    payouts_total: Decimal
    management_fee: Decimal
    balance_before: Decimal
    share_per_member: Decimal
    balance_after: Decimal
    charges: tuple[ClaimCharge, ...]

    def statement_for(self, member_id: str) -> dict:
        """What this member's share paid for (every member sees the same list: shares are equal)."""
        n = Decimal(self.members)
        return {
            "member_id": member_id,
            "period": self.period,
            "share": self.share_per_member,
            "claims": [
                {"claim_id": c.claim_id, "illness": c.illness, "payout": c.payout, "your_part": c.per_member}
                for c in self.charges
            ],
            "management_fee_part": self.management_fee / n,
            "balance_credit": -(self.balance_before / n),
        }


def share_per_member(payouts: Iterable[Decimal], management_fee: Decimal, balance: Decimal, members: int) -> Decimal:
    """(approved payouts + management fee - pool balance) / members, never negative, rounded up to the cent."""
    if members <= 0:
        raise ValueError("members: a settlement needs at least one member")
    total = sum(payouts, Decimal("0")) + management_fee - balance
    return (max(total, Decimal("0")) / Decimal(members)).quantize(CENT, rounding=ROUND_CEILING)


class MutualAidPool:
    """In-memory pool state; the service layer persists members, claims and settlements in its tables."""

    def __init__(self, rules: PoolRules, balance: Decimal = Decimal("0")):
        self.rules = rules
        self.balance = money(balance)
        self.members: dict[str, Member] = {}
        self.claims: dict[str, Claim] = {}
        self.document_hashes: dict[str, str] = {}  # sha256 -> claim id that used it first
        self.settlements: list[PeriodSettlement] = []

    # ------------------------------------------------------------ membership
    def join(self, member_id: str, joined_on: date) -> Member:
        if member_id in self.members:
            raise ValueError(f"member_id: {member_id!r} is already a member")
        self.members[member_id] = member = Member(member_id, joined_on)
        return member

    def waiting_period_ends(self, member_id: str) -> date:
        return self.members[member_id].joined_on + timedelta(days=self.rules.waiting_period_days)

    # ------------------------------------------------------------ claims
    def check(self, request: ClaimRequest, today: date) -> tuple[CheckResult, ...]:
        """Run every check (all of them, so a refusal lists every reason at once)."""
        member = self.members.get(request.member_id)
        if member is None:
            return (CheckResult("membership", False, f"{request.member_id} is not a member of the pool"),)
        results = [CheckResult("membership", True, f"member since {member.joined_on}")]
        ends = self.waiting_period_ends(member.member_id)
        results.append(
            CheckResult("waiting_period", True, f"diagnosed {request.diagnosed_on}, waiting period ended {ends}")
            if request.diagnosed_on >= ends
            else CheckResult(
                "waiting_period",
                False,
                f"diagnosed on {request.diagnosed_on}, inside the {self.rules.waiting_period_days}-day "
                f"waiting period that ends on {ends}",
            )
        )
        covered = request.illness in self.rules.covered_illnesses
        results.append(
            CheckResult(
                "covered_illness",
                covered,
                f"{request.illness} is {'on' if covered else 'not on'} the covered illness list",
            )
        )
        results.append(self._check_documents(request))
        results.append(self._check_dates(request, member, today))
        positive = request.amount > 0
        results.append(
            CheckResult("amount", positive, f"amount {request.amount}" + ("" if positive else " must be positive"))
        )
        return tuple(results)

    def _check_documents(self, request: ClaimRequest) -> CheckResult:
        if not request.documents:
            return CheckResult("documents", False, "no supporting document was attached")
        seen: dict[str, str] = {}
        problems = []
        for document in request.documents:
            digest = document.sha256
            if digest in seen:
                problems.append(f"{document.name} has the same content as {seen[digest]} in this claim")
            elif digest in self.document_hashes and self.document_hashes[digest] != request.claim_id:
                problems.append(f"{document.name} was already submitted with claim {self.document_hashes[digest]}")
            seen[digest] = document.name
        if problems:
            return CheckResult("duplicate_documents", False, "; ".join(problems))
        return CheckResult("duplicate_documents", True, f"{len(request.documents)} documents, none seen before")

    def _check_dates(self, request: ClaimRequest, member: Member, today: date) -> CheckResult:
        problems = []
        if request.treatment_end < request.treatment_start:
            problems.append(f"treatment ends ({request.treatment_end}) before it starts ({request.treatment_start})")
        if max(request.diagnosed_on, request.treatment_start, request.treatment_end) > today:
            problems.append(f"a date lies in the future (today is {today})")
        if request.diagnosed_on > request.treatment_end:
            problems.append(f"diagnosis ({request.diagnosed_on}) after the end of treatment ({request.treatment_end})")
        if request.treatment_start < member.joined_on:
            problems.append(f"treatment started ({request.treatment_start}) before joining ({member.joined_on})")
        if problems:
            return CheckResult("consistent_dates", False, "; ".join(problems))
        return CheckResult("consistent_dates", True, "dates are consistent")

    def submit_claim(self, request: ClaimRequest, today: date) -> Claim:
        """Check the claim; refused claims keep their reasons, passing ones enter public notice today."""
        if request.claim_id in self.claims:
            raise ValueError(f"claim_id: {request.claim_id!r} was already submitted")
        checks = self.check(request, today)
        passed = all(c.passed for c in checks)
        claim = Claim(request, checks, ClaimStatus.IN_NOTICE if passed else ClaimStatus.REFUSED)
        if passed:
            claim.noticed_on = today
            for document in request.documents:
                self.document_hashes.setdefault(document.sha256, request.claim_id)
        self.claims[request.claim_id] = claim
        return claim

    def public_notice(self, today: date) -> list[dict]:
        """Claims open to objection: no name, no document, only what members need to judge the claim."""
        return [
            {
                "claim_id": c.request.claim_id,
                "illness": c.request.illness,
                "amount": c.request.amount,
                "member_since": self.members[c.request.member_id].joined_on.isoformat(),
                "objections_until": self._window_end(c).isoformat(),
            }
            for c in self.claims.values()
            if c.status is ClaimStatus.IN_NOTICE and today <= self._window_end(c)
        ]

    def _window_end(self, claim: Claim) -> date:
        assert claim.noticed_on is not None
        return claim.noticed_on + timedelta(days=self.rules.objection_window_days)

    def object(self, claim_id: str, member_id: str, reason: str, today: date) -> Claim:
        claim = self.claims[claim_id]
        if member_id not in self.members:
            raise ValueError(f"member_id: only members may object ({member_id!r} is not one)")
        if claim.status not in (ClaimStatus.IN_NOTICE, ClaimStatus.OBJECTED):
            raise ValueError(f"claim_id: {claim_id} is {claim.status.value}, not open to objection")
        if today > self._window_end(claim):
            raise ValueError(f"today: the objection window of {claim_id} closed on {self._window_end(claim)}")
        if not reason.strip():
            raise ValueError("reason: an objection must say why")
        claim.objections.append(Objection(member_id, reason, today))
        claim.status = ClaimStatus.OBJECTED
        return claim

    def decide_objection(self, claim_id: str, reviewer: str, approve: bool, reason: str) -> Claim:
        """The human decision on an objected claim (the only way out of OBJECTED)."""
        claim = self.claims[claim_id]
        if claim.status is not ClaimStatus.OBJECTED:
            raise ValueError(f"claim_id: {claim_id} is {claim.status.value}, there is no objection to decide")
        if not reviewer or not reason.strip():
            raise ValueError("reviewer, reason: a human decision names its reviewer and its reason")
        claim.human_decision = (reviewer, approve, reason)
        claim.status = ClaimStatus.APPROVED if approve else ClaimStatus.REFUSED
        return claim

    def close_notices(self, today: date) -> list[Claim]:
        """Approve claims whose objection window has closed without objection."""
        approved = []
        for claim in self.claims.values():
            if claim.status is ClaimStatus.IN_NOTICE and today > self._window_end(claim):
                claim.status = ClaimStatus.APPROVED
                approved.append(claim)
        return approved

    # ------------------------------------------------------------ settlement
    def settle_period(self, period: str, today: date) -> PeriodSettlement:
        """Share the period's approved claims equally among the members; objected claims wait."""
        self.close_notices(today)
        payable = [c for c in self.claims.values() if c.status is ClaimStatus.APPROVED]
        n = len([m for m in self.members.values() if m.joined_on <= today])
        members = Decimal(n)
        charges = []
        for claim in payable:
            portion = min(claim.request.amount / members, self.rules.cap_per_claim_per_member)
            payout = money(portion * members)
            charges.append(ClaimCharge(claim.request.claim_id, claim.request.illness, payout, payout / members))
        payouts_total = sum((c.payout for c in charges), Decimal("0"))
        share = share_per_member([c.payout for c in charges], self.rules.management_fee, self.balance, n)
        balance_before = self.balance
        self.balance = money(self.balance + share * members - payouts_total - self.rules.management_fee)
        for claim, charge in zip(payable, charges, strict=True):
            claim.status, claim.paid_in_period, claim.payout = ClaimStatus.PAID, period, charge.payout
        settlement = PeriodSettlement(
            period, n, payouts_total, self.rules.management_fee, balance_before, share, self.balance, tuple(charges)
        )
        self.settlements.append(settlement)
        return settlement
