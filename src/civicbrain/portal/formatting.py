"""Jinja filters: dates, rates and field names in words a resident reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jinja2

from civicbrain.core.timeutil import aware


def when(moment: datetime | str | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return aware(moment).strftime("%-d %b %Y, %H:%M UTC")


def day(moment: datetime | None) -> str:
    return aware(moment).strftime("%-d %b %Y") if moment is not None else "—"


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def humanize(key: Any) -> str:
    """``rules_fired`` → ``Rules fired``: explanation keys are written by services for code, shown to people."""
    text = str(key).replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple)


def is_table_rows(value: Any) -> bool:
    """A list of records with the same keys (factors, evidence, similar cases) reads best as a table."""
    if not isinstance(value, list | tuple) or not value or not all(isinstance(v, Mapping) for v in value):
        return False
    first = list(value[0])
    return bool(first) and all(list(v) == first for v in value)


def install_filters(env: jinja2.Environment) -> None:
    env.filters.update(when=when, day=day, percent=percent, number=number, humanize=humanize)
    env.tests.update(mapping_value=is_mapping, sequence_value=is_sequence, table_rows=is_table_rows)
