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
from pandas.api.types import union_categoricals
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
NODE_COLUMNS = ["node", "species", "site", "x", "y", "home_range_km2", "origin"]
MAX_CONTACT_RULES = 62  # arcs record their rules as bits of one int64
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
    if len(config.get("contact_rules", [])) > MAX_CONTACT_RULES:
        raise NetworkInputError(
            f"{path}: key contact_rules: {len(config['contact_rules'])} rules; at most "
            f"{MAX_CONTACT_RULES} are supported (merge rules that share species and kind)"
        )
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


def _as_individuals(rows: list[tuple] | pd.DataFrame) -> Individuals:
    """Rows (or a table) of ``NODE_COLUMNS``, checked for unique ids, with home-range radii."""
    table = pd.DataFrame(rows, columns=NODE_COLUMNS)
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
        i, j = _site_pairs(t["site"].to_numpy(), ia, ib, rule, sites)
        rate = np.full(len(i), float(rule["rate_per_year"]))
    pairs = pd.DataFrame({"i": i, "j": j, "rate": rate})
    if set(rule["a"]) == set(rule["b"]):
        lo, hi = np.minimum(pairs["i"], pairs["j"]), np.maximum(pairs["i"], pairs["j"])
        pairs = pairs.assign(i=lo, j=hi).groupby(["i", "j"], as_index=False)["rate"].max()
    return pairs


