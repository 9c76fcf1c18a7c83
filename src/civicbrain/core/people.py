"""The person register: who the platform serves, with just enough to audit decisions for fairness."""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicbrain.core.errors import Conflict, ValidationFailed
from civicbrain.core.models import Person

if TYPE_CHECKING:
    from civicbrain.core.context import Platform

REGIONS = ("urban", "rural")
SEXES = ("female", "male", "other")
AGE_BANDS = ((0, 17, "0-17"), (18, 34, "18-34"), (35, 64, "35-64"), (65, 200, "65+"))


def age_band(age: int) -> str:
    for low, high, name in AGE_BANDS:
        if low <= age <= high:
            return name
    raise ValidationFailed(f"age {age} is outside 0-200", field="birth_year")


def add_person(ctx: Platform, *, person_id: str, name: str, birth_year: int, region: str, sex: str) -> Person:
    if region not in REGIONS:
        raise ValidationFailed(f"region must be one of {', '.join(REGIONS)}", field="region")
    if sex not in SEXES:
        raise ValidationFailed(f"sex must be one of {', '.join(SEXES)}", field="sex")
    if ctx.session.get(Person, person_id) is not None:
        raise Conflict(f"person '{person_id}' exists", field="person_id")
    person = Person(
        id=person_id,
        name=name,
        birth_year=birth_year,
        region=region,
        age_band=age_band(ctx.now().year - birth_year),
        sex=sex,
        ledger_ref=ctx.ledger.ref(f"person:{person_id}"),
    )
    ctx.session.add(person)
    return person
