"""Federation over HTTP: city -> province -> national, with the domain's signed batches.

* Up: a city pushes its listings (with the exchange records behind them) to its parent as signed
  batches, numbered per destination. ``push`` seals what changed since the last batch, then
  delivers every unacknowledged batch in order; when the receiver answers with the sequence it
  expects, delivery resumes from there, so a crash or a lost reply never loses or repeats a change.
* Down: a province publishes list deltas to each child (FtM ADD/MOD/DEL, ``ftm.write_delta``,
  computed against what that child already received); the child pulls them (``pull``).
* Receiving: ``receive`` verifies the signature against the peer's key, applies ``last + 1`` only
  (a re-sent batch is acknowledged as duplicate), and the domain's ``Inbox`` enforces that only the
  owning authority changes its records ("who lists, who repairs"); a province may relay its
  cities' records to the national view, unchanged.

Batches sent and received are rows (``credit_federation_batches``); the held records of other
authorities are ``credit_federated_records``, which ``aggregate`` summarises (the national view).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import func, select

from civicbrain.core.context import Platform
from civicbrain.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civicbrain.core.timeutil import aware
from civicbrain.services.credit.domain.federation import (
    ApplyStatus,
    Batch,
    Direction,
    FederatedRecord,
    Inbox,
    InstanceIdentity,
    verify,
)
from civicbrain.services.credit.domain.ftm import (
    ORGANIZATION_SCHEMAS,
    PERSON_SCHEMAS,
    entity_to_subject,
    listing_to_sanction,
    subject_to_entity,
    write_delta,
)
from civicbrain.services.credit.domain.listing import ListingState
from civicbrain.services.credit.domain.matching import SubjectRecord, normalize_identifier
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.models import (
    CreditFederatedRecord,
    CreditFederationBatch,
    CreditFederationPeer,
    CreditList,
    CreditListing,
    CreditSigningKey,
    CreditSubject,
)
from civicbrain.services.credit.store import definition_of, listing_of

TIMEOUT = 10.0
PULL_SKEW_SECONDS = 300


# --- identity and peers ---------------------------------------------------------------------------


def identity(ctx: Platform) -> InstanceIdentity:
    """This instance's signing identity; the key is generated on first use and kept in the database."""
    name = ctx.settings.instance_id
    row = ctx.session.get(CreditSigningKey, name)
    if row is None:
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        row = CreditSigningKey(instance_id=name, private_key=raw, created_at=ctx.now())
        ctx.session.add(row)
        ctx.session.flush()
    return InstanceIdentity(name, Ed25519PrivateKey.from_private_bytes(row.private_key))


def identity_view(ctx: Platform) -> dict[str, str]:
    return {"instance_id": ctx.settings.instance_id, "public_key": identity(ctx).public_key_b64()}


def add_peer(
    ctx: Platform,
    *,
    instance_id: str,
    relation: str,
    public_key: str,
    base_url: str | None = None,
    relays: list[str] | None = None,
) -> CreditFederationPeer:
    if relation not in ("parent", "child"):
        raise ValidationFailed("relation is 'parent' or 'child'", field="relation")
    try:
        if len(base64.b64decode(public_key, validate=True)) != 32:
            raise ValueError
    except ValueError:
        raise ValidationFailed("public_key is a base64 Ed25519 public key (32 bytes)", field="public_key") from None
    row = ctx.session.get(CreditFederationPeer, instance_id)
    if row is None:
        row = CreditFederationPeer(instance_id=instance_id, relation=relation, public_key=public_key, relays=[])
        ctx.session.add(row)
    row.relation, row.public_key, row.base_url, row.relays = relation, public_key, base_url, sorted(relays or [])
    ctx.session.flush()
    return row


def _peer(ctx: Platform, instance_id: str) -> CreditFederationPeer:
    row = ctx.session.get(CreditFederationPeer, instance_id)
    if row is None:
        raise NotFound(f"no federated instance '{instance_id}'", field="instance_id")
    return row


def parent(ctx: Platform) -> CreditFederationPeer:
    row = ctx.session.scalar(select(CreditFederationPeer).where(CreditFederationPeer.relation == "parent"))
    if row is None:
        raise NotFound("this instance has no parent instance to federate with", field="instance_id")
    return row


