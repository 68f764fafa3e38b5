"""SMART patrol exports (XML, namespace ``.../xml/1.3/patrol``, or an observation query CSV)
-> CDV passive surveillance: carcasses and sick animals by species, place and month, and
free-roaming dog sightings.

Observation categories are mapped by ``config/smart_categories.yaml``; categories it does not
map, and those it ignores, are listed with their counts, never dropped silently. Only the
category, species, count, place and time of an observation are kept: SMART attributes such as
names, phone or ID numbers of people met on patrol never leave the reader.
"""

from __future__ import annotations

import fnmatch
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.config import read_yaml
from disease_risk.intake.field_common import FieldDataError, FieldProblem
from disease_risk.intake.registry import SpeciesRegistry
from disease_risk.tables import (
    DOG_SIGHTING_COLUMNS,
    PASSIVE_SURVEILLANCE_COLUMNS,
    PATROL_OBSERVATION_COLUMNS,
    UNMAPPED_CATEGORY_COLUMNS,
)

NAMESPACE = "http://www.smartconservationsoftware.org/xml/1.3/patrol"
DOG_EVENT = "free_roaming_dog"
_NS = f"{{{NAMESPACE}}}"


@dataclass(frozen=True)
class CategoryMap:
    """``config/smart_categories.yaml``, read and validated."""

    events: tuple[tuple[str, tuple[str, ...]], ...]
    ignored: tuple[tuple[str, tuple[str, ...]], ...] = ()
    species_attributes: tuple[str, ...] = ("species",)
    count_attributes: tuple[str, ...] = ("count",)
    species_items: dict[str, str] = field(default_factory=dict)
    dog_species: str = "domestic_dog"
    grid_degrees: float = 0.1
    csv_columns: dict[str, Any] = field(default_factory=dict)

    def event(self, category: str) -> tuple[str, str]:
        """(event, "") for a mapped category, ("", reason) otherwise."""
        key = category.casefold()
        for event, patterns in self.events:
            if any(fnmatch.fnmatchcase(key, p.casefold()) for p in patterns):
                return event, ""
        for reason, patterns in self.ignored:
            if any(fnmatch.fnmatchcase(key, p.casefold()) for p in patterns):
                return "", f"ignored by config/smart_categories.yaml: {reason}"
        return "", ("unmapped: no pattern in config/smart_categories.yaml matches it; add it to "
                    "a category (or to ignore) there")


def load_category_map(path: str | Path) -> CategoryMap:
    """Read and validate the category mapping."""
    data = read_yaml(path, "smart_categories.schema.yaml")
    return CategoryMap(
        events=tuple((c["event"], tuple(c["match"])) for c in data["categories"]),
        ignored=tuple((c["reason"], tuple(c["match"])) for c in data.get("ignore", [])),
        species_attributes=tuple(data.get("species_attributes", ["species"])),
        count_attributes=tuple(data.get("count_attributes", ["count"])),
        species_items=dict(data.get("species_items", {})),
        dog_species=data.get("dog_species", "domestic_dog"),
        grid_degrees=float(data.get("place_grid_degrees", 0.1)),
        csv_columns=dict(data.get("query_csv_columns", {})),
    )


def is_smart_xml(path: str | Path) -> bool:
    """True for an .xml file whose text names the SMART patrol namespace."""
    path = Path(path)
    if path.suffix.lower() != ".xml" or not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as handle:
        return NAMESPACE in handle.read(4096)


def is_smart_csv(path: str | Path, mapping: CategoryMap) -> bool:
    """True for a .csv whose header has the query export's patrol, X/Y and category columns."""
    path = Path(path)
    columns = mapping.csv_columns
    if path.suffix.lower() != ".csv" or not path.is_file() or not columns:
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = {c.strip().strip('"') for c in handle.readline().rstrip("\n").split(",")}
    return {columns.get("patrol_id"), columns.get("x"), columns.get("y"),
            columns.get("category", [None])[0]} <= header


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attribute_value(element: ET.Element) -> str:
    for child in element:
        if _local(child.tag) in ("itemKey", "sValue", "dValue", "bValue"):
            return (child.text or "").strip()
    return ""


