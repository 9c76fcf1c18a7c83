"""A starting catalogue: published lists, memoranda and the city score's points table.

These are the definitions a city would publish on day one, written as data so the
service can seed them, the portal can show them and the register can cite them. Each
names its legal basis; an agency adopting them replaces the bases with its own
instruments. Nothing here is a person's data.
"""

from __future__ import annotations

from datetime import date

from civicbrain.services.credit.domain.listing import ListDefinition, ListKind, SeverityTier
from civicbrain.services.credit.domain.measures import Measure, MeasureEffect, Memorandum
from civicbrain.services.credit.domain.score import (
    Band,
    Benefit,
    BenefitKind,
    PointsRule,
    PointsTable,
    RuleKind,
)

COURT_DEFAULTERS = ListDefinition(
    code="court-judgement-defaulters",
    title="Judgement defaulters (dishonest persons subject to enforcement)",
    owning_agency="Intermediate People's Court",
    legal_basis="SPC Provisions on Publishing the List of Dishonest Judgement Defaulters (2017)",
    criteria=(
        "able to perform an effective legal instrument and refusing to",
        "obstructing enforcement by forged evidence, violence or threats",
        "evading enforcement by false litigation, arbitration or concealing assets",
    ),
    kind=ListKind.BLACKLIST,
    tier=SeverityTier.SERIOUS,
    max_duration_months=24,
    exit_conditions=(
        "the obligation in the legal instrument is performed",
        "the creditor confirms a settlement has been performed",
        "the maximum listing period has run",
    ),
    objection_window_days=15,  # correction review within 15 days (defaulter-list rules)
    repair_decision_days=3,  # removal within 3 working days of performance
)

ENVIRONMENT_PENALTIES = ListDefinition(
    code="environment-serious-penalties",
    title="Serious environmental violations",
    owning_agency="Ecology and Environment Bureau",
    legal_basis="Environmental Protection Law art. 54 and 59; administrative penalty decisions in force",
    criteria=("administrative penalty above the general threshold for emissions or illegal dumping",),
    kind=ListKind.BLACKLIST,
    tier=SeverityTier.GENERAL,
    max_duration_months=12,
    exit_conditions=("penalty paid and rectification accepted", "the maximum listing period has run"),
    objection_window_days=15,
    repair_decision_days=15,
)

TAX_GRADE_A = ListDefinition(
    code="tax-grade-a",
    title="Grade A taxpayers",
    owning_agency="Tax Bureau",
    legal_basis="Tax Credit Evaluation Measures (trial), art. 3",
    criteria=("rated grade A in the annual tax credit evaluation",),
    kind=ListKind.REDLIST,
    tier=SeverityTier.GENERAL,
    max_duration_months=12,
    exit_conditions=("the next annual evaluation", "the maximum listing period has run"),
)

LISTS = (COURT_DEFAULTERS, ENVIRONMENT_PENALTIES, TAX_GRADE_A)

