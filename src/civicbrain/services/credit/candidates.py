"""Candidate generation in SQL, for lists too large to read per check.

The same blocking as ``domain.blocking.CandidateIndex`` (identifier first, then name keys ranked by
their rarity), run over the indexed ``credit_name_keys`` table and restricted to subjects with a
listing in force now. Only the few best candidates are loaded and handed to the domain's ``screen``
for the full, explained comparison, so a check reads a handful of rows whatever the list's size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select

from civicbrain.core.context import Platform
from civicbrain.services.credit.domain.blocking import name_keys
from civicbrain.services.credit.domain.listing import ListingState
from civicbrain.services.credit.domain.matching import SubjectRecord
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.models import CreditListing, CreditNameKey, CreditSubject

MAX_POSTINGS = 5_000  # keys shared by more listed subjects than this cannot narrow anything
CANDIDATES = 20


def index_subject(ctx: Platform, subject: CreditSubject) -> None:
    """(Re)write a subject's blocking keys after it was created or gained an alias."""
    keys: set[str] = set()
    for name in {subject.name, *subject.aliases}:
        keys |= {k[:120] for k in name_keys(name, NameKind(subject.kind))}
    ctx.session.execute(delete(CreditNameKey).where(CreditNameKey.subject_id == subject.id))
    if keys:
        ctx.session.execute(insert(CreditNameKey), [{"key": k, "subject_id": subject.id} for k in sorted(keys)])
    subject.names_indexed = True


def index_pending(ctx: Platform) -> int:
    """Index the subjects created or renamed since the last check (normally none or a few)."""
    pending = list(ctx.session.scalars(select(CreditSubject).where(CreditSubject.names_indexed.is_(False))))
    for subject in pending:
        index_subject(ctx, subject)
    ctx.session.flush()
    return len(pending)


def _in_force(now: datetime):  # type: ignore[no-untyped-def]
    return select(CreditListing.subject_id).where(
        CreditListing.state == ListingState.ACTIVE, CreditListing.expires_at > now
    )


def candidate_subjects(ctx: Platform, query: SubjectRecord, now: datetime, limit: int = CANDIDATES) -> list[str]:
    """Ids of listed subjects worth comparing with ``query``: shared identifiers, then rarest shared keys."""
    index_pending(ctx)
    listed = _in_force(now)
    found: list[str] = []
    identifiers = sorted(query.normalized_identifiers())
    if identifiers:
        found = list(
            ctx.session.scalars(
                select(CreditSubject.id)
                .where(CreditSubject.identifier.in_(identifiers), CreditSubject.id.in_(listed))
                .order_by(CreditSubject.id)
            )
        )
    keys: set[str] = set()
    for name in query.names:
        keys |= name_keys(name, query.kind)
    if not keys:
        return found
    sizes = dict(
        ctx.session.execute(
            select(CreditNameKey.key, func.count())
            .where(CreditNameKey.key.in_(sorted(keys)), CreditNameKey.subject_id.in_(listed))
            .group_by(CreditNameKey.key)
        ).all()
    )
    if not sizes:
        return found
    usable = [k for k, n in sizes.items() if n <= MAX_POSTINGS] or [min(sizes, key=lambda k: sizes[k])]
    in_force = listed.subquery()
    total = max(int(ctx.session.scalar(select(func.count(func.distinct(in_force.c.subject_id)))) or 1), 1)
    scores: dict[str, float] = defaultdict(float)
    postings = ctx.session.execute(
        select(CreditNameKey.key, CreditNameKey.subject_id).where(
            CreditNameKey.key.in_(usable), CreditNameKey.subject_id.in_(listed)
        )
    )
    for key, subject_id in postings:
        scores[subject_id] += math.log(1.0 + total / sizes[key])
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    seen = set(found)
    return found + [s for s, _ in ranked if s not in seen][:limit]


def load_subjects(ctx: Platform, ids: Iterable[str]) -> list[CreditSubject]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    return list(ctx.session.scalars(select(CreditSubject).where(CreditSubject.id.in_(wanted))))
