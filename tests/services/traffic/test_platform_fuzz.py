"""Fuzzing the traffic API with schemathesis against the app's own schema: bad input never yields a 5xx.

Signed in as an admin so requests reach the handlers, except starting a run: generated bodies are
validated as a citizen's (a valid body would start a simulation job; that path has its own test).
"""

from __future__ import annotations

import schemathesis  # noqa: F401  (schemathesis.openapi is used below)
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from civicbrain.core.context import Runtime
from civicbrain.services.concessions import SERVICE as CONCESSIONS
from civicbrain.services.traffic import SERVICE as TRAFFIC
from tests.api.helpers import PASSWORDS

EXAMPLES = 15


def test_traffic_api_never_answers_bad_input_with_a_server_error(engine, settings, clock):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from civicbrain.api import create_app
    from civicbrain.demo.city import seed_city

    # on SQLite and PostgreSQL (``engine``): some inputs only fail on one (a NUL character in text)
    runtime = Runtime(settings, (CONCESSIONS, TRAFFIC), engine=engine, clock=clock)
    with runtime.unit() as ctx:
        seed_city(ctx, people=5)
    app = create_app(runtime=runtime)
    tokens = {}
    with TestClient(app) as client:
        for who in ("citizen", "admin"):
            response = client.post("/api/v1/auth/token", json={"username": who, "password": PASSWORDS[who]})
            tokens[who] = response.json()["access_token"]
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/api/v1/traffic")]
    assert len(operations) >= 7
    for operation in operations:
        role = "citizen" if operation.method.upper() == "POST" and operation.path.endswith("/runs") else "admin"
        check_operation(operation, tokens[role])


def check_operation(operation, token: str) -> None:  # type: ignore[no-untyped-def]
    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def no_server_error(case):  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call()
        assert response.status_code < 500, f"{operation.label}: {case.formatted_path}: {response.text[:500]}"

    no_server_error()
