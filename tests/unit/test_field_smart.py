"""SMART patrol exports (issue 15): waypoints and observations parsed; categories mapped to
passive surveillance and dog sightings by config; unmapped categories listed with counts."""

from __future__ import annotations

import pytest
from conftest import CONFIG_DIR

from disease_risk.cli import main
from disease_risk.intake.registry import load_species_registry
from disease_risk.intake.smart_patrol import (
    is_smart_csv,
    is_smart_xml,
    load_category_map,
    patrol_tables,
    read_smart_csv,
    read_smart_xml,
)
from disease_risk.tables import DOG_SIGHTING_COLUMNS, PASSIVE_SURVEILLANCE_COLUMNS

NS = "http://www.smartconservationsoftware.org/xml/1.3/patrol"


@pytest.fixture(scope="module")
def registry():
    return load_species_registry(CONFIG_DIR / "species.yaml")


@pytest.fixture(scope="module")
def mapping():
    return load_category_map(CONFIG_DIR / "smart_categories.yaml")


@pytest.fixture
def examples(shared_dir):
    return shared_dir / "data" / "smart_patrol_examples"


def test_shared_examples_every_observation_used_or_listed(examples, registry, mapping):
    for name, observations in (("smart_patrol_sample.xml", 3), ("SMART_000006_001.xml", 11)):
        path = examples / name
        assert is_smart_xml(path)
        rows = read_smart_xml(path)
        assert len(rows) == observations
        result = patrol_tables(rows, registry, mapping, str(path))
        assert result.patrols == 1
        assert result.unmapped["observations"].sum() + (result.observations["event"] != "").sum(
        ) == observations
    first = read_smart_xml(examples / "smart_patrol_sample.xml")[0]
    assert (first["waypoint_id"], first["x"], first["y"], first["time"]) == (
        "wp-001", "-58.5", "5.5", "09:30:00")
    assert first["attributes"] == {"species": "jaguar", "count": "2", "healthy": "true"}


def test_no_personal_data_leaves_the_reader(examples, registry, mapping):
    path = examples / "SMART_000006_001.xml"
    result = patrol_tables(read_smart_xml(path), registry, mapping, str(path))
    text = result.observations.to_csv()
    assert "Peter" not in text and "phone" not in text


def _patrol(tmp_path, observations: str):
    path = tmp_path / "patrol.xml"
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<ns2:patrol xmlns:ns2="{NS}" id="P-1" startDate="2024-02-01" endDate="2024-02-01">
  <ns2:legs id="1"><ns2:days date="2024-02-01">
    <ns2:waypoints id="1" x="131.52" y="43.11" time="10:00:00"><ns2:groups>{observations}
    </ns2:groups></ns2:waypoints>
    <ns2:waypoints id="2" x="131.53" y="43.12" time="11:00:00"><ns2:groups>
      <ns2:observations categoryKey="animals.domestic.dog.">
        <ns2:attributes attributeKey="count"><ns2:dValue>3</ns2:dValue></ns2:attributes>
      </ns2:observations>
      <ns2:observations categoryKey="threats.snare.">
      </ns2:observations>
    </ns2:groups></ns2:waypoints>
  </ns2:days></ns2:legs>
