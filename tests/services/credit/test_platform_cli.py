"""`civicbrain credit ...` run as an operator would, against a seeded SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civicbrain.core.context import Runtime
from civicbrain.core.db import create_engine
from civicbrain.core.settings import Settings, get_settings
from civicbrain.demo.city import seed_city
from civicbrain.migrations.runner import upgrade_engine
from civicbrain.services.credit import SERVICE as CREDIT
from civicbrain.services.credit.cli import app
from civicbrain.services.credit.seed import WANG_FANG_ID
from tests.support import TEST_SERVICES

runner = CliRunner()
PAIRS = """case_group,schema,name1,name2,is_match,quality,category,notes
t,Person,Olaf Schulze,Olaf Scholz,true,MEDIUM,,
t,Person,Octavian Scholz,Olaf Scholz,false,MEDIUM,,
t,Person,Wang Fang,王芳,true,HIGH,,
t,Company,Fuzhou Jinshan Construction Co. Ltd,Minjiang Fresh Foods Co. Ltd,false,HIGH,,
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for name, value in {
        "DATABASE_URL": url,
        "ENVIRONMENT": "test",
        "SECRET_KEY": "cli-test-secret-" + "c" * 40,
        "LEDGER_PEPPER": "cli-test-pepper-" + "p" * 40,
        "PASSWORD_TIME_COST": "1",
        "PASSWORD_MEMORY_KIB": "8192",
    }.items():
        monkeypatch.setenv(f"CIVICBRAIN_{name}", value)
    get_settings.cache_clear()
    engine = create_engine(url)
    upgrade_engine(engine)
    with Runtime(Settings(), (*TEST_SERVICES, CREDIT), engine=engine).unit(actor="seed") as ctx:
        seed_city(ctx, people=12)
    engine.dispose()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.stdout

    yield run
    get_settings.cache_clear()


def test_lists_memoranda_query_and_check(cli):
    codes = {x["code"] for x in json.loads(cli("lists", "--json"))}
    assert codes == {"court-judgement-defaulters", "market-serious-violations", "tax-grade-a"}
    memo = {m["id"]: m for m in json.loads(cli("memoranda", "--json"))}
    assert memo["mou-defaulters-rail"]["contexts"] == ["rail_ticket"]
    (hit,) = json.loads(cli("query", "Jinshan", "--json"))
    assert hit["masked_identifiers"] == ["91350100M000100Y43"]  # a firm's code is public registration data
    answer = json.loads(
        cli(
            "check",
            "--context",
            "public tender",
            "--agency",
            "finance-bureau",
            "--id-number",
            "91350100M000100Y43",
            "--organization",
            "--json",
        )
    )
    assert answer["outcome"] == "restrict" and answer["receipt"]
    assert (
        json.loads(
            cli("check", "--context", "museum", "--agency", "finance-bureau", "--id-number", WANG_FANG_ID, "--json")
        )["outcome"]
        == "allow"
    )


def test_export_is_followthemoney_json_lines(cli):
    from civicbrain.services.credit.domain.ftm import read_entities

    imported = read_entities(cli("export").splitlines())
    assert [s.names[0] for s in imported.subjects.values()] == ["Fuzhou Jinshan Construction Co., Ltd."]
    (sanction,) = imported.sanctions.values()
    assert sanction.status == "active" and sanction.entity_ids == ("organization-91350100M000100Y43",)


def test_due_process_from_the_command_line(cli):
    (notice,) = json.loads(cli("listings", "--state", "notice_sent", "--json"))
    assert notice["notice_receipt"]
    assert json.loads(cli("expire", "--json")) == {"activated": 0, "expired": 0}
    refused = cli("propose", "--list", "court-judgement-defaulters", "--fact", "nope", "--reason", "x", code=2)
    assert refused == ""  # the message goes to stderr, naming the field
    assert json.loads(cli("objections", "--json")) == {"open": []}


def test_score_and_match_eval(cli, tmp_path: Path):
    shown = json.loads(cli("score", "P0002", "--json"))
    assert shown["score"] > 600 and shown["reason_codes"]
    assert cli("score", "P0002", "--action", "withdraw", "--json").strip() == "null"
    assert "no city score" in cli("score", "P0002")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(PAIRS, encoding="utf-8")
    result = json.loads(cli("match-eval", "--pairs", str(pairs), "--json"))
    for matcher in ("ours", "logic_v2"):
        if result[matcher].get("available") is False:
            continue
        assert result[matcher]["n"] == 4 and {"precision", "recall", "f1"} <= set(result[matcher])
    bad = tmp_path / "bad.csv"
    bad.write_text("name1,name2\nA,B\n", encoding="utf-8")
    cli("match-eval", "--pairs", str(bad), code=2)
