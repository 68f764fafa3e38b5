"""Who infected whom: the kernel's infector records against networks with a single pathway
(attribution must be 100% to it) and against EoN's transmission records on SIR graphs.

Tolerance of the EoN comparison: a two-sample z-test on the pooled share (ratio estimator with
replicate-clustered standard errors) rejecting at alpha = 0.001 (|z| > 3.29).
"""

from __future__ import annotations

import math

import EoN
import networkx as nx
import numpy as np
import pandas as pd

from disease_risk.tables import INDEX_SOURCE, OUTSIDE_SOURCE, origin_column, source_column
from disease_risk.transmission import scenarios, seir, validation
from disease_risk.transmission.contact_network import ContactNetwork
from disease_risk.transmission.validation import compile_network

Z_CRIT = 3.29  # two-sided alpha 0.001
YEAR = seir.DAYS_PER_YEAR


def food_chain(released_leopards: int = 0) -> ContactNetwork:
    """Foxes infect each other and dogs; dogs infect each other and leopards; leopards infect
    nobody. Only foxes get spillover, so the one pathway to leopards is fox -> dog -> leopard.
    The last ``released_leopards`` leopards are a released group."""
    graph = nx.DiGraph()
    rng = np.random.default_rng(8)
    groups = {"red_fox": 120, "domestic_dog": 150, "amur_leopard": 20}
    names = {sp: [f"{sp}{i}" for i in range(n)] for sp, n in groups.items()}
    for sp, members in names.items():
        for i, node in enumerate(members):
            released = sp == "amur_leopard" and i >= len(members) - released_leopards
            graph.add_node(
                node, species=sp, site="s", x=0.0, y=0.0,
                origin="released" if released else "simulated",
            )  # fmt: skip

    def arcs(a, b, p, rate, both):
        for u in names[a]:
            for v in names[b]:
                if u != v and rng.random() < p:
                    graph.add_edge(u, v, weight=1.0, transmission_rate=rate)
                    if both:
                        graph.add_edge(v, u, weight=1.0, transmission_rate=rate)

    arcs("red_fox", "red_fox", 0.03, 2.0, True)
    arcs("red_fox", "domestic_dog", 0.02, 2.0, False)
    arcs("domestic_dog", "domestic_dog", 0.04, 3.0, True)
    arcs("domestic_dog", "amur_leopard", 0.03, 4.0, False)
    return ContactNetwork.from_graph(graph)


def chain_settings(**scenario):
    disease = {
        "latent_days": {"low": 5, "high": 10},
        "infectious_days": 14,
        "case_fatality": 0.5,
        "outside_infection": 0.0,
        "source": "test",
    }
    return {
        "horizon_days": 3 * YEAR,
        "replicates": 25,
        "period_shape": 2,
        "disease": {
            "red_fox": {**disease, "outside_infection": 0.4},
            "domestic_dog": disease,
            "amur_leopard": disease,
        },
        "demography": {
            "red_fox": {"annual_survival": 0.5, "source": "test"},
            "domestic_dog": {"annual_survival": 0.7, "source": "test"},
            "amur_leopard": {"annual_survival": 0.85, "source": "test"},
        },
        "scenarios": {"baseline": {}, "s": scenario},
    }


def chain_columns(reps: pd.DataFrame, target: str, kind: str) -> pd.DataFrame:
    """Infections of ``target`` by source (``kind`` "from") or by chain origin ("origin")."""
    prefix = f"infections_{target}_{kind}_"
    frame = reps[[c for c in reps.columns if c.startswith(prefix)]]
    return frame.rename(columns=lambda c: c[len(prefix) :])


