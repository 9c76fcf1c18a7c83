"""Use cases of the mutual-aid pool: join, claim, object, decide objections, settle, statements.

The rules and the fee formula are the domain's (``domain/mutual_aid.py``); this module keeps the pool in
tables. Each use case rebuilds the domain's ``MutualAidPool`` from the rows, lets it apply the rules, and
writes back what changed — so there is one implementation of the rules and the tables cannot drift from it.

Every automatic check result is a live ledger entry (a refusal takes effect and can be contested by its
receipt); a human decision on an objection is chained to it. Documents are kept by content hash only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.errors import Conflict, NotFound, ValidationFailed
from civicbrain.core.models import Appeal
from civicbrain.services.health.access import domain_error
from civicbrain.services.health.algorithms import POOL_CLAIM_CHECKS
from civicbrain.services.health.domain.mutual_aid import (
    CheckResult,
    Claim,
    ClaimRequest,
    ClaimStatus,
    Document,
    MutualAidPool,
    Objection,
    PoolRules,
    money,
)
from civicbrain.services.health.models import (
    PoolCharge,
    PoolClaim,
    PoolDocument,
    PoolMember,
    PoolObjection,
    PoolPeriod,
    PoolShare,
)

# The demo city's covered list (serious illnesses, as in Xiang Hu Bao), by ICD-10 code.
COVERED_ILLNESSES = {
    "C16": "Stomach cancer",
    "C18": "Colon cancer",
    "C22": "Liver cancer",
    "C34": "Lung cancer",
    "C50": "Breast cancer",
    "C91": "Lymphoid leukaemia",
    "I21": "Acute myocardial infarction",
    "I63": "Cerebral infarction (stroke)",
    "N18.5": "Chronic kidney disease, stage 5",
    "G35": "Multiple sclerosis",
}
RULES = PoolRules(
    covered_illnesses=frozenset(COVERED_ILLNESSES),
    waiting_period_days=90,
    objection_window_days=7,
    cap_per_claim_per_member=Decimal("5000.00"),
    management_fee=Decimal("20.00"),
)
MAX_DOCUMENT_BYTES = 5_000_000


def today(ctx: Platform) -> date:
    return ctx.now().date()


# --- loading and saving the domain pool ----------------------------------------------------------


def _claim_of(row: PoolClaim, objections: Sequence[PoolObjection]) -> Claim:
    request = ClaimRequest(
        claim_id=row.id,
        member_id=row.member_id,
        illness=row.illness,
        diagnosed_on=row.diagnosed_on,
        treatment_start=row.treatment_start,
        treatment_end=row.treatment_end,
        amount=Decimal(row.amount),
        documents=(),  # stored claims are never re-checked; their hashes are in the pool's index
    )
    decision = None
    if row.human_decision_by is not None:
        decision = (row.human_decision_by, bool(row.human_decision_approved), row.human_decision_reason or "")
    return Claim(
        request=request,
        checks=tuple(CheckResult(**c) for c in row.checks),
        status=ClaimStatus(row.status),
        noticed_on=row.noticed_on,
        objections=[Objection(o.member_id, o.reason, o.raised_on) for o in objections],
        human_decision=decision,
        paid_in_period=row.paid_in_period,
        payout=Decimal(row.payout) if row.payout is not None else None,
    )


def balance(ctx: Platform) -> Decimal:
    latest = ctx.session.scalar(select(PoolPeriod).order_by(PoolPeriod.settled_on.desc(), PoolPeriod.period.desc()))
    return Decimal(latest.balance_after) if latest is not None else Decimal("0")


def load_pool(ctx: Platform) -> tuple[MutualAidPool, dict[str, PoolClaim]]:
    pool = MutualAidPool(RULES, balance(ctx))
    for member in ctx.session.scalars(select(PoolMember).order_by(PoolMember.joined_on, PoolMember.id)):
        pool.join(member.id, member.joined_on)
    objections: dict[str, list[PoolObjection]] = {}
    for objection in ctx.session.scalars(select(PoolObjection).order_by(PoolObjection.id)):
        objections.setdefault(objection.claim_id, []).append(objection)
    rows = {
        row.id: row for row in ctx.session.scalars(select(PoolClaim).order_by(PoolClaim.submitted_on, PoolClaim.id))
    }
    for row in rows.values():
        pool.claims[row.id] = _claim_of(row, objections.get(row.id, []))
    # Only documents of claims that were not refused count as "used" (the domain's rule).
    used = select(PoolDocument.sha256, PoolDocument.claim_id).join(PoolClaim, PoolClaim.id == PoolDocument.claim_id)
    for digest, claim_id in ctx.session.execute(used.where(PoolClaim.status != ClaimStatus.REFUSED.value)):
        pool.document_hashes.setdefault(digest, claim_id)
    return pool, rows


def _write_back(claim: Claim, row: PoolClaim) -> None:
    row.status = claim.status.value
    row.noticed_on = claim.noticed_on
    row.paid_in_period = claim.paid_in_period
    row.payout = str(claim.payout) if claim.payout is not None else None
    if claim.human_decision is not None:
        row.human_decision_by, row.human_decision_approved, row.human_decision_reason = claim.human_decision


# --- membership ----------------------------------------------------------------------------------


def member_of(ctx: Platform, person_id: str) -> PoolMember | None:
    return ctx.session.scalar(select(PoolMember).where(PoolMember.person_id == person_id))


def require_member(ctx: Platform, person_id: str) -> PoolMember:
    member = member_of(ctx, person_id)
    if member is None:
        raise NotFound("you are not a member of the mutual-aid pool: join first", field="member")
    return member


def join(ctx: Platform, person_id: str, joined_on: date | None = None) -> PoolMember:
    if member_of(ctx, person_id) is not None:
        raise Conflict("you are already a member of the pool", field="member")
    member = PoolMember(id=f"M-{uuid.uuid4().hex[:10]}", person_id=person_id, joined_on=joined_on or today(ctx))
    ctx.session.add(member)
    ctx.session.flush()
    return member


def waiting_period_ends(member: PoolMember) -> date:
    pool = MutualAidPool(RULES)
    pool.join(member.id, member.joined_on)
    return pool.waiting_period_ends(member.id)


# --- claims --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimInput:
    illness: str
    diagnosed_on: date
    treatment_start: date
    treatment_end: date
    amount: str
    documents: Sequence[tuple[str, bytes]]


def parse_amount(value: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed("an amount is a number such as 12000.00", field="amount") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2 or abs(amount) >= Decimal("1e9"):  # type: ignore[operator]
        raise ValidationFailed("an amount has at most 2 decimals and is below 1,000,000,000", field="amount")
    return money(amount)


def submit_claim(ctx: Platform, member: PoolMember, given: ClaimInput) -> PoolClaim:
    """Run every check; a refusal is recorded with all its reasons, a pass enters public notice today."""
    amount = parse_amount(given.amount)
    for name, content in given.documents:
        if not name.strip() or len(name) > 200:
            raise ValidationFailed("each document needs a name of at most 200 characters", field="documents")
        if len(content) > MAX_DOCUMENT_BYTES:
            raise ValidationFailed(f"{name} is larger than {MAX_DOCUMENT_BYTES} bytes", field="documents")
    pool, _rows = load_pool(ctx)
    claim_id = f"C-{uuid.uuid4().hex[:10]}"
    documents = tuple(Document(name.strip(), content) for name, content in given.documents)
    request = ClaimRequest(
        claim_id,
        member.id,
        given.illness.strip(),
        given.diagnosed_on,
        given.treatment_start,
        given.treatment_end,
        amount,
        documents,
    )
    try:
        claim = pool.submit_claim(request, today(ctx))
    except ValueError as exc:
        raise domain_error(exc) from None
    decision = ctx.decide(
        algorithm=POOL_CLAIM_CHECKS.id,
        version=POOL_CLAIM_CHECKS.version,
        subject=f"person:{member.person_id}",
        inputs={
            "illness": request.illness,
            "diagnosed_on": request.diagnosed_on.isoformat(),
            "treatment_start": request.treatment_start.isoformat(),
            "treatment_end": request.treatment_end.isoformat(),
            "amount": str(amount),
            "member_since": member.joined_on.isoformat(),
            "document_hashes": [d.sha256 for d in documents],
        },
        outcome={"label": claim.status.value, "claim_id": claim_id},
        explanation=_check_explanation(claim),
        mode="live",
    )
    row = PoolClaim(
        id=claim_id,
        member_id=member.id,
        illness=request.illness,
        diagnosed_on=request.diagnosed_on,
        treatment_start=request.treatment_start,
        treatment_end=request.treatment_end,
        amount=str(amount),
        submitted_on=today(ctx),
        status=claim.status.value,
        checks=[{"check": c.check, "passed": c.passed, "reason": c.reason} for c in claim.checks],
        noticed_on=claim.noticed_on,
        receipt=decision.id,
    )
    ctx.session.add(row)
    ctx.session.flush()
    for document in documents:
        ctx.session.add(
            PoolDocument(claim_id=claim_id, name=document.name, sha256=document.sha256, size=len(document.content))
        )
    ctx.session.flush()
    return row


def _check_explanation(claim: Claim) -> dict[str, Any]:
    if claim.status is ClaimStatus.REFUSED:
        summary = "Your claim was refused: " + "; ".join(claim.refusal_reasons) + ". You can contest this decision."
    else:
        window = RULES.objection_window_days
        summary = (
            f"Your claim passed every check and is in public notice for {window} days, during which members "
            "may object; it is paid at the next settlement unless an objection is upheld by a person."
        )
    return {
        "summary": summary,
        "checks": [{"check": c.check, "passed": c.passed, "reason": c.reason} for c in claim.checks],
    }


def claims_of(ctx: Platform, member: PoolMember) -> list[PoolClaim]:
    query = select(PoolClaim).where(PoolClaim.member_id == member.id).order_by(PoolClaim.submitted_on.desc())
    return list(ctx.session.scalars(query))


def get_claim(ctx: Platform, claim_id: str) -> PoolClaim:
    row = ctx.session.get(PoolClaim, claim_id)
    if row is None:
        raise NotFound(f"no claim '{claim_id}'", field="claim_id")
    return row


def objections_to(ctx: Platform, claim_id: str) -> list[PoolObjection]:
    return list(ctx.session.scalars(select(PoolObjection).where(PoolObjection.claim_id == claim_id)))


def public_notice(ctx: Platform) -> list[dict[str, Any]]:
    """Claims open to objection: illness, amount and membership age only (no name, no document)."""
    pool, _rows = load_pool(ctx)
    notice = pool.public_notice(today(ctx))
    for item in notice:
        item["illness_name"] = COVERED_ILLNESSES.get(item["illness"], item["illness"])
        item["amount"] = str(item["amount"])
    return notice


def awaiting_human(ctx: Platform) -> list[PoolClaim]:
    query = select(PoolClaim).where(PoolClaim.status == ClaimStatus.OBJECTED.value).order_by(PoolClaim.submitted_on)
    return list(ctx.session.scalars(query))


def object_to(ctx: Platform, member: PoolMember, claim_id: str, reason: str) -> PoolClaim:
    """A member objects within the window: the claim then waits for a human and is not paid before."""
    row = get_claim(ctx, claim_id)
    if row.member_id == member.id:
        raise ValidationFailed("you cannot object to your own claim", field="claim_id")
    if len(reason) > 2000:
        raise ValidationFailed("an objection is at most 2000 characters", field="reason")
    pool, _rows = load_pool(ctx)
    try:
        claim = pool.object(claim_id, member.id, reason, today(ctx))
    except ValueError as exc:
        raise domain_error(exc) from None
    ctx.session.add(PoolObjection(claim_id=claim_id, member_id=member.id, reason=reason.strip(), raised_on=today(ctx)))
    _write_back(claim, row)
    ctx.session.flush()
    return row


def decide_objection(ctx: Platform, claim_id: str, *, decided_by: str, approve: bool, reason: str) -> PoolClaim:
    """A person decides an objected claim: the only way it can be paid (or refused) after an objection."""
    row = get_claim(ctx, claim_id)
    reason = reason.strip()
    if len(reason) < 10:
        raise ValidationFailed("write the reasons for the decision (at least 10 characters)", field="reason")
    pool, _rows = load_pool(ctx)
    try:
        claim = pool.decide_objection(claim_id, decided_by, approve, reason)
    except ValueError as exc:
        raise domain_error(exc) from None
    _write_back(claim, row)
    receipt = ctx.record_human_decision(
        about=row.receipt,
        what="health.pool_objection_review",
        outcome_label="approved" if approve else "refused",
        reasons=reason,
        actor=decided_by,
    )
    row.human_decision_receipt = receipt.receipt
    ctx.session.flush()
    return row


def on_checks_appeal_decided(ctx: Platform, appeal: Appeal) -> None:
    """A reviewer overturned a refusal: the claim enters public notice today, like any claim that passed."""
    if appeal.status != "overturned":
        return
    row = ctx.session.scalar(select(PoolClaim).where(PoolClaim.receipt == appeal.receipt))
    if row is None or row.status != ClaimStatus.REFUSED.value:
        return
    row.status = ClaimStatus.IN_NOTICE.value
    row.noticed_on = today(ctx)
    row.human_decision_by, row.human_decision_approved = appeal.reviewer, True
    row.human_decision_reason = appeal.reasons
    row.human_decision_receipt = appeal.outcome_receipt
    ctx.session.flush()


# --- settlement ----------------------------------------------------------------------------------


def settle(ctx: Platform, period: str) -> PoolPeriod:
    """Close the period: pay approved claims (objected ones wait), share the cost equally, record who paid what."""
    period = period.strip()
    if not period or len(period) > 16 or not period.replace("-", "").isalnum():
        raise ValidationFailed("a period is a short name such as 2026-11", field="period")
    if ctx.session.get(PoolPeriod, period) is not None:
        raise Conflict(f"period {period} was already settled", field="period")
    pool, rows = load_pool(ctx)
    on = today(ctx)
    try:
        settlement = pool.settle_period(period, on)
    except ValueError as exc:
        raise domain_error(exc) from None
    for claim_id, claim in pool.claims.items():
        _write_back(claim, rows[claim_id])
    record = PoolPeriod(
        period=period,
        settled_on=on,
        members=settlement.members,
        payouts_total=str(settlement.payouts_total),
        management_fee=str(settlement.management_fee),
        balance_before=str(settlement.balance_before),
        share_per_member=str(settlement.share_per_member),
        balance_after=str(settlement.balance_after),
    )
    ctx.session.add(record)
    ctx.session.flush()
    for charge in settlement.charges:
        ctx.session.add(
            PoolCharge(
                period=period,
                claim_id=charge.claim_id,
                illness=charge.illness,
                payout=str(charge.payout),
                per_member=str(charge.per_member),
            )
        )
    sharing = [m for m in pool.members.values() if m.joined_on <= on]
    for member in sharing:
        ctx.session.add(PoolShare(period=period, member_id=member.member_id, amount=str(settlement.share_per_member)))
    ctx.session.flush()
    return record


def periods(ctx: Platform) -> list[PoolPeriod]:
    return list(ctx.session.scalars(select(PoolPeriod).order_by(PoolPeriod.settled_on.desc())))


def statements(ctx: Platform, member: PoolMember) -> list[dict[str, Any]]:
    """For each period the member paid into: their share and exactly which claims it paid for."""
    result = []
    shares = ctx.session.scalars(select(PoolShare).where(PoolShare.member_id == member.id).order_by(PoolShare.period))
    for share in shares:
        period = ctx.session.get(PoolPeriod, share.period)
        assert period is not None  # a share row always belongs to a settled period
        n = Decimal(period.members)
        charges = ctx.session.scalars(
            select(PoolCharge).where(PoolCharge.period == share.period).order_by(PoolCharge.id)
        )
        result.append(
            {
                "period": share.period,
                "share": share.amount,
                "members": period.members,
                "claims": [
                    {
                        "claim_id": c.claim_id,
                        "illness": c.illness,
                        "illness_name": COVERED_ILLNESSES.get(c.illness, c.illness),
                        "payout": c.payout,
                        "your_part": str(Decimal(c.per_member).quantize(Decimal("0.0001"))),
                    }
                    for c in charges
                ],
                "management_fee_part": str((Decimal(period.management_fee) / n).quantize(Decimal("0.0001"))),
                "balance_credit": str((-Decimal(period.balance_before) / n).quantize(Decimal("0.0001"))),
            }
        )
    return result
