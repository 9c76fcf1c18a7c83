"""Candidate generation in SQL, for lists too large to read per check.

The same blocking as ``domain.blocking.CandidateIndex`` (identifier first, then name keys ranked by
their rarity), run over the indexed ``credit_name_keys`` table. Only the few best candidates with a
listing in force are loaded and handed to the domain's ``screen`` for the full, explained
comparison, so a check reads a handful of rows whatever the list's size.

What is indexed: the names of subjects that have a listing (any state). A subject the platform
holds records about but never listed cannot be a check's hit, so its names are not screened: with
ten million subjects and two million listings the index is five times smaller. A listing that
ended leaves its subject's keys in place (the subject may be listed again); the in-force filter
runs on the few ranked candidates, and the ranking reads ``RANK_DEPTH`` times more than it keeps,
so ended listings cannot crowd out a listing in force.

A check costs a bounded number of index reads: each key's posting count is one row of
``credit_name_key_counts`` (kept in step by ``write_name_keys``, the only writer of the keys), keys
held by more than ``MAX_POSTINGS`` subjects are left out, and the ranking runs in the database over
the usable keys' postings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Row,
    and_,
    bindparam,
    case,
    delete,
    desc,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from civicbrain.core.context import Platform
from civicbrain.services.credit.domain.blocking import birth_keys, name_keys
from civicbrain.services.credit.domain.listing import ListingState
from civicbrain.services.credit.domain.matching import SubjectRecord
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.models import CreditListing, CreditNameKey, CreditNameKeyCount, CreditSubject
from civicbrain.services.credit.store import ListedSubject

# Keys shared by more listed subjects than this are not read: each adds little to a candidate's
# rank (its weight is log(1 + N/postings)) and reading them is what a check's time would go on. The
# in-memory reference (``CandidateIndex``) reads up to 5,000; in SQL the rare keys that decide the
# ranking (the joined name, adjacent pairs) hold a few postings each.
MAX_POSTINGS = 1_000
# Candidates compared in full per check. The treated UN names (bench/credit_bench.py, screening) keep
# candidate recall 1.0 and match recall 99.85% with 5, 10 or 20; each candidate is a full comparison
# (~0.15 ms) and a join in the ranking, so a name check costs ~1.5 ms less CPU with 10 than with 20.
# Namesakes no longer crowd the right one out: the birth-date keys rank it first (``blocking.birth_keys``).
CANDIDATES = 10
RANK_DEPTH = 3  # ranked candidates read per candidate kept (some may have no listing in force)


@dataclass
class Candidate:
    """A listed subject worth a full comparison, with the ids of its listings in force now."""

    subject: ListedSubject
    listing_ids: list[str] = field(default_factory=list)


def index_subject(ctx: Platform, subject: CreditSubject) -> None:
    """(Re)write a subject's blocking keys: all its names if it has a listing, none otherwise."""
    listed = ctx.session.scalar(select(CreditListing.id).where(CreditListing.subject_id == subject.id).limit(1))
    keys: set[str] = set()
    if listed is not None:
        birth_dates = [subject.birth_date] if subject.birth_date else []
        keys = stored_keys([subject.name, *subject.aliases], NameKind(subject.kind), birth_dates)
    write_name_keys(ctx, subject.id, keys)
    subject.names_indexed = True


def stored_keys(names: Iterable[str], kind: NameKind, birth_dates: Iterable[str]) -> set[str]:
    """``blocking.record_keys`` as the key column holds them (120 characters): the birth-date keys are
    built on the stored joined keys, so a subject's and a query's keys meet whatever their length."""
    keys: set[str] = set()
    for name in names:
        keys |= {k[:120] for k in name_keys(name, kind)}
    return keys | {k[:120] for k in birth_keys(keys, birth_dates)}


