"""Reading one cell of a sample sheet: dates, results (titres or calls) and fixed vocabularies.

Each parser returns the value and an empty reason, or None and a reason that says the fix, so
the intake can list a bad cell with its file, row, column and value.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from disease_risk.intake.registry import Assay, normalise_name

EARLIEST_DATE = dt.date(1900, 1, 1)
_EXCEL_EPOCH = dt.date(1899, 12, 30)

_QUALITATIVE = {
    "positive": ("positive", "pos", "pos.", "+", "p", "reactive", "detected", "yes",
                 "seropositive", "положительный", "положительно", "полож", "пол"),
    "negative": ("negative", "neg", "neg.", "-", "n", "non-reactive", "nonreactive",
                 "not detected", "no", "seronegative", "отрицательный", "отрицательно", "отр"),
    "indeterminate": ("indeterminate", "ind", "equivocal", "borderline", "doubtful",
                      "inconclusive", "±", "+/-", "?", "сомнительный", "сомнительно"),
}
_QUALITATIVE_LOOKUP = {w: call for call, words in _QUALITATIVE.items() for w in words}
SEX = {
    "F": ("f", "female", "fem", "ж", "самка"),
    "M": ("m", "male", "м", "самец"),
    "unknown": ("", "u", "unk", "unknown", "?", "na", "n/a", "не известно", "неизвестно"),
}
SEX_LOOKUP = {w: s for s, words in SEX.items() for w in words}
VACCINATED = {
    "yes": ("yes", "y", "true", "1", "vaccinated", "да"),
    "no": ("no", "n", "false", "0", "unvaccinated", "not vaccinated", "нет"),
    "unknown": ("", "unknown", "unk", "u", "?", "na", "n/a", "неизвестно"),
}
VACCINATED_LOOKUP = {w: s for s, words in VACCINATED.items() for w in words}
_TITRE = re.compile(
    r"^(?P<q><=|>=|=<|=>|<|>|≤|≥)?\s*(?:1\s*[:/]\s*)?(?P<v>\d+(?:[.,]\d+)*)$"
)
# 1,024 and 12,345.5: commas grouping thousands. A point grouping thousands (1.024, German
# style) cannot be told from a decimal point, so such a titre is refused.
_COMMA_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_POINT_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+")
_SPACES = (" ", "\u00a0", "\u202f", "\u2009")
_QUALIFIERS = {"<=": "<=", "=<": "<=", "≤": "<=", ">=": ">=", "=>": ">=", "≥": ">=",
               "<": "<", ">": ">", None: ""}
# A time of day after a date (an Excel date-time cell, a logger export) is allowed and dropped.
_TIME = r"(?:[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?"
_ISO = re.compile(rf"^(\d{{4}})[-/](\d{{1,2}})[-/](\d{{1,2}}){_TIME}$")
_DOTTED = re.compile(rf"^(\d{{1,2}})\.(\d{{1,2}})\.(\d{{4}}){_TIME}$")
_SLASHED = re.compile(rf"^(\d{{1,2}})/(\d{{1,2}})/(\d{{4}}){_TIME}$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")  # the fraction is the time of day


def parse_date(text: str, today: dt.date | None = None) -> tuple[dt.date | None, str]:
    """A collection date from ISO, dd.mm.yyyy, unambiguous d/m/y or an Excel serial number.

    A time of day after the date (``2015-05-31 14:30``, an Excel date-time cell, a serial with
    a fraction) is dropped: the sample's date is its collection date. Returns (date, "") or
    (None, reason with the fix).
    """
    today = today or dt.date.today()
    value = text.strip()
    fix = "write it as YYYY-MM-DD (e.g. 2015-05-31)"
    if not value:
        return None, f"collection date is empty; {fix}"
    parts: tuple[int, int, int] | None = None
    if m := _ISO.match(value):
        parts = (int(m[1]), int(m[2]), int(m[3]))
    elif m := _DOTTED.match(value):
        parts = (int(m[3]), int(m[2]), int(m[1]))
    elif m := _SLASHED.match(value):
        first, second = int(m[1]), int(m[2])
        if first <= 12 and second <= 12 and first != second:
            return None, f"ambiguous date (day/month or month/day?); {fix}"
        parts = (int(m[3]), second, first) if first > 12 or first == second else (
            int(m[3]), first, second)
    elif re.fullmatch(r"(19|20)\d\d", value):
        return None, f"only a year; the full date is needed: {fix}"
    elif _SERIAL.match(value):
        serial = int(float(value))
        date = _EXCEL_EPOCH + dt.timedelta(days=serial)
        if not (EARLIEST_DATE <= date <= today):
            return None, f"number {serial} is not a plausible Excel date serial; {fix}"
        return date, ""
    else:
        return None, f"not a date the intake understands; {fix} or dd.mm.yyyy"
    try:
        date = dt.date(*parts)
    except ValueError:
        return None, f"not a real calendar date (year {parts[0]}, month {parts[1]}, day " \
            f"{parts[2]}); check the day and month and {fix}"
    if date > today:
        return None, f"date is in the future; check the year and {fix}"
    if date < EARLIEST_DATE:
        return None, f"date before {EARLIEST_DATE.year} is implausible; check the year"
    return date, ""


def parse_result(text: str, assay: Assay) -> tuple[tuple[float | None, str, str] | None, str]:
    """(titre, qualifier, call) from a titre (``32``, ``1:32``, ``<1:4``) or a qualitative call.

    A titre is positive at or above the assay's cut-off; a censored titre that straddles the
    cut-off (``<1:32`` with cut-off 16) is indeterminate.
    """
    value = text.strip()
    if not value:
        return None, "result is empty; give a titre (e.g. 1:32, <1:4) or positive/negative"
    call = _QUALITATIVE_LOOKUP.get(normalise_name(value))
    if call:
        return (None, "", call), ""
    compact = value
    for space in _SPACES:
        compact = compact.replace(space, "")
    if re.match(r"^-\s*(1\s*[:/]\s*)?\d", value):
        return None, "a titre cannot be negative; give the reciprocal titre (e.g. 32 or 1:32)"
    m = _TITRE.match(compact)
    if not m:
        expected = ("a titre such as 32, 1:32, <1:4, >=1:512, or positive/negative/indeterminate"
                    if assay.kind == "titre" else "positive, negative or indeterminate")
        return None, f"cannot read the result; write {expected}"
    if assay.kind != "titre":
        return None, (f"assay {assay.name} is qualitative, so the result must be positive, "
                      "negative or indeterminate, not a titre")
    titre, reason = _titre_number(m["v"])
    if titre is None:
        return None, reason
    if titre <= 0:
        return None, ("a titre of 0 is not a reciprocal titre; write '<' and the lowest "
                      "dilution tested (e.g. <1:4) or 'negative'")
    qualifier = _QUALIFIERS[m["q"]]
    cutoff = float(assay.positive_cutoff)
    if qualifier == "":
        call = "positive" if titre >= cutoff else "negative"
    elif qualifier == "<":
        call = "negative" if titre <= cutoff else "indeterminate"
    elif qualifier == "<=":
        call = "negative" if titre < cutoff else "indeterminate"
    elif qualifier == ">":
        call = "positive" if titre >= cutoff else "indeterminate"
    else:
        call = "positive" if titre >= cutoff else "indeterminate"
    return (titre, qualifier, call), ""


def _titre_number(text: str) -> tuple[float | None, str]:
    """The reciprocal titre of ``1024``, ``1,024``, ``22.6``; refuses other commas and a point
    that may be a thousands separator."""
    fix = "write the titre without separators (e.g. 1:1024 or 1024)"
    if "," in text:
        if _COMMA_THOUSANDS.fullmatch(text):
            return float(text.replace(",", "")), ""
        return None, (f"the comma in {text!r} is not a thousands separator (1,024 = 1024) and a "
                      f"titre is not written with a decimal comma; {fix}")
    if text.count(".") > 1:
        return None, f"{text!r} has more than one point (thousands separators?); {fix}"
    if _POINT_THOUSANDS.fullmatch(text):
        return None, (f"{text!r} is ambiguous: a point as thousands separator "
                      f"({text.replace('.', '')}) or a decimal point ({text}); {fix}")
    return float(text), ""


def parse_number(text: str) -> float | None:
    try:
        number = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None
