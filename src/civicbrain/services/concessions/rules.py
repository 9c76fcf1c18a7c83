"""Fare-concession eligibility rules: plain Python, no I/O, testable without a database.

The city's published rules (demo): a resident qualifies for the public-transport fare concession
when any of these holds — aged 65 or over; household income in the lowest band; the household
receives the minimum livelihood guarantee. Each rule that fires is a reason the resident can read.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "1.0.0"
OLDEST_BANDS = ("65+",)


@dataclass(frozen=True)
class Assessment:
    eligible: bool
    reasons: tuple[str, ...]
    rules_checked: tuple[str, ...]

    @property
    def label(self) -> str:
        return "eligible" if self.eligible else "not_eligible"

    def summary(self) -> str:
        if self.eligible:
            return "You qualify for the fare concession because " + "; ".join(self.reasons) + "."
        return (
            "You do not qualify for the fare concession: none of the rules applies ("
            + "; ".join(self.rules_checked)
            + "). If your circumstances are different from what we hold, contest this decision."
        )


def assess(*, age_band: str | None, income_band: str | None, minimum_livelihood: bool | None) -> Assessment:
    checked = (
        f"age band is {age_band or 'unknown'} (65+ qualifies)",
        f"household income band is {income_band or 'unknown'} (low qualifies)",
        "receives the minimum livelihood guarantee" if minimum_livelihood else "no minimum livelihood guarantee",
    )
    reasons = []
    if age_band in OLDEST_BANDS:
        reasons.append("you are aged 65 or over")
    if income_band == "low":
        reasons.append("your household income is in the lowest band")
    if minimum_livelihood:
        reasons.append("your household receives the minimum livelihood guarantee")
    return Assessment(bool(reasons), tuple(reasons), checked)
