"""Sample sheets in, harmonised surveillance table out; each row accepted or listed with a reason.

Public API:
- :func:`load_species_registry`, :func:`load_assays`, :func:`load_sheet_layouts` (config files);
- :func:`read_sheets` (sheets -> :class:`IntakeResult`: samples, rejected rows, summary);
- :func:`run_intake` (same, from config file paths), :func:`write_intake` (the three TSVs);
- :func:`check` (what ``disease-risk check`` prints), :func:`read_samples_table` (typed reader
  of ``samples.tsv`` for downstream steps), :func:`load_yellowstone` (the real Yellowstone data),
  :func:`intake_step` (the Snakemake rule).
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import math
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import pandas as pd
import yaml

from disease_risk.registry import (
    SCHEMA_DIR,
    Assay,
    ConfigFileError,
    SheetLayout,
    SpeciesRegistry,
    layout_for,
    load_assays,
    load_sheet_layouts,
    load_species_registry,
    normalise_name,
    resolve_assay,
)
from disease_risk.sheets import REQUIRED_COLUMNS, SheetError, read_sheet

__all__ = [
    "OUTPUT_COLUMNS",
    "REJECTED_COLUMNS",
    "SUMMARY_COLUMNS",
    "CheckResult",
    "ConfigFileError",
    "IntakeError",
    "IntakeResult",
    "SheetError",
    "check",
    "intake_step",
    "load_assays",
    "load_sheet_layouts",
    "load_species_registry",
    "load_yellowstone",
    "read_samples_table",
    "read_sheets",
    "run_intake",
    "write_intake",
]

OUTPUT_COLUMNS = (
    "sample_id", "animal_id", "species", "species_role", "site", "collection_date", "year",
    "assay", "result_raw", "titre", "titre_qualifier", "result", "age_years", "birth_year",
    "sex", "latitude", "longitude", "lab", "vaccinated", "sample_type", "sequence_id", "notes",
    "source_file", "source_row",
)
REJECTED_COLUMNS = ("file", "row", "column", "value", "reason")
SUMMARY_COLUMNS = ("grouping", "value", "rows", "accepted", "rejected", "duplicates")
_INT_COLUMNS = ("year", "birth_year", "source_row")
_FLOAT_COLUMNS = ("titre", "age_years", "latitude", "longitude")
_EARLIEST = dt.date(1900, 1, 1)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_MAX_AGE_YEARS = 60.0
_TEMPLATE_PREFIX = "EXAMPLE"

_QUALITATIVE = {
    "positive": ("positive", "pos", "pos.", "+", "p", "reactive", "detected", "yes",
                 "seropositive", "положительный", "положительно", "полож", "пол"),
    "negative": ("negative", "neg", "neg.", "-", "n", "non-reactive", "nonreactive",
                 "not detected", "no", "seronegative", "отрицательный", "отрицательно", "отр"),
    "indeterminate": ("indeterminate", "ind", "equivocal", "borderline", "doubtful",
                      "inconclusive", "±", "+/-", "?", "сомнительный", "сомнительно"),
}
_QUALITATIVE_LOOKUP = {w: call for call, words in _QUALITATIVE.items() for w in words}
_SEX = {
    "F": ("f", "female", "fem", "ж", "самка"),
    "M": ("m", "male", "м", "самец"),
    "unknown": ("", "u", "unk", "unknown", "?", "na", "n/a", "не известно", "неизвестно"),
}
_SEX_LOOKUP = {w: s for s, words in _SEX.items() for w in words}
_VACCINATED = {
    "yes": ("yes", "y", "true", "1", "vaccinated", "да"),
    "no": ("no", "n", "false", "0", "unvaccinated", "not vaccinated", "нет"),
    "unknown": ("", "unknown", "unk", "u", "?", "na", "n/a", "неизвестно"),
}
_VACCINATED_LOOKUP = {w: s for s, words in _VACCINATED.items() for w in words}
_TITRE = re.compile(
    r"^(?P<q><=|>=|=<|=>|<|>|≤|≥)?\s*(?:1\s*[:/]\s*)?(?P<v>\d+(?:[.,]\d+)?)$"
)
_QUALIFIERS = {"<=": "<=", "=<": "<=", "≤": "<=", ">=": ">=", "=>": ">=", "≥": ">=",
               "<": "<", ">": ">", None: ""}
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_SERIAL = re.compile(r"^\d{5}(?:\.0+)?$")


class IntakeError(RuntimeError):
    """Intake cannot produce a table: an unreadable file, or rejected rows under ``strict``."""


@dataclass(frozen=True)
class Problem:
    column: str
    value: str
    reason: str


@dataclass
class IntakeResult:
    """Outcome of reading a set of sheets.

    ``samples``: one row per accepted sample (:data:`OUTPUT_COLUMNS`, then extra columns).
    ``rejected``: one row per problem (:data:`REJECTED_COLUMNS`); a row may have several.
    ``summary``: counts per file, species, site and year (:data:`SUMMARY_COLUMNS`).
    ``rows_read`` = accepted + rejected rows + exact duplicates (each kept once elsewhere).
    """

    samples: pd.DataFrame
    rejected: pd.DataFrame
    summary: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    rows_read: int = 0
    rejected_rows: int = 0
    duplicate_rows: int = 0

    @property
    def accepted_rows(self) -> int:
        return len(self.samples)

    @property
    def clean(self) -> bool:
        return not self.file_errors and self.rejected_rows == 0

    def problem_text(self) -> str:
        """Every rejected row and unreadable file, one line each, for logs and error messages."""
        return "\n".join([*self.file_errors, *_problem_lines(self.rejected)])


def _problem_lines(rejected: pd.DataFrame) -> list[str]:
    return [f"{r.file} row {r.row}, column {r.column}, value {r.value!r}: {r.reason}"
            for r in rejected.itertuples(index=False)]


# ----------------------------------------------------------------------------- cell parsers

def parse_date(text: str, today: dt.date | None = None) -> tuple[dt.date | None, str]:
    """A collection date from ISO, dd.mm.yyyy, unambiguous d/m/y or an Excel serial number.

    Returns (date, "") or (None, reason with the fix).
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
        if not (_EARLIEST <= date <= today):
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
    if date < _EARLIEST:
        return None, f"date before {_EARLIEST.year} is implausible; check the year"
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
    compact = value.replace(" ", "")
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
    titre = float(m["v"].replace(",", "."))
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


