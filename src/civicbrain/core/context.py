"""The context handed to every use case: one unit of work on the platform.

:class:`Runtime` is built once per process (settings, engine, loaded services, register).
:class:`Platform` is one unit of work on it: a database session, a clock, the acting user, and
the core's capabilities — the ledger, the register, privacy, appeals and the exchange — bound to
that session. Services receive a ``Platform`` and never build their own engine or ledger.

``Platform.decide`` is the one door every automated decision goes through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from civicbrain.core.db import create_engine, session_factory
from civicbrain.core.errors import PrivacyViolation, ValidationFailed
from civicbrain.core.identity import configure_password_hashing
from civicbrain.core.ledger import Ledger, NewEntry, Receipt
from civicbrain.core.privacy import check_fields
from civicbrain.core.register import AlgorithmCard, Register
from civicbrain.core.registry import ServiceSpec, cards_of
from civicbrain.core.settings import Settings
from civicbrain.core.timeutil import utcnow

if TYPE_CHECKING:
    from civicbrain.core.appeals import Appeals
    from civicbrain.core.exchange import Exchange
    from civicbrain.core.jobs import JobRunner
    from civicbrain.core.privacy_office import PrivacyOffice


@dataclass(frozen=True)
class Decision:
    """The result of ``ctx.decide``: the receipt, and whether the outcome may take effect.

    Only ``live`` decisions take effect on their own. An ``advisory`` decision is a recommendation
    for a person who decides; ``shadow`` and ``sandbox`` decisions are recorded for evaluation and
    must never act on anyone.
    """

    receipt: Receipt
    algorithm: str
    version: str
    mode: str
    outcome_label: str
    outcome: Any
    explanation: dict[str, Any]

    @property
    def takes_effect(self) -> bool:
        return self.mode == "live"

    @property
    def id(self) -> str:
        return self.receipt.receipt


@dataclass(frozen=True)
class DecisionRequest:
    """One decision for :meth:`Platform.decide_many`: the arguments of :meth:`Platform.decide`, and
    who acted (the unit's actor when None), since one unit may record decisions asked for by many."""

    algorithm: str
    version: str
    subject: str
    inputs: dict[str, Any]
    outcome: Any
    explanation: dict[str, Any]
    mode: str
    actor: str | None = None


class Runtime:
    """Process-wide state: settings, database, services and their register."""

    def __init__(
        self,
        settings: Settings,
        services: Iterable[ServiceSpec] = (),
        *,
        engine: Engine | None = None,
        clock: Callable[[], datetime] = utcnow,
        extra_cards: Iterable[AlgorithmCard] = (),
    ) -> None:
        self.settings = settings
        configure_password_hashing(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
        self.engine = engine or create_engine(settings.database_url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.services = {spec.name: spec for spec in services}
        self.register = Register([*cards_of(self.services.values()), *extra_cards])
        self.clock = clock

    @cached_property
    def jobs(self) -> JobRunner:
        """Background jobs of this process (portal buttons, long API requests)."""
        from civicbrain.core.jobs import JobRunner

        return JobRunner(self)

    @contextmanager
    def unit(self, *, actor: str | None = None) -> Iterator[Platform]:
        """A unit of work that commits when the block succeeds and rolls back otherwise."""
        session = self.sessions()
        try:
            yield Platform(self, session, actor=actor)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def platform(self, session: Session, *, actor: str | None = None) -> Platform:
        return Platform(self, session, actor=actor)


class Platform:
    """One unit of work: what a use case needs, and nothing it could use to bypass the seams."""

    def __init__(self, runtime: Runtime, session: Session, *, actor: str | None = None) -> None:
        self.runtime = runtime
        self.session = session
        self.actor = actor

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def register(self) -> Register:
        return self.runtime.register

    def now(self) -> datetime:
        return self.runtime.clock()

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.session, pepper=self.settings.ledger_pepper, clock=self.runtime.clock)

    @cached_property
    def appeals(self) -> Appeals:
        from civicbrain.core.appeals import Appeals

        return Appeals(self)

    @cached_property
    def exchange(self) -> Exchange:
        from civicbrain.core.exchange import Exchange

        return Exchange(self)

    @cached_property
    def privacy(self) -> PrivacyOffice:
        from civicbrain.core.privacy_office import PrivacyOffice

        return PrivacyOffice(self)

    def decide(
        self,
        *,
        algorithm: str,
        version: str,
        subject: str,
        inputs: dict[str, Any],
        outcome: Any,
        explanation: dict[str, Any],
        mode: str,
    ) -> Decision:
        """Record one automated decision or recommendation and return its receipt.

        Refuses (and records nothing) when the algorithm is not registered for this mode, when an
        input is not declared on its card (data minimisation), when an input's category is
        forbidden or off-purpose, or when the explanation has no plain-words summary.
        """
        card, label = self._checked(algorithm, version, mode, inputs, outcome, explanation)
        receipt = self.ledger.append(
            kind="automated",
            service=card.service,
            algorithm=algorithm,
            version=version,
            mode=mode,
            subject=subject,
            outcome_label=label,
            payload={"inputs": inputs, "outcome": outcome, "explanation": explanation},
            actor=self.actor,
        )
        return Decision(receipt, algorithm, version, mode, label, outcome, explanation)

    def decide_many(self, requests: Sequence[DecisionRequest]) -> list[Decision]:
        """Record several automated decisions at once, each checked exactly as :meth:`decide` checks it.

        All or nothing: if any request is refused, nothing is recorded. The entries are appended
        in order with :meth:`Ledger.append_many` (a few round trips for the lot), so a bulk job or
        a group commit of many requests pays per batch what ``decide`` pays per decision.
        """
        checked = [
            (request, *self._checked(request.algorithm, request.version, request.mode, request.inputs,
                                     request.outcome, request.explanation))
            for request in requests
        ]  # fmt: skip
        entries = [
            NewEntry(
                kind="automated",
                service=card.service,
                algorithm=request.algorithm,
                version=request.version,
                mode=request.mode,
                ref=self.ledger.ref(request.subject),
                outcome_label=label,
                payload={"inputs": request.inputs, "outcome": request.outcome, "explanation": request.explanation},
                actor=request.actor if request.actor is not None else self.actor,
            )
            for request, card, label in checked
        ]
        receipts = self.ledger.append_many(entries)
        return [
            Decision(receipt, r.algorithm, r.version, r.mode, label, r.outcome, r.explanation)
            for receipt, (r, _, label) in zip(receipts, checked, strict=True)
        ]

    def _checked(
        self, algorithm: str, version: str, mode: str, inputs: dict[str, Any], outcome: Any, explanation: Any
    ) -> tuple[AlgorithmCard, str]:
        """The card permitting this decision and its outcome label, or the reason it is refused."""
        card = self.register.permit(algorithm, version, mode)
        undeclared = sorted(set(inputs) - set(card.inputs))
        if undeclared:
            raise PrivacyViolation(
                f"input '{undeclared[0]}' is not declared on the card of '{algorithm}': "
                "only declared inputs may be used",
                field=f"inputs.{undeclared[0]}",
            )
        check_fields({name: card.inputs[name] for name in inputs}, card.data_purpose)
        summary = explanation.get("summary") if isinstance(explanation, dict) else None
        if not isinstance(summary, str) or not summary.strip():
            raise ValidationFailed(
                "an explanation needs a 'summary' in words the subject understands",
                field="explanation.summary",
            )
        label = outcome if isinstance(outcome, str) else (outcome or {}).get("label")
        if not isinstance(label, str) or not label:
            raise ValidationFailed("an outcome is a label or a mapping with a 'label'", field="outcome")
        return card, label

    def record_human_decision(
        self,
        *,
        about: str,
        what: str,
        outcome_label: str,
        reasons: str,
        actor: str,
    ) -> Receipt:
        """Record a person's decision about an earlier ledger entry (e.g. an appeal outcome).

        The new entry is chained under the same pseudonymous subject as the entry it is about and
        links to it, so the subject's history shows the automated decision and what a human made of it.
        """
        original = self.ledger.get(about)
        return self.ledger.append_for_ref(
            kind="human",
            service=original.service,
            algorithm=what,
            version=original.version,
            mode="live",
            ref=original.subject_ref,
            outcome_label=outcome_label,
            payload={"reasons": reasons, "explanation": {"summary": reasons}},
            links_to=about,
            actor=actor,
        )
