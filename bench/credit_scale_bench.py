"""Credit service at scale on PostgreSQL: intake, check API p99, daily expiry job, batch scoring.

Protocol (printed with the figures and written to bench/results/credit_scale_bench.json):

0. A private schema on ``--pg-url``, migrated with ``upgrade_engine`` and dropped afterwards (or
   ``--schema-name NAME --keep`` to load once and measure again). The bench bulk-loads (COPY ...
   FREEZE through psycopg, the tables' indexes and keys dropped during the load and rebuilt as the
   migration defines them afterwards, then VACUUM ANALYZE) ``--subjects`` synthetic persons into
   ``credit_subjects``, ``--listings`` listings on the court-defaulter list whose JSON columns come
   from the domain's own transitions (``store.write_listing``): 50% active (0.2% of all listings
   past their maximum, due for the expiry job), 20% expired, 15% repaired, 15% proposed; and the
   listed subjects' blocking keys in ``credit_name_keys`` (``domain.blocking.name_keys``, as
   ``candidates.index_subject`` writes them: only subjects with a listing are screened) with their
   posting counts in ``credit_name_key_counts``. Names repeat like real ones (99 surnames x 3,364
   given names), so keys have realistic posting sizes.
1. Intake: ``Exchange.ingest_file`` of a generated CSV of ``--intake-rows`` enforcement-outcome
   records (the ``intermediate-court/enforcement_outcomes`` feed), records/s = rows / wall seconds.
2. Check API: the real app (``create_app`` with a ``Runtime`` on that schema and the credit service,
   as a production instance) under uvicorn in a subprocess on a free 127.0.0.1 port; a tender
   officer signs in through ``/api/v1/auth/token``; after a 15 s warm-up at 20/s (other subjects),
   a minimal asyncio HTTP/1.1 keep-alive client (``LoadClient``) sends ``POST /api/v1/credit/check``
   open-loop at ``--rate`` for ``--seconds`` (each request is scheduled on time, never waiting for
   earlier answers), a quarter each: ID number listed, ID number unlisted, name+DOB listed, name+DOB
   unlisted. Latency = from the moment a request was due to its full response, so queueing in the
   server or the generator counts; reported for all, ID checks and name checks. Every
   check is recorded in the ledger (group commit, ``recording.py``) before its answer leaves.
   ``--workers N`` runs N server processes on one listening socket (default 2: one process runs
   Python on one core at a time; at 200/s, 1M subjects, two answered 97/s where one answered 66/s
   on this 2-core machine under load 5-8); the notes give the server's CPU milliseconds per check
   (user + system of its processes, from /proc, so the figure holds on a loaded machine) and the
   answers per second.
2b. Check CPU (``--only check-cpu``, not in the default run): ``--cpu-checks`` of the same check bodies
   screened and recorded in this process, one per unit of work, after 200 warm-up checks: CPU
   milliseconds per check (``time.process_time``, ID and name checks apart) and the PostgreSQL backend's
   (/proc), figures that hold on a loaded machine, and a digest of every answer and ledger payload
   (fix CB_BENCH_PEPPER to compare two versions of the code: the same digest, the same answers).
3. Expiry: ``service.expire_due(ctx)`` once, in one unit of work (commit included).
4. Scoring: ``--optins`` residents in ``core_people``/``credit_score_optins``; the service's own
   ``scores.rescore_all`` with ``backend="processes"`` (``core.batch``, one job per ``--chunk``
   residents): each job reads its chunk's records in one query, scores them with the published
   points table, records every score through ``ctx.decide_many`` (one ledger batch per chunk) and
   writes them back, then commits.

Timings are wall-clock on a shared machine; see the load average in the protocol.

Run: nice -n 5 .venv/bin/python bench/credit_scale_bench.py [--quick] [--only PART] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, percentile, write_results  # noqa: E402

from civicbrain.core.context import Runtime  # noqa: E402
from civicbrain.core.db import create_engine  # noqa: E402
from civicbrain.core.identity import Role, create_user  # noqa: E402
from civicbrain.core.models import Agency  # noqa: E402
from civicbrain.core.settings import Settings  # noqa: E402
from civicbrain.demo.city import AGENCIES as CITY_AGENCIES  # noqa: E402
from civicbrain.migrations.runner import upgrade_engine  # noqa: E402
from civicbrain.services.credit.catalogue import EXTRA_AGENCIES, LISTS, MEMORANDA  # noqa: E402
from civicbrain.services.credit.domain import listing as due  # noqa: E402
from civicbrain.services.credit.domain.blocking import birth_keys, name_keys  # noqa: E402
from civicbrain.services.credit.domain.listing import HumanReviewer  # noqa: E402
from civicbrain.services.credit.domain.names import NameKind  # noqa: E402
from civicbrain.services.credit.feeds import ENFORCEMENT_OUTCOMES  # noqa: E402
from civicbrain.services.credit.seed import DEMO_OFFICERS  # noqa: E402
from civicbrain.services.credit.store import list_row, memorandum_row, new_listing_row, write_listing  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SERVER_POOL = 45  # see ``serve``
TARGETS = {"intake": 20_000.0, "check_p99_ms": 25.0, "expiry_s": 300.0, "scoring_s": 600.0}
COURT_LIST = next(d for d in LISTS if d.code == "court-judgement-defaulters")
TENDER = next(o for o in DEMO_OFFICERS if o[0] == "tender-officer")
# The bench's clock: listings are generated around this moment, and every unit of work uses it.
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SURNAMES = (  # noqa: SIM905 - a word list reads better as text
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao Zheng Liang Xie Song Tang Han"
    " Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du Ye Cheng Wei Su Lu Ding Ren Shen Yao Jin Fu"
    " Zhong Cui Tan Liao Fan Wan Qin Dai Lei Hao Shi Gu Meng Bai Long Duan Kong Qiu Xiong Qian Kang Mao Hong Yin Jia"
    " Yi Shao Hou Wen Xiang Chang Niu Qi Mo Lan Zou Xia Yan Ou Ge Ni Shu Geng Fei Bao Pu Ling Ruan"
).split()
SYLLABLES = (  # noqa: SIM905
    "an bo chao dan fang gang hua hui jian jie jing jun kai lan lei li lin ling mei min ming na ning peng ping qiang"
    " qing rong rui shan sheng tao ting wei wen xia xiang xin xiu yan yang yi ying yong yu yuan yun ze zhen zhi zhong"
    " hong bin chun feng guo hai hao"
).split()


@dataclass
class Sizes:
    subjects: int
    listings: int
    intake_rows: int
    rate: int
    seconds: int
    optins: int
    chunk: int


@dataclass
class Result:
    name: str
    size: str
    figure: float
    unit: str
    target: str
    met: bool
    notes: dict[str, Any] = field(default_factory=dict)


# --- synthetic people ----------------------------------------------------------------------------


def id_number(index: int) -> str:
    """An 18-character resident ID number, unique per index (not check-digit valid: nothing checks it)."""
    return f"3501{index:013d}X"


def person_name(index: int) -> str:
    s, g = len(SURNAMES), len(SYLLABLES)
    given = SYLLABLES[(index // s) % g] + SYLLABLES[(index // (s * g)) % g]
    return f"{SURNAMES[index % s]} {given.capitalize()}"


def birth_date(index: int) -> str:
    return (date(1950, 1, 1) + timedelta(days=(index * 7919) % 20_000)).isoformat()


def subject_id(index: int) -> str:
    return f"person-{id_number(index)}"  # store.subject_id_for with an identifier


@lru_cache(maxsize=400_000)
def keys_of(name: str) -> tuple[str, ...]:
    return tuple(sorted({k[:120] for k in name_keys(name, NameKind.PERSON)}))


def listed_subject(listing: int, sizes: Sizes) -> int:
    """Listings are spread evenly over the subjects, one each."""
    return listing * (sizes.subjects // sizes.listings)


def listing_state(listing: int) -> str:
    slot = listing % 20
    if slot < 10:
        return "due" if listing % 500 == 0 else "active"  # 0.2% of all listings reached their maximum
    return "expired" if slot < 14 else "repaired" if slot < 17 else "proposed"


# --- database ------------------------------------------------------------------------------------


def bench_settings() -> Settings:
    return Settings(
        environment="test",
        secret_key=os.environ.get("CB_BENCH_SECRET") or secrets.token_hex(32),
        ledger_pepper=os.environ.get("CB_BENCH_PEPPER") or secrets.token_hex(32),
        password_time_cost=1,  # signing in is not what is measured
        password_memory_kib=8192,
    )


SERVER_APPLICATION = "credit-scale-bench-server"  # names the app server's database sessions (their CPU is read)


def schema_engine(url: str, schema: str, application: str | None = None, **pool: int) -> Engine:
    connect_args = {"options": f"-csearch_path={schema}"}
    if application:
        connect_args["application_name"] = application
    return create_engine(url, connect_args=connect_args, **pool)


def runtime_on(engine: Engine) -> Runtime:
    from civicbrain.core.registry import load_services

    return Runtime(bench_settings(), load_services(["credit"]), engine=engine, clock=lambda: NOW)


@contextmanager
def private_schema(url: str, name: str | None = None, keep: bool = False) -> Iterator[tuple[str, Engine, bool]]:
    """A schema for the bench: a fresh private one (dropped afterwards), or ``name`` reused as it is
    (created and migrated if missing; kept with ``keep``). Yields whether it was there already."""
    schema = name or f"cb_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        existed = bool(
            conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}).scalar()
        )
        if not existed:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = schema_engine(url, schema)
    try:
        upgrade_engine(engine)  # a kept schema too: it is measured with this version's tables
        yield schema, engine, existed
    finally:
        engine.dispose()
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_BLOCK = 20_000  # rows per write: psycopg's per-row ``write_row`` is the bottleneck at tens of millions


def copy_field(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(COPY_ESCAPES)


def copy_rows(
    engine: Engine, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]], *, freeze: bool = False
) -> None:
    """COPY through psycopg in text format, written in blocks: the fastest way PostgreSQL takes millions of rows.

    ``freeze``: the table is emptied in the same transaction and loaded frozen (``COPY ... FREEZE``),
    so the first reads after the load do not rewrite every page to set its visibility hints.
    """
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            if freeze:
                cur.execute(f"TRUNCATE {table}")
            options = " WITH (FREEZE)" if freeze else ""
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{options}") as copy:
                block: list[str] = []
                for row in rows:
                    block.append("\t".join(map(copy_field, row)))
                    if len(block) == COPY_BLOCK:
                        copy.write("\n".join(block) + "\n")
                        block.clear()
                if block:
                    copy.write("\n".join(block) + "\n")
        raw.commit()
    finally:
        raw.close()


@contextmanager
def without_indexes(engine: Engine, tables: tuple[str, ...], seconds: dict[str, float]) -> Iterator[None]:
    """Drop the tables' indexes and keys (and the foreign keys touching them) for a bulk load, then rebuild
    them as the migration made them: one sorted build per index is far cheaper than ten million inserts
    into each. The schema after the load is the migrated one; ``seconds['indexes']`` is the rebuild."""
    wanted = {"t": list(tables)}
    with engine.begin() as conn:
        foreign = conn.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND (conrelid::regclass::text = ANY(:t) OR confrelid::regclass::text = ANY(:t))"
            " AND connamespace = current_schema()::regnamespace"), wanted).all()  # fmt: skip
        keys = conn.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(:t)"
            " AND connamespace = current_schema()::regnamespace"), wanted).all()  # fmt: skip
        named = {name for _, name, _ in keys}
        indexes = [
            (name, definition)
            for name, definition in conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND tablename = ANY(:t)"
                ),
                wanted,
            )  # fmt: skip
            if name not in named
        ]
        for table, name, _ in [*foreign, *keys]:
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    yield
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        for table, name, definition in keys:
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        for _, definition in indexes:
            conn.execute(text(definition))
        for table, name, definition in foreign:
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    seconds["indexes"] = round(time.perf_counter() - started, 1)


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def counted(
    rows: Iterator[tuple[Any, ...]], bar: Progress, task: Any, every: int = 10_000
) -> Iterator[tuple[Any, ...]]:
    for n, row in enumerate(rows, start=1):
        if n % every == 0:
            bar.update(task, completed=n)
        yield row


# --- population ----------------------------------------------------------------------------------


def setup_catalogue(runtime: Runtime) -> None:
    """Agencies, lists, memoranda, the tender officer and the feeds: what a check and an intake need."""
    with runtime.unit(actor="bench") as ctx:
        for agency_id, name, contact in (*CITY_AGENCIES, *EXTRA_AGENCIES):
            if ctx.session.get(Agency, agency_id) is None:
                ctx.session.add(Agency(id=agency_id, name=name, contact=contact))
        ctx.session.flush()
        for definition in LISTS:
            ctx.session.add(list_row(definition))
        ctx.session.flush()
        for memo in MEMORANDA:
            ctx.session.add(memorandum_row(memo))
        username, password, display, agency = TENDER
        create_user(
            ctx.session, username=username, password=password, role=Role.OFFICER, display_name=display, agency_id=agency
        )
        ctx.exchange.register_spec(ENFORCEMENT_OUTCOMES)


def subject_rows(sizes: Sizes) -> Iterator[tuple[Any, ...]]:
    created = NOW.isoformat()
    for i in range(sizes.subjects):
        yield (subject_id(i), "person", person_name(i), "[]", birth_date(i), "cn", id_number(i), None, True, created)


def name_key_rows(sizes: Sizes) -> Iterator[tuple[Any, ...]]:
    """Keys of listed subjects only, as ``candidates.index_subject`` writes them: an unlisted subject
    cannot be a check's hit, so the screening index does not hold it."""
    for j in range(sizes.listings):
        i = listed_subject(j, sizes)
        keys = keys_of(person_name(i))
        for key in (*keys, *sorted(k[:120] for k in birth_keys(keys, [birth_date(i)]))):
            yield (key, subject_id(i))