def write_name_keys(ctx: Platform, subject_id: str, keys: set[str]) -> None:
    """Make ``keys`` the subject's blocking keys (none: the subject leaves the index), and move the
    keys' posting counts with them. Every change to ``credit_name_keys`` goes through here, so a
    count is always the number of the key's rows."""
    held = set(ctx.session.scalars(select(CreditNameKey.key).where(CreditNameKey.subject_id == subject_id)))
    added, removed = keys - held, held - keys
    if removed:
        ctx.session.execute(
            delete(CreditNameKey).where(CreditNameKey.subject_id == subject_id, CreditNameKey.key.in_(sorted(removed)))
        )
    if added:
        ctx.session.execute(insert(CreditNameKey), [{"key": k, "subject_id": subject_id} for k in sorted(added)])
    deltas = {k: 1 for k in added} | {k: -1 for k in removed}
    if deltas:
        # In key order, so two writers sharing common keys take their row locks in the same order.
        ctx.session.execute(_count_upsert(ctx), [{"key": k, "postings": deltas[k]} for k in sorted(deltas)])


def _count_upsert(ctx: Platform) -> Insert:
    """Add each row's ``postings`` to the key's count (a new key starts from it)."""
    dialect = ctx.session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"name key counts need PostgreSQL or SQLite, not {dialect}")
    statement = (postgres_insert if dialect == "postgresql" else sqlite_insert)(CreditNameKeyCount)
    counts = CreditNameKeyCount.__table__
    return statement.on_conflict_do_update(
        index_elements=[counts.c.key], set_={"postings": counts.c.postings + statement.excluded.postings}
    )


def index_pending(ctx: Platform) -> int:
    """Index the subjects listed or renamed since the last check (normally none or a few).

    Two checks running at once must not both write the same subject's keys: on PostgreSQL the
    second skips the rows the first holds (the first one's check sees them; the second's does
    not need them, as the listing they belong to cannot be in force before its objection window).
    Nothing pending (the usual case) costs one indexed read of ids, no ORM objects.
    """
    pending_ids = list(core_connection(ctx).execute(_PENDING).scalars())
    for subject_id in pending_ids:
        subject = ctx.session.get(CreditSubject, subject_id)
        if subject is not None:
            index_subject(ctx, subject)
    if pending_ids:
        ctx.session.flush()
    return len(pending_ids)


def core_connection(ctx: Platform) -> Connection:
    """The unit of work's connection, for the check's Core statements: they skip the ORM (identity
    map, instances, per-statement session events), which cost more than the queries themselves.
    The session's pending changes are flushed first, as the ORM's autoflush would."""
    ctx.session.flush()
    return ctx.session.connection()


def _is_postgres(ctx: Platform) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"


_SUBJECTS = CreditSubject.__table__
_LISTINGS = CreditListing.__table__
_NAME_KEYS = CreditNameKey.__table__
_KEY_COUNTS = CreditNameKeyCount.__table__
_SUBJECT_COLUMNS = (
    _SUBJECTS.c.id, _SUBJECTS.c.kind, _SUBJECTS.c.name, _SUBJECTS.c.aliases, _SUBJECTS.c.birth_date,
    _SUBJECTS.c.country, _SUBJECTS.c.identifier, _SUBJECTS.c.person_id,
)  # fmt: skip
_ACTIVE = ListingState.ACTIVE.value
# A listing in force: active and not past its maximum (the expiry job ends it; until then, the date does).
_IN_FORCE = and_(
    _LISTINGS.c.subject_id == _SUBJECTS.c.id,
    _LISTINGS.c.state == _ACTIVE,
    _LISTINGS.c.expires_at > bindparam("now"),
)
# Statements built once: SQLAlchemy caches their compiled form and psycopg prepares their fixed text.
_PENDING = select(_SUBJECTS.c.id).where(_SUBJECTS.c.names_indexed.is_(False)).with_for_update(skip_locked=True)
_BY_IDENTIFIER = (
    select(*_SUBJECT_COLUMNS, _LISTINGS.c.id.label("listing_id"))
    .join(_LISTINGS, _IN_FORCE)
    .where(_SUBJECTS.c.identifier == bindparam("identifier"))
)
_POSTING_COUNTS = select(_KEY_COUNTS.c.key, _KEY_COUNTS.c.postings).where(
    _KEY_COUNTS.c.key.in_(bindparam("keys", expanding=True))
)

