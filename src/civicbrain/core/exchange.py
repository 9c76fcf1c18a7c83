"""The data co-ordination centre: agencies' feeds, validated, with provenance, never duplicated.

An agency registers a feed with a declared schema — field names, types, data categories, which
fields form the record's key, and which field names the person it is about. The privacy rules are
checked at registration (a forbidden or off-purpose field is refused there, naming it).

Each incoming record is validated against the schema. Good records are stored with provenance
(agency, feed, source key, upload, time received). Bad records go to a quarantine with the reasons,
where an officer can read, correct and re-submit them: nothing is silently dropped. The pair
(feed, key) is unique and inserts skip existing keys, so re-sending a file, or resuming one after a
crash, adds nothing twice. Files are taken in chunks, each committed with the upload's progress, so
a killed intake resumes where it stopped.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from civicbrain.core.db import NUL, NUL_RULE
from civicbrain.core.errors import Conflict, NotFound, ValidationFailed
from civicbrain.core.intake_writing import ChunkWriter, PreparedRecords, copy_text
from civicbrain.core.models import Agency, Feed, FeedRecord, QuarantinedRecord, Upload
from civicbrain.core.privacy import FORBIDDEN, DataCategory, check_fields, parse_category, parse_purpose

if TYPE_CHECKING:
    from civicbrain.core.context import Platform

FIELD_TYPES: Mapping[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "date": date,
    "datetime": datetime,
}
CHUNK = 5000
ProgressCallback = Callable[[int], None]

# Field names that announce a forbidden category even when a sender did not declare them.
_FORBIDDEN_NAME_HINTS = {
    "religion": DataCategory.RELIGION,
    "belief": DataCategory.RELIGION,
    "ethnic": DataCategory.ETHNICITY,
    "ethnicity": DataCategory.ETHNICITY,
    "political": DataCategory.POLITICAL_OPINION,
    "genetic": DataCategory.GENETIC,
    "dna": DataCategory.GENETIC,
    "fingerprint": DataCategory.BIOMETRIC,
    "face": DataCategory.BIOMETRIC,
    "biometric": DataCategory.BIOMETRIC,
    "blood_type": DataCategory.BLOOD_TYPE,
    "bloodtype": DataCategory.BLOOD_TYPE,
}


class FieldDecl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: str
    category: str
    required: bool = True


class FeedSchema(BaseModel):
    """A feed's declared schema, as agencies send it (JSON) and as it is stored."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FieldDecl]
    key: list[str]
    subject_field: str | None = None


@dataclass(frozen=True)
class FeedSpec:
    """A feed a service expects, declared in code so the demo seeds it and the portal documents it."""

    agency_id: str
    name: str
    purpose: str
    schema: FeedSchema
    description: str = ""


@dataclass
class IntakeReport:
    feed: str
    upload_id: int | None
    rows_seen: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    resumed_from: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "upload_id": self.upload_id,
            "rows_seen": self.rows_seen,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "resumed_from": self.resumed_from,
            "top_reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])[:10]),
        }