def _site_pairs(
    site: np.ndarray, ia: np.ndarray, ib: np.ndarray, rule: dict, sites: dict[str, dict]
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i in ``ia``, j in ``ib``) sharing a site (``same_site``) or at sites whose centres
    are at most ``max_distance_km`` apart (``between_sites``), built site by site."""
    by_site_a = pd.Series(ia).groupby(site[ia], sort=True).apply(np.asarray).to_dict()
    by_site_b = pd.Series(ib).groupby(site[ib], sort=True).apply(np.asarray).to_dict()
    if rule["kind"] == "same_site":
        site_pairs = [(s, s) for s in by_site_a if s in by_site_b]
    else:
        named_b = [s for s in by_site_b if s in sites]
        centres_b = np.array([(sites[s]["x_km"], sites[s]["y_km"]) for s in named_b], float)
        tree = cKDTree(centres_b.reshape(-1, 2))
        site_pairs = []
        for s in by_site_a:
            if s in sites and len(named_b):
                near = tree.query_ball_point(
                    (sites[s]["x_km"], sites[s]["y_km"]), rule["max_distance_km"]
                )
                site_pairs += [(s, named_b[k]) for k in sorted(near) if named_b[k] != s]
    i_parts, j_parts = [np.array([], int)], [np.array([], int)]
    for sa, sb in site_pairs:
        i, j = np.meshgrid(by_site_a[sa], by_site_b[sb], indexing="ij")
        keep = i.ravel() != j.ravel()
        i_parts.append(i.ravel()[keep])
        j_parts.append(j.ravel()[keep])
    return np.concatenate(i_parts), np.concatenate(j_parts)


ARC_COLUMNS = ["source", "target", "weight", "transmission_rate", "rules"]


@dataclass(frozen=True)
class ContactNetwork:
    """The directed contact network as two tables.

    ``nodes``: one row per animal (``NODE_COLUMNS``); its row number is the animal's index.
    ``arcs``: ``source`` and ``target`` (row numbers in ``nodes``), ``weight`` (contacts per
    year), ``transmission_rate`` (per year, infectious source to fully susceptible target) and
    ``rules`` (the contact rules behind the arc), sorted by source then target; every contact
    pair has both arcs. Arrays rather than a networkx graph, so that 10^5 animals and 10^7 arcs
    fit in a few GB; :meth:`to_graph` gives the networkx view.
    """

    nodes: pd.DataFrame
    arcs: pd.DataFrame
    study_area: str = ""

    def to_graph(self) -> nx.DiGraph:
        """networkx DiGraph keyed by animal id, with node and arc attributes."""
        names = self.nodes["node"].to_numpy()
        graph = nx.DiGraph(study_area=self.study_area)
        graph.add_nodes_from((r.pop("node"), r) for r in self.nodes.to_dict("records"))
        arcs = self.arcs.assign(
            source=names[self.arcs["source"].to_numpy()],
            target=names[self.arcs["target"].to_numpy()],
            rules=self.arcs["rules"].astype(str),
        )
        graph.add_edges_from((r.pop("source"), r.pop("target"), r) for r in arcs.to_dict("records"))
        return graph

    @classmethod
    def from_graph(cls, graph: nx.DiGraph) -> ContactNetwork:
        """Tables from a networkx DiGraph whose nodes carry at least ``species``."""
        nodes = pd.DataFrame([{"node": n, **d} for n, d in graph.nodes(data=True)]).reindex(
            columns=NODE_COLUMNS
        )
        index = {n: k for k, n in enumerate(nodes["node"])}
        arcs = pd.DataFrame(
            [
                (
                    index[u],
                    index[v],
                    d.get("weight", 1.0),
                    d.get("transmission_rate", 0.0),
                    d.get("rules", ""),
                )
                for u, v, d in graph.edges(data=True)
            ],
            columns=ARC_COLUMNS,
        )
        arcs = arcs.astype(
            {
                "source": np.int64,
                "target": np.int64,
                "weight": float,
                "transmission_rate": float,
                "rules": "category",
            }
        )
        return cls(nodes, _sorted_arcs(arcs), str(graph.graph.get("study_area", "")))

    def individuals(self) -> Individuals:
        return _as_individuals(self.nodes)


def _sorted_arcs(arcs: pd.DataFrame) -> pd.DataFrame:
    return arcs.sort_values(["source", "target"], kind="stable").reset_index(drop=True)


def contact_arcs(individuals: Individuals, rules: list[dict], sites: list[dict]) -> pd.DataFrame:
    """Arcs from the contact rules: contacts of every rule on a pair add up, in both directions
    (``weight``); ``transmission_rate`` adds ``rate x p_transmission`` of the rules that
    transmit that way; ``rules`` names the rules (``;``-joined)."""
    by_name = {s["name"]: s for s in sites}
    parts = []
    for k, rule in enumerate(rules):
        pairs = rule_contacts(individuals, rule, by_name)
        i, j, rate = (pairs[c].to_numpy() for c in ("i", "j", "rate"))
        p = float(rule["p_transmission"])
        for u, v, flows in (
            (i, j, rule["transmits"] in ("both", "a_to_b")),
            (j, i, rule["transmits"] in ("both", "b_to_a")),
        ):
            parts.append(
                pd.DataFrame(
                    {
                        "source": u.astype(np.int64),
                        "target": v.astype(np.int64),
                        "weight": rate,
                        "transmission_rate": rate * p if flows else np.zeros(len(rate)),
                        "rule": np.full(len(u), k, np.int64),
                    }
                )
            )
    if not parts or sum(len(part) for part in parts) == 0:
        return pd.DataFrame(
            {
                "source": np.array([], np.int64),
                "target": np.array([], np.int64),
                "weight": np.array([], float),
                "transmission_rate": np.array([], float),
                "rules": pd.Categorical([]),
            }
        )
    each = pd.concat(parts, ignore_index=True)
    del parts
    keys = ["source", "target"]
    arcs = each.groupby(keys, sort=True)[["weight", "transmission_rate"]].sum().reset_index()
    bits = (
        each[[*keys, "rule"]]
        .drop_duplicates()
        .assign(bit=lambda d: np.left_shift(np.int64(1), d["rule"]))
        .groupby(keys, sort=True)["bit"]
        .sum()
        .to_numpy()
    )
    masks, codes = np.unique(bits, return_inverse=True)
    names = [
        ";".join(sorted(rule["name"] for k, rule in enumerate(rules) if mask >> k & 1))
        for mask in masks
    ]
    arcs["rules"] = pd.Categorical.from_codes(codes, categories=names)
    return arcs


def build_contact_network(individuals: Individuals, config: dict) -> ContactNetwork:
    """Apply every contact rule: the directed contact network (both arcs per pair)."""
    arcs = contact_arcs(individuals, config.get("contact_rules", []), config["sites"])
    nodes = individuals.table[NODE_COLUMNS].reset_index(drop=True)
    return ContactNetwork(nodes, arcs, config["study_area"]["name"])


def add_individuals(network: ContactNetwork, extra: Individuals, config: dict) -> ContactNetwork:
    """Network with ``extra`` animals added, linked by the same contact rules (new pairs only;
    arcs between animals already there keep their rates)."""
    combined = _as_individuals(pd.concat([network.nodes, extra.table], ignore_index=True))
    added = set(extra.table["species"])
    rules = [r for r in config.get("contact_rules", []) if added & (set(r["a"]) | set(r["b"]))]
    full = contact_arcs(combined, rules, config["sites"])
    first_new = len(network.nodes)
    new = full[(full["source"] >= first_new) | (full["target"] >= first_new)]
    rules = union_categoricals([network.arcs["rules"], new["rules"]])
    arcs = pd.concat([network.arcs, new], ignore_index=True).assign(rules=rules)
    nodes = combined.table[NODE_COLUMNS].reset_index(drop=True)
    return ContactNetwork(nodes, _sorted_arcs(arcs), network.study_area)


def network_summary(
    network: ContactNetwork, target: str = "amur_leopard", source: str = "domestic_dog"
) -> pd.DataFrame:
    """Long table ``metric, species_a, species_b, value`` (species_b empty for per-species rows).

    nodes / edges (contact pairs touching the species) / mean_degree per species; edges between each
    pair of species; share of ``target`` animals with any contact path to a ``source`` animal and
    the share a ``source`` animal can infect through arcs that transmit. Graph traversal by
    scipy.sparse.csgraph on the arc arrays.
    """
    n = len(network.nodes)
    species = network.nodes["species"].astype(str).to_numpy()
    names = sorted(set(species))
    code = np.searchsorted(names, species)
    u = network.arcs["source"].to_numpy(np.int64)
    v = network.arcs["target"].to_numpy(np.int64)
    pair = np.unique(np.minimum(u, v) * n + np.maximum(u, v))
    a, b = pair // n, pair % n
    degree = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    rows = []
    for c, sp in enumerate(names):
        members = code == c
        touching = int(((code[a] == c) | (code[b] == c)).sum())
        mean_degree = float(degree[members].mean()) if members.any() else 0.0
        rows += [
            ("nodes", sp, "", int(members.sum())),
            ("edges", sp, "", touching),
            ("mean_degree", sp, "", round(mean_degree, 4)),
        ]
    lo, hi = np.minimum(code[a], code[b]), np.maximum(code[a], code[b])
    kinds, counts = np.unique(lo * len(names) + hi, return_counts=True)
    for kind, count in zip(kinds, counts, strict=True):
        rows.append(
            ("edges_between", names[kind // len(names)], names[kind % len(names)], int(count))
        )
    targets = np.flatnonzero(species == target)
    sources = np.flatnonzero(species == source)
    if len(targets):
        contact = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
        _, label = csgraph.connected_components(contact, directed=False)
        share = float(np.isin(label[targets], label[sources]).mean())
        flows = network.arcs["transmission_rate"].to_numpy() > 0
        # one extra node with an arc to every source: reachable from it = reachable from any source
        tx = sparse.coo_matrix(
            (
                np.ones(flows.sum() + len(sources)),
                (np.r_[u[flows], np.full(len(sources), n)], np.r_[v[flows], sources]),
            ),
            shape=(n + 1, n + 1),
        ).tocsr()
        reached = csgraph.breadth_first_order(tx, n, directed=True, return_predecessors=False)
        share_tx = float(np.isin(targets, reached).mean())
        rows.append(("share_with_path_to", target, source, round(share, 6)))
        rows.append(("share_reachable_by_transmission_from", target, source, round(share_tx, 6)))
    return pd.DataFrame(rows, columns=["metric", "species_a", "species_b", "value"])


def network_from_config(config_path: str | Path, seed: int) -> ContactNetwork:
    """Read the network config (and its location table, if any) and build the network."""
    config_path = Path(config_path)
    config = load_network_config(config_path)
    locations = None
    loc_file = config.get("locations_file")
    if loc_file:
        locations = read_locations(loc_file, set(config["populations"]) | {"domestic_dog"})
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    return build_contact_network(simulate_individuals(config, rng, locations), config)


def write_network(network: ContactNetwork, nodes_path: str | Path, arcs_path: str | Path) -> None:
    """The network as two Parquet tables; arcs name their animals (``source``, ``target`` are
    dictionary-encoded animal ids, so the file is readable and small)."""
    Path(nodes_path).parent.mkdir(parents=True, exist_ok=True)
    network.nodes.to_parquet(nodes_path, index=False)
    ids = network.nodes["node"].astype(str)
    network.arcs.assign(
        source=pd.Categorical.from_codes(network.arcs["source"], categories=ids),
        target=pd.Categorical.from_codes(network.arcs["target"], categories=ids),
    ).to_parquet(arcs_path, index=False)


def write_summary(summary: pd.DataFrame, path: str | Path) -> None:
    """The network summary as TSV."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(path, sep="\t", index=False, float_format="%.6g", lineterminator="\n")


