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


def number(x: float) -> str:
    """A number as a reader writes it: no exponent, no ``-0``, thousands separated, three
    significant digits below 1000 (``3.94e+03`` reads ``3,940``, ``-0.0`` reads ``0``)."""
    if missing(x):
        return ""
    if math.isinf(x):
        return "infinite" if x > 0 else "minus infinite"
    if abs(x) >= 1000:
        return f"{round(x):,}"
    if abs(x) < 1e-9:
        return "0"
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def points(p: float) -> str:
    """A change of probability in percentage points, signed (``-0.2`` reads ``-20 points``)."""
    if missing(p):
        return "n/a"
    value = 100 * p
    text = f"{value:+.1f}" if abs(value) < 10 else f"{value:+.0f}"
    return ("0" if text.lstrip("+-") in ("0.0", "0") else text) + " points"


def interval(p: float, lo: float, hi: float) -> str:
    """A probability with its 95% interval: ``8% (5% to 13%)``."""
    if missing(p):
        return "n/a"
    if missing(lo) or missing(hi):
        return pct(p)
    return f"{pct(p)} ({pct(lo)} to {pct(hi)})"
