"""Portal test helpers: sign in through the real form (with its CSRF token), find demo receipts."""

from __future__ import annotations

import re

import pytest

from civicbrain.demo.city import DEMO_USERS

PASSWORDS = {u.username: u.password for u in DEMO_USERS}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    """The session's CSRF token, as a form on ``path`` carries it."""
    match = CSRF_INPUT.search(client.get(path).text)
    assert match, f"no CSRF token in the forms of {path}"
    return match.group(1)


def sign_in(client, username: str):  # type: ignore[no-untyped-def]
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": csrf_of(client, "/login")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response


def receipt_of(runtime, person_id: str = "P0001") -> str:  # type: ignore[no-untyped-def]
    """The receipt of the demo decision about this person."""
    with runtime.unit() as ctx:
        entries = [e for e in ctx.ledger.for_subject(f"person:{person_id}") if e.kind == "automated"]
    assert entries, f"the demo city made no decision about {person_id}"
    return entries[0].receipt


@pytest.fixture
def receipt(seeded) -> str:  # type: ignore[no-untyped-def]
    return receipt_of(seeded)