def read_network(
    nodes_path: str | Path, arcs_path: str | Path, study_area: str = ""
) -> ContactNetwork:
    """Inverse of :func:`write_network`; an arc naming an animal missing from the nodes is an
    error."""
    nodes = pd.read_parquet(nodes_path)
    arcs = pd.read_parquet(arcs_path)
    ids = pd.Index(nodes["node"].astype(str))
    for column in ("source", "target"):
        named = arcs[column].astype(str).astype("category")
        codes = named.cat.codes.to_numpy()
        index = ids.get_indexer(named.cat.categories)[codes]
        if (index < 0).any():
            bad = named[index < 0].iloc[0]
            raise NetworkInputError(
                f"{arcs_path}: column {column}: animal '{bad}' is not in {nodes_path}; "
                "rebuild the network (rule contact_network)"
            )
        arcs[column] = index.astype(np.int64)
    arcs["rules"] = arcs["rules"].astype("category")
    return ContactNetwork(nodes, arcs[ARC_COLUMNS], study_area)


GRAPHML_NODE_ATTRIBUTES = {
    "species": "string",
    "site": "string",
    "x": "double",
    "y": "double",
    "home_range_km2": "double",
    "origin": "string",
}
GRAPHML_ARC_ATTRIBUTES = {"weight": "double", "transmission_rate": "double", "rules": "string"}
GRAPHML_HEADER = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
)


