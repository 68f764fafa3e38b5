"""Reference computations for tests and benchmarks, not used by the pipeline.

The Markov SIR special case of the SEIR kernel (EoN ``fast_SIR`` semantics), batches of its final
sizes and of who-infected-whom counts looped in compiled code, the generating-function theory of
outbreak probability and attack rate on configuration-model graphs (and such a graph), and the
endemic equilibrium of the SIR with births. ``tests/unit/test_transmission.py``,
``tests/unit/test_demography.py`` and ``bench/transmission.py`` compare the kernel with EoN and
with theory through these.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numba import njit

from disease_risk.transmission.seir import (
    DAYS_PER_YEAR,
    CompiledNetwork,
    KernelResult,
    compiled_from_arcs,
    seir_kernel,
    simulate,
)


# Not cached on disk: numba links the kernel's code into this function's cache entry and checks
# only this file for changes, so a cached copy would keep running an old kernel after seir.py
# changes (seen while building issue 13). Compiling costs ~4 s once per process.
@njit(cache=False)
def _sir_runs(indptr, indices, rates, species, inf_mean, starts, seeds, tmax):
    """Per Markov SIR replicate (one index case each, from ``starts``), compiled loop: its final
    size, and its infections by target and source species (the kernel's ``by_source``: columns
    k and k + 1 are outside and the index case)."""
    k = inf_mean.size
    zeros = np.zeros(k)
    ones = np.ones(k, np.int64)
    n = indptr.size - 1
    state0 = np.zeros(n, np.int8)
    sizes = np.empty(starts.size, np.int64)
    sources = np.empty((starts.size, k, k + 2), np.int64)
    empty_f = np.zeros(0)
    empty_i = np.zeros(0, np.int64)
    for r in range(starts.size):
        out = seir_kernel(
            indptr,
            indices,
            rates,
            species,
            zeros,
            ones,
            inf_mean,
            ones,
            zeros,
            zeros,
            zeros,
            state0,
            starts[r : r + 1],
            tmax,
            empty_f,
            empty_i,
            empty_i,
            seeds[r],
        )
        sizes[r] = out[6][:, 0].sum()
        sources[r] = out[8]
    return sizes, sources


def sir_final_sizes(
    net: CompiledNetwork, tau: float, gamma: float, starts, seeds, tmax: float = np.inf
) -> np.ndarray:
    """Final sizes of many Markov SIR replicates (one index case each), looped in compiled code."""
    return _sir_batch(net, tau, gamma, starts, seeds, tmax)[0]


def sir_sources(
    net: CompiledNetwork, tau: float, gamma: float, starts, seeds, tmax: float = np.inf
) -> np.ndarray:
    """Who infected whom in many Markov SIR replicates: (replicate, target species, source
    species), the last two source columns being outside (none here) and the index case."""
    return _sir_batch(net, tau, gamma, starts, seeds, tmax)[1]


def _sir_batch(net: CompiledNetwork, tau, gamma, starts, seeds, tmax):
    """:func:`_sir_runs` on a compiled network."""
    k = len(net.species_names)
    return _sir_runs(
        net.indptr,
        net.indices,
        net.base_rate * tau,
        net.species,
        np.full(k, 1.0 / gamma),
        np.asarray(starts, np.int64),
        np.asarray(seeds, np.int64),
        float(tmax),
    )


def simulate_sir(
    net: CompiledNetwork, tau: float, gamma: float, index_cases, seed: int, tmax: float = np.inf
) -> np.ndarray:
    """Markov SIR special case (EoN ``fast_SIR`` semantics: rate ``tau`` x arc weight, recovery
    ``gamma``). Returns the exposure times (``inf`` = never infected)."""
    return sir_result(net, tau, gamma, index_cases, seed, tmax).t_exposed


def sir_result(
    net: CompiledNetwork, tau: float, gamma: float, index_cases, seed: int, tmax: float = np.inf
) -> KernelResult:
    """The kernel's full result for one Markov SIR replicate (see :func:`simulate_sir`)."""
    k = len(net.species_names)
    zeros = np.zeros(k)
    return simulate(
        net.indptr,
        net.indices,
        net.base_rate * tau,
        net.species,
        zeros,
        np.ones(k, np.int64),
        np.full(k, 1.0 / gamma),
        np.ones(k, np.int64),
        zeros,
        zeros,
        zeros,
        np.zeros(net.n, np.int8),
        np.asarray(index_cases, np.int64),
        float(tmax),
        np.zeros(0),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        int(seed),
    )


