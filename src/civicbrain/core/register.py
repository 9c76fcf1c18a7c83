"""The algorithm register: every algorithm that decides or recommends anything is declared in code.

A service declares :class:`AlgorithmCard` objects next to the code they describe. The register
collects them, and the public register page, its JSON export and the API list them with live
figures from the ledger — so a card cannot drift from the code that runs. The export follows the
fields of the UK Algorithmic Transparency Recording Standard (ATRS) v3, tiers 1 and 2.

The card's ``status`` is the most a decision by that algorithm may do:
``sandbox`` < ``shadow`` < ``advisory`` < ``live``; ``retired`` allows nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicbrain.core.errors import ConfigurationError, NotFound, NotPermittedByRegister
from civicbrain.core.models import Appeal, LedgerEntry
from civicbrain.core.privacy import FORBIDDEN, DataCategory, Purpose, check_fields

Status = Literal["sandbox", "shadow", "advisory", "live", "retired"]
Mode = Literal["sandbox", "shadow", "advisory", "live"]
_RANK = {"retired": -1, "sandbox": 0, "shadow": 1, "advisory": 2, "live": 3}


class Figure(BaseModel):
    """A measured figure (performance or fairness) and how it was measured."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: float | str
    protocol: str
    source: str = "benchmark"


class AlgorithmCard(BaseModel):
    """What the public, the auditor and the reviewer are told about one algorithm."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z0-9_.\-]+$", description="service.name")
    version: str
    title: str
    purpose: str = Field(description="What it is for, in plain words.")
    service: str
    owner_agency: str
    contact: str
    legal_basis: str
    decision_type: str = Field(description="What it decides or recommends, and for whom.")
    human_oversight: str = Field(description="Who checks it, when, and how a person can reach a human.")
    data_purpose: Purpose
    inputs: Mapping[str, DataCategory] = Field(description="Every input field and its data category.")
    method: str = Field(description="The model or rules, in words, with their parameters.")
    parameters: Mapping[str, Any] = Field(default_factory=dict)
    performance: tuple[Figure, ...] = ()
    fairness: tuple[Figure, ...] = ()
    risks: tuple[str, ...] = ()
    mitigations: tuple[str, ...] = ()
    favourable_outcomes: tuple[str, ...] = Field(
        default=(), description="Outcome labels that benefit the subject (for outcome-rate fairness audits)."
    )
    status: Status
    appeal_deadline_days: int | None = Field(
        default=None, ge=1, le=365, description="Days a reviewer has to answer a contest, where a rule sets it."
    )
    alternatives_considered: str = ""
    updated: date = Field(default_factory=date.today)

    @field_validator("inputs")
    @classmethod
    def _no_forbidden_inputs(cls, value: Mapping[str, DataCategory]) -> Mapping[str, DataCategory]:
        for name, category in value.items():
            if category in FORBIDDEN:
                raise ValueError(f"input '{name}' has forbidden category '{category.value}'")
        return value

    @property
    def service_name(self) -> str:
        return self.id.split(".", 1)[0]

    def allows(self, mode: str) -> bool:
        return mode in _RANK and _RANK[mode] >= 0 and _RANK[mode] <= _RANK[self.status]

    def to_atrs(self) -> dict[str, Any]:
        """The card in the UK Algorithmic Transparency Recording Standard's shape (tiers 1 and 2)."""
        return {
            "tier_1": {
                "name": self.title,
                "description": self.purpose,
                "website": f"/register/{self.id}",
                "contact_email": self.contact,
                "organisation": self.owner_agency,
                "function": self.service,
                "phase": self.status,
            },
            "tier_2": {
                "owner_and_responsibility": {
                    "organisation": self.owner_agency,
                    "contact_point": self.contact,
                    "senior_responsible_owner": self.owner_agency,
                },
                "description_and_rationale": {
                    "detailed_description": self.method,
                    "scope": self.decision_type,
                    "benefit": self.purpose,
                    "alternatives": self.alternatives_considered,
                },
                "decision_making_process": {
                    "process_integration": self.decision_type,
                    "provided_information": "A receipt with the outcome and its explanation for every decision.",
                    "human_decisions_and_review": self.human_oversight,
                    "appeals_and_review": "Any subject can contest a decision by its receipt; a human "
                    "reviewer upholds or overturns it with written reasons.",
                },
                "tool_specification": {
                    "system_architecture": f"civicbrain service '{self.service}'",
                    "phase": self.status,
                    "maintenance": f"version {self.version}, updated {self.updated.isoformat()}",
                    "model_parameters": dict(self.parameters),
                    "performance": [f.model_dump() for f in self.performance],
                },
                "data_specification": {
                    "source_data": [{"name": k, "category": v.value} for k, v in self.inputs.items()],
                    "data_purpose": self.data_purpose.value,
                    "legal_basis": self.legal_basis,
                },
                "risks_mitigations_and_impact_assessments": {
                    "risks": list(self.risks),
                    "mitigations": list(self.mitigations),
                    "fairness": [f.model_dump() for f in self.fairness],
                },
            },
        }


