"""The credit service's tables (prefixed ``credit_``).

The domain's values (``ListDefinition``, ``Listing``, ``Memorandum``) are immutable dataclasses;
these rows hold them between requests and ``store.py`` converts both ways. Records themselves are
never copied here: they stay in the exchange (``core_feed_records``) with their provenance, and a
listing names them in ``facts`` ("agency/feed#key").
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicbrain.core.db import Base


class CreditSubject(Base):
    """A person or company the platform holds public credit information about (FtM Person/Company)."""

    __tablename__ = "credit_subjects"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # also the FtM entity id
    kind: Mapped[str] = mapped_column(String(16))  # person | organization
    name: Mapped[str] = mapped_column(String(300), index=True)
    aliases: Mapped[list[Any]] = mapped_column()
    birth_date: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str | None] = mapped_column(String(2))
    # Resident ID number or unified social credit code, normalised (separators removed, upper case).
    identifier: Mapped[str | None] = mapped_column(String(64), index=True)
    # The resident on this instance's person register, when the subject is one (their "my credit" page).
    person_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Whether ``credit_name_keys`` holds this subject's current names. Indexing waits for the next
    # check (``candidates.index_pending``): name analysis loads its tables on first use, which a
    # proposal or an intake should not pay for.
    names_indexed: Mapped[bool] = mapped_column(Boolean, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CreditNameKey(Base):
    """Blocking keys of a subject's names (``domain.blocking.name_keys``), so a check finds its few
    candidates by index instead of reading every listed subject."""

    __tablename__ = "credit_name_keys"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("credit_subjects.id"), primary_key=True, index=True)


class CreditNameKeyCount(Base):
    """How many subjects hold each blocking key (its posting count), kept with ``credit_name_keys`` by
    ``candidates.write_name_keys``. A check weighs its keys by their rarity; counting a common key's
    postings in the index on every check (a surname shared by thousands) cost more than the rest of
    the check's queries together."""

    __tablename__ = "credit_name_key_counts"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    postings: Mapped[int] = mapped_column(Integer)


class CreditList(Base):
    """A published blacklist or redlist: owner, legal basis, criteria, tier, maximum duration."""

    __tablename__ = "credit_lists"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    owning_agency: Mapped[str] = mapped_column(ForeignKey("core_agencies.id"))
    legal_basis: Mapped[str] = mapped_column(Text)
    criteria: Mapped[list[Any]] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))  # blacklist | redlist
    tier: Mapped[str] = mapped_column(String(16))  # minor | general | serious
    max_duration_months: Mapped[int] = mapped_column(Integer)
    exit_conditions: Mapped[list[Any]] = mapped_column()
    objection_window_days: Mapped[int] = mapped_column(Integer)
    objection_answer_days: Mapped[int] = mapped_column(Integer)
    repair_decision_days: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool | None] = mapped_column(Boolean)


class CreditListing(Base):
    """One subject on one list, with its due-process state and the receipts of each step."""

    __tablename__ = "credit_listings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    list_code: Mapped[str] = mapped_column(ForeignKey("credit_lists.code"), index=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("credit_subjects.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reasons: Mapped[list[Any]] = mapped_column()
    facts: Mapped[list[Any]] = mapped_column()
    duration_months: Mapped[int] = mapped_column(Integer)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    proposed_by: Mapped[str] = mapped_column(String(64))
    notice: Mapped[dict[str, Any] | None] = mapped_column()
    objection: Mapped[dict[str, Any] | None] = mapped_column()
    repair: Mapped[dict[str, Any] | None] = mapped_column()
    corrections: Mapped[list[Any]] = mapped_column()
    effective_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The notice's ledger receipt: contesting it through core appeals is the objection.
    notice_receipt: Mapped[str | None] = mapped_column(String(36), index=True)
    appeal_id: Mapped[int | None] = mapped_column(Integer)
    repair_receipt: Mapped[str | None] = mapped_column(String(36))
    # Federation: the instance whose authority listed the subject ("who lists, who repairs").
    origin_instance: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CreditMemorandum(Base):
    """List L of agency A -> measure M applied by agency B in contexts C (joint measures)."""

    __tablename__ = "credit_memoranda"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    list_code: Mapped[str] = mapped_column(ForeignKey("credit_lists.code"), index=True)
    applying_agency: Mapped[str] = mapped_column(ForeignKey("core_agencies.id"))
    measure_code: Mapped[str] = mapped_column(String(64))
    measure_description: Mapped[str] = mapped_column(Text)
    effect: Mapped[str] = mapped_column(String(16))  # restrict | priority
    contexts: Mapped[list[Any]] = mapped_column()
    legal_basis: Mapped[str] = mapped_column(Text)
    proportionality: Mapped[str] = mapped_column(Text)
    signed_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class CreditJudgement(Base):
    """A reviewer's "not the same person": the candidate is excluded for that query subject."""

    __tablename__ = "credit_judgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    query_key: Mapped[str] = mapped_column(String(200))
    candidate_id: Mapped[str] = mapped_column(ForeignKey("credit_subjects.id"))
    reviewer: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("query_key", "candidate_id", name="uq_credit_judgements_pair"),)


class CreditCheck(Base):
    """The screening trail: every check, who asked, in which context, and the answer (no personal data)."""

    __tablename__ = "credit_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt: Mapped[str] = mapped_column(String(36), unique=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    asking_agency: Mapped[str] = mapped_column(String(64), index=True)
    asked_by: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    measures: Mapped[list[Any]] = mapped_column()  # [{listing_id, measure, memorandum}]


class CreditScoreOptIn(Base):
    """A citizen who chose the city score, and their current score. Withdrawal deletes the row."""

    __tablename__ = "credit_score_optins"

    person_id: Mapped[str] = mapped_column(ForeignKey("core_people.id"), primary_key=True)
    opted_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    score: Mapped[int | None] = mapped_column(Integer)
    band: Mapped[str | None] = mapped_column(String(64))
    table_version: Mapped[str | None] = mapped_column(String(32))
    factors: Mapped[list[Any]] = mapped_column()
    reason_codes: Mapped[list[Any]] = mapped_column()
    improvements: Mapped[list[Any]] = mapped_column()
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    receipt: Mapped[str | None] = mapped_column(String(36))


class CreditFederationPeer(Base):
    """An instance this one federates with: its address, public key and place in the hierarchy."""

    __tablename__ = "credit_federation_peers"

    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    relation: Mapped[str] = mapped_column(String(16))  # parent | child
    base_url: Mapped[str | None] = mapped_column(String(300))
    public_key: Mapped[str] = mapped_column(String(64))
    # The authorities below this peer whose records it may relay upwards (a province's cities).
    relays: Mapped[list[Any]] = mapped_column()


class CreditSigningKey(Base):
    """This instance's Ed25519 key for signing federation batches (generated on first use)."""

    __tablename__ = "credit_signing_keys"

    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CreditFederationBatch(Base):
    """A signed batch sent or received; (origin, destination, sequence) makes delivery idempotent."""

    __tablename__ = "credit_federation_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))  # up | down
    sequence: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # sent | acknowledged | applied | duplicate | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("origin", "destination", "sequence", name="uq_credit_federation_batches_seq"),)


class CreditFederatedRecord(Base):
    """A record held for another authority (province and national views); its owner alone changes it."""

    __tablename__ = "credit_federated_records"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    via: Mapped[str] = mapped_column(String(64))  # the instance that delivered it
    body: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
