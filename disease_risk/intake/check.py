"""``disease-risk check``: validate sheets exactly as the pipeline would and say what it found.

Every sheet (each worksheet of a workbook) gets an ``OK`` or ``PROBLEMS`` line with its rejected
rows; every unreadable file an ``UNREADABLE`` line; every file or worksheet not read that may
hold samples a ``NOT READ`` line. The last line says "all sheets are clean" only when nothing
was rejected, unreadable or left unread. A sheet in WDDS columns is read like any other; its
WDDS columns without a sample-sheet column are named on one line.

Field data (:func:`check_field_file`): a Camtrap DP package (folder or ``datapackage.json``), a
Movebank GPS CSV, a SMART patrol XML or observation query CSV. Each gets an ``OK`` or
``PROBLEMS`` line saying what was read, one line per value not used (file, row, column, value,
fix), notes, and for SMART every category not mapped with its count (``UNMAPPED``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.intake.camtrap_dp import camera_trap_tables, is_camtrap_dp, read_camtrap_dp
from disease_risk.intake.field_common import FieldDataError, FieldProblem
from disease_risk.intake.folder import NotRead
from disease_risk.intake.harmonise import (
    IntakeResult,
    collect,
    load_assays,
    load_sheet_layouts,
    load_species_registry,
)
from disease_risk.intake.movebank import collar_home_ranges, is_movebank_csv, read_movebank
from disease_risk.intake.registry import SpeciesRegistry
from disease_risk.intake.smart_patrol import (
    CategoryMap,
    is_smart_csv,
    is_smart_xml,
    load_category_map,
    patrol_tables,
    read_smart_csv,
    read_smart_xml,
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
        rejected = result.rejected[result.rejected["file"] == source]
        lines += grouped_problem_lines(
            (None, r.row, r.column, r.value, r.reason) for r in rejected.itertuples(index=False)
        )
    for item in result.listed_not_read:
        rows = f" ({item.rows} non-empty rows)" if item.rows else ""
        lines.append(f"NOT READ {item.where}{rows}: {item.reason.removeprefix('not read: ')}")
    lines += [f"note: {w}" for w in _wdds_warnings(result.warnings)]
    lines += [f"note: {n}" for n in result.notes]
    lines.append(_verdict(result))
    return CheckResult(clean=result.clean, text="\n".join(lines), result=result)


_WDDS_EXTRA = re.compile(r"^(?P<sheet>.*): column 'wdds_(?P<term>\w+)' is not a standard column")


def _wdds_warnings(warnings: list[str]) -> list[str]:
    """The warnings, with the one-per-column notes of a WDDS sheet's extra columns as one."""
    kept: list[str] = []
    extras: dict[str, list[str]] = {}
    for warning in warnings:
        if match := _WDDS_EXTRA.match(warning):
            extras.setdefault(match["sheet"], []).append(match["term"])
        else:
            kept.append(warning)
    return [f"{sheet}: read as a WDDS sheet; {len(terms)} WDDS column(s) without a "
            f"sample-sheet column kept in samples.tsv as wdds_<term>: {', '.join(terms)}"
            for sheet, terms in extras.items()] + kept


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


# ----------------------------------------------------------------------------- field data

@dataclass
class FieldCheck:
    """What ``check`` says about one field-data file: clean or not, and the text."""

    clean: bool
    text: str


GROUP_FROM = 4  # problems of one kind (file, column, reason) shown as one line from this many
SHOWN_VALUES = 3  # example values on a grouped line
SHOWN_RANGES = 40  # runs of row numbers on a grouped line before the rest is counted


def row_ranges(rows: Sequence[int]) -> str:
    """Row numbers as runs, ``2-5, 9, 11-12``; past :data:`SHOWN_RANGES` runs the rest is
    counted (``and 120 more rows``)."""
    runs: list[list[int]] = []
    for row in sorted(set(rows)):
        if runs and row == runs[-1][1] + 1:
            runs[-1][1] = row
        else:
            runs.append([row, row])
    text = [f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:SHOWN_RANGES]]
    rest = sum(b - a + 1 for a, b in runs[SHOWN_RANGES:])
    return ", ".join(text) + (f" and {rest} more rows" if rest else "")


def grouped_problem_lines(problems: Iterable[tuple[Any, Any, Any, Any, Any]]) -> list[str]:
    """One line per problem ``(file or None, row, column, value, reason)``; problems of the same
    file, column and reason from :data:`GROUP_FROM` on as one line with their count, row
    numbers and a few values, so that a column wrong in every row of a large export reads as
    one finding with every row still named."""
    groups: dict[tuple[str, str, str], list[tuple[Any, Any]]] = {}
    for file, row, column, value, reason in problems:
        groups.setdefault((file or "", str(column), str(reason)), []).append((row, value))
    lines = []
    for (file, column, reason), found in groups.items():
        where = f"  {file}: " if file else "  "
        rows = [int(r) for r, _ in found if r is not None and not pd.isna(r)]
        if len(found) < GROUP_FROM or len(rows) < len(found):
            lines += [where + (f"row {r}, " if r is not None and not pd.isna(r) else "")
                      + f"column {column}, value {v!r}: {reason}" for r, v in found]
            continue
        values = list(dict.fromkeys(str(v) for _, v in found))
        shown = ", ".join(repr(v) for v in values[:SHOWN_VALUES])
        more = f" and {len(values) - SHOWN_VALUES} other values" if len(values) > SHOWN_VALUES \
            else ""
        lines.append(f"{where}{len(found)} rows ({row_ranges(rows)}), column {column}, "
                     f"values {shown}{more}: {reason}")
    return lines