def read_smart_xml(path: str | Path) -> list[dict[str, str]]:
    """One dict per observation: patrol, leg, waypoint, date, time, x, y, category and its
    attributes (key -> item key or value)."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as err:
        raise FieldDataError(f"{path}: not readable XML ({err}); export the patrol from SMART "
                             "again (Patrol > Export > XML)") from err
    if _local(root.tag) != "patrol":
        raise FieldDataError(f"{path}: the root element is {_local(root.tag)!r}, not a SMART "
                             "patrol; export patrols with SMART's patrol XML export")
    rows = []
    patrol = root.get("id", path.stem)
    for leg in root.iter(f"{_NS}legs"):
        for day in leg.iter(f"{_NS}days"):
            for waypoint in day.iter(f"{_NS}waypoints"):
                for obs in waypoint.iter(f"{_NS}observations"):
                    row = {"patrol_id": patrol, "leg_id": leg.get("id", ""),
                           "waypoint_id": waypoint.get("id", ""), "date": day.get("date", ""),
                           "time": waypoint.get("time", ""), "x": waypoint.get("x", ""),
                           "y": waypoint.get("y", ""), "category": obs.get("categoryKey", ""),
                           "attributes": {a.get("attributeKey", ""): _attribute_value(a)
                                          for a in obs.iter(f"{_NS}attributes")}}
                    rows.append(row)
    return rows


def read_smart_csv(path: str | Path, mapping: CategoryMap) -> list[dict[str, Any]]:
    """A SMART observation query CSV in the same shape as :func:`read_smart_xml`'s rows."""
    path = Path(path)
    cols = mapping.csv_columns
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    needed = [cols[k] for k in ("patrol_id", "date", "x", "y") if k in cols]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise FieldDataError(f"{path}: missing column(s) {', '.join(missing)}; export the "
                             "observation query with them, or name your columns in "
                             "config/smart_categories.yaml query_csv_columns")
    levels = [c for c in cols.get("category", []) if c in table.columns]
    rows = []
    for _, r in table.iterrows():
        category = ".".join(re.sub(r"\s+", "", r[c]).casefold() for c in levels if r[c].strip())
        rows.append({
            "patrol_id": r[cols["patrol_id"]], "leg_id": "",
            "waypoint_id": r.get(cols.get("waypoint_id", ""), ""),
            "date": r[cols["date"]], "time": r.get(cols.get("time", ""), ""),
            "x": r[cols["x"]], "y": r[cols["y"]], "category": category + "." if category else "",
            "attributes": {"species": r.get(cols.get("species", ""), ""),
                           "count": r.get(cols.get("count", ""), "")},
        })
    return rows


def _squash(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.casefold())


def species_of_item(item: str, registry: SpeciesRegistry, mapping: CategoryMap) -> str:
    """Registry key of a SMART species item key ("" if unknown): the configured mapping, else
    any registry name with the same letters as the key's last part (``..._rl10103.`` dropped)."""
    last = re.sub(r"_rl\d*$", "", [p for p in item.split(".") if p][-1]) if item.strip(".") \
        else ""
    for candidate in (item, last):
        if candidate in mapping.species_items:
            found = registry.resolve(mapping.species_items[candidate])
            return found.key if found else mapping.species_items[candidate]
    squashed = {_squash(name): key for name, key in registry.lookup.items()}
    return squashed.get(_squash(last), "") if last else ""


def _place(x: float, y: float, grid: float) -> str:
    """The grid cell (south-west corner) a waypoint falls in, e.g. ``43.1N 131.5E``."""
    decimals = max(0, -math.floor(math.log10(grid))) if grid < 1 else 0
    lat, lon = math.floor(y / grid) * grid, math.floor(x / grid) * grid
    return (f"{abs(lat):.{decimals}f}{'N' if lat >= 0 else 'S'} "
            f"{abs(lon):.{decimals}f}{'E' if lon >= 0 else 'W'}")


