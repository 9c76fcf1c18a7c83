"""The demo city's lists and memoranda: the domain's catalogue, bound to this city's agencies.

The domain catalogue names agencies in words ("Finance Bureau"); the platform scopes officers by
agency id, and a memorandum applies only when the asking officer's agency is its applying agency.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from civicbrain.services.credit.domain.catalogue import COURT_DEFAULTERS, TAX_GRADE_A
from civicbrain.services.credit.domain.catalogue import MEMORANDA as DOMAIN_MEMORANDA
from civicbrain.services.credit.domain.listing import ListDefinition, ListKind, SeverityTier
from civicbrain.services.credit.domain.measures import Measure, MeasureEffect, Memorandum

# (agency id, name, contact) for agencies the credit catalogue needs beyond the demo city's own.
EXTRA_AGENCIES = (
    ("finance-bureau", "Finance Bureau", "procurement@finance.demo.city"),
    ("development-reform", "Development and Reform Commission", "credit@ndrc.demo.city"),
    ("railway-bureau", "Railway Bureau", "tickets@rail.demo.city"),
    ("tax-bureau", "Tax Bureau", "credit@tax.demo.city"),
)
AGENCY_IDS = {
    "Intermediate People's Court": "intermediate-court",
    "Finance Bureau": "finance-bureau",
    "Development and Reform Commission": "development-reform",
    "Railway Bureau": "railway-bureau",
    "Tax Bureau": "tax-bureau",
}

MARKET_VIOLATIONS = ListDefinition(
    code="market-serious-violations",
    title="Serious market-regulation violations",
    owning_agency="market-regulation",
    legal_basis="Measures for the Administration of the List of Seriously Illegal and Dishonest Entities "
    "(SAMR, 2021), art. 2 and 5",
    criteria=("administrative penalty for a serious violation: unsafe food or drugs, fraud, unlicensed operation",),
    kind=ListKind.BLACKLIST,
    tier=SeverityTier.GENERAL,
    max_duration_months=12,
    exit_conditions=("the penalty is performed and the violation corrected", "the maximum listing period has run"),
)

LISTS = (
    replace(COURT_DEFAULTERS, owning_agency=AGENCY_IDS[COURT_DEFAULTERS.owning_agency]),
    MARKET_VIOLATIONS,
    replace(TAX_GRADE_A, owning_agency=AGENCY_IDS[TAX_GRADE_A.owning_agency]),
)
_CODES = {d.code for d in LISTS}

MEMORANDA = (
    *(
        replace(m, list_agency=AGENCY_IDS[m.list_agency], applying_agency=AGENCY_IDS[m.applying_agency])
        for m in DOMAIN_MEMORANDA
        if m.list_code in _CODES
    ),
    Memorandum(
        id="mou-market-procurement",
        list_code=MARKET_VIOLATIONS.code,
        list_agency=MARKET_VIOLATIONS.owning_agency,
        applying_agency="finance-bureau",
        measure=Measure("tender-exclusion", "excluded from government procurement tenders", MeasureEffect.RESTRICT),
        contexts=frozenset({"public tender"}),
        legal_basis="Government Procurement Law art. 22(5): no serious violation in the last three years",
        proportionality="public contracts only; ends with the listing",
        signed_on=date(2021, 9, 1),
    ),
)
