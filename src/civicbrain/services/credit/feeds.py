"""The feeds the credit platform reads: agencies' public credit information, through the exchange.

Records are about persons (``person_id`` when the resident is on this instance's register, and the
resident ID number) or firms (the unified social credit code). Every field is declared with its
category; the core refuses forbidden categories when a feed is registered and quarantines records
carrying undeclared fields, naming a forbidden category when the field's name reveals one. The
credit platform's own stricter name rules (``domain.public.check_intake_fields``: medical history,
for instance) are applied to these declarations when the module loads, so a feed that breaks them
cannot even be declared.
"""

from __future__ import annotations

from civicbrain.core.exchange import FeedSchema, FeedSpec, FieldDecl
from civicbrain.services.credit.domain.public import check_intake_fields

# Who the record is about: shared by every credit feed so the service reads them the same way.
SUBJECT_FIELDS = (
    FieldDecl(name="subject_kind", type="string", category="identifier"),  # person | organization
    FieldDecl(name="subject_name", type="string", category="identifier"),
    FieldDecl(name="id_number", type="string", category="identifier", required=False),
    FieldDecl(name="birth_date", type="string", category="demographic", required=False),
    FieldDecl(name="person_id", type="string", category="identifier", required=False),
)


def _feed(agency: str, name: str, description: str, fields: list[FieldDecl], key: str) -> FeedSpec:
    check_intake_fields({f.name: f.category for f in fields})
    return FeedSpec(
        agency_id=agency,
        name=name,
        purpose="credit",
        description=description,
        schema=FeedSchema(fields=fields, key=[key], subject_field="person_id"),
    )


ADMINISTRATIVE_PENALTIES = _feed(
    "market-regulation",
    "administrative_penalties",
    "Administrative penalty decisions in force (market regulation), per person or firm.",
    [
        FieldDecl(name="decision_number", type="string", category="administrative"),
        *SUBJECT_FIELDS,
        FieldDecl(name="violation", type="string", category="administrative"),
        FieldDecl(name="amount", type="number", category="financial", required=False),
        FieldDecl(name="decided_on", type="date", category="administrative"),
    ],
    "decision_number",
)

ENFORCEMENT_OUTCOMES = _feed(
    "intermediate-court",
    "enforcement_outcomes",
    "Enforcement outcomes: obligations in effective judgements and whether they were performed.",
    [
        FieldDecl(name="case_number", type="string", category="judicial"),
        *SUBJECT_FIELDS,
        FieldDecl(name="obligation", type="string", category="judicial"),
        FieldDecl(name="outcome", type="string", category="judicial"),  # unperformed | performed
        FieldDecl(name="decided_on", type="date", category="judicial"),
    ],
    "case_number",
)

COMMENDATIONS = _feed(
    "civil-affairs",
    "commendations",
    "Commendations and on-time payments that earn city-score points (volunteering, blood donation).",
    [
        FieldDecl(name="record_id", type="string", category="administrative"),
        *SUBJECT_FIELDS,
        # A rule code of the published points table: on-time-payment, volunteer-hour, blood-donation.
        FieldDecl(name="kind", type="string", category="administrative"),
        FieldDecl(name="quantity", type="integer", category="administrative", required=False),
        FieldDecl(name="occurred_on", type="date", category="administrative"),
    ],
    "record_id",
)

FEEDS = (ADMINISTRATIVE_PENALTIES, ENFORCEMENT_OUTCOMES, COMMENDATIONS)
# What each feed's records count as in the city score (for residents who opted in).
SCORE_RULE_OF_FEED = {
    ADMINISTRATIVE_PENALTIES.name: "administrative-penalty",
    ENFORCEMENT_OUTCOMES.name: "serious-violation",
}
