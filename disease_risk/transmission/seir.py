"""Exact event-driven stochastic SEIR with disease death on a contact network (numba kernel).

The kernel is the event-driven algorithm of Kiss, Miller & Simon (the one behind EoN's
``fast_SIR``) extended with a latent stage, disease death, spillover from outside the network and
vaccination rounds, compiled with numba. When a node becomes infectious it draws its infectious
period and, for each susceptible neighbour, an exponential transmission time on that arc; a
neighbour's earliest pending time is its infection time unless it is infected, vaccinated or out
of reach first. Nothing is discretised in time, so final sizes are unbiased.

States: 0 susceptible, 1 exposed, 2 infectious, 3 recovered/immune, 4 vaccinated, 5 dead.
The kernel runs on :class:`CompiledNetwork` arrays (CSR adjacency with per-arc rates).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from numba import njit

from disease_risk.transmission.contact_network import ContactNetwork

S, E, INF, R, V, D = 0, 1, 2, 3, 4, 5
EV_INFECT, EV_INFECTIOUS, EV_END, EV_VACCINATE = 0, 1, 2, 3
DAYS_PER_YEAR = 365.25


@njit(cache=True)
def _heap_push(ht, hn, hk, size, t, node, kind):
    """Add event (t, node, kind) to the binary min-heap held in three arrays; new size."""
    i = size
    ht[i] = t
    hn[i] = node
    hk[i] = kind
    while i > 0:
        parent = (i - 1) >> 1
        if ht[parent] <= ht[i]:
            break
        ht[parent], ht[i] = ht[i], ht[parent]
        hn[parent], hn[i] = hn[i], hn[parent]
        hk[parent], hk[i] = hk[i], hk[parent]
        i = parent
    return size + 1


@njit(cache=True)
def _heap_pop(ht, hn, hk, size):
    """Remove the earliest event; returns it and the new size."""
    t, node, kind = ht[0], hn[0], hk[0]
    size -= 1
    ht[0], hn[0], hk[0] = ht[size], hn[size], hk[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and ht[left + 1] < ht[left]:
            child = left + 1
        if ht[i] <= ht[child]:
            break
        ht[child], ht[i] = ht[i], ht[child]
        hn[child], hn[i] = hn[i], hn[child]
        hk[child], hk[i] = hk[i], hk[child]
        i = child
    return t, node, kind, size


@njit(cache=True)
def _mix(z):
    """splitmix64 finaliser: a well-mixed 64-bit hash of ``z``."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _uniform(seed, stream, a, b):
    """Uniform(0, 1) keyed by (seed, stream, a, b): a counter-based draw (splitmix64 hash)."""
    z = _mix(np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15) * np.uint64(stream + 1))
    z = _mix(z ^ (np.uint64(a) * np.uint64(0xD1B54A32D192ED03)))
    z = _mix(z ^ (np.uint64(b) * np.uint64(0xAEF17502108EF2D9)))
    return (np.float64(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _duration(mean, shape, seed, stream, node):
    """Erlang(shape) period with the given mean, keyed to the node (same in every scenario)."""
    if mean <= 0.0:
        return 0.0
    total = 0.0
    for m in range(shape):
        total -= np.log(_uniform(seed, stream, node, m))
    return total * mean / shape


@njit(cache=True)
def seir_kernel(
    indptr,
    indices,
    rates,
    species,
    latent_mean,
    latent_shape,
    inf_mean,
    inf_shape,
    case_fatality,
    external_rate,
    state0,
    index_cases,
    horizon,
    vacc_times,
    vacc_species,
    vacc_counts,
    seed,
):
    """One replicate. Per-species arrays are indexed by ``species[node]``; rates are per day;
    latent/infectious periods are Erlang with integer ``*_shape`` (1 = exponential).

    Every random quantity tied to an animal or a contact (its periods, its fate, its spillover
    time, the delay on each arc) is a counter-based draw keyed by (seed, animal/arc), so with the
    same seed an animal meets the same luck in every scenario (common random numbers) and only
    the intervention differs. Each arc's delay is used at most once (a node is infectious at most
    once), so the draws stay independent and the dynamics exact.

    Returns (exposure time, death time, vaccination time) per node; ``inf`` = never (by horizon).
    """
    np.random.seed(seed)
    n = indptr.size - 1
    state = state0.copy()
    t_exposed = np.full(n, np.inf)
    t_death = np.full(n, np.inf)
    t_vacc = np.full(n, np.inf)
    pending = np.full(n, np.inf)
    for i in range(n):
        if state[i] == V:
            t_vacc[i] = 0.0
    cap = indices.size + 3 * n + vacc_times.size + 16
    ht = np.empty(cap)
    hn = np.empty(cap, np.int64)
    hk = np.empty(cap, np.int8)
    size = 0
    for r in range(vacc_times.size):
        size = _heap_push(ht, hn, hk, size, vacc_times[r], r, EV_VACCINATE)
    for i in index_cases:
        if state[i] == S:
            pending[i] = 0.0
            size = _heap_push(ht, hn, hk, size, 0.0, i, EV_INFECT)
    for i in range(n):
        lam = external_rate[species[i]]
        if lam > 0.0 and state[i] == S and pending[i] > 0.0:
            t = -np.log(_uniform(seed, 4, i, 0)) / lam
            if t <= horizon:
                pending[i] = t
                size = _heap_push(ht, hn, hk, size, t, i, EV_INFECT)
    candidates = np.empty(n, np.int64)
    while size > 0:
        t, node, kind, size = _heap_pop(ht, hn, hk, size)
        if t > horizon:
            break
        if kind == EV_INFECT:
            if state[node] != S:
                continue
            state[node] = E
            t_exposed[node] = t
            sp = species[node]
            size = _heap_push(
                ht,
                hn,
                hk,
                size,
                t + _duration(latent_mean[sp], latent_shape[sp], seed, 1, node),
                node,
                EV_INFECTIOUS,
            )
        elif kind == EV_INFECTIOUS:
            state[node] = INF
            sp = species[node]
            t_end = t + _duration(inf_mean[sp], inf_shape[sp], seed, 2, node)
            size = _heap_push(ht, hn, hk, size, t_end, node, EV_END)
            for k in range(indptr[node], indptr[node + 1]):
                j = indices[k]
                rate = rates[k]
                if state[j] != S or rate <= 0.0:
                    continue
                tt = t - np.log(_uniform(seed, 0, node, j)) / rate
                if tt < t_end and tt < pending[j] and tt <= horizon:
                    pending[j] = tt
                    size = _heap_push(ht, hn, hk, size, tt, j, EV_INFECT)
        elif kind == EV_END:
            if _uniform(seed, 3, node, 0) < case_fatality[species[node]]:
                state[node] = D
                t_death[node] = t
            else:
                state[node] = R
        else:
            target = vacc_species[node]
            m = 0
            for i in range(n):
                if species[i] == target and state[i] != D and t_vacc[i] == np.inf:
                    candidates[m] = i
                    m += 1
            take = min(vacc_counts[node], m)
            for c in range(take):
                pick = c + np.random.randint(m - c)
                candidates[c], candidates[pick] = candidates[pick], candidates[c]
                i = candidates[c]
                t_vacc[i] = t
                if state[i] == S:
                    state[i] = V
    return t_exposed, t_death, t_vacc


@dataclass(frozen=True)
class CompiledNetwork:
    """CSR adjacency (arc u->v at ``indices[indptr[u]:indptr[u+1]]``) with per-arc base rates."""

    nodes: np.ndarray
    species_names: tuple[str, ...]
    species: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    base_rate: np.ndarray

    @property
    def n(self) -> int:
        """Number of nodes."""
        return self.nodes.size

    def members(self, species: str) -> np.ndarray:
        """Node indices of one species."""
        return np.flatnonzero(self.species == self.species_names.index(species))


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
    return _compiled(
        nodes,
        species_of,
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        np.asarray(rate, float),
    )


def compile_contact_network(
    network: ContactNetwork, rate_scale: float = 1.0 / DAYS_PER_YEAR
) -> CompiledNetwork:
    """Arrays for the kernel straight from the network tables (no per-arc Python objects)."""
    arcs = network.arcs
    return _compiled(
        network.nodes["node"].to_numpy(dtype=object),
        network.nodes["species"].astype(str).tolist(),
        arcs["source"].to_numpy(np.int64),
        arcs["target"].to_numpy(np.int64),
        arcs["transmission_rate"].to_numpy(float) * rate_scale,
    )


def _compiled(
    nodes: np.ndarray, species_of: list[str], src: np.ndarray, dst: np.ndarray, rate: np.ndarray
) -> CompiledNetwork:
    """CSR arrays from arc lists: arcs sorted by source then target, species as sorted codes."""
    names = tuple(sorted(set(species_of)))
    species = np.searchsorted(np.array(names, dtype=object), np.array(species_of, dtype=object))
    order = np.lexsort((dst, src))
    indptr = np.zeros(nodes.size + 1, np.int64)
    np.add.at(indptr, src + 1, 1)
    return CompiledNetwork(
        nodes, names, species.astype(np.int64), np.cumsum(indptr), dst[order], rate[order]
    )
