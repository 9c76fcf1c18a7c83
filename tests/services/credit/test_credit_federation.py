"""Federation: signatures, idempotent and resumable sequences, origin stays owner."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from civicbrain.core.errors import Conflict, Forbidden
from civicbrain.services.credit.domain.federation import (
    ApplyStatus,
    Batch,
    Direction,
    FederatedRecord,
    Inbox,
    InstanceIdentity,
    Outbox,
)

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
FUZHOU = InstanceIdentity.generate("fuzhou")
XIAMEN = InstanceIdentity.generate("xiamen")
FUJIAN = InstanceIdentity.generate("fujian")
KEYS = {i.name: i.public_key_b64() for i in (FUZHOU, XIAMEN, FUJIAN)}


def listing_record(record_id: str, owner: str = "fuzhou", state: str = "active") -> FederatedRecord:
    return FederatedRecord(id=record_id, owner=owner, op="upsert", body={"state": state, "list": "court-defaulters"})


def test_signed_batch_round_trips_and_tampering_is_refused() -> None:
    outbox = Outbox(FUZHOU, "fujian", Direction.UP)
    batch = outbox.add([listing_record("L1")], NOW)
    province = Inbox("fujian", KEYS)
    received = Batch.from_json(batch.to_json())
    assert province.receive(received).status is ApplyStatus.APPLIED

    tampered = replace(batch, sequence=2, records=(listing_record("L1", state="repaired"),))
    with pytest.raises(Forbidden, match="does not verify"):
        province.receive(tampered)
    with pytest.raises(Forbidden, match="no trusted key"):
        Inbox("fujian", {"xiamen": KEYS["xiamen"]}).receive(batch)
    with pytest.raises(Forbidden, match="not signed"):
        province.receive(replace(batch, signature=""))


def test_resend_is_idempotent_and_gap_asks_to_resume() -> None:
    outbox = Outbox(FUZHOU, "fujian", Direction.UP)
    first = outbox.add([listing_record("L1")], NOW)
    second = outbox.add([listing_record("L2")], NOW)
    third = outbox.add([listing_record("L1", state="repaired")], NOW)
    province = Inbox("fujian", KEYS)
    assert province.receive(first).status is ApplyStatus.APPLIED
    with pytest.raises(Conflict, match="resend from #2"):
        province.receive(third)
    resend = outbox.pending(from_sequence=province.expected("fuzhou"))
    assert [b.sequence for b in resend] == [2, 3]
    for batch in resend:
        province.receive(batch)
        outbox.acknowledge(batch.sequence)
    assert province.receive(second).status is ApplyStatus.DUPLICATE  # a retry after a lost ack
    assert province.records["L1"].body["state"] == "repaired"
    assert outbox.pending() == []


def test_origin_stays_owner() -> None:
    province = Inbox("fujian", KEYS)
    province.receive(Outbox(FUZHOU, "fujian", Direction.UP).add([listing_record("L1")], NOW))
    xiamen = Outbox(XIAMEN, "fujian", Direction.UP)
    forged = province.receive(xiamen.add([listing_record("L1", owner="fuzhou", state="repaired")], NOW))
    assert forged.status is ApplyStatus.REJECTED and "may only send its own" in forged.reason
    taken = province.receive(
        xiamen.add([listing_record("X1", owner="xiamen"), listing_record("L1", owner="xiamen")], NOW)
    )
    assert taken.status is ApplyStatus.REJECTED and "only that authority" in taken.reason
    assert province.records["L1"].body["state"] == "active"
    assert "X1" not in province.records  # all or nothing
    assert province.receive(xiamen.add([listing_record("X1", owner="xiamen")], NOW)).status is ApplyStatus.APPLIED


def test_province_relays_city_records_to_national_unchanged() -> None:
    national = Inbox("national", KEYS, relays={"fujian": frozenset({"fuzhou", "xiamen"})})
    relay = Outbox(FUJIAN, "national", Direction.UP)
    assert national.receive(relay.add([listing_record("L1"), listing_record("X9", owner="xiamen")], NOW)).applied == 2
    assert national.receive(relay.add([listing_record("Q1", owner="quanzhou")], NOW)).status is ApplyStatus.REJECTED


def test_deltas_flow_down_to_cities() -> None:
    city = Inbox("fuzhou", KEYS)
    down = Outbox(FUJIAN, "fuzhou", Direction.DOWN)
    city.receive(down.add([listing_record("X9", owner="xiamen")], NOW))
    city.receive(down.add([FederatedRecord(id="X9", owner="xiamen", op="delete")], NOW))
    assert "X9" not in city.records
