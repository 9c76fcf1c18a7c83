"""The exchange: declared feeds, validation, quarantine, provenance, no duplicates."""

from __future__ import annotations

import json

import pytest

from civicbrain.core.errors import NotFound, PrivacyViolation, ValidationFailed
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
    lines = ["person_id,penalty_date,amount,paid"] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
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
    from civicbrain.core.exchange import _json_text

    record = {"name": '王小明 "Xiaoming" \\ \n\t\x01 é', "amount": 1e-7, "big": 10**30, "none": None, "paid": True}
    assert json.loads(_json_text(record)) == record
    assert "王小明" in _json_text(record)  # UTF-8 as it came, not \\u escapes