# On PostgreSQL the name path is two fixed texts over arrays: the keys' posting counts (with the
# planner's estimate of the listings, the N of the keys' IDF), then the ranking joined with the
# listings in force and the subjects' columns, in one round trip.
_POSTING_COUNTS_POSTGRES = text(
    "SELECT c.key, c.postings, (SELECT reltuples FROM pg_class WHERE oid = to_regclass('credit_listings')) "
    "FROM credit_name_key_counts c WHERE c.key = ANY(CAST(:keys AS text[]))"
)
_RANKED_IN_FORCE_POSTGRES = text(
    "WITH ranked AS (SELECT n.subject_id, sum(u.w) AS score FROM credit_name_keys n "
    "JOIN unnest(CAST(:keys AS text[]), CAST(:weights AS float8[])) AS u(key, w) ON n.key = u.key "
    "GROUP BY n.subject_id ORDER BY score DESC, n.subject_id LIMIT :depth) "
    "SELECT s.id, s.kind, s.name, s.aliases, s.birth_date, s.country, s.identifier, s.person_id, "
    "array_agg(l.id ORDER BY l.id) AS listing_ids "
    "FROM ranked r JOIN credit_subjects s ON s.id = r.subject_id "
    "JOIN credit_listings l ON l.subject_id = r.subject_id AND l.state = :active AND l.expires_at > :now "
    "GROUP BY r.score, s.id ORDER BY r.score DESC, s.id LIMIT :keep"
)


def _listed_subject(row: Row[Any]) -> ListedSubject:
    return ListedSubject(
        id=row.id,
        kind=row.kind,
        name=row.name,
        aliases=tuple(row.aliases or ()),
        birth_date=row.birth_date,
        country=row.country,
        identifier=row.identifier,
        person_id=row.person_id,
    )


def _grouped(rows: Iterable[Any]) -> dict[str, Candidate]:
    """(subject columns, listing id) rows -> one candidate per subject, in the rows' order."""
    found: dict[str, Candidate] = {}
    for row in rows:
        candidate = found.get(row.id)
        if candidate is None:
            candidate = found[row.id] = Candidate(_listed_subject(row))
        candidate.listing_ids.append(row.listing_id)
    return found


def _query_keys(query: SubjectRecord) -> list[str]:
    return sorted(stored_keys(query.names, query.kind, query.birth_dates))


def _posting_counts(ctx: Platform, keys: list[str]) -> tuple[dict[str, int], int | None]:
    """How many subjects hold each key (keys nobody holds left out), in one round trip; with
    PostgreSQL's estimate of the number of listings (None elsewhere, or before the first ANALYZE)."""
    if _is_postgres(ctx):
        rows = core_connection(ctx).execute(_POSTING_COUNTS_POSTGRES, {"keys": keys}).all()
        estimate = rows[0][2] if rows else None
        total = int(estimate) if estimate is not None and estimate > 0 else None  # -1 or 0: never analysed
        return {str(key): int(n) for key, n, _ in rows if n > 0}, total
    rows = core_connection(ctx).execute(_POSTING_COUNTS, {"keys": keys}).all()
    return {str(key): int(n) for key, n in rows if n > 0}, None


def _usable_weights(ctx: Platform, keys: list[str]) -> dict[str, float]:
    """The query's keys that narrow the search, with their IDF weights log(1 + N / postings).

    N, the number of listings, only weighs rare keys against common ones, so an estimate is enough
    (counting two million rows per check is not): PostgreSQL's planner statistics, SQLite's count.
    """
    sizes, total = _posting_counts(ctx, keys)
    if not sizes:
        return {}
    usable = {k: n for k, n in sizes.items() if n <= MAX_POSTINGS}
    if not usable:  # only common keys ("Wang Wei"): the rarest still narrows
        rarest = min(sizes, key=lambda k: (sizes[k], k))
        usable = {rarest: sizes[rarest]}
    if total is None:
        total = int(core_connection(ctx).execute(select(func.count()).select_from(_LISTINGS)).scalar() or 1)
    total = max(total, 1)
    return {k: math.log(1.0 + total / n) for k, n in usable.items()}


