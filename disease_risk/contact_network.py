"""Multi-species contact network: who can meet whom, how often, and which way CDV can pass.

Individuals get home-range centres (simulated, or from a real location table); contact rules per
species pair turn home-range overlap, shared settlements and neighbouring settlements into arcs of
a directed graph. Every contact pair has both arcs with the same ``weight`` (contacts per year);
``transmission_rate`` on arc u->v is the rate (per year) at which an infectious u infects a fully
susceptible v, i.e. the sum over rules of ``rate x p_transmission`` for rules transmitting u->v.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import yaml
from scipy.spatial import cKDTree

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
LOCATION_COLUMNS = ("animal_id", "species", "latitude", "longitude", "date")


class NetworkInputError(ValueError):
    """Bad network configuration or location table (message names file, row, column, fix)."""


@dataclass(frozen=True)
class Individuals:
    """One row per animal: node id, species, site, home-range centre (km) and radius (km)."""

    table: pd.DataFrame


def load_network_config(path: str | Path) -> dict:
    """Read ``config/network.yaml`` and check it against the network schema."""
    import jsonschema

    path = Path(path)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    schema_path = Path(__file__).resolve().parents[1] / "workflow/schemas/network.schema.yaml"
    if schema_path.exists():
        schema = yaml.safe_load(schema_path.read_text(encoding="utf-8"))
        try:
            jsonschema.validate(config, schema)
        except jsonschema.ValidationError as err:
            where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
            raise NetworkInputError(f"{path}: key {where}: {err.message}") from None
    _check_rules(config, path)
    return config


def _check_rules(config: dict, path: Path) -> None:
    known = set(config["populations"]) | {"domestic_dog"}
    for i, rule in enumerate(config.get("contact_rules", [])):
        for side in ("a", "b"):
            for species in rule[side]:
                if species not in known:
                    raise NetworkInputError(
                        f"{path}: contact_rules[{i}] ({rule['name']}) key {side}: species "
                        f"'{species}' has no population; add it under populations or fix the key"
                    )
        if rule["kind"] == "between_sites" and "max_distance_km" not in rule:
            raise NetworkInputError(
                f"{path}: contact_rules[{i}] ({rule['name']}): between_sites needs max_distance_km"
            )


def project(latitude, longitude, study_area: dict) -> tuple[np.ndarray, np.ndarray]:
    """Latitude/longitude to km east/north of the study area's south-west corner."""
    lat0 = study_area["origin_latitude"]
    lon0 = study_area["origin_longitude"]
    x = (
        (np.asarray(longitude, float) - lon0)
        * KM_PER_DEG_LON_EQUATOR
        * math.cos(math.radians(lat0))
    )
    y = (np.asarray(latitude, float) - lat0) * KM_PER_DEG_LAT
    return x, y


def read_locations(path: str | Path, known_species: Iterable[str]) -> pd.DataFrame:
    """Read and check a location table (camera-trap detections or collar fixes).

    Every row is used; a bad value stops the run with the file, line, column and fix.
    """
    path = Path(path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in LOCATION_COLUMNS if c not in table.columns]
    if missing:
        raise NetworkInputError(
            f"{path}: missing column(s) {missing}; the table needs {list(LOCATION_COLUMNS)}"
        )
    known = set(known_species)
    out = table.copy()
    for i, row in table.iterrows():
        line = i + 2
        if not row["animal_id"].strip():
            raise NetworkInputError(f"{path}: line {line}, column animal_id: empty; give an id")
        if row["species"] not in known:
            raise NetworkInputError(
                f"{path}: line {line}, column species: '{row['species']}' is not in the network "
                f"populations {sorted(known)}; use a canonical species key"
            )
        for column, limit in (("latitude", 90), ("longitude", 180)):
            try:
                value = float(row[column])
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or abs(value) > limit:
                raise NetworkInputError(
                    f"{path}: line {line}, column {column}: '{row[column]}' is not a decimal "
                    f"degree in [-{limit}, {limit}]; write e.g. 43.1"
                )
        if pd.isna(pd.to_datetime(row["date"], format="%Y-%m-%d", errors="coerce")):
            raise NetworkInputError(
                f"{path}: line {line}, column date: '{row['date']}' is not YYYY-MM-DD"
            )
    species_per_animal = out.groupby("animal_id")["species"].nunique()
    clash = species_per_animal[species_per_animal > 1]
    if len(clash):
        raise NetworkInputError(
            f"{path}: animal_id '{clash.index[0]}' appears with more than one species; "
            "one id must name one animal"
        )
    out["latitude"] = out["latitude"].astype(float)
    out["longitude"] = out["longitude"].astype(float)
    return out


