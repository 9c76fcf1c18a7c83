"""Background jobs: progress, results, failures, and recovery after a restart."""

from __future__ import annotations

from civicbrain.core.errors import ValidationFailed
from civicbrain.core.jobs import JobRunner, get_job


def count_to(_runtime, params, progress):
    for i in range(1, params["n"] + 1):
        progress(i, params["n"])
    return {"counted": params["n"]}


def refuse(_runtime, _params, _progress):
    raise ValidationFailed("n must be positive", field="n")


def test_job_reports_progress_and_result(runtime):
    job_id = runtime.jobs.submit("count", {"n": 3}, count_to, created_by="officer")
    runtime.jobs.wait(job_id, timeout=30)
    job = get_job(runtime, job_id)
    assert (job["status"], job["done"], job["total"], job["result"]) == ("done", 3, 3, {"counted": 3})


def test_failed_job_keeps_the_reason(runtime):
    job_id = runtime.jobs.submit("refuse", {}, refuse)
    runtime.jobs.wait(job_id, timeout=30)
    job = get_job(runtime, job_id)
    assert job["status"] == "failed" and job["error"] == "n must be positive"


def test_jobs_left_running_are_marked_interrupted_at_start(runtime):
    from civicbrain.core.models import Job

    with runtime.unit() as ctx:
        ctx.session.add(Job(id="0" * 36, kind="x", status="running", done=1, total=9, params={}, created_at=ctx.now()))
    assert JobRunner(runtime).recover() == 1
    assert get_job(runtime, "0" * 36)["status"] == "interrupted"


def test_a_job_submitted_inside_a_unit_starts_only_when_it_commits(runtime):
    with runtime.unit() as ctx:
        job_id = runtime.jobs.submit("count", {"n": 2}, count_to, ctx=ctx)
        assert runtime.jobs._futures.get(job_id) is None  # not started before the commit
    runtime.jobs.wait(job_id, timeout=30)
    assert get_job(runtime, job_id)["status"] == "done"


def test_a_job_of_a_failed_unit_never_starts(runtime):
    import pytest

    with pytest.raises(RuntimeError), runtime.unit() as ctx:
        job_id = runtime.jobs.submit("count", {"n": 2}, count_to, ctx=ctx)
        raise RuntimeError("the request failed")
    assert runtime.jobs._futures.get(job_id) is None
    with pytest.raises(Exception, match="no job"):
        get_job(runtime, job_id)
