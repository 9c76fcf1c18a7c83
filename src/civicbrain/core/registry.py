"""Services plug into the platform by declaring a :class:`ServiceSpec`.

A service package exposes ``SERVICE = ServiceSpec(...)`` and is listed under the entry-point group
``civicbrain.services``, so a city can install only the services it runs and a third party can add
one without touching the core. The core knows services only through this spec: it never imports
one by name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from civicbrain.core.errors import ConfigurationError
from civicbrain.core.register import AlgorithmCard

if TYPE_CHECKING:
    from civicbrain.core.context import Platform
    from civicbrain.core.exchange import FeedSpec
    from civicbrain.core.models import Appeal

ENTRY_POINT_GROUP = "civicbrain.services"
log = logging.getLogger("civicbrain.services")


@dataclass(frozen=True)
class ServiceSpec:
    """Everything the platform needs to know to host one service."""

    name: str
    title: str
    description: str
    algorithms: Sequence[AlgorithmCard] = ()
    feeds: Sequence[FeedSpec] = ()
    # A FastAPI APIRouter, typed loosely so the core stays free of web frameworks.
    router: Any = None
    # A FastAPI APIRouter of HTML pages, mounted at /<name> (helpers in civicbrain.web.pages).
    pages: Any = None
    # A Typer app, added to the root CLI as `civicbrain <name>`.
    cli: Any = None
    # Portal pages: (title, path) shown in the navigation.
    portal_links: Sequence[tuple[str, str]] = ()
    # Folder of the service's Jinja2 templates, if it has pages.
    templates_dir: str | None = None
    # Called with the platform context when a reviewer decides an appeal about this service's decision,
    # so the service can undo what an overturned decision did (e.g. lift a listing).
    on_appeal_decided: Callable[[Platform, Appeal], None] | None = None
    # Called when a person is erased: delete or anonymise everything the service holds about them.
    on_erase: Callable[[Platform, str], None] | None = None
    # Called for a subject access request: everything the service holds about the person, as JSON.
    subject_data: Callable[[Platform, str], dict[str, Any]] | None = None
    # Called by the retention purge: delete what the service holds beyond its categories' retention
    # periods; returns counts by kind of record for the purge report.
    purge_expired: Callable[[Platform], dict[str, int]] | None = None
    # Seeds the demo city with this service's data (called by `civicbrain demo seed`).
    seed_demo: Callable[[Platform], None] | None = None
    # Development-only sign-ins the service's demo seed creates: (username, password, who), printed by
    # `civicbrain demo seed` beside the core's.
    demo_sign_ins: Sequence[tuple[str, str, str]] = ()
    tags: Sequence[str] = field(default_factory=tuple)


def load_services(names: Iterable[str] | None = None) -> list[ServiceSpec]:
    """The services installed under the entry-point group, optionally only those named.

    A service whose optional dependencies are not installed (``pip install civicbrain[credit]``) is
    left out with a warning naming the missing package, so the rest of the platform still runs.
    A service asked for by name must load.
    """
    wanted = set(names) if names is not None else None
    specs: list[ServiceSpec] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if wanted is not None and ep.name not in wanted:
            continue
        try:
            spec = ep.load()
        except ModuleNotFoundError as exc:
            if wanted is not None or (exc.name or "").startswith("civicbrain"):
                raise
            log.warning(
                "service '%s' is not available: missing package '%s' (install civicbrain[%s])",
                ep.name,
                exc.name,
                ep.name,
            )
            continue
        if not isinstance(spec, ServiceSpec):
            raise ConfigurationError(f"entry point '{ep.name}' does not point to a ServiceSpec")
        if spec.name != ep.name:
            raise ConfigurationError(f"entry point '{ep.name}' names service '{spec.name}'")
        specs.append(spec)
    return specs


def cards_of(services: Iterable[ServiceSpec]) -> list[AlgorithmCard]:
    return [card for spec in services for card in spec.algorithms]
