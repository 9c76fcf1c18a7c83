"""The core's tables. Service tables live in each service's ``models.py`` (prefixed with its name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from civicbrain.core.db import Base


class Agency(Base):
    __tablename__ = "core_agencies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200), default="")


class Person(Base):
    """A citizen known to this instance: only what the platform needs to serve and audit.

    ``region``, ``age_band`` and ``sex`` are kept solely for the fairness audit of decisions.
    """

    __tablename__ = "core_people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(16))  # urban | rural
    age_band: Mapped[str | None] = mapped_column(String(16))
    sex: Mapped[str | None] = mapped_column(String(16))
    # The person's pseudonymous reference in the ledger, so audits can group decisions by region,
    # age band and sex without the ledger ever holding those attributes.
    ledger_ref: Mapped[str] = mapped_column(String(100), index=True)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class User(Base):
    __tablename__ = "core_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("core_agencies.id"))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("core_people.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiToken(Base):
    __tablename__ = "core_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LedgerHead(Base):
    """One row: the sequence number and hash of the newest ledger entry.

    Appends lock this row first, so concurrent writers queue up instead of forking the chain.
    """

    __tablename__ = "core_ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


class LedgerEntry(Base):
    """An append-only, hash-chained record of one automated decision or human review outcome.

    ``entry_hash`` covers every column below except ``payload`` itself: the personal part
    (inputs, explanation, detailed outcome) is encrypted with the subject's key and covered through
    ``payload_digest``. Destroying the subject's key erases the person without breaking the chain.
    """

    __tablename__ = "core_ledger_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    receipt: Mapped[str] = mapped_column(String(36), unique=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16))  # automated | human
    service: Mapped[str] = mapped_column(String(32), index=True)
    algorithm: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    subject_ref: Mapped[str] = mapped_column(String(100), index=True)
    outcome_label: Mapped[str] = mapped_column(String(100))
    links_to: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str | None] = mapped_column(String(64))
    payload_digest: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class SubjectKey(Base):
    """The key that encrypts one subject's ledger payloads. Erasure deletes the row."""

    __tablename__ = "core_subject_keys"

    subject_ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GroundTruth(Base):
    """What later turned out to be right about a decision (an appeal, an inspection, a test result)."""

    __tablename__ = "core_ground_truth"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt: Mapped[str] = mapped_column(String(36), index=True)
    was_correct: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Appeal(Base):
    __tablename__ = "core_appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt: Mapped[str] = mapped_column(String(36), index=True)
    service: Mapped[str] = mapped_column(String(32), index=True)
    algorithm: Mapped[str] = mapped_column(String(100))
    subject_ref: Mapped[str] = mapped_column(String(100), index=True)
    grounds: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | upheld | overturned | withdrawn
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewer: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome_receipt: Mapped[str | None] = mapped_column(String(36))


class ErasureRequest(Base):
    __tablename__ = "core_erasure_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | completed | refused
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    response: Mapped[str | None] = mapped_column(Text)


class Feed(Base):
    """An agency's declared data feed: what it sends, of which categories, for which purpose."""

    __tablename__ = "core_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[str] = mapped_column(ForeignKey("core_agencies.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    schema: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("agency_id", "name", name="uq_core_feeds_agency_name"),)


class Upload(Base):
    """One file (or one batch of posted records) sent to a feed."""

    __tablename__ = "core_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("core_feeds.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # running | complete
    rows_seen: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)


class FeedRecord(Base):
    """A validated record, with its provenance. (feed, source key) is unique: re-sends add nothing."""

    __tablename__ = "core_feed_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("core_feeds.id"))
    source_key: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[dict[str, Any]] = mapped_column()
    upload_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    __table_args__ = (UniqueConstraint("feed_id", "source_key", name="uq_core_feed_records_key"),)


class QuarantinedRecord(Base):
    """A record that failed validation: kept with its reasons until fixed and re-submitted."""

    __tablename__ = "core_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("core_feeds.id"), index=True)
    upload_id: Mapped[int | None] = mapped_column(Integer)
    row_number: Mapped[int | None] = mapped_column(Integer)
    row_digest: Mapped[str] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]] = mapped_column()
    reasons: Mapped[list[Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))  # open | resubmitted | discarded
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("feed_id", "row_digest", name="uq_core_quarantine_digest"),)


class Job(Base):
    """A background job started from the portal or API, with its progress for the status page."""

    __tablename__ = "core_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column()
    result: Mapped[dict[str, Any] | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


Index("ix_core_ledger_entries_links_to", LedgerEntry.links_to)
