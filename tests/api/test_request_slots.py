"""A burst of requests larger than the database pool is served, not deadlocked.

Each request's unit of work holds a pooled connection while its steps wait for worker threads. With
more requests in flight than connections, the threads can all end up waiting for connections held by
requests that wait for threads, until the pool times out and every one of them fails. The app lets
in at most as many requests as the pool has connections (``RequestSlots``); this burst would fail
without it.
"""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest
from fastapi.testclient import TestClient

from civicbrain.api import create_app
from civicbrain.core.context import Runtime
from civicbrain.core.db import connection_capacity, create_engine
from civicbrain.demo.city import seed_city
from tests.api.helpers import auth
from tests.support import TEST_CARDS, TEST_SERVICES

BURST = 80  # more than the 40 worker threads of the default thread pool, so all of them are busy


@pytest.fixture
def small_pool_runtime(settings, clock, sqlite_template, tmp_path):
    path = tmp_path / "civicbrain.db"
    shutil.copy(sqlite_template, path)
    engine = create_engine(f"sqlite:///{path}", pool_size=1, max_overflow=1, pool_timeout=3)
    runtime = Runtime(settings, TEST_SERVICES, engine=engine, clock=clock, extra_cards=TEST_CARDS)
    with runtime.unit(actor="seed") as platform:
        seed_city(platform, people=5)
    yield runtime
    engine.dispose()


def test_the_slots_match_the_pool(small_pool_runtime):
    assert connection_capacity(small_pool_runtime.engine) == 2


def test_a_burst_larger_than_the_pool_is_answered(small_pool_runtime):
    app = create_app(runtime=small_pool_runtime)
    with TestClient(app) as client:
        headers = auth(client, "officer")

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await asyncio.gather(*(client.get("/api/v1/me", headers=headers) for _ in range(BURST)))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * BURST
    assert {r.json()["username"] for r in responses} == {"officer"}
