"""Accepted samples -> WDDS v1.0.x ``disease_data.csv`` + ``project_metadata.json``, validated
offline against the standard's JSON schemas shipped in ``disease_risk/schemas/wdds/`` (CC0).

WDDS stores disease data "tidy": one row per sample and test. The CSV uses the standard
template's column labels (``Sample ID`` ...); for validation it is turned into the schema's
column arrays with each term's JSON type. Values a sheet read as WDDS carried in ``wdds_<term>``
columns go back to their term, so a WDDS sheet comes out as it went in, harmonised. A titre
becomes ``Detection measurement`` (``reciprocal titre``) only when it is exact: a censored one
(``<1:4``) has no number WDDS could hold, and its outcome stands alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from disease_risk.config import SCHEMA_PACKAGE
from disease_risk.intake.registry import Assay, SpeciesRegistry
from disease_risk.intake.wdds import squash

WDDS_DIR = "wdds"
# Where ``datacite/datacite-v4.5.json`` resolves from the metadata schema and from its terms
# (each term has its own ``$id``, which becomes the base of its relative reference).
DATACITE_URIS = ("https://w3id.org/wdds/schemas/datacite/datacite-v4.5.json",
                 "https://w3id.org/wdds/terms/project-metadata/datacite/datacite-v4.5.json")
_OUTCOME = {"positive": "positive", "negative": "negative", "indeterminate": "inconclusive"}
_SEX = {"F": "female", "M": "male"}
_GENBANK = re.compile(r"^[A-Z]{1,2}_?\d{5,8}(\.\d+)?$")


class WddsExportError(ValueError):
    """The export breaks the WDDS schema (names the term, row and fix)."""


def _schema_file(name: str) -> dict[str, Any]:
    path = resources.files(SCHEMA_PACKAGE) / WDDS_DIR / name
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def disease_data_schema() -> dict[str, Any]:
    return _schema_file("disease_data.json")


@cache
def template_labels() -> dict[str, str]:
    """Schema term -> the template's column label (``sampleID`` -> ``Sample ID``); terms the
    template lacks get their own name."""
    text = (resources.files(SCHEMA_PACKAGE) / WDDS_DIR / "disease_data_template.csv").read_text(
        encoding="utf-8-sig")
    labels = {squash(label): label for label in next(csv.reader(io.StringIO(text)))}
    return {term: labels.get(squash(term), term) for term in disease_data_schema()["properties"]}


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator resolving the DataCite references to the shipped copy (no internet)."""
    datacite = Resource.from_contents(_schema_file("datacite/datacite-v4.5.json"),
                                      default_specification=DRAFT202012)
    registry = Registry().with_resources((uri, datacite) for uri in DATACITE_URIS)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _number(value: Any) -> float | int | None:
    if value is None or value == "" or pd.isna(value):
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def detection_targets(assays: Mapping[str, Assay]) -> dict[str, str]:
    """Pathogen -> the name WDDS rows give it (``Detection target``): the first of its hazard's
    ``detection_targets`` in config/hazards.yaml."""
    return {a.pathogen: a.detection_targets[0] for a in assays.values()}


def disease_data(samples: pd.DataFrame, registry: SpeciesRegistry,
                 targets: Mapping[str, str]) -> pd.DataFrame:
    """One WDDS row per accepted sample (columns: schema terms, in the schema's order); each
    row's ``Detection target`` is its pathogen's name in ``targets`` (:func:`detection_targets`).
    """
    if "pathogen" not in samples:
        raise WddsExportError("samples.tsv has no pathogen column; rerun the intake")
    unknown = sorted(set(samples["pathogen"].astype(str)) - set(targets))
    if unknown:
        raise WddsExportError(
            f"samples.tsv pathogen(s) {unknown} have no assay in config/assays.yaml, so no "
            "WDDS detection target; rerun the intake with the current assay list")
    dates = pd.to_datetime(samples["collection_date"], errors="coerce", format="%Y-%m-%d")
    day, month, year = ([None if pd.isna(v) else int(v) for v in getattr(dates.dt, part)]
                        for part in ("day", "month", "year"))
    latin = {k: s.latin_name for k, s in registry.species.items()}
    extras = {squash(c.removeprefix("wdds_")): c for c in samples.columns
              if c.startswith("wdds_")}
    terms = list(disease_data_schema()["properties"])
    kept = {term: extras[squash(term)] for term in terms if squash(term) in extras}
    rows = []
    for i, s in enumerate(samples.to_dict("records")):
        result = str(s.get("result", "") or "")
        # a censored titre (<1:4, >=1:512) is no measurement: the outcome says it all
        titre = None if str(s.get("titre_qualifier", "") or "") else _number(s.get("titre"))
        detection_target = targets[str(s["pathogen"])]
        age = _number(s.get("age_years"))
        sequence = str(s.get("sequence_id", "") or "")
        row: dict[str, Any] = {
            "sampleID": s["sample_id"], "animalID": s.get("animal_id") or None,
            "latitude": _number(s.get("latitude")), "longitude": _number(s.get("longitude")),
            "collectionDay": day[i], "collectionMonth": month[i], "collectionYear": year[i],
            "sampleCollectionMethod": "not recorded",
            "sampleMaterial": s.get("sample_type") or None,
            "hostIdentification": latin.get(s["species"], s["species"]),
            "organismSex": _SEX.get(str(s.get("sex", ""))),
            "age": age, "ageUnits": "years" if age is not None else None,
            "detectionTarget": detection_target, "detectionMethod": s["assay"],
            "detectionOutcome": _OUTCOME.get(result, result or None),
            "detectionMeasurement": titre,
            "detectionMeasurementUnits": "reciprocal titre" if titre is not None else None,
            "parasiteIdentification": detection_target if result == "positive" else None,
            "genbankAccession": sequence if _GENBANK.match(sequence) else None,
        }
        for term, column in kept.items():
            value = str(s.get(column, "") or "").strip()
            if value and (row.get(term) is None or term == "sampleCollectionMethod"):
                row[term] = value
        rows.append(row)
    return pd.DataFrame(rows, columns=terms)


