"""The portal: server-rendered pages (Jinja2 + vendored HTMX), no JavaScript build."""

from __future__ import annotations

from typing import Any

from civicbrain.core.context import Runtime


def install(app: Any, runtime: Runtime) -> None:
    """Mount the portal's pages and static files on the app (implemented in civicbrain.portal.pages)."""
    from civicbrain.portal.pages import install_pages

    install_pages(app, runtime)