def _radius(home_range_km2: float) -> float:
    return math.sqrt(home_range_km2 / math.pi)


def population_sizes(config: dict) -> dict[str, int]:
    """Wildlife counts (count, or density x study area) and dogs summed over settlements."""
    area = config["study_area"]["width_km"] * config["study_area"]["height_km"]
    sizes = {}
    for species, spec in config["populations"].items():
        sizes[species] = (
            int(spec["count"]) if "count" in spec else round(spec["density_per_km2"] * area)
        )
    sizes["domestic_dog"] = sum(int(s.get("dogs", 0)) for s in config["sites"])
    return sizes


def simulate_individuals(
    config: dict, rng: np.random.Generator, locations: pd.DataFrame | None = None
) -> Individuals:
    """Home-range centres for every animal; real locations replace simulated ones per species."""
    area = config["study_area"]
    width, height = area["width_km"], area["height_km"]
    sites = {s["name"]: s for s in config["sites"]}
    real = _real_animals(locations, config) if locations is not None else pd.DataFrame()
    rows = []
    for species, spec in sorted(config["populations"].items()):
        n_total = population_sizes(config)[species]
        mine = real[real["species"] == species] if len(real) else real
        for rec in mine.itertuples():
            rows.append(
                (
                    rec.animal_id,
                    species,
                    area["name"],
                    rec.x,
                    rec.y,
                    spec["home_range_km2"],
                    "location_table",
                )
            )
        n_sim = max(n_total - len(mine), 0)
        xs = rng.uniform(0, width, n_sim)
        ys = rng.uniform(0, height, n_sim)
        for k in range(n_sim):
            rows.append(
                (
                    f"{species}_{k:04d}",
                    species,
                    area["name"],
                    xs[k],
                    ys[k],
                    spec["home_range_km2"],
                    "simulated",
                )
            )
    dogs = config["dogs"]
    real_dogs = real[real["species"] == "domestic_dog"] if len(real) else real
    for rec in real_dogs.itertuples():
        nearest = min(
            sites.values(), key=lambda s: (s["x_km"] - rec.x) ** 2 + (s["y_km"] - rec.y) ** 2
        )
        rows.append(
            (
                rec.animal_id,
                "domestic_dog",
                nearest["name"],
                rec.x,
                rec.y,
                dogs["home_range_km2"],
                "location_table",
            )
        )
    real_per_site = {}
    for rec in rows:
        if rec[1] == "domestic_dog":
            real_per_site[rec[2]] = real_per_site.get(rec[2], 0) + 1
    for site in config["sites"]:
        n_sim = max(int(site.get("dogs", 0)) - real_per_site.get(site["name"], 0), 0)
        xs = site["x_km"] + rng.normal(0, dogs["village_spread_km"], n_sim)
        ys = site["y_km"] + rng.normal(0, dogs["village_spread_km"], n_sim)
        for k in range(n_sim):
            rows.append(
                (
                    f"domestic_dog_{site['name']}_{k:03d}",
                    "domestic_dog",
                    site["name"],
                    xs[k],
                    ys[k],
                    dogs["home_range_km2"],
                    "simulated",
                )
            )
    return _as_individuals(rows)


def released_individuals(
    config: dict,
    species: str,
    n: int,
    site: str,
    rng: np.random.Generator,
    prefix: str = "released",
) -> Individuals:
    """A group of zoo-born animals released around a named site."""
    sites = {s["name"]: s for s in config["sites"]}
    if site not in sites:
        raise NetworkInputError(
            f"release site '{site}' is not under sites: in the network config; "
            f"choose one of {sorted(sites)}"
        )
    spread = config["release"]["spread_km"]
    xs = sites[site]["x_km"] + rng.normal(0, spread, n)
    ys = sites[site]["y_km"] + rng.normal(0, spread, n)
    hr = config["release"]["home_range_km2"]
    rows = [
        (f"{prefix}_{species}_{k:03d}", species, site, xs[k], ys[k], hr, "released")
        for k in range(n)
    ]
    return _as_individuals(rows)


