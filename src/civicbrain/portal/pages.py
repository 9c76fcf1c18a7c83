"""Portal pages (placeholder until the portal lands): the API alone works without it."""

from __future__ import annotations

from typing import Any

from civicbrain.core.context import Runtime


def install_pages(app: Any, runtime: Runtime) -> None:
    return None
