"""Crash safety of feed intake: kill -9 a running `civicbrain feeds ingest`, re-run it, lose nothing.

The intake commits each chunk together with the upload's progress, and inserts skip keys already
stored. So after a SIGKILL at any moment a re-run must resume after the last committed chunk and end
with exactly the file's good records, each key once, every bad row in the quarantine, and the upload
counting no duplicates (a duplicate would mean the re-run reprocessed rows it had already stored).

The generator and the protocol here are also used by ``bench/intake_crash.py`` (1,000,000 rows) and
``bench/core_bench.py`` (intake rate), so the test and the benchmarks check the same thing.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine as plain_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine

from civicbrain.core.context import Runtime
from civicbrain.core.db import normalise_url
from civicbrain.core.models import Agency
from civicbrain.core.settings import Settings

AGENCY_ID = "social-insurance"
FEED_NAME = "monthly_income"
FEED_PURPOSE = "benefits"
FEED_SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "person_id", "type": "string", "category": "identifier"},
        {"name": "month", "type": "string", "category": "administrative"},
        {"name": "income_band", "type": "string", "category": "financial"},
        {"name": "employed", "type": "boolean", "category": "financial"},
        {"name": "monthly_income", "type": "number", "category": "financial"},
        {"name": "assessed_on", "type": "date", "category": "administrative"},
    ],
    "key": ["person_id", "month"],
    "subject_field": "person_id",
}
CSV_HEADER = [f["name"] for f in FEED_SCHEMA["fields"]]
INCOME_BANDS = ("low", "lower_middle", "middle", "upper_middle", "high")
MONTHS_PER_PERSON = 12
# Each defect breaks one rule a real sender gets wrong; each bad row stays unique (it carries its
# row's own values), so the quarantine, which skips identical rows, must hold every one of them.
DEFECTS = ("income_not_a_number", "impossible_date", "missing_key", "boolean_typo")

# Sized to keep the test near 15 s on a shared 2-core machine; PostgreSQL takes rows at about half
# SQLite's rate here (bench/core_bench.py), so it gets half the file. bench/intake_crash.py: 1,000,000.
TEST_ROWS = {"sqlite": 200_000, "postgresql": 100_000}


# --- the generated file ------------------------------------------------------------------------


def is_bad_row(index: int) -> bool:
    """About 1% of rows are bad: one row in every hundred."""
    return index % 100 == 37


def row_key(index: int) -> str:
    """The key the exchange stores for a good row (person id and month, joined by '|')."""
    person, month = _person_and_month(index)
    return f"{person}|{month}"


def _person_and_month(index: int) -> tuple[str, str]:
    return f"P{index // MONTHS_PER_PERSON:08d}", f"2025-{index % MONTHS_PER_PERSON + 1:02d}"


def _csv_row(index: int) -> list[str]:
    person, month = _person_and_month(index)
    band = (index * 7919) % len(INCOME_BANDS)
    income = f"{800 + band * 900 + (index * 37) % 850}.{index % 100:02d}"
    employed = "true" if (index * 31) % 10 < 7 else "false"
    assessed_on = f"2026-{index % MONTHS_PER_PERSON + 1:02d}-{index % 28 + 1:02d}"
    row = [person, month, INCOME_BANDS[band], employed, income, assessed_on]
    if is_bad_row(index):
        defect = DEFECTS[(index // 100) % len(DEFECTS)]
        if defect == "income_not_a_number":
            row[4] = f"n/a ({index})"
        elif defect == "impossible_date":
            row[5] = "2026-02-30"
        elif defect == "missing_key":
            row[0] = ""
            row[4] = f"{index}.00"  # keeps the row unique: identical bad rows are quarantined once
        else:
            row[3] = "maybe"
    return row


def write_income_csv(path: Path, rows: int) -> Path:
    """A CSV of ``rows`` monthly income records (person, month, band, employed, income, date)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(_csv_row(i) for i in range(rows))
    return path


def expected_bad_rows(rows: int) -> int:
    return sum(1 for i in range(rows) if is_bad_row(i))


def expected_good_keys(rows: int) -> set[str]:
    return {row_key(i) for i in range(rows) if not is_bad_row(i)}


