"""``disease-risk check``: validate sheets exactly as the pipeline would and say what it found.

Every sheet (each worksheet of a workbook) gets an ``OK`` or ``PROBLEMS`` line with its rejected
rows; every unreadable file an ``UNREADABLE`` line; every file or worksheet not read that may
hold samples a ``NOT READ`` line. The last line says "all sheets are clean" only when nothing
was rejected, unreadable or left unread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from disease_risk.intake.folder import NotRead
from disease_risk.intake.harmonise import (
    IntakeResult,
    collect,
    load_assays,
    load_sheet_layouts,
    load_species_registry,
)


@dataclass
class CheckResult:
    """What ``disease-risk check`` reports: clean (exit 0) or not (exit 1), and the text."""

    clean: bool
    text: str
    result: IntakeResult


def check(paths: Sequence[str | Path], species_file: str | Path, assays_file: str | Path,
          layouts_file: str | Path | None = None,
          not_read: Sequence[NotRead] = ()) -> CheckResult:
    """Validate sheets as the pipeline would; ``not_read``: other files of a checked folder."""
    result = collect(list(paths), load_species_registry(species_file), load_assays(assays_file),
                     load_sheet_layouts(layouts_file), None, not_read)
    lines = [f"UNREADABLE {error}" for error in result.file_errors]
    files = result.summary[result.summary["grouping"] == "file"].set_index("value")
    for source in result.sources:
        if source not in files.index:
            continue
        row = files.loc[source]
        status = "OK" if row["rejected"] == 0 else "PROBLEMS"
        lines.append(f"{status} {source}: {row['rows']} rows, {row['accepted']} accepted, "
                     f"{row['rejected']} rejected, {row['duplicates']} exact duplicates")
        for r in result.rejected[result.rejected["file"] == source].itertuples(index=False):
            lines.append(f"  row {r.row}, column {r.column}, value {r.value!r}: {r.reason}")
    for item in result.listed_not_read:
        rows = f" ({item.rows} non-empty rows)" if item.rows else ""
        lines.append(f"NOT READ {item.where}{rows}: {item.reason.removeprefix('not read: ')}")
    lines += [f"note: {w}" for w in result.warnings]
    lines += [f"note: {n}" for n in result.notes]
    lines.append(_verdict(result))
    return CheckResult(clean=result.clean, text="\n".join(lines), result=result)


def _verdict(result: IntakeResult) -> str:
    """The last line: clean (naming what was noted but not read) or the problem counts."""
    if result.clean:
        noted = len(result.notes)
        return "all sheets are clean" + (
            f" ({noted} empty worksheet(s) or documentation file(s) not read; see the notes)"
            if noted else "")
    return (f"problems found: {len(result.file_errors)} unreadable file(s), "
            f"{result.rejected_rows} rejected row(s), {len(result.listed_not_read)} file(s) or "
            "worksheet(s) not read")
