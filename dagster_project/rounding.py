"""Display rounding of metrics.md: half away from zero, from the unrounded value."""

from decimal import ROUND_HALF_UP, Decimal


def round_half_away(value: float | Decimal, places: int = 2) -> Decimal:
    """ROUND_HALF_UP on the shortest decimal form of the value (which is how a reader sees a DOUBLE)."""
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )
