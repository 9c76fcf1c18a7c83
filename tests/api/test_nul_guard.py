"""A NUL character in a request's text is refused with the field that holds it, never a server error.

PostgreSQL cannot store U+0000 in text: before the guard, a pool claim whose illness was "\\x00" (found by
the health API's fuzz test) failed at the commit with a 500. The tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from civicbrain.api.nul_guard import field_with_nul
from tests.api.helpers import auth
from tests.api.test_errors import assert_error


def test_a_nul_in_a_json_field_is_refused_naming_the_field(client):
    citizen = auth(client, "citizen")
    response = client.post("/api/v1/appeals", json={"receipt": "a" * 36, "grounds": "wrong\x00"}, headers=citizen)

    assert_error(response, 422, "validation_error", "grounds")
    assert "U+0000" in response.json()["error"]["message"]


def test_a_nul_in_a_health_pool_claim_is_a_422_not_a_500(client):
    citizen = auth(client, "citizen")
    body = {"illness": "\x00", "diagnosed_on": "2000-01-01", "treatment_start": "2000-01-01"}
    body |= {"treatment_end": "2000-01-02", "amount": "10", "documents": []}
    response = client.post("/api/v1/health/pool/claims", json=body, headers=citizen)

    assert_error(response, 422, "validation_error", "illness")


def test_a_nul_in_a_query_parameter_or_the_path_is_refused(client):
    assert_error(client.get("/api/v1/register?status=live%00"), 422, "validation_error", "status")
    assert_error(client.get("/api/v1/register/traffic.qpa%00"), 422, "validation_error", "path")


def test_a_nul_in_a_form_field_is_refused(client):
    response = client.post("/login", data={"username": "admin\x00", "password": "x", "csrf_token": "y"})

    assert_error(response, 422, "validation_error", "username")


def test_a_nul_in_a_multipart_text_field_is_refused_but_files_may_hold_any_byte(client):
    citizen = auth(client, "citizen")
    files = {"file": ("scan.bin", b"\x00\x01binary\x00", "application/octet-stream")}
    refused = client.post("/health/pool/claims", data={"illness": "J18\x00"}, files=files, headers=citizen)
    assert_error(refused, 422, "validation_error", "illness")

    passed = client.post("/health/pool/claims", data={"illness": "J18"}, files=files, headers=citizen)
    assert passed.status_code != 422  # handed on to the app, whatever it answers: the file's NULs are its own


def test_text_that_only_spells_the_escape_goes_through_to_the_use_case(client):
    citizen = auth(client, "citizen")
    grounds = "the letters \\u0000 are not a NUL"  # JSON writes the backslash escaped: no NUL in the text
    response = client.post("/api/v1/appeals", json={"receipt": "a" * 36, "grounds": grounds}, headers=citizen)

    assert_error(response, 404, "not_found", "receipt")  # the use case ran and answered as it always does


def test_the_field_is_found_anywhere_in_a_json_body():
    scope = {"type": "http", "path": "/api/v1/x", "query_string": b""}
    nested = b'{"documents": [{"name": "ok"}, {"name": "bad\\u0000"}]}'

    assert field_with_nul(scope, nested, "application/json") == "documents.1.name"
    assert field_with_nul(scope, b'{"a\\u0000": 1}', "application/json") == "a\x00"
    assert field_with_nul(scope, b'"\\u0000"', "application/json") == "body"
    assert field_with_nul(scope, b'{"a": "\\u0000', "application/json") is None  # not JSON: the app answers
    assert field_with_nul(scope, b"raw \x00 bytes of an upload", "multipart/form-data") is None
