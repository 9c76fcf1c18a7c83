"""Progress of a background job that a service started, polled by HTMX while it runs."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from civicbrain.core.errors import NotFound
from civicbrain.core.identity import Principal, Role
from civicbrain.core.models import Job
from civicbrain.web.pages import Ctx, SignedIn, is_htmx, render

router = APIRouter()
POLL_SECONDS = 1
# Poll only while the job can still move; anything else (done, failed, interrupted by a restart) is final.
ACTIVE = ("queued", "running")


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_status(
    request: Request, ctx: Ctx, principal: SignedIn, job_id: str = Path(min_length=1, max_length=36)
) -> HTMLResponse:
    job = ctx.session.get(Job, job_id)
    if job is None or not may_see(principal, job):
        raise NotFound(f"no job '{job_id}'", field="job_id")
    context = {
        "job": job,
        "finished": job.status not in ACTIVE,
        "percent": progress_percent(job),
        "poll_seconds": POLL_SECONDS,
        "principal": principal,
    }
    # HTMX polls ask for the fragment only; a plain visit (or no JavaScript) gets the whole page.
    template = "_job_status.html" if is_htmx(request) else "job.html"
    return render(request, template, context)


def may_see(principal: Principal, job: Job) -> bool:
    """Citizens see the jobs they started; staff see every job (jobs hold no personal payloads)."""
    return principal.role != Role.CITIZEN or job.created_by == principal.username


def progress_percent(job: Job) -> int | None:
    if job.status == "done":
        return 100
    if not job.total:
        return None
    return max(0, min(100, round(100 * job.done / job.total)))
