"""Background jobs started from the portal or the API, with progress people can watch.

A job is a row in ``core_jobs`` (kind, parameters, status, done/total, result or error) and a
function run on a small thread pool in the serving process. The function receives the runtime, its
parameters and a ``progress(done, total)`` callback; heavy work inside it should go through
:mod:`civicbrain.core.batch` (processes or Dask), so the web process only waits and reports.

Jobs that were running when the process stopped are marked ``interrupted`` at the next start, so a
status page never shows a job as running forever.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, update

from civicbrain.core.errors import CivicError, NotFound
from civicbrain.core.models import Job

if TYPE_CHECKING:
    from civicbrain.core.context import Platform, Runtime

log = logging.getLogger("civicbrain.jobs")

JobFunction = Callable[["Runtime", dict[str, Any], Callable[[int, int], None]], dict[str, Any]]


class JobRunner:
    """Runs job functions in the background and keeps their rows current."""

    def __init__(self, runtime: Runtime, *, workers: int = 1) -> None:
        self.runtime = runtime
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="civicbrain-job")
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def recover(self) -> int:
        """Mark jobs left running by a previous process as interrupted. Returns how many."""
        with self.runtime.unit() as ctx:
            result = ctx.session.execute(
                update(Job)
                .where(Job.status.in_(("queued", "running")))
                .values(status="interrupted", error="the server stopped while this job ran; start it again")
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def submit(
        self,
        kind: str,
        params: dict[str, Any],
        func: JobFunction,
        *,
        created_by: str | None = None,
        ctx: Platform | None = None,
    ) -> str:
        """Queue a job and return its id.

        Given the caller's unit of work (``ctx``), the job row is written in it and the job starts
        only once that unit commits: a request that fails starts nothing, and the job never looks
        for a row its request has not committed yet. (On SQLite a second unit opened inside the
        request would also wait for the request's write lock.)
        """
        job_id = str(uuid.uuid4())
        if ctx is None:
            with self.runtime.unit() as own:
                own.session.add(self._row(job_id, kind, params, created_by, own.now()))
            self._start(job_id, params, func)
            return job_id
        ctx.session.add(self._row(job_id, kind, params, created_by, ctx.now()))
        event.listen(ctx.session, "after_commit", lambda _session: self._start(job_id, params, func), once=True)
        return job_id

    @staticmethod
    def _row(job_id: str, kind: str, params: dict[str, Any], created_by: str | None, now: datetime) -> Job:
        return Job(
            id=job_id, kind=kind, status="queued", done=0, total=0, params=params, created_by=created_by, created_at=now
        )

    def _start(self, job_id: str, params: dict[str, Any], func: JobFunction) -> None:
        future = self._pool.submit(self._run, job_id, params, func)
        with self._lock:
            self._futures[job_id] = future

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until a job submitted by this runner ends (tests and the CLI use it)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str, params: dict[str, Any], func: JobFunction) -> None:
        self._set(job_id, status="running")

        def progress(done: int, total: int) -> None:
            self._set(job_id, done=done, total=total)

        try:
            result = func(self.runtime, params, progress)
        except CivicError as exc:
            self._finish(job_id, status="failed", error=exc.message)
        except Exception:  # a job must never die silently: record it, log the trace
            log.exception("job %s failed", job_id)
            self._finish(job_id, status="failed", error="the job failed on our side; the log has the details")
        else:
            self._finish(job_id, status="done", result=result)

    def _set(self, job_id: str, **values: Any) -> None:
        with self.runtime.unit() as ctx:
            ctx.session.execute(update(Job).where(Job.id == job_id).values(**values))

    def _finish(self, job_id: str, **values: Any) -> None:
        with self.runtime.unit() as ctx:
            ctx.session.execute(update(Job).where(Job.id == job_id).values(finished_at=ctx.now(), **values))


def get_job(runtime: Runtime, job_id: str) -> dict[str, Any]:
    with runtime.unit() as ctx:
        job = ctx.session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job '{job_id}'", field="job_id")
        return {
            "id": job.id,
            "kind": job.kind,
            "status": job.status,
            "done": job.done,
            "total": job.total,
            "params": job.params,
            "result": job.result,
            "error": job.error,
            "created_by": job.created_by,
        }
