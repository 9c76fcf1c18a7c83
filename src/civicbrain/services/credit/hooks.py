"""What the core asks of the credit service: subject access and erasure.

Subject access returns every listing about the resident, with its notice and history, and their
score if they opted in. Erasure deletes the score and every *ended* listing (withdrawn, expired,
repaired) with the subject rows nothing else needs (Shanghai 2017 regulations: a right to be
forgotten once publication ends). A listing still open is a public-law record the owning agency
must keep until it ends; it is detached from the resident's account (``person_id``) so nothing
links it to them on this platform beyond what the list itself lawfully holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from civicbrain.core.context import Platform
from civicbrain.services.credit.candidates import write_name_keys
from civicbrain.services.credit.domain.listing import TERMINAL_STATES
from civicbrain.services.credit.models import (
    CreditJudgement,
    CreditListing,
    CreditScoreOptIn,
    CreditSubject,
)
from civicbrain.services.credit.scores import score_view
from civicbrain.services.credit.service import listings_for_person
from civicbrain.services.credit.views import listing_view, subject_view


def subject_data(ctx: Platform, person_id: str) -> dict[str, Any]:
    subjects = ctx.session.scalars(select(CreditSubject).where(CreditSubject.person_id == person_id))
    score = ctx.session.get(CreditScoreOptIn, person_id)
    return {
        "subjects": [subject_view(s, masked=False) for s in subjects],
        "listings": [listing_view(r) for r in listings_for_person(ctx, person_id)],
        "city_score": score_view(score) if score is not None else None,
    }


def on_erase(ctx: Platform, person_id: str) -> None:
    score = ctx.session.get(CreditScoreOptIn, person_id)
    if score is not None:
        ctx.session.delete(score)
    ended = [s.value for s in TERMINAL_STATES]
    for subject in list(ctx.session.scalars(select(CreditSubject).where(CreditSubject.person_id == person_id))):
        ctx.session.execute(
            delete(CreditListing).where(CreditListing.subject_id == subject.id, CreditListing.state.in_(ended))
        )
        remaining = ctx.session.scalar(select(CreditListing.id).where(CreditListing.subject_id == subject.id).limit(1))
        if remaining is None:
            ctx.session.execute(delete(CreditJudgement).where(CreditJudgement.candidate_id == subject.id))
            write_name_keys(ctx, subject.id, set())
            ctx.session.delete(subject)
        else:
            subject.person_id = None
    ctx.session.flush()