# --- sending --------------------------------------------------------------------------------------


def _sent(ctx: Platform, destination: str) -> list[CreditFederationBatch]:
    query = select(CreditFederationBatch).where(
        CreditFederationBatch.origin == ctx.settings.instance_id, CreditFederationBatch.destination == destination
    )
    return list(ctx.session.scalars(query.order_by(CreditFederationBatch.sequence)))


def _seal(ctx: Platform, destination: str, direction: Direction, records: list[FederatedRecord]) -> Batch:
    sent = _sent(ctx, destination)
    batch = Batch(
        origin=ctx.settings.instance_id,
        destination=destination,
        direction=direction,
        sequence=(sent[-1].sequence if sent else 0) + 1,
        created_at=ctx.now().isoformat(),
        records=tuple(records),
    )
    signed = identity(ctx).sign(batch)
    ctx.session.add(
        CreditFederationBatch(
            origin=signed.origin,
            destination=destination,
            direction=direction.value,
            sequence=signed.sequence,
            digest=signed.digest(),
            signature=signed.signature,
            body=signed.to_json(),
            status="sent",
            recorded_at=ctx.now(),
        )
    )
    ctx.session.flush()
    return signed


def _listing_record(ctx: Platform, row: CreditListing) -> FederatedRecord:
    subject = ctx.session.get(CreditSubject, row.subject_id)
    list_row = ctx.session.get(CreditList, row.list_code)
    assert subject is not None and list_row is not None
    listing = listing_of(row)
    body = {
        "kind": "listing",
        "sanction": listing_to_sanction(listing, definition_of(list_row)),
        "list": {"code": list_row.code, "title": list_row.title, "owning_agency": list_row.owning_agency},
        "subject": {
            "id": subject.id,
            "kind": subject.kind,
            "name": subject.name,
            "identifier": subject.identifier,
            "birth_date": subject.birth_date,
        },
        "state": row.state,
        "effective_from": row.effective_from.isoformat() if row.effective_from else None,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "facts": list(row.facts),
    }
    return FederatedRecord(id=f"listing:{row.id}", owner=row.origin_instance, op="upsert", body=body)


def seal_up(ctx: Platform) -> Batch | None:
    """Seal the listings changed since the last batch to the parent (None when nothing changed)."""
    destination = parent(ctx).instance_id
    sent = _sent(ctx, destination)
    query = select(CreditListing).where(CreditListing.origin_instance == ctx.settings.instance_id)
    if sent:
        query = query.where(CreditListing.updated_at > sent[-1].recorded_at)
    records = [_listing_record(ctx, row) for row in ctx.session.scalars(query.order_by(CreditListing.id))]
    # A province relays its cities' records upwards, unchanged and still owned by them.
    relayed = select(CreditFederatedRecord)
    if sent:
        relayed = relayed.where(CreditFederatedRecord.received_at > sent[-1].recorded_at)
    records += [
        FederatedRecord(id=r.id, owner=r.owner, op="upsert", body=r.body)
        for r in ctx.session.scalars(relayed.order_by(CreditFederatedRecord.id))
        if r.body.get("kind") == "listing"
    ]
    return _seal(ctx, destination, Direction.UP, records) if records else None


