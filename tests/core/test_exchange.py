"""The exchange: declared feeds, validation, quarantine, provenance, no duplicates."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from civicbrain.core import exchange
from civicbrain.core.errors import NotFound, PrivacyViolation, ValidationFailed
from civicbrain.core.intake_writing import json_text
from civicbrain.core.models import Agency

SCHEMA = {
    "fields": [
        {"name": "person_id", "type": "string", "category": "identifier"},
        {"name": "penalty_date", "type": "date", "category": "administrative"},
        {"name": "amount", "type": "number", "category": "administrative"},
        {"name": "paid", "type": "boolean", "category": "administrative", "required": False},
    ],
    "key": ["person_id", "penalty_date"],
    "subject_field": "person_id",
}


@pytest.fixture
def feed(ctx):
    ctx.session.add(Agency(id="market", name="Market Regulation"))
    ctx.session.flush()
    return ctx.exchange.register_feed(agency_id="market", name="penalties", purpose="credit", schema=SCHEMA)


def write_csv(path, rows):
    """A CSV file through the csv module, so values with tabs, newlines and quotes are quoted as they should be."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["person_id", "penalty_date", "amount", "paid"])
        writer.writerows(rows)
    return path


def test_forbidden_field_is_refused_at_registration_naming_it(ctx):
    ctx.session.add(Agency(id="market", name="Market Regulation"))
    schema = {**SCHEMA, "fields": [*SCHEMA["fields"], {"name": "faith", "type": "string", "category": "religion"}]}
    with pytest.raises(PrivacyViolation) as err:
        ctx.exchange.register_feed(agency_id="market", name="bad", purpose="credit", schema=schema)
    assert err.value.field == "faith" and "never collected" in err.value.message


def test_health_field_is_refused_for_a_credit_feed(ctx):
    ctx.session.add(Agency(id="market", name="Market Regulation"))
    schema = {**SCHEMA, "fields": [*SCHEMA["fields"], {"name": "diagnosis", "type": "string", "category": "health"}]}
    with pytest.raises(PrivacyViolation, match="only for: health"):
        ctx.exchange.register_feed(agency_id="market", name="bad", purpose="credit", schema=schema)


def test_schema_mistakes_name_the_field(ctx):
    ctx.session.add(Agency(id="market", name="Market Regulation"))
    with pytest.raises(ValidationFailed) as err:
        ctx.exchange.register_feed(agency_id="market", name="x", purpose="credit", schema={**SCHEMA, "key": ["nope"]})
    assert err.value.field == "schema.key"
    with pytest.raises(NotFound):
        ctx.exchange.register_feed(agency_id="nobody", name="x", purpose="credit", schema=SCHEMA)


def test_file_intake_validates_quarantines_and_keeps_provenance(ctx, feed, tmp_path):
    path = write_csv(
        tmp_path / "penalties.csv",
        [
            ("P1", "2026-01-05", "200", "true"),
            ("P2", "2026-02-10", "not-a-number", "false"),  # bad amount
            ("P3", "yesterday", "50", ""),  # bad date
            ("P4", "2026-03-01", "75.5", ""),
        ],
    )
    report = ctx.exchange.ingest_file(feed, path, commit=False)
    assert (report.rows_seen, report.accepted, report.quarantined) == (4, 2, 2)
    records = ctx.exchange.records(feed)
    assert [r.subject_id for r in records] == ["P1", "P4"]
    assert records[0].upload_id == report.upload_id and records[0].data["amount"] == 200.0
    quarantined = ctx.exchange.quarantine(feed)
    assert {q.reasons[0]["field"] for q in quarantined} == {"amount", "penalty_date"}