LISTING_COLUMNS = (
    "id", "list_code", "subject_id", "state", "reasons", "facts", "duration_months", "proposed_at", "proposed_by",
    "notice", "objection", "repair", "corrections", "effective_from", "expires_at", "ended_at", "notice_receipt",
    "appeal_id", "repair_receipt", "origin_instance", "updated_at",
)  # fmt: skip


def template_listing(state: str, start: datetime) -> due.Listing:
    """A listing taken through the domain's own transitions to ``state``, so its JSON is what the service writes."""
    officer = "court-officer"
    listing, _ = due.propose_listing(
        COURT_LIST, listing_id="template", subject_id="template", reasons=("did not pay as ordered",),
        facts=("intermediate-court/enforcement_outcomes#(2026) Min 01 Zhi 1",), proposed_by=officer, now=start,
    )  # fmt: skip
    if state == "proposed":
        return listing
    listing, _ = due.send_notice(listing, COURT_LIST, now=start, sent_by=officer, channel="registered letter")
    listing, _ = due.activate_after_window(listing, now=start + timedelta(days=COURT_LIST.objection_window_days + 1))
    if state == "expired":
        listing, _ = due.expire(listing, now=listing.expires_at or NOW)
    elif state == "repaired":
        reviewer = HumanReviewer("reviewer", "appeals reviewer")
        at = start + timedelta(days=400)  # serious tier: repair only after a year's publication
        listing, _ = due.apply_for_repair(listing, COURT_LIST, performance="paid", applied_by="template", now=at)
        listing, _ = due.decide_repair(
            listing, granted=True, reviewer=reviewer, checks=("payment confirmed",), answer="performed", now=at
        )
    return listing


