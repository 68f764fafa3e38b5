"""Contact network: geometry, contact rules, location table and summary on hand-built cases."""

from __future__ import annotations

import copy
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from disease_risk.transmission import contact_network as cn
from disease_risk.transmission import network_files as nf

AREA = {
    "name": "test_area",
    "origin_latitude": 43.0,
    "origin_longitude": 131.0,
    "width_km": 80,
    "height_km": 80,
}


def lat_lon(x: float, y: float) -> tuple[float, float]:
    """Inverse of cn.project for the test area."""
    lat = AREA["origin_latitude"] + y / cn.KM_PER_DEG_LAT
    lon = AREA["origin_longitude"] + x / (
        cn.KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(AREA["origin_latitude"]))
    )
    return lat, lon


def small_config(locations_file=None) -> dict:
    return {
        "study_area": AREA,
        "sites": [
            {"name": "A", "x_km": 10, "y_km": 10, "dogs": 3},
            {"name": "B", "x_km": 50, "y_km": 50, "dogs": 2},
        ],
        "dogs": {"home_range_km2": 1.0, "village_spread_km": 0.0},
        "populations": {"amur_leopard": {"count": 3, "home_range_km2": 80}},
        "release": {"spread_km": 0.0, "home_range_km2": 80},
        "locations_file": locations_file,
        "contact_rules": [
            {
                "name": "leopard_predation_dogs",
                "kind": "overlap",
                "a": ["domestic_dog"],
                "b": ["amur_leopard"],
                "per_individual_of": "b",
                "rate_per_year": 1.0,
                "transmits": "a_to_b",
                "p_transmission": 0.5,
                "source": "test",
            },
            {
                "name": "felid_territorial",
                "kind": "overlap",
                "a": ["amur_leopard"],
                "b": ["amur_leopard"],
                "rate_per_year": 2.0,
                "transmits": "both",
                "p_transmission": 0.1,
                "source": "test",
            },
            {
                "name": "dog_within_village",
                "kind": "same_site",
                "a": ["domestic_dog"],
                "b": ["domestic_dog"],
                "rate_per_year": 4.0,
                "transmits": "both",
                "p_transmission": 0.15,
                "source": "test",
            },
            {
                "name": "dog_between_villages",
                "kind": "between_sites",
                "a": ["domestic_dog"],
                "b": ["domestic_dog"],
                "max_distance_km": 10,
                "rate_per_year": 0.1,
                "transmits": "both",
                "p_transmission": 0.15,
                "source": "test",
            },
        ],
    }


@pytest.fixture
def located(tmp_path):
    """Three leopards from a location table: L1 by village A, L2 overlaps L1 only, L3 alone."""
    rows = ["animal_id,species,latitude,longitude,date"]
    for animal, x, y in (("L1", 12, 10), ("L2", 20, 10), ("L3", 60, 10)):
        for dx in (-0.5, 0.5):
            lat, lon = lat_lon(x + dx, y)
            rows.append(f"{animal},amur_leopard,{lat:.7f},{lon:.7f},2025-06-0{1 if dx < 0 else 2}")
    path = tmp_path / "locations.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def build(located):
    config = small_config(str(located))
    locations = nf.read_locations(located, ["amur_leopard", "domestic_dog"])
    individuals = cn.simulate_individuals(config, np.random.default_rng(0), locations)
    return cn.build_contact_network(individuals, config), individuals


def reference_summary(graph: nx.DiGraph, target: str, source: str) -> dict:
    """The summary computed with networkx on the graph view (reference for the array version)."""
    und = graph.to_undirected(as_view=False)
    species = nx.get_node_attributes(graph, "species")
    out = {}
    for sp in set(species.values()):
        members = [n for n in und if species[n] == sp]
        out[("nodes", sp, "")] = len(members)
        out[("edges", sp, "")] = len({tuple(sorted(e)) for n in members for e in und.edges(n)})
        out[("mean_degree", sp, "")] = round(float(np.mean([und.degree(n) for n in members])), 4)
    for u, v in und.edges():
        key = ("edges_between", *sorted((species[u], species[v])))
        out[key] = out.get(key, 0) + 1
    targets = [n for n in und if species[n] == target]
    sources = {n for n in und if species[n] == source}
    reach = set().union(*(c for c in nx.connected_components(und) if c & sources))
    tx = nx.DiGraph((u, v) for u, v, r in graph.edges(data="transmission_rate") if r > 0)
    tx.add_nodes_from(graph)
    reachable = set(sources).union(*(nx.descendants(tx, s) for s in sources))
    out[("share_with_path_to", target, source)] = round(
        sum(n in reach for n in targets) / len(targets), 6
    )
    out[("share_reachable_by_transmission_from", target, source)] = round(
        sum(n in reachable for n in targets) / len(targets), 6
    )
    return out


