"""A real server and a real browser: uvicorn on a loopback port over a seeded SQLite file, and
Debian's Chromium driven by Playwright (which cannot download its own browser here)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn

from civicbrain.api import create_app
from civicbrain.core.context import Runtime
from civicbrain.core.db import create_engine
from civicbrain.core.settings import Settings
from civicbrain.demo.city import seed_city
from civicbrain.migrations.runner import upgrade_engine
from tests.support import TEST_SERVICES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PEOPLE = 40


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seeded_runtime(folder: Path, services: tuple[object, ...], clock: Callable[[], datetime] | None = None) -> Runtime:
    """A migrated SQLite database in ``folder``, seeded as the demo city with ``services`` loaded."""
    path = folder / "civicbrain.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade_engine(engine)
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{path}",
        secret_key="e2e-secret-key-" + "s" * 40,
        ledger_pepper="e2e-ledger-pepper-" + "p" * 40,
        instance_name="Test City",
        password_time_cost=1,
        password_memory_kib=8192,
    )
    runtime = Runtime(settings, services, engine=engine, **({"clock": clock} if clock else {}))  # type: ignore[arg-type]
    with runtime.unit(actor="seed") as ctx:
        seed_city(ctx, people=DEMO_PEOPLE)
    return runtime


@pytest.fixture(scope="module")
def e2e_services() -> tuple[object, ...]:
    """The services the module's server runs; a module overrides this fixture to add its own."""
    return TEST_SERVICES


@pytest.fixture(scope="module")
def live_runtime(tmp_path_factory: pytest.TempPathFactory, e2e_services: tuple[object, ...]) -> Iterator[Runtime]:
    """A migrated, seeded SQLite database in a temporary folder, and the runtime the server uses."""
    runtime = seeded_runtime(tmp_path_factory.mktemp("e2e"), e2e_services)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture(scope="module")
def live_server(live_runtime: Runtime) -> Iterator[str]:
    """uvicorn serving portal + API in a thread; the base URL while the module's tests run."""
    port = free_port()
    config = uvicorn.Config(create_app(runtime=live_runtime), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (`make test` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) per test; fails the test on any script error,
    CSP violation or failed request (except a form's expected 422)."""
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))

    def on_console(message) -> None:  # type: ignore[no-untyped-def]
        # A 422 is a form coming back with its error naming the field: expected, not a problem.
        if message.type == "error" and "status of 422" not in message.text:
            problems.append(f"console {message.type}: {message.text}")

    tab.on("console", on_console)
    yield tab
    context.close()
    assert not problems, problems
