"""Signing in as the demo users in API tests."""

from __future__ import annotations

from civicbrain.demo.city import DEMO_USERS

PASSWORDS = {u.username: u.password for u in DEMO_USERS}


def auth(client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def my_first_receipt(client, headers) -> str:
    return client.get("/api/v1/me/data", headers=headers).json()["decisions"][0]["receipt"]
