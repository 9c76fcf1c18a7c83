"""How an intake writes its chunks: one behind the reading thread, in a writer thread, as COPY text.

The exchange (``exchange.Exchange._ingest``) reads and validates a file's records in chunks. Writing a
chunk to PostgreSQL is mostly waiting on the server (the insert into the records table's indexes, the
commit's disk write), so a committing intake there hands each chunk to a ``ChunkWriter`` that writes it
in a second thread while the caller reads and validates the next: the database's work overlaps Python's
instead of adding to it. The chunk's rows go to COPY as one text built in the reading thread
(``copy_text``). SQLite writes in process, under the interpreter lock, and gains nothing: its chunks are
written in the reading thread (``ChunkWriter(overlap=False)``).

Measured on 300k enforcement-outcome records into a 200k-subject schema (2 vCPU): 15.0-16.6k records/s
writing in the reading thread, 17.1-17.3k in a writer thread, 23.3-25.5k with the COPY text prepared
beforehand and the finer thread switching below; 1M records into the 10M-subject schema of
bench/credit_scale_bench.py, 17.5k before and 26.6-28.5k after.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json


def json_text(value: Any) -> str:
    """A validated record as compact UTF-8 JSON text, by pydantic's serializer: the same values as
    ``json.dumps`` gives (a number may be spelled differently: 1e-7 for 1e-07) in a fifth of the time,
    which was ~12% of a PostgreSQL intake's CPU."""
    return to_json(value).decode()


class FinerThreadSwitching:
    """While any overlapped intake runs, the interpreter switches threads every millisecond instead of
    every 5 (``sys.setswitchinterval``). The writer thread waits on the database many times a chunk and,
    at each answer, needs the interpreter lock back from the reading thread, which holds it for up to
    the switch interval: at 5 ms those hand-overs made the writer the bottleneck (300k records on
    PostgreSQL: 17.3k records/s at 5 ms, 26.6k at 0.5 ms, 26.0k at 1 ms). The setting is the process's:
    the first intake in saves and lowers it, the last one out puts it back."""

    INTERVAL_S = 0.001

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._saved = sys.getswitchinterval()

    def enter(self) -> None:
        with self._lock:
            if self._active == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, self.INTERVAL_S))
            self._active += 1

    def exit(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                sys.setswitchinterval(self._saved)


FINER_SWITCHING = FinerThreadSwitching()


@dataclass(frozen=True)
class PreparedRecords:
    rows: list[dict[str, Any]]  # one per (feed, key): keys repeated inside a chunk dropped
    copy_text: str | None  # PostgreSQL: the same rows as COPY text


COPY_NULL = "\\N"


def copy_escaped(value: str) -> str:
    """A text value as COPY's text format spells it (four chained replaces: ~10x faster than str.translate)."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_text(rows: list[dict[str, Any]]) -> str:
    """Records as the text COPY reads (tab-separated, ``\\N`` for NULL, backslash escapes), built with string
    methods: psycopg's row-by-row writer, run in the writer thread, kept it competing for the interpreter
    lock; the csv module's quoting of JSON (every quote doubled) cost 8 us a record. JSON text holds no raw
    tab, newline or carriage return (JSON escapes them), so only its backslashes need doubling."""
    lines = []
    stamps: dict[Any, str] = {}  # one intake's records share their time received: format it once
    for r in rows:
        stamp = stamps.get(r["received_at"])
        if stamp is None:
            stamp = stamps[r["received_at"]] = r["received_at"].isoformat()
        fields = (
            str(r["feed_id"]),
            copy_escaped(r["source_key"]),
            COPY_NULL if r["subject_id"] is None else copy_escaped(r["subject_id"]),
            json_text(r["data"]).replace("\\", "\\\\"),
            COPY_NULL if r["upload_id"] is None else str(r["upload_id"]),
            stamp,
        )
        lines.append("\t".join(fields))
    lines.append("")  # a newline after the last record too
    return "\n".join(lines)


class ChunkWriter:
    """Runs an intake's chunk writes one at a time, each (with ``overlap``) in a background thread while
    the caller prepares the next chunk. ``submit`` first waits for the chunk before, so at most one write
    is in flight and they happen in order; an error in a write surfaces at the next ``submit`` or at
    ``finish``, before anything else is written (the failed chunk was not committed: a re-run resumes
    there). Both return what the last finished write returned (None if none finished)."""

    def __init__(self, *, overlap: bool) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-writer") if overlap else None
        self._in_flight: Future[Any] | None = None
        if self._pool is not None:
            FINER_SWITCHING.enter()

    def submit(self, write: Callable[..., Any], *args: Any) -> Any:
        done = self._wait()
        if self._pool is None:
            return write(*args)
        self._in_flight = self._pool.submit(write, *args)
        return done

    def finish(self) -> Any:
        try:
            return self._wait()
        finally:
            self._stop()

    def abandon(self) -> None:
        """After the caller failed: wait for the write in flight (its own error, if any, is dropped: the
        caller's is the one raised) and stop the thread."""
        try:
            self._wait()
        except Exception:
            pass
        finally:
            self._stop()

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
            FINER_SWITCHING.exit()

    def _wait(self) -> Any:
        if self._in_flight is None:
            return None
        in_flight, self._in_flight = self._in_flight, None
        return in_flight.result()
