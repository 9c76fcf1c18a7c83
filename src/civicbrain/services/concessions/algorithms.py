"""The concession service's register card."""

from __future__ import annotations

from civicbrain.core.privacy import DataCategory, Purpose
from civicbrain.core.register import AlgorithmCard, Figure
from civicbrain.services.concessions.rules import VERSION

FARE_CONCESSION = AlgorithmCard(
    id="concessions.fare_eligibility",
    version=VERSION,
    title="Public-transport fare concession eligibility",
    purpose="Tells residents whether they qualify for the reduced public-transport fare, without an application.",
    service="concessions",
    owner_agency="civil-affairs",
    contact="concessions@civil-affairs.demo.city",
    legal_basis="Demo City Public Transport Concession Ordinance, art. 3 (eligibility) and art. 7 (review)",
    decision_type="Grants the fare concession automatically; never withdraws one without a human decision.",
    human_oversight="Every refusal can be contested by its receipt; a reviewer in Civil Affairs decides within "
    "30 days. Officers review a 5% sample of grants each month.",
    data_purpose=Purpose.BENEFITS,
    inputs={
        "age_band": DataCategory.DEMOGRAPHIC,
        "income_band": DataCategory.FINANCIAL,
        "minimum_livelihood": DataCategory.FINANCIAL,
    },
    method="Three published rules, any of which qualifies: age 65+, lowest household income band, or receipt "
    "of the minimum livelihood guarantee. No model, no weights.",
    parameters={"qualifying_age_band": "65+", "qualifying_income_band": "low"},
    performance=(Figure(name="rules implemented as published", value="3 of 3", protocol="unit tests of each rule"),),
    risks=("Stale income data may refuse an eligible resident.",),
    mitigations=("Refusals name the data used; residents contest and a human decides.",),
    favourable_outcomes=("eligible",),
    status="live",
)