class Register:
    """The set of cards this instance runs, collected from the loaded services."""

    def __init__(self, cards: Iterable[AlgorithmCard] = ()) -> None:
        self._cards: dict[str, AlgorithmCard] = {}
        for card in cards:
            self.add(card)

    def add(self, card: AlgorithmCard) -> None:
        if card.id in self._cards:
            raise ConfigurationError(f"algorithm '{card.id}' is declared twice")
        if card.service_name != card.service:
            raise ConfigurationError(f"algorithm '{card.id}' must be prefixed with its service '{card.service}'")
        check_fields(card.inputs, card.data_purpose)
        self._cards[card.id] = card

    def __contains__(self, algorithm_id: object) -> bool:
        return algorithm_id in self._cards

    def cards(self) -> list[AlgorithmCard]:
        return sorted(self._cards.values(), key=lambda c: c.id)

    def get(self, algorithm_id: str) -> AlgorithmCard:
        try:
            return self._cards[algorithm_id]
        except KeyError:
            raise NotFound(f"no algorithm '{algorithm_id}' in the register", field="algorithm") from None

    def permit(self, algorithm_id: str, version: str, mode: str) -> AlgorithmCard:
        """The card, if a decision by this algorithm and version may be taken in this mode."""
        card = self._cards.get(algorithm_id)
        if card is None:
            raise NotPermittedByRegister(
                f"algorithm '{algorithm_id}' is not in the register: unregistered algorithms decide nothing",
                field="algorithm",
            )
        if version != card.version:
            raise NotPermittedByRegister(
                f"algorithm '{algorithm_id}' is registered at version {card.version}, not {version}",
                field="version",
            )
        if mode not in _RANK or mode == "retired":
            raise NotPermittedByRegister(
                f"mode must be one of sandbox, shadow, advisory, live (got '{mode}')", field="mode"
            )
        if not card.allows(mode):
            raise NotPermittedByRegister(
                f"algorithm '{algorithm_id}' is registered as '{card.status}' and may not decide in '{mode}' mode",
                field="mode",
            )
        return card


def live_figures(session: Session, algorithm_id: str) -> dict[str, Any]:
    """Counts from the ledger and appeals: how often it decided, was contested, was overturned."""
    by_mode = dict(
        session.execute(
            select(LedgerEntry.mode, func.count())
            .where(LedgerEntry.algorithm == algorithm_id, LedgerEntry.kind == "automated")
            .group_by(LedgerEntry.mode)
        ).all()
    )
    appeals = dict(
        session.execute(
            select(Appeal.status, func.count()).where(Appeal.algorithm == algorithm_id).group_by(Appeal.status)
        ).all()
    )
    decided = appeals.get("upheld", 0) + appeals.get("overturned", 0)
    return {
        "decisions_by_mode": by_mode,
        "decisions_total": sum(by_mode.values()),
        "appeals_total": sum(appeals.values()),
        "appeals_open": appeals.get("open", 0),
        "appeals_overturned": appeals.get("overturned", 0),
        "overturn_rate": (appeals.get("overturned", 0) / decided) if decided else None,
    }