def _typed(value: Any, types: list[str]) -> Any:
    """A CSV cell as the JSON type the schema gives its term (empty -> null)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value) == "":
        return None
    text = str(value).strip()
    if "boolean" in types:
        lowered = text.casefold()
        return {"true": True, "false": False}.get(lowered, text)
    if "integer" in types or "number" in types:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if "integer" in types and number.is_integer() else number
    return text


def csv_as_columns(table: pd.DataFrame) -> dict[str, list[Any]]:
    """A WDDS CSV (template labels or terms as headers) as the schema's typed column arrays;
    unknown columns are kept as text (WDDS allows added fields)."""
    properties = disease_data_schema()["properties"]
    by_key = {squash(term): term for term in properties}
    columns: dict[str, list[Any]] = {}
    for column in table.columns:
        term = by_key.get(squash(column), column.strip())
        items = properties.get(term, {}).get("items", {})
        types = items.get("type", ["string"])
        types = [types] if isinstance(types, str) else types
        columns[term] = [_typed(v, types) for v in table[column].tolist()]
    return columns


def disease_data_errors(columns: dict[str, list[Any]]) -> list[str]:
    """Every violation of ``disease_data.json``: term, row (1 = first data row), message.

    Every rule the schema gives a term's items is about one value, so each column is checked
    once per distinct value and an item's failure is listed for every row holding that value
    (at 100x the example's samples, 40 terms x 200,000 rows took a minute one by one)."""
    distinct: dict[str, Any] = {}
    rows_of: dict[str, list[list[int]]] = {}
    for term, values in columns.items():
        if not isinstance(values, list):
            distinct[term] = values
            continue
        positions: dict[tuple[str, Any], list[int]] = {}
        for row, value in enumerate(values):
            positions.setdefault((type(value).__name__, value), []).append(row)
        distinct[term] = [value for _, value in positions]
        rows_of[term] = list(positions.values())
    errors = []
    for error in _validator(disease_data_schema()).iter_errors(distinct):
        path = list(error.absolute_path)
        if len(path) > 1 and path[0] in rows_of:
            errors += [f"term {path[0]}, data row {row + 1}: {error.message}"
                       for row in rows_of[path[0]][path[1]]]
        else:
            where = (f"term {path[0]}, data row {path[1] + 1}" if len(path) > 1
                     else f"term {path[0]}" if path else "(whole table)")
            errors.append(f"{where}: {error.message}")
    return sorted(errors)


def project_metadata_errors(metadata: dict[str, Any]) -> list[str]:
    """Every violation of ``project_metadata.json`` (DataCite parts included)."""
    return sorted(
        f"at {'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}"
        for e in _validator(_schema_file("project_metadata.json")).iter_errors(metadata))


def _csv_cell(value: Any) -> Any:
    """Null as an empty cell, booleans as the template's TRUE/FALSE, whole numbers without
    ``.0``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def write_wdds(data: pd.DataFrame, metadata: dict[str, Any], csv_path: str | Path,
               metadata_path: str | Path) -> None:
    """Validate, then write the CSV (template labels, empty cell = null) and the metadata;
    :class:`WddsExportError` lists every violation and nothing is written."""
    problems = disease_data_errors(csv_as_columns(data.astype(object)))
    problems += [f"project_metadata {p} (fix it in config/config.yaml share: wdds: "
                 "project_metadata)" for p in project_metadata_errors(metadata)]
    if problems:
        raise WddsExportError("the WDDS export breaks the standard's schema:\n"
                              + "\n".join(f"  {p}" for p in problems))
    out = data.rename(columns=template_labels())
    for column in out.columns:
        out[column] = [_csv_cell(v) for v in out[column].tolist()]
    Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(csv_path, index=False, lineterminator="\n", encoding="utf-8")
    Path(metadata_path).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