MEMORANDA = (
    Memorandum(
        id="mou-defaulters-procurement",
        list_code=COURT_DEFAULTERS.code,
        list_agency=COURT_DEFAULTERS.owning_agency,
        applying_agency="Finance Bureau",
        measure=Measure("tender-exclusion", "excluded from government procurement tenders", MeasureEffect.RESTRICT),
        contexts=frozenset({"public tender"}),
        legal_basis="Memorandum on joint measures against dishonest judgement defaulters (2016), measure 12",
        proportionality="public money is not paid to a party refusing a court order; ends with the listing",
        signed_on=date(2016, 1, 20),
    ),
    Memorandum(
        id="mou-defaulters-subsidy",
        list_code=COURT_DEFAULTERS.code,
        list_agency=COURT_DEFAULTERS.owning_agency,
        applying_agency="Development and Reform Commission",
        measure=Measure("subsidy-restriction", "no new discretionary subsidies", MeasureEffect.RESTRICT),
        contexts=frozenset({"subsidy"}),
        legal_basis="Memorandum on joint measures against dishonest judgement defaulters (2016), measure 4",
        proportionality="discretionary support only; statutory benefits and social assistance unaffected",
        signed_on=date(2016, 1, 20),
    ),
    Memorandum(
        id="mou-defaulters-rail",
        list_code=COURT_DEFAULTERS.code,
        list_agency=COURT_DEFAULTERS.owning_agency,
        applying_agency="Railway Bureau",
        measure=Measure("premium-seat-restriction", "no first-class or sleeper premium seats", MeasureEffect.RESTRICT),
        contexts=frozenset({"rail ticket"}),
        legal_basis="SPC Provisions on restricting high consumption by judgement defaulters (2015), art. 3",
        proportionality="ordinary seats remain available: travel itself is never refused",
        signed_on=date(2015, 7, 20),
    ),
    Memorandum(
        id="mou-environment-procurement",
        list_code=ENVIRONMENT_PENALTIES.code,
        list_agency=ENVIRONMENT_PENALTIES.owning_agency,
        applying_agency="Finance Bureau",
        measure=Measure(
            "green-tender-exclusion", "excluded from environmental-service tenders", MeasureEffect.RESTRICT
        ),
        contexts=frozenset({"public tender"}),
        legal_basis="Memorandum on joint measures in environmental protection (2016), measure 2",
        proportionality="limited to tenders in the field of the violation; ends with the listing",
        signed_on=date(2016, 7, 20),
    ),
    Memorandum(
        id="mou-tax-a-facilitation",
        list_code=TAX_GRADE_A.code,
        list_agency=TAX_GRADE_A.owning_agency,
        applying_agency="Tax Bureau",
        measure=Measure("green-channel", "fast-track invoice and refund handling", MeasureEffect.PRIORITY),
        contexts=frozenset({"tax service"}),
        legal_basis="Memorandum on joint incentives for grade A taxpayers (2016), measure 1",
        proportionality="procedural priority only; nobody else is slowed",
        signed_on=date(2016, 7, 1),
    ),
)

CITY_SCORE_TABLE = PointsTable(
    version="2026.1",
    published_on=date(2026, 1, 1),
    base=550,
    rules=(
        PointsRule(
            "on-time-payment",
            "public utility, fee or fine paid on time",
            RuleKind.EARN,
            2,
            60,
            "pay public bills on time",
        ),
        PointsRule("volunteer-hour", "hour of registered volunteering", RuleKind.EARN, 1, 100, "volunteer"),
        PointsRule("blood-donation", "voluntary blood donation", RuleKind.EARN, 30, 60, "donate blood"),
        PointsRule("traffic-violation", "traffic offence with a fine", RuleKind.VIOLATION, -20),
        PointsRule("administrative-penalty", "administrative penalty (general)", RuleKind.VIOLATION, -80),
        PointsRule("serious-violation", "serious violation with a court judgement", RuleKind.VIOLATION, -150),
    ),
    bands=(
        Band(
            "Jasmine 600",
            600,
            (
                Benefit(
                    "library-deposit-free",
                    "borrow books without a deposit",
                    BenefitKind.DEPOSIT_FREE,
                    "library",
                    "City Library",
                ),
                Benefit(
                    "bike-deposit-free",
                    "public bikes without a deposit",
                    BenefitKind.DEPOSIT_FREE,
                    "public bike",
                    "Transport Bureau",
                ),
            ),
        ),
        Band(
            "Jasmine 700",
            700,
            (
                Benefit(
                    "museum-discount", "half-price museum tickets", BenefitKind.DISCOUNT, "museum", "Culture Bureau"
                ),
                Benefit(
                    "hall-priority",
                    "priority queue at the citizen service hall",
                    BenefitKind.PRIORITY,
                    "service hall",
                    "Administrative Service Centre",
                ),
            ),
        ),
    ),
)
