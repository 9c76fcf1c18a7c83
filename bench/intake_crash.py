"""Crash safety at scale: kill -9 the intake of a 1,000,000-row file midway, re-run it, count.

The protocol is the one of tests/core/test_intake_crash.py (which runs it on 200,000 rows): a
subprocess runs `python -m civicbrain.cli.main feeds ingest FILE --json` against a migrated database
with the feed registered; once 40% of the rows are committed it gets SIGKILL; the same command is
run again to completion. Asserted: every good row stored exactly once (by key, compared with the
generator's own key list), every bad row quarantined once, the re-run reported as resumed from the
last committed chunk, and the upload counting no duplicates.

Run: nice -n 5 .venv/bin/python bench/intake_crash.py [--rows 1000000] [--sqlite-only] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _common import write_results  # noqa: E402
from core_bench import DEFAULT_PG_URL, bench_settings, fresh_postgres, fresh_sqlite  # noqa: E402
from tests.core.test_intake_crash import (  # noqa: E402
    CrashOutcome,
    assert_exactly_once,
    database_url_for_subprocess,
    expected_bad_rows,
    register_income_feed,
    run_killed_then_resumed,
    write_income_csv,
)

from civicbrain.core.context import Runtime  # noqa: E402


def crash_and_resume(fresh: Any, csv_path: Path, rows: int, kill_fraction: float) -> CrashOutcome:
    settings = bench_settings()
    with fresh() as engine:
        feed_id = register_income_feed(Runtime(settings, (), engine=engine))
        url = database_url_for_subprocess(engine)
        return run_killed_then_resumed(url, settings, feed_id, csv_path, rows, kill_fraction=kill_fraction)


def summary(backend: str, outcome: CrashOutcome) -> dict[str, Any]:
    bad = expected_bad_rows(outcome.rows)
    return {
        "database": backend,
        "rows_in_file": outcome.rows,
        "rows_committed_when_killed": outcome.rows_committed_when_killed,
        "records_when_killed": outcome.records_when_killed,
        "resumed_from": outcome.report["resumed_from"],
        "records": outcome.counts["records"],
        "distinct_keys": outcome.counts["distinct_keys"],
        "expected_records": outcome.rows - bad,
        "quarantined": outcome.counts["quarantined"],
        "expected_quarantined": bad,
        "keys_missing": outcome.keys_missing,
        "keys_unexpected": outcome.keys_unexpected,
        "upload": outcome.upload,
        "seconds_until_kill": round(outcome.seconds_until_kill, 1),
        "seconds_to_finish": round(outcome.seconds_to_finish, 1),
    }


def render(results: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Intake killed with SIGKILL midway, then re-run")
    columns = (
        ("database", "database"),
        ("rows in file", "rows_in_file"),
        ("committed at kill", "rows_committed_when_killed"),
        ("resumed from", "resumed_from"),
        ("records", "records"),
        ("distinct keys", "distinct_keys"),
        ("expected", "expected_records"),
        ("quarantined", "quarantined"),
        ("missing", "keys_missing"),
        ("unexpected", "keys_unexpected"),
        ("run → kill s", "seconds_until_kill"),
        ("re-run s", "seconds_to_finish"),
    )
    for title, _ in columns:
        table.add_column(title, justify="right")
    for result in results:
        table.add_row(*(f"{result[key]:,}" if isinstance(result[key], int) else str(result[key]) for _, key in columns))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="kill -9 a large feed intake midway and check nothing is lost")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--kill-fraction", type=float, default=0.4, help="kill once this share is committed")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("CIVICBRAIN_TEST_DATABASE_URL", DEFAULT_PG_URL))
    args = parser.parse_args(argv)
    backends: dict[str, Any] = {"sqlite": fresh_sqlite}
    if not args.sqlite_only:
        backends["postgresql"] = fresh_postgres(args.pg_url)
    console = Console(width=None if sys.stdout.isatty() else 170)
    results = []
    with tempfile.TemporaryDirectory(prefix="cb-crash-") as folder:
        csv_path = write_income_csv(Path(folder) / "monthly_income.csv", args.rows)
        for name, fresh in backends.items():
            outcome = crash_and_resume(fresh, csv_path, args.rows, args.kill_fraction)
            assert_exactly_once(outcome)  # raises, naming what differs, on any loss or duplicate
            results.append(summary(name, outcome))
            console.print(f"{name}: exactly {outcome.counts['records']:,} records, nothing lost or doubled")
    render(results, console)
    path = write_results("intake_crash", {"rows": args.rows, "kill_fraction": args.kill_fraction, "results": results})
    console.print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
