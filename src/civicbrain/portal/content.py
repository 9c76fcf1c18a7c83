"""Fixed public text shown on the home page: what the platform refuses to build, and why.

Kept in code next to the pages (not in a template) so a test can check the home page states each item.
The list is ARCHITECTURE.md's "What we refuse to build".
"""

from __future__ import annotations

REFUSED_USES: tuple[tuple[str, str], ...] = (
    (
        "Mass facial-recognition surveillance",
        "Cameras here count traffic and detect incidents; they never identify people. Face templates are "
        "biometric data, which the platform refuses to collect for any purpose.",
    ),
    (
        "Quarantine enforcement by cameras",
        "Public-health measures are explained and supported by people, not enforced by watching residents.",
    ),
    (
        "Profiling by ethnicity or religion",
        "Ethnic origin, religious belief and political opinion are forbidden data categories: a feed or "
        "algorithm that asks for them is refused at intake, naming the field.",
    ),
    (
        "Monitoring pupils' faces or emotions",
        "Learning services use answers to exercises, never cameras or emotion recognition.",
    ),
    (
        "Scores that punish people outside the context the data came from",
        "Data is bound to its purpose: health data only for health, minors' data only for learning, and "
        "no score follows a person into an unrelated service.",
    ),
)

MODE_WORDS = {
    "sandbox": "Tested on synthetic or past data only; decides nothing about anyone.",
    "shadow": "Runs alongside people to be evaluated; its outputs never take effect.",
    "advisory": "Recommends; a person makes the decision.",
    "live": "Decides on its own, with a receipt, an explanation and a right to a human review.",
    "retired": "No longer used.",
}
