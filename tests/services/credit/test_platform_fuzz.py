"""Fuzzing the credit API with schemathesis against its own OpenAPI schema: bad input never yields a 5xx.

Each credit operation gets generated requests signed in as a role that reaches its handler.
"""

from __future__ import annotations

import pytest
import schemathesis  # noqa: F401  (schemathesis.openapi is used below)
from hypothesis import HealthCheck, given, settings

from civicbrain.core.context import Runtime
from civicbrain.services.credit import SERVICE as CREDIT
from civicbrain.services.credit.domain.matching import Matcher, SubjectRecord
from civicbrain.services.credit.domain.names import NameKind
from tests.support import TEST_CARDS, TEST_SERVICES, demo_passwords

PASSWORDS = demo_passwords()
TOKENS: dict[str, str] = {}
EXAMPLES = 15


@pytest.fixture
def credit_schema(engine, settings, clock):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from civicbrain.api import create_app
    from civicbrain.demo.city import seed_city

    # on SQLite and PostgreSQL (``engine``): some inputs only fail on one (a NUL character in text)
    runtime = Runtime(settings, (*TEST_SERVICES, CREDIT), engine=engine, clock=clock, extra_cards=TEST_CARDS)
    with runtime.unit() as ctx:
        seed_city(ctx, people=12)
    # Name analysis loads its tables on first use (seconds); the fuzzer's client gives up after 10 s.
    Matcher().compare(
        SubjectRecord(id="warm-up", kind=NameKind.PERSON, names=("Li Wei",)),
        SubjectRecord(id="warm-up-2", kind=NameKind.PERSON, names=("李伟",)),
    )
    app = create_app(runtime=runtime)
    with TestClient(app) as client:
        for who in ("citizen", "admin", "reviewer", "court-officer", "tender-officer"):
            response = client.post("/api/v1/auth/token", json={"username": who, "password": PASSWORDS[who]})
            TOKENS[who] = response.json()["access_token"]
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def role_for(method: str, path: str) -> str:
    if "/me/" in path or path.endswith(("/objection", "/repair")):
        return "citizen"
    if path.endswith("/judgements"):
        return "reviewer"
    if path.endswith("/check"):
        return "tender-officer"
    if path.endswith(("/listings", "/repair-decision")) and method == "POST":
        return "court-officer"
    return "admin"


def test_no_server_errors_in_credit(credit_schema):  # type: ignore[no-untyped-def]
    operations = [r.ok() for r in credit_schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1/credit/")]
    assert len(operations) >= 15
    for operation in operations:
        check_operation(operation)


def check_operation(operation) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def no_server_error(case):  # type: ignore[no-untyped-def]
        token = TOKENS[role_for(case.method, case.path)]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call()
        assert response.status_code < 500, f"{operation.label}: {case.formatted_path}: {response.text[:500]}"

    no_server_error()