@dataclass
class PatrolResult:
    """Every observation, the two surveillance tables, the categories not used, problems."""

    observations: pd.DataFrame
    passive_surveillance: pd.DataFrame
    dog_sightings: pd.DataFrame
    unmapped: pd.DataFrame
    problems: list[FieldProblem]
    patrols: int


def _first(attributes: dict[str, str], keys: tuple[str, ...]) -> str:
    lower = {k.casefold(): v for k, v in attributes.items()}
    return next((lower[k.casefold()] for k in keys if lower.get(k.casefold())), "")


def patrol_tables(rows: list[dict[str, Any]], registry: SpeciesRegistry, mapping: CategoryMap,
                  file: str) -> PatrolResult:
    """Map each observation's category; aggregate carcasses, sick animals and samples by
    event, species, place and month, and dog sightings by place and month."""
    problems: list[FieldProblem] = []
    records = []
    reasons: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        where = f"observation {number} (patrol {row['patrol_id']}, waypoint {row['waypoint_id']})"
        event, reason = mapping.event(row["category"])
        if reason:
            reasons[row["category"]] = reason
        x, y = pd.to_numeric(row["x"], errors="coerce"), pd.to_numeric(row["y"], errors="coerce")
        date = pd.to_datetime(row["date"], errors="coerce", format="ISO8601")
        ok = True
        if event and (pd.isna(x) or pd.isna(y) or not (-180 <= x <= 180 and -90 <= y <= 90)):
            problems.append(FieldProblem(file, None, "x/y", f"{row['x']}/{row['y']}",
                                         f"{where}: waypoint without decimal-degree x "
                                         "(longitude) and y (latitude); not counted"))
            ok = False
        if event and pd.isna(date):
            problems.append(FieldProblem(file, None, "date", row["date"], f"{where}: no valid "
                                         "date (YYYY-MM-DD); not counted"))
            ok = False
        item = _first(row["attributes"], mapping.species_attributes)
        species = species_of_item(item, registry, mapping) if item else ""
        if event == DOG_EVENT and not item:
            species = mapping.dog_species
        count_text = _first(row["attributes"], mapping.count_attributes)
        count = pd.to_numeric(count_text, errors="coerce") if count_text else 1.0
        if event and (pd.isna(count) or count < 0):
            problems.append(FieldProblem(file, None, "count", count_text, f"{where}: the number "
                                         "of animals must be a number >= 0; counted as 1"))
            count = 1.0
        records.append({
            "patrol_id": row["patrol_id"], "leg_id": row["leg_id"],
            "waypoint_id": row["waypoint_id"], "date": row["date"], "time": row["time"],
            "month": "" if pd.isna(date) else f"{date:%Y-%m}",
            "x": x, "y": y,
            "place": "" if pd.isna(x) or pd.isna(y) else _place(x, y, mapping.grid_degrees),
            "category": row["category"], "event": event if ok else "",
            "species": species, "species_item": item, "count": float(count) if event else None,
            "source_file": file,
        })
    obs = pd.DataFrame(records, columns=list(PATROL_OBSERVATION_COLUMNS))
    mapped = obs[obs["event"] != ""]
    passive = (mapped[mapped["event"] != DOG_EVENT]
               .groupby(["event", "species", "species_item", "place", "month"], sort=True)
               .agg(observations=("category", "size"), animals=("count", "sum")).reset_index())
    dogs = (mapped[mapped["event"] == DOG_EVENT]
            .groupby(["place", "month"], sort=True)
            .agg(sightings=("category", "size"), dogs=("count", "sum")).reset_index())
    unused = obs[obs["category"].isin(reasons)]
    unmapped = (unused.groupby("category", sort=True).size().rename("observations")
                .reset_index())
    unmapped["reason"] = [reasons[c] for c in unmapped["category"]]
    return PatrolResult(obs, passive[list(PASSIVE_SURVEILLANCE_COLUMNS)],
                        dogs[list(DOG_SIGHTING_COLUMNS)],
                        unmapped[list(UNMAPPED_CATEGORY_COLUMNS)], problems,
                        obs["patrol_id"].nunique())