def write_graphml(network: ContactNetwork, path: str | Path, chunk: int = 500_000) -> None:
    """GraphML for network viewers (Gephi, Cytoscape) with the tables' node and arc attributes.

    Written from the tables ``chunk`` rows at a time: networkx's writer first builds the whole
    XML tree (~3 KB per arc, 24 GB for the 9 M arcs of 100x the example). networkx's GraphML
    reader reads the file back to the same graph as :meth:`ContactNetwork.to_graph`.
    """
    from xml.sax.saxutils import escape, quoteattr

    keys = [("node", name, kind) for name, kind in GRAPHML_NODE_ATTRIBUTES.items()]
    keys += [("edge", name, kind) for name, kind in GRAPHML_ARC_ATTRIBUTES.items()]
    key_id = {(scope, name): f"d{k}" for k, (scope, name, _) in enumerate(keys)}
    ids = np.array([quoteattr(str(n)) for n in network.nodes["node"]], dtype=object)

    def data_cells(table: pd.DataFrame, scope: str, attributes: dict[str, str]) -> pd.Series:
        cells = pd.Series("", index=table.index, dtype=object)
        for name, kind in attributes.items():
            column = table[name]
            if kind == "string":
                text = column.astype(str).astype("category")
                text = text.cat.rename_categories([escape(c) for c in text.cat.categories])
            else:
                text = column.astype(float)
            cells += f'<data key="{key_id[(scope, name)]}">' + text.astype(str) + "</data>"
        return cells

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(GRAPHML_HEADER)
        for scope, name, kind in keys:
            out.write(
                f'  <key id="{key_id[(scope, name)]}" for="{scope}" attr.name="{name}" '
                f'attr.type="{kind}" />\n'
            )
        out.write('  <key id="g0" for="graph" attr.name="study_area" attr.type="string" />\n')
        out.write('  <graph edgedefault="directed">\n')
        out.write(f'    <data key="g0">{escape(network.study_area)}</data>\n')
        for first in range(0, len(network.nodes), chunk):
            part = network.nodes.iloc[first : first + chunk]
            cells = data_cells(part, "node", GRAPHML_NODE_ATTRIBUTES)
            lines = "    <node id=" + ids[first : first + len(part)] + ">" + cells + "</node>\n"
            out.writelines(lines)
        for first in range(0, len(network.arcs), chunk):
            part = network.arcs.iloc[first : first + chunk]
            cells = data_cells(part, "edge", GRAPHML_ARC_ATTRIBUTES)
            lines = (
                "    <edge source="
                + ids[part["source"].to_numpy()]
                + " target="
                + ids[part["target"].to_numpy()]
                + ">"
                + cells
                + "</edge>\n"
            )
            out.writelines(lines)
        out.write("  </graph>\n</graphml>\n")
