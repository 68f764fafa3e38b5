"""Reference computations for tests and benchmarks, not used by the pipeline.

The Markov SIR special case of the SEIR kernel (EoN ``fast_SIR`` semantics), batches of its final
sizes looped in compiled code, and the generating-function theory of outbreak probability and
attack rate on configuration-model graphs (and such a graph). ``tests/test_transmission.py`` and
``bench/transmission.py`` compare the kernel with EoN and with theory through these.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numba import njit

from disease_risk.transmission.seir import CompiledNetwork, seir_kernel


@njit(cache=True)
def _sir_final_sizes(indptr, indices, rates, species, inf_mean, starts, seeds, tmax):
    """Final size of one Markov SIR replicate per index case in ``starts`` (compiled loop)."""
    k = inf_mean.size
    zeros = np.zeros(k)
    ones = np.ones(k, np.int64)
    n = indptr.size - 1
    state0 = np.zeros(n, np.int8)
    out = np.empty(starts.size, np.int64)
    empty_f = np.zeros(0)
    empty_i = np.zeros(0, np.int64)
    for r in range(starts.size):
        t_exposed, _, _ = seir_kernel(
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
            state0,
            starts[r : r + 1],
            tmax,
            empty_f,
            empty_i,
            empty_i,
            seeds[r],
        )
        out[r] = np.isfinite(t_exposed).sum()
    return out


def sir_final_sizes(
    net: CompiledNetwork, tau: float, gamma: float, starts, seeds, tmax: float = np.inf
) -> np.ndarray:
    """Final sizes of many Markov SIR replicates (one index case each), looped in compiled code."""
    k = len(net.species_names)
    return _sir_final_sizes(
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
    k = len(net.species_names)
    zeros = np.zeros(k)
    t_exposed, _, _ = seir_kernel(
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
        np.zeros(net.n, np.int8),
        np.asarray(index_cases, np.int64),
        float(tmax),
        np.zeros(0),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        int(seed),
    )
    return t_exposed


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