</ns2:patrol>
""", encoding="utf-8")
    return path


def test_carcasses_and_dogs_go_to_their_tables(tmp_path, registry, mapping):
    path = _patrol(tmp_path, """
      <ns2:observations categoryKey="animals.carcass.">
        <ns2:attributes attributeKey="species">
          <ns2:itemKey>chordata_rl.mammalia_rl.carnivora_rl.canidae_rl.nyctereutesprocyonoides_rl.</ns2:itemKey>
        </ns2:attributes>
      </ns2:observations>
      <ns2:observations categoryKey="animals.sickanimal.">
        <ns2:attributes attributeKey="species"><ns2:itemKey>fox</ns2:itemKey></ns2:attributes>
        <ns2:attributes attributeKey="count"><ns2:dValue>2.0</ns2:dValue></ns2:attributes>
      </ns2:observations>""")
    result = patrol_tables(read_smart_xml(path), registry, mapping, str(path))
    passive = result.passive_surveillance
    assert list(passive.columns) == list(PASSIVE_SURVEILLANCE_COLUMNS)
    assert set(zip(passive["event"], passive["species"], passive["animals"], strict=True)) == {
        ("carcass", "raccoon_dog", 1.0), ("sick_or_dead_animal", "red_fox", 2.0)}
    assert set(passive["month"]) == {"2024-02"} and set(passive["place"]) == {"43.1N 131.5E"}
    dogs = result.dog_sightings
    assert list(dogs.columns) == list(DOG_SIGHTING_COLUMNS)
    assert dogs.iloc[0][["sightings", "dogs"]].tolist() == [1, 3.0]
    assert result.unmapped[["category", "observations"]].values.tolist() == [["threats.snare.", 1]]


def test_check_lists_unmapped_and_bad_waypoints(tmp_path, capsys):
    path = _patrol(tmp_path, """
      <ns2:observations categoryKey="animals.carcass."/>""")
    path.write_text(path.read_text().replace('x="131.52"', 'x="east"'), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "UNMAPPED category 'threats.snare.': 1 observation(s)" in out
    assert "column x/y, value 'east/43.11'" in out


def test_query_csv(tmp_path, registry, mapping):
    path = tmp_path / "query.csv"
    path.write_text(
        "Patrol ID,Waypoint ID,Waypoint Date,Waypoint Time,X,Y,Observation Category 0,"
        "Observation Category 1,Species,Number\n"
        "P-9,4,2023-11-05,08:10:00,131.4,43.0,Animals,Carcass,Amur leopard,1\n"
        "P-9,5,2023-11-05,09:10:00,131.4,43.0,Animals,Free roaming dog,,4\n"
        "P-9,6,2023-11-05,09:30:00,131.4,43.0,Threats,Snare,,\n", encoding="utf-8")
    assert is_smart_csv(path, mapping)
    result = patrol_tables(read_smart_csv(path, mapping), registry, mapping, str(path))
    assert result.passive_surveillance[["event", "species"]].values.tolist() == [
        ["carcass", "amur_leopard"]]
    assert result.dog_sightings["dogs"].tolist() == [4.0]
    assert result.unmapped["category"].tolist() == ["threats.snare."]


def test_passive_surveillance_rule_sums_the_example_patrols_and_lists_the_rest(
        tmp_path, repo_root):
    """Rule passive_surveillance on the SIMULATED example patrols (which the seeded generator
    makes again byte for byte) plus a file that is no SMART export: carcasses and sick animals
    are counted as recorded, tracks are listed as not used, the stray file as a problem."""
    import shutil
    from xml.etree import ElementTree as ET

    from disease_risk.intake.field_examples import smart_patrol_example
    from disease_risk.intake.stage import passive_surveillance
    from disease_risk.tables import read_table

    folder = repo_root / "config/field_data/smart"
    patrols = sorted(folder.glob("SIMULATED_patrol_2025_*.xml"))
    assert len(patrols) == 4
    for path in patrols:
        month = int(path.stem[-2:])
        expected = smart_patrol_example(f"LOL-2025-{month:02d}", month,
                                        (42.75, 131.0, 43.15, 131.6))
        assert path.read_text(encoding="utf-8") == expected
    stray = tmp_path / "notes.txt"
    stray.write_text("ranger notes\n", encoding="utf-8")
    copied = [shutil.copy(p, tmp_path / p.name) for p in patrols]
    outputs = {name: tmp_path / f"{name}.tsv" for name in ("passive", "dogs", "not_used",
                                                           "problems")}
    passive_surveillance(
        {"patrols": [*copied, stray], "species": repo_root / "config/species.yaml",
         "categories": repo_root / "config/smart_categories.yaml"}, outputs, {})
    ns = "{http://www.smartconservationsoftware.org/xml/1.3/patrol}"
    categories = [o.get("categoryKey") for p in patrols
                  for o in ET.parse(p).getroot().iter(f"{ns}observations")]
    found = read_table(outputs["passive"])
    assert found["observations"].sum() == sum(
        c in ("animals.carcass.", "animals.sickanimal.") for c in categories)
    assert set(found["species"]) <= {"raccoon_dog", "asian_badger", "red_fox"}
    dogs = read_table(outputs["dogs"])
    assert dogs["sightings"].sum() == categories.count("animals.feraldomesticdog.")
    not_used = read_table(outputs["not_used"])
    assert not_used["observations"].sum() == categories.count("animals.tracks.")
    problems = read_table(outputs["problems"])
    assert problems["file"].tolist() == [str(stray)]