# --- the database and the command --------------------------------------------------------------


def register_income_feed(runtime: Runtime) -> int:
    """The agency and its feed, as `civicbrain feeds register` would create them. Returns the feed id."""
    with runtime.unit(actor="test") as ctx:
        if ctx.session.get(Agency, AGENCY_ID) is None:
            ctx.session.add(Agency(id=AGENCY_ID, name="Social Insurance Office"))
            ctx.session.flush()
        feed = ctx.exchange.register_feed(agency_id=AGENCY_ID, name=FEED_NAME, purpose=FEED_PURPOSE, schema=FEED_SCHEMA)
        return feed.id


def database_url_for_subprocess(engine: Engine) -> str:
    """The URL a child process needs to reach the same database (and PostgreSQL schema)."""
    url = engine.url
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def cli_environment(database_url: str, settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "CIVICBRAIN_DATABASE_URL": database_url,
        "CIVICBRAIN_ENVIRONMENT": "test",
        "CIVICBRAIN_SECRET_KEY": settings.secret_key,
        "CIVICBRAIN_LEDGER_PEPPER": settings.ledger_pepper,
    }


def ingest_command(csv_path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "civicbrain.cli.main",
        "feeds",
        "ingest",
        str(csv_path),
        "--agency",
        AGENCY_ID,
        "--feed",
        FEED_NAME,
        "--json",
    ]


def observer_engine(database_url: str) -> Engine:
    """An engine for watching the intake from outside.

    Not core.db's engine: that one opens every transaction with BEGIN IMMEDIATE (the write lock on
    SQLite), and the watcher must not hold up the writer it is watching.
    """
    return plain_create_engine(normalise_url(database_url))


