"""Numbers as a reader says them: percentages, counts, the simulated period."""

from __future__ import annotations

import math


def missing(value: object) -> bool:
    """True for None and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(p: float) -> str:
    """A probability as a percentage a reader can say aloud."""
    if missing(p):
        return "n/a"
    if p == 0:
        return "0%"
    if p < 0.01:
        return "<1%" if p >= 0.001 else "<0.1%"
    return f"{100 * p:.0f}%"


def count(x: float) -> str:
    """An expected number of animals: whole unless the decimal matters."""
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 or x >= 10 else f"{x:.1f}"


def period(days: float | None) -> str:
    """The simulated period in years when whole, else in days."""
    if missing(days):
        return "the simulated period"
    years = days / 365.25
    return f"{years:.0f} years" if abs(years - round(years)) < 0.05 else f"{days:g} days"


def capitalised(text: str) -> str:
    """``text`` with its first letter in upper case (for a name starting a sentence)."""
    return text[:1].upper() + text[1:]
