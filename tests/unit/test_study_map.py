"""The study-area map: its layers from a small hand-built network, nodes, samples and serology
summary, and a PNG that is the same bytes every time it is drawn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from disease_risk.report.study_map import (
    plot_study_map,
    release_sites,
    sampling_label,
    study_map_layers,
    study_map_png,
)
from disease_risk.tables import NODE_COLUMNS, PREVALENCE_COLUMNS, SAMPLE_COLUMNS
from disease_risk.transmission.contact_network import project

AREA = {
    "name": "test_area",
    "origin_latitude": 42.60,
    "origin_longitude": 130.80,
    "width_km": 40,
    "height_km": 30,
}
NETWORK = {
    "study_area": AREA,
    "sites": [
        {"name": "Kraskino", "x_km": 10, "y_km": 8, "dogs": 80},
        {"name": "Slavyanka", "x_km": 30, "y_km": 20, "dogs": 100},
        {"name": "release_enclosure", "x_km": 25, "y_km": 12, "dogs": 0},
        {"name": "ranger_hut", "x_km": 5, "y_km": 25, "dogs": 0},
    ],
}
NAMES = {"domestic_dog": "dogs", "amur_leopard": "leopard", "amur_tiger": "tiger"}


def _nodes() -> pd.DataFrame:
    rows = [
        ["PPO_F01", "amur_leopard", "test_area", 12.0, 14.0, 80.0, "location_table"],
        ["amur_leopard_0000", "amur_leopard", "test_area", 20.0, 20.0, 80.0, "simulated"],
        ["amur_tiger_0000", "amur_tiger", "test_area", 30.0, 10.0, 400.0, "simulated"],
        ["domestic_dog_0000", "domestic_dog", "Kraskino", 10.0, 8.0, 1.0, "simulated"],
        ["raccoon_dog_0000", "raccoon_dog", "test_area", 3.0, 3.0, 5.0, "simulated"],
    ]
    return pd.DataFrame(rows, columns=list(NODE_COLUMNS))


def _samples() -> pd.DataFrame:
    """Plateau: 3 located samples (tiger, leopard, raccoon dog) and 1 without coordinates;
    Slavyanka: 2 dog samples without coordinates (a settlement of that name exists);
    Nezhino: 1 dog sample without coordinates and no settlement of that name."""
    located = [
        ("Plateau $\\alpha$", "amur_tiger", 42.80, 131.00),
        ("Plateau $\\alpha$", "amur_leopard", 42.70, 131.10),
        ("Plateau $\\alpha$", "raccoon_dog", 42.75, 131.05),
        ("Plateau $\\alpha$", "raccoon_dog", np.nan, np.nan),
        ("Slavyanka", "domestic_dog", np.nan, np.nan),
        ("Slavyanka", "domestic_dog", np.nan, np.nan),
        ("Nezhino", "domestic_dog", np.nan, np.nan),
    ]
    frame = pd.DataFrame(index=range(len(located)), columns=list(SAMPLE_COLUMNS))
    frame["sample_id"] = [f"S{i}" for i in range(len(located))]
    frame["site"] = [r[0] for r in located]
    frame["species"] = [r[1] for r in located]
    frame["latitude"] = [r[2] for r in located]
    frame["longitude"] = [r[3] for r in located]
    return frame


def _prevalence() -> pd.DataFrame:
    rows = [
        # species, site, year, n_tested, n_positive
        ("amur_tiger", "Plateau $\\alpha$", "all", 8, 2),
        ("amur_tiger", "Plateau $\\alpha$", "2019", 4, 1),  # per year: not on the map
        ("amur_leopard", "Plateau $\\alpha$", "all", 3, 0),
        ("raccoon_dog", "Plateau $\\alpha$", "all", 20, 7),
        ("domestic_dog", "Slavyanka", "all", 120, 32),
        ("domestic_dog", "Nezhino", "all", 50, 10),
        ("domestic_dog", "all", "all", 170, 42),  # all sites: not a sampling site
    ]
    frame = pd.DataFrame(
        [[sp, site, year, n, k, k / n, 0.2, 0.1, 0.3] for sp, site, year, n, k in rows],
        columns=list(PREVALENCE_COLUMNS),
    )
    return frame


@pytest.fixture(scope="module")
def layers():
    return study_map_layers(NETWORK, _nodes(), _samples(), _prevalence(), names=NAMES)


def test_sampling_site_sits_at_the_mean_of_its_projected_samples(layers):
    x, y = project([42.80, 42.70, 42.75], [131.00, 131.10, 131.05], AREA)
    plateau = layers.sampling.set_index("site").loc["Plateau $\\alpha$"]
    assert plateau["x"] == pytest.approx(np.mean(x))
    assert plateau["y"] == pytest.approx(np.mean(y))
    assert plateau["position"] == "samples"
    assert (plateau["samples"], plateau["located"]) == (4, 3)


def test_sampling_labels_carry_percentage_and_number_tested(layers):
    labels = layers.sampling.set_index("site")["label"]
    plateau = labels["Plateau $\\alpha$"].split("\n")
    # name first, then leopard and tiger (headline species), the rest counted
    assert plateau == [
        "Plateau $\\alpha$",
        "leopard 0% (n=3)",
        "tiger 25% (n=8)",
        "+ 1 more species",
    ]
    assert labels["Slavyanka"] == "Slavyanka\ndogs 27% (n=120)"  # 32/120 = 26.7%


def test_label_without_headline_species_shows_the_first_two():
    rows = pd.DataFrame(
        {
            "species": ["sable", "red_fox", "raccoon_dog"],
            "n_tested": [10, 4, 5],
            "n_positive": [1, 1, 0],
        }
    )
    assert sampling_label("Hill", rows).split("\n") == [
        "Hill",
        "raccoon dog 0% (n=5)",
        "red fox 25% (n=4)",
        "+ 1 more species",
    ]


def test_samples_without_coordinates_are_counted_not_dropped(layers):
    assert layers.skipped_samples == 4
    by_site = layers.skipped.groupby("site")["samples"].sum().to_dict()
    assert by_site == {"Nezhino": 1, "Plateau $\\alpha$": 1, "Slavyanka": 2}
    notes = " ".join(layers.notes())
    assert "4 samples without coordinates are not mapped" in notes
    assert "Slavyanka 2" in notes
    # Slavyanka's samples lack coordinates: the site goes to the settlement of that name
    slav = layers.sampling.set_index("site").loc["Slavyanka"]
    assert (slav["x"], slav["y"]) == (30.0, 20.0)
    assert (slav["position"], slav["located"]) == ("settlement", 0)
    # Nezhino has neither coordinates nor a settlement: listed, not drawn
    assert layers.unmapped_sites == ("Nezhino",)
    assert "Nezhino" not in set(layers.sampling["site"])
    assert "not on the map: Nezhino" in notes


def test_only_per_site_totals_are_mapped(layers):
    prev = layers.prevalence
    assert "all" not in set(prev["site"])
    tiger = prev[(prev["site"] == "Plateau $\\alpha$") & (prev["species"] == "amur_tiger")]
    assert tiger[["n_tested", "n_positive"]].values.tolist() == [[8, 2]]


def test_settlements_release_enclosure_and_other_sites(layers):
    sites = layers.sites.set_index("name")
    assert sites.loc["Kraskino", "dogs"] == 80 and sites.loc["Kraskino", "kind"] == "settlement"
    assert sites.loc["Slavyanka", "dogs"] == 100
    assert sites.loc["release_enclosure", "kind"] == "release"
    assert sites.loc["ranger_hut", "kind"] == "other"


def test_release_scenarios_mark_their_site():
    scenarios = {
        "baseline": {},
        "dog_vaccination_30": {"vaccination_coverage": {"domestic_dog": 0.3}},
        "hut_release": {"release": {"species": "amur_leopard", "n": 10, "site": "ranger_hut"}},
    }
    assert release_sites(scenarios) == ["ranger_hut"]
    layers = study_map_layers(
        NETWORK, _nodes(), _samples(), _prevalence(), release=release_sites(scenarios)
    )
    kinds = layers.sites.set_index("name")["kind"]
    assert kinds["ranger_hut"] == "release" and kinds["release_enclosure"] == "release"


def test_felid_home_ranges(layers):
    felids = layers.felids.set_index("node")
    assert set(felids["species"]) == {"amur_leopard", "amur_tiger"}  # no dogs, no mesocarnivores
    assert felids.loc["PPO_F01", "detected"]
    assert not felids.loc["amur_leopard_0000", "detected"]
    assert felids.loc["amur_tiger_0000", "radius_km"] == pytest.approx(math.sqrt(400 / math.pi))
    assert felids.loc["PPO_F01", "radius_km"] == pytest.approx(math.sqrt(80 / math.pi))


def test_png_is_written_and_identical_when_drawn_again(layers, tmp_path):
    first, second = tmp_path / "a" / "map.png", tmp_path / "map.png"
    plot_study_map(layers, first)
    plot_study_map(layers, second)
    data = first.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data == second.read_bytes()
    assert study_map_png(layers) == data


def test_map_without_samples_or_animals_still_draws(tmp_path):
    samples = _samples().iloc[0:0]
    nodes = _nodes().iloc[0:0]
    layers = study_map_layers(NETWORK, nodes, samples, _prevalence().iloc[0:0])
    assert layers.sampling.empty and layers.felids.empty and layers.skipped_samples == 0
    assert layers.notes() == []
    plot_study_map(layers, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").stat().st_size > 0
