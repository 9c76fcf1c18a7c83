"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when configured), a clock, the app.

Every test that asks for ``engine`` (directly or through ``runtime``/``ctx``/``client``) runs once
on SQLite and — when ``CIVICBRAIN_TEST_DATABASE_URL`` is set — once more on PostgreSQL. Nothing
of our own database is mocked.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from civicbrain.core.context import Platform, Runtime
from civicbrain.core.db import Base, create_engine
from civicbrain.core.ledger import GENESIS_HASH
from civicbrain.core.settings import Settings
from civicbrain.migrations.metadata import import_all_models
from civicbrain.migrations.runner import upgrade_engine
from tests.support import TEST_CARDS, TEST_SERVICES

PG_URL = os.environ.get("CIVICBRAIN_TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


class Clock:
    """A clock the test moves by hand, so deadlines and retention can be tested without waiting."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        environment="test",
        secret_key="test-secret-key-" + "s" * 40,
        ledger_pepper="test-ledger-pepper-" + "p" * 40,
        instance_name="Test City",
        # Cheap hashing keeps the suite fast; production uses the RFC 9106 defaults.
        password_time_cost=1,
        password_memory_kib=8192,
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the file (much faster than migrating per test)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade_engine(engine)
    engine.dispose()  # checkpoints the WAL into the file we copy
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """A private schema in the PostgreSQL test database, migrated once per session."""
    assert PG_URL is not None
    schema = f"cb_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade_engine(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _reset_postgres(engine: Engine) -> None:
    import_all_models()
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE core_ledger_entries DISABLE TRIGGER USER"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE core_ledger_entries ENABLE TRIGGER USER"))
        conn.execute(text(f"INSERT INTO core_ledger_head (id, seq, entry_hash) VALUES (1, 0, '{GENESIS_HASH}')"))


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "civicbrain.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = create_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        _reset_postgres(engine)
        yield engine


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def runtime(settings: Settings, engine: Engine, clock: Clock) -> Runtime:
    return Runtime(settings, TEST_SERVICES, engine=engine, clock=clock, extra_cards=TEST_CARDS)


@pytest.fixture
def ctx(runtime: Runtime) -> Iterator[Platform]:
    with runtime.unit(actor="test") as platform:
        yield platform


@pytest.fixture
def seeded(runtime: Runtime) -> Runtime:
    """The demo city (40 residents), seeded through the same code as `civicbrain demo seed`."""
    from civicbrain.demo.city import seed_city

    with runtime.unit(actor="seed") as platform:
        seed_city(platform, people=40)
    return runtime


@pytest.fixture
def client(seeded: Runtime):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from civicbrain.api import create_app

    with TestClient(create_app(runtime=seeded), raise_server_exceptions=False) as test_client:
        yield test_client