def test_overlap_fraction_known_values():
    got = cn.overlap_fraction(
        np.array([0.0, 3.0, 0.5, 1.0]),
        np.array([1.0, 1.0, 2.0, 1.0]),
        np.array([1.0, 1.0, 0.5, 1.0]),
    )
    lens = 2 * math.acos(0.5) - 0.5 * math.sqrt(3)
    np.testing.assert_allclose(got, [1.0, 0.0, 1.0, lens / math.pi], rtol=1e-12)


def test_location_table_replaces_simulated_positions(located):
    network, individuals = build(located)
    graph = network.to_graph()
    leopards = individuals.table[individuals.table["species"] == "amur_leopard"]
    assert sorted(leopards["node"]) == ["L1", "L2", "L3"]
    assert set(leopards["origin"]) == {"location_table"}
    l1 = leopards.set_index("node").loc["L1"]
    assert l1["x"] == pytest.approx(12, abs=1e-4) and l1["y"] == pytest.approx(10, abs=1e-4)
    assert graph.nodes["L1"]["species"] == "amur_leopard"


def test_edges_rates_and_directions_hand_built(located):
    graph = build(located)[0].to_graph()
    dogs_a = [n for n, d in graph.nodes(data=True) if d["site"] == "A"]
    assert len(dogs_a) == 3
    for dog in dogs_a:
        # per_individual_of: L1's one dog per year is split evenly over 3 identical dogs
        assert graph.edges[dog, "L1"]["weight"] == pytest.approx(1 / 3)
        assert graph.edges[dog, "L1"]["transmission_rate"] == pytest.approx(0.5 / 3)
        assert graph.edges["L1", dog]["transmission_rate"] == 0.0  # a_to_b only
    # territorial contact scales with overlap of two 80 km² ranges 8 km apart
    r = math.sqrt(80 / math.pi)
    frac = cn.overlap_fraction(np.array([8.0]), r, r)[0]
    assert graph.edges["L1", "L2"]["weight"] == pytest.approx(2.0 * frac, rel=1e-6)
    assert graph.edges["L2", "L1"]["transmission_rate"] == pytest.approx(0.2 * frac, rel=1e-6)
    assert graph.degree("L3") == 0
    assert graph.edges["L1", "L2"]["rules"] == "felid_territorial"
    assert graph.edges[dogs_a[0], dogs_a[1]]["rules"] == "dog_within_village"


def test_network_summary_hand_built(located):
    network, _ = build(located)
    s = cn.network_summary(network)
    value = {(m, a, b): v for m, a, b, v in s.itertuples(index=False)}
    assert value[("nodes", "domestic_dog", "")] == 5
    assert value[("nodes", "amur_leopard", "")] == 3
    assert value[("edges_between", "domestic_dog", "domestic_dog")] == 3 + 1  # villages 56 km apart
    assert value[("edges_between", "amur_leopard", "domestic_dog")] == 3
    assert value[("edges_between", "amur_leopard", "amur_leopard")] == 1
    assert value[("edges", "amur_leopard", "")] == 4
    assert value[("mean_degree", "amur_leopard", "")] == pytest.approx((4 + 1 + 0) / 3, abs=1e-4)
    assert value[("share_with_path_to", "amur_leopard", "domestic_dog")] == pytest.approx(2 / 3)
    assert value[("share_reachable_by_transmission_from", "amur_leopard", "domestic_dog")] == (
        pytest.approx(2 / 3)
    )


def test_between_sites_rule_links_nearby_villages(located):
    config = small_config(str(located))
    config["contact_rules"][3]["max_distance_km"] = 60
    locations = nf.read_locations(located, ["amur_leopard", "domestic_dog"])
    network = cn.build_contact_network(
        cn.simulate_individuals(config, np.random.default_rng(0), locations), config
    )
    s = cn.network_summary(network)
    row = s[
        (s.metric == "edges_between")
        & (s.species_a == "domestic_dog")
        & (s.species_b == "domestic_dog")
    ]
    assert row["value"].iloc[0] == 4 + 3 * 2