def test_single_pathway_is_attributed_fully_to_it():
    """With births and deaths on: every leopard infection comes directly from a dog and from a
    chain started by spillover into foxes; dogs are infected by foxes or dogs, all from fox
    chains; foxes by spillover or foxes. Direct source and origin differ, as they should."""
    reps = scenarios.run_scenario(food_chain(), chain_settings(), "baseline", None, seed=2)
    assert reps["infected_amur_leopard"].sum() > 20 and reps["births_red_fox"].sum() > 0
    leopard = chain_columns(reps, "amur_leopard", "from")
    assert list(leopard.columns) == [
        "amur_leopard", "domestic_dog", "red_fox", OUTSIDE_SOURCE, INDEX_SOURCE
    ]  # fmt: skip
    assert (leopard["domestic_dog"] == reps["infected_amur_leopard"]).all()
    assert (leopard.drop(columns="domestic_dog") == 0).all().all()
    origin = chain_columns(reps, "amur_leopard", "origin")
    assert (origin["red_fox"] == reps["infected_amur_leopard"]).all()
    assert (origin.drop(columns="red_fox") == 0).all().all()
    dog = chain_columns(reps, "domestic_dog", "from")
    assert (dog["red_fox"] + dog["domestic_dog"] == reps["infected_domestic_dog"]).all()
    assert dog["red_fox"].sum() > 0 and dog["domestic_dog"].sum() > 0
    column = origin_column("domestic_dog", "red_fox")
    assert (reps[column] == reps["infected_domestic_dog"]).all()
    fox = chain_columns(reps, "red_fox", "from")
    assert (fox[OUTSIDE_SOURCE] + fox["red_fox"] == reps["infected_red_fox"]).all()


def test_released_group_and_index_cases_are_attributed():
    """Released leopards (their own rows) are infected only from dogs; index cases in dogs
    start chains of dog origin, listed as ``index_case`` for the dogs themselves."""
    net = food_chain(released_leopards=6)
    settings = chain_settings(index_cases={"domestic_dog": 3})
    reps = scenarios.run_scenario(net, settings, "s", None, seed=5)
    label = "amur_leopard_released"
    assert reps[f"infected_{label}"].sum() > 0
    released = chain_columns(reps, label, "from")
    assert (released["domestic_dog"] == reps[f"infected_{label}"]).all()
    assert (released.drop(columns="domestic_dog") == 0).all().all()
    # the released leopards are part of the species' own counts too
    assert (reps[f"infected_{label}"] <= reps["infected_amur_leopard"]).all()
    assert (reps[source_column("domestic_dog", INDEX_SOURCE)] == 3).all()
    dog_origin = chain_columns(reps, "domestic_dog", "origin")
    assert (dog_origin.sum(axis=1) == reps["infected_domestic_dog"]).all()
    assert dog_origin["domestic_dog"].sum() >= 3 * len(reps) and dog_origin["red_fox"].sum() > 0


def two_type_graph(n: int = 600, seed: int = 31) -> tuple[nx.Graph, dict]:
    """A configuration-model graph with ~30% type-A nodes; per-edge weights by the types
    (A-A 2, A-B 1, B-B 0.4), so who infects whom is not the contact share."""
    graph = validation.configuration_model(n, 6, seed=seed)
    rng = np.random.default_rng(seed)
    types = {v: "A" if rng.random() < 0.3 else "B" for v in graph}
    nx.set_node_attributes(graph, types, "species")
    weight = {"AA": 2.0, "AB": 1.0, "BA": 1.0, "BB": 0.4}
    for u, v in graph.edges():
        graph.edges[u, v]["w"] = weight[types[u] + types[v]]
    return graph, types


def pooled_share(hits: np.ndarray, totals: np.ndarray) -> tuple[float, float]:
    """Pooled share sum(hits)/sum(totals) over replicates and its standard error (ratio
    estimator, replicates as clusters)."""
    hits, totals = hits.astype(float), totals.astype(float)
    p = hits.sum() / totals.sum()
    return p, math.sqrt(((hits - p * totals) ** 2).sum()) / totals.sum()


