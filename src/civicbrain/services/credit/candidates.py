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

A check costs a bounded number of index reads: a key's postings are counted only up to
``MAX_POSTINGS + 1`` (a key more common than that cannot narrow anything, so its exact size does not
matter), and the ranking runs in the database over the usable keys' postings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, delete, desc, func, insert, literal, or_, select, text, union_all
from sqlalchemy.sql import Select

from civicbrain.core.context import Platform
from civicbrain.services.credit.domain.blocking import name_keys
from civicbrain.services.credit.domain.listing import ListingState
from civicbrain.services.credit.domain.matching import SubjectRecord
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.models import CreditListing, CreditNameKey, CreditSubject

# Keys shared by more listed subjects than this are not read: each adds little to a candidate's
# rank (its weight is log(1 + N/postings)) and reading them is what a check's time would go on. The
# in-memory reference (``CandidateIndex``) reads up to 5,000; in SQL the rare keys that decide the
# ranking (the joined name, adjacent pairs) hold a few postings each.
MAX_POSTINGS = 1_000
CANDIDATES = 20
RANK_DEPTH = 3  # ranked candidates read per candidate kept (some may have no listing in force)
_LISTINGS_ESTIMATE = text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('credit_listings')")


@dataclass
class Candidate:
    """A listed subject worth a full comparison, with its listings in force now."""

    subject: CreditSubject
    listings: list[CreditListing] = field(default_factory=list)


def index_subject(ctx: Platform, subject: CreditSubject) -> None:
    """(Re)write a subject's blocking keys: all its names if it has a listing, none otherwise."""
    ctx.session.execute(delete(CreditNameKey).where(CreditNameKey.subject_id == subject.id))
    listed = ctx.session.scalar(select(CreditListing.id).where(CreditListing.subject_id == subject.id).limit(1))
    keys: set[str] = set()
    if listed is not None:
        for name in {subject.name, *subject.aliases}:
            keys |= {k[:120] for k in name_keys(name, NameKind(subject.kind))}
    if keys:
        ctx.session.execute(insert(CreditNameKey), [{"key": k, "subject_id": subject.id} for k in sorted(keys)])
    subject.names_indexed = True


def index_pending(ctx: Platform) -> int:
    """Index the subjects listed or renamed since the last check (normally none or a few).

    Two checks running at once must not both write the same subject's keys: on PostgreSQL the
    second skips the rows the first holds (the first one's check sees them; the second's does
    not need them, as the listing they belong to cannot be in force before its objection window).
    """
    query = select(CreditSubject).where(CreditSubject.names_indexed.is_(False))
    pending = list(ctx.session.scalars(query.with_for_update(skip_locked=True)))
    for subject in pending:
        index_subject(ctx, subject)
    if pending:
        ctx.session.flush()
    return len(pending)


def _in_force(now: datetime):  # type: ignore[no-untyped-def]
    return and_(
        CreditListing.state == ListingState.ACTIVE,
        CreditListing.expires_at > now,
    )


# On PostgreSQL the two hot statements are fixed texts over arrays (prepared once by the driver);
# the portable forms below are built per key count, which costs more Python than the query itself.
_POSTING_COUNTS_POSTGRES = text(
    "SELECT k, (SELECT count(*) FROM (SELECT 1 FROM credit_name_keys n WHERE n.key = k LIMIT :cap) c) "
    "FROM unnest(CAST(:keys AS text[])) AS k"
)
_RANKED_POSTGRES = text(
    "SELECT n.subject_id, sum(u.w) AS score FROM credit_name_keys n "
    "JOIN unnest(CAST(:keys AS text[]), CAST(:weights AS float8[])) AS u(key, w) ON n.key = u.key "
    "GROUP BY n.subject_id ORDER BY score DESC, n.subject_id LIMIT :depth"
)


def _is_postgres(ctx: Platform) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"


def _posting_counts(ctx: Platform, keys: list[str]) -> dict[str, int]:
    """How many subjects hold each key, counted up to ``MAX_POSTINGS + 1``, in one round trip."""
    if _is_postgres(ctx):
        found = ctx.session.execute(_POSTING_COUNTS_POSTGRES, {"keys": keys, "cap": MAX_POSTINGS + 1})
        return {str(key): int(n) for key, n in found if n}
    parts = []
    for key in keys:
        postings = select(literal(1)).where(CreditNameKey.key == key).limit(MAX_POSTINGS + 1).subquery()
        parts.append(select(literal(key).label("key"), select(func.count()).select_from(postings).scalar_subquery()))
    rows = ctx.session.execute(union_all(*parts) if len(parts) > 1 else parts[0]).all()
    return {str(key): int(n) for key, n in rows if n}


