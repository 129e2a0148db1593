"""Points as exact numbers: whole points stay ``int``, everything else is a
:class:`fractions.Fraction` (two players tied for 3rd of 20 get 35/2 each), shown without noise
("17.5", never "17.500000001")."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

#: Points: a whole number, or an exact fraction when a curve or a tie makes one.
Points = int | Fraction

#: Decimal places a page shows (``33.33``); JSON carries up to ``JSON_PLACES``.
TEXT_PLACES = 2
#: Decimal places of the JSON number; the exact value is in ``points_exact``.
JSON_PLACES = 6


def exact_points(value: Any) -> Points:
    """``value`` as exact points: an ``int`` when whole, otherwise a ``Fraction``. Floats are
    read by their shortest decimal form (``0.1`` is 1/10, not 3602879701896397/36028797018963968),
    so a curve may return ``100 * 0.9`` and still print 90."""
    if isinstance(value, bool):
        raise TypeError(f"points are a number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        value = Fraction(repr(value))
    elif isinstance(value, Decimal | str):
        value = Fraction(value)
    elif not isinstance(value, Fraction):
        raise TypeError(f"points are a number, not {value!r}")
    return value.numerator if value.denominator == 1 else value


def points_text(value: Points, places: int = TEXT_PLACES) -> str:
    """Points as people read them: ``17``, ``17.5``, ``33.33`` (rounded half to even to
    ``places`` decimals, trailing zeros dropped)."""
    value = exact_points(value)
    if isinstance(value, int):
        return str(value)
    rounded = round(value, places)  # exact: a Fraction rounds half to even without floats
    text = f"{Decimal(rounded.numerator) / Decimal(rounded.denominator):.{places}f}"
    text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def points_json(value: Points) -> int | float:
    """Points as a JSON number: an integer when whole, otherwise the decimal to
    ``JSON_PLACES`` places (``17.5``)."""
    value = exact_points(value)
    if isinstance(value, int):
        return value
    return float(points_text(value, JSON_PLACES))


def points_exact(value: Points) -> str | None:
    """The exact fraction (``"35/2"``) when the points are not whole, else ``None``."""
    value = exact_points(value)
    return None if isinstance(value, int) else f"{value.numerator}/{value.denominator}"
