"""A .csv or .tsv file as rows of text cells, refusing a stray quote instead of misreading it.

A value that starts with a quote (``"``) runs until the next quote, across line breaks. A stray
quote therefore swallows the lines after it into one cell. The file is refused, naming the row
and column where the quote opened, when the quote is never closed, closes in the middle of a
value, or takes in a whole row's worth of delimiters after a line break. A value longer than the
csv module's field limit (131,072 characters) is refused too. A quoted value with a line break
and fewer delimiters (a note written on two lines) is read as it is.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from disease_risk.intake.formats import SheetError

QUOTE_FIX = ("delete the stray quote, or, if the value really holds a quote, put the whole "
             "value in quotes and double each quote inside it (\"\")")
# A value spanning lines is checked only when the header has this many columns (in narrower
# sheets a legitimate multi-line note could hold a row's worth of delimiters).
_MIN_COLUMNS_FOR_ROW_CHECK = 3
_DELIMITER_NAMES = {",": "comma", "\t": "tab"}
# The most characters a sheet cell may hold: the csv module's default, set for each read, since
# libraries change the module-wide limit on import (frictionless sets it to sys.maxsize).
CELL_LIMIT = 131072


def decode(path: Path) -> str:
    """The file's text: UTF-8 with or without BOM; UTF-16 and other encodings refused."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SheetError(
            f"{path}: saved as UTF-16 ('Unicode text'); save it as 'CSV UTF-8' (or tab-separated "
            "UTF-8 for .tsv) instead"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SheetError(
            f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}; the file is "
            "probably Latin-1/Windows-1252 encoded). Save it as 'CSV UTF-8 (comma delimited)' "
            "in Excel, or choose character set 'Unicode (UTF-8)' in LibreOffice"
        ) from err


def read_delimited(path: Path, delimiter: str) -> list[list[str]]:
    """Rows of stripped text cells; row ``i`` (0-based) is row ``i + 1`` as Excel numbers it."""
    text = decode(path)
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    spans: list[tuple[int, int]] = []  # first and last line (1-based) of each record
    previous = csv.field_size_limit(CELL_LIMIT)
    try:
        for record in reader:
            spans.append((spans[-1][1] + 1 if spans else 1, reader.line_num))
            records.append(record)
    except csv.Error as err:
        start = spans[-1][1] + 1 if spans else 1
        raise _parse_error(path, lines, records, (start, reader.line_num), delimiter,
                           str(err)) from None
    finally:
        csv.field_size_limit(previous)
    _check_spans(path, lines, records, spans, delimiter)
    return [[cell.strip() for cell in row] for row in records]


def open_quote_column(line: str, delimiter: str) -> int | None:
    """Index of the value on ``line`` whose opening quote is not closed where the value ends
    (never closed on the line, or closed with text after it); None if every quote is balanced.
    """
    column, i, end = 0, 0, len(line.rstrip("\r\n"))
    while i <= end:
        if i < end and line[i] == '"':
            i += 1
            while True:
                close = line.find('"', i, end)
                if close == -1:
                    return column
                if line[close + 1:close + 2] == '"':
                    i = close + 2
                    continue
                i = close + 1
                break
            if i < end and line[i] != delimiter:
                return column
        else:
            next_delimiter = line.find(delimiter, i, end)
            i = end if next_delimiter == -1 else next_delimiter
        column, i = column + 1, i + 1
    return None


def _where(records: list[list[str]], row: int, line: int, column: int | None) -> str:
    """``row 5 (line 7 of the file), column 'notes'`` (the header names the column if it can)."""
    header = next((r for r in records if any(c.strip() for c in r)), None)
    place = f"row {row}" if row == line else f"row {row} (line {line} of the file)"
    if column is None:
        return place
    if header and column < len(header) and header[column].strip() and row > 1:
        return f"{place}, column {header[column].strip()!r}"
    return f"{place}, column {column + 1}"


def _parse_error(path: Path, lines: list[str], records: list[list[str]],
                 span: tuple[int, int], delimiter: str, error: str) -> SheetError:
    """The csv module's error as a message naming the row, the column and the fix."""
    start, stop = span
    row = len(records) + 1
    first = lines[start - 1] if start <= len(lines) else ""
    column = open_quote_column(first, delimiter)
    where = _where(records, row, start, column)
    if "field larger than field limit" in error:
        if column is not None:
            return SheetError(
                f"{path}: {where}: a quote (\") opens this value and the cell grows past "
                f"{CELL_LIMIT:,} characters, swallowing the lines after it; "
                f"{QUOTE_FIX}"
            )
        long = next((i for i, v in enumerate(first.split(delimiter))
                     if len(v) > CELL_LIMIT), None)
        return SheetError(
            f"{path}: {_where(records, row, start, long)}: a value is longer than "
            f"{CELL_LIMIT:,} characters, the most a sheet cell may hold; shorten it "
            "(keep long text out of the sheet)"
        )
    if column is None:
        return SheetError(f"{path}: {where}: the file cannot be read as "
                          f"{'tab' if delimiter == chr(9) else 'comma'}-separated text ({error})")
    snippet = first.rstrip("\r\n")[:60]
    if "unexpected end of data" in error:
        what = ("opens a quote (\") that is never closed, so every later line would be read "
                "into this one cell")
    elif stop > start:
        what = (f"opens a quote (\") that runs on to line {stop}, so the lines in between "
                "would be read into this one cell")
    else:
        what = ("opens a quote (\") that closes before the value ends, so the text after the "
                "quote would be misread")
    return SheetError(f"{path}: {where}: the value {what} (line {start}: {snippet!r}); "
                      f"{QUOTE_FIX}")


def _check_spans(path: Path, lines: list[str], records: list[list[str]],
                 spans: list[tuple[int, int]], delimiter: str) -> None:
    """Refuse a value with a line break that took in another row.

    A stray quote in value ``k`` of a row closes somewhere in a later row, so the value holds the
    rest of its own row and the start of the next: its delimiters plus the row's cells reach
    two rows' worth (``2 * width - 1``), or a whole row's delimiters follow its line break. A
    note on two lines with fewer delimiters is legitimate.
    """
    header = next((r for r in records if any(c.strip() for c in r)), [])
    width = len(header)
    if width < _MIN_COLUMNS_FOR_ROW_CHECK:
        return
    for index, ((first, last), record) in enumerate(zip(spans, records, strict=True)):
        if first == last:
            continue
        for column, value in enumerate(record):
            parts = re.split(r"\r\n|\r|\n", value, maxsplit=1)
            inside = value.count(delimiter)
            if len(parts) < 2 or (inside + len(record) < 2 * width - 1
                                  and parts[1].count(delimiter) < width - 1):
                continue
            name = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
            raise SheetError(
                f"{path}: {_where(records, index + 1, first, column)}: a quote (\") opens this "
                f"value and runs over {last - first + 1} lines (from line {first + 1}: "
                f"{parts[1].splitlines()[0][:60] if parts[1] else ''!r}), taking in what looks "
                f"like another row: the value holds {inside} {name}(s) and its row {len(record)} "
                f"cells, for a header of {width}; the quote is probably a stray one; {QUOTE_FIX}"
            )
