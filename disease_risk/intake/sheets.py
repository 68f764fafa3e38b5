"""Read one sample sheet (.csv, .tsv, .xlsx) into raw text cells, or say why the file is unreadable.

Whole-file problems (not UTF-8, wrong delimiter, empty, no header, missing required column) raise
:class:`SheetError` naming the file and the fix. Cell-level problems are left to
:mod:`disease_risk.intake.harmonise`. Files are only ever opened for reading.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from disease_risk.intake.registry import SheetLayout

REQUIRED_COLUMNS = ("sample_id", "species", "site", "collection_date", "assay", "result")
OPTIONAL_COLUMNS = (
    "animal_id", "sex", "age_years", "birth_year", "latitude", "longitude", "lab",
    "vaccinated", "sample_type", "sequence_id", "notes",
)
STANDARD_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Output columns the intake computes; a sheet column of that name is kept as ``sheet_<name>``.
DERIVED_COLUMNS = ("species_role", "year", "result_raw", "titre", "titre_qualifier",
                   "source_file", "source_row")
SHEET_SUFFIXES = (".csv", ".tsv", ".xlsx")
# Spreadsheet files the intake cannot read: listed so that dropping one fails loudly.
UNSUPPORTED_SUFFIXES = (".xls", ".xlsm", ".xlsb", ".ods", ".numbers")
# Column names labs often use, offered as hints when a required column is missing.
_COMMON_NAMES = {
    "sample_id": ("id", "sample", "sample_no", "lab_id", "specimen_id"),
    "species": ("spp", "animal", "host", "species_name"),
    "site": ("location", "locality", "village", "area"),
    "collection_date": ("date", "sampling_date", "capture_date", "trap.date", "trap_date"),
    "assay": ("test", "method"),
    "result": ("titre", "titer", "vnt", "call", "outcome", "sheet_titre"),
}
_DELIMITERS = {".csv": ",", ".tsv": "\t"}
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_HEADER_SEARCH_ROWS = 10


class SheetError(ValueError):
    """The whole file cannot be read as a sample sheet; the message names the file and the fix."""


@dataclass
class RawSheet:
    """A sheet's cells as text, keyed by standard (or normalised extra) column name."""

    path: Path
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    extra_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def column_key(name: str) -> str:
    """Header cell -> column key: case-folded, outer spaces dropped, inner spaces -> ``_``."""
    text = unicodedata.normalize("NFC", str(name)).replace("\ufeff", "").strip().casefold()
    return re.sub(r"[\s\-]+", "_", text)


def _cell_text(value: object) -> str:
    """An Excel cell as the text a lab member sees (dates ISO, whole numbers without .0)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(path: Path) -> tuple[list[list[str]], list[str]]:
    warnings: list[str] = []
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise SheetError(
            f"{path}: not a readable .xlsx workbook ({err}); save it from Excel or LibreOffice "
            "as 'Excel Workbook (.xlsx)'"
        ) from err
    try:
        sheets = book.worksheets
        first = sheets[0]
        rows = [[_cell_text(v) for v in row] for row in first.iter_rows(values_only=True)]
        for other in sheets[1:]:
            if any(any(v is not None for v in row) for row in other.iter_rows(values_only=True)):
                warnings.append(
                    f"{path}: worksheet {other.title!r} ignored; only the first worksheet "
                    f"({first.title!r}) is read. Move its samples to their own file if they count."
                )
    finally:
        book.close()
    return rows, warnings


def _read_text(path: Path, delimiter: str) -> list[list[str]]:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SheetError(
            f"{path}: saved as UTF-16 ('Unicode text'); save it as 'CSV UTF-8' (or tab-separated "
            "UTF-8 for .tsv) instead"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SheetError(
            f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}; the file is "
            "probably Latin-1/Windows-1252 encoded). Save it as 'CSV UTF-8 (comma delimited)' "
            "in Excel, or choose character set 'Unicode (UTF-8)' in LibreOffice"
        ) from err
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""),
                                                                 delimiter=delimiter)]


def read_sheet(path: str | Path, layout: SheetLayout | None = None) -> RawSheet:
    """Read ``path`` and map its header to standard columns (through ``layout`` if given)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SHEET_SUFFIXES:
        raise SheetError(
            f"{path}: unsupported file type {suffix!r}; save the sheet as .xlsx (Excel "
            "Workbook), .csv (CSV UTF-8) or .tsv"
        )
    if not path.is_file():
        raise SheetError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise SheetError(f"{path}: the file is empty; it needs a header row and sample rows")
    warnings: list[str] = []
    if suffix == ".xlsx":
        cells, warnings = _read_xlsx(path)
    else:
        cells = _read_text(path, _DELIMITERS[suffix])
    numbered = [(i + 1, row) for i, row in enumerate(cells) if any(c.strip() for c in row)]
    if not numbered:
        raise SheetError(f"{path}: the file is empty; it needs a header row and sample rows")
    header_row, header = numbered[0]
    if suffix != ".xlsx":
        _check_delimiter(path, header, _DELIMITERS[suffix])
    keys, extras = _column_keys(path, header, numbered, layout, warnings)
    defaults = layout.defaults if layout else {}
    rows = [(number, _row_values(keys, cells_row, layout)) for number, cells_row in numbered[1:]]
    columns = [k for k in keys if k]
    columns += [c for c in defaults if c not in columns]
    if header_row != 1:
        warnings.append(f"{path}: the header is on row {header_row} (rows above it are blank)")
    return RawSheet(path=path, columns=columns, rows=rows, extra_columns=extras, warnings=warnings)


