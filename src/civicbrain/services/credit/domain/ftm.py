"""FollowTheMoney export and import: Person, Company and Sanction-shaped listings.

Lists leave and enter the platform as FtM JSON lines (one entity per line), the format
OpenSanctions, yente and nomenklatura read, so a city list can be screened by any of
them and their lists screened by ours. Changes travel as delta files in yente's format:
one ``{"op": "ADD"|"MOD"|"DEL", "entity": {...}}`` per line, with an index
(``delta.json``: ``{"versions": {version: url}, "updated_at": ...}``) naming the files in
order, so a reader resumes from the last version it applied.

Entities are built and validated with followthemoney's model: property names and types
are checked there, not here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from followthemoney import model

from civicbrain.core.errors import ValidationFailed
from civicbrain.services.credit.domain.listing import ListDefinition, Listing
from civicbrain.services.credit.domain.matching import SubjectRecord
from civicbrain.services.credit.domain.names import NameKind

PERSON_SCHEMAS = frozenset({"Person"})
ORGANIZATION_SCHEMAS = frozenset({"Company", "Organization", "LegalEntity", "PublicBody"})
_ID_PROPS = ("idNumber", "registrationNumber", "taxNumber", "uscCode", "innCode", "ogrnCode", "leiCode")


def _entity(schema: str, entity_id: str, properties: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    proxy = model.make_entity(schema)
    proxy.id = entity_id
    for prop, values in properties.items():
        for value in values:
            if value:
                proxy.add(prop, value)
    return proxy.to_dict()


def subject_to_entity(subject: SubjectRecord) -> dict[str, Any]:
    """A subject as an FtM Person (resident ID as idNumber) or Company (USCC as registrationNumber)."""
    if subject.kind is NameKind.PERSON:
        return _entity(
            "Person",
            subject.id,
            {
                "name": subject.names,
                "birthDate": subject.birth_dates,
                "country": subject.countries,
                "idNumber": subject.identifiers,
            },
        )
    return _entity(
        "Company",
        subject.id,
        {"name": subject.names, "country": subject.countries, "registrationNumber": subject.identifiers},
    )


def sanction_id(listing: Listing) -> str:
    return f"credit-listing-{listing.id}"


def listing_to_sanction(listing: Listing, definition: ListDefinition) -> dict[str, Any]:
    """A listing as an FtM Sanction: authority, program, provisions, reason, start/end, status."""
    end = listing.ended_at or listing.expires_at
    return _entity(
        "Sanction",
        sanction_id(listing),
        {
            "entity": [listing.subject_id],
            "authority": [definition.owning_agency],
            "program": [definition.title],
            "programId": [definition.code],
            "provisions": [f"{definition.kind.value}, {definition.tier.value} tier: {definition.legal_basis}"],
            "reason": listing.reasons,
            "startDate": [listing.effective_from.date().isoformat()] if listing.effective_from else [],
            "endDate": [end.date().isoformat()] if end else [],
            "listingDate": [listing.effective_from.date().isoformat()] if listing.effective_from else [],
            "status": [listing.state.value],
        },
    )


def export_lines(
    subjects: Mapping[str, SubjectRecord],
    listings: Iterable[Listing],
    definitions: Mapping[str, ListDefinition],
    now: datetime,
    published_only: bool = True,
) -> Iterator[str]:
    """JSON lines of every listing in effect (published lists only, by default) and its subject."""
    emitted: set[str] = set()
    for listing in listings:
        definition = definitions[listing.list_code]
        if not listing.is_in_effect(now) or (published_only and not definition.is_published):
            continue
        if listing.subject_id not in emitted:
            emitted.add(listing.subject_id)
            yield json.dumps(subject_to_entity(subjects[listing.subject_id]), ensure_ascii=False, sort_keys=True)
        yield json.dumps(listing_to_sanction(listing, definition), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class SanctionRecord:
    """A Sanction entity read back: the fields our lists and screening use."""

    id: str
    entity_ids: tuple[str, ...]
    authority: tuple[str, ...]
    program: tuple[str, ...]
    provisions: tuple[str, ...]
    reason: tuple[str, ...]
    start_date: str | None
    end_date: str | None
    status: str | None


def _checked(data: Mapping[str, Any]) -> Any:
    if not isinstance(data, Mapping) or "id" not in data or "schema" not in data:
        raise ValidationFailed("an FtM entity needs 'id' and 'schema'", field="entity")
    if model.get(data["schema"]) is None:
        raise ValidationFailed(f"unknown FtM schema '{data['schema']}'", field="schema")
    return model.get_proxy(dict(data), cleaned=False)


def entity_to_subject(data: Mapping[str, Any]) -> SubjectRecord | None:
    """A Person or organisation entity as a screening subject; None for other schemas."""
    proxy = _checked(data)
    if proxy.schema.name in PERSON_SCHEMAS:
        kind = NameKind.PERSON
    elif proxy.schema.name in ORGANIZATION_SCHEMAS:
        kind = NameKind.ORGANIZATION
    else:
        return None
    names = [*proxy.get("name"), *proxy.get("alias", quiet=True)]
    identifiers = [v for prop in _ID_PROPS for v in proxy.get(prop, quiet=True)]
    countries = [*proxy.get("country", quiet=True), *proxy.get("nationality", quiet=True)]
    return SubjectRecord(
        id=proxy.id,
        kind=kind,
        names=tuple(dict.fromkeys(names)),
        birth_dates=tuple(proxy.get("birthDate", quiet=True)),
        countries=tuple(dict.fromkeys(c.lower() for c in countries)),
        identifiers=tuple(dict.fromkeys(identifiers)),
    )


def entity_to_sanction(data: Mapping[str, Any]) -> SanctionRecord | None:
    proxy = _checked(data)
    if proxy.schema.name != "Sanction":
        return None
    return SanctionRecord(
        id=proxy.id,
        entity_ids=tuple(proxy.get("entity")),
        authority=tuple(proxy.get("authority")),
        program=tuple(proxy.get("program")),
        provisions=tuple(proxy.get("provisions")),
        reason=tuple(proxy.get("reason")),
        start_date=proxy.first("startDate"),
        end_date=proxy.first("endDate"),
        status=proxy.first("status"),
    )


@dataclass
class ImportedList:
    subjects: dict[str, SubjectRecord]
    sanctions: dict[str, SanctionRecord]
    skipped: dict[str, int]  # schema -> count of entities we do not use


def read_entities(lines: Iterable[str]) -> ImportedList:
    """Read FtM JSON lines into subjects and sanctions; a bad line names its number."""
    store = EntityStore()
    for number, line in enumerate(lines, start=1):
        if line.strip():
            store.put(_parse_line(line, number))
    return store.to_imported()


def _parse_line(line: str, number: int) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValidationFailed(f"line {number} is not JSON: {error.msg}", field="line") from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"line {number} is not a JSON object", field="line")
    return data


class DeltaOp(StrEnum):
    ADD = "ADD"
    MOD = "MOD"
    DEL = "DEL"


@dataclass(frozen=True)
class Delta:
    op: DeltaOp
    entity_id: str
    entity: dict[str, Any] | None


def read_delta(lines: Iterable[str]) -> list[Delta]:
    deltas: list[Delta] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        data = _parse_line(line, number)
        try:
            op = DeltaOp(str(data.get("op")))
        except ValueError:
            raise ValidationFailed(f"line {number}: op must be ADD, MOD or DEL", field="op") from None
        entity = data.get("entity")
        if not isinstance(entity, dict) or not entity.get("id"):
            raise ValidationFailed(f"line {number}: a delta needs an entity with an id", field="entity")
        if op is not DeltaOp.DEL:
            _checked(entity)
        deltas.append(Delta(op, str(entity["id"]), None if op is DeltaOp.DEL else entity))
    return deltas


def write_delta(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> Iterator[str]:
    """The ADD/MOD/DEL lines that turn ``before`` into ``after`` (entities keyed by id)."""
    for entity_id in sorted(after):
        if entity_id not in before:
            op = DeltaOp.ADD
        elif dict(before[entity_id]) != dict(after[entity_id]):
            op = DeltaOp.MOD
        else:
            continue
        yield json.dumps({"op": op.value, "entity": dict(after[entity_id])}, ensure_ascii=False, sort_keys=True)
    for entity_id in sorted(set(before) - set(after)):
        yield json.dumps({"op": DeltaOp.DEL.value, "entity": {"id": entity_id}}, sort_keys=True)


class EntityStore:
    """Entities by id, kept current by full loads and delta files."""

    def __init__(self) -> None:
        self.entities: dict[str, dict[str, Any]] = {}

    def put(self, data: dict[str, Any]) -> None:
        _checked(data)
        self.entities[str(data["id"])] = data

    def apply(self, deltas: Iterable[Delta]) -> dict[str, int]:
        """Apply deltas in order. ADD/MOD upsert, DEL removes; re-applying is harmless."""
        counts = {op.value: 0 for op in DeltaOp}
        for delta in deltas:
            if delta.op is DeltaOp.DEL:
                self.entities.pop(delta.entity_id, None)
            else:
                assert delta.entity is not None
                self.entities[delta.entity_id] = delta.entity
            counts[delta.op.value] += 1
        return counts

    def to_imported(self) -> ImportedList:
        subjects: dict[str, SubjectRecord] = {}
        sanctions: dict[str, SanctionRecord] = {}
        skipped: dict[str, int] = {}
        for data in self.entities.values():
            subject = entity_to_subject(data)
            if subject is not None:
                subjects[subject.id] = subject
                continue
            sanction = entity_to_sanction(data)
            if sanction is not None:
                sanctions[sanction.id] = sanction
                continue
            skipped[data["schema"]] = skipped.get(data["schema"], 0) + 1
        return ImportedList(subjects, sanctions, skipped)


def pending_versions(index: Mapping[str, Any], applied: str | None) -> list[str]:
    """Delta versions after ``applied``, oldest first, from a yente-style ``delta.json``.

    Version names sort by time (they start with a timestamp), so resuming is "everything
    after the last one applied".
    """
    versions = index.get("versions")
    if not isinstance(versions, Mapping):
        raise ValidationFailed("a delta index needs a 'versions' mapping", field="versions")
    ordered = sorted(versions)
    return [v for v in ordered if applied is None or v > applied]
