"""Federation: city -> province -> national, with signed, idempotent, resumable batches.

* Signed: each batch is signed with the origin instance's Ed25519 key; a receiver holds
  the public keys of the instances it federates with and refuses anything unsigned,
  mis-signed or from an unknown origin.
* Idempotent and resumable: batches carry a per-origin sequence number. The receiver
  applies ``last + 1`` only; a re-sent batch it has applied is acknowledged and ignored,
  a gap is refused with the sequence it expects, so the sender resumes from there.
* Origin stays owner ("who lists, who repairs"): every record names its owning
  authority; a receiver accepts changes to a record only from the instance that owns it,
  so a province can aggregate a city's listings but never repair or alter them itself.
  A batch that breaks this is rejected whole (status "rejected", with the reason) and its
  sequence number is consumed, so one bad batch cannot stall the stream.

Upward batches carry records and listings; downward batches carry list deltas (FtM
ADD/MOD/DEL lines, ``ftm.write_delta``). Transport is the service's concern.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from civicbrain.core.errors import Conflict, Forbidden, ValidationFailed


class Direction(StrEnum):
    UP = "up"  # city -> province -> national: records and listings
    DOWN = "down"  # province -> city: list deltas


@dataclass(frozen=True)
class FederatedRecord:
    """One record in a batch: its id, the authority that owns it, and its content."""

    id: str
    owner: str
    op: str  # "upsert" or "delete"
    body: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "owner": self.owner, "op": self.op, "body": dict(self.body)}


@dataclass(frozen=True)
class Batch:
    origin: str
    destination: str
    direction: Direction
    sequence: int
    created_at: str  # ISO 8601, part of the signed content
    records: tuple[FederatedRecord, ...]
    signature: str = ""

    def payload(self) -> bytes:
        """The canonical bytes that are signed: sorted-key JSON without the signature."""
        content = {
            "origin": self.origin,
            "destination": self.destination,
            "direction": self.direction.value,
            "sequence": self.sequence,
            "created_at": self.created_at,
            "records": [r.as_dict() for r in self.records],
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def digest(self) -> str:
        return hashlib.sha256(self.payload()).hexdigest()

    def to_json(self) -> str:
        data = json.loads(self.payload())
        data["signature"] = self.signature
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Batch:
        try:
            data = json.loads(text)
            return cls(
                origin=data["origin"],
                destination=data["destination"],
                direction=Direction(data["direction"]),
                sequence=int(data["sequence"]),
                created_at=data["created_at"],
                records=tuple(FederatedRecord(**r) for r in data["records"]),
                signature=data.get("signature", ""),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValidationFailed(f"malformed batch: {error}", field="batch") from None


@dataclass(frozen=True)
class InstanceIdentity:
    """An instance's name and signing key (the private key stays on the instance)."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> InstanceIdentity:
        return cls(name, Ed25519PrivateKey.generate())

    def public_key_b64(self) -> str:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def sign(self, batch: Batch) -> Batch:
        if batch.origin != self.name:
            raise ValidationFailed(f"{self.name} cannot sign a batch from {batch.origin}", field="origin")
        signature = base64.b64encode(self.private_key.sign(batch.payload())).decode()
        return Batch(**{**batch.__dict__, "signature": signature})


def verify(batch: Batch, trusted_keys: Mapping[str, str]) -> None:
    """Refuse a batch from an unknown origin, unsigned, or whose content changed after signing."""
    key_b64 = trusted_keys.get(batch.origin)
    if key_b64 is None:
        raise Forbidden(f"no trusted key for instance '{batch.origin}'", field="origin")
    if not batch.signature:
        raise Forbidden("batch is not signed", field="signature")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_b64))
        public_key.verify(base64.b64decode(batch.signature), batch.payload())
    except (InvalidSignature, ValueError):
        raise Forbidden(
            f"signature of batch {batch.origin}#{batch.sequence} does not verify", field="signature"
        ) from None