def _by_name_keys(ctx: Platform, query: SubjectRecord, now: datetime, depth: int, keep: int) -> list[Candidate]:
    """Of the ``depth`` subjects sharing the query's rarest keys (best first by summed IDF weight, ties
    by id), the first ``keep`` with a listing in force."""
    keys = _query_keys(query)
    weights = _usable_weights(ctx, keys) if keys else {}
    if not weights:
        return []
    ordered = sorted(weights)
    if _is_postgres(ctx):
        parameters = {
            "keys": ordered, "weights": [weights[k] for k in ordered], "depth": depth, "active": _ACTIVE,
            "now": now, "keep": keep,
        }  # fmt: skip
        rows = core_connection(ctx).execute(_RANKED_IN_FORCE_POSTGRES, parameters)
        return [Candidate(_listed_subject(row), list(row.listing_ids)) for row in rows]
    weight = case({k: literal(w) for k, w in weights.items()}, value=_NAME_KEYS.c.key, else_=literal(0.0))
    score = func.sum(weight).label("score")
    ranked_query = (
        select(_NAME_KEYS.c.subject_id, score)
        .where(_NAME_KEYS.c.key.in_(ordered))
        .group_by(_NAME_KEYS.c.subject_id)
        .order_by(desc(score), _NAME_KEYS.c.subject_id)
        .limit(depth)
    )
    ranked = [str(subject_id) for subject_id, _ in core_connection(ctx).execute(ranked_query)]
    if not ranked:
        return []
    in_force = select(*_SUBJECT_COLUMNS, _LISTINGS.c.id.label("listing_id")).join(_LISTINGS, _IN_FORCE)
    rows = core_connection(ctx).execute(
        in_force.where(_SUBJECTS.c.id.in_(ranked)).order_by(_LISTINGS.c.id), {"now": now}
    )
    found = _grouped(rows)
    return [found[s] for s in ranked if s in found][:keep]


def listed_candidates(ctx: Platform, query: SubjectRecord, now: datetime, limit: int = CANDIDATES) -> list[Candidate]:
    """Listed subjects worth comparing with ``query``, with their listings in force: subjects sharing
    an identifier first, then the best of those sharing rare name keys (a few round trips at most)."""
    by_identifier: dict[str, Candidate] = {}
    for identifier in sorted(query.normalized_identifiers()):
        rows = core_connection(ctx).execute(_BY_IDENTIFIER, {"identifier": identifier, "now": now})
        for subject_id, candidate in _grouped(rows).items():
            by_identifier.setdefault(subject_id, candidate)
    by_name: list[Candidate] = []
    if query.names:
        index_pending(ctx)  # only names are screened through the keys: an ID check does not need them
        by_name = _by_name_keys(ctx, query, now, limit * RANK_DEPTH, limit + len(by_identifier))
    named = [c for c in by_name if c.subject.id not in by_identifier][:limit]
    return [by_identifier[s] for s in sorted(by_identifier)] + named


def candidate_subjects(ctx: Platform, query: SubjectRecord, now: datetime, limit: int = CANDIDATES) -> list[str]:
    """Ids of listed subjects worth comparing with ``query``: shared identifiers, then rarest shared keys."""
    return [c.subject.id for c in listed_candidates(ctx, query, now, limit)]


_BY_IDS = select(_LISTINGS).where(_LISTINGS.c.id == bindparam("listing_id"))


def listing_rows(ctx: Platform, listing_ids: Iterable[str]) -> list[Row[Any]]:
    """Full rows (with their due-process JSON) of a few listings: only the matched candidates' are read."""
    connection = core_connection(ctx)
    rows: list[Row[Any]] = []
    for listing_id in dict.fromkeys(listing_ids):
        rows.extend(connection.execute(_BY_IDS, {"listing_id": listing_id}))
    return rows
