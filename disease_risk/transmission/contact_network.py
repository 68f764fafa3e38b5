"""Multi-species contact network: who can meet whom, how often, and which way CDV can pass.

Individuals get home-range centres (simulated, or from a real location table); contact rules per
species pair turn home-range overlap, shared settlements and neighbouring settlements into arcs of
a directed graph. Every contact pair has both arcs with the same ``weight`` (contacts per year);
``transmission_rate`` on arc u->v is the rate (per year) at which an infectious u infects a fully
susceptible v, i.e. the sum over rules of ``rate x p_transmission`` for rules transmitting u->v.
Pure computation: files are read and written by :mod:`disease_risk.transmission.network_files`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from disease_risk.tables import ARC_COLUMNS, NETWORK_SUMMARY_COLUMNS, NODE_COLUMNS

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
DOG = "domestic_dog"  # dogs live at sites (villages), not spread over the study area
MAX_CONTACT_RULES = 62  # arcs record their rules as bits of one int64


class NetworkInputError(ValueError):
    """Bad network configuration or location table (message names file, row, column, fix)."""


@dataclass(frozen=True)
class Individuals:
    """One row per animal: node id, species, site, home-range centre (km) and radius (km)."""

    table: pd.DataFrame


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


def population_sizes(config: dict) -> dict[str, int]:
    """Wildlife counts (count, or density x study area) and dogs summed over settlements."""
    area = config["study_area"]["width_km"] * config["study_area"]["height_km"]
    sizes = {}
    for species, spec in config["populations"].items():
        sizes[species] = (
            int(spec["count"]) if "count" in spec else round(spec["density_per_km2"] * area)
        )
    sizes[DOG] = sum(int(s.get("dogs", 0)) for s in config["sites"])
    return sizes


def simulate_individuals(
    config: dict, rng: np.random.Generator, locations: pd.DataFrame | None = None
) -> Individuals:
    """Home-range centres for every animal; real locations replace simulated ones per species.

    Wildlife is spread uniformly over the study area, dogs normally around their village; an
    animal in the location table takes the place of one simulated animal of its species (and, for
    dogs, of its nearest village). Each species (dogs: each site) draws from its own child of
    ``rng``, animal by animal, so a larger population keeps every animal of a smaller one where
    it was and leaves the other species alone (population sizes can be varied one at a time).
    """
    real = _real_animals(locations, config) if locations is not None else pd.DataFrame()
    sizes = population_sizes(config)
    species = sorted(config["populations"])
    streams = rng.spawn(len(species) + len(config["sites"]))
    rows = []
    for s, stream in zip(species, streams, strict=False):
        mine = real[real["species"] == s] if len(real) else real
        home_range = config["populations"][s]["home_range_km2"]
        rows += _wildlife_rows(config, s, home_range, sizes[s], mine, stream)
    rows += _located_dog_rows(config, real[real["species"] == DOG] if len(real) else real)
    located = Counter(r[2] for r in rows if r[1] == DOG)
    rows += _simulated_dog_rows(config, located, streams[len(species):])
    return _as_individuals(rows)


def _wildlife_rows(
    config: dict,
    species: str,
    home_range: float,
    n_total: int,
    located: pd.DataFrame,
    rng: np.random.Generator,
) -> list[tuple]:
    """The located animals of one wild species, then simulated ones up to its population size."""
    area = config["study_area"]
    rows = [
        (rec.animal_id, species, area["name"], rec.x, rec.y, own_range(rec, home_range),
         "location_table")
        for rec in located.itertuples()
    ]
    n_sim = max(n_total - len(located), 0)
    xy = rng.uniform(0, 1, (n_sim, 2)) * [area["width_km"], area["height_km"]]
    rows += [
        (f"{species}_{k:04d}", species, area["name"], x, y, home_range, "simulated")
        for k, (x, y) in enumerate(xy.tolist())
    ]
    return rows


def _located_dog_rows(config: dict, located: pd.DataFrame) -> list[tuple]:
    """Dogs from the location table, each assigned to its nearest site."""
    home_range = config["dogs"]["home_range_km2"]
    rows = []
    for rec in located.itertuples():
        nearest = min(
            config["sites"], key=lambda s: (s["x_km"] - rec.x) ** 2 + (s["y_km"] - rec.y) ** 2
        )
        rows.append((rec.animal_id, DOG, nearest["name"], rec.x, rec.y,
                     own_range(rec, home_range), "location_table"))
    return rows


def _simulated_dog_rows(
    config: dict, located_per_site: Counter, site_rngs: list[np.random.Generator]
) -> list[tuple]:
    """Each site's dogs not in the location table, spread normally around the site centre
    (one generator per site, animal by animal)."""
    dogs = config["dogs"]
    rows = []
    for site, rng in zip(config["sites"], site_rngs, strict=True):
        n_sim = max(int(site.get("dogs", 0)) - located_per_site.get(site["name"], 0), 0)
        offsets = rng.normal(0, dogs["village_spread_km"], (n_sim, 2))
        xs = site["x_km"] + offsets[:, 0]
        ys = site["y_km"] + offsets[:, 1]
        rows += [
            (
                f"{DOG}_{site['name']}_{k:03d}",
                DOG,
                site["name"],
                xs[k],
                ys[k],
                dogs["home_range_km2"],
                "simulated",
            )
            for k in range(n_sim)
        ]
    return rows


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
    table = pd.DataFrame(rows, columns=list(NODE_COLUMNS))
    if table["node"].duplicated().any():
        dup = table.loc[table["node"].duplicated(), "node"].iloc[0]
        raise NetworkInputError(f"animal id '{dup}' is used twice; ids must be unique")
    table["radius_km"] = np.sqrt(table["home_range_km2"] / math.pi)
    return Individuals(table.reset_index(drop=True))


def _real_animals(locations: pd.DataFrame, config: dict) -> pd.DataFrame:
    """One row per located animal: its species, the mean of its fixes (km) and its own
    home-range area where the location source measured one (else NaN), by id."""
    x, y = project(locations["latitude"], locations["longitude"], config["study_area"])
    fixes = locations.assign(x=x, y=y)
    if "home_range_km2" not in fixes:
        fixes = fixes.assign(home_range_km2=np.nan)
    return (
        fixes.groupby("animal_id", sort=True)
        .agg(species=("species", "first"), x=("x", "mean"), y=("y", "mean"),
             home_range_km2=("home_range_km2", "first"))
        .reset_index()
    )


def own_range(animal: Any, default: float) -> float:
    """A located animal's own home-range area when it has one, else its species' default."""
    area = getattr(animal, "home_range_km2", math.nan)
    return float(area) if area == area and area > 0 else float(default)


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
            columns=list(NODE_COLUMNS)
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
            columns=list(ARC_COLUMNS),
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


def _sorted_arcs(arcs: pd.DataFrame) -> pd.DataFrame:
    """Arcs in the tables' order: by source, then target."""
    return arcs.sort_values(["source", "target"], kind="stable").reset_index(drop=True)