def test_bad_location_row_names_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "animal_id,species,latitude,longitude,date\n"
        "L1,amur_leopard,43.1,131.2,2025-01-01\n"
        "L2,amur_leopard,north,131.2,2025-01-01\n"
    )
    with pytest.raises(cn.NetworkInputError, match=r"line 3, column latitude: 'north'"):
        nf.read_locations(path, ["amur_leopard"])
    path.write_text(
        "animal_id,species,latitude,longitude,date\nL1,snow_leopard,43.1,131.2,2025-01-01\n"
    )
    with pytest.raises(cn.NetworkInputError, match=r"line 2, column species"):
        nf.read_locations(path, ["amur_leopard"])


def test_release_adds_linked_group(located):
    network, _ = build(located)
    graph = network.to_graph()
    config = small_config(str(located))
    config["sites"].append({"name": "release", "x_km": 21, "y_km": 10, "dogs": 0})
    extra = cn.released_individuals(config, "amur_leopard", 2, "release", np.random.default_rng(1))
    bigger = cn.add_individuals(network, extra, config).to_graph()
    new = list(extra.table["node"])
    assert bigger.number_of_nodes() == graph.number_of_nodes() + 2
    assert bigger.has_edge(new[0], "L2") and bigger.has_edge(new[0], new[1])
    assert all(bigger.nodes[n]["origin"] == "released" for n in new)
    for u, v in graph.edges():
        assert bigger.edges[u, v] == graph.edges[u, v]


def test_example_config_builds(repo_root, monkeypatch):
    from disease_risk.intake.registry import load_species_registry

    monkeypatch.chdir(repo_root)
    registry = load_species_registry("config/species.yaml")
    network = nf.network_from_config("config/network.yaml", 1, registry)
    table = network.nodes
    real = table[table["origin"] == "location_table"]
    assert len(real) == 6 and "PPO_F01" in set(table["node"])
    assert (table["species"] == "amur_leopard").sum() == 120
    arcs = network.arcs
    assert (arcs["source"] != arcs["target"]).all()
    assert not arcs.duplicated(["source", "target"]).any()
    # every contact pair has both arcs, with the same contact weight
    back = arcs.set_index(["target", "source"])["weight"].rename_axis(["source", "target"])
    np.testing.assert_array_equal(
        arcs.set_index(["source", "target"])["weight"],
        back.loc[list(zip(arcs["source"], arcs["target"], strict=True))],
    )
    # the sensitivity analysis reads the field data once for its 16 rebuilt networks
    config = nf.load_network_config("config/network.yaml")
    locations = nf.config_locations(config, registry)
    assert set(locations["animal_id"]) >= {"PPO_F01"}
    again = nf.network_from_settings(config, 1, registry, locations)
    pd.testing.assert_frame_equal(again.nodes, network.nodes)
    pd.testing.assert_frame_equal(again.arcs, network.arcs)
    # the array summary equals networkx's on the same network
    got = cn.network_summary(network)
    expected = reference_summary(network.to_graph(), "amur_leopard", "domestic_dog")
    assert {(m, a, b): v for m, a, b, v in got.itertuples(index=False)} == pytest.approx(expected)


def test_network_tables_round_trip(located, tmp_path):
    network, _ = build(located)
    nf.write_network(network, tmp_path / "nodes.parquet", tmp_path / "arcs.parquet")
    again = nf.read_network(tmp_path / "nodes.parquet", tmp_path / "arcs.parquet", "test_area")
    assert again.nodes.equals(network.nodes)
    assert again.arcs.astype({"rules": str}).equals(network.arcs.astype({"rules": str}))
    stored = pd.read_parquet(tmp_path / "arcs.parquet")
    assert set(stored["source"].astype(str)) <= set(network.nodes["node"])
    graph = again.to_graph()
    assert graph.graph["study_area"] == "test_area"
    assert (
        cn.ContactNetwork.from_graph(graph)
        .arcs.astype({"rules": str})
        .equals(network.arcs.astype({"rules": str}))
    )
    nodes = pd.read_parquet(tmp_path / "nodes.parquet")
    nodes.loc[0, "node"] = "renamed"
    nodes.to_parquet(tmp_path / "nodes.parquet")
    with pytest.raises(cn.NetworkInputError, match=r"column (source|target): animal"):
        nf.read_network(tmp_path / "nodes.parquet", tmp_path / "arcs.parquet")