def _view_for(ctx: Platform, child: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """What a child should hold: every listing in force known here, as FtM Sanctions, except its
    own; and the authority owning each."""
    held = ctx.session.scalars(select(CreditFederatedRecord).where(CreditFederatedRecord.owner != child))
    view: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    for r in held:
        if r.body.get("kind") == "listing" and r.body.get("state") == "active":
            entity = dict(r.body["sanction"])
            view[entity["id"]] = entity
            owners[entity["id"]] = r.owner
            subject = subject_to_entity(_subject_record(r.body["subject"]))
            view[subject["id"]] = subject
            owners[subject["id"]] = r.owner
    return view, owners


def _subject_record(data: dict[str, Any]) -> SubjectRecord:
    return SubjectRecord(
        id=data["id"],
        kind=NameKind(data["kind"]),
        names=(data["name"],),
        birth_dates=(data["birth_date"],) if data.get("birth_date") else (),
        identifiers=(data["identifier"],) if data.get("identifier") else (),
    )


def seal_down(ctx: Platform, child: str) -> Batch | None:
    """The list delta for one child since what it was last sent (FtM ADD/MOD/DEL lines)."""
    _peer(ctx, child)
    before: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    for row in _sent(ctx, child):
        for record in Batch.from_json(row.body).records:
            owners[record.id] = record.owner
            if record.op == "delete":
                before.pop(record.id, None)
            else:
                before[record.id] = dict(record.body["entity"])
    after, current_owners = _view_for(ctx, child)
    owners.update(current_owners)
    records = []
    for line in write_delta(before, after):
        delta = json.loads(line)
        entity = delta["entity"]
        owner = owners.get(entity["id"], ctx.settings.instance_id)
        op = "delete" if delta["op"] == "DEL" else "upsert"
        records.append(FederatedRecord(id=entity["id"], owner=owner, op=op, body={"op": delta["op"], "entity": entity}))
    return _seal(ctx, child, Direction.DOWN, records) if records else None


def pull_signature(ctx: Platform, after: int, at: datetime) -> str:
    """The child signs its pull request, so a province hands list deltas only to its own children."""
    message = f"pull|{ctx.settings.instance_id}|{after}|{at.isoformat()}".encode()
    return base64.b64encode(identity(ctx).private_key.sign(message)).decode()


def _check_pull(ctx: Platform, destination: str, after: int, at: str, signature: str) -> None:
    peer = _peer(ctx, destination)
    try:
        moment = datetime.fromisoformat(at)
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(peer.public_key))
        key.verify(base64.b64decode(signature), f"pull|{destination}|{after}|{at}".encode())
    except (InvalidSignature, ValueError):
        raise Forbidden(f"the pull request is not signed by '{destination}'", field="signature") from None
    if abs((aware(moment) - ctx.now()).total_seconds()) > PULL_SKEW_SECONDS:
        raise Forbidden("the pull request's time is too far from ours (replay?)", field="at")


def batches_for(ctx: Platform, destination: str, *, after: int, at: str, signature: str) -> list[str]:
    """Signed batches for ``destination`` after a sequence (the child's signed pull)."""
    _check_pull(ctx, destination, after, at, signature)
    seal_down(ctx, destination)
    return [row.body for row in _sent(ctx, destination) if row.sequence > after]


def deliver(ctx: Platform, destination: str, client: httpx.Client | None = None) -> dict[str, int]:
    """Send every unacknowledged batch in order; resume from the receiver's expected sequence."""
    peer = _peer(ctx, destination)
    if not peer.base_url:
        raise ValidationFailed(f"no address for instance '{destination}'", field="base_url")
    own = client or httpx.Client(base_url=peer.base_url, timeout=TIMEOUT)
    counts: Counter[str] = Counter()
    try:
        pending = [b for b in _sent(ctx, destination) if b.status == "sent"]
        while pending:
            row = pending.pop(0)
            response = own.post("/api/v1/credit/federation/batches", json={"batch": row.body})
            if response.status_code == 409 and response.json()["error"].get("code") == "sequence_gap":
                expected = int(response.json()["error"]["message"].rsplit("#", 1)[1].split()[0])
                pending = [b for b in _sent(ctx, destination) if b.sequence >= expected]
                counts["resent_from"] = expected
                continue
            response.raise_for_status()
            row.status = "acknowledged"
            row.reason = response.json().get("status")
            counts[row.reason or "acknowledged"] += 1
    finally:
        if client is None:
            own.close()
    ctx.session.flush()
    return dict(counts)


def push(ctx: Platform, client: httpx.Client | None = None) -> dict[str, int]:
    """Seal the changes and deliver them to the parent instance."""
    seal_up(ctx)
    return deliver(ctx, parent(ctx).instance_id, client)