def template_rows(instance_id: str) -> dict[str, dict[str, Any]]:
    """Column values of one listing per state; the generator varies ids and subjects only."""
    months = COURT_LIST.max_duration_months
    starts = {
        "active": NOW - timedelta(days=90),
        "due": NOW - timedelta(days=31 * months + 5),  # its maximum passed a few days ago
        "expired": NOW - timedelta(days=31 * months + 60),
        "repaired": NOW - timedelta(days=500),
        "proposed": NOW - timedelta(days=2),
    }
    templates = {}
    for state, start in starts.items():
        listing = template_listing(state, start)
        row = new_listing_row(listing, instance_id, NOW)
        write_listing(row, listing, NOW)
        # JSON once per template, not once per generated row.
        values = {c: getattr(row, c) for c in LISTING_COLUMNS}
        templates[state] = {c: json.dumps(v) if isinstance(v, (list, dict)) else v for c, v in values.items()}
    return templates


def listing_rows(sizes: Sizes, instance_id: str) -> Iterator[tuple[Any, ...]]:
    templates = template_rows(instance_id)
    for j in range(sizes.listings):
        values = dict(
            templates[listing_state(j)],
            id=f"{instance_id}-bench-{j:08d}",
            subject_id=subject_id(listed_subject(j, sizes)),
        )
        yield tuple(values.values())