class _Validator:
    """Validates raw rows (strings from CSV, values from JSON) against a feed schema."""

    def __init__(self, schema: FeedSchema) -> None:
        self.schema = schema
        self.names = [f.name for f in schema.fields]
        definitions: dict[str, Any] = {}
        for f in schema.fields:
            py = FIELD_TYPES[f.type]
            definitions[f.name] = (py, ...) if f.required else (py | None, None)
        self.model = create_model(
            "FeedRow",
            # allow_inf_nan=False: "inf" and "nan" parse as floats but JSON has no such numbers (PostgreSQL's
            # json type refuses them): such a row is quarantined naming the field, not stored or crashed on.
            __config__=ConfigDict(
                extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True, allow_inf_nan=False
            ),
            **definitions,
        )

    def validate(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
        # PostgreSQL cannot store U+0000 in text: such a value would fail the whole chunk's write
        with_nul = [name for name, value in raw.items() if isinstance(value, str) and NUL in value]
        if with_nul:
            return None, [{"field": name, "rule": NUL_RULE} for name in with_nul]
        cleaned = {k: (None if v == "" else v) for k, v in raw.items()}
        try:
            row = self.model.model_validate(cleaned)
        except ValidationError as exc:
            return None, [_reason(err) for err in exc.errors(include_url=False)]
        data = row.model_dump(mode="json")
        missing_key = [k for k in self.schema.key if data.get(k) in (None, "")]
        if missing_key:
            return None, [{"field": k, "rule": "key fields may not be empty"} for k in missing_key]
        return data, []

    def key_of(self, data: Mapping[str, Any]) -> str:
        return "|".join(str(data[k]) for k in self.schema.key)


def _reason(err: Mapping[str, Any]) -> dict[str, str]:
    name = ".".join(str(p) for p in err.get("loc", ())) or "record"
    if err.get("type") == "extra_forbidden":
        hint = _FORBIDDEN_NAME_HINTS.get(name.lower().split("_")[0]) or _FORBIDDEN_NAME_HINTS.get(name.lower())
        rule = f"forbidden category: {FORBIDDEN[hint]}" if hint else "field is not declared in the feed's schema"
        return {"field": name, "rule": rule}
    return {"field": name, "rule": str(err.get("msg", "invalid"))}


def _redact_undeclared(raw: Mapping[str, Any], declared: set[str]) -> dict[str, Any]:
    """Keep a quarantined row re-submittable without storing undeclared (possibly forbidden) data."""
    return {k: (v if k in declared else "[withheld: undeclared field]") for k, v in raw.items()}


class Exchange:
    def __init__(self, ctx: Platform) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # --- feeds ---------------------------------------------------------------------------------

    def register_feed(
        self,
        *,
        agency_id: str,
        name: str,
        purpose: str,
        schema: FeedSchema | Mapping[str, Any],
        description: str = "",
    ) -> Feed:
        if isinstance(schema, Mapping):
            try:
                schema = FeedSchema.model_validate(schema)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                raise ValidationFailed(
                    f"schema: {err['msg']}", field="schema." + ".".join(str(p) for p in err["loc"])
                ) from None
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValidationFailed("a feed name uses letters, digits, '-' and '_'", field="name")
        if self.session.get(Agency, agency_id) is None:
            raise NotFound(f"no agency '{agency_id}'", field="agency_id")
        purpose_value = parse_purpose(purpose)
        names = [f.name for f in schema.fields]
        if len(set(names)) != len(names):
            raise ValidationFailed("field names must be unique", field="schema.fields")
        for f in schema.fields:
            if f.type not in FIELD_TYPES:
                raise ValidationFailed(
                    f"field '{f.name}': type '{f.type}' is not one of {', '.join(FIELD_TYPES)}", field=f.name
                )
        check_fields({f.name: parse_category(f.category, field=f.name) for f in schema.fields}, purpose_value)
        for k in schema.key:
            if k not in names:
                raise ValidationFailed(f"key field '{k}' is not a declared field", field="schema.key")
        if not schema.key:
            raise ValidationFailed("declare at least one key field, so re-sends can be recognised", field="schema.key")
        if schema.subject_field and schema.subject_field not in names:
            raise ValidationFailed(
                f"subject field '{schema.subject_field}' is not a declared field",
                field="schema.subject_field",
            )
        existing = self.session.scalar(select(Feed).where(Feed.agency_id == agency_id, Feed.name == name))
        if existing is not None:
            if existing.schema == schema.model_dump() and existing.purpose == purpose_value.value:
                return existing  # registering the same feed twice is harmless
            raise Conflict(f"agency '{agency_id}' already has a feed '{name}' with another schema", field="name")
        feed = Feed(
            name=name,
            agency_id=agency_id,
            purpose=purpose_value.value,
            description=description,
            schema=schema.model_dump(),
            created_at=self.ctx.now(),
        )
        self.session.add(feed)
        self.session.flush()
        return feed

    def register_spec(self, spec: FeedSpec) -> Feed:
        return self.register_feed(
            agency_id=spec.agency_id,
            name=spec.name,
            purpose=spec.purpose,
            schema=spec.schema,
            description=spec.description,
        )

    def feed(self, agency_id: str, name: str) -> Feed:
        feed = self.session.scalar(select(Feed).where(Feed.agency_id == agency_id, Feed.name == name))
        if feed is None:
            raise NotFound(f"agency '{agency_id}' has no feed '{name}'", field="feed")
        return feed

    def feed_by_id(self, feed_id: int) -> Feed:
        feed = self.session.get(Feed, feed_id)
        if feed is None:
            raise NotFound(f"no feed {feed_id}", field="feed_id")
        return feed

    def feeds(self, agency_id: str | None = None) -> list[Feed]:
        query = select(Feed).order_by(Feed.agency_id, Feed.name)
        if agency_id:
            query = query.where(Feed.agency_id == agency_id)
        return list(self.session.scalars(query))

    # --- intake --------------------------------------------------------------------------------

    def ingest_file(
        self,
        feed: Feed,
        path: Path,
        *,
        progress: ProgressCallback | None = None,
        commit: bool = True,
    ) -> IntakeReport:
        """Take a CSV or JSON/JSON-lines file. Resumable: a re-run continues after the last chunk."""
        path = Path(path)
        if not path.exists():
            raise NotFound(f"no file '{path}'", field="file")
        content_hash = _file_sha256(path)
        upload = self.session.scalar(
            select(Upload).where(Upload.feed_id == feed.id, Upload.content_sha256 == content_hash)
        )
        if upload is None:
            upload = Upload(
                feed_id=feed.id,
                filename=path.name,
                content_sha256=content_hash,
                received_at=self.ctx.now(),
                status="running",
                rows_seen=0,
                accepted=0,
                duplicates=0,
                quarantined=0,
            )
            self.session.add(upload)
            self.session.flush()
            if commit:
                self.session.commit()
        report = IntakeReport(feed=feed.name, upload_id=upload.id, resumed_from=upload.rows_seen)
        if upload.status == "complete":
            # The very same file again: nothing to add.
            report.rows_seen = upload.rows_seen
            report.duplicates = upload.rows_seen - upload.quarantined
            return report
        rows = _read_rows(path)
        return self._ingest(feed, rows, upload=upload, report=report, progress=progress, commit=commit)

    def post_records(self, feed: Feed, records: Sequence[Mapping[str, Any]]) -> IntakeReport:
        """Records posted directly (API). Same validation, provenance and idempotency as files."""
        report = IntakeReport(feed=feed.name, upload_id=None)
        return self._ingest(feed, iter(records), upload=None, report=report, progress=None, commit=False)

    def _ingest(
        self,
        feed: Feed,
        rows: Iterator[Mapping[str, Any]],
        *,
        upload: Upload | None,
        report: IntakeReport,
        progress: ProgressCallback | None,
        commit: bool,
    ) -> IntakeReport:
        schema = FeedSchema.model_validate(feed.schema)
        validator = _Validator(schema)
        declared = set(validator.names)
        skip = upload.rows_seen if upload is not None else 0
        # Read once here: the loop below must not touch an ORM object the writer thread may be committing.
        feed_id, upload_id = feed.id, (upload.id if upload is not None else None)
        now = self.ctx.now()
        row_number = 0
        good: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []
        # A committing intake on PostgreSQL writes each chunk in a second thread while this one reads and
        # validates the next: the server's work for a chunk (the insert into four indexes, the commit's
        # disk write) then overlaps Python's for the next one instead of adding to it. The session is used
        # by one thread at a time: a chunk is handed over only once the previous one is written. SQLite
        # writes in this process, mostly holding the interpreter lock, and gained nothing (300k rows,
        # bench/core_bench.py: 19.7k records/s overlapped against 19.5-21.9k, the machine's noise), so it
        # writes in this thread.
        postgresql = self.session.get_bind().dialect.name == "postgresql"
        writer = ChunkWriter(overlap=commit and postgresql)

        def write(chunk: PreparedRecords, offered: int, rejected: list[dict[str, Any]], through_row: int) -> int:
            inserted = self._insert_records(chunk)
            self._insert_quarantine(rejected)
            report.accepted += inserted
            report.duplicates += offered - inserted
            report.quarantined += len(rejected)
            if upload is not None:
                upload.rows_seen = through_row
                upload.accepted += inserted
                upload.duplicates += offered - inserted
                upload.quarantined += len(rejected)
            self.session.flush()
            if commit:
                self.session.commit()  # each chunk with its progress: a crash loses at most one chunk
            return through_row

        def flush() -> None:
            written = writer.submit(write, self._prepare_records(good, postgresql), len(good), list(bad), row_number)
            good.clear()
            bad.clear()
            if progress and written is not None:
                progress(written)

        try:
            for raw in rows:
                row_number += 1
                if row_number <= skip:
                    continue
                report.rows_seen += 1
                data, reasons = validator.validate(raw)
                if data is None:
                    for r in reasons:
                        report.reasons[f"{r['field']}: {r['rule']}"] = (
                            report.reasons.get(f"{r['field']}: {r['rule']}", 0) + 1
                        )
                    kept = _redact_undeclared(raw, declared)
                    bad.append(
                        {
                            "feed_id": feed_id,
                            "upload_id": upload_id,
                            "row_number": row_number,
                            "row_digest": hashlib.sha256(canonical_row(kept).encode()).hexdigest(),
                            "raw": kept,
                            "reasons": reasons,
                            "status": "open",
                            "received_at": now,
                        }
                    )
                else:
                    subject = data.get(schema.subject_field) if schema.subject_field else None
                    good.append(
                        {
                            "feed_id": feed_id,
                            "source_key": validator.key_of(data),
                            "subject_id": None if subject is None else str(subject),
                            "data": data,
                            "upload_id": upload_id,
                            "received_at": now,
                        }
                    )
                if len(good) + len(bad) >= CHUNK:
                    flush()
            flush()
            last = writer.finish()
        except BaseException:
            writer.abandon()  # no write may still use the session while the caller rolls it back
            raise
        if progress and last is not None:
            progress(last)
        if upload is not None:
            upload.status = "complete"
            self.session.flush()
            if commit:
                self.session.commit()
        return report

    def _prepare_records(self, rows: list[dict[str, Any]], postgresql: bool) -> PreparedRecords:
        """The chunk's records without keys repeated inside it, and on PostgreSQL their COPY text. Pure Python,
        so the reading thread does it while the writer thread waits on the database."""
        unique = list({(r["feed_id"], r["source_key"]): r for r in rows}.values())
        return PreparedRecords(unique, copy_text(unique) if postgresql and unique else None)

    def _insert_records(self, prepared: PreparedRecords) -> int:
        if not prepared.rows:
            return 0
        if prepared.copy_text is not None:
            return self._copy_records_postgres(prepared.copy_text)
        # RETURNING yields a row only for records actually inserted, so skipped keys are counted
        # as duplicates without a second query. The statement targets the table, not the ORM
        # entity: the SQL is the same, but the ORM's per-row bulk bookkeeping cost more than
        # validating the row (bench/core_bench.py). Flush first, as the ORM statement's autoflush did.
        self.session.flush()
        table = FeedRecord.__table__
        stmt = _insert_ignore(self.session, table, ["feed_id", "source_key"]).returning(table.c.id)
        return len(self.session.execute(stmt, prepared.rows).all())

    def _copy_records_postgres(self, copy_text: str) -> int:
        """PostgreSQL: COPY the chunk into a temporary table, then insert what is new from there.

        A multi-row INSERT ... VALUES is re-parsed by the driver for every chunk and was the
        bottleneck (bench/core_bench.py); COPY streams rows without SQL text. The same
        ``ON CONFLICT DO NOTHING`` keeps re-sends idempotent, and ``RETURNING`` counts what was new.
        The text is sent in one piece: written row by row from the writer thread, each of the driver's
        hand-overs to the socket had to win the interpreter lock back from the reading thread.
        """
        self.session.flush()
        cursor = self.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS cb_intake_chunk (feed_id integer, source_key text, "
                "subject_id text, data json, upload_id integer, received_at timestamptz)"
            )
            with cursor.copy(
                "COPY cb_intake_chunk (feed_id, source_key, subject_id, data, upload_id, received_at) FROM STDIN"
            ) as copy:
                copy.write(copy_text)
            cursor.execute(
                "INSERT INTO core_feed_records (feed_id, source_key, subject_id, data, upload_id, received_at) "
                "SELECT feed_id, source_key, subject_id, data, upload_id, received_at FROM cb_intake_chunk "
                "ON CONFLICT (feed_id, source_key) DO NOTHING RETURNING id"
            )
            inserted = len(cursor.fetchall())
            cursor.execute("TRUNCATE cb_intake_chunk")
        finally:
            cursor.close()
        return inserted

    def _insert_quarantine(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            unique = list({(r["feed_id"], r["row_digest"]): r for r in rows}.values())
            self.session.flush()
            self.session.execute(
                _insert_ignore(self.session, QuarantinedRecord.__table__, ["feed_id", "row_digest"]), unique
            )

    # --- quarantine ----------------------------------------------------------------------------

    def quarantine(
        self, feed: Feed | None = None, *, status: str = "open", limit: int = 200
    ) -> list[QuarantinedRecord]:
        query = select(QuarantinedRecord).order_by(QuarantinedRecord.id).limit(limit)
        if feed is not None:
            query = query.where(QuarantinedRecord.feed_id == feed.id)
        if status:
            query = query.where(QuarantinedRecord.status == status)
        return list(self.session.scalars(query))

    def quarantined(self, record_id: int) -> QuarantinedRecord:
        row = self.session.get(QuarantinedRecord, record_id)
        if row is None:
            raise NotFound(f"no quarantined record {record_id}", field="record_id")
        return row

    def resubmit(self, record_id: int, corrected: Mapping[str, Any]) -> IntakeReport:
        """Validate a corrected record; if it passes it is stored and leaves the quarantine."""
        row = self.quarantined(record_id)
        if row.status != "open":
            raise Conflict(f"quarantined record {record_id} is already {row.status}", field="record_id")
        feed = self.feed_by_id(row.feed_id)
        validator = _Validator(FeedSchema.model_validate(feed.schema))
        data, reasons = validator.validate(corrected)
        if data is None:
            first = reasons[0]
            raise ValidationFailed(f"field '{first['field']}': {first['rule']}", field=first["field"])
        report = self.post_records(feed, [corrected])
        row.status = "resubmitted"
        self.session.flush()
        return report

    # --- reading -------------------------------------------------------------------------------

    def records(self, feed: Feed, *, limit: int = 100, offset: int = 0) -> list[FeedRecord]:
        query = select(FeedRecord).where(FeedRecord.feed_id == feed.id).order_by(FeedRecord.id)
        return list(self.session.scalars(query.limit(limit).offset(offset)))

    def records_about(self, subject_id: str) -> list[FeedRecord]:
        return list(self.session.scalars(select(FeedRecord).where(FeedRecord.subject_id == subject_id)))

    def latest_for_subjects(self, feed: Feed) -> dict[str, dict[str, Any]]:
        """The newest record per subject in a feed (what services read to decide)."""
        out: dict[str, dict[str, Any]] = {}
        query = select(FeedRecord).where(FeedRecord.feed_id == feed.id).order_by(FeedRecord.id)
        for rec in self.session.scalars(query):
            if rec.subject_id is not None:
                out[rec.subject_id] = rec.data
        return out

    def uploads(self, feed: Feed) -> list[Upload]:
        return list(self.session.scalars(select(Upload).where(Upload.feed_id == feed.id).order_by(Upload.id)))


def canonical_row(row: Mapping[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)


def _insert_ignore(session: Any, model: Any, conflict_columns: list[str]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite_insert(model).on_conflict_do_nothing(index_elements=conflict_columns)
    if dialect == "postgresql":
        return pg_insert(model).on_conflict_do_nothing(index_elements=conflict_columns)
    return insert(model).prefix_with("IGNORE")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_rows(path: Path) -> Iterator[Mapping[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _read_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield _json_object(line)
    elif suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValidationFailed("a JSON file holds a list of records", field="file")
        yield from (r if isinstance(r, dict) else {"_value": r} for r in data)
    else:
        raise ValidationFailed("files are .csv, .json or .jsonl", field="file")


def _read_csv(path: Path) -> Iterator[Mapping[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise ValidationFailed("the CSV file has no header row", field="file")
        for row in reader:
            if None in row:  # more cells than headers: keep them visible rather than losing them
                row["_extra_cells"] = row.pop(None)
            yield row


def _json_object(line: str) -> Mapping[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"_unparsable": line.strip()[:500], "_error": str(exc)}
    return value if isinstance(value, dict) else {"_value": value}


def read_upload_bytes(name: str, content: bytes, target_dir: Path) -> Path:
    """Store an uploaded file on disk first, so intake streams it and can resume it."""
    safe = Path(name).name or "upload.csv"
    digest = hashlib.sha256(content).hexdigest()[:16]
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{digest}-{safe}"
    path.write_bytes(content)
    return path