def _as_individuals(rows: list[tuple]) -> Individuals:
    table = pd.DataFrame(
        rows, columns=["node", "species", "site", "x", "y", "home_range_km2", "origin"]
    )
    if table["node"].duplicated().any():
        dup = table.loc[table["node"].duplicated(), "node"].iloc[0]
        raise NetworkInputError(f"animal id '{dup}' is used twice; ids must be unique")
    table["radius_km"] = np.sqrt(table["home_range_km2"] / math.pi)
    return Individuals(table.reset_index(drop=True))


def _real_animals(locations: pd.DataFrame, config: dict) -> pd.DataFrame:
    x, y = project(locations["latitude"], locations["longitude"], config["study_area"])
    fixes = locations.assign(x=x, y=y)
    return (
        fixes.groupby("animal_id", sort=True)
        .agg(species=("species", "first"), x=("x", "mean"), y=("y", "mean"))
        .reset_index()
    )


def overlap_fraction(d: np.ndarray, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Area of intersection of two discs divided by the smaller disc's area (0..1)."""
    d = np.asarray(d, float)
    r1 = np.broadcast_to(np.asarray(r1, float), d.shape)
    r2 = np.broadcast_to(np.asarray(r2, float), d.shape)
    small, big = np.minimum(r1, r2), np.maximum(r1, r2)
    out = np.zeros_like(d)
    inside = d <= big - small
    out[inside] = 1.0
    part = (~inside) & (d < r1 + r2)
    if part.any():
        dd, a, b = d[part], r1[part], r2[part]
        c1 = np.clip((dd**2 + a**2 - b**2) / (2 * dd * a), -1, 1)
        c2 = np.clip((dd**2 + b**2 - a**2) / (2 * dd * b), -1, 1)
        lens = (
            a**2 * np.arccos(c1)
            + b**2 * np.arccos(c2)
            - 0.5
            * np.sqrt(np.clip((-dd + a + b) * (dd + a - b) * (dd - a + b) * (dd + a + b), 0, None))
        )
        out[part] = lens / (math.pi * small[part] ** 2)
    return out


def rule_contacts(individuals: Individuals, rule: dict, sites: dict[str, dict]) -> pd.DataFrame:
    """Contact pairs (i, j row indices, i of species in ``a``, j in ``b``) and their yearly rate."""
    t = individuals.table
    ia = np.flatnonzero(t["species"].isin(rule["a"]).to_numpy())
    ib = np.flatnonzero(t["species"].isin(rule["b"]).to_numpy())
    empty = pd.DataFrame(
        {"i": np.array([], int), "j": np.array([], int), "rate": np.array([], float)}
    )
    if len(ia) == 0 or len(ib) == 0:
        return empty
    xy = t[["x", "y"]].to_numpy()
    if rule["kind"] == "overlap":
        reach = t["radius_km"].to_numpy()
        tree = cKDTree(xy[ib])
        hits = tree.query_ball_point(xy[ia], r=reach[ia] + reach[ib].max())
        i = np.repeat(ia, [len(h) for h in hits])
        j = ib[np.concatenate([np.asarray(h, int) for h in hits])] if len(i) else np.array([], int)
        d = np.hypot(*(xy[i] - xy[j]).T) if len(i) else np.array([])
        frac = overlap_fraction(d, reach[i], reach[j])
        keep = (frac > 0) & (i != j)
        i, j, frac = i[keep], j[keep], frac[keep]
        rate = rule["rate_per_year"] * frac
        owner = rule.get("per_individual_of")
        if owner:
            key = i if owner == "a" else j
            totals = np.bincount(key, weights=frac, minlength=len(t))
            rate = rule["rate_per_year"] * frac / totals[key]
    else:
        site = t["site"].to_numpy()
        i, j = np.meshgrid(ia, ib, indexing="ij")
        i, j = i.ravel(), j.ravel()
        if rule["kind"] == "same_site":
            keep = (site[i] == site[j]) & (i != j)
        else:
            centre = {n: (s["x_km"], s["y_km"]) for n, s in sites.items()}
            ci = np.array([centre.get(s, (np.nan, np.nan)) for s in site[i]]).reshape(-1, 2)
            cj = np.array([centre.get(s, (np.nan, np.nan)) for s in site[j]]).reshape(-1, 2)
            dist = np.hypot(*(ci - cj).T) if len(i) else np.array([])
            keep = (site[i] != site[j]) & (dist <= rule["max_distance_km"])
        i, j = i[keep], j[keep]
        rate = np.full(len(i), float(rule["rate_per_year"]))
    pairs = pd.DataFrame({"i": i, "j": j, "rate": rate})
    if set(rule["a"]) == set(rule["b"]):
        lo, hi = np.minimum(pairs["i"], pairs["j"]), np.maximum(pairs["i"], pairs["j"])
        pairs = pairs.assign(i=lo, j=hi).groupby(["i", "j"], as_index=False)["rate"].max()
    return pairs


def build_contact_network(individuals: Individuals, config: dict) -> nx.DiGraph:
    """Apply every contact rule and return the directed contact graph (both arcs per pair)."""
    t = individuals.table
    sites = {s["name"]: s for s in config["sites"]}
    graph = nx.DiGraph(study_area=config["study_area"]["name"])
    for rec in t.itertuples():
        graph.add_node(
            rec.node,
            species=rec.species,
            site=rec.site,
            x=float(rec.x),
            y=float(rec.y),
            origin=rec.origin,
        )
    arcs: dict[tuple[int, int], list[float]] = {}
    for rule in config.get("contact_rules", []):
        pairs = rule_contacts(individuals, rule, sites)
        p = float(rule["p_transmission"])
        direction = rule["transmits"]
        for i, j, rate in zip(
            pairs["i"].to_numpy(), pairs["j"].to_numpy(), pairs["rate"].to_numpy(), strict=True
        ):
            for u, v, flows in (
                (i, j, direction in ("both", "a_to_b")),
                (j, i, direction in ("both", "b_to_a")),
            ):
                entry = arcs.setdefault((u, v), [0.0, 0.0, []])
                entry[0] += rate
                entry[1] += rate * p if flows else 0.0
                entry[2].append(rule["name"])
    nodes = t["node"].to_numpy()
    for (u, v), (weight, tx, rules) in sorted(arcs.items()):
        graph.add_edge(
            nodes[u],
            nodes[v],
            weight=float(weight),
            transmission_rate=float(tx),
            rules=";".join(sorted(set(rules))),
        )
    return graph


def add_individuals(
    graph: nx.DiGraph, extra: Individuals, existing: Individuals, config: dict
) -> nx.DiGraph:
    """Network with ``extra`` animals added, linked by the same contact rules (new pairs only)."""
    combined = Individuals(pd.concat([existing.table, extra.table], ignore_index=True))
    added = set(extra.table["species"])
    rules = [r for r in config.get("contact_rules", []) if added & (set(r["a"]) | set(r["b"]))]
    full = build_contact_network(combined, {**config, "contact_rules": rules})
    new_nodes = set(extra.table["node"])
    out = graph.copy()
    for node in extra.table["node"]:
        out.add_node(node, **full.nodes[node])
    for u, v, data in full.edges(data=True):
        if u in new_nodes or v in new_nodes:
            out.add_edge(u, v, **data)
    return out


def individuals_from_graph(graph: nx.DiGraph, config: dict) -> Individuals:
    """Recover the individuals table (positions, radii) from a stored network."""
    radius_hr = {sp: spec["home_range_km2"] for sp, spec in config["populations"].items()}
    radius_hr["domestic_dog"] = config["dogs"]["home_range_km2"]
    rows = [
        (
            n,
            d["species"],
            d["site"],
            d["x"],
            d["y"],
            config["release"]["home_range_km2"]
            if d.get("origin") == "released"
            else radius_hr[d["species"]],
            d.get("origin", "simulated"),
        )
        for n, d in graph.nodes(data=True)
    ]
    return _as_individuals(rows)


def network_summary(
    graph: nx.DiGraph, target: str = "amur_leopard", source: str = "domestic_dog"
) -> pd.DataFrame:
    """Long table ``metric, species_a, species_b, value`` (species_b empty for per-species rows).

    nodes / edges (contact pairs touching the species) / mean_degree per species; edges between each
    pair of species; share of ``target`` animals with any contact path to a ``source`` animal and
    the share a ``source`` animal can infect through arcs that transmit.
    """
    und = graph.to_undirected(as_view=False)
    species = nx.get_node_attributes(graph, "species")
    names = sorted(set(species.values()))
    rows = []
    for sp in names:
        members = [n for n in und if species[n] == sp]
        touching = {tuple(sorted(e)) for n in members for e in und.edges(n)}
        degree = np.mean([und.degree(n) for n in members]) if members else 0.0
        rows += [
            ("nodes", sp, "", len(members)),
            ("edges", sp, "", len(touching)),
            ("mean_degree", sp, "", round(float(degree), 4)),
        ]
    pair_counts: dict[tuple[str, str], int] = {}
    for u, v in und.edges():
        a, b = sorted((species[u], species[v]))
        pair_counts[(a, b)] = pair_counts.get((a, b), 0) + 1
    for (a, b), count in sorted(pair_counts.items()):
        rows.append(("edges_between", a, b, count))
    targets = [n for n in und if species[n] == target]
    sources = {n for n in und if species[n] == source}
    if targets:
        reach = set()
        for comp in nx.connected_components(und):
            if comp & sources:
                reach |= comp
        share = sum(n in reach for n in targets) / len(targets)
        tx = nx.DiGraph((u, v) for u, v, r in graph.edges(data="transmission_rate") if r > 0)
        tx.add_nodes_from(graph)
        reachable = set()
        for s in sources:
            if s not in reachable:
                reachable |= nx.descendants(tx, s) | {s}
        share_tx = sum(n in reachable for n in targets) / len(targets)
        rows.append(("share_with_path_to", target, source, round(share, 6)))
        rows.append(("share_reachable_by_transmission_from", target, source, round(share_tx, 6)))
    return pd.DataFrame(rows, columns=["metric", "species_a", "species_b", "value"])


def network_from_config(config_path: str | Path, seed: int) -> tuple[nx.DiGraph, Individuals]:
    """Read the network config (and its location table, if any) and build the network."""
    config_path = Path(config_path)
    config = load_network_config(config_path)
    locations = None
    loc_file = config.get("locations_file")
    if loc_file:
        locations = read_locations(loc_file, set(config["populations"]) | {"domestic_dog"})
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    individuals = simulate_individuals(config, rng, locations)
    return build_contact_network(individuals, config), individuals


def write_network(
    graph: nx.DiGraph,
    graphml: str | Path,
    summary: pd.DataFrame,
    summary_path: str | Path,
    nodes_path: str | Path | None = None,
    arcs_path: str | Path | None = None,
) -> None:
    """GraphML (node attributes species, site, x, y; arc weight and transmission_rate), summary,
    and optionally the same network as two parquet tables (fast to read for the simulations)."""
    Path(graphml).parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(graph, graphml)
    summary.to_csv(summary_path, sep="\t", index=False, float_format="%.6g", lineterminator="\n")
    if nodes_path is not None and arcs_path is not None:
        nodes, arcs = network_tables(graph)
        nodes.to_parquet(nodes_path, index=False)
        arcs.to_parquet(arcs_path, index=False)


def network_tables(graph: nx.DiGraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node table (node, species, site, x, y, origin) and arc table (source, target, attributes)."""
    nodes = pd.DataFrame(
        [{"node": n, **d} for n, d in graph.nodes(data=True)],
        columns=["node", "species", "site", "x", "y", "origin"],
    )
    arcs = nx.to_pandas_edgelist(graph, source="source", target="target")
    return nodes, arcs[["source", "target", "weight", "transmission_rate", "rules"]]


def graph_from_tables(nodes: pd.DataFrame, arcs: pd.DataFrame) -> nx.DiGraph:
    """Inverse of :func:`network_tables`."""
    graph = nx.DiGraph()
    graph.add_nodes_from((r.pop("node"), r) for r in nodes.to_dict("records"))
    graph.add_edges_from((r.pop("source"), r.pop("target"), r) for r in arcs.to_dict("records"))
    return graph


def read_network(nodes_path: str | Path, arcs_path: str | Path) -> nx.DiGraph:
    return graph_from_tables(pd.read_parquet(nodes_path), pd.read_parquet(arcs_path))
