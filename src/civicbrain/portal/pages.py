"""Mounts the portal on the app: templates (with every service's), static files, pages, error pages.

Pages (server-rendered; HTMX only for partial updates, every page works without JavaScript):

    GET  /                          what this instance is, where and why AI is used, how to contest, what is refused
    GET  /login, POST /login        sign in (username + password, CSRF token); POST /logout signs out
    GET  /register                  the algorithm register with live figures
    GET  /register/{id}             one card, its fairness audit (table + Plotly chart), links to the JSON exports
    GET  /decisions[?receipt=]      look a decision up by receipt (signed in)
    GET  /decisions/{receipt}       outcome, explanation, oversight, review history; contest form for the subject
    POST /decisions/{receipt}/contest
    GET  /my-data                   a citizen's decisions, appeals, records held, download link, erasure form
    POST /my-data/erasure
    GET  /reviews                   open appeals (reviewers decide; auditors and admins read)
    POST /reviews/{appeal_id}       uphold or overturn with written reasons (reviewers only)
    GET  /audit, /audit/ledger      ledger integrity (fetched by HTMX) and fairness by algorithm (auditors, admins)
    GET  /officer                   the agency's feeds, uploads and quarantine (officers, admins)
    GET  /jobs/{job_id}             a job's progress; HTMX polls the fragment while it runs
    GET  /static/...                portal.css, portal.js, vendored htmx; plotly.min.js from the plotly package

Services render their own pages with ``request.app.state.templates`` (their ``templates_dir`` is on
the loader, so ``{% extends "base.html" %}`` works) and list them in ``ServiceSpec.portal_links``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from civicbrain.core.context import Runtime
from civicbrain.core.identity import Role
from civicbrain.portal import errors, formatting
from civicbrain.portal.routes import account, audit, decisions, home, jobs, my_data, officer, register, reviews
from civicbrain.portal.security import SecurityHeaders
from civicbrain.web.pages import csrf_token

PORTAL_DIR = Path(__file__).parent

# (label, path, roles that see the link; None = everyone). Hiding a link is a courtesy only:
# each page checks the role itself and answers 403.
CORE_NAV: tuple[tuple[str, str, tuple[Role, ...] | None], ...] = (
    ("Home", "/", None),
    ("Algorithm register", "/register", None),
    ("Look up a decision", "/decisions", tuple(Role)),
    ("My data", "/my-data", (Role.CITIZEN,)),
    ("Review queue", "/reviews", (Role.REVIEWER, Role.AUDITOR, Role.ADMIN)),
    ("Audit", "/audit", (Role.AUDITOR, Role.ADMIN)),
    ("Agency data", "/officer", (Role.OFFICER, Role.ADMIN)),
)


def install_pages(app: FastAPI, runtime: Runtime) -> None:
    app.state.templates = build_templates(runtime)

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        # Served from the installed plotly package rather than committed: one 4 MB file, one version.
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    app.mount("/static", StaticFiles(directory=PORTAL_DIR / "static"), name="static")
    for module in (home, account, register, decisions, my_data, reviews, audit, officer, jobs):
        app.include_router(module.router, include_in_schema=False)
    errors.install(app)
    app.add_middleware(SecurityHeaders)


def plotly_js_path() -> Path:
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


def build_templates(runtime: Runtime) -> Jinja2Templates:
    """The portal's templates first, then each service's folder, so service pages can extend base.html."""
    folders = [str(PORTAL_DIR / "templates")]
    folders += [spec.templates_dir for spec in runtime.services.values() if spec.templates_dir]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder) for folder in folders]),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    formatting.install_filters(env)
    service_links = [(label, path) for spec in runtime.services.values() for label, path in spec.portal_links]

    def portal_context(request: Request) -> dict[str, Any]:
        user = _display_user(request)
        role = Role(user["role"]) if user else None
        nav = [
            (label, path) for label, path, roles in CORE_NAV if roles is None or (role is not None and role in roles)
        ]
        return {
            "instance_name": runtime.settings.instance_name,
            "nav": nav,
            "service_links": service_links,
            "current_user": user,
            "csrf_token": csrf_token(request) if "session" in request.scope else "",
            "current_path": request.url.path,
        }

    return Jinja2Templates(env=env, context_processors=[portal_context])


def _display_user(request: Request) -> dict[str, str] | None:
    """Who the header says is signed in. Portal pages set the checked principal; service pages
    fall back to the name cached in the signed session at sign-in (display only, never for access)."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return {"name": principal.display_name, "role": principal.role.value}
    who = request.session.get("who") if "session" in request.scope else None
    if isinstance(who, dict) and request.session.get("user_id") is not None:
        return {"name": str(who.get("name", "")), "role": str(who.get("role", Role.CITIZEN.value))}
    return None
