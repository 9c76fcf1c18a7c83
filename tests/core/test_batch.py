"""core.batch: the same job in-process, in local processes, and on a Dask LocalCluster."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from civicbrain.core.batch import map_jobs, plan


def square(x: int) -> int:
    return x * x


def explode(x: int) -> int:
    if x == 3:
        raise ValueError("item 3 is bad")
    return x


def test_inline_keeps_order_and_reports_progress():
    seen = []
    assert map_jobs(square, range(5), progress=lambda d, t: seen.append((d, t))) == [0, 1, 4, 9, 16]
    assert seen[-1] == (5, 5)


def die_on_three(x: int) -> int:
    if x == 3:
        os._exit(1)  # as a simulator's segfault does: no exception, no answer, the process is gone
    return x


def test_processes_isolated_per_item():
    assert map_jobs(square, list(range(6)), backend="processes", workers=2, isolate=True) == [0, 1, 4, 9, 16, 25]


def test_an_isolated_item_whose_process_dies_costs_only_that_item_when_the_caller_says_so(caplog):
    results = map_jobs(
        die_on_three, range(6), backend="processes", workers=2, isolate=True, on_crash=lambda x: f"crashed {x}"
    )
    assert results == [0, 1, 2, "crashed 3", 4, 5]
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # the crash is absorbed, not hidden


def test_a_dying_process_fails_the_job_without_a_crash_handler():
    with pytest.raises(BrokenProcessPool):
        map_jobs(die_on_three, range(6), backend="processes", workers=2, isolate=True)


def test_a_crash_handler_needs_isolated_processes():
    with pytest.raises(ValueError, match="isolate=True"):
        map_jobs(square, range(3), backend="processes", on_crash=lambda x: None)


def test_a_failing_item_fails_the_job():
    with pytest.raises(ValueError, match="item 3"):
        map_jobs(explode, range(5), backend="processes", workers=2)


def test_dask_local_cluster_runs_the_same_job(monkeypatch):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        monkeypatch.setenv("CIVICBRAIN_DASK_ADDRESS", cluster.scheduler_address)
        assert plan().backend == "dask"
        done = []
        assert map_jobs(square, range(8), progress=lambda d, t: done.append(d)) == [x * x for x in range(8)]
        assert sorted(done) == list(range(1, 9))


def test_dask_without_an_address_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("CIVICBRAIN_DASK_ADDRESS", raising=False)
    with pytest.raises(ValueError, match="CIVICBRAIN_DASK_ADDRESS"):
        plan(backend="dask")
