"""Camera-trap data as Camtrap DP 1.0.x packages (TDWG): validate offline, then per-individual
detections, home ranges and per-species encounter rates.

A package is a folder with ``datapackage.json``, ``deployments.csv``, ``media.csv`` and
``observations.csv``. Its descriptor names the standard's profile and table schemas by URL;
those are replaced by the copies shipped in ``disease_risk/schemas/camtrap_dp/`` (or another
folder: config ``field_data.camtrap_dp_schemas``), so validation never needs the internet.
Tables are validated by ``frictionless`` (the Frictionless Data validator the standard is built
on). Every observation is used or listed: animal observations of an identified individual become
detections, other animal observations count towards encounter rates, and non-animal ones
(blank, human, vehicle, camera setup) are counted in the notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.config import SCHEMA_PACKAGE
from disease_risk.intake.field_common import (
    FieldDataError,
    FieldProblem,
    home_ranges,
    registry_species,
)
from disease_risk.intake.registry import SpeciesRegistry
from disease_risk.tables import DETECTION_COLUMNS, ENCOUNTER_RATE_COLUMNS

DESCRIPTOR = "datapackage.json"
TABLES = ("deployments", "media", "observations")
PROFILE_FILE = "camtrap-dp-profile.json"


def default_schema_dir() -> Path:
    """The Camtrap DP 1.0.2 profile and table schemas shipped in the package."""
    return Path(str(resources.files(SCHEMA_PACKAGE) / "camtrap_dp"))


def is_camtrap_dp(path: str | Path) -> bool:
    """True for a ``datapackage.json`` or a folder holding one."""
    path = Path(path)
    return path.name == DESCRIPTOR or (path.is_dir() and (path / DESCRIPTOR).is_file())


def package_files(path: str | Path | None) -> list[str]:
    """The files a location source consists of, for a workflow's inputs: a Camtrap DP package's
    descriptor and tables (those present), any other file as itself, nothing for none."""
    if not path:
        return []
    if not is_camtrap_dp(path):
        return [str(path)]
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    names = (DESCRIPTOR, *(f"{t}.csv" for t in TABLES))
    return [str(folder / n) for n in names if (folder / n).is_file()]


@dataclass
class CamtrapPackage:
    """A read package: its tables (text cells as in the files) and what could not be used."""

    folder: Path
    name: str
    deployments: pd.DataFrame
    observations: pd.DataFrame
    problems: list[FieldProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _local_schema(url: str, schema_dir: Path, descriptor: Path, what: str) -> Path:
    """The shipped copy of a standard file the descriptor names by URL (same file name)."""
    local = schema_dir / url.rsplit("/", 1)[-1]
    if not local.is_file():
        raise FieldDataError(
            f"{descriptor}: {what} {url!r} has no offline copy in {schema_dir}; put the "
            "standard's file of that name there (config field_data.camtrap_dp_schemas)")
    return local


def offline_descriptor(descriptor_path: Path, schema_dir: Path) -> dict[str, Any]:
    """The descriptor with every standard URL replaced by the shipped schema it names."""
    try:
        descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FieldDataError(f"{descriptor_path}: not a readable JSON data package descriptor "
                             f"({err}); export the package again") from err
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise FieldDataError(f"{descriptor_path}: no 'resources' list; this is not a Camtrap DP "
                             "datapackage.json")
    descriptor = dict(descriptor)
    profile = descriptor.pop("profile", "")
    if isinstance(profile, str) and profile.startswith("http"):
        _local_schema(profile, schema_dir, descriptor_path, "profile")
    resources_ = []
    for resource in descriptor["resources"]:
        resource = dict(resource)
        schema = resource.get("schema")
        if isinstance(schema, str) and schema.startswith("http"):
            local = _local_schema(schema, schema_dir, descriptor_path,
                                  f"schema of resource {resource.get('name')!r}")
            resource["schema"] = json.loads(local.read_text(encoding="utf-8"))
        resources_.append(resource)
    descriptor["resources"] = resources_
    return descriptor


def validate_package(descriptor_path: Path, schema_dir: Path) -> list[FieldProblem]:
    """Every violation of the Camtrap DP table schemas, as problems (file, row, column, value)."""
    import frictionless

    descriptor = offline_descriptor(descriptor_path, schema_dir)
    names = {r.get("name") for r in descriptor["resources"]}
    problems = [FieldProblem(str(descriptor_path), None, "resources", ", ".join(sorted(
        str(n) for n in names)), f"resource {t!r} is missing; Camtrap DP needs {', '.join(TABLES)}")
        for t in TABLES if t not in names]
    if problems:
        return problems
    package = frictionless.Package(descriptor, basepath=str(descriptor_path.parent))
    report = package.validate()
    for task in report.tasks:
        where = str(descriptor_path.parent / (task.place or task.name or ""))
        for error in task.errors:
            problems.append(FieldProblem(
                where, getattr(error, "row_number", None),
                getattr(error, "field_name", None) or "(whole file)",
                str(getattr(error, "cell", "") or ""),
                f"{error.message} (Camtrap DP table schema; fix the value in the file)"))
    problems += [FieldProblem(str(descriptor_path), None, "(package)", "", e.message)
                 for e in report.errors]
    return problems


def read_camtrap_dp(path: str | Path, schema_dir: str | Path | None = None) -> CamtrapPackage:
    """Validate and read a package (its folder or ``datapackage.json``); tables as text."""
    path = Path(path)
    descriptor_path = path if path.name == DESCRIPTOR else path / DESCRIPTOR
    if not descriptor_path.is_file():
        raise FieldDataError(f"{path}: no {DESCRIPTOR}; a Camtrap DP package is a folder with "
                             f"{DESCRIPTOR}, deployments.csv, media.csv and observations.csv")
    schema_dir = Path(schema_dir) if schema_dir else default_schema_dir()
    problems = validate_package(descriptor_path, schema_dir)
    folder = descriptor_path.parent
    tables = {}
    for name in ("deployments", "observations"):
        file = folder / f"{name}.csv"
        if not file.is_file():
            raise FieldDataError(f"{file}: missing; the package needs {name}.csv")
        tables[name] = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    name = json.loads(descriptor_path.read_text(encoding="utf-8")).get("name", folder.name)
    return CamtrapPackage(folder, str(name), tables["deployments"], tables["observations"],
                          problems)


@dataclass
class CameraTrapResult:
    """Detections of identified animals, their home ranges, encounter rates, and what was not
    used."""

    detections: pd.DataFrame
    home_ranges: pd.DataFrame
    encounter_rates: pd.DataFrame
    problems: list[FieldProblem]
    notes: list[str]
    effort: pd.Series  # camera-days per usable deployment, those without detections too


def _rows_with_bad_cells(package: CamtrapPackage) -> dict[str, set[int]]:
    """Row numbers (file lines) per table that the validation flagged."""
    bad: dict[str, set[int]] = {}
    for p in package.problems:
        if p.row is not None:
            bad.setdefault(Path(p.file).stem, set()).add(p.row)
    return bad


def camera_trap_tables(package: CamtrapPackage, registry: SpeciesRegistry) -> CameraTrapResult:
    """Per-individual detections and home ranges; per-deployment, per-species encounter rates.

    Event-level observations are used when the package has them (one per sequence), otherwise
    media-level ones, so an animal is not counted once per photo. Rows the validation rejected
    are not used (they are in ``problems``).
    """
    problems = list(package.problems)
    notes: list[str] = []
    bad = _rows_with_bad_cells(package)
    obs_file = str(package.folder / "observations.csv")
    dep = package.deployments.copy()
    dep["file_line"] = range(2, len(dep) + 2)
    dep = dep[~dep["file_line"].isin(bad.get("deployments", set()))]
    dep_lat = pd.to_numeric(dep["latitude"], errors="coerce")
    dep_lon = pd.to_numeric(dep["longitude"], errors="coerce")
    start = pd.to_datetime(dep["deploymentStart"], utc=True, errors="coerce", format="ISO8601")
    end = pd.to_datetime(dep["deploymentEnd"], utc=True, errors="coerce", format="ISO8601")
    deployments = pd.DataFrame({
        "deployment_id": dep["deploymentID"], "location_name": dep.get("locationName", ""),
        "latitude": dep_lat, "longitude": dep_lon,
        "camera_days": (end - start).dt.total_seconds() / 86400,
    }).set_index("deployment_id")

    obs = package.observations.copy()
    obs["file_line"] = range(2, len(obs) + 2)
    level = "event" if (obs["observationLevel"] == "event").any() else "media"
    other_level = obs["observationLevel"] != level
    if other_level.any():
        other = "media" if level == "event" else "event"
        notes.append(f"{obs_file}: {int(other_level.sum())} {other}-level observation(s) not "
                     f"counted: the {level}-level ones describe the same animals")
    obs = obs[~other_level]
    not_animal = obs["observationType"] != "animal"
    if not_animal.any():
        counts = obs.loc[not_animal, "observationType"].value_counts().sort_index()
        notes.append(f"{obs_file}: {int(not_animal.sum())} {level}-level observation(s) of no "
                     "animal, not counted (" + ", ".join(f"{k}: {v}" for k, v in counts.items())
                     + ")")
    obs = obs[~not_animal]
    flagged = obs["file_line"].isin(bad.get("observations", set()))
    unknown_dep = ~obs["deploymentID"].isin(deployments.index)
    for r in obs[unknown_dep & ~flagged].itertuples():
        problems.append(FieldProblem(obs_file, r.file_line, "deploymentID", r.deploymentID,
                                     "no usable deployment with this ID in deployments.csv (see "
                                     "the problems listed for it); observation not used"))
    no_name = obs["scientificName"].str.strip() == ""
    for r in obs[no_name & ~flagged & ~unknown_dep].itertuples():
        problems.append(FieldProblem(obs_file, r.file_line, "scientificName", "",
                                     "animal observation without a scientific name; identify it "
                                     "or mark it 'unclassified'"))
    obs = obs[~flagged & ~unknown_dep & ~no_name]
    obs["species"] = [registry_species(registry, n) for n in obs["scientificName"]]
    unregistered = sorted(set(obs.loc[obs["species"] == "", "scientificName"]))
    if unregistered:
        notes.append(f"{obs_file}: scientific name(s) not in the species registry, kept with an "
                     f"empty species: {', '.join(unregistered)} (add them to config/species.yaml "
                     "if they matter for CDV)")
    place = deployments.loc[obs["deploymentID"]]
    identified = obs["individualID"].str.strip() != ""
    detections = pd.DataFrame({
        "individual_id": obs["individualID"].str.strip(), "species": obs["species"],
        "scientific_name": obs["scientificName"], "deployment_id": obs["deploymentID"],
        "latitude": place["latitude"].to_numpy(), "longitude": place["longitude"].to_numpy(),
        "timestamp": obs["eventStart"], "observation_id": obs["observationID"],
    })[identified.to_numpy()].reset_index(drop=True)[list(DETECTION_COLUMNS)]
    ranges = home_ranges(detections, f"camera traps: {package.name}",
                         "camera locations where the animal was detected")
    unidentified = obs[~identified]
    counted = pd.to_numeric(unidentified["count"], errors="coerce").fillna(1)
    per = (unidentified.assign(animals=counted)
           .groupby(["deploymentID", "species", "scientificName"], sort=True)
           .agg(detections=("observationID", "size"), animals_counted=("animals", "sum"))
           .reset_index())
    info = deployments.loc[per["deploymentID"]]
    rates = pd.DataFrame({
        "deployment_id": per["deploymentID"],
        "location_name": info["location_name"].to_numpy(),
        "latitude": info["latitude"].to_numpy(), "longitude": info["longitude"].to_numpy(),
        "species": per["species"], "scientific_name": per["scientificName"],
        "detections": per["detections"], "animals_counted": per["animals_counted"],
        "camera_days": info["camera_days"].to_numpy(),
    })
    rates["detections_per_100_days"] = 100 * rates["detections"] / rates["camera_days"]
    return CameraTrapResult(detections, ranges, rates[list(ENCOUNTER_RATE_COLUMNS)], problems,
                            notes, deployments["camera_days"])
