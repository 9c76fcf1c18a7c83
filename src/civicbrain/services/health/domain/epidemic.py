"""Epidemic advice: a short triage dialogue (hospital / clinic / stay home, with reasons) and an exposure check.

The triage rules follow the public COVID-19 self-assessment logic (WHO / national health services): danger signs
send to hospital at once and end the dialogue; symptoms with a risk factor or a known exposure go to a clinic
(to be tested and examined); mild symptoms without risk stay home and isolate; no symptoms but an exposure
stays home in quarantine and watches for symptoms. Every advice lists the answers that led to it.

Exposure check: published case itineraries (flight or train number, date, optionally carriage) are matched
against a traveller's own segments. The traveller's itinerary is never stored: segments are reduced to keyed
hashes in memory, compared with the hashes of the published itineraries, and dropped; only the matches return.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

HOSPITAL, CLINIC, STAY_HOME = "hospital", "clinic", "stay_home"


@dataclass(frozen=True)
class TriageQuestion:
    code: str
    text: str
    danger_sign: bool = False
    symptom: bool = False
    risk_factor: bool = False
    exposure: bool = False


QUESTIONS: tuple[TriageQuestion, ...] = (
    TriageQuestion("severe_breathing", "Are you severely short of breath, even at rest?", danger_sign=True),
    TriageQuestion("chest_pain", "Do you have persistent pain or pressure in the chest?", danger_sign=True),
    TriageQuestion("confusion", "Are you newly confused, or hard to wake up?", danger_sign=True),
    TriageQuestion("blue_lips", "Are your lips or face bluish?", danger_sign=True),
    TriageQuestion("fever", "Do you have a fever (38 °C or more)?", symptom=True),
    TriageQuestion("cough", "Do you have a new, continuous cough?", symptom=True),
    TriageQuestion("smell_taste", "Have you lost your sense of smell or taste?", symptom=True),
    TriageQuestion("breathless", "Are you more short of breath than usual when active?", symptom=True),
    TriageQuestion("age_65", "Are you 65 or older?", risk_factor=True),
    TriageQuestion(
        "chronic_condition",
        "Do you have a long-term condition (heart or lung disease, diabetes, weakened immunity) or are you pregnant?",
        risk_factor=True,
    ),
    TriageQuestion(
        "contact_case", "Have you been in close contact with a confirmed case in the last 14 days?", exposure=True
    ),
    TriageQuestion(
        "travel_outbreak", "Have you been in an area with an active outbreak in the last 14 days?", exposure=True
    ),
)
_BY_CODE = {q.code: q for q in QUESTIONS}


@dataclass(frozen=True)
class EpidemicAdvice:
    advice: str  # hospital / clinic / stay_home
    reasons: tuple[str, ...]
    instructions: str


@dataclass
class EpidemicTriage:
    """One dialogue: ``next_question()`` until None, ``answer(code, yes)``, then ``advice()``."""

    answers: dict[str, bool] = field(default_factory=dict)

    def next_question(self) -> TriageQuestion | None:
        if any(self.answers.get(q.code) for q in QUESTIONS if q.danger_sign):
            return None  # a danger sign settles it: no more questions before sending to hospital
        for question in QUESTIONS:
            if question.code not in self.answers:
                return question
        return None

    def answer(self, code: str, yes: bool) -> None:
        if code not in _BY_CODE:
            raise ValueError(f"code: unknown triage question {code!r}")
        self.answers[code] = bool(yes)

    def advice(self) -> EpidemicAdvice:
        said_yes = [q for q in QUESTIONS if self.answers.get(q.code)]
        danger = [q.text for q in said_yes if q.danger_sign]
        symptoms = [q.text for q in said_yes if q.symptom]
        risks = [q.text for q in said_yes if q.risk_factor]
        exposures = [q.text for q in said_yes if q.exposure]
        if danger:
            return EpidemicAdvice(
                HOSPITAL,
                tuple(f"danger sign: {t}" for t in danger),
                "Go to a hospital emergency department now or call the emergency number; say you may be infectious.",
            )
        if symptoms and (risks or exposures):
            return EpidemicAdvice(
                CLINIC,
                tuple([f"symptom: {t}" for t in symptoms] + [f"risk: {t}" for t in risks + exposures]),
                "Book a clinic visit today for a test and an examination; wear a mask and avoid public transport.",
            )
        if symptoms:
            return EpidemicAdvice(
                STAY_HOME,
                tuple([f"symptom: {t}" for t in symptoms] + ["no danger sign, risk factor or known exposure"]),
                "Stay home and isolate; rest and drink fluids; start this check again if breathing gets worse.",
            )
        if exposures:
            return EpidemicAdvice(
                STAY_HOME,
                tuple([f"exposure: {t}" for t in exposures] + ["no symptom yet"]),
                "Stay home in quarantine for the advised period and watch for symptoms; get tested if any appear.",
            )
        return EpidemicAdvice(
            STAY_HOME,
            ("no symptom, danger sign or exposure reported",),
            "No action needed; keep following the public-health guidance.",
        )


# ---------------------------------------------------------------- exposure check
@dataclass(frozen=True)
class TravelSegment:
    number: str  # flight or train number, e.g. "CA1234", "G 101"
    travel_date: date
    carriage: str | None = None  # train carriage / cabin section; None when unknown


@dataclass(frozen=True)
class PublishedCase:
    case_id: str
    segment: TravelSegment
    published_by: str = ""


@dataclass(frozen=True)
class ExposureMatch:
    case_id: str
    number: str
    travel_date: date
    same_carriage: bool
    published_by: str

    @property
    def explanation(self) -> str:
        closeness = "in the same carriage as" if self.same_carriage else "on the same vehicle as"
        return (
            f"You travelled on {self.number} on {self.travel_date.isoformat()} {closeness} confirmed case "
            f"{self.case_id} (published by {self.published_by or 'the health authority'})."
        )


def _normalise_number(number: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", number.upper())


def _normalise_carriage(carriage: str | None) -> str | None:
    if carriage is None or not carriage.strip():
        return None
    return re.sub(r"[^0-9A-Z]", "", carriage.upper()).lstrip("0") or "0"


class ExposureChecker:
    """Index of published case itineraries, keyed by HMAC so raw itineraries need not be kept in the index.

    The key is random per process: digests cannot be compared across runs or brute-forced from a dump of the
    index without it.
    """

    def __init__(self, published: Iterable[PublishedCase]):
        self._key = secrets.token_bytes(32)
        self._vehicle: dict[str, list[PublishedCase]] = {}
        self._carriage: dict[str, list[PublishedCase]] = {}
        for case in published:
            segment = case.segment
            self._vehicle.setdefault(self._digest(segment.number, segment.travel_date), []).append(case)
            carriage = _normalise_carriage(segment.carriage)
            if carriage is not None:
                key = self._digest(segment.number, segment.travel_date, carriage)
                self._carriage.setdefault(key, []).append(case)

    def _digest(self, number: str, travel_date: date, carriage: str | None = None) -> str:
        message = f"{_normalise_number(number)}|{travel_date.isoformat()}|{carriage or ''}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def check(self, itinerary: Iterable[TravelSegment]) -> list[ExposureMatch]:
        """Matches of the traveller's segments; the itinerary itself is neither kept nor logged."""
        matches: list[ExposureMatch] = []
        for segment in itinerary:
            carriage = _normalise_carriage(segment.carriage)
            close = (
                {c.case_id for c in self._carriage.get(self._digest(segment.number, segment.travel_date, carriage), [])}
                if carriage is not None
                else set()
            )
            for case in self._vehicle.get(self._digest(segment.number, segment.travel_date), []):
                matches.append(
                    ExposureMatch(
                        case.case_id,
                        _normalise_number(segment.number),
                        segment.travel_date,
                        case.case_id in close,
                        case.published_by,
                    )
                )
        return sorted(matches, key=lambda m: (not m.same_carriage, m.travel_date, m.case_id))
