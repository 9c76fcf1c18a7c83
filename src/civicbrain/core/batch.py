"""One way to run bulk jobs.

A bulk job is a plain top-level function applied to a list of picklable items. The same job code runs

* **in-process** (``backend="inline"``): sequentially, in this interpreter — simplest to debug;
* **in local processes** (``backend="processes"``): a process pool on this machine. With
  ``isolate=True`` every item gets a fresh process, which simulators with process-global state
  (libsumo allows one simulation per process) need; such a process that dies without an answer (a
  simulator's segfault) fails the whole job, or only its own item when ``on_crash`` is given;
* **on a Dask distributed cluster** (``backend="dask"``), chosen automatically when
  ``CIVICBRAIN_DASK_ADDRESS`` is set (or when a ``dask_address`` / ``Client`` is passed in).

Results come back in the order of the items, whatever order they finish in. Progress is reported
through a callback so that the CLI can draw a rich progress bar and the portal a job status, without
this module knowing about either.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)

Backend = Literal["inline", "processes", "dask"]
ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each item finishes."""


@dataclass(frozen=True)
class BatchPlan:
    """Where a job will run; returned by :func:`plan` so callers can show it before starting."""

    backend: Backend
    workers: int
    dask_address: str | None = None


def plan(
    *,
    backend: Backend | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
) -> BatchPlan:
    """Decide where a job runs: an explicit backend wins, then a Dask address, then in-process."""
    address = dask_address or os.environ.get("CIVICBRAIN_DASK_ADDRESS") or None
    if backend is None:
        backend = "dask" if address else "inline"
    if backend == "dask" and not address:
        raise ValueError("backend 'dask' needs a scheduler address (CIVICBRAIN_DASK_ADDRESS)")
    n = workers if workers is not None else max(1, os.cpu_count() or 1)
    if n < 1:
        raise ValueError("workers must be at least 1")
    return BatchPlan(backend=backend, workers=n, dask_address=address if backend == "dask" else None)


def map_jobs(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    backend: Backend | None = None,
    workers: int | None = None,
    isolate: bool = False,
    on_crash: Callable[[T], R] | None = None,
    dask_address: str | None = None,
    dask_client: Any = None,
    progress: ProgressCallback | None = None,
) -> list[R]:
    """Apply ``func`` to every item and return the results in item order.

    ``func`` must be importable by name (a module-level function) for the process and Dask
    backends. An exception in any item is re-raised here after the other items are cancelled,
    so a failed bulk job never reports partial results as complete. The one exception to that:
    with ``isolate=True`` and ``on_crash``, an item whose process dies without raising anything
    (killed, or a native library's segfault) gets ``on_crash(item)`` as its result and the other
    items go on; the caller's result says which runs are missing, rather than losing them all.
    """
    if on_crash is not None and not (isolate and backend == "processes"):
        raise ValueError("on_crash needs backend='processes' with isolate=True: only there is a crash one item's")
    items = list(items)
    total = len(items)
    if dask_client is not None:
        return _map_dask(func, items, client=dask_client, progress=progress)
    chosen = plan(backend=backend, workers=workers, dask_address=dask_address)
    if chosen.backend == "inline":
        results: list[R] = []
        for i, item in enumerate(items, start=1):
            results.append(func(item))
            if progress:
                progress(i, total)
        return results
    if chosen.backend == "processes" and isolate:
        return _map_isolated(func, items, workers=chosen.workers, on_crash=on_crash, progress=progress)
    if chosen.backend == "processes":
        return _map_processes(func, items, workers=chosen.workers, progress=progress)
    from distributed import Client  # imported lazily: most runs never need Dask

    with Client(chosen.dask_address) as client:  # type: ignore[no-untyped-call]
        return _map_dask(func, items, client=client, progress=progress)


def _map_processes(
    func: Callable[[T], R],
    items: list[T],
    *,
    workers: int,
    progress: ProgressCallback | None,
) -> list[R]:
    # "spawn" gives each worker a clean interpreter: no inherited simulator state or open
    # database connections from the parent, and the same behaviour on every platform.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, max(1, len(items))), mp_context=context) as pool:
        return _collect({pool.submit(func, item): i for i, item in enumerate(items)}, len(items), progress)


def _map_isolated(
    func: Callable[[T], R],
    items: list[T],
    *,
    workers: int,
    on_crash: Callable[[T], R] | None,
    progress: ProgressCallback | None,
) -> list[R]:
    """Each item in a single-use pool of one fresh process, ``workers`` of them at a time (one thread
    each waits for its process): a process that dies breaks its own pool, not the other items'."""
    context = multiprocessing.get_context("spawn")

    def run_alone(item: T) -> R:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            try:
                return pool.submit(func, item).result()
            except BrokenProcessPool as crash:
                if on_crash is None:
                    raise
                # said out loud: a process that cannot even start (a script without the
                # ``if __name__ == "__main__"`` guard under spawn) dies the same way
                log.warning("a job's process died without an answer (%s); on_crash gives its result", crash)
                return on_crash(item)

    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(items)))) as threads:
        return _collect({threads.submit(run_alone, item): i for i, item in enumerate(items)}, len(items), progress)


def _collect(futures: dict[Future[R], int], total: int, progress: ProgressCallback | None) -> list[R]:
    """Results in item order as they finish; the first failure cancels what has not started."""
    results: list[Any] = [None] * total
    done = 0
    try:
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            done += 1
            if progress:
                progress(done, total)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    return results


def _map_dask(
    func: Callable[[T], R],
    items: list[T],
    *,
    client: Any,
    progress: ProgressCallback | None,
) -> list[R]:
    from distributed import as_completed as dask_as_completed

    # pure=False: the same item submitted twice (e.g. a re-run) must run again, not be cached.
    futures = client.map(func, items, pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(items)
    done = 0
    for future in dask_as_completed(futures):  # type: ignore[no-untyped-call]
        results[index[future.key]] = future.result()
        done += 1
        if progress:
            progress(done, len(items))
    return results
