"""The credit service's register cards: listing, check, city score and score consent.

Each card's version is the domain's version of the rule it describes, and its parameters are
the domain's own payloads (``matcher_card_payload``, ``PointsTable.card_payload``), so the
public register shows exactly the threshold and points table the code runs (issue 4, item 6).
"""

from __future__ import annotations

from civicbrain.core.privacy import DataCategory, Purpose
from civicbrain.core.register import AlgorithmCard, Figure
from civicbrain.services.credit.domain.catalogue import CITY_SCORE_TABLE
from civicbrain.services.credit.domain.listing import LISTING_VERSION, TIER_RULES
from civicbrain.services.credit.domain.matching import matcher_card_payload
from civicbrain.services.credit.domain.measures import CHECK_VERSION

CONTACT = "credit@market.demo.city"
OWNER = "market-regulation"

LISTING = AlgorithmCard(
    id="credit.listing",
    version=LISTING_VERSION,
    title="Credit listing with due process",
    purpose="Records each step of putting a person or firm on a published blacklist or redlist: proposal, "
    "notice, objection, taking effect, expiry, repair.",
    service="credit",
    owner_agency=OWNER,
    contact=CONTACT,
    legal_basis="State Council General Office Guiding Opinions No. 49 (2020) on the credit-restriction system; "
    "each list's own legal basis is published with the list",
    decision_type="Applies the published listing rules: no listing takes effect without notice, before the "
    "objection window closes, or while an objection is open; listings end automatically at their maximum.",
    human_oversight="An officer of the owning agency proposes; the subject objects by contesting the notice's "
    "receipt and a named reviewer decides; repair is decided by the owning agency or a reviewer.",
    data_purpose=Purpose.CREDIT,
    # Court defaulter-list rules: a correction request is reviewed within 15 days.
    appeal_deadline_days=15,
    inputs={
        "listing_id": DataCategory.IDENTIFIER,
        "list": DataCategory.ADMINISTRATIVE,
        "facts": DataCategory.ADMINISTRATIVE,
    },
    method="A state machine (proposed, notice sent, objected, active, withdrawn, expired, repaired) over "
    "severity tiers with maximum durations; no model, no weights.",
    parameters={tier.value: rule.__dict__ for tier, rule in TIER_RULES.items()},
    risks=("An incorrect record lists the wrong person.", "A listing outlives its legal basis."),
    mitigations=(
        "Notice with reasons, basis and rights before any effect; objections decided by a named human.",
        "Automatic end at the tier's maximum; repair stops every linked measure at once.",
    ),
    favourable_outcomes=("objection_upheld", "expired", "repaired"),
    status="live",
)

CHECK = AlgorithmCard(
    id="credit.check",
    version=CHECK_VERSION,
    title="Joint-measures check (screening)",
    purpose="Tells an agency whether a measure it signed a memorandum for applies to a subject in one "
    "context, with the listing, the legal basis, the expiry and the match evidence.",
    service="credit",
    owner_agency=OWNER,
    contact=CONTACT,
    legal_basis="Memoranda on joint sanctions and incentives; EU AI Act art. 5(1)(c) (no detriment outside "
    "the context the data came from) as a design rule",
    decision_type="Allow, restrict or priority for one subject in one named context; only memoranda naming that "
    "context and listings in effect count. An opt-in score can add a benefit, never a restriction.",
    human_oversight="Every check is recorded; a reviewer can mark a matched candidate as not the same person, "
    "which excludes it for that subject from then on.",
    data_purpose=Purpose.CREDIT,
    inputs={"context": DataCategory.ADMINISTRATIVE, "candidates": DataCategory.IDENTIFIER},
    method="Exact identifier match first; otherwise name comparison across scripts, transliterations and typos "
    "with birth-date and country qualifiers that can only lower the score, against a stated threshold.",
    parameters=matcher_card_payload(),
    performance=(
        Figure(
            name="name matching F1 vs nomenklatura logic-v2",
            value="see bench/credit_bench.py",
            protocol="name_bench_cases.dev.csv, same pairs, same run",
        ),
    ),
    risks=(
        "A namesake is matched and refused a tender (by name alone, or born within a year of the listed person).",
        "A listed person whose recorded birth year is wrong by more than a year is not matched by name and birth "
        "date (an ID number check still finds them).",
    ),
    mitigations=(
        "Match evidence travels with every measure; reviewers exclude false positives.",
        "Namesakes born in another year are not matches, and the namesake born on the asked date is ranked first.",
    ),
    favourable_outcomes=("allow", "priority"),
    status="live",
)

CITY_SCORE = AlgorithmCard(
    id="credit.city_score",
    version=CITY_SCORE_TABLE.version,
    title="Opt-in city score (0-1000)",
    purpose="A voluntary score that unlocks deposit-free, discounted or priority services at 600 and above.",
    service="credit",
    owner_agency=OWNER,
    contact=CONTACT,
    legal_basis="Demo City opt-in credit score ordinance; consent of the resident (withdrawable at any time)",
    decision_type="Scores only residents who opted in; benefits apply only in their own contexts; the score "
    "never restricts anyone anywhere.",
    human_oversight="Each score shows its reason codes and what would raise it; it can be contested by receipt.",
    data_purpose=Purpose.CREDIT,
    inputs={"factors": DataCategory.ADMINISTRATIVE},
    method="The published, versioned points table: a base, capped earnings, violations of at most 150 points "
    "each within a look-back window, clipped to 0-1000.",
    parameters=CITY_SCORE_TABLE.card_payload(),
    risks=("Residents with fewer chances to volunteer or donate score lower.",),
    mitigations=("Benefits only, never restrictions; fairness audit by region, age band and sex on this page.",),
    favourable_outcomes=("benefits_unlocked",),
    status="live",
)

SCORE_CONSENT = AlgorithmCard(
    id="credit.score_consent",
    version="1.0",
    title="City score consent register",
    purpose="Records that a resident opted in to, or withdrew from, the city score (withdrawal deletes the score).",
    service="credit",
    owner_agency=OWNER,
    contact=CONTACT,
    legal_basis="Consent of the resident",
    decision_type="Records the resident's own choice; decides nothing about them.",
    human_oversight="The resident decides; the record shows when.",
    data_purpose=Purpose.CREDIT,
    inputs={},
    method="No model: the resident's choice is recorded as given.",
    status="live",
)

CARDS = (LISTING, CHECK, CITY_SCORE, SCORE_CONSENT)