def _column_keys(
    path: Path,
    header: list[str],
    numbered: list[tuple[int, list[str]]],
    layout: SheetLayout | None,
    warnings: list[str],
) -> tuple[list[str], list[str]]:
    """Standard column key per header cell ("" for a blank, unused column) and the extras."""
    mapping = {column_key(k): v for k, v in (layout.columns if layout else {}).items()}
    keys = [mapping.get(column_key(h), column_key(h)) for h in header]
    for i, key in enumerate(keys):
        if key in DERIVED_COLUMNS:
            keys[i] = f"sheet_{key}"
            warnings.append(f"{path}: column {key!r} is computed by the intake; the sheet's "
                            f"values are kept as {keys[i]!r}")
    _check_required(path, keys, layout.defaults if layout else {}, numbered, mapping)
    for i, key in enumerate(keys):
        if not key and any(i < len(r) and r[i].strip() for _, r in numbered[1:]):
            keys[i] = f"unnamed_{i + 1}"
            warnings.append(f"{path}: column {i + 1} has values but no name; kept as {keys[i]!r}")
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if not key:
            continue
        if key in seen:
            raise SheetError(
                f"{path}: column {key!r} appears twice (columns {seen[key] + 1} and {i + 1}); "
                "rename or delete one of them"
            )
        seen[key] = i
    extras = [k for k in keys if k and k not in STANDARD_COLUMNS]
    for extra in extras:
        near = difflib.get_close_matches(extra, STANDARD_COLUMNS, n=1, cutoff=0.75)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        warnings.append(
            f"{path}: column {extra!r} is not a standard column; kept as-is in samples.tsv{hint}"
        )
    return keys, extras


def _row_values(keys: list[str], cells_row: list[str], layout: SheetLayout | None) -> dict:
    """One data row as {column: text}, with layout defaults, id prefix and an overflow marker."""
    values: dict[str, str] = {}
    for key, cell in zip(keys, cells_row, strict=False):
        if key:
            values[key] = unicodedata.normalize("NFC", cell.strip())
    if len(cells_row) > len(keys) and any(c.strip() for c in cells_row[len(keys):]):
        values["__overflow__"] = f"{len(cells_row)} cells but the header has {len(keys)}"
    for column, default in (layout.defaults if layout else {}).items():
        if not values.get(column):
            values[column] = default
    if layout and layout.sample_id_prefix and values.get("sample_id"):
        values["sample_id"] = layout.sample_id_prefix + values["sample_id"]
    return values