def pull(ctx: Platform, client: httpx.Client | None = None) -> dict[str, int]:
    """Fetch and apply the parent's list deltas after the last one applied here."""
    peer = parent(ctx)
    if not peer.base_url:
        raise ValidationFailed(f"no address for instance '{peer.instance_id}'", field="base_url")
    last = _last_received(ctx, peer.instance_id)
    at = ctx.now()
    params: dict[str, str | int] = {"after": last, "at": at.isoformat(), "signature": pull_signature(ctx, last, at)}
    own = client or httpx.Client(base_url=peer.base_url, timeout=TIMEOUT)
    try:
        response = own.get(f"/api/v1/credit/federation/outbox/{ctx.settings.instance_id}", params=params)
        response.raise_for_status()
        results = [receive(ctx, text) for text in response.json()]
    finally:
        if client is None:
            own.close()
    return dict(Counter(r["status"] for r in results))


# --- receiving ------------------------------------------------------------------------------------


def _last_received(ctx: Platform, origin: str) -> int:
    value = ctx.session.scalar(
        select(func.max(CreditFederationBatch.sequence)).where(
            CreditFederationBatch.origin == origin, CreditFederationBatch.destination == ctx.settings.instance_id
        )
    )
    return int(value or 0)


def receive(ctx: Platform, text: str) -> dict[str, Any]:
    batch = Batch.from_json(text)
    peers = {p.instance_id: p for p in ctx.session.scalars(select(CreditFederationPeer))}
    inbox = Inbox(
        ctx.settings.instance_id,
        {name: p.public_key for name, p in peers.items()},
        relays={name: frozenset(p.relays) for name, p in peers.items()},
    )
    inbox.last_sequence[batch.origin] = _last_received(ctx, batch.origin)
    if batch.sequence <= inbox.last_sequence[batch.origin]:
        verify(batch, inbox.trusted_keys)
        seen = ctx.session.scalar(
            select(CreditFederationBatch).where(
                CreditFederationBatch.origin == batch.origin,
                CreditFederationBatch.destination == ctx.settings.instance_id,
                CreditFederationBatch.sequence == batch.sequence,
            )
        )
        if seen is None or seen.digest != batch.digest():
            raise Conflict(
                f"batch {batch.origin}#{batch.sequence} was already applied with different content",
                field="sequence",
                code="sequence_reused",
            )
        return {"status": ApplyStatus.DUPLICATE.value, "origin": batch.origin, "sequence": batch.sequence}
    ids = [r.id for r in batch.records]
    for held in ctx.session.scalars(select(CreditFederatedRecord).where(CreditFederatedRecord.id.in_(ids))):
        inbox.records[held.id] = FederatedRecord(id=held.id, owner=held.owner, op="upsert", body=held.body)
    result = inbox.receive(batch)  # verifies, orders, guards ownership
    if result.status is ApplyStatus.APPLIED:
        _apply(ctx, batch)
    ctx.session.add(
        CreditFederationBatch(
            origin=batch.origin,
            destination=batch.destination,
            direction=batch.direction.value,
            sequence=batch.sequence,
            digest=result.digest,
            signature=batch.signature,
            body=batch.to_json(),
            status=result.status.value,
            reason=result.reason or None,
            recorded_at=ctx.now(),
        )
    )
    ctx.session.flush()
    return {
        "status": result.status.value,
        "origin": result.origin,
        "sequence": result.sequence,
        "applied": result.applied,
        "reason": result.reason,
    }


def _apply(ctx: Platform, batch: Batch) -> None:
    now = ctx.now()
    for record in batch.records:
        row = ctx.session.get(CreditFederatedRecord, record.id)
        if record.op == "delete":
            if row is not None:
                ctx.session.delete(row)
            continue
        body = dict(record.body)
        if batch.direction is Direction.DOWN:
            # A delta line: keep the entity and mark it in force, as the province published it.
            body = {"kind": "list_entry", "entity": body.get("entity", {}), "op": body.get("op")}
        if row is None:
            row = CreditFederatedRecord(id=record.id, owner=record.owner, via=batch.origin, body=body, received_at=now)
            ctx.session.add(row)
        else:
            row.body, row.via, row.received_at = body, batch.origin, now
    ctx.session.flush()
    if batch.direction is Direction.DOWN:
        materialize(ctx, batch)