def _indexed_total(ctx: Platform) -> int:
    """The number of listings, the N of the keys' inverse document frequency.

    An estimate is enough (it only weighs rare keys against common ones), and counting two million
    rows per check is not: PostgreSQL's planner statistics, SQLite's exact count.
    """
    if _is_postgres(ctx):
        estimate = ctx.session.scalar(_LISTINGS_ESTIMATE)
        if estimate is not None and estimate > 0:  # -1 or 0: never analysed yet
            return int(estimate)
    return int(ctx.session.scalar(select(func.count()).select_from(CreditListing)) or 1)


def _ranked_by_keys(ctx: Platform, query: SubjectRecord, depth: int) -> list[str]:
    """Subjects sharing the query's rarest keys, best first by summed IDF weight (ties by id)."""
    keys: set[str] = set()
    for name in query.names:
        keys |= {k[:120] for k in name_keys(name, query.kind)}
    if not keys:
        return []
    sizes = _posting_counts(ctx, sorted(keys))
    if not sizes:
        return []
    usable = {k: n for k, n in sizes.items() if n <= MAX_POSTINGS}
    if not usable:  # only common keys ("Wang Wei"): the rarest still narrows, counted exactly
        rarest = min(sizes, key=lambda k: (sizes[k], k))
        exact = ctx.session.scalar(select(func.count()).where(CreditNameKey.key == rarest))
        usable = {rarest: int(exact or 1)}
    total = max(_indexed_total(ctx), 1)
    if _is_postgres(ctx):
        ordered = sorted(usable)
        weights = [math.log(1.0 + total / usable[k]) for k in ordered]
        ranked_rows = ctx.session.execute(_RANKED_POSTGRES, {"keys": ordered, "weights": weights, "depth": depth})
        return [str(subject_id) for subject_id, _ in ranked_rows]
    weight = case(
        {key: literal(math.log(1.0 + total / n)) for key, n in usable.items()},
        value=CreditNameKey.key,
        else_=literal(0.0),
    )
    score = func.sum(weight).label("score")
    ranked = (
        select(CreditNameKey.subject_id, score)
        .where(CreditNameKey.key.in_(sorted(usable)))
        .group_by(CreditNameKey.subject_id)
        .order_by(desc(score), CreditNameKey.subject_id)
        .limit(depth)
    )
    return [str(subject_id) for subject_id, _ in ctx.session.execute(ranked)]


def _load_in_force(ctx: Platform, where: Select, now: datetime) -> list[tuple[CreditSubject, CreditListing]]:  # type: ignore[type-arg]
    rows = ctx.session.execute(
        where.join(CreditListing, and_(CreditListing.subject_id == CreditSubject.id, _in_force(now)))
    )
    return [(subject, listing) for subject, listing in rows]


def listed_candidates(ctx: Platform, query: SubjectRecord, now: datetime, limit: int = CANDIDATES) -> list[Candidate]:
    """Listed subjects worth comparing with ``query``, with their listings in force, in two round trips
    at most: subjects sharing an identifier first, then the best of those sharing rare name keys."""
    index_pending(ctx)
    identifiers = sorted(query.normalized_identifiers())
    ranked = _ranked_by_keys(ctx, query, limit * RANK_DEPTH) if query.names else []
    if not identifiers and not ranked:
        return []
    conditions = []
    if identifiers:
        conditions.append(CreditSubject.identifier.in_(identifiers))
    if ranked:
        conditions.append(CreditSubject.id.in_(ranked))
    found: dict[str, Candidate] = {}
    for subject, listing in _load_in_force(ctx, select(CreditSubject, CreditListing).where(or_(*conditions)), now):
        found.setdefault(subject.id, Candidate(subject)).listings.append(listing)
    by_identifier = sorted(c.subject.id for c in found.values() if c.subject.identifier in identifiers)
    by_name = [s for s in ranked if s in found and s not in by_identifier][:limit]
    return [found[s] for s in [*by_identifier, *by_name]]


def candidate_subjects(ctx: Platform, query: SubjectRecord, now: datetime, limit: int = CANDIDATES) -> list[str]:
    """Ids of listed subjects worth comparing with ``query``: shared identifiers, then rarest shared keys."""
    return [c.subject.id for c in listed_candidates(ctx, query, now, limit)]


def load_subjects(ctx: Platform, ids: Iterable[str]) -> list[CreditSubject]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    return list(ctx.session.scalars(select(CreditSubject).where(CreditSubject.id.in_(wanted))))
