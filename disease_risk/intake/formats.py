"""The file types the intake reads, and the error for a file it cannot read as a sample sheet."""

from __future__ import annotations

SHEET_SUFFIXES = (".csv", ".tsv", ".xlsx")
# Spreadsheet files the intake cannot read: taken as sheets so that reading them fails loudly.
UNSUPPORTED_SUFFIXES = (".xls", ".xlsm", ".xlsb", ".ods", ".numbers")


class SheetError(ValueError):
    """The whole file (or worksheet) cannot be read as a sample sheet; the message names it and
    the fix."""
