"""Domain events: every step of due process produces one, and the service records it.

The domain never writes the ledger. Each transition returns a ``CreditEvent``; the
service layer passes ``event.decision_kwargs()`` to ``ctx.decide`` (or the ledger for
purely human steps), so every step of a listing's life is a ledger entry (issue 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# Values JSON takes as they are. Tested by exact type, so str and int subclasses (enums) still go
# through ``_converted``, as they did before this shortcut.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value``. A check's event carries ~10 candidates' evidence (a few hundred
    plain values), so plain values, dicts and lists are recognised by exact type before anything else."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): v if type(v) in _PLAIN else _jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else _jsonable(v) for v in value]
    return _converted(value)


def _converted(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    return value


@dataclass(frozen=True)
class CreditEvent:
    """One step taken about one subject: who, what, when, on what basis, in words."""

    algorithm: str
    version: str
    action: str
    subject: str
    at: datetime
    actor: str
    summary: str
    outcome: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def decision_kwargs(self, mode: str = "live") -> dict[str, Any]:
        """Keyword arguments for ``ctx.decide`` (explanation carries the plain-words summary)."""
        return {
            "algorithm": self.algorithm,
            "version": self.version,
            "subject": self.subject,
            "inputs": _jsonable(self.inputs),
            "outcome": _jsonable({"action": self.action, **self.outcome}),
            "explanation": _jsonable({"summary": self.summary, "actor": self.actor, **self.details}),
            "mode": mode,
        }