def transmission_probability(rule: dict) -> float:
    """The rule's ``p_transmission``: the number, or the middle of its ``{low, high}`` range
    (the range is the calibration prior; the middle only sets the network table's nominal
    ``transmission_rate``)."""
    p = rule["p_transmission"]
    return float((p["low"] + p["high"]) / 2 if isinstance(p, dict) else p)


def _rule_arcs(individuals: Individuals, rules: list[dict], sites: list[dict]):
    """Per rule and direction: (rule index, sources, targets, contact rate, transmits?)."""
    by_name = {s["name"]: s for s in sites}
    for k, rule in enumerate(rules):
        pairs = rule_contacts(individuals, rule, by_name)
        i, j = pairs["i"].to_numpy(np.int64), pairs["j"].to_numpy(np.int64)
        rate = pairs["rate"].to_numpy(float)
        yield k, i, j, rate, rule["transmits"] in ("both", "a_to_b")
        yield k, j, i, rate, rule["transmits"] in ("both", "b_to_a")


def contact_arcs(individuals: Individuals, rules: list[dict], sites: list[dict]) -> pd.DataFrame:
    """Arcs from the contact rules: contacts of every rule on a pair add up, in both directions
    (``weight``); ``transmission_rate`` adds ``rate x p_transmission`` of the rules that
    transmit that way; ``rules`` names the rules (``;``-joined)."""
    parts = [
        pd.DataFrame(
            {
                "source": u,
                "target": v,
                "weight": rate,
                "transmission_rate": rate * transmission_probability(rules[k]) * flows,
                "rule": np.full(len(u), k, np.int64),
            }
        )
        for k, u, v, rate, flows in _rule_arcs(individuals, rules, sites)
    ]
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
    nodes = individuals.table[list(NODE_COLUMNS)].reset_index(drop=True)
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
    nodes = combined.table[list(NODE_COLUMNS)].reset_index(drop=True)
    return ContactNetwork(nodes, _sorted_arcs(arcs), network.study_area)


def rule_contact_rates(network: ContactNetwork, config: dict) -> sparse.csr_matrix:
    """Arcs x contact rules: the yearly contact rate each rule puts on each arc in a direction
    it transmits (0 elsewhere). ``rates @ p`` with one ``p_transmission`` per rule gives every
    arc's transmission rate, so the calibration can vary each rule's probability on a fixed
    network; with the nominal probabilities it reproduces ``arcs.transmission_rate``."""
    rules = config.get("contact_rules", [])
    n = len(network.nodes)
    arcs = network.arcs
    keys = arcs["source"].to_numpy(np.int64) * n + arcs["target"].to_numpy(np.int64)
    order = np.argsort(keys, kind="stable")
    rows, cols, vals = [], [], []
    individuals = _as_individuals(network.nodes)
    for k, u, v, rate, flows in _rule_arcs(individuals, rules, config["sites"]):
        if not flows or len(u) == 0:
            continue
        at = np.searchsorted(keys, u * n + v, sorter=order)
        found = order[np.minimum(at, len(keys) - 1)]
        if len(keys) == 0 or (keys[found] != u * n + v).any():
            raise NetworkInputError(
                f"contact rule '{rules[k]['name']}' gives contacts the network has no arc for; "
                "rebuild the network with the same network config"
            )
        rows.append(found)
        cols.append(np.full(len(u), k))
        vals.append(rate)
    if not rows:
        return sparse.csr_matrix((len(arcs), len(rules)))
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(arcs), len(rules)),
    )


def network_summary(
    network: ContactNetwork, target: str = "amur_leopard", source: str = DOG
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
    return pd.DataFrame(rows, columns=list(NETWORK_SUMMARY_COLUMNS))
