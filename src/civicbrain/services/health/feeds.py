"""The feeds this service reads through the exchange."""

from __future__ import annotations

from civicbrain.core.exchange import FeedSchema, FeedSpec, FieldDecl

WEARABLE_MINUTES = FeedSpec(
    agency_id="health-commission",
    name="wearable_minutes",
    purpose="health",
    description="Per-minute heart rate and steps from the wearables of residents who consented to alerts.",
    schema=FeedSchema(
        fields=[
            FieldDecl(name="person_id", type="string", category="identifier"),
            FieldDecl(name="minute", type="datetime", category="health"),
            FieldDecl(name="heart_rate", type="number", category="health"),
            FieldDecl(name="steps", type="integer", category="health", required=False),
        ],
        key=["person_id", "minute"],
        subject_field="person_id",
    ),
)

# Published by the health authority during an outbreak: vehicles confirmed cases travelled on. No person's
# name or identity, only the case number the authority published.
CASE_ITINERARIES = FeedSpec(
    agency_id="health-commission",
    name="case_itineraries",
    purpose="health",
    description="Published itineraries of confirmed cases (flight or train number, date, carriage).",
    schema=FeedSchema(
        fields=[
            FieldDecl(name="case_id", type="string", category="public_record"),
            FieldDecl(name="number", type="string", category="public_record"),
            FieldDecl(name="travel_date", type="date", category="public_record"),
            FieldDecl(name="carriage", type="string", category="public_record", required=False),
        ],
        key=["case_id", "number", "travel_date"],
    ),
)

FEEDS = (WEARABLE_MINUTES, CASE_ITINERARIES)
