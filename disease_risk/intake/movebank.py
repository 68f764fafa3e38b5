"""GPS-collar fixes as Movebank CSV exports -> home ranges (MCP95) per collared animal.

Movebank's standard column names (``timestamp``, ``location-long``, ``location-lat``,
``individual-local-identifier``, ``individual-taxon-canonical-name``) are required; other
columns are ignored. Movebank marks rejected fixes ``visible`` = false and ``manually-marked-
outlier`` = true: those fixes are left out and counted in the notes. Every other row is used or
listed as a problem (file, row, column, value, fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from disease_risk.intake.field_common import (
    FieldDataError,
    FieldProblem,
    home_ranges,
    registry_species,
)
from disease_risk.intake.registry import SpeciesRegistry

REQUIRED = ("timestamp", "location-long", "location-lat", "individual-local-identifier",
            "individual-taxon-canonical-name")


def is_movebank_csv(path: str | Path) -> bool:
    """True for a .csv whose header names Movebank's location and individual columns."""
    path = Path(path)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = {c.strip().strip('"') for c in handle.readline().split(",")}
    return {"location-long", "location-lat", "individual-local-identifier"} <= header


@dataclass
class CollarResult:
    """Fixes used, home ranges, and what was not used."""

    fixes: pd.DataFrame
    home_ranges: pd.DataFrame
    problems: list[FieldProblem]
    notes: list[str]
    rows: int


def read_movebank(path: str | Path) -> pd.DataFrame:
    """The export's cells as text; FieldDataError naming the missing columns."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise FieldDataError(f"{path}: not a readable CSV ({err}); export it from Movebank "
                             "again as CSV") from err
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise FieldDataError(f"{path}: missing Movebank column(s) {', '.join(missing)}; export "
                             "with Movebank's standard attribute names (Download > CSV)")
    return table


def collar_home_ranges(table: pd.DataFrame, registry: SpeciesRegistry, file: str) -> CollarResult:
    """Check every fix, then one MCP95 home range per animal (``individual-local-identifier``)."""
    problems: list[FieldProblem] = []
    notes: list[str] = []
    lines = pd.Series(range(2, len(table) + 2), index=table.index)
    flagged = pd.Series(False, index=table.index)
    for column, bad_word in (("visible", "false"), ("manually-marked-outlier", "true")):
        if column in table.columns:
            marked = table[column].str.strip().str.lower() == bad_word
            if marked.any():
                notes.append(f"{file}: {int(marked.sum())} fix(es) with {column} = {bad_word} "
                             "left out (marked in Movebank)")
            flagged |= marked
    lat = pd.to_numeric(table["location-lat"], errors="coerce")
    lon = pd.to_numeric(table["location-long"], errors="coerce")
    time = pd.to_datetime(table["timestamp"], utc=True, errors="coerce", format="ISO8601")
    checks = (
        ("location-lat", ~lat.between(-90, 90),
         "latitude must be decimal degrees between -90 and 90; an empty position (no GPS fix) "
         "is not used: delete the row or leave it, it is listed here"),
        ("location-long", ~lon.between(-180, 180),
         "longitude must be decimal degrees between -180 and 180"),
        ("timestamp", time.isna(), "timestamp must be 'YYYY-MM-DD hh:mm:ss(.sss)' in UTC, as "
         "Movebank writes it"),
        ("individual-local-identifier", table["individual-local-identifier"].str.strip() == "",
         "every fix needs the collared animal's ID"),
    )
    bad = pd.Series(False, index=table.index)
    for column, mask, reason in checks:
        for i in table.index[mask & ~flagged & ~bad]:
            problems.append(FieldProblem(file, int(lines[i]), column, table.at[i, column], reason))
        bad |= mask & ~flagged
    used = table[~flagged & ~bad]
    species = [registry_species(registry, n) for n in used["individual-taxon-canonical-name"]]
    fixes = pd.DataFrame({
        "individual_id": used["individual-local-identifier"].str.strip(),
        "species": species, "scientific_name": used["individual-taxon-canonical-name"],
        "latitude": lat[used.index], "longitude": lon[used.index],
        "timestamp": time[used.index].map(lambda t: t.isoformat()),
    }).reset_index(drop=True)
    unregistered = sorted(set(fixes.loc[fixes["species"] == "", "scientific_name"]))
    if unregistered:
        notes.append(f"{file}: taxon name(s) not in the species registry, kept with an empty "
                     f"species: {', '.join(unregistered)} (add them to config/species.yaml)")
    ranges = home_ranges(fixes, f"GPS collars: {Path(file).name}", "GPS fixes")
    return CollarResult(fixes, ranges, problems, notes, len(table))