def test_a_nul_character_quarantines_its_row_naming_the_field_and_keeping_the_row(ctx, feed, tmp_path):
    # PostgreSQL cannot store U+0000 in text: before this rule such a row failed its whole chunk's write
    path = write_csv(
        tmp_path / "nul.csv",
        [("P\x001", "2026-01-05", "200", "true"), ("P2", "2026-01-05", "1\x00", ""), ("P3", "2026-01-05", "5", "")],
    )
    report = ctx.exchange.ingest_file(feed, path, commit=False)

    assert (report.accepted, report.quarantined) == (1, 2)
    assert [r.subject_id for r in ctx.exchange.records(feed)] == ["P3"]
    held = {q.reasons[0]["field"]: q for q in ctx.exchange.quarantine(feed)}
    assert set(held) == {"person_id", "amount"} and "U+0000" in held["amount"].reasons[0]["rule"]
    assert held["amount"].raw["amount"] == "1\x00"  # kept as sent, to be corrected and re-submitted


def test_resending_a_file_or_overlapping_records_adds_no_duplicates(ctx, feed, tmp_path):
    path = write_csv(tmp_path / "a.csv", [("P1", "2026-01-05", "200", "true"), ("P2", "2026-01-06", "10", "")])
    ctx.exchange.ingest_file(feed, path, commit=False)
    again = ctx.exchange.ingest_file(feed, path, commit=False)
    assert again.accepted == 0
    overlap = ctx.exchange.post_records(
        feed,
        [
            {"person_id": "P2", "penalty_date": "2026-01-06", "amount": 10},
            {"person_id": "P5", "penalty_date": "2026-01-07", "amount": 5},
            {"person_id": "P5", "penalty_date": "2026-01-07", "amount": 5},
        ],
    )
    assert (overlap.accepted, overlap.duplicates) == (1, 2)
    assert len(ctx.exchange.records(feed)) == 3


def test_undeclared_and_forbidden_fields_are_quarantined_without_storing_them(ctx, feed):
    report = ctx.exchange.post_records(
        feed, [{"person_id": "P1", "penalty_date": "2026-01-05", "amount": 1, "religion": "x"}]
    )
    assert report.quarantined == 1
    [row] = ctx.exchange.quarantine(feed)
    assert row.reasons == [
        {"field": "religion", "rule": "forbidden category: religious or philosophical belief is never collected"}
    ]
    assert row.raw["religion"] == "[withheld: undeclared field]"
    assert "x" not in json.dumps(row.raw)


def test_quarantined_record_can_be_corrected_and_resubmitted(ctx, feed):
    ctx.exchange.post_records(feed, [{"person_id": "P9", "penalty_date": "2026-13-01", "amount": 3}])
    [row] = ctx.exchange.quarantine(feed)
    with pytest.raises(ValidationFailed) as err:
        ctx.exchange.resubmit(row.id, {"person_id": "P9", "penalty_date": "still wrong", "amount": 3})
    assert err.value.field == "penalty_date"
    report = ctx.exchange.resubmit(row.id, {"person_id": "P9", "penalty_date": "2026-12-01", "amount": 3})
    assert report.accepted == 1
    assert ctx.exchange.quarantine(feed) == []
    assert ctx.exchange.records_about("P9")[0].data["penalty_date"] == "2026-12-01"


def test_non_finite_numbers_are_quarantined_naming_the_field(ctx, feed, tmp_path):
    # "inf" and "nan" parse as floats, but JSON has no such numbers: stored, they would break the
    # intake on PostgreSQL (its json type refuses them) and mean nothing to an officer reading them.
    path = write_csv(
        tmp_path / "penalties.csv",
        [("P1", "2026-01-05", "inf", ""), ("P2", "2026-01-06", "NaN", ""), ("P3", "2026-01-07", "1e3", "")],
    )
    report = ctx.exchange.ingest_file(feed, path, commit=False)
    assert (report.accepted, report.quarantined) == (1, 2)
    assert [r.data["amount"] for r in ctx.exchange.records(feed)] == [1000.0]
    reasons = [q.reasons[0] for q in ctx.exchange.quarantine(feed)]
    assert {r["field"] for r in reasons} == {"amount"}
    assert all("finite" in r["rule"] for r in reasons), reasons