def populate(engine: Engine, runtime: Runtime, sizes: Sizes, console: Console) -> dict[str, float]:
    seconds: dict[str, float] = {}
    loads = (
        ("subjects", "credit_subjects",
         ("id", "kind", "name", "aliases", "birth_date", "country", "identifier", "person_id", "names_indexed",
          "created_at"), subject_rows(sizes), sizes.subjects),
        ("name keys", "credit_name_keys", ("key", "subject_id"), name_key_rows(sizes), None),
        ("listings", "credit_listings", LISTING_COLUMNS, listing_rows(sizes, runtime.settings.instance_id),
         sizes.listings),
    )  # fmt: skip
    with without_indexes(engine, tuple(load[1] for load in loads), seconds), progress_bar(console) as bar:
        for label, table, columns, rows, total in loads:
            task = bar.add_task(f"COPY {label}", total=total)
            started = time.perf_counter()
            copy_rows(engine, table, columns, counted(rows, bar, task), freeze=True)
            seconds[label] = round(time.perf_counter() - started, 1)
    with engine.begin() as conn:  # the keys' posting counts, as ``candidates.write_name_keys`` keeps them
        started = time.perf_counter()
        conn.execute(text("DELETE FROM credit_name_key_counts"))
        conn.execute(
            text(
                "INSERT INTO credit_name_key_counts (key, postings) "
                "SELECT key, count(*) FROM credit_name_keys GROUP BY key"
            )
        )
        seconds["name key counts"] = round(time.perf_counter() - started, 1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.perf_counter()
        # As autovacuum would after a load this size: statistics, and the visibility map index-only scans need.
        tables = [load[1] for load in loads] + ["credit_name_key_counts"]
        conn.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))
        seconds["vacuum_analyze"] = round(time.perf_counter() - started, 1)
    return seconds


# --- 1. intake -----------------------------------------------------------------------------------


