"""Numbers as metrics.md shows them: rounded half away from zero, thousands separated, signed changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dagster_project.rounding import round_half_away

MISSING = "—"  # NULL in the mart: a zero denominator, or a report not in the landing zone
MINUS = "−"  # as metrics.md writes a negative change (U+2212)


def _rounded(value, places: int) -> Decimal:
    d = round_half_away(value, places)
    return abs(d) if d == 0 else d  # no "-0.00"


def num(value, places: int = 0) -> str:
    """6,287 / 94.72 / 178,900.00; NULL as a dash."""
    if value is None:
        return MISSING
    text = f"{_rounded(value, places):,.{places}f}"
    return text.replace("-", MINUS)


def signed(value, places: int = 2, suffix: str = "") -> str:
    """A change: +7.71 / −3.42 / +248.74% (0.00 unsigned)."""
    if value is None:
        return MISSING
    d = _rounded(value, places)
    text = f"{abs(d):,.{places}f}{suffix}"
    if d > 0:
        return "+" + text
    return MINUS + text if d < 0 else text


def timestamp(value) -> str:
    """A timestamptz as UTC, to the second."""
    if value is None:
        return MISSING
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)