def test_cli_network_prints_summary_and_rejects_bad_table(located, tmp_path, capsys):
    import yaml

    from disease_risk.cli import main

    config_file = tmp_path / "network.yaml"
    config_file.write_text(yaml.safe_dump(small_config(str(located))))
    assert main(["network", str(config_file)]) == 0
    assert "share_with_path_to" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("animal_id,species,latitude,longitude,date\nL1,amur_leopard,43.1,131.2,1/2/25\n")
    config_file.write_text(yaml.safe_dump(small_config(str(bad))))
    assert main(["network", str(config_file)]) == 2
    assert "line 2, column date" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["same_site", "between_sites"])
def test_site_rules_match_brute_force_pairs(kind):
    """Site-by-site pairing equals checking every pair of animals (random villages)."""
    rng = np.random.default_rng(5)
    sites = {
        f"v{k}": {"name": f"v{k}", "x_km": x, "y_km": y}
        for k, (x, y) in enumerate(rng.uniform(0, 100, (30, 2)))
    }
    names = [*sites, "wild"]
    table = pd.DataFrame(
        {
            "node": [f"a{k}" for k in range(400)],
            "species": rng.choice(["domestic_dog", "red_fox"], 400),
            "site": rng.choice(names, 400),
            "x": 0.0,
            "y": 0.0,
            "home_range_km2": 1.0,
            "origin": "simulated",
        }
    )
    individuals = cn.Individuals(table.assign(radius_km=1.0))
    rule = {
        "name": "r",
        "kind": kind,
        "a": ["domestic_dog"],
        "b": ["domestic_dog", "red_fox"],
        "max_distance_km": 25.0,
        "rate_per_year": 1.5,
    }
    got = cn.rule_contacts(individuals, rule, sites)
    expected = set()
    for i, (sp_i, site_i) in enumerate(zip(table.species, table.site, strict=True)):
        for j, site_j in enumerate(table.site):
            if sp_i != "domestic_dog" or i == j:
                continue
            if kind == "same_site":
                linked = site_i == site_j
            else:
                linked = (
                    site_i != site_j
                    and site_i in sites
                    and site_j in sites
                    and math.dist(
                        (sites[site_i]["x_km"], sites[site_i]["y_km"]),
                        (sites[site_j]["x_km"], sites[site_j]["y_km"]),
                    )
                    <= 25.0
                )
            if linked:
                expected.add((i, j))
    pairs = list(zip(got["i"], got["j"], strict=True))
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == expected and len(pairs) > 100
    assert (got["rate"] == 1.5).all()


def test_graphml_reads_back_as_the_graph(located, tmp_path):
    """The streamed GraphML, read by networkx, is the network's graph (ids needing escapes too)."""
    network, _ = build(located)
    nodes = network.nodes.copy()
    nodes.loc[0, "node"] = 'L1 <"Anna" & co>'
    network = cn.ContactNetwork(nodes, network.arcs, "area & <core>")
    path = tmp_path / "network.graphml"
    nf.write_graphml(network, path, chunk=3)
    got = nx.read_graphml(path)
    expected = network.to_graph()
    assert got.graph["study_area"] == "area & <core>"
    assert dict(got.nodes(data=True)) == dict(expected.nodes(data=True))
    assert list(got.edges(data=True)) == list(expected.edges(data=True))
    assert got.number_of_edges() == len(network.arcs) > 10


def test_a_larger_population_keeps_every_other_animal_in_place():
    """Population sizes are varied one at a time (sensitivity): scaling one species adds or
    removes its last animals only; every other animal keeps its position."""
    config = small_config()
    config["populations"]["raccoon_dog"] = {"density_per_km2": 0.01, "home_range_km2": 5}
    config["dogs"]["village_spread_km"] = 0.5
    bigger = copy.deepcopy(config)
    bigger["populations"]["amur_leopard"]["count"] = 6
    bigger["sites"][0]["dogs"] = 5
    a = cn.simulate_individuals(config, np.random.default_rng(3)).table.set_index("node")
    b = cn.simulate_individuals(bigger, np.random.default_rng(3)).table.set_index("node")
    assert len(b) == len(a) + 3 + 2
    shared = a.index
    assert set(shared) <= set(b.index)
    pd.testing.assert_frame_equal(a.loc[shared, ["x", "y"]], b.loc[shared, ["x", "y"]])
