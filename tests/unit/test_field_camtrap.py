"""Camtrap DP packages (issue 15): offline validation, identified individuals -> home ranges,
unidentified detections -> encounter rates; the shared official example is read as it is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import CONFIG_DIR

from disease_risk.cli import main
from disease_risk.intake.camtrap_dp import (
    camera_trap_tables,
    default_schema_dir,
    offline_descriptor,
    read_camtrap_dp,
)
from disease_risk.intake.field_common import FieldDataError, mcp_area_km2
from disease_risk.intake.registry import load_species_registry
from disease_risk.tables import ENCOUNTER_RATE_COLUMNS, HOME_RANGE_COLUMNS


@pytest.fixture(scope="module")
def registry():
    return load_species_registry(CONFIG_DIR / "species.yaml")


@pytest.fixture
def example(shared_dir) -> Path:
    return shared_dir / "data" / "camtrap_dp_example"


def test_shipped_schemas_are_the_standards(example):
    for name in ("camtrap-dp-profile.json", "deployments-table-schema.json",
                 "media-table-schema.json", "observations-table-schema.json"):
        assert (default_schema_dir() / name).read_bytes() == (example / name).read_bytes()


def test_descriptor_urls_point_to_the_shipped_copies(example):
    descriptor = offline_descriptor(example / "datapackage.json", default_schema_dir())
    assert "profile" not in descriptor
    schemas = [r["schema"] for r in descriptor["resources"] if "schema" in r]
    assert all(isinstance(s, dict) and s["fields"] for s in schemas)


def test_example_package_is_valid_and_gives_encounter_rates(example, registry):
    package = read_camtrap_dp(example)
    assert package.problems == []
    tables = camera_trap_tables(package, registry)
    rates = tables.encounter_rates
    assert list(rates.columns) == list(ENCOUNTER_RATE_COLUMNS)
    fox = rates[rates["scientific_name"] == "Vulpes vulpes"].iloc[0]
    assert fox["species"] == "red_fox"  # through the species registry
    assert fox["detections_per_100_days"] == pytest.approx(100 * 1 / fox["camera_days"])
    assert (rates["camera_days"] > 0).all()
    # every event-level animal observation is counted somewhere, nothing else
    obs = package.observations
    animal_events = obs[(obs["observationLevel"] == "event") & (obs["observationType"] == "animal")]
    assert rates["detections"].sum() == len(animal_events)
    assert tables.home_ranges.empty and list(tables.home_ranges.columns) == list(
        HOME_RANGE_COLUMNS)
    assert any("not in the species registry" in n for n in tables.notes)


def test_identified_individuals_give_home_ranges(example, registry, tmp_path):
    package_dir = tmp_path / "pkg"
    shutil.copytree(example, package_dir)
    obs_path = package_dir / "observations.csv"
    lines = obs_path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    col = header.index("individualID")
    name = header.index("scientificName")
    level = header.index("observationLevel")
    kind = header.index("observationType")
    out = [lines[0]]
    tagged = 0
    for line in lines[1:]:
        cells = line.split(",")
        if (len(cells) == len(header) and cells[level] == "event" and cells[kind] == "animal"
                and tagged < 4):
            cells[name], cells[col] = "Panthera pardus orientalis", "LEO-1"
            tagged += 1
        out.append(",".join(cells))
    obs_path.write_text("\n".join(out) + "\n", encoding="utf-8")
    tables = camera_trap_tables(read_camtrap_dp(package_dir), registry)
    assert set(tables.detections["individual_id"]) == {"LEO-1"}
    row = tables.home_ranges.iloc[0]
    assert row["species"] == "amur_leopard" and row["fixes"] == 4
    assert row["method"].startswith("MCP95")
    assert -90 < row["centre_latitude"] < 90


def test_bad_cell_is_listed_with_file_row_column_value(example, registry, tmp_path):
    package_dir = tmp_path / "bad"
    shutil.copytree(example, package_dir)
    deployments = package_dir / "deployments.csv"
    lines = deployments.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("51.496", "north", 1)
    deployments.write_text("\n".join(lines) + "\n", encoding="utf-8")
    package = read_camtrap_dp(package_dir)
    [problem] = package.problems
    assert (Path(problem.file).name, problem.row, problem.column, problem.value) == (
        "deployments.csv", 2, "latitude", "north")
    tables = camera_trap_tables(package, registry)
    # observations of the broken deployment are listed, not dropped silently
    assert any(p.column == "deploymentID" for p in tables.problems)
    assert main(["check", str(package_dir)]) == 1


def test_missing_offline_schema_names_the_fix(example, tmp_path):
    with pytest.raises(FieldDataError, match="no offline copy"):
        read_camtrap_dp(example, schema_dir=tmp_path)


def test_mcp_area_of_a_square():
    # four corners of ~11.1 x ~7.9 km near 45 N plus the centre: MCP95 keeps all but one corner
    lat = [45.0, 45.0, 45.1, 45.1, 45.05] * 4
    lon = [131.0, 131.1, 131.0, 131.1, 131.05] * 4
    _, _, area, kept, note = mcp_area_km2(lat, lon, percent=100)
    assert kept == 20 and note == ""
    assert area == pytest.approx(11.12 * 7.86, rel=0.01)
    _, _, area, _, note = mcp_area_km2([45.0, 45.0], [131.0, 131.0])
    assert area != area and "needs 3" in note  # NaN with the reason


def test_example_package_regenerates_from_its_sightings_and_places_its_animals(repo_root):
    """The shipped SIMULATED package is what the seeded generator makes from its own identified
    sightings, and the example network places exactly those animals at their cameras."""
    from disease_risk.intake.camtrap_dp import camera_trap_tables, read_camtrap_dp
    from disease_risk.intake.field_examples import camtrap_example
    from disease_risk.intake.registry import load_species_registry
    from disease_risk.transmission.network_files import load_network_config, read_locations

    folder = repo_root / "config/field_data/SIMULATED_land_of_leopard_camtrap"
    registry = load_species_registry(repo_root / "config/species.yaml")
    result = camera_trap_tables(read_camtrap_dp(folder), registry)
    assert not result.problems
    sightings = result.detections.rename(columns={"individual_id": "animal_id"}).assign(
        date=result.detections["timestamp"].str[:10])
    for name, text in camtrap_example(sightings, registry).items():
        assert (folder / name).read_text(encoding="utf-8") == text, name
    network = load_network_config(repo_root / "config/network.yaml")
    species = list(network["populations"])
    located = read_locations(folder, species, registry)
    assert located.groupby("species")["animal_id"].nunique().to_dict() == {
        "amur_leopard": 4, "amur_tiger": 2}
    assert len(located) == len(result.detections)
