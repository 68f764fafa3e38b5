"""What the field-data readers share: problems in the rejected-rows layout, and home ranges.

Camera traps (:mod:`~disease_risk.intake.camtrap_dp`) and GPS collars
(:mod:`~disease_risk.intake.movebank`) both end in one home-range table
(:data:`~disease_risk.tables.HOME_RANGE_COLUMNS`): a centre and an area per identified animal,
with the estimator named in ``method``, so the contact network can take either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, QhullError

from disease_risk.intake.registry import SpeciesRegistry
from disease_risk.tables import HOME_RANGE_COLUMNS, REJECTED_COLUMNS

EARTH_RADIUS_KM = 6371.0088
MCP_PERCENT = 95


class FieldDataError(ValueError):
    """A field-data file cannot be read at all (missing, wrong format); names file and fix."""


@dataclass(frozen=True)
class FieldProblem:
    """One value not used, in the layout of ``results/qc/rejected_rows.tsv``."""

    file: str
    row: int | None
    column: str
    value: str
    reason: str

    def line(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{self.file}: {where}column {self.column}, value {self.value!r}: {self.reason}"


def problems_frame(problems: list[FieldProblem]) -> pd.DataFrame:
    """Problems as a table with :data:`~disease_risk.tables.REJECTED_COLUMNS`."""
    return pd.DataFrame([[p.file, p.row, p.column, p.value, p.reason] for p in problems],
                        columns=list(REJECTED_COLUMNS)).astype({"row": "Int64"})


def registry_species(registry: SpeciesRegistry, scientific_name: str) -> str:
    """Registry key of a scientific (or any listed) name; "" when the registry lacks it."""
    found = registry.resolve(scientific_name) if scientific_name else None
    return found.key if found else ""


def local_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Positions in km east/north of (lat0, lon0): equirectangular, exact enough over a home
    range (tens of km) for areas to within a fraction of a percent."""
    x = np.radians(lon - lon0) * EARTH_RADIUS_KM * math.cos(math.radians(lat0))
    y = np.radians(lat - lat0) * EARTH_RADIUS_KM
    return np.column_stack([x, y])


def mcp_area_km2(lat: np.ndarray, lon: np.ndarray, percent: int = MCP_PERCENT
                 ) -> tuple[float, float, float, int, str]:
    """Minimum convex polygon of the ``percent`` % of fixes nearest their centroid (the usual
    MCP95, as adehabitatHR ``mcp``): (centre latitude, centre longitude, area km², fixes in the
    polygon, note). Area is missing, with the reason in the note, below 3 distinct places."""
    lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
    xy = local_km(np.asarray(lat, float), np.asarray(lon, float), lat0, lon0)
    distance = np.hypot(xy[:, 0] - xy[:, 0].mean(), xy[:, 1] - xy[:, 1].mean())
    keep = max(1, math.ceil(len(xy) * percent / 100))
    kept = xy[np.argsort(distance, kind="stable")[:keep]]
    distinct = np.unique(np.round(kept, 6), axis=0)
    if len(distinct) < 3:
        return lat0, lon0, math.nan, keep, (
            f"{len(distinct)} distinct place(s): no area (a polygon needs 3); more fixes or "
            "cameras needed")
    try:
        area = float(ConvexHull(distinct).volume)  # 2-D hull: volume is the area
    except QhullError:
        return lat0, lon0, math.nan, keep, "places on one line: no area"
    return lat0, lon0, area, keep, ""


def home_ranges(fixes: pd.DataFrame, source: str, method_note: str) -> pd.DataFrame:
    """One row per animal of ``fixes`` (columns individual_id, species, scientific_name,
    latitude, longitude, timestamp): centre, MCP95 area, fixes and time span."""
    rows = []
    for (individual, species, scientific), group in fixes.groupby(
            ["individual_id", "species", "scientific_name"], sort=True, dropna=False):
        lat, lon, area, kept, note = mcp_area_km2(group["latitude"].to_numpy(float),
                                                  group["longitude"].to_numpy(float))
        times = pd.to_datetime(group["timestamp"], utc=True)
        rows.append({
            "individual_id": individual, "species": species, "scientific_name": scientific,
            "source": source, "method": f"MCP{MCP_PERCENT} ({method_note})",
            "fixes": len(group), "fixes_in_polygon": kept,
            "first_fix": times.min().isoformat(), "last_fix": times.max().isoformat(),
            "centre_latitude": lat, "centre_longitude": lon, "area_km2": area, "note": note,
        })
    return pd.DataFrame(rows, columns=list(HOME_RANGE_COLUMNS))
