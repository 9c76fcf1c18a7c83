"""Fuzzing the health API with schemathesis: whatever the input, never a 5xx.

Each operation is called signed in as the role that reaches its handler (a patient, a clinician or a
reviewer), so the generated bodies get past the permission checks and into the use cases.
"""

from __future__ import annotations

import pytest
import schemathesis  # noqa: F401  (schemathesis.openapi is used below)
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from civicbrain.api import create_app
from civicbrain.core.context import Runtime
from civicbrain.demo.city import seed_city
from civicbrain.services.health import SERVICE as HEALTH
from tests.support import TEST_CARDS, TEST_SERVICES, demo_passwords

PASSWORDS = demo_passwords()
CLINICIAN_PATHS = ("/queue", "/review", "/wearables/scan", "/village-doctor", "/settlement", "/pool/objected")
EXAMPLES = 10


@pytest.fixture
def health_schema(settings, engine, clock):  # type: ignore[no-untyped-def]
    runtime = Runtime(settings, (*TEST_SERVICES, HEALTH), engine=engine, clock=clock, extra_cards=TEST_CARDS)
    with runtime.unit(actor="seed") as ctx:
        seed_city(ctx, people=20)
    app = create_app(runtime=runtime)
    tokens = {}
    with TestClient(app) as client:
        for who in ("citizen", "clinician", "reviewer"):
            response = client.post("/api/v1/auth/token", json={"username": who, "password": PASSWORDS[who]})
            tokens[who] = response.json()["access_token"]
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return schema, tokens


def role_for(path: str) -> str:
    if path.endswith("/decision"):
        return "reviewer"
    return "clinician" if any(part in path for part in CLINICIAN_PATHS) else "citizen"


def test_no_server_errors_from_the_health_api(health_schema):  # type: ignore[no-untyped-def]
    schema, tokens = health_schema
    operations = [
        result.ok() for result in schema.get_all_operations() if result.ok().path.startswith("/api/v1/health/")
    ]
    assert len(operations) >= 20
    for operation in operations:
        check_operation(operation, tokens)


def check_operation(operation, tokens: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def no_server_error(case):  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {tokens[role_for(case.path)]}"}
        response = case.call()
        assert response.status_code < 500, f"{operation.label}: {case.formatted_path}: {response.text[:500]}"

    no_server_error()
