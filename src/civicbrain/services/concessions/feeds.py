"""The feed this service reads: household income data from the Civil Affairs Bureau."""

from __future__ import annotations

from civicbrain.core.exchange import FeedSchema, FeedSpec, FieldDecl

HOUSEHOLD_INCOME = FeedSpec(
    agency_id="civil-affairs",
    name="household_income",
    purpose="benefits",
    description="Household income band and minimum livelihood guarantee status, per resident, updated monthly.",
    schema=FeedSchema(
        fields=[
            FieldDecl(name="person_id", type="string", category="identifier"),
            FieldDecl(name="month", type="string", category="administrative"),
            FieldDecl(name="income_band", type="string", category="financial"),
            FieldDecl(name="minimum_livelihood", type="boolean", category="financial"),
        ],
        key=["person_id", "month"],
        subject_field="person_id",
    ),
)
