"""The application factory: core routers, every service's router, and the portal."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Path
from starlette.middleware.sessions import SessionMiddleware

from civicbrain import __version__, portal
from civicbrain.api.errors import install_error_handlers
from civicbrain.api.nul_guard import RejectNulCharacters
from civicbrain.api.routes import appeals, auth, decisions, exchange, privacy, register
from civicbrain.core.context import Runtime
from civicbrain.core.db import connection_capacity
from civicbrain.core.jobs import get_job
from civicbrain.core.registry import load_services
from civicbrain.core.settings import Settings, get_settings
from civicbrain.web.request_slots import RequestSlots

log = logging.getLogger("civicbrain")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. Tests pass their own runtime (database, clock, services)."""
    if runtime is None:
        settings = settings or get_settings()
        runtime = Runtime(settings, load_services())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        interrupted = runtime.jobs.recover()
        if interrupted:
            log.warning("%d background jobs were interrupted by the last shutdown", interrupted)
        yield
        runtime.jobs.shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title=f"civicbrain — {runtime.settings.instance_name}",
        version=__version__,
        description="Open, auditable and contestable AI-assisted public services. Every automated "
        "decision has a receipt, an explanation and a way to reach a human.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.add_middleware(
        SessionMiddleware,
        secret_key=runtime.settings.secret_key,
        session_cookie="civicbrain_session",
        same_site="strict",
        https_only=runtime.settings.environment == "production",
        max_age=8 * 3600,
    )
    slots = connection_capacity(runtime.engine)
    if slots is not None:  # see RequestSlots: more requests in flight than connections can deadlock
        app.add_middleware(RequestSlots, slots=slots)
    app.add_middleware(RejectNulCharacters)  # outermost: refused before it takes a slot (see nul_guard)
    install_error_handlers(app)
    for router in (auth.router, register.router, decisions.router, appeals.router, privacy.router, exchange.router):
        app.include_router(router)
    for spec in runtime.services.values():
        if spec.router is not None:
            app.include_router(spec.router, prefix=f"/api/v1/{spec.name}", tags=[spec.name])
        if spec.pages is not None:
            app.include_router(spec.pages, prefix=f"/{spec.name}", include_in_schema=False)

    @app.get("/api/v1/jobs/{job_id}", tags=["meta"], summary="A background job's status and progress")
    def job_status(job_id: str = Path(min_length=36, max_length=36)) -> dict[str, Any]:
        return get_job(runtime, job_id)

    @app.get("/api/v1/health", tags=["meta"], summary="Liveness and what this instance runs")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "instance": runtime.settings.instance_name,
            "services": sorted(runtime.services),
        }

    portal.install(app, runtime)
    return app
