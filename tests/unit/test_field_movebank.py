"""Movebank GPS-collar CSVs (issue 15): MCP95 home ranges per animal; bad fixes listed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import CONFIG_DIR

from disease_risk.cli import main
from disease_risk.intake.field_common import FieldDataError
from disease_risk.intake.movebank import collar_home_ranges, is_movebank_csv, read_movebank
from disease_risk.intake.registry import load_species_registry
from disease_risk.tables import HOME_RANGE_COLUMNS

HEADER = ("event-id,visible,timestamp,location-long,location-lat,individual-local-identifier,"
          "individual-taxon-canonical-name")


def _collar_csv(path, extra_rows=()):
    rows = [HEADER]
    for i in range(40):  # a 10 x 10 km square of fixes around a centre, 20 per animal
        angle = 2 * math.pi * i / 20
        lat = 43.1 + 0.03 * math.sin(angle)
        lon = 131.5 + 0.04 * math.cos(angle)
        animal = "LEO-7" if i < 20 else "TIG-2"
        taxon = "Panthera pardus orientalis" if i < 20 else "Panthera tigris altaica"
        rows.append(f"{i},true,2021-03-{1 + i % 20:02d} 04:00:00.000,{lon:.6f},{lat:.6f},"
                    f"{animal},{taxon}")
    rows += list(extra_rows)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def registry():
    return load_species_registry(CONFIG_DIR / "species.yaml")


def test_home_ranges_per_animal(tmp_path, registry):
    path = _collar_csv(tmp_path / "collars.csv")
    assert is_movebank_csv(path)
    result = collar_home_ranges(read_movebank(path), registry, str(path))
    ranges = result.home_ranges.set_index("individual_id")
    assert list(result.home_ranges.columns) == list(HOME_RANGE_COLUMNS)
    assert ranges.loc["LEO-7", "species"] == "amur_leopard"
    assert ranges.loc["TIG-2", "species"] == "amur_tiger"
    assert ranges.loc["LEO-7", "fixes"] == 20 and ranges.loc["LEO-7", "fixes_in_polygon"] == 19
    assert ranges.loc["LEO-7", "method"] == "MCP95 (GPS fixes)"
    # a 20-gon inscribed in an ellipse of semi-axes ~3.3 km x ~3.2 km: about pi*a*b
    assert 25 < ranges.loc["LEO-7", "area_km2"] < 34
    assert ranges.loc["LEO-7", "centre_latitude"] == pytest.approx(43.1, abs=1e-6)
    assert result.problems == []


def test_bad_fixes_are_listed_and_marked_outliers_noted(tmp_path, registry):
    path = _collar_csv(tmp_path / "collars.csv", [
        "90,true,2021-03-02 04:00:00.000,,,LEO-7,Panthera pardus orientalis",
        "91,true,yesterday,131.5,43.1,LEO-7,Panthera pardus orientalis",
        "92,false,2021-03-02 05:00:00.000,131.5,43.1,LEO-7,Panthera pardus orientalis",
    ])
    result = collar_home_ranges(read_movebank(path), registry, str(path))
    assert [(p.row, p.column, p.value) for p in result.problems] == [
        (42, "location-lat", ""), (43, "timestamp", "yesterday")]
    assert any("visible = false" in n for n in result.notes)
    assert len(result.fixes) == 40
    assert main(["check", str(path)]) == 1


def test_check_groups_one_problem_repeated_over_many_rows(tmp_path, capsys):
    """A column wrong in 500 rows reads as one line naming every row (as runs) and the count;
    a problem met three times keeps a line per row."""
    bad_time = [f"{100 + i},true,03/0{1 + i % 9}/2021 04:00,131.5,43.1,LEO-7,"
                "Panthera pardus orientalis" for i in range(500)]
    bad_lat = [f"{900 + i},true,2021-03-02 04:00:00.000,131.5,north,TIG-2,"
               "Panthera tigris altaica" for i in range(3)]
    path = _collar_csv(tmp_path / "collars.csv", [*bad_time[:300], *bad_lat, *bad_time[300:]])
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    grouped = [line for line in out.splitlines() if "500 rows" in line]
    assert len(grouped) == 1, out
    assert "(42-341, 345-544)" in grouped[0] and "column timestamp" in grouped[0]
    assert "'03/01/2021 04:00'" in grouped[0] and "and 6 other values" in grouped[0]
    for row in (342, 343, 344):
        assert f"row {row}, column location-lat, value 'north'" in out


def test_row_ranges_count_what_they_do_not_show():
    from disease_risk.intake.check import SHOWN_RANGES, row_ranges

    assert row_ranges([5, 2, 3, 4, 9, 11, 12]) == "2-5, 9, 11-12"
    many = list(range(2, 2 + 2 * (SHOWN_RANGES + 10), 2))  # every other row: one run each
    text = row_ranges(many)
    assert text.count(",") == SHOWN_RANGES - 1 and text.endswith(" and 10 more rows")


def test_missing_movebank_column_names_it(tmp_path):
    path = tmp_path / "collars.csv"
    path.write_text("timestamp,location-long,location-lat,individual-local-identifier\n",
                    encoding="utf-8")
    with pytest.raises(FieldDataError, match="individual-taxon-canonical-name"):
        read_movebank(path)


def test_check_says_what_it_read(tmp_path, capsys):
    path = _collar_csv(tmp_path / "collars.csv")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "40 GPS fix(es) of 2 animal(s)" in out


def test_network_places_collared_animals_and_lists_the_rest(tmp_path, registry, caplog):
    """A Movebank export as the network's location file: each fix of a network species is a
    location row; an animal of a species outside the network is logged, not used; a bad fix
    stops the network naming file, row, column and value."""
    from disease_risk.transmission.contact_network import NetworkInputError
    from disease_risk.transmission.network_files import read_locations

    path = _collar_csv(tmp_path / "collars.csv", [
        "95,true,2021-03-02 04:00:00.000,131.6,43.2,FOX-1,Vulpes vulpes"])
    with caplog.at_level("INFO"):
        located = read_locations(path, ["amur_leopard", "amur_tiger"], registry)
    assert located.groupby("animal_id").size().to_dict() == {"LEO-7": 20, "TIG-2": 20}
    assert located["date"].iloc[0] == "2021-03-01"
    assert "FOX-1 (red_fox, 1 rows) not used" in caplog.text
    bad = _collar_csv(tmp_path / "bad.csv", [
        "96,true,2021-03-02 04:00:00.000,131.6,north,LEO-7,Panthera pardus orientalis"])
    with pytest.raises(NetworkInputError, match=r"row 42, column location-lat, value 'north'"):
        read_locations(bad, ["amur_leopard"], registry)
    with pytest.raises(NetworkInputError, match="species registry"):
        read_locations(path, ["amur_leopard"], None)


def test_collared_animals_bring_their_own_home_range_when_fixes_suffice(tmp_path, registry):
    """An animal with at least home_range_min_fixes fixes gets its MCP95 area in the network;
    with fewer, its species' configured home range."""
    from disease_risk.transmission.contact_network import simulate_individuals
    from disease_risk.transmission.network_files import read_locations

    path = _collar_csv(tmp_path / "collars.csv")  # 20 fixes per animal
    config = {
        "study_area": {"name": "test", "origin_latitude": 42.9, "origin_longitude": 131.2,
                       "width_km": 60, "height_km": 50},
        "sites": [{"name": "A", "x_km": 10, "y_km": 10, "dogs": 1}],
        "dogs": {"home_range_km2": 1.0, "village_spread_km": 0.0},
        "populations": {"amur_leopard": {"count": 3, "home_range_km2": 80},
                        "amur_tiger": {"count": 2, "home_range_km2": 400}},
    }
    rng = np.random.default_rng(1)
    for min_fixes, leopard, tiger in ((10, None, None), (30, 80.0, 400.0)):
        located = read_locations(path, ["amur_leopard", "amur_tiger"], registry, min_fixes)
        nodes = simulate_individuals(config, rng, located).table.set_index("node")
        if leopard is None:  # own areas: the MCP95 of each animal's fixes
            assert 25 < nodes.loc["LEO-7", "home_range_km2"] < 34
            assert nodes.loc["TIG-2", "home_range_km2"] == pytest.approx(
                nodes.loc["LEO-7", "home_range_km2"])  # the same square of fixes
        else:
            assert nodes.loc["LEO-7", "home_range_km2"] == leopard
            assert nodes.loc["TIG-2", "home_range_km2"] == tiger
        simulated = nodes[nodes["origin"] == "simulated"]
        assert set(simulated["home_range_km2"]) == {80.0, 400.0, 1.0}
