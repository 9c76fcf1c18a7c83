"""FtM JSON lines: export of live listings, import back, ADD/MOD/DEL deltas and resumption."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from civicbrain.core.errors import ValidationFailed
from civicbrain.services.credit.domain.ftm import (
    DeltaOp,
    EntityStore,
    export_lines,
    pending_versions,
    read_delta,
    read_entities,
    sanction_id,
    subject_to_entity,
    write_delta,
)
from civicbrain.services.credit.domain.matching import SubjectRecord
from civicbrain.services.credit.domain.names import NameKind
from tests.services.credit.test_credit_due_process import DEFAULTERS, active, noticed

PERSON = SubjectRecord("S1", NameKind.PERSON, ("Zhang Wei", "张伟"), ("1980-05-04",), ("cn",), ("35010219800504123X",))
FIRM = SubjectRecord(
    "F1", NameKind.ORGANIZATION, ("Fuzhou Jinshan Construction Co., Ltd.",), (), ("cn",), ("91350100M000100Y43",)
)


def test_export_then_import_round_trip() -> None:
    listing = active()
    now = listing.effective_from + timedelta(days=1)  # type: ignore[operator]
    lines = list(export_lines({"S1": PERSON}, [listing, noticed(listing_id="L2")], {DEFAULTERS.code: DEFAULTERS}, now))
    assert len(lines) == 2  # the subject once, the live listing; the pending one is not exported
    imported = read_entities(lines)
    assert imported.subjects["S1"] == PERSON
    sanction = imported.sanctions[sanction_id(listing)]
    assert sanction.entity_ids == ("S1",)
    assert sanction.authority == (DEFAULTERS.owning_agency,)
    assert sanction.program == (DEFAULTERS.title,)
    assert sanction.status == "active"
    assert sanction.start_date == listing.effective_from.date().isoformat()  # type: ignore[union-attr]
    assert sanction.end_date == listing.expires_at.date().isoformat()  # type: ignore[union-attr]


def test_company_uses_registration_number() -> None:
    entity = subject_to_entity(FIRM)
    assert entity["schema"] == "Company"
    assert entity["properties"]["registrationNumber"] == ["91350100M000100Y43"]


def test_delta_add_mod_del_and_idempotent_reapply() -> None:
    before = {"S1": subject_to_entity(PERSON)}
    changed = SubjectRecord("S1", NameKind.PERSON, ("Zhang Wei",), ("1980-05-04",), ("cn",), ("35010219800504123X",))
    after = {"S1": subject_to_entity(changed), "F1": subject_to_entity(FIRM)}
    lines = list(write_delta(before, after))
    ops = [json.loads(line)["op"] for line in lines]
    assert sorted(ops) == ["ADD", "MOD"]
    removal = list(write_delta(after, {"F1": after["F1"]}))
    assert [json.loads(line)["op"] for line in removal] == ["DEL"]

    store = EntityStore()
    store.put(before["S1"])
    counts = store.apply(read_delta(lines))
    assert counts == {"ADD": 1, "MOD": 1, "DEL": 0}
    store.apply(read_delta(lines))  # a resent file changes nothing
    assert store.entities == after
    store.apply(read_delta(removal))
    assert set(store.entities) == {"F1"}


def test_bad_delta_lines_are_named() -> None:
    with pytest.raises(ValidationFailed, match="line 2"):
        read_delta(['{"op": "DEL", "entity": {"id": "x"}}', '{"op": "UPSERT", "entity": {"id": "y"}}'])
    with pytest.raises(ValidationFailed, match="schema"):
        read_delta(['{"op": "ADD", "entity": {"id": "y", "schema": "Spaceship", "properties": {}}}'])
    assert read_delta(['{"op": "DEL", "entity": {"id": "x"}}'])[0].op is DeltaOp.DEL


def test_pending_versions_resume_after_last_applied() -> None:
    index = {"versions": {"20240528-b": "u2", "20240527-a": "u1", "20240529-c": "u3"}, "updated_at": "x"}
    assert pending_versions(index, None) == ["20240527-a", "20240528-b", "20240529-c"]
    assert pending_versions(index, "20240528-b") == ["20240529-c"]
