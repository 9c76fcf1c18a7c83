"""Every API error has one shape: {"error": {"code", "message", "field"?}} — tested in one place."""

from __future__ import annotations

import pytest

from tests.api.helpers import auth


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field
        assert field.split(".")[-1] in body["error"]["message"] or status in (401, 403, 404, 409)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "field"),
    [
        ("post", "/api/v1/auth/token", {"json": {"username": "x"}}, 422, "validation_error", "password"),
        (
            "post",
            "/api/v1/auth/token",
            {"json": {"username": "x", "password": "y"}},
            401,
            "unauthenticated",
            "password",
        ),
        ("get", "/api/v1/me", {}, 401, "unauthenticated", None),
        ("get", "/api/v1/register/nothing.here", {}, 404, "not_found", "algorithm"),
        ("get", "/api/v1/register/NOT VALID", {}, 422, "validation_error", "algorithm_id"),
        ("get", "/api/v1/no/such/route", {}, 404, "not_found", None),
        ("delete", "/api/v1/register", {}, 405, "method_not_allowed", None),
    ],
)
def test_error_shape(client, method, path, kwargs, status, code, field):
    assert_error(getattr(client, method)(path, **kwargs), status, code, field)


def test_error_shape_for_domain_errors(client):
    citizen = auth(client, "citizen")
    assert_error(
        client.post("/api/v1/appeals", json={"receipt": "0" * 36, "grounds": "x"}, headers=citizen),
        404,
        "not_found",
        "receipt",
    )
    assert_error(client.get("/api/v1/ledger/verify", headers=citizen), 403, "forbidden")
    assert_error(
        client.post("/api/v1/appeals", json={"receipt": "a" * 36, "grounds": ""}, headers=citizen),
        422,
        "validation_error",
        "grounds",
    )


def test_unexpected_errors_are_500_without_internals(client, monkeypatch):
    from civicbrain.core import register

    def broken(*_a, **_k):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("civicbrain.api.routes.register.live_figures", broken)
    response = client.get("/api/v1/register")
    assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.text and "reference" in response.json()["error"]["message"]
    assert register.live_figures is not broken