def _parse_number(text: str) -> float | None:
    try:
        number = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# ----------------------------------------------------------------------------- rows

def _harmonise_row(
    values: dict[str, str], registry: SpeciesRegistry, assays: dict[str, Assay], today: dt.date
) -> tuple[dict[str, object], list[Problem]]:
    """One sheet row -> (harmonised record, problems). The record is used only if no problems."""
    problems: list[Problem] = []
    rec: dict[str, object] = {}

    def bad(column: str, reason: str) -> None:
        problems.append(Problem(column, values.get(column, ""), reason))

    if overflow := values.get("__overflow__"):
        problems.append(Problem("(whole row)", "", (
            f"row has {overflow}: a value probably contains an unquoted delimiter; put that "
            "value in quotes or delete the extra cells")))

    for column in REQUIRED_COLUMNS:
        if not values.get(column, "").strip() and column not in ("collection_date", "result"):
            bad(column, f"{column} is empty; every sample needs one")

    sample_id = values.get("sample_id", "").strip()
    rec["sample_id"] = sample_id
    if sample_id.upper().startswith(_TEMPLATE_PREFIX):
        bad("sample_id", "this is the example row from `disease-risk template`; delete it")

    species_name = values.get("species", "").strip()
    species = registry.resolve(species_name) if species_name else None
    if species_name and species is None:
        near = difflib.get_close_matches(normalise_name(species_name), list(registry.lookup),
                                         n=1, cutoff=0.7)
        hint = f" (did you mean {registry.lookup[near[0]]!r}?)" if near else ""
        bad("species", f"unknown species{hint}; use a name from config/species.yaml (e.g. "
                       "amur_leopard, domestic_dog) or add this spelling to its synonyms there")
    rec["species"] = species.key if species else species_name
    rec["species_role"] = species.role if species else ""
    rec["site"] = " ".join(values.get("site", "").split())

    date, reason = parse_date(values.get("collection_date", ""), today)
    if reason:
        bad("collection_date", reason)
    rec["collection_date"] = date.isoformat() if date else ""
    rec["year"] = date.year if date else None

    assay_name = values.get("assay", "").strip()
    assay = resolve_assay(assays, assay_name) if assay_name else None
    if assay_name and assay is None:
        bad("assay", f"unknown assay; use one of {', '.join(assays)} (or a synonym listed in "
                     "config/assays.yaml), or add the assay there")
    rec["assay"] = assay.name if assay else assay_name
    rec["result_raw"] = values.get("result", "").strip()
    rec["titre"], rec["titre_qualifier"], rec["result"] = None, "", ""
    if assay is not None:
        parsed, reason = parse_result(values.get("result", ""), assay)
        if reason:
            bad("result", reason)
        else:
            rec["titre"], rec["titre_qualifier"], rec["result"] = parsed

    age_text = values.get("age_years", "").strip()
    rec["age_years"] = None
    if age_text:
        age = _parse_number(age_text)
        if age is None or not 0 <= age <= _MAX_AGE_YEARS:
            bad("age_years", f"age must be a number of years between 0 and {_MAX_AGE_YEARS:g} "
                             "(e.g. 2.5); leave it empty if unknown")
        else:
            rec["age_years"] = age
    birth_text = values.get("birth_year", "").strip()
    rec["birth_year"] = None
    if birth_text:
        birth = _parse_number(birth_text)
        if birth is None or not birth.is_integer() or birth < _EARLIEST.year:
            bad("birth_year", "birth year must be a four-digit year (e.g. 2012); leave it empty "
                              "if unknown")
        elif date and birth > date.year:
            bad("birth_year", f"born after the collection year {date.year}; check both")
        else:
            rec["birth_year"] = int(birth)

    sex = _SEX_LOOKUP.get(normalise_name(values.get("sex", "")))
    if sex is None:
        bad("sex", "sex must be F, M or unknown (or empty)")
    rec["sex"] = sex or "unknown"

    coords: dict[str, float | None] = {}
    for column, limit in (("latitude", 90.0), ("longitude", 180.0)):
        text = values.get(column, "").strip()
        coords[column] = None
        if text:
            number = _parse_number(text)
            if number is None or abs(number) > limit:
                bad(column, f"{column} must be decimal degrees between -{limit:g} and {limit:g} "
                            "(e.g. 43.12)")
            else:
                coords[column] = number
    if (values.get("latitude", "").strip() == "") != (values.get("longitude", "").strip() == ""):
        missing = "longitude" if values.get("latitude", "").strip() else "latitude"
        bad(missing, "latitude and longitude go together; give both or neither")
    rec.update(coords)

    rec["lab"] = values.get("lab", "").strip()
    vaccinated = _VACCINATED_LOOKUP.get(normalise_name(values.get("vaccinated", "")))
    if vaccinated is None:
        bad("vaccinated", "vaccinated must be yes, no or unknown (or empty)")
    rec["vaccinated"] = vaccinated or "unknown"
    for column in ("animal_id", "sample_type", "sequence_id", "notes"):
        rec[column] = values.get(column, "").strip()
    return rec, problems


