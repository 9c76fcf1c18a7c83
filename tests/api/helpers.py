"""Signing in as the demo users in API tests."""

from __future__ import annotations

from tests.support import demo_passwords

PASSWORDS = demo_passwords()


def auth(client, username: str, password: str | None = None) -> dict[str, str]:
    password = password or PASSWORDS[username]
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def my_first_receipt(client, headers) -> str:
    return client.get("/api/v1/me/data", headers=headers).json()["decisions"][0]["receipt"]
