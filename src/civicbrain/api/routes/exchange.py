"""Agency feeds: register, send records or files, read and fix the quarantine."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from fastapi import APIRouter, Body, File, Path, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from civicbrain.api.views import feed_view, quarantine_view
from civicbrain.core.errors import ValidationFailed
from civicbrain.core.exchange import FeedSchema, read_upload_bytes
from civicbrain.core.identity import Principal, Role
from civicbrain.core.models import Feed
from civicbrain.web.deps import Ctx, CurrentUser

router = APIRouter(prefix="/api/v1/feeds", tags=["exchange"])
FeedId = Path(ge=1, le=2**31 - 1)
MAX_UPLOAD = 200 * 1024 * 1024
MAX_POSTED = 10_000


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    purpose: str = Field(min_length=1, max_length=32)
    description: str = Field("", max_length=2000)
    schema_: FeedSchema = Field(alias="schema")


def _can_read(principal: Principal, feed: Feed) -> None:
    if principal.role in (Role.ADMIN, Role.AUDITOR):
        return
    principal.require_agency(feed.agency_id)


@router.get("", summary="Feeds I can see: my agency's (officers) or all (auditors, admins)")
def list_feeds(ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require(Role.OFFICER, Role.AUDITOR, Role.ADMIN)
    agency = principal.agency_id if principal.role == Role.OFFICER else None
    return {"feeds": [feed_view(f) for f in ctx.exchange.feeds(agency)]}


@router.post("", status_code=201, summary="Register a feed with its declared schema")
def register_feed(body: FeedIn, ctx: Ctx, principal: CurrentUser) -> dict[str, Any]:
    principal.require_agency(body.agency)
    feed = ctx.exchange.register_feed(
        agency_id=body.agency, name=body.name, purpose=body.purpose, schema=body.schema_, description=body.description
    )
    return feed_view(feed)


@router.get("/{feed_id}", summary="One feed, its uploads and record count")
def get_feed(ctx: Ctx, principal: CurrentUser, feed_id: int = FeedId) -> dict[str, Any]:
    feed = ctx.exchange.feed_by_id(feed_id)
    _can_read(principal, feed)
    body = feed_view(feed)
    body["uploads"] = [
        {
            "id": u.id,
            "filename": u.filename,
            "status": u.status,
            "rows_seen": u.rows_seen,
            "accepted": u.accepted,
            "duplicates": u.duplicates,
            "quarantined": u.quarantined,
        }
        for u in ctx.exchange.uploads(feed)
    ]
    return body


@router.post("/{feed_id}/records", summary="Send records as JSON (at most 10,000 per request)")
def post_records(
    ctx: Ctx,
    principal: CurrentUser,
    feed_id: int = FeedId,
    records: list[dict[str, Any]] = Body(..., max_length=MAX_POSTED),
) -> dict[str, Any]:
    feed = ctx.exchange.feed_by_id(feed_id)
    principal.require_agency(feed.agency_id)
    return ctx.exchange.post_records(feed, records).as_dict()


@router.post("/{feed_id}/files", summary="Upload a CSV, JSON or JSON-lines file")
async def upload_file(
    ctx: Ctx, principal: CurrentUser, feed_id: int = FeedId, file: UploadFile = File(...)
) -> dict[str, Any]:
    feed = ctx.exchange.feed_by_id(feed_id)
    principal.require_agency(feed.agency_id)
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise ValidationFailed("files are limited to 200 MB; use the CLI for larger ones", field="file")
    name = file.filename or "upload.csv"
    if FsPath(name).suffix.lower() not in (".csv", ".json", ".jsonl", ".ndjson"):
        raise ValidationFailed("files are .csv, .json or .jsonl", field="file")
    path = read_upload_bytes(name, content, FsPath("var/uploads") / str(feed.id))
    return ctx.exchange.ingest_file(feed, path, commit=False).as_dict()


@router.get("/{feed_id}/quarantine", summary="Records that failed validation, with the reasons")
def quarantine(ctx: Ctx, principal: CurrentUser, feed_id: int = FeedId) -> dict[str, Any]:
    feed = ctx.exchange.feed_by_id(feed_id)
    _can_read(principal, feed)
    return {"records": [quarantine_view(q) for q in ctx.exchange.quarantine(feed)]}


@router.post("/quarantine/{record_id}/resubmit", summary="Re-submit a corrected quarantined record")
def resubmit(
    ctx: Ctx,
    principal: CurrentUser,
    record_id: int = Path(ge=1, le=2**31 - 1),
    corrected: dict[str, Any] = Body(...),
) -> dict[str, Any]:
    row = ctx.exchange.quarantined(record_id)
    feed = ctx.exchange.feed_by_id(row.feed_id)
    principal.require_agency(feed.agency_id)
    return ctx.exchange.resubmit(record_id, corrected).as_dict()