_COMPARED = tuple(c for c in OUTPUT_COLUMNS if c not in ("source_file", "source_row"))


def _differences(a: dict[str, object], b: dict[str, object]) -> list[str]:
    return [c for c in _COMPARED if a.get(c) != b.get(c)]


# ----------------------------------------------------------------------------- whole run

def _collect(
    paths: list[str | Path], registry: SpeciesRegistry, assays: dict[str, Assay],
    layouts: list[SheetLayout] | None, today: dt.date | None,
) -> IntakeResult:
    today = today or dt.date.today()
    warnings: list[str] = []
    file_errors: list[str] = []
    entries: list[dict[str, object]] = []
    extra_columns: list[str] = []
    for path in paths:
        layout = layout_for(layouts or [], Path(path).name)
        try:
            sheet = read_sheet(path, layout)
        except SheetError as err:
            file_errors.append(str(err))
            continue
        warnings += sheet.warnings
        if layout:
            warnings.append(f"{path}: read with sheet layout {layout.name!r}")
        extra_columns += [c for c in sheet.extra_columns if c not in extra_columns]
        for number, values in sheet.rows:
            record, problems = _harmonise_row(values, registry, assays, today)
            for column in sheet.extra_columns:
                record[column] = values.get(column, "")
            record["source_file"] = str(path)
            record["source_row"] = number
            entries.append({"record": record, "problems": problems, "duplicate_of": None})

    by_id: dict[str, list[dict[str, object]]] = defaultdict(list)
    for entry in entries:
        if not entry["problems"]:
            by_id[entry["record"]["sample_id"]].append(entry)
    for sample_id, group in by_id.items():
        if len(group) < 2:
            continue
        first = group[0]["record"]
        if all(not _differences(first, e["record"]) for e in group[1:]):
            for entry in group[1:]:
                entry["duplicate_of"] = first
            continue
        for entry in group:
            rec = entry["record"]
            others = [
                f"{o['record']['source_file']} row {o['record']['source_row']}"
                + (f" (differs in {', '.join(d)})" if (d := _differences(rec, o["record"]))
                   else " (same data)")
                for o in group if o is not entry
            ]
            entry["problems"] = [Problem("sample_id", sample_id, (
                f"sample_id also used at {'; '.join(others)} with different data; give each "
                "sample its own sample_id, or delete the wrong row"))]

    rejected_records, accepted = [], []
    for entry in entries:
        rec = entry["record"]
        if entry["problems"]:
            rejected_records += [
                {"file": rec["source_file"], "row": rec["source_row"], "column": p.column,
                 "value": p.value, "reason": p.reason}
                for p in entry["problems"]
            ]
        elif entry["duplicate_of"] is not None:
            kept = entry["duplicate_of"]
            rejected_records.append({
                "file": rec["source_file"], "row": rec["source_row"], "column": "sample_id",
                "value": rec["sample_id"],
                "reason": (f"exact duplicate of {kept['source_file']} row {kept['source_row']}, "
                           "which is kept; nothing to fix unless this was meant to be another "
                           "sample (then give it its own sample_id)"),
            })
        else:
            accepted.append(rec)

    samples = _samples_frame(accepted, extra_columns)
    rejected = pd.DataFrame(rejected_records, columns=list(REJECTED_COLUMNS))
    rejected["row"] = rejected["row"].astype("Int64")
    _warn_animal_conflicts(samples, warnings)
    summary = _summary(entries)
    return IntakeResult(
        samples=samples, rejected=rejected, summary=summary, warnings=warnings,
        file_errors=file_errors, rows_read=len(entries),
        rejected_rows=sum(1 for e in entries if e["problems"]),
        duplicate_rows=sum(1 for e in entries if e["duplicate_of"] is not None
                           and not e["problems"]),
    )


