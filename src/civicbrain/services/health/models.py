"""The health service's tables (prefixed ``health_``).

Everything here about a person is health data in the privacy sense: it is used only for health, kept no
longer than the health retention period, listed in subject access and removed on erasure. Money is stored
as text so a Decimal never passes through a float.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicbrain.core.db import Base

# --- AI doctor ---------------------------------------------------------------------------------


class Consultation(Base):
    """One AI-doctor consultation: the patient's consent, the answers so far, and where it stands.

    ``answers`` is the dialogue in the order asked, so the consultation can be replayed exactly after a
    restart. ``state`` is ``in_progress`` → ``awaiting_clinician`` (in the clinician queue) → ``reviewed``.
    """

    __tablename__ = "health_consultations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    consent_given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consent_version: Mapped[str] = mapped_column(String(32))
    age: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(1))
    initial_evidence: Mapped[str] = mapped_column(String(16))
    answers: Mapped[list[Any]] = mapped_column()
    state: Mapped[str] = mapped_column(String(24), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    urgency: Mapped[str | None] = mapped_column(String(24))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped_because: Mapped[str | None] = mapped_column(String(200))
    # The hand-over summary (domain HandoverSummary.as_dict) the clinician reads.
    summary: Mapped[dict[str, Any] | None] = mapped_column()
    # The advisory ledger entry holding the AI's differential and urgency.
    receipt: Mapped[str | None] = mapped_column(String(36), index=True)


class ClinicianReview(Base):
    """A clinician's confirmation or correction of the AI's suggestion (one per consultation)."""

    __tablename__ = "health_clinician_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consultation_id: Mapped[str] = mapped_column(ForeignKey("health_consultations.id"), unique=True)
    clinician: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # confirmed | corrected
    diagnosis: Mapped[str] = mapped_column(String(200))
    urgency: Mapped[str] = mapped_column(String(24))
    notes: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    receipt: Mapped[str] = mapped_column(String(36))


# --- mutual-aid pool ---------------------------------------------------------------------------


class PoolMember(Base):
    __tablename__ = "health_pool_members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), unique=True)
    joined_on: Mapped[date] = mapped_column(Date)


class PoolClaim(Base):
    """A claim, with the automatic checks' results and where it stands (``ClaimStatus`` values)."""

    __tablename__ = "health_pool_claims"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("health_pool_members.id"), index=True)
    illness: Mapped[str] = mapped_column(String(32))
    diagnosed_on: Mapped[date] = mapped_column(Date)
    treatment_start: Mapped[date] = mapped_column(Date)
    treatment_end: Mapped[date] = mapped_column(Date)
    amount: Mapped[str] = mapped_column(String(24))
    submitted_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(40), index=True)
    checks: Mapped[list[Any]] = mapped_column()
    noticed_on: Mapped[date | None] = mapped_column(Date)
    # The automatic checks' ledger entry (live: a refusal takes effect and can be contested).
    receipt: Mapped[str] = mapped_column(String(36), index=True)
    human_decision_by: Mapped[str | None] = mapped_column(String(64))
    human_decision_approved: Mapped[bool | None] = mapped_column(Boolean)
    human_decision_reason: Mapped[str | None] = mapped_column(Text)
    human_decision_receipt: Mapped[str | None] = mapped_column(String(36))
    paid_in_period: Mapped[str | None] = mapped_column(String(16))
    payout: Mapped[str | None] = mapped_column(String(24))


class PoolDocument(Base):
    """A claim's supporting document, kept by content hash only (the document itself stays with the member)."""

    __tablename__ = "health_pool_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("health_pool_claims.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)


class PoolObjection(Base):
    __tablename__ = "health_pool_objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("health_pool_claims.id"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("health_pool_members.id"))
    reason: Mapped[str] = mapped_column(Text)
    raised_on: Mapped[date] = mapped_column(Date)


class PoolPeriod(Base):
    """One settled period: the figures of the fee formula, so anyone can redo the sum."""

    __tablename__ = "health_pool_periods"

    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    settled_on: Mapped[date] = mapped_column(Date)
    members: Mapped[int] = mapped_column(Integer)
    payouts_total: Mapped[str] = mapped_column(String(24))
    management_fee: Mapped[str] = mapped_column(String(24))
    balance_before: Mapped[str] = mapped_column(String(24))
    share_per_member: Mapped[str] = mapped_column(String(24))
    balance_after: Mapped[str] = mapped_column(String(24))


class PoolCharge(Base):
    """What one paid claim cost each member in one period."""

    __tablename__ = "health_pool_charges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(ForeignKey("health_pool_periods.period"), index=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("health_pool_claims.id"))
    illness: Mapped[str] = mapped_column(String(32))
    payout: Mapped[str] = mapped_column(String(24))
    per_member: Mapped[str] = mapped_column(String(40))


class PoolShare(Base):
    """One member's fee for one period."""

    __tablename__ = "health_pool_shares"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(ForeignKey("health_pool_periods.period"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("health_pool_members.id"), index=True)
    amount: Mapped[str] = mapped_column(String(24))

    __table_args__ = (UniqueConstraint("period", "member_id", name="uq_health_pool_shares_period_member"),)


# --- wearables ---------------------------------------------------------------------------------


class WearableConsent(Base):
    """A wearer's consent to heart-rate monitoring, and the sensitivity they chose."""

    __tablename__ = "health_wearable_consents"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sensitivity: Mapped[str] = mapped_column(String(16))


class WearableAlert(Base):
    __tablename__ = "health_wearable_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    elevated_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    elevated_hours: Mapped[int] = mapped_column(Integer)
    baseline_bpm: Mapped[float] = mapped_column()
    current_bpm: Mapped[float] = mapped_column()
    explanation: Mapped[str] = mapped_column(Text)
    receipt: Mapped[str] = mapped_column(String(36))

    __table_args__ = (UniqueConstraint("person_id", "raised_at", name="uq_health_wearable_alerts_person_raised"),)
