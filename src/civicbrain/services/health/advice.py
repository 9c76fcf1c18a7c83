"""Village-doctor decision support and epidemic advice: tools that store nothing about anyone.

Neither records a ledger entry: the village doctor's input is an anonymous case description, and the
epidemic self-check and exposure check are answered to an anonymous visitor and then forgotten (the
traveller's itinerary is never stored, as the issue requires).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from civicbrain.core.context import Platform
from civicbrain.core.errors import NotFound, ValidationFailed
from civicbrain.services.health.access import domain_error
from civicbrain.services.health.domain.epidemic import (
    QUESTIONS,
    EpidemicTriage,
    ExposureChecker,
    PublishedCase,
    TravelSegment,
)
from civicbrain.services.health.domain.knowledge_base import BINARY, load_knowledge_base
from civicbrain.services.health.domain.village_doctor import support
from civicbrain.services.health.feeds import CASE_ITINERARIES

SEX_CODES = {"female": "F", "male": "M"}
PAGE = 1000


def decision_support(text: str, picked: dict[str, bool], age: int, sex: str) -> dict[str, Any]:
    evidences = load_knowledge_base().evidences
    for code in picked:
        # Picked findings are present/absent: only the knowledge base's yes/no evidences take that answer.
        if code not in evidences or evidences[code].data_type != BINARY:
            raise ValidationFailed(f"'{code}' is not a yes/no finding of the knowledge base", field=f"picked.{code}")
    try:
        result = support(text, dict(picked), age, SEX_CODES[sex])
    except ValueError as exc:
        raise domain_error(exc) from None
    return {
        "recognised": [
            {"code": m.code, "question": m.question, "present": m.present, "from_text": m.source_text}
            for m in result.mapped
        ],
        "candidates": [
            {
                "pathology": c.pathology,
                "icd10": c.icd10,
                "severity": c.severity,
                "probability": round(c.probability, 4),
                "evidence_for": [f"{e.question} {e.answer}" for e in c.evidence_for],
                "evidence_against": [f"{e.question} {e.answer}" for e in c.evidence_against],
            }
            for c in result.candidates
        ],
        "next_questions": [q.as_dict() for q in result.next_questions],
    }


def findings() -> list[tuple[str, str]]:
    """The yes/no findings a village doctor can pick, by their wording."""
    evidences = load_knowledge_base().evidences.values()
    return sorted(((e.code, e.question) for e in evidences if e.data_type == BINARY), key=lambda item: item[1])


def triage_questions() -> list[dict[str, str]]:
    return [{"code": q.code, "text": q.text} for q in QUESTIONS]


def epidemic_triage(answers: dict[str, bool]) -> dict[str, Any]:
    """Replays the answers given so far: the next question, or the advice with its reasons."""
    dialogue = EpidemicTriage()
    try:
        for code, yes in answers.items():
            dialogue.answer(code, yes)
    except ValueError as exc:
        raise domain_error(exc) from None
    question = dialogue.next_question()
    if question is not None:
        return {"question": {"code": question.code, "text": question.text}, "advice": None}
    advice = dialogue.advice()
    return {
        "question": None,
        "advice": {"advice": advice.advice, "reasons": list(advice.reasons), "instructions": advice.instructions},
    }


def published_cases(ctx: Platform) -> list[PublishedCase]:
    try:
        feed = ctx.exchange.feed(CASE_ITINERARIES.agency_id, CASE_ITINERARIES.name)
    except NotFound:  # nothing published yet on this instance
        return []
    cases, offset = [], 0
    while True:
        records = ctx.exchange.records(feed, limit=PAGE, offset=offset)
        for record in records:
            data = record.data
            segment = TravelSegment(data["number"], date.fromisoformat(data["travel_date"]), data.get("carriage"))
            cases.append(PublishedCase(data["case_id"], segment, "Health Commission"))
        if len(records) < PAGE:
            return cases
        offset += PAGE


def exposure_check(ctx: Platform, itinerary: list[tuple[str, date, str | None]]) -> dict[str, Any]:
    """Matches against published itineraries. The itinerary lives only in this call's memory."""
    checker = ExposureChecker(published_cases(ctx))
    matches = checker.check(TravelSegment(number, day, carriage) for number, day, carriage in itinerary)
    return {
        "matches": [
            {
                "case_id": m.case_id,
                "number": m.number,
                "travel_date": m.travel_date.isoformat(),
                "same_carriage": m.same_carriage,
                "explanation": m.explanation,
            }
            for m in matches
        ],
        "stored": False,
    }
