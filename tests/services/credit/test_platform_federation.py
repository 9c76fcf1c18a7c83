"""Federation on loopback: two cities, a province and the national view, each a real uvicorn server
with its own SQLite file and instance id, sharing one test clock.

City A pushes its listings up to the province (signed, numbered batches; a re-send is a duplicate, a
gap is refused and delivery resumes from the expected sequence); the province relays them, still
owned by city A, to the national view; city B pulls the province's list deltas (FtM ADD, then DEL
once city A's listing has ended). Nobody but the owner may change a record.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from civicbrain.api import create_app
from civicbrain.core.context import Runtime
from civicbrain.core.db import create_engine
from civicbrain.core.errors import Forbidden
from civicbrain.core.settings import Settings
from civicbrain.demo.city import seed_city
from civicbrain.migrations.runner import upgrade_engine
from civicbrain.services.credit import SERVICE as CREDIT
from civicbrain.services.credit import checks, federation_sync, service
from civicbrain.services.credit.domain.federation import Direction, FederatedRecord
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.models import CreditFederatedRecord, CreditListing
from civicbrain.services.credit.seed import WANG_FANG_ID
from tests.conftest import Clock
from tests.e2e.conftest import free_port
from tests.support import TEST_SERVICES

SEEDED = ("city-a", "city-b")


@dataclass
class Instance:
    name: str
    runtime: Runtime
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def unit(self):  # type: ignore[no-untyped-def]
        return self.runtime.unit(actor="federation-test")


def start(name: str, folder: Path, clock: Clock) -> Instance:
    path = folder / f"{name}.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade_engine(engine)
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{path}",
        secret_key="fed-secret-key-" + "s" * 40,
        ledger_pepper=f"fed-ledger-pepper-{name}-" + "p" * 40,
        instance_name=name,
        instance_id=name,
        password_time_cost=1,
        password_memory_kib=8192,
    )
    runtime = Runtime(settings, (*TEST_SERVICES, CREDIT), engine=engine, clock=clock)
    if name in SEEDED:
        with runtime.unit(actor="seed") as ctx:
            seed_city(ctx, people=12)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"instance {name} did not start")
        time.sleep(0.05)
    return Instance(name, runtime, f"http://127.0.0.1:{port}", server, thread)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def instances(tmp_path: Path, clock: Clock) -> Iterator[dict[str, Instance]]:
    started = {name: start(name, tmp_path, clock) for name in ("city-a", "city-b", "province", "national")}
    keys = {name: httpx.get(f"{i.url}/api/v1/credit/federation/identity").json() for name, i in started.items()}
    assert all(keys[n]["instance_id"] == n for n in keys)

    def trust(at: str, peer: str, relation: str, relays: tuple[str, ...] = ()) -> None:
        with started[at].unit() as ctx:
            federation_sync.add_peer(
                ctx,
                instance_id=peer,
                relation=relation,
                public_key=keys[peer]["public_key"],
                base_url=started[peer].url if relation == "parent" else None,
                relays=list(relays),
            )

    for city in SEEDED:
        trust(city, "province", "parent")
        trust("province", city, "child")
    trust("province", "national", "parent")
    trust("national", "province", "child", relays=SEEDED)
    yield started
    for instance in started.values():
        instance.server.should_exit = True
    for instance in started.values():
        instance.thread.join(timeout=10)
        instance.runtime.engine.dispose()


def held(instance: Instance) -> dict[str, CreditFederatedRecord]:
    with instance.unit() as ctx:
        return {r.id: r for r in ctx.session.query(CreditFederatedRecord).all()}


def test_city_to_province_to_national_and_deltas_down(instances, clock):
    city_a, city_b, province, national = (instances[n] for n in ("city-a", "city-b", "province", "national"))
    with city_a.unit() as ctx:
        own = {f"listing:{r.id}": r.state for r in ctx.session.query(CreditListing).all()}
        first = federation_sync.push(ctx)
    assert first == {"applied": 1}
    at_province = held(province)
    assert {k: v.body["state"] for k, v in at_province.items()} == own
    assert {r.owner for r in at_province.values()} == {"city-a"}

    # Nothing changed: nothing sealed. The same batch again: acknowledged as a duplicate, applied once.
    with city_a.unit() as ctx:
        assert federation_sync.push(ctx) == {}
        (sent,) = federation_sync._sent(ctx, "province")
    again = httpx.post(f"{province.url}/api/v1/credit/federation/batches", json={"batch": sent.body})
    assert again.json()["status"] == "duplicate"
    tampered = json.loads(sent.body)
    tampered["records"][0]["body"]["state"] = "withdrawn"
    forged = httpx.post(f"{province.url}/api/v1/credit/federation/batches", json={"batch": json.dumps(tampered)})
    assert forged.status_code == 403

    # Two changes sealed while the province was unreachable. Then the province is restored from a
    # backup without #2 while city A took #2 as acknowledged: #3 is refused with the sequence
    # expected, and delivery resumes from #2, applying both in order.
    clock.advance(days=16)
    with city_a.unit() as ctx:
        assert service.expire_due(ctx)["activated"] == 1  # Wang Fang's listing takes effect
        federation_sync.seal_up(ctx)
    clock.advance(days=1)
    with city_a.unit() as ctx:
        (row,) = service.listings_for_person(ctx, "P0001")
        row.updated_at = ctx.now()  # a later change to the same listing (e.g. a correction)
        third = federation_sync.seal_up(ctx)
    assert third is not None and third.sequence == 3
    gap = httpx.post(f"{province.url}/api/v1/credit/federation/batches", json={"batch": third.to_json()})
    assert gap.status_code == 409 and gap.json()["error"]["code"] == "sequence_gap"
    with city_a.unit() as ctx:
        second = federation_sync._sent(ctx, "province")[1]
        second.status = "acknowledged"
    with city_a.unit() as ctx:
        resumed = federation_sync.deliver(ctx, "province")
    assert resumed == {"resent_from": 2, "applied": 2}
    active_at_province = [r for r in held(province).values() if r.body["state"] == "active"]
    assert len(active_at_province) == 2

    # The province relays city A's listings to the national view, still owned by city A.
    with province.unit() as ctx:
        assert federation_sync.push(ctx)["applied"] == 1
    with national.unit() as ctx:
        view = federation_sync.aggregate(ctx)
    assert {row["owner"] for row in view["by_owner"]} == {"city-a"}
    assert sum(row["listings"] for row in view["by_owner"] if row["state"] == "active") == 2

    # Origin stays owner: the province cannot alter (or "repair") city A's listing upstream.
    listing_id = active_at_province[0].id
    with province.unit() as ctx:
        forged_record = FederatedRecord(id=listing_id, owner="province", op="upsert", body={"state": "repaired"})
        federation_sync._seal(ctx, "national", Direction.UP, [forged_record])
        outcome = federation_sync.deliver(ctx, "national")
    assert outcome == {"rejected": 1}
    assert held(national)[listing_id].body["state"] == "active"

    # City B pulls the province's list deltas: ADD for city A's listings in force...
    with city_b.unit() as ctx:
        assert federation_sync.pull(ctx) == {"applied": 1}
    entries = {k: r for k, r in held(city_b).items() if r.body["kind"] == "list_entry"}
    assert {r.owner for r in entries.values()} == {"city-a"}
    assert all(r.body["op"] == "ADD" for r in entries.values())
    schemas = sorted(r.body["entity"]["schema"] for r in entries.values())
    assert schemas == ["Company", "Person", "Sanction", "Sanction"]
    with city_b.unit() as ctx:
        assert federation_sync.pull(ctx) == {}  # resumable: nothing new after the last applied
        # City A's listing of Wang Fang now counts in city B's checks, with city A's listing id ...
        answer = checks.run_check(
            ctx,
            query=checks.CheckQuery(kind=NameKind.PERSON, identifier=WANG_FANG_ID),
            context="public tender",
            asking_agency="finance-bureau",
            asked_by="test",
        )
        assert answer.result.outcome.value == "restrict"
        (measure,) = answer.result.measures
        assert measure.listing_id.startswith("city-a-")
        # ... and stays city A's: city B can neither repair it nor expire it.
        with pytest.raises(Forbidden, match="only that authority"):
            service.decide_repair(
                ctx, listing_id=measure.listing_id, granted=True, checks=["x"], answer="x", decided_by="b", role="r"
            )

    # ... and DEL once city A's listing has ended and city A has pushed the change.
    clock.advance(days=800)
    with city_a.unit() as ctx:
        assert service.expire_due(ctx)["expired"] == 2
        assert federation_sync.push(ctx) == {"applied": 1}
    with city_b.unit() as ctx:
        assert federation_sync.pull(ctx) == {"applied": 1}
        copies = [r for r in ctx.session.query(CreditListing).all() if r.origin_instance == "city-a"]
        assert copies == []
    assert [k for k, r in held(city_b).items() if r.body["kind"] == "list_entry"] == []


def test_a_pull_must_be_signed_by_the_child(instances):
    province = instances["province"]
    response = httpx.get(
        f"{province.url}/api/v1/credit/federation/outbox/city-b",
        params={"after": 0, "at": datetime(2026, 11, 2, 9, tzinfo=UTC).isoformat(), "signature": "AAAA"},
    )
    assert response.status_code == 403
    with instances["city-a"].unit() as ctx:
        at = ctx.now()
        signature = federation_sync.pull_signature(ctx, 0, at)
    # City A's own signature does not open city B's deltas.
    response = httpx.get(
        f"{province.url}/api/v1/credit/federation/outbox/city-b",
        params={"after": 0, "at": at.isoformat(), "signature": signature},
    )
    assert response.status_code == 403
