"""The health service's register cards: the AI doctor, the pool's claim checks, the wearable alert.

Every card is health-purpose: its health inputs can never be used by another service's algorithm.
"""

from __future__ import annotations

from civicbrain.core.privacy import DataCategory, Purpose
from civicbrain.core.register import AlgorithmCard, Figure
from civicbrain.services.health.domain.doctor import MODEL_VERSION, default_policy
from civicbrain.services.health.domain.heart_rate_residuals import SENSITIVITY_LEVELS

POOL_CHECKS_VERSION = "1.0.0"
WEARABLE_VERSION = "2.1.0"
OWNER = "health-commission"
CONTACT = "ai-doctor@health.demo.city"

_policy = default_policy()

AI_DOCTOR = AlgorithmCard(
    id="health.ai_doctor",
    version=MODEL_VERSION,
    title="AI doctor: history taking, differential diagnosis and urgency",
    purpose="Takes a patient's history by asking one question at a time and drafts a differential diagnosis "
    "and an urgency level for the clinician who takes over.",
    service="health",
    owner_agency=OWNER,
    contact=CONTACT,
    legal_basis="Demo City Health Services Ordinance, art. 12 (decision support under clinician responsibility)",
    decision_type="Advisory only: suggests a differential and an urgency (emergency / see a doctor soon / "
    "self-care). A clinician confirms or corrects every consultation; nothing is diagnosed without them.",
    human_oversight="Every finished consultation lands in the Health Commission's clinician queue; red flags "
    "(a severe pathology becoming likely) end the dialogue at once and put the patient first in the queue. "
    "The clinician's confirmation or correction is recorded against the AI's suggestion.",
    data_purpose=Purpose.HEALTH,
    inputs={
        "age": DataCategory.DEMOGRAPHIC,
        "sex": DataCategory.DEMOGRAPHIC,
        "first_complaint": DataCategory.HEALTH,
        "answers": DataCategory.HEALTH,
    },
    method="Naive-Bayes evidence model over the DDXPlus knowledge base (223 evidences, 49 pathologies, CC-BY), "
    "questions chosen by expected information gain; a logistic model draws the differential; urgency from the "
    "probability mass of severe pathologies (Semigran et al.'s three levels). Trained on the DDXPlus "
    "development patients only; ships with the package.",
    parameters={
        "max_questions": _policy.max_questions,
        "stop_confidence": _policy.stop_confidence,
        "differential_questions": _policy.differential_questions,
        "emergency_threshold": _policy.triage.emergency_threshold,
        "red_flag_threshold": _policy.triage.red_flag_threshold,
        "self_care_threshold": _policy.triage.self_care_threshold,
    },
    performance=(
        Figure(
            name="GTPA@1, top-5, DDF1, questions asked, urgency safety",
            value="see bench/results/health_bench.json",
            protocol="DDXPlus protocol (bench/health_bench.py); `civicbrain health evaluate` on any patient file",
        ),
    ),
    risks=(
        "A wrong differential could anchor the clinician.",
        "Over-triage sends some mild cases to emergency care.",
    ),
    mitigations=(
        "Evidence for and against each candidate is shown; the clinician records their own diagnosis.",
        "Triage errs on the safe side on purpose; over-triage is measured and reported.",
    ),
    favourable_outcomes=(),
    status="advisory",
)

POOL_CLAIM_CHECKS = AlgorithmCard(
    id="health.pool_claim_checks",
    version=POOL_CHECKS_VERSION,
    title="Mutual-aid pool: automatic claim checks",
    purpose="Checks a mutual-aid claim against the pool's published rules before members see it in public notice.",
    service="health",
    owner_agency=OWNER,
    contact="mutual-aid@health.demo.city",
    legal_basis="Demo City Mutual-Aid Pool Rules, art. 4 (claims) and art. 9 (objections and review)",
    decision_type="Refuses a claim that breaks a rule (with every reason), or publishes it for member objection. "
    "A claim that members object to is never paid before a human decides.",
    human_oversight="Refusals can be contested by their receipt; a reviewer decides. Objected claims wait for a "
    "reviewer or a Health Commission officer.",
    data_purpose=Purpose.HEALTH,
    inputs={
        "illness": DataCategory.HEALTH,
        "diagnosed_on": DataCategory.HEALTH,
        "treatment_start": DataCategory.HEALTH,
        "treatment_end": DataCategory.HEALTH,
        "amount": DataCategory.FINANCIAL,
        "member_since": DataCategory.ADMINISTRATIVE,
        "document_hashes": DataCategory.IDENTIFIER,
    },
    method="Published rules: waiting period, covered illness list, no document used before (SHA-256 of its "
    "content), consistent dates, positive amount. Every rule is checked and every failing one is reported.",
    parameters={},
    favourable_outcomes=("in_public_notice",),
    status="live",
)