def percolation_theory(degrees: np.ndarray, tau: float, gamma: float) -> tuple[float, float]:
    """(P(major outbreak) from one random index case, attack rate of a major outbreak).

    Exponential infectious period D: a node's transmissions are independent given D, so the
    outbreak probability uses E_D[(u + (1 - u) e^{-tau D})^m]; the attack rate uses the marginal
    transmissibility T = tau / (tau + gamma) (Kenah & Robins 2007; Miller 2007).
    """
    from scipy import integrate, optimize

    pk = np.bincount(degrees) / degrees.size
    k = np.arange(pk.size)
    qk = (k * pk)[1:] / (k * pk).sum()  # excess degree distribution, index m = k - 1

    def mean_power(u, m):
        return integrate.quad(
            lambda d: (u + (1 - u) * np.exp(-tau * d)) ** m * gamma * np.exp(-gamma * d),
            0,
            np.inf,
        )[0]

    u = optimize.brentq(
        lambda u: sum(q * mean_power(u, m) for m, q in enumerate(qk)) - u, 0.0, 1 - 1e-9
    )
    p_major = 1 - sum(p * mean_power(u, kk) for kk, p in enumerate(pk))
    t = tau / (tau + gamma)

    def g1(x):
        return float(np.sum(qk * x ** np.arange(qk.size)))

    w = optimize.brentq(lambda w: g1(1 - t + t * w) - w, 0.0, 1 - 1e-9)
    attack = 1 - float(np.sum(pk * (1 - t + t * w) ** k))
    return p_major, attack


def configuration_model(n: int, mean_degree: float, seed: int) -> nx.Graph:
    """Simple graph from a configuration model with Poisson degrees (self-loops and multi-edges
    dropped), the graph family of :func:`percolation_theory`."""
    rng = np.random.default_rng(seed)
    deg = rng.poisson(mean_degree, n)
    deg[0] += deg.sum() % 2
    graph = nx.Graph(nx.configuration_model(deg.tolist(), seed=seed))
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    return graph


def endemic_sir_equilibrium(beta: float, gamma: float, mu: float) -> tuple[float, float]:
    """Endemic equilibrium (susceptible share, infectious share) of the mass-action SIR with
    births equal to deaths at per-capita rate ``mu``: S* = 1/R0 with R0 = beta/(gamma + mu),
    I* = mu (1 - 1/R0) / (gamma + mu) (Anderson & May 1991; Keeling & Rohani 2008, ch. 2)."""
    r0 = beta / (gamma + mu)
    return 1.0 / r0, mu * (1.0 - 1.0 / r0) / (gamma + mu)


def compile_network(
    graph: nx.Graph,
    rate_attr: str | None = "transmission_rate",
    rate_scale: float = 1.0 / DAYS_PER_YEAR,
    default_rate: float = 1.0,
    species_attr: str = "species",
) -> CompiledNetwork:
    """Arrays for the kernel from a networkx graph; undirected graphs give both arcs; rate =
    attr x ``rate_scale``."""
    nodes = np.array(list(graph.nodes()), dtype=object)
    index = {node: i for i, node in enumerate(nodes)}
    species_of = [graph.nodes[n].get(species_attr, "all") for n in nodes]
    src, dst, rate = [], [], []
    for u, v, data in graph.edges(data=True):
        r = (data.get(rate_attr, default_rate) if rate_attr else default_rate) * rate_scale
        src.append(index[u])
        dst.append(index[v])
        rate.append(r)
        if not graph.is_directed():
            src.append(index[v])
            dst.append(index[u])
            rate.append(r)
    return compiled_from_arcs(
        nodes,
        species_of,
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        np.asarray(rate, float),
    )
