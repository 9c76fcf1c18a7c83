"""What every browser test does: sign in and out as a demo user, and save screenshots on request."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support import demo_passwords

PASSWORDS = demo_passwords()


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()


def snapshot(page: Page, name: str) -> None:
    """Saved only when CIVICBRAIN_SCREENSHOTS names a folder, for looking at the pages by eye."""
    folder = os.environ.get("CIVICBRAIN_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