WEARABLE_ALERT = AlgorithmCard(
    id="health.wearable_alert",
    version=WEARABLE_VERSION,
    title="Wearable alert: sustained rise of the heart rate over the wearer's own usual",
    purpose="Tells a wearer who asked for it when their heart rate stays above what their own past predicts for "
    "that time of day and activity.",
    service="health",
    owner_agency=OWNER,
    contact=CONTACT,
    legal_basis="Consent of the wearer (withdrawable at any time)",
    decision_type="Advisory only: an alert to the wearer, with baseline vs current rate and for how long. "
    "Never a diagnosis; nothing is shared without the wearer.",
    human_oversight="The wearer decides what to do; they can contact a clinician from the alert.",
    data_purpose=Purpose.HEALTH,
    inputs={
        "baseline_bpm": DataCategory.HEALTH,
        "current_bpm": DataCategory.HEALTH,
        "elevated_hours": DataCategory.HEALTH,
        "sensitivity": DataCategory.ADMINISTRATIVE,
    },
    method="Every worn minute against a per-person ridge regression on hour of day and recent steps (now, "
    "previous 5/15/60 minutes, time since the last step), refitted daily on the previous 28 days only, days whose "
    "residual level is far from the person's ordinary days (an illness, faulty readings) kept out unless the level "
    "lasts 5 days; each 15-minute block's median residual minus the mean residual of the 48 h that ended 3 h "
    "before, standardised by the robust spread (MAD) of the previous days' blocks and clipped at 1.5 spreads; a "
    "one-sided CUSUM over blocks with data (allowance 0.75 spread, threshold per sensitivity); one alert per "
    "episode (quiet for 24 h and until the last 16 blocks are back under the allowance).",
    parameters={
        "baseline_days": 28,
        "block_minutes": 15,
        "level_hours": 48,
        "level_lag_hours": 3,
        "clip_sd": 1.5,
        "sensitivities": {level: dict(values) for level, values in SENSITIVITY_LEVELS.items()},
    },
    performance=(
        Figure(
            name="+10 bpm sustained rise alerted within 6 h (default sensitivity)",
            value="71.7% of all onsets (seeds 0-2, chosen) and 75.0% (seeds 3-5, confirmed); 85.1% and 86.5% of "
            "onsets with 30+ worn minutes in those 6 h (target 90%: not met)",
            protocol="4 real Fitbit users, rise injected into every worn minute for 24 h at 10 random onsets per "
            "person and seed; bench/health_bench.py --only wearables",
        ),
        Figure(
            name="alerts per person-day on the unmodified streams (default sensitivity)",
            value=0.195,
            protocol="same 4 users (COVID-19 positive: some alerts are real elevations); target <= 0.2; low "
            "sensitivity 0.126 (62.5% / 78.1% of onsets with data), high 0.249 (70.8% / 85.0%), seeds 0-2",
        ),
    ),
    risks=(
        "False alerts worry people; missed rises give false comfort.",
        "A watch left off records nothing: about one rise in six (30 of 240 benched onsets) falls where no "
        "detector could see it, so detection over all onsets cannot pass about 87%.",
        "Short rises of +10 bpm for 2-3 h (evenings, exercise the steps do not show) look like the first hours of "
        "a sustained rise: most alerts on the unmodified streams are of that kind.",
    ),
    mitigations=("Detection and false alerts per person-day are measured on real streams (bench).",),
    status="advisory",
)

CARDS = (AI_DOCTOR, POOL_CLAIM_CHECKS, WEARABLE_ALERT)