def _samples_frame(records: list[dict[str, object]], extra_columns: list[str]) -> pd.DataFrame:
    columns = list(OUTPUT_COLUMNS) + [c for c in extra_columns if c not in OUTPUT_COLUMNS]
    frame = pd.DataFrame(records, columns=columns)
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if column in _INT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column]).astype("Int64")
        elif column in _FLOAT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
        else:
            frame[column] = ["" if pd.isna(v) else str(v) for v in frame[column]]
            frame[column] = frame[column].astype(str)
    return frame


def _warn_animal_conflicts(samples: pd.DataFrame, warnings: list[str]) -> None:
    with_id = samples[samples["animal_id"] != ""]
    for column in ("species", "sex"):
        counts = with_id.groupby("animal_id")[column].nunique()
        for animal in counts[counts > 1].index:
            seen = sorted(set(with_id.loc[with_id["animal_id"] == animal, column]))
            warnings.append(f"animal_id {animal!r} has more than one {column} ({', '.join(seen)});"
                            " check the animal_id or the " + column)


def _summary(entries: list[dict[str, object]]) -> pd.DataFrame:
    tallies: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for entry in entries:
        rec = entry["record"]
        status = ("rejected" if entry["problems"] else
                  "duplicates" if entry["duplicate_of"] is not None else "accepted")
        keys = (("total", "all"), ("file", str(rec["source_file"])),
                ("species", str(rec["species"]) or "(empty)"),
                ("site", str(rec["site"]) or "(empty)"),
                ("year", str(rec["year"]) if rec["year"] else "(no valid date)"))
        for key in keys:
            tallies[key][status] += 1
    order = {"total": 0, "file": 1, "species": 2, "site": 3, "year": 4}
    rows = [
        {"grouping": g, "value": v, "rows": sum(c.values()), "accepted": c["accepted"],
         "rejected": c["rejected"], "duplicates": c["duplicates"]}
        for (g, v), c in sorted(tallies.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]
    if not rows:
        rows = [{"grouping": "total", "value": "all", "rows": 0, "accepted": 0, "rejected": 0,
                 "duplicates": 0}]
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def read_sheets(
    paths: list[str | Path], registry: SpeciesRegistry, assays: dict[str, Assay],
    layouts: list[SheetLayout] | None = None, *, strict: bool = False,
    today: dt.date | None = None,
) -> IntakeResult:
    """Read and harmonise ``paths`` (csv, tsv, xlsx) in the order given.

    Raises :class:`IntakeError` if a file is unreadable, or (``strict``) if any row is rejected;
    the message lists every problem. Exact duplicates never fail a strict run.
    """
    result = _collect(list(paths), registry, assays, layouts, today)
    if result.file_errors:
        raise IntakeError("unreadable sample sheet(s):\n" + "\n".join(result.file_errors))
    if strict and result.rejected_rows:
        problems = result.rejected[~result.rejected["reason"].str.startswith("exact duplicate")]
        text = "\n".join(_problem_lines(problems))
        raise IntakeError(
            f"strict mode: {result.rejected_rows} row(s) rejected; fix them (or set strict: false"
            f" to continue without them):\n{text}"
        )
    return result


def run_intake(
    paths: list[str | Path], species_file: str | Path, assays_file: str | Path,
    layouts_file: str | Path | None = None, *, strict: bool = False,
) -> IntakeResult:
    """:func:`read_sheets` with the registry, assays and layouts loaded from their files."""
    return read_sheets(paths, load_species_registry(species_file), load_assays(assays_file),
                       load_sheet_layouts(layouts_file), strict=strict)


# ----------------------------------------------------------------------------- files

def _format_float(value: float, digits: int) -> str:
    if value is None or pd.isna(value):
        return ""
    return format(round(float(value), digits), ".10g")


def samples_as_text(samples: pd.DataFrame) -> pd.DataFrame:
    """The table as written: floats rounded (titre, age to 6 significant, coordinates to 1e-6)."""
    out = samples.copy()
    for column in ("titre", "age_years"):
        out[column] = [("" if pd.isna(v) else f"{v:.6g}") for v in out[column]]
    for column in ("latitude", "longitude"):
        out[column] = [_format_float(v, 6) for v in out[column]]
    for column in _INT_COLUMNS:
        out[column] = ["" if pd.isna(v) else str(int(v)) for v in out[column]]
    return out


def write_intake(result: IntakeResult, samples_path: str | Path, rejected_path: str | Path,
                 summary_path: str | Path) -> None:
    """Write the three intake tables (tab-separated, UTF-8, fixed row order)."""
    for path, frame in ((samples_path, samples_as_text(result.samples)),
                        (rejected_path, result.rejected), (summary_path, result.summary)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, sep="\t", index=False, lineterminator="\n", encoding="utf-8")


def read_samples_table(path: str | Path) -> pd.DataFrame:
    """Read ``results/samples/samples.tsv`` with its types (Int64 years, float titres, text)."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8")
    return _typed(frame.replace("", None))


def validate_samples(samples: pd.DataFrame) -> None:
    """Check accepted samples against ``workflow/schemas/samples.schema.yaml`` (a guard)."""
    schema = yaml.safe_load((SCHEMA_DIR / "samples.schema.yaml").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    text = samples_as_text(samples)
    for record in _schema_records(text):
        for error in validator.iter_errors(record):
            raise ValueError(f"sample {record.get('sample_id')!r}: {error.message}")


def _schema_records(text: pd.DataFrame) -> list[dict[str, object]]:
    """Written-form rows -> JSON-like records (empty -> None, numbers typed) for the schema."""
    records = []
    for row in text.to_dict(orient="records"):
        rec: dict[str, object] = {}
        for key, value in row.items():
            if value == "":
                rec[key] = None
            elif key in _INT_COLUMNS:
                rec[key] = int(value)
            elif key in _FLOAT_COLUMNS:
                rec[key] = float(value)
            else:
                rec[key] = value
        records.append(rec)
    return records


# ----------------------------------------------------------------------------- check

@dataclass
class CheckResult:
    """What ``disease-risk check`` reports: clean (exit 0) or not (exit 1), and the text."""

    clean: bool
    text: str
    result: IntakeResult


def check(paths: list[str | Path], species_file: str | Path, assays_file: str | Path,
          layouts_file: str | Path | None = None) -> CheckResult:
    """Validate sheets exactly as the pipeline would; a human-readable list of problems."""
    result = _collect(list(paths), load_species_registry(species_file),
                      load_assays(assays_file), load_sheet_layouts(layouts_file), None)
    lines: list[str] = []
    for error in result.file_errors:
        lines.append(f"UNREADABLE {error}")
    files = result.summary[result.summary["grouping"] == "file"].set_index("value")
    for path in paths:
        key = str(path)
        if key not in files.index:
            continue
        row = files.loc[key]
        status = "OK" if row["rejected"] == 0 else "PROBLEMS"
        lines.append(f"{status} {key}: {row['rows']} rows, {row['accepted']} accepted, "
                     f"{row['rejected']} rejected, {row['duplicates']} exact duplicates")
        for r in result.rejected[result.rejected["file"] == key].itertuples(index=False):
            lines.append(f"  row {r.row}, column {r.column}, value {r.value!r}: {r.reason}")
    lines += [f"note: {w}" for w in result.warnings]
    clean = result.clean
    lines.append(
        "all sheets are clean" if clean else
        f"problems found: {len(result.file_errors)} unreadable file(s), {result.rejected_rows} "
        "rejected row(s)"
    )
    return CheckResult(clean=clean, text="\n".join(lines), result=result)


# ----------------------------------------------------------------------------- real data

def load_yellowstone(csv_path: str | Path, config_dir: str | Path = "config") -> IntakeResult:
    """The Yellowstone wolf and grizzly serology (CDV_all.csv) through the ordinary intake.

    Uses only config: the ``gray_wolf`` and ``grizzly_bear`` registry entries and the
    ``yellowstone_cdv_serology`` sheet layout (column names, site and assay defaults).
    """
    config_dir = Path(config_dir)
    return run_intake([csv_path], config_dir / "species.yaml", config_dir / "assays.yaml",
                      config_dir / "sheet_layouts.yaml")




# ----------------------------------------------------------------------------- workflow step

def intake_step(
    sheets: list[str], species_file: str, assays_file: str, layouts_file: str | None,
    strict: bool, outputs: tuple[str, str, str], log: logging.Logger,
) -> IntakeResult:
    """The ``intake`` rule: read, log warnings, write the three tables or fail with every problem.

    A failure message goes to the log and to the terminal (the log captures stderr).
    """
    try:
        if not sheets:
            raise IntakeError("no sample sheets (.csv, .tsv, .xlsx) in the folder named by the "
                              "config key samples_dir; drop at least one sheet there")
        result = run_intake(sheets, species_file, assays_file, layouts_file, strict=strict)
    except (IntakeError, ConfigFileError) as err:
        print(f"intake failed:\n{err}", file=sys.__stderr__)
        raise
    for warning in result.warnings:
        log.warning(warning)
    if len(result.rejected):
        log.warning("rows not used (also in %s):\n%s", outputs[1], result.problem_text())
    validate_samples(result.samples)
    write_intake(result, *outputs)
    log.info("%d rows read from %d sheet(s): %d accepted, %d rejected, %d exact duplicates",
             result.rows_read, len(sheets), result.accepted_rows, result.rejected_rows,
             result.duplicate_rows)
    return result