def _problem_lines(problems: Sequence[FieldProblem]) -> list[str]:
    return grouped_problem_lines((p.file, p.row, p.column, p.value, p.reason) for p in problems)


def _field_check(status_what: str, problems: Sequence[FieldProblem], read: list[str],
                 notes: Sequence[str], extra: Sequence[str] = ()) -> FieldCheck:
    status = "OK" if not problems else "PROBLEMS"
    lines = [f"{status} {status_what}", *(f"  read: {r}" for r in read)]
    lines += _problem_lines(problems)
    lines += list(extra)
    lines += [f"note: {n}" for n in notes]
    return FieldCheck(clean=not problems, text="\n".join(lines))


def field_kind(path: str | Path, smart_categories_file: str | Path | None = None) -> str:
    """``camtrap_dp``, ``movebank``, ``smart_xml``, ``smart_csv`` or "" (a sample sheet)."""
    if is_camtrap_dp(path):
        return "camtrap_dp"
    if is_smart_xml(path):
        return "smart_xml"
    if is_movebank_csv(path):
        return "movebank"
    if (smart_categories_file and Path(smart_categories_file).is_file()
            and Path(path).suffix.lower() == ".csv"
            and is_smart_csv(path, load_category_map(smart_categories_file))):
        return "smart_csv"
    return ""


def check_field_file(path: str | Path, species_file: str | Path,
                     smart_categories_file: str | Path,
                     camtrap_schemas: str | Path | None = None) -> FieldCheck | None:
    """Read one field-data file as the pipeline will and say what it read and what not;
    None when ``path`` is not field data (then it is a sample sheet)."""
    kind = field_kind(path, smart_categories_file)
    if not kind:
        return None
    registry = load_species_registry(species_file)
    try:
        if kind == "camtrap_dp":
            return _check_camtrap(path, registry, camtrap_schemas)
        if kind == "movebank":
            return _check_movebank(path, registry)
        return _check_smart(path, kind, registry, load_category_map(smart_categories_file))
    except FieldDataError as err:
        return FieldCheck(False, f"UNREADABLE {err}")


def _check_camtrap(path: str | Path, registry: SpeciesRegistry,
                   schemas: str | Path | None) -> FieldCheck:
    package = read_camtrap_dp(path, schemas or None)
    tables = camera_trap_tables(package, registry)
    identified = tables.detections["individual_id"].nunique()
    rates = tables.encounter_rates
    read = [
        f"{len(package.deployments)} deployment(s), {len(package.observations)} observation(s); "
        "tables validated offline against the Camtrap DP table schemas"
        + ("" if package.problems else " (no violations)"),
        f"{len(tables.detections)} detection(s) of {identified} identified individual(s) -> "
        f"{len(tables.home_ranges)} home range(s) (MCP95 of camera locations)",
        f"{int(rates['detections'].sum())} detection(s) without individualID -> "
        f"{len(rates)} encounter rate(s) (species x deployment, per 100 camera-days)",
    ]
    return _field_check(f"{package.folder} (Camtrap DP package {package.name!r})",
                        tables.problems, read, tables.notes)


def _check_movebank(path: str | Path, registry: SpeciesRegistry) -> FieldCheck:
    result = collar_home_ranges(read_movebank(path), registry, str(path))
    areas = result.home_ranges["area_km2"]
    read = [f"{result.rows} row(s): {len(result.fixes)} GPS fix(es) of "
            f"{len(result.home_ranges)} animal(s) -> home ranges (MCP95 of GPS fixes), "
            f"{int(areas.notna().sum())} with an area"]
    return _field_check(f"{path} (Movebank GPS collar CSV)", result.problems, read,
                        result.notes)


def _check_smart(path: str | Path, kind: str, registry: SpeciesRegistry,
                 mapping: CategoryMap) -> FieldCheck:
    rows = read_smart_xml(path) if kind == "smart_xml" else read_smart_csv(path, mapping)
    result = patrol_tables(rows, registry, mapping, str(path))
    events = result.observations["event"]
    read = [f"{result.patrols} patrol(s), {len(result.observations)} observation(s): "
            f"{int((events != '').sum())} mapped -> {len(result.passive_surveillance)} passive-"
            f"surveillance line(s) (carcasses, sick animals, samples), "
            f"{len(result.dog_sightings)} free-roaming dog line(s)"]
    unmapped = [f"{'IGNORED' if u.reason.startswith('ignored') else 'UNMAPPED'} category "
                f"{u.category!r}: {u.observations} observation(s): "
                f"{u.reason.removeprefix('unmapped: ')}"
                for u in result.unmapped.itertuples(index=False)]
    what = "SMART patrol XML" if kind == "smart_xml" else "SMART observation query CSV"
    return _field_check(f"{path} ({what})", result.problems, read, [], unmapped)
