"""Services bring their own pages: their templates extend the portal's base.html and their links
appear in the navigation, without the service importing the portal."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.testclient import TestClient

from civicbrain.api import create_app
from civicbrain.core.context import Runtime
from civicbrain.core.registry import ServiceSpec
from tests.support import TEST_CARDS, TEST_SERVICES


def make_service(templates_dir: str) -> ServiceSpec:
    router = APIRouter()

    @router.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return ServiceSpec(
        name="parks",
        title="Parks",
        description="Park bookings.",
        router=router,
        portal_links=(("Parks", "/parks"),),
        templates_dir=templates_dir,
    )


def test_service_templates_extend_base_and_links_show_in_the_navigation(settings, engine, clock, tmp_path):
    (tmp_path / "parks").mkdir()
    (tmp_path / "parks" / "index.html").write_text(
        '{% extends "base.html" %}{% block title %}Parks{% endblock %}'
        "{% block content %}<h1>Book a park</h1>{% endblock %}"
    )
    runtime = Runtime(
        settings, (*TEST_SERVICES, make_service(str(tmp_path))), engine=engine, clock=clock, extra_cards=TEST_CARDS
    )
    app = create_app(runtime=runtime)

    @app.get("/parks")
    def parks_page(request: Request):  # type: ignore[no-untyped-def]
        # How a service renders a page: through app.state.templates, never importing civicbrain.portal.
        return request.app.state.templates.TemplateResponse(request, "parks/index.html", {})

    with TestClient(app) as client:
        page = client.get("/parks").text
        assert "<h1>Book a park</h1>" in page
        assert "Parks — Test City public services" in page  # base.html's title and header
        assert '<a href="/parks" aria-current="page">Parks</a>' in page
        assert '<a href="/parks">' in client.get("/").text