def test_stored_json_text_reads_back_as_the_validated_values():
    record = {"name": '王小明 "Xiaoming" \\ \n\t\x01 é', "amount": 1e-7, "big": 10**30, "none": None, "paid": True}
    assert json.loads(json_text(record)) == record
    assert "王小明" in json_text(record)  # UTF-8 as it came, not \\u escapes


# Keys and subjects COPY's text format must escape (tab, newline, carriage return, backslash), quotes and
# non-ASCII: each must read back exactly as it was sent.
AWKWARD_IDS = ["P\t1", "P\n2", "P\r3", "P\\4", 'P"5"', "王6", "P\\N", "P7"]


def test_a_committing_intake_of_many_chunks_stores_each_record_once_as_sent(ctx, feed, tmp_path, monkeypatch):
    monkeypatch.setattr(exchange, "CHUNK", 3)  # 10 rows: four chunks (PostgreSQL: each written while the next is read)
    switch_interval = sys.getswitchinterval()
    rows = [(pid, "2026-01-05", str(10 + n), "") for n, pid in enumerate(AWKWARD_IDS)]
    rows += [("P8", "not a date", "1", ""), ("P9", "2026-01-09", "9.5", "true")]
    seen: list[int] = []
    report = ctx.exchange.ingest_file(feed, write_csv(tmp_path / "awkward.csv", rows), progress=seen.append)
    assert (report.rows_seen, report.accepted, report.quarantined) == (10, 9, 1)
    assert seen == sorted(seen) and seen[-1] == 10  # progress only after a chunk is committed, in order
    stored = {r.subject_id: r for r in ctx.exchange.records(feed)}
    assert set(stored) == {*AWKWARD_IDS, "P9"}
    for n, pid in enumerate(AWKWARD_IDS):
        record = stored[pid]
        assert record.source_key == f"{pid}|2026-01-05"
        assert record.data == {"person_id": pid, "penalty_date": "2026-01-05", "amount": 10.0 + n, "paid": None}
    assert [q.reasons[0]["field"] for q in ctx.exchange.quarantine(feed)] == ["penalty_date"]
    assert sys.getswitchinterval() == switch_interval  # the intake's finer thread switching is undone


def test_a_failed_chunk_write_stops_the_intake_and_a_rerun_resumes_after_the_last_committed_chunk(
    runtime, tmp_path, monkeypatch
):
    monkeypatch.setattr(exchange, "CHUNK", 3)
    switch_interval = sys.getswitchinterval()
    path = write_csv(tmp_path / "p.csv", [(f"P{n}", "2026-01-05", "1", "") for n in range(10)])
    with runtime.unit(actor="test") as ctx:
        ctx.session.add(Agency(id="market", name="Market Regulation"))
        ctx.session.flush()
        feed_id = ctx.exchange.register_feed(agency_id="market", name="penalties", purpose="credit", schema=SCHEMA).id

    real_insert, calls = exchange.Exchange._insert_records, []

    def failing_on_the_third_chunk(self, prepared):
        calls.append(len(prepared.rows))
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real_insert(self, prepared)

    monkeypatch.setattr(exchange.Exchange, "_insert_records", failing_on_the_third_chunk)
    with pytest.raises(RuntimeError, match="went away"), runtime.unit(actor="test") as ctx:
        ctx.exchange.ingest_file(ctx.exchange.feed_by_id(feed_id), path)
    assert len(calls) == 3  # nothing was written after the failed chunk
    assert sys.getswitchinterval() == switch_interval
    monkeypatch.setattr(exchange.Exchange, "_insert_records", real_insert)
    with runtime.unit(actor="test") as ctx:
        feed = ctx.exchange.feed_by_id(feed_id)
        [upload] = ctx.exchange.uploads(feed)
        assert (upload.rows_seen, upload.accepted, upload.status) == (6, 6, "running")  # two chunks committed
        report = ctx.exchange.ingest_file(feed, path)
        assert (report.resumed_from, report.accepted) == (6, 4)
        assert sorted(r.subject_id for r in ctx.exchange.records(feed)) == sorted(f"P{n}" for n in range(10))
