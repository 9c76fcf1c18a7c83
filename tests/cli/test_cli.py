"""The `civicbrain` command, run as a user would, against a fresh SQLite file."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from civicbrain.core.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICBRAIN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("CIVICBRAIN_ENVIRONMENT", "test")
    monkeypatch.setenv("CIVICBRAIN_SECRET_KEY", "cli-test-secret-" + "c" * 40)
    monkeypatch.setenv("CIVICBRAIN_LEDGER_PEPPER", "cli-test-pepper-" + "p" * 40)
    monkeypatch.setenv("CIVICBRAIN_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("CIVICBRAIN_PASSWORD_MEMORY_KIB", "8192")
    get_settings.cache_clear()
    from civicbrain.cli.main import app

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.stdout

    run("db", "upgrade")
    yield run
    get_settings.cache_clear()


def test_every_command_has_help(cli):
    for command in (
        [],
        ["serve"],
        ["db", "upgrade"],
        ["demo", "seed"],
        ["ledger", "verify"],
        ["register", "list"],
        ["register", "export"],
        ["feeds", "register"],
        ["feeds", "ingest"],
        ["feeds", "quarantine"],
        ["appeals", "list"],
    ):
        assert "Usage" in cli(*command, "--help")


def test_seed_verify_and_register(cli, tmp_path):
    seeded = cli("demo", "seed")
    assert "demo-citizen-pass" in seeded and "demo-clinician-pass" in seeded  # services' sign-ins too
    assert "already seeded" in cli("demo", "seed")
    report = json.loads(cli("ledger", "verify", "--json"))
    # 300 concession decisions, plus whatever the other installed services seed.
    assert report["ok"] and report["checked"] >= 300
    cards = json.loads(cli("register", "list", "--json"))
    concession = next(c for c in cards if c["id"] == "concessions.fare_eligibility")
    assert concession["decisions_total"] == 300 and concession["status"] == "live"
    export = json.loads(cli("register", "export"))
    assert export["records"][0]["tier_2"]["owner_and_responsibility"]["organisation"]
    assert json.loads(cli("appeals", "list", "--json")) == []
    purged = json.loads(cli("privacy", "purge", "--json"))
    assert purged["civil-affairs/household_income"] == 0  # nothing is old enough yet


def test_verify_exits_non_zero_naming_the_broken_entry(cli, tmp_path):
    cli("demo", "seed")
    db = sqlite3.connect(tmp_path / "cli.db")
    db.execute("DROP TRIGGER core_ledger_no_update")
    db.execute("UPDATE core_ledger_entries SET outcome_label = 'tampered' WHERE seq = 7")
    db.commit()
    db.close()
    report = json.loads(cli("ledger", "verify", "--json", code=1))
    assert report["first_broken_seq"] == 7 and report["first_broken_receipt"]


def test_feeds_register_ingest_quarantine(cli, tmp_path):
    cli("demo", "seed")
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "fields": [
                    {"name": "loop_id", "type": "string", "category": "traffic"},
                    {"name": "minute", "type": "datetime", "category": "traffic"},
                    {"name": "count", "type": "integer", "category": "traffic"},
                ],
                "key": ["loop_id", "minute"],
            }
        )
    )
    out = json.loads(
        cli(
            "feeds",
            "register",
            "--agency",
            "transport",
            "--name",
            "loops",
            "--purpose",
            "traffic",
            "--schema",
            str(schema),
            "--json",
        )
    )
    assert out["name"] == "loops"
    data = tmp_path / "loops.csv"
    data.write_text(
        "loop_id,minute,count\nL1,2026-11-02T08:00:00,12\nL1,2026-11-02T08:01:00,many\nL2,2026-11-02T08:00:00,3\n"
    )
    report = json.loads(cli("feeds", "ingest", str(data), "--agency", "transport", "--feed", "loops", "--json"))
    assert (report["accepted"], report["quarantined"]) == (2, 1)
    again = json.loads(cli("feeds", "ingest", str(data), "--agency", "transport", "--feed", "loops", "--json"))
    assert again["accepted"] == 0
    [bad] = json.loads(cli("feeds", "quarantine", "--agency", "transport", "--feed", "loops", "--json"))
    assert bad["reasons"][0]["field"] == "count"


def test_bad_input_is_a_clear_error_not_a_trace(cli, tmp_path):
    cli("demo", "seed")
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps({"fields": [{"name": "faith", "type": "string", "category": "religion"}], "key": ["faith"]})
    )
    result = runner.invoke(
        __import__("civicbrain.cli.main", fromlist=["app"]).app,
        ["feeds", "register", "--agency", "transport", "--name", "x", "--purpose", "traffic", "--schema", str(schema)],
    )
    assert result.exit_code == 2
    assert "never collected" in result.output and "faith" in result.output