def materialize(ctx: Platform, batch: Batch) -> None:
    """Make the province's list deltas count here: its subjects and listings in force become local,
    read-only copies that checks screen against, still owned by the authority that listed them.

    Subjects first (a delta sorts Sanctions before the entities they name), then listings. A list
    this city does not run is kept only as a federated record: without its definition and the
    memoranda signed here, no measure could apply anyway.
    """
    entities = [(r, dict(r.body.get("entity", {}))) for r in batch.records]
    for record, entity in entities:
        if record.op != "delete" and entity.get("schema") in PERSON_SCHEMAS | ORGANIZATION_SCHEMAS:
            subject = entity_to_subject(entity)
            if subject is not None:
                _upsert_subject(ctx, subject)
    ctx.session.flush()
    for record, entity in entities:
        listing_id = record.id.removeprefix("credit-listing-")
        row = ctx.session.get(CreditListing, listing_id)
        if record.op == "delete":
            if row is not None and row.origin_instance != ctx.settings.instance_id:
                ctx.session.delete(row)
            continue
        if entity.get("schema") != "Sanction":
            continue
        _upsert_listing(ctx, listing_id, record.owner, entity, row)
    ctx.session.flush()


def _upsert_subject(ctx: Platform, subject: SubjectRecord) -> None:
    row = ctx.session.get(CreditSubject, subject.id)
    if row is not None:
        return  # already known here: this instance's own data about it stays as it is
    ctx.session.add(
        CreditSubject(
            id=subject.id,
            kind=subject.kind.value,
            name=subject.names[0] if subject.names else subject.id,
            aliases=list(subject.names[1:]),
            birth_date=subject.birth_dates[0] if subject.birth_dates else None,
            country=subject.countries[0] if subject.countries else None,
            identifier=normalize_identifier(subject.identifiers[0]) if subject.identifiers else None,
            person_id=None,
            names_indexed=False,
            created_at=ctx.now(),
        )
    )


def _upsert_listing(
    ctx: Platform, listing_id: str, owner: str, entity: dict[str, Any], row: CreditListing | None
) -> None:
    props = entity.get("properties", {})
    list_code = (props.get("programId") or [None])[0]
    subject_id = (props.get("entity") or [None])[0]
    start, end = (props.get("startDate") or [None])[0], (props.get("endDate") or [None])[0]
    list_row = ctx.session.get(CreditList, list_code) if list_code else None
    if list_row is None or not subject_id or not start or not end or ctx.session.get(CreditSubject, subject_id) is None:
        return
    if row is not None and row.origin_instance == ctx.settings.instance_id:
        return  # never overwritten from outside: this instance owns it
    effective = datetime.fromisoformat(start).replace(tzinfo=UTC)
    expires = datetime.fromisoformat(end).replace(tzinfo=UTC)
    if row is None:
        row = CreditListing(
            id=listing_id,
            list_code=list_code,
            subject_id=subject_id,
            proposed_at=effective,
            proposed_by=f"federation:{owner}",
            origin_instance=owner,
            facts=[],
            notice=None,
            objection=None,
            repair=None,
            corrections=[],
            duration_months=list_row.max_duration_months,
        )
        ctx.session.add(row)
        with ctx.session.no_autoflush:  # the new row is complete only below
            listed = ctx.session.get(CreditSubject, subject_id)
        if listed is not None:
            listed.names_indexed = False  # listed here now: the next check screens its names
    row.state = ListingState.ACTIVE.value
    row.reasons = list(props.get("reason") or [])
    row.effective_from, row.expires_at, row.ended_at = effective, expires, None
    row.updated_at = ctx.now()


def aggregate(ctx: Platform) -> dict[str, Any]:
    """The aggregated view: listings held for other authorities, by owner, list and state."""
    counts: Counter[tuple[str, str, str]] = Counter()
    records = list(ctx.session.scalars(select(CreditFederatedRecord).order_by(CreditFederatedRecord.id)))
    for r in records:
        if r.body.get("kind") == "listing":
            counts[(r.owner, r.body["list"]["code"], r.body["state"])] += 1
    return {
        "instance": ctx.settings.instance_id,
        "by_owner": [
            {"owner": owner, "list": code, "state": state, "listings": n}
            for (owner, code, state), n in sorted(counts.items())
        ],
        "records": len(records),
        "delta_entries": sum(1 for r in records if r.body.get("kind") == "list_entry"),
    }
