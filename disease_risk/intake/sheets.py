"""Read one sample-sheet file (.csv, .tsv, .xlsx) into raw text cells, or say why it is unreadable.

Whole-file problems (not UTF-8, wrong delimiter, a stray quote, empty, no header, missing
required column) raise :class:`SheetError` naming the file and the fix. Every worksheet of a
workbook is read; a worksheet without a sample-sheet header (notes) or without cells is returned
as a :class:`~disease_risk.intake.folder.NotRead` entry. Cell-level problems are left to
:mod:`disease_risk.intake.harmonise`. Files are only ever opened for reading.
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from disease_risk.intake.delimited import read_delimited
from disease_risk.intake.folder import NotRead, scan_drop_folder
from disease_risk.intake.formats import SHEET_SUFFIXES, UNSUPPORTED_SUFFIXES, SheetError
from disease_risk.intake.registry import SheetLayout
from disease_risk.intake.wdds import wdds_sample_cells
from disease_risk.intake.workbook import Worksheet, read_workbook

__all__ = ["SHEET_SUFFIXES", "UNSUPPORTED_SUFFIXES", "RawSheet", "SheetError", "SheetFile",
           "find_sheets", "read_file", "read_sheet", "write_template"]

REQUIRED_COLUMNS = ("sample_id", "species", "site", "collection_date", "assay", "result")
OPTIONAL_COLUMNS = (
    "animal_id", "sex", "age_years", "birth_year", "latitude", "longitude", "lab",
    "vaccinated", "sample_type", "sequence_id", "notes",
)
STANDARD_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Output columns the intake computes; a sheet column of that name is kept as ``sheet_<name>``.
DERIVED_COLUMNS = ("species_role", "year", "result_raw", "titre", "titre_qualifier",
                   "source_file", "source_row")
# Row-value keys that are not sheet columns: a row with more cells than the header, and a
# formula cell without a saved value (``FORMULA_KEY + column``).
OVERFLOW_KEY = "__overflow__"
FORMULA_KEY = "__formula__:"
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


@dataclass
class RawSheet:
    """A sheet's cells as text, keyed by standard (or normalised extra) column name.

    ``label`` is what ``source_file`` records: the path, or ``path#<worksheet>`` for a worksheet
    of a workbook with more than one worksheet holding cells.
    """

    path: Path
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    extra_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or str(self.path)


@dataclass
class SheetFile:
    """What one file gave: the sheets read, worksheets not read, unreadable worksheets."""

    path: Path
    sheets: list[RawSheet] = field(default_factory=list)
    not_read: list[NotRead] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def column_key(name: str) -> str:
    """Header cell -> column key: case-folded, outer spaces dropped, inner spaces -> ``_``."""
    text = unicodedata.normalize("NFC", str(name)).replace("\ufeff", "").strip().casefold()
    return re.sub(r"[\s\-]+", "_", text)


def _check_file(path: Path) -> None:
    """Refuse a file of the wrong type, a missing file or an empty one."""
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


def read_file(path: str | Path, layout: SheetLayout | None = None) -> SheetFile:
    """Read every sheet of ``path`` (one for .csv/.tsv, each worksheet of an .xlsx).

    Raises :class:`SheetError` when the whole file is unreadable; an unreadable worksheet of a
    workbook is in :attr:`SheetFile.errors` (the run stops on it all the same).
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_worksheets(path, layout)
    delimiter = _DELIMITERS[suffix]
    cells = read_delimited(path, delimiter)
    return SheetFile(path, [_sheet_from_cells(path, str(path), cells, layout, delimiter=delimiter)])


def read_sheet(path: str | Path, layout: SheetLayout | None = None) -> RawSheet:
    """The first sheet :func:`read_file` reads from ``path``; SheetError if any is unreadable."""
    found = read_file(path, layout)
    if found.errors:
        raise SheetError(found.errors[0])
    return found.sheets[0]


def _sheet_from_cells(
    path: Path, label: str, cells: list[list[str]], layout: SheetLayout | None,
    formulas: dict[int, dict[int, str]] | None = None, delimiter: str | None = None,
) -> RawSheet:
    """Find the header in ``cells``, map it to standard columns and return the data rows."""
    formulas = formulas or {}
    cells = wdds_sample_cells(cells)  # WDDS columns -> sample-sheet columns
    numbered = [(i + 1, row) for i, row in enumerate(cells)
                if i in formulas or any(c.strip() for c in row)]
    if not numbered:
        raise SheetError(f"{label}: the file is empty; it needs a header row and sample rows")
    header_row, header = numbered[0]
    if delimiter:
        _check_delimiter(path, header, delimiter)
    warnings: list[str] = []
    keys, extras = _column_keys(label, header, numbered, layout, warnings)
    defaults = layout.defaults if layout else {}
    rows = [(number, _row_values(keys, cells_row, layout, formulas.get(number - 1)))
            for number, cells_row in numbered[1:]]
    columns = [k for k in keys if k]
    columns += [c for c in defaults if c not in columns]
    if header_row != 1:
        warnings.append(f"{label}: the header is on row {header_row} (rows above it are blank)")
    return RawSheet(path=path, columns=columns, rows=rows, extra_columns=extras,
                    warnings=warnings, label=label)


def _looks_like_samples(cells: list[list[str]], layout: SheetLayout | None) -> bool:
    """True if one of the first rows names two or more required columns."""
    mapping = {column_key(k): v for k, v in (layout.columns if layout else {}).items()}
    filled = [row for row in cells if any(c.strip() for c in row)][:_HEADER_SEARCH_ROWS]
    for row in filled:
        keys = {mapping.get(column_key(c), column_key(c)) for c in row if c.strip()}
        if len(keys & set(REQUIRED_COLUMNS)) >= 2:
            return True
    return False