class Outbox:
    """The sending side: numbers batches per destination and re-sends from the last ack."""

    def __init__(self, identity: InstanceIdentity, destination: str, direction: Direction) -> None:
        self.identity = identity
        self.destination = destination
        self.direction = direction
        self._sent: list[Batch] = []
        self.acknowledged = 0

    def add(self, records: Sequence[FederatedRecord], now: datetime) -> Batch:
        """Seal records into the next signed batch."""
        if not records:
            raise ValidationFailed("a batch needs at least one record", field="records")
        batch = Batch(
            origin=self.identity.name,
            destination=self.destination,
            direction=self.direction,
            sequence=len(self._sent) + 1,
            created_at=now.isoformat(),
            records=tuple(records),
        )
        signed = self.identity.sign(batch)
        self._sent.append(signed)
        return signed

    def acknowledge(self, sequence: int) -> None:
        self.acknowledged = max(self.acknowledged, sequence)

    def pending(self, from_sequence: int | None = None) -> list[Batch]:
        """Batches to (re)send: from the receiver's expected sequence, or after the last ack."""
        start = from_sequence if from_sequence is not None else self.acknowledged + 1
        return [b for b in self._sent if b.sequence >= start]


class ApplyStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"  # authentic and in order, but would change what its sender does not own


@dataclass(frozen=True)
class ApplyResult:
    status: ApplyStatus
    origin: str
    sequence: int
    applied: int
    digest: str
    reason: str = ""


class Inbox:
    """The receiving side: verifies, applies in order exactly once, and guards ownership."""

    def __init__(
        self, name: str, trusted_keys: Mapping[str, str], relays: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        self.name = name
        self.trusted_keys = dict(trusted_keys)
        # A province forwards its cities' records to the national view: origin -> the
        # authorities whose records it may relay (unchanged - ownership still applies).
        self.relays = {origin: frozenset(owners) for origin, owners in (relays or {}).items()}
        self.records: dict[str, FederatedRecord] = {}
        self.last_sequence: dict[str, int] = {}
        self._digests: dict[tuple[str, int], str] = {}

    def expected(self, origin: str) -> int:
        return self.last_sequence.get(origin, 0) + 1

    def receive(self, batch: Batch) -> ApplyResult:
        verify(batch, self.trusted_keys)
        if batch.destination != self.name:
            raise ValidationFailed(f"batch is addressed to {batch.destination}, not {self.name}", field="destination")
        expected = self.expected(batch.origin)
        if batch.sequence < expected:
            if self._digests.get((batch.origin, batch.sequence)) != batch.digest():
                raise Conflict(
                    f"batch {batch.origin}#{batch.sequence} was already applied with different content",
                    field="sequence",
                    code="sequence_reused",
                )
            return ApplyResult(ApplyStatus.DUPLICATE, batch.origin, batch.sequence, 0, batch.digest())
        if batch.sequence > expected:
            raise Conflict(
                f"batch {batch.origin}#{batch.sequence} arrived before #{expected}; resend from #{expected}",
                field="sequence",
                code="sequence_gap",
            )
        self.last_sequence[batch.origin] = batch.sequence
        self._digests[(batch.origin, batch.sequence)] = batch.digest()
        try:
            self._check_ownership(batch)
        except (Forbidden, ValidationFailed) as refusal:
            # The sequence is consumed so the stream does not stall behind a bad batch;
            # nothing in it is applied, and the result says why (for the ledger).
            return ApplyResult(ApplyStatus.REJECTED, batch.origin, batch.sequence, 0, batch.digest(), refusal.message)
        for record in batch.records:
            if record.op == "delete":
                self.records.pop(record.id, None)
            else:
                self.records[record.id] = record
        return ApplyResult(ApplyStatus.APPLIED, batch.origin, batch.sequence, len(batch.records), batch.digest())

    def _check_ownership(self, batch: Batch) -> None:
        # Checked for the whole batch before anything is applied: a batch is all or nothing.
        for record in batch.records:
            if record.op not in {"upsert", "delete"}:
                raise ValidationFailed(f"record {record.id}: op must be upsert or delete", field="op")
            held = self.records.get(record.id)
            owner = held.owner if held is not None else record.owner
            may_send = {batch.origin} | self.relays.get(batch.origin, frozenset())
            if batch.direction is Direction.UP and record.owner not in may_send:
                raise Forbidden(
                    f"record {record.id} is owned by {record.owner}; {batch.origin} may only send its own "
                    "records or relay those of the instances below it",
                    field="owner",
                )
            if owner != record.owner:
                raise Forbidden(
                    f"record {record.id} is owned by {owner}; only that authority may change or repair it",
                    field="owner",
                )