def eon_type_transmissions(graph, types, tau, gamma, reps, seed) -> np.ndarray:
    """EoN fast_SIR transmission records: (replicate, target type, source type) counts,
    index cases left out."""
    rng = np.random.default_rng(seed)
    nodes = list(graph)
    code = {"A": 0, "B": 1}
    out = np.zeros((reps, 2, 2), np.int64)
    for r in range(reps):
        sim = EoN.fast_SIR(
            graph, tau, gamma, initial_infecteds=[nodes[rng.integers(len(nodes))]],
            transmission_weight="w", return_full_data=True, rng=rng,
        )  # fmt: skip
        for _, u, v in sim.transmissions():
            if u is not None:
                out[r, code[types[v]], code[types[u]]] += 1
    return out


def test_infector_species_match_eon_transmission_records():
    """Share of type-B infections caused by type-A nodes (and of A's caused by B) in our SIR
    replicates vs EoN's ``transmissions()``: equal within Monte Carlo error. The same test
    tells the attribution from the static contact share (B's incoming weight from A) and from
    a swapped reading of the records."""
    graph, types = two_type_graph()
    tau, gamma = 0.5, 1.0
    net = compile_network(graph, rate_attr="w", rate_scale=1.0)
    assert net.species_names == ("A", "B")
    rng = np.random.default_rng(1)
    starts, seeds = rng.integers(net.n, size=3000), rng.integers(2**31 - 1, size=3000)
    ours = validation.sir_sources(net, tau, gamma, starts, seeds)[:, :, :2]  # no index cases
    assert ours.sum() > 100_000 and (ours[:, :, :2].sum(axis=(1, 2)) > 0).mean() > 0.2
    eon = eon_type_transmissions(graph, types, tau, gamma, 500, seed=2)
    for target, source in ((1, 0), (0, 1)):
        p1, se1 = pooled_share(ours[:, target, source], ours[:, target].sum(axis=1))
        p2, se2 = pooled_share(eon[:, target, source], eon[:, target].sum(axis=1))
        assert abs(p1 - p2) < Z_CRIT * math.hypot(se1, se2), (target, source, p1, p2)
    p_b, se_b = pooled_share(ours[:, 1, 0], ours[:, 1].sum(axis=1))
    incoming = {"A": 0.0, "B": 0.0}
    for u, v, w in graph.edges(data="w"):
        for a, b in ((u, v), (v, u)):
            if types[b] == "B":
                incoming[types[a]] += w
    contact_share = incoming["A"] / sum(incoming.values())
    assert abs(p_b - contact_share) > 6 * se_b
    p_swapped, _ = pooled_share(ours[:, 0, 1], ours[:, 0].sum(axis=1))
    assert abs(p_b - p_swapped) > 6 * se_b


def test_sir_infector_records_agree_with_counts():
    """Per node, the infector is a neighbour with an earlier infection (or the index case),
    and the by-source table adds up to the nodes' records."""
    graph, _ = two_type_graph(300, seed=4)
    net = compile_network(graph, rate_attr="w", rate_scale=1.0)
    out = validation.sir_result(net, 0.8, 1.0, [0], seed=9)
    infected = np.flatnonzero(np.isfinite(out.t_exposed))
    assert infected.size > 30
    assert out.infector[0] == seir.INDEX_CASE
    for v in infected[infected != 0]:
        u = out.infector[v]
        assert net.indices[net.indptr[u] : net.indptr[u + 1]].tolist().count(v) == 1
        assert out.t_exposed[u] < out.t_exposed[v]
    assert (out.infector[np.isinf(out.t_exposed)] == seir.NOT_INFECTED).all()
    k = len(net.species_names)
    table = np.zeros((k, k + 2), np.int64)
    for v in infected:
        u = out.infector[v]
        table[net.species[v], net.species[u] if u >= 0 else k + 1] += 1
    np.testing.assert_array_equal(table, out.by_source)
    assert (out.by_origin[:, net.species[0]] == out.tallies[:, seir.INFECTED]).all()
