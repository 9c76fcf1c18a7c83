"""The decision ledger: chained, append-only, tamper-evident, erasable per person."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from civicbrain.core.errors import ValidationFailed
from civicbrain.core.ledger import verify
from tests.conftest import DATABASES


def decide(ctx, subject="person:P1", label="granted"):
    return ctx.decide(
        algorithm="testsvc.rule",
        version="1.0",
        subject=subject,
        inputs={"income_band": "low"},
        outcome={"label": label},
        explanation={"summary": f"{label} because the income band is low"},
        mode="live",
    )


def fill(runtime, n=5):
    with runtime.unit() as ctx:
        return [decide(ctx, subject=f"person:P{i}") for i in range(n)]


def drop_guards(runtime):
    with runtime.engine.begin() as conn:
        if runtime.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER core_ledger_no_update"))
            conn.execute(text("DROP TRIGGER core_ledger_no_delete"))
        else:
            conn.execute(text("ALTER TABLE core_ledger_entries DISABLE TRIGGER USER"))


def restore_guards(runtime):
    if runtime.engine.dialect.name == "postgresql":
        with runtime.engine.begin() as conn:
            conn.execute(text("ALTER TABLE core_ledger_entries ENABLE TRIGGER USER"))


def check(runtime):
    with runtime.sessions() as session:
        return verify(session)


def test_receipts_chain_and_verify(runtime):
    receipts = fill(runtime, 5)
    assert [r.receipt.seq for r in receipts] == [1, 2, 3, 4, 5]
    assert len({r.id for r in receipts}) == 5
    result = check(runtime)
    assert result.ok and result.checked == 5


def test_database_refuses_update_and_delete(runtime):
    fill(runtime, 2)
    for statement in (
        "UPDATE core_ledger_entries SET outcome_label = 'refused' WHERE seq = 1",
        "DELETE FROM core_ledger_entries WHERE seq = 2",
    ):
        with pytest.raises(DatabaseError, match="append-only"), runtime.engine.begin() as conn:
            conn.execute(text(statement))
    assert check(runtime).ok


def test_edited_entry_is_named(runtime):
    receipts = fill(runtime, 5)
    drop_guards(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE core_ledger_entries SET outcome_label = 'refused' WHERE seq = 3"))
    restore_guards(runtime)
    result = check(runtime)
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.first_broken_receipt == receipts[2].id
    assert "edited" in result.reason


def test_deleted_entry_is_named(runtime):
    fill(runtime, 5)
    drop_guards(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM core_ledger_entries WHERE seq = 2"))
    restore_guards(runtime)
    result = check(runtime)
    assert not result.ok and result.first_broken_seq == 3
    assert "deleted" in result.reason


def test_deleted_last_entry_is_detected(runtime):
    fill(runtime, 3)
    drop_guards(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM core_ledger_entries WHERE seq = 3"))
    restore_guards(runtime)
    result = check(runtime)
    assert not result.ok and result.first_broken_seq == 3


def test_reordered_entries_are_named(runtime):
    fill(runtime, 5)
    drop_guards(runtime)
    with runtime.engine.begin() as conn:  # swap entries 2 and 4 by renumbering them
        conn.execute(text("UPDATE core_ledger_entries SET seq = 1000 WHERE seq = 2"))
        conn.execute(text("UPDATE core_ledger_entries SET seq = 2 WHERE seq = 4"))
        conn.execute(text("UPDATE core_ledger_entries SET seq = 4 WHERE seq = 1000"))
    restore_guards(runtime)
    result = check(runtime)
    assert not result.ok and result.first_broken_seq == 2


def test_erasure_hides_payload_and_keeps_the_chain(runtime):
    with runtime.unit() as ctx:
        kept = decide(ctx, subject="person:keep")
        gone = decide(ctx, subject="person:gone")
    with runtime.unit() as ctx:
        assert ctx.ledger.forget_subject("person:gone")
    with runtime.unit() as ctx:
        assert ctx.ledger.get(gone.id).erased
        assert ctx.ledger.get(gone.id).outcome_label == "granted"  # the public column stays
        assert ctx.ledger.get(kept.id).inputs == {"income_band": "low"}
    assert check(runtime).ok


def test_subjects_are_pseudonymous_but_public_things_are_not(ctx):
    person = decide(ctx, subject="person:P77")
    entry = ctx.ledger.get(person.id)
    assert entry.subject_ref.startswith("ps:") and "P77" not in entry.subject_ref
    assert ctx.ledger.ref("junction:J12") == "junction:J12"


def test_concurrent_writers_queue_up_instead_of_forking_the_chain(runtime):
    """Four writers at once, each deciding about the same new person and one of their own."""
    from concurrent.futures import ThreadPoolExecutor

    def writer(n: int) -> int:
        for i in range(10):
            with runtime.unit() as ctx:
                decide(ctx, subject="person:shared" if i % 2 else f"person:w{n}-{i}")
        return n

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(writer, range(4))) == [0, 1, 2, 3]
    result = check(runtime)
    assert result.ok and result.checked == 40
    with runtime.unit() as ctx:
        assert len(ctx.ledger.for_subject("person:shared")) == 20
        assert all(not e.erased for e in ctx.ledger.for_subject("person:shared"))


def test_a_rolled_back_savepoint_leaves_no_gap(runtime):
    with runtime.unit() as ctx:
        decide(ctx, subject="person:a")
        savepoint = ctx.session.begin_nested()
        decide(ctx, subject="person:b")
        savepoint.rollback()
        decide(ctx, subject="person:c")
    result = check(runtime)
    assert result.ok and result.checked == 2


def request(subject="person:P1", label="granted", actor=None, **overrides):
    from civicbrain.core.context import DecisionRequest

    fields = {
        "algorithm": "testsvc.rule",
        "version": "1.0",
        "subject": subject,
        "inputs": {"income_band": "low"},
        "outcome": {"label": label},
        "explanation": {"summary": f"{label} because the income band is low"},
        "mode": "live",
        "actor": actor,
    }
    return DecisionRequest(**{**fields, **overrides})


def test_decide_many_chains_like_single_decisions_and_interleaves_with_them(runtime):
    with runtime.unit(actor="unit-actor") as ctx:
        first = decide(ctx, subject="person:A")
        batch = ctx.decide_many(
            [request("person:A"), request("person:B", "refused", actor="officer-1"), request("person:A")]
        )
        last = decide(ctx, subject="person:B")
    assert [d.receipt.seq for d in (first, *batch, last)] == [1, 2, 3, 4, 5]
    assert check(runtime).ok
    with runtime.unit() as ctx:
        assert ctx.ledger.get(batch[1].id).actor == "officer-1"
        assert ctx.ledger.get(batch[0].id).actor == "unit-actor"
        assert ctx.ledger.get(batch[1].id).outcome == {"label": "refused"}
        # One key per subject, shared by single and batched entries: erasing B hides both of B's.
        assert ctx.ledger.forget_subject("person:B")
    with runtime.unit() as ctx:
        assert ctx.ledger.get(batch[1].id).erased and ctx.ledger.get(last.id).erased
        assert not ctx.ledger.get(batch[2].id).erased
    assert check(runtime).ok


def test_decide_many_records_nothing_when_one_request_is_refused(runtime):
    with runtime.unit() as ctx:
        decide(ctx)
        with pytest.raises(ValidationFailed):
            ctx.decide_many([request("person:C"), request("person:D", explanation={"summary": " "})])
        assert decide(ctx, subject="person:E").receipt.seq == 2
    assert check(runtime).ok and check(runtime).checked == 2
    with runtime.unit() as ctx:
        assert ctx.decide_many([]) == []


# Two writers racing to create a subject's key needs a database with concurrent writers: PostgreSQL only
# (SQLite runs one writer at a time), so this test runs where the suite runs on PostgreSQL.
POSTGRES_ONLY = [db for db in DATABASES if db == "postgresql"]


@pytest.mark.parametrize("engine", POSTGRES_ONLY, indirect=True)
def test_decide_many_uses_a_key_another_writer_created_while_it_waited(runtime):
    """``decide_many`` finds or creates subjects' keys in one statement; a key committed by another
    writer while that statement waited is read again, so the entry is sealed with the subject's key."""
    import threading

    from cryptography.fernet import Fernet

    from civicbrain.core.ledger import subject_ref

    ref = subject_ref(runtime.settings.ledger_pepper, "person:raced")
    key = Fernet.generate_key()
    other = runtime.engine.connect()
    other.begin()
    other.execute(
        text("INSERT INTO core_subject_keys (subject_ref, key, created_at) VALUES (:r, :k, now())"),
        {"r": ref, "k": key},
    )  # not committed yet: the batch below waits on it

    receipts = []

    def write() -> None:
        with runtime.unit() as ctx:
            receipts.extend(ctx.decide_many([request("person:raced")]))

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=1.0)
    assert writer.is_alive()  # waiting for the other writer's key
    other.commit()
    other.close()
    writer.join(timeout=30)
    assert len(receipts) == 1
    with runtime.unit() as ctx:
        entry = ctx.ledger.get(receipts[0].id)
        assert not entry.erased and entry.outcome == {"label": "granted"}
        stored = ctx.session.execute(
            text("SELECT payload FROM core_ledger_entries WHERE receipt = :r"), {"r": receipts[0].id}
        ).scalar_one()
    assert Fernet(key).decrypt(bytes(stored))  # sealed with the key the other writer created