def write_outcomes_csv(path: Path, rows: int, sizes: Sizes, batch: str = "") -> Path:
    """Enforcement outcomes about existing subjects; every tenth names a resident who may opt in to the score.
    ``batch`` goes into the case numbers: a kept schema has taken earlier runs' rows, which the exchange
    would (rightly) skip as duplicates."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_number", "subject_kind", "subject_name", "id_number", "birth_date", "person_id",
                         "obligation", "outcome", "decided_on"])  # fmt: skip
        for r in range(rows):
            i = (r * 7) % sizes.subjects
            person = f"R{r // 10 % max(sizes.optins, 1):08d}" if r % 10 == 0 else ""
            writer.writerow([f"(2026) Min 01 Zhi {batch}{r}", "person", person_name(i), id_number(i), birth_date(i),
                             person, f"pay RMB {1000 + r % 90_000}", "performed" if r % 3 == 0 else "unperformed",
                             (NOW.date() - timedelta(days=r % 700)).isoformat()])  # fmt: skip
    return path


def bench_intake(runtime: Runtime, sizes: Sizes, console: Console) -> Result:
    with tempfile.TemporaryDirectory(prefix="cb-credit-bench-") as folder:
        batch = f"{uuid.uuid4().hex[:8]}-"  # fresh rows, also in a kept schema
        path = write_outcomes_csv(Path(folder) / "enforcement_outcomes.csv", sizes.intake_rows, sizes, batch)
        with runtime.unit(actor="bench") as ctx, progress_bar(console) as bar:
            feed = ctx.exchange.feed(ENFORCEMENT_OUTCOMES.agency_id, ENFORCEMENT_OUTCOMES.name)
            task = bar.add_task("intake (ingest_file)", total=sizes.intake_rows)
            started = time.perf_counter()
            report = ctx.exchange.ingest_file(feed, path, progress=lambda done, *_: bar.update(task, completed=done))
            elapsed = time.perf_counter() - started
    assert report.accepted == sizes.intake_rows, report
    rate = sizes.intake_rows / elapsed
    return Result("intake (ingest_file, enforcement outcomes CSV)", f"{sizes.intake_rows:,} rows", rate, "records/s",
                  "≥ 20,000/s", rate >= TARGETS["intake"], {"seconds": round(elapsed, 2)})  # fmt: skip


# --- 2. check API --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_worker(url: str, schema: str, sock: socket.socket, pool: int) -> None:
    """One server process: its own runtime (engine, pool, check recorder) and event loop on the shared socket."""
    import uvicorn

    from civicbrain.api import create_app

    # More connections than the threads that may hold one (the check API's 16, the recorder, the
    # sign-in), so the pool never decides the figure. The check API holds a connection only while its
    # worker thread runs (``credit.api.check``): the earlier stall, connections held by requests
    # waiting for a thread while the threads waited for connections, cannot happen.
    runtime = runtime_on(schema_engine(url, schema, SERVER_APPLICATION, pool_size=pool, max_overflow=10))
    # As deployed: a production instance, so the credit service warms its name analysis at start-up.
    runtime.settings = runtime.settings.model_copy(update={"environment": "production"})
    app = create_app(runtime=runtime)
    # The name analysis and comparison caches hold hundreds of thousands of objects, and a name check
    # allocates thousands more: with CPython's default thresholds (700, 10, 10) the cyclic collector
    # walked those caches every few checks, pausing the process for 100+ ms (name checks at 20/s on
    # a quiet machine: p95 276 -> 32 ms, p99 463 -> 44 ms with the thresholds below).
    gc.set_threshold(50_000, 50, 100)
    # uvicorn's "auto" picks httptools and uvloop when they are installed (uvicorn[standard]).
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def serve(url: str, schema: str, port: int, workers: int = 1) -> None:
    """The server side, run in a subprocess (``--serve``) so the load generator has its own core.

    ``workers`` processes accept on one listening socket (as ``uvicorn --workers`` does): Python runs
    one thread at a time per process, so a second process lets the checks' Python use both cores.
    """
    import multiprocessing
    import signal

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    pool = max(SERVER_POOL // workers, 20)
    if workers == 1:
        _serve_worker(url, schema, sock, pool)
        return
    forked = multiprocessing.get_context("fork")
    children = [forked.Process(target=_serve_worker, args=(url, schema, sock, pool)) for _ in range(workers)]
    for child in children:
        child.start()

    def stop(*_: Any) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    for child in children:
        child.join()


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of one process, from /proc; None when it is gone or not visible."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children, from /proc: robust to the machine's load."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            pids += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return sum(cpu for cpu in map(process_cpu, pids) if cpu is not None)


def database_session_cpu(engine: Engine) -> dict[int, float] | None:
    """CPU seconds of each PostgreSQL backend serving the app server (by its application name), from
    /proc: the database's share of a check, robust to the other sessions on the server. None when the
    database runs elsewhere (its processes are not visible here)."""
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :app"), {"app": SERVER_APPLICATION}
        ).scalars()
        found = {int(pid): process_cpu(int(pid)) for pid in pids}
    if any(cpu is None for cpu in found.values()):
        return None
    return {pid: cpu for pid, cpu in found.items() if cpu is not None}


def database_cpu_between(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    """The backends' CPU spent between two readings; a backend opened in between counts from its start
    (connection start-up included: the server paid for it). A backend closed in between is not seen, so
    the figure can only be low; the pool keeps its connections, so none normally closes."""
    if before is None or after is None:
        return None
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


@contextmanager
def app_server(url: str, schema: str, port: int, workers: int = 1) -> Iterator[tuple[str, int]]:
    """The app under uvicorn in a subprocess; yields its base URL and process id."""
    command = [sys.executable, __file__, "--serve", "--pg-url", url, "--schema", schema, "--port", str(port),
               "--workers", str(workers)]  # fmt: skip
    server = subprocess.Popen(command, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            raise RuntimeError("the app did not start within 120 s")
        yield base, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def check_bodies(sizes: Sizes, count: int, offset: int = 0) -> list[dict[str, Any]]:
    """A quarter each: ID listed, ID unlisted, name+DOB listed, name+DOB unlisted (subjects with no listing);
    request n is an ID check when n % 4 < 2."""
    active = [j for j in range(0, sizes.listings, 1) if listing_state(j) == "active"]
    stride = sizes.subjects // sizes.listings
    bodies = []
    for n in range(count):
        pick = n + offset * 7_777_777  # another offset, other subjects (the warm-up asks about others)
        listed = listed_subject(active[(pick * 7919) % len(active)], sizes)
        unlisted = (pick * 104_729) % sizes.subjects
        if stride > 1 and unlisted % stride == 0:
            unlisted += 1  # listed subjects sit on multiples of the stride
        who = listed if n % 2 == 0 else unlisted
        if n % 4 < 2:
            bodies.append({"context": "public tender", "id_number": id_number(who)})
        else:
            bodies.append({"context": "public tender", "name": person_name(who), "birth_date": birth_date(who)})
    return bodies


IDLE_REUSE_SECONDS = 3.0  # below uvicorn's keep-alive timeout (5 s)


class LoadClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator shares two cores
    with the server and the database, and httpx spent ~1 ms of CPU per request (at 200/s it saturated
    a core and became what was measured). A connection is reused when idle, opened when none is."""

    def __init__(self, base: str, token: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.head = (
            f"POST /api/v1/credit/check HTTP/1.1\r\nHost: {base.removeprefix('http://')}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        )
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def post(self, body: bytes) -> tuple[int, bytes]:
        # The server closes keep-alive connections idle for 5 s: skip those closed, and those about to
        # be (a request written as the server closes would fail with a reset no server caused).
        fresh = time.monotonic() - IDLE_REUSE_SECONDS
        while self.idle:
            reader, writer, since = self.idle.pop()
            if since > fresh and not reader.at_eof():
                break
            writer.close()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            payload = await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        self.idle.append((reader, writer, time.monotonic()))
        return status, payload

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def open_loop(
    base: str, token: str, bodies: list[dict[str, Any]], rate: int, timeout: float = 30.0
) -> tuple[list[tuple[int, float]], list[str]]:
    """Send request n at start + n/rate whatever happened to the earlier ones. Latency runs from the
    moment the request was due (not when the generator got round to it), so queueing anywhere counts.
    Returns (request index, latency in ms) of the answered requests, and the errors."""
    latencies: list[tuple[int, float]] = []
    errors: list[str] = []
    client = LoadClient(base, token)
    payloads = [json.dumps(body).encode() for body in bodies]

    async def one(n: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        try:
            status, answer = await asyncio.wait_for(client.post(payloads[n]), timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError) as error:
            errors.append(type(error).__name__)
            return
        if status != 200:
            errors.append(f"{status}: {answer[:120].decode(errors='replace')}")
            return
        latencies.append((n, (time.perf_counter() - at) * 1000))

    start = time.perf_counter() + 0.5
    try:
        await asyncio.gather(*(one(n, start + n / rate) for n in range(len(bodies))))
    finally:
        client.close()
    return latencies, errors


def latency_notes(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies), "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2), "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies, default=float("nan")), 2),
    }  # fmt: skip