def _notes_reason(sheet: Worksheet) -> str:
    return (f"not read: worksheet {sheet.title!r} has no header row naming the required columns "
            f"({', '.join(REQUIRED_COLUMNS)}), so it is taken for notes; if it holds samples, "
            "give it that header row (see `disease-risk template`), otherwise move the notes "
            "out of the workbook")


def _read_worksheets(path: Path, layout: SheetLayout | None) -> SheetFile:
    """Each worksheet read, listed (notes, empty, chart) or unreadable.

    With one worksheet holding cells, it is read exactly as a .csv would be (its problems make
    the file unreadable). With several, each is named ``path#<title>``; one without a
    sample-sheet header is listed as notes instead of stopping the run.
    """
    found = SheetFile(path)
    worksheets = read_workbook(path)
    filled = [w for w in worksheets if w.filled_rows]
    if not filled:
        raise SheetError(f"{path}: the file is empty; it needs a header row and sample rows")
    several = len(filled) > 1
    notes_error = ""
    for sheet in worksheets:
        label = f"{path}#{sheet.title}" if several or not sheet.filled_rows else str(path)
        if not sheet.filled_rows:
            what = "chart sheet (no cells)" if sheet.chart else "empty worksheet"
            found.not_read.append(NotRead(label, f"{what}; nothing to read", 0, False,
                                          "worksheet"))
            continue
        try:
            raw = _sheet_from_cells(path, label, sheet.cells, layout, sheet.formulas)
        except SheetError as err:
            if several and not _looks_like_samples(sheet.cells, layout):
                found.not_read.append(NotRead(label, _notes_reason(sheet), sheet.filled_rows,
                                              kind="worksheet"))
                notes_error = notes_error or str(err)
            else:
                found.errors.append(str(err))
            continue
        if sheet.hidden:
            raw.warnings.append(f"{label}: worksheet {sheet.title!r} is hidden in Excel; its "
                                "rows are read like the others")
        found.sheets.append(raw)
    if not found.sheets and not found.errors:
        found.errors.append(f"{notes_error} (no worksheet of {path} has a header row naming the "
                            "required columns)")
        found.not_read = [n for n in found.not_read if not n.listed]
    return found


def _column_keys(
    label: str,
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
            warnings.append(f"{label}: column {key!r} is computed by the intake; the sheet's "
                            f"values are kept as {keys[i]!r}")
    _check_required(label, keys, layout.defaults if layout else {}, numbered, mapping)
    for i, key in enumerate(keys):
        if not key and any(i < len(r) and r[i].strip() for _, r in numbered[1:]):
            keys[i] = f"unnamed_{i + 1}"
            warnings.append(f"{label}: column {i + 1} has values but no name; kept as {keys[i]!r}")
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if not key:
            continue
        if key in seen:
            raise SheetError(
                f"{label}: column {key!r} appears twice (columns {seen[key] + 1} and {i + 1}); "
                "rename or delete one of them"
            )
        seen[key] = i
    extras = [k for k in keys if k and k not in STANDARD_COLUMNS]
    for extra in extras:
        near = difflib.get_close_matches(extra, STANDARD_COLUMNS, n=1, cutoff=0.75)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        warnings.append(
            f"{label}: column {extra!r} is not a standard column; kept as-is in samples.tsv{hint}"
        )
    return keys, extras


def _row_values(keys: list[str], cells_row: list[str], layout: SheetLayout | None,
                formulas: dict[int, str] | None = None) -> dict[str, str]:
    """One data row as {column: text}, with layout defaults and id prefix; an overflow marker
    (:data:`OVERFLOW_KEY`) and one :data:`FORMULA_KEY` entry per formula without a saved value."""
    values: dict[str, str] = {}
    for key, cell in zip(keys, cells_row, strict=False):
        if key:
            values[key] = unicodedata.normalize("NFC", cell.strip())
    if len(cells_row) > len(keys) and any(c.strip() for c in cells_row[len(keys):]):
        values[OVERFLOW_KEY] = f"{len(cells_row)} cells but the header has {len(keys)}"
    for index, formula in (formulas or {}).items():
        column = keys[index] if index < len(keys) and keys[index] else f"column {index + 1}"
        values[FORMULA_KEY + column] = formula
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


def _check_required(label: str, keys: list[str], defaults: dict[str, str],
                    numbered: list[tuple[int, list[str]]], mapping: dict[str, str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in keys and c not in defaults]
    if not missing:
        return
    if len(missing) == len(REQUIRED_COLUMNS) or len(missing) >= 4:
        for number, row in numbered[1:_HEADER_SEARCH_ROWS]:
            later = [mapping.get(column_key(c), column_key(c)) for c in row]
            if all(c in later or c in defaults for c in REQUIRED_COLUMNS):
                raise SheetError(
                    f"{label}: the column names are on row {number}, not on the first row; delete "
                    f"the {number - numbered[0][0]} row(s) above the header (titles, notes) so "
                    "the header is the first row"
                )
        header = numbered[0][1]
        if not any(k in STANDARD_COLUMNS for k in keys) and any(
            re.fullmatch(r"[\d.,:/<>= -]+", c.strip()) for c in header if c.strip()
        ):
            raise SheetError(
                f"{label}: no header row found (the first row looks like data): the first row "
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
        f"{label}: missing required column(s) {', '.join(hints)}; add the column with a value on "
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
    """The sample sheets in a drop folder, sorted; :func:`~disease_risk.intake.folder.
    scan_drop_folder` also lists every other file with the reason it is not read."""
    return scan_drop_folder(folder).sheets
