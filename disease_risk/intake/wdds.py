"""Sample sheets in Wildlife Disease Data Standard (WDDS v1.0.x) columns, read like any sheet.

A sheet whose header has WDDS's ``Host identification`` and ``Detection outcome`` columns is
recognised wherever it is read (the drop folder, ``disease-risk check``): its cells are turned
into the project's sample-sheet columns before the usual validation, so every row is accepted or
rejected with a reason like any other sheet's. Mapped: ``Sample ID`` -> sample_id, ``Animal
ID`` -> animal_id, ``Host identification`` -> species (a Latin name from config/species.yaml),
``Latitude``/``Longitude``, ``Organism sex`` -> sex, ``GenBank accession`` -> sequence_id,
``Health notes`` -> notes, ``Site`` or ``Locality`` (an added field) -> site; without one, site
is the 0.1-degree grid cell of the coordinates (``17.7N 88.7W``). Computed:
collection_date from ``Collection year/month/day``; assay from ``Detection method`` (a name or
synonym in config/assays.yaml); ``Detection target`` stays as ``wdds_detectiontarget``, and the
intake accepts the row only if it names the pathogen of that assay (a name in the hazard's
``detection_targets``, config/hazards.yaml), else rejects it naming the target; result from
``Detection measurement`` when its units are a
titre, else ``Detection outcome``; age_years from ``Age`` and ``Age units``; sample_type from
``Sample material`` (else body part). Every other WDDS column is kept as ``wdds_<term>``.
Columns keep their positions; computed ones are appended, so cell positions stay valid.
"""

from __future__ import annotations

import math
import re
import unicodedata

WDDS_MARKERS = ("hostidentification", "detectionoutcome")
# WDDS header (letters only, case-folded) -> sample-sheet column.
DIRECT = {
    "sampleid": "sample_id", "animalid": "animal_id", "hostidentification": "species",
    "latitude": "latitude", "longitude": "longitude", "organismsex": "sex",
    "genbankaccession": "sequence_id", "healthnotes": "notes", "site": "site",
    "locality": "site",
}
# The sample-sheet column a WDDS ``Detection target`` is kept in (checked against the assay's
# pathogen by the intake).
WDDS_TARGET_COLUMN = "wdds_detectiontarget"
TITRE_UNITS = {"titre", "titer", "reciprocaltitre", "reciprocaltiter", "vnttitre", "vnttiter",
               "endpointtitre", "endpointtiter"}
_AGE_PER_YEAR = {"years": 1.0, "year": 1.0, "months": 12.0, "month": 12.0, "weeks": 52.1775,
                 "days": 365.25, "day": 365.25}
COMPUTED = ("collection_date", "assay", "result", "age_years", "sample_type")


def squash(text: str) -> str:
    """Header or term -> letters only, case-folded (``Sample ID`` and ``sampleID`` agree)."""
    text = unicodedata.normalize("NFC", str(text)).replace("\ufeff", "")
    return re.sub(r"[^a-z]", "", text.casefold())


def is_wdds_header(header: list[str]) -> bool:
    keys = {squash(c) for c in header}
    return all(m in keys for m in WDDS_MARKERS)


def _date(year: str, month: str, day: str) -> str:
    if year and month and day:
        try:
            return f"{int(float(year)):04d}-{int(float(month)):02d}-{int(float(day)):02d}"
        except ValueError:
            pass
    return (f"{year or '?'}-{month or '?'}-{day or '?'} (WDDS Collection year, month and day: "
            "all three are needed)")


def _age(age: str, units: str) -> str:
    if not age:
        return ""
    per_year = _AGE_PER_YEAR.get(units.strip().casefold() or "years")
    try:
        return f"{float(age) / per_year:.6g}" if per_year else f"{age} {units}"
    except ValueError:
        return age


def grid_site(latitude: str, longitude: str, grid: float = 0.1) -> str:
    """The site of a WDDS row without a site field: its grid cell (south-west corner)."""
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        return ""
    lat, lon = math.floor(lat / grid) * grid, math.floor(lon / grid) * grid
    return (f"{abs(lat):.1f}{'N' if lat >= 0 else 'S'} {abs(lon):.1f}{'E' if lon >= 0 else 'W'}")


def _computed(cell: dict[str, str]) -> list[str]:
    """The computed sample-sheet cells of one WDDS row, in the order of :data:`COMPUTED`."""
    assay = cell.get("detectionmethod", "")
    units = squash(cell.get("detectionmeasurementunits", ""))
    measurement = cell.get("detectionmeasurement", "")
    result = measurement if measurement and units in TITRE_UNITS else cell.get(
        "detectionoutcome", "")
    material = cell.get("samplematerial", "") or cell.get("samplecollectionbodypart", "")
    return [_date(cell.get("collectionyear", ""), cell.get("collectionmonth", ""),
                  cell.get("collectionday", "")),
            assay, result, _age(cell.get("age", ""), cell.get("ageunits", "")), material]


def wdds_sample_cells(cells: list[list[str]]) -> list[list[str]]:
    """A sheet's cells with a WDDS header turned into sample-sheet columns; other sheets as
    they are."""
    first = next((i for i, row in enumerate(cells) if any(c.strip() for c in row)), None)
    if first is None or not is_wdds_header(cells[first]):
        return cells
    header = cells[first]
    keys = [squash(c) for c in header]
    names = [DIRECT.get(k, f"wdds_{k}" if k else "") for k in keys]
    with_site = "site" not in names
    out = [list(row) for row in cells[:first]]
    out.append(names + list(COMPUTED) + (["site"] if with_site else []))
    for row in cells[first + 1:]:
        if not any(c.strip() for c in row):
            out.append(list(row))
            continue
        cell = {k: (row[i].strip() if i < len(row) else "") for i, k in enumerate(keys) if k}
        padded = list(row) + [""] * (len(header) - len(row))
        site = [grid_site(cell.get("latitude", ""), cell.get("longitude", ""))]
        out.append(padded + _computed(cell) + (site if with_site else []))
    return out
