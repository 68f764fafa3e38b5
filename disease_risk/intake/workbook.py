"""Every worksheet of an .xlsx workbook as text cells, with the formulas that have no saved value.

A workbook written by a program that does not calculate (a script, some exporters) stores
formulas without their results; such a cell would read as empty. It is kept in
:attr:`Worksheet.formulas` so the intake can list the row instead of losing it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from disease_risk.intake.formats import SheetError


@dataclass
class Worksheet:
    """One worksheet: its rows as text, and ``{row index: {column index: formula}}`` for
    formula cells without a saved value (their text is empty)."""

    title: str
    cells: list[list[str]]
    formulas: dict[int, dict[int, str]] = field(default_factory=dict)
    hidden: bool = False
    chart: bool = False

    @property
    def filled_rows(self) -> int:
        """Rows with a value or a formula: what the worksheet holds."""
        return sum(1 for i, row in enumerate(self.cells)
                   if i in self.formulas or any(c.strip() for c in row))


def cell_text(value: object) -> str:
    """An Excel cell as the text a lab member sees (dates ISO, whole numbers without .0).

    A date with a time of day keeps the time (``2015-05-31 14:30:00``); the date parser reads
    its date.
    """
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


def _formula_text(value: object) -> str | None:
    """The formula of a cell in the formula view, or None for a plain value."""
    if isinstance(value, ArrayFormula):
        return str(value.text or "")
    if isinstance(value, DataTableFormula):
        return "=TABLE()"
    if isinstance(value, str) and value.startswith("="):
        return value
    return None


def _worksheet(values, formulas) -> Worksheet:
    """One worksheet from its value view and its formula view (read in step)."""
    cells: list[list[str]] = []
    uncached: dict[int, dict[int, str]] = {}
    pairs = itertools.zip_longest(values.iter_rows(values_only=True),
                                  formulas.iter_rows(values_only=True), fillvalue=())
    for i, (row, formula_row) in enumerate(pairs):
        cells.append([cell_text(v) for v in row])
        for j, (value, formula) in enumerate(itertools.zip_longest(row, formula_row)):
            text = _formula_text(formula)
            if value is None and text is not None:
                uncached.setdefault(i, {})[j] = text
                if j >= len(cells[-1]):
                    cells[-1] += [""] * (j + 1 - len(cells[-1]))
    hidden = getattr(values, "sheet_state", "visible") != "visible"
    return Worksheet(title=values.title, cells=cells, formulas=uncached, hidden=hidden)


def read_workbook(path: Path) -> list[Worksheet]:
    """Every worksheet in workbook order; a chart sheet comes with ``chart=True`` and no cells."""
    books = []
    try:
        books = [openpyxl.load_workbook(path, read_only=True, data_only=flag)
                 for flag in (True, False)]
        sheets = {v.title: _worksheet(v, f) for v, f in zip(books[0].worksheets,
                                                            books[1].worksheets, strict=True)}
        sheets |= {c.title: Worksheet(c.title, [], chart=True) for c in books[0].chartsheets}
        return [sheets[name] for name in books[0].sheetnames if name in sheets]
    except Exception as err:  # openpyxl fails in many ways on damaged or odd files
        raise SheetError(
            f"{path}: not a readable .xlsx workbook ({type(err).__name__}: {err}); save it from "
            "Excel or LibreOffice as 'Excel Workbook (.xlsx)'"
        ) from err
    finally:
        for book in books:
            book.close()