WARM_SECONDS = 15  # the server warms its name analysis at start-up; caches and prepared statements warm here


def bench_check(url: str, schema: str, sizes: Sizes, console: Console, workers: int = 2) -> Result:
    observer = schema_engine(url, schema, pool_size=1, max_overflow=0)
    with app_server(url, schema, free_port(), workers) as (base, server_pid):
        username, password, _, _ = TENDER
        token = httpx.post(f"{base}/api/v1/auth/token", json={"username": username, "password": password}).json()
        token = token["access_token"]
        asyncio.run(open_loop(base, token, check_bodies(sizes, 20 * WARM_SECONDS, offset=1), 20))
        bodies = check_bodies(sizes, sizes.rate * sizes.seconds)
        load = [round(x, 2) for x in os.getloadavg()]
        console.print(f"check: {len(bodies):,} requests at {sizes.rate}/s open-loop (load {load}) …")
        db_before = database_session_cpu(observer)
        cpu_before, started = process_tree_cpu(server_pid), time.perf_counter()
        answered, errors = asyncio.run(open_loop(base, token, bodies, sizes.rate))
        elapsed, server_cpu = time.perf_counter() - started, process_tree_cpu(server_pid) - cpu_before
        db_cpu = database_cpu_between(db_before, database_session_cpu(observer))
    observer.dispose()
    everything = [ms for _, ms in answered]
    p99 = percentile(everything, 99)
    notes: dict[str, Any] = {
        "requests": len(bodies), "errors": len(errors), "error_samples": errors[:5], **latency_notes(everything),
        "by_id": latency_notes([ms for n, ms in answered if n % 4 < 2]),
        "by_name": latency_notes([ms for n, ms in answered if n % 4 >= 2]),
        "achieved_rate": round(len(bodies) / elapsed, 1), "answered_per_s": round(len(answered) / elapsed, 1),
        "server_workers": workers, "server_cpu_ms_per_check": round(server_cpu * 1000 / len(bodies), 2),
        "database_cpu_ms_per_check": None if db_cpu is None else round(db_cpu * 1000 / len(bodies), 2),
        "load_average_before": load,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip
    return Result("check API p99 (POST /api/v1/credit/check)", f"{sizes.rate}/s × {sizes.seconds} s", p99, "ms",
                  "< 25 ms", p99 < TARGETS["check_p99_ms"] and not errors, notes)  # fmt: skip


# --- 2b. CPU per check, in process ----------------------------------------------------------------

CPU_WARM_CHECKS = 200


def _screen_body(runtime: Runtime, body: dict[str, Any]) -> Any:
    from civicbrain.services.credit import checks
    from civicbrain.services.credit.checks import CheckQuery

    username, _, _, agency = TENDER
    with runtime.unit(actor=username) as ctx:
        query = CheckQuery(
            kind=NameKind.PERSON, name=body.get("name"), identifier=body.get("id_number"),
            birth_date=body.get("birth_date"),
        )  # fmt: skip
        return checks.screen_check(ctx, query=query, context=body["context"], asking_agency=agency, asked_by=username)


def _record_screened(runtime: Runtime, screened: Any) -> dict[str, Any]:
    from civicbrain.services.credit import checks

    with runtime.unit(actor="credit-check-recorder") as ctx:  # as the API's recorder writes it
        return checks.record_checks(ctx, [screened])[0].as_dict()


def _ledger_payload(screened: Any) -> dict[str, Any]:
    from civicbrain.services.credit.algorithms import CHECK
    from civicbrain.services.credit.steps import decision_request

    result = screened.result
    request = decision_request(result.event(), CHECK, subject=screened.ledger_subject, label=result.outcome.value)
    return {"subject": request.subject, "inputs": request.inputs, "outcome": request.outcome,
            "explanation": request.explanation}  # fmt: skip


def bench_check_cpu(url: str, schema: str, sizes: Sizes, checks_count: int) -> Result:
    """CPU per check without the web layer or the load generator, robust to a shared machine: the bench's
    check bodies (a quarter each ID listed/unlisted, name+DOB listed/unlisted) screened
    (``checks.screen_check``) and recorded one per unit of work (``checks.record_checks``, the ledger entry
    and the trail row) after ``CPU_WARM_CHECKS`` warm-up checks about other subjects; this process's CPU
    (``time.process_time``) and its PostgreSQL backend's (/proc; one pooled connection). The digest covers
    every answer (receipt left out) and ledger payload: with CB_BENCH_PEPPER fixed, two code versions that
    answer alike give the same digest."""
    import hashlib

    engine = schema_engine(url, schema, pool_size=1, max_overflow=0)
    runtime = runtime_on(engine)
    gc.set_threshold(50_000, 50, 100)  # as the app server sets it (``_serve_worker``)
    for body in check_bodies(sizes, CPU_WARM_CHECKS, offset=1):
        _record_screened(runtime, _screen_body(runtime, body))
    with engine.connect() as conn:
        backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    digest = hashlib.sha256()
    spent = {"id": 0.0, "name": 0.0}
    database_before = process_cpu(backend)
    for n, body in enumerate(check_bodies(sizes, checks_count)):
        started = time.process_time()
        screened = _screen_body(runtime, body)
        answer = _record_screened(runtime, screened)
        spent["id" if n % 4 < 2 else "name"] += time.process_time() - started
        answer.pop("receipt")
        digest.update(json.dumps([answer, _ledger_payload(screened)], sort_keys=True, default=str).encode())
    database_after = process_cpu(backend)
    engine.dispose()
    database = None if database_before is None or database_after is None else database_after - database_before
    per_kind = checks_count / 2  # n % 4 < 2: ID checks, half of them
    total_ms = (spent["id"] + spent["name"]) * 1000 / checks_count
    notes: dict[str, Any] = {
        "checks": checks_count, "warm_up_checks": CPU_WARM_CHECKS,
        "id_ms": round(spent["id"] * 1000 / per_kind, 3), "name_ms": round(spent["name"] * 1000 / per_kind, 3),
        "database_cpu_ms_per_check": None if database is None else round(database * 1000 / checks_count, 3),
        "answers_digest": digest.hexdigest()[:16], "load_average": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip
    return Result("check CPU in process (screen + record)", f"{checks_count} checks", total_ms, "ms CPU/check",
                  "-", True, notes)  # fmt: skip


# --- 3. expiry -----------------------------------------------------------------------------------


def bench_expiry(runtime: Runtime, sizes: Sizes) -> Result:
    from civicbrain.services.credit.service import expire_due

    started = time.perf_counter()
    with runtime.unit(actor="bench") as ctx:
        counts = expire_due(ctx)
    elapsed = time.perf_counter() - started
    expected = sum(1 for j in range(sizes.listings) if listing_state(j) == "due")
    assert counts["expired"] == expected, (counts, expected)
    return Result("daily expiry job (expire_due)", f"{sizes.listings:,} listings", elapsed, "s", "< 300 s",
                  elapsed < TARGETS["expiry_s"], {"counts": counts})  # fmt: skip


# --- 4. scoring ----------------------------------------------------------------------------------


def add_optins(engine: Engine, sizes: Sizes, console: Console) -> None:
    regions, bands, sexes = ("urban", "rural"), ("18-34", "35-59", "60+"), ("female", "male")
    with progress_bar(console) as bar:
        task = bar.add_task("COPY residents", total=sizes.optins)
        people = (
            (f"R{n:08d}", person_name(n), 1950 + n % 55, regions[n % 2], bands[n % 3], sexes[n % 2], f"ref-R{n:08d}")
            for n in range(sizes.optins)
        )
        copy_rows(engine, "core_people", ("id", "name", "birth_year", "region", "age_band", "sex", "ledger_ref"),
                  counted(people, bar, task))  # fmt: skip
        task = bar.add_task("COPY opt-ins", total=sizes.optins)
        optins = ((f"R{n:08d}", NOW.isoformat(), "[]", "[]", "[]") for n in range(sizes.optins))
        copy_rows(engine, "credit_score_optins", ("person_id", "opted_in_at", "factors", "reason_codes",
                  "improvements"), counted(optins, bar, task))  # fmt: skip


def bench_scoring(runtime: Runtime, engine: Engine, sizes: Sizes, console: Console) -> Result:
    from civicbrain.services.credit.scores import rescore_all

    add_optins(engine, sizes, console)
    with progress_bar(console) as bar:
        task = bar.add_task("scoring (rescore_all, core.batch processes)", total=-(-sizes.optins // sizes.chunk))
        started = time.perf_counter()
        with runtime.unit(actor="bench") as ctx:
            scored = rescore_all(ctx, chunk=sizes.chunk, backend="processes",
                                 progress=lambda done, *_: bar.update(task, completed=done))  # fmt: skip
        elapsed = time.perf_counter() - started
    assert scored == sizes.optins, scored
    with engine.connect() as conn:
        unscored = conn.execute(text("SELECT count(*) FROM credit_score_optins WHERE receipt IS NULL")).scalar_one()
        banded = conn.execute(text("SELECT count(*) FROM credit_score_optins WHERE band IS NOT NULL")).scalar_one()
        entries = conn.execute(text("SELECT count(*) FROM core_ledger_entries WHERE algorithm = 'credit.city_score'"))
        entries = entries.scalar_one()
    assert unscored == 0, unscored
    return Result("scoring opted-in residents (rescore_all via core.batch)", f"{sizes.optins:,} residents", elapsed,
                  "s", "< 600 s", elapsed < TARGETS["scoring_s"], {"jobs": -(-sizes.optins // sizes.chunk),
                  "chunk": sizes.chunk, "with_band": banded, "ledger_entries": entries,
                  "per_second": round(sizes.optins / elapsed)})  # fmt: skip


# --- protocol and output -------------------------------------------------------------------------


def render(results: list[Result], proto: dict[str, Any], console: Console) -> None:
    s = proto["sizes"]
    console.print(
        f"[bold]credit at scale[/bold] — {proto['database']}; {s['subjects']:,} subjects, {s['listings']:,} listings;"
        f" {proto['cpu']}, {proto['cpus']} CPUs, {proto['memory_gib']} GiB; load {proto['load_average_at_start']}"
        f" at start, {proto['load_average_at_end']} at end; nice {proto['niceness']}"
    )
    table = Table(title="Credit service at scale (PostgreSQL)")
    for column in ("measurement", "size", "figure", "unit", "target", "met", "notes"):
        table.add_column(column, justify="right" if column == "figure" else "left")
    for r in results:
        met = "[green]yes[/green]" if r.met else "[red]no[/red]"
        notes = ", ".join(f"{k} {v}" for k, v in r.notes.items() if k != "error_samples")
        table.add_row(r.name, r.size, f"{r.figure:,.2f}", r.unit, r.target, met, notes)
    console.print(table)


def sizes_from(args: argparse.Namespace) -> Sizes:
    base = (
        Sizes(200_000, 40_000, 100_000, 200, 10, 100_000, 5_000)
        if args.quick
        else Sizes(10_000_000, 2_000_000, 1_000_000, 200, 30, 1_000_000, 10_000)
    )
    chosen = {k: getattr(args, k) for k in asdict(base) if getattr(args, k, None)}
    return Sizes(**{**asdict(base), **chosen})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="civicbrain credit service at scale on PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="200k subjects, 40k listings, 100k intake rows, 10 s")
    parser.add_argument(
        "--only", choices=("load", "intake", "check", "check-cpu", "expiry", "scoring"), help="run one part only"
    )
    parser.add_argument("--cpu-checks", type=int, default=400, help="checks measured by the check-cpu part")
    parser.add_argument("--pg-url", default=os.environ.get("CIVICBRAIN_TEST_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--subjects", type=int)
    parser.add_argument("--listings", type=int)
    parser.add_argument("--intake-rows", type=int)
    parser.add_argument("--rate", type=int, help="check requests per second (default 200)")
    parser.add_argument("--seconds", type=int, help="length of the check load (default 30; quick 10)")
    parser.add_argument("--optins", type=int, help="opted-in residents to score (default 1,000,000)")
    parser.add_argument("--chunk", type=int, help="residents per batch job")
    parser.add_argument("--workers", type=int, default=2, help="check API server processes (default 2)")
    parser.add_argument("--schema-name", help="use (or create and populate) this schema instead of a private one")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards (to measure again)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the app server subprocess
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def protocol(sizes: Sizes, engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        version = conn.execute(text("show server_version")).scalar_one()
    return {
        "database": f"PostgreSQL {version}",
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "niceness": os.nice(0),
        "python": platform.python_version(),
        "sizes": asdict(sizes),
        "clock": NOW.isoformat(),
        "listing_states": "50% active (0.2% of all listings due to expire), 20% expired, 15% repaired, 15% proposed",
    }


def run_parts(args: argparse.Namespace, sizes: Sizes, console: Console) -> tuple[list[Result], dict[str, Any]]:
    results: list[Result] = []
    with private_schema(args.pg_url, args.schema_name, keep=args.keep) as (schema, engine, existed):
        proto = protocol(sizes, engine)
        runtime = runtime_on(engine)
        if existed:  # populated by an earlier run with --keep (same sizes): measured again as it is now
            proto["reused_schema"] = schema
        else:
            setup_catalogue(runtime)
            proto["load_seconds"] = populate(engine, runtime, sizes, console)
            console.print(f"loaded: {proto['load_seconds']}")
        parts = ([] if args.only == "load" else [args.only]) if args.only else ["intake", "check", "expiry", "scoring"]
        for part in parts:
            if part == "intake":
                results.append(bench_intake(runtime, sizes, console))
            elif part == "check":
                results.append(bench_check(args.pg_url, schema, sizes, console, args.workers))
            elif part == "check-cpu":
                results.append(bench_check_cpu(args.pg_url, schema, sizes, args.cpu_checks))
            elif part == "expiry":
                results.append(bench_expiry(runtime, sizes))
            else:
                results.append(bench_scoring(runtime, engine, sizes, console))
            console.print(f"{part}: {results[-1].figure:,.2f} {results[-1].unit}")
    proto["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results, proto


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args.pg_url, args.schema, args.port, args.workers)
        return 0
    # The app server subprocess must sign tokens and pseudonymise with the same keys as this process.
    os.environ.setdefault("CB_BENCH_SECRET", secrets.token_hex(32))
    os.environ.setdefault("CB_BENCH_PEPPER", secrets.token_hex(32))
    sizes = sizes_from(args)
    console = Console(width=None if sys.stdout.isatty() else 180)
    results, proto = run_parts(args, sizes, console)
    render(results, proto, console)
    payload = {"protocol": proto, "quick": args.quick, "only": args.only, "results": [asdict(r) for r in results]}
    path = write_results("credit_scale_bench", payload)
    console.print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
