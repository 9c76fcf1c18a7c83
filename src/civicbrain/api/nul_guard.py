"""Requests whose text holds a NUL character are refused at the door, naming the field that holds it.

PostgreSQL cannot store U+0000 in a text column ("text fields cannot contain NUL (0x00) bytes"), so a
NUL in any text a request carries (a JSON string, a form field, a query parameter, the path) would get
through validation, through the use case, and fail at the commit with a server error. No field of this
platform carries binary data as text (documents come base64-encoded, files as uploads), so the character
is refused before any work is done: 422 with the field, the same on SQLite and on PostgreSQL.

Only JSON, URL-encoded and multipart form bodies are read (and then handed on unchanged). A body is
searched for the escape (or, in a multipart body, the byte) first, so most requests are not parsed twice;
a multipart body holding the byte is parsed to look at its text fields only, as files are binary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicbrain.api.errors import error_body
from civicbrain.core.db import NUL, NUL_RULE

JSON_ESCAPE = b"\\u0000"  # how JSON writes the character inside a string
FORM_ESCAPE = b"%00"
MAX_MULTIPART_READ = 16 * 2**20  # bytes: claim documents are a few MB; a feed's file may be far larger


def _path_of(value: Any, trail: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Where in a decoded JSON value a string (or a key) holds a NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield trail
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield (*trail, key)
            yield from _path_of(item, (*trail, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _path_of(item, (*trail, str(index)))


def _in_pairs(pairs: list[tuple[str, str]]) -> str | None:
    return next((key or "(unnamed)" for key, value in pairs if NUL in key or NUL in value), None)


def field_with_nul(scope: Scope, body: bytes = b"", content_type: str = "") -> str | None:
    """The request's field holding a NUL character ("path", a parameter, a dotted body path), or None."""
    if NUL in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"")
    if FORM_ESCAPE in query.lower():
        found = _in_pairs(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
        if found:
            return found
    if content_type == "application/json" and JSON_ESCAPE in body:
        try:
            decoded = json.loads(body)
        except ValueError:
            return None  # not JSON: the app's own validation answers
        trail = next(_path_of(decoded), None)
        if trail is not None:
            return ".".join(trail) or "body"
    if content_type == "application/x-www-form-urlencoded" and FORM_ESCAPE in body.lower():
        return _in_pairs(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return None


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return str(value.decode("latin-1"))
    return ""


def _content_type(scope: Scope) -> str:
    return _header(scope, b"content-type").split(";", 1)[0].strip().lower()


def _large_upload(scope: Scope, content_type: str) -> bool:
    """A multipart body too large to hold in memory twice (a feed's file): handed on unread, its records
    checked by the exchange's own validation."""
    length = _header(scope, b"content-length")
    return content_type == "multipart/form-data" and (not length.isdigit() or int(length) > MAX_MULTIPART_READ)


class RejectNulCharacters:
    """Pure ASGI middleware: a request with a NUL in its text gets a 422 naming the field."""

    READS = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = _content_type(scope)
        reads_body = content_type in self.READS and not _large_upload(scope, content_type)
        body, last = await _read_body(receive) if reads_body else (b"", None)
        field = field_with_nul(scope, body, content_type)
        if field is None and content_type == "multipart/form-data" and NUL.encode() in body:
            field = await _multipart_field_with_nul(scope, body)
        if field is not None:
            await _refuse(send, field)
            return
        await self.app(scope, _replay(body, last, receive) if reads_body else receive, send)


async def _multipart_field_with_nul(scope: Scope, body: bytes) -> str | None:
    """The first text field (not a file) of a multipart body that holds a NUL, or None."""

    async def chunks() -> Any:
        yield body

    try:
        form = await MultiPartParser(Headers(scope=scope), chunks()).parse()
    except MultiPartException:
        return None  # malformed: the app's own parsing answers
    try:
        return next((key for key, value in form.multi_items() if isinstance(value, str) and NUL in value), None)
    finally:
        await form.close()


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, and the message that ended it early if the client went away."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, last: Message | None, receive: Receive) -> Receive:
    """The app reads the body already read, then whatever the client sends next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if last is not None:
        pending.append(last)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(send: Send, field: str) -> None:
    message = f"{field}: {NUL_RULE}"
    payload = json.dumps(error_body("validation_error", message, field)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
