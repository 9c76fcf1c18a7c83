"""Every step of due process, every check and every score becomes a ledger entry here.

The domain hands back a ``CreditEvent`` per step; ``record`` passes it through ``ctx.decide``
under the service's register card (the one door for automated decisions). The domain names its
rules "credit-listing 1.0"; the card's id and version are what the register and ledger use, and
the domain's name travels in the explanation so a reader can find the rule in the code.
"""

from __future__ import annotations

from civicbrain.core.context import Decision, DecisionRequest, Platform
from civicbrain.core.register import AlgorithmCard
from civicbrain.services.credit.domain.events import CreditEvent
from civicbrain.services.credit.models import CreditSubject


def ledger_subject(subject: CreditSubject) -> str:
    """Residents are ``person:<id>`` so their decisions show on their pages and they can contest
    them through core appeals; firms and unregistered persons are keyed by their credit subject id."""
    if subject.person_id:
        return f"person:{subject.person_id}"
    return f"credit-subject:{subject.id}"


def decision_request(
    event: CreditEvent, card: AlgorithmCard, *, subject: str, label: str, actor: str | None = None
) -> DecisionRequest:
    """What ``ctx.decide`` is given for one step, for recording many at once (``ctx.decide_many``)."""
    kwargs = event.decision_kwargs()
    kwargs["outcome"]["label"] = label
    kwargs["explanation"]["rule"] = f"{event.algorithm} {event.version}"
    kwargs.update(algorithm=card.id, version=card.version, subject=subject)
    return DecisionRequest(actor=actor, **kwargs)


def record(ctx: Platform, event: CreditEvent, card: AlgorithmCard, *, subject: str, label: str) -> Decision:
    kwargs = event.decision_kwargs()
    kwargs["outcome"]["label"] = label
    kwargs["explanation"]["rule"] = f"{event.algorithm} {event.version}"
    kwargs.update(algorithm=card.id, version=card.version, subject=subject)
    return ctx.decide(**kwargs)
