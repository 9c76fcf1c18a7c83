"""Import every table module so that ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from civicbrain.core.registry import ENTRY_POINT_GROUP


def import_all_models() -> None:
    importlib.import_module("civicbrain.core.models")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        package = ep.value.split(":", 1)[0]
        try:
            importlib.import_module(f"{package}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.models":
                raise