def _check_delimiter(path: Path, header: list[str], delimiter: str) -> None:
    if len(header) > 1:
        return
    for other in (";", "\t", ",", "|"):
        if other != delimiter and other in header[0]:
            raise SheetError(
                f"{path}: columns are separated by {_DELIMITER_NAMES[other]}s ({other!r}), but a "
                f"{path.suffix.lower()} file must use {_DELIMITER_NAMES[delimiter]}s; re-export it "
                f"as {'comma-separated CSV UTF-8' if delimiter == ',' else 'tab-separated text'}"
                f" (or rename it to {'.csv' if other == ',' else '.tsv'} if that matches)"
            )


def _check_required(path: Path, keys: list[str], defaults: dict[str, str],
                    numbered: list[tuple[int, list[str]]], mapping: dict[str, str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in keys and c not in defaults]
    if not missing:
        return
    if len(missing) == len(REQUIRED_COLUMNS) or len(missing) >= 4:
        for number, row in numbered[1:_HEADER_SEARCH_ROWS]:
            later = [mapping.get(column_key(c), column_key(c)) for c in row]
            if all(c in later or c in defaults for c in REQUIRED_COLUMNS):
                raise SheetError(
                    f"{path}: the column names are on row {number}, not on the first row; delete "
                    f"the {number - numbered[0][0]} row(s) above the header (titles, notes) so "
                    "the header is the first row"
                )
        header = numbered[0][1]
        if not any(k in STANDARD_COLUMNS for k in keys) and any(
            re.fullmatch(r"[\d.,:/<>= -]+", c.strip()) for c in header if c.strip()
        ):
            raise SheetError(
                f"{path}: no header row found (the first row looks like data): the first row "
                f"must name the columns, including {', '.join(REQUIRED_COLUMNS)} (run "
                "`disease-risk template` for an example sheet)"
            )
    hints = []
    for column in missing:
        near = difflib.get_close_matches(column, [k for k in keys if k], n=1, cutoff=0.75)
        near = near or [k for k in keys if k in _COMMON_NAMES[column]][:1]
        if near:
            hints.append(f"{column!r} (is {near[0]!r} meant to be it?)")
        else:
            hints.append(repr(column))
    raise SheetError(
        f"{path}: missing required column(s) {', '.join(hints)}; add the column with a value on "
        "every row (or rename the existing column; a sheet from another project can be mapped in "
        "config/sheet_layouts.yaml)"
    )


TEMPLATE_EXAMPLE_ROW = {
    "sample_id": "EXAMPLE-0001", "species": "amur_tiger", "site": "Kedrovaya Pad",
    "collection_date": "2019-03-14", "assay": "VNT", "result": "1:32", "animal_id": "T012",
    "sex": "F", "age_years": "4", "birth_year": "", "latitude": "43.1", "longitude": "131.55",
    "lab": "your_lab", "vaccinated": "no", "sample_type": "serum", "sequence_id": "",
    "notes": "example row: replace it with your samples (intake rejects EXAMPLE ids)",
}


def write_template(path: str | Path) -> Path:
    """An empty sheet (.csv, .tsv or .xlsx) with every standard column and one example row."""
    path = Path(path)
    suffix = path.suffix.lower()
    header = list(STANDARD_COLUMNS)
    row = [TEMPLATE_EXAMPLE_ROW[c] for c in header]
    if suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "samples"
        sheet.append(header)
        sheet.append(row)
        book.save(path)
    elif suffix in _DELIMITERS:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=_DELIMITERS[suffix], lineterminator="\n")
            writer.writerow(header)
            writer.writerow(row)
    else:
        raise ValueError(f"{path}: choose a .csv, .tsv or .xlsx file name")
    return path


def find_sheets(folder: str | Path) -> list[Path]:
    """The sample sheets in a drop folder, sorted; Excel lock files and hidden files skipped.

    Spreadsheets in formats the intake cannot read (.xls, .ods ...) are included so that the
    intake fails naming them instead of ignoring them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SheetError(
            f"samples_dir {str(folder)!r} is not a folder; create it or point the config key "
            "samples_dir at the folder holding the sample sheets"
        )
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SHEET_SUFFIXES + UNSUPPORTED_SUFFIXES
        and not p.name.startswith(("~$", "."))
    )