def upload_progress(observer: Engine, feed_id: int) -> tuple[int, str] | None:
    """(rows_seen, status) of the feed's newest upload, or None before the upload exists."""
    with observer.connect() as conn:
        row = conn.execute(
            text("SELECT rows_seen, status FROM core_uploads WHERE feed_id = :f ORDER BY id DESC LIMIT 1"),
            {"f": feed_id},
        ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def stored_counts(observer: Engine, feed_id: int) -> dict[str, int]:
    queries = {
        "records": "SELECT count(*) FROM core_feed_records WHERE feed_id = :f",
        "distinct_keys": "SELECT count(DISTINCT source_key) FROM core_feed_records WHERE feed_id = :f",
        "quarantined": "SELECT count(*) FROM core_quarantine WHERE feed_id = :f",
        "quarantined_rows": "SELECT count(DISTINCT row_number) FROM core_quarantine WHERE feed_id = :f",
    }
    with observer.connect() as conn:
        return {name: int(conn.execute(text(sql), {"f": feed_id}).scalar_one()) for name, sql in queries.items()}


def stored_keys(observer: Engine, feed_id: int) -> set[str]:
    with observer.connect() as conn:
        result = conn.execute(text("SELECT source_key FROM core_feed_records WHERE feed_id = :f"), {"f": feed_id})
        return {key for (key,) in result}


def upload_counters(observer: Engine, feed_id: int) -> dict[str, Any]:
    with observer.connect() as conn:
        row = conn.execute(
            text(
                "SELECT status, rows_seen, accepted, duplicates, quarantined FROM core_uploads"
                " WHERE feed_id = :f ORDER BY id DESC LIMIT 1"
            ),
            {"f": feed_id},
        ).one()
    return dict(row._mapping)


# --- the protocol ------------------------------------------------------------------------------


@dataclass
class CrashOutcome:
    rows: int
    rows_committed_when_killed: int
    records_when_killed: int
    report: dict[str, Any]  # the re-run's --json report
    counts: dict[str, int]
    upload: dict[str, Any]
    keys_missing: int
    keys_unexpected: int
    seconds_until_kill: float
    seconds_to_finish: float


def kill_intake_midway(command: list[str], env: dict[str, str], observer: Engine, feed_id: int, kill_at: int) -> float:
    """Start the intake, SIGKILL it once ``kill_at`` rows are committed. Returns the seconds it ran."""
    started = time.perf_counter()
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as child:
        while True:
            if child.poll() is not None:
                stderr = child.stderr.read().decode() if child.stderr else ""
                raise AssertionError(f"the intake ended (rc {child.returncode}) before it was killed: {stderr[-2000:]}")
            progress = upload_progress(observer, feed_id)
            if progress is not None and progress[0] >= kill_at:
                break
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return time.perf_counter() - started


def run_to_completion(command: list[str], env: dict[str, str]) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    return json.loads(finished.stdout), time.perf_counter() - started


def run_killed_then_resumed(
    database_url: str, settings: Settings, feed_id: int, csv_path: Path, rows: int, *, kill_fraction: float = 0.4
) -> CrashOutcome:
    """Kill -9 the intake of ``csv_path`` after ``kill_fraction`` of it, re-run it, gather the evidence."""
    command = ingest_command(csv_path)
    env = cli_environment(database_url, settings)
    observer = observer_engine(database_url)
    try:
        ran_for = kill_intake_midway(command, env, observer, feed_id, kill_at=max(1, int(rows * kill_fraction)))
        committed, status = upload_progress(observer, feed_id) or (0, "none")
        assert status == "running", f"the killed upload is '{status}', not 'running'"
        records_when_killed = stored_counts(observer, feed_id)["records"]
        report, finish_seconds = run_to_completion(command, env)
        good_keys = expected_good_keys(rows)
        keys = stored_keys(observer, feed_id)
        return CrashOutcome(
            rows=rows,
            rows_committed_when_killed=committed,
            records_when_killed=records_when_killed,
            report=report,
            counts=stored_counts(observer, feed_id),
            upload=upload_counters(observer, feed_id),
            keys_missing=len(good_keys - keys),
            keys_unexpected=len(keys - good_keys),
            seconds_until_kill=ran_for,
            seconds_to_finish=finish_seconds,
        )
    finally:
        observer.dispose()


def assert_exactly_once(outcome: CrashOutcome) -> None:
    """Every good row stored once, every bad row quarantined once, and the re-run resumed."""
    rows = outcome.rows
    bad = expected_bad_rows(rows)
    good = rows - bad
    assert 0 < outcome.records_when_killed < good, "the kill did not land midway through the file"
    assert outcome.report["resumed_from"] == outcome.rows_committed_when_killed > 0, outcome.report
    assert outcome.report["rows_seen"] == rows - outcome.rows_committed_when_killed
    assert outcome.counts == {"records": good, "distinct_keys": good, "quarantined": bad, "quarantined_rows": bad}
    assert outcome.keys_missing == 0 and outcome.keys_unexpected == 0
    assert outcome.upload == {
        "status": "complete",
        "rows_seen": rows,
        "accepted": good,
        "duplicates": 0,
        "quarantined": bad,
    }


@pytest.mark.slow
def test_intake_killed_midway_resumes_to_exactly_every_record(
    runtime: Runtime, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    rows = TEST_ROWS[engine.dialect.name]
    feed_id = register_income_feed(runtime)
    csv_path = write_income_csv(tmp_path / "monthly_income.csv", rows)
    outcome = run_killed_then_resumed(database_url_for_subprocess(engine), settings, feed_id, csv_path, rows)
    assert_exactly_once(outcome)


def test_generated_file_has_the_declared_shape(tmp_path: Path) -> None:
    """The generator itself: unique keys, ~1% bad rows, one of each defect (else the test proves less)."""
    path = write_income_csv(tmp_path / "small.csv", 1000)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1000 and list(rows[0]) == CSV_HEADER
    assert expected_bad_rows(1000) == 10
    assert len(expected_good_keys(1000)) == 990
    assert {rows[i]["person_id"] for i in range(1000) if is_bad_row(i)} >= {""}
    assert any(r["employed"] == "maybe" for r in rows) and any(r["assessed_on"] == "2026-02-30" for r in rows)
    assert any(r["monthly_income"].startswith("n/a") for r in rows)
    bad_rows = [tuple(_csv_row(i)) for i in range(max(TEST_ROWS.values())) if is_bad_row(i)]
    assert len(set(bad_rows)) == len(bad_rows), "identical bad rows would be quarantined once, not each"
