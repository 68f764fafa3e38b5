"""Exact event-driven stochastic SEIR with disease death, demography and infection chains on a
contact network (numba kernel).

The kernel is the event-driven algorithm of Kiss, Miller & Simon (the one behind EoN's
``fast_SIR``) extended with a latent stage, disease death, spillover from outside the network,
vaccination rounds, background deaths with births, and a record of who infected whom, compiled
with numba. When a node becomes infectious it draws its infectious period and, for each
susceptible neighbour, an exponential transmission time on that arc; a neighbour's earliest
pending time is its infection time unless it is infected, vaccinated, dead or out of reach first.
Nothing is discretised in time, so final sizes are unbiased.

Demography (species with annual survival s < 1, i.e. death rate mu = -ln s per year): every
animal has an exponential background lifetime (memoryless, so an animal alive at day 0 has the
same law of remaining life whatever its age). When an animal dies, of CDV or otherwise, a
susceptible newborn takes its node at once (same contacts, fresh state, fresh lifetime,
unvaccinated, no maternal immunity), so each species stays at its census. A newborn is exposed
to every neighbour that is infectious at its birth for the rest of that neighbour's infectious
period (exact: contacts are Poisson). An infected animal that dies of other causes stops
transmitting. Species with s = 1 form closed populations as before (CDV deaths not replaced).

States: 0 susceptible, 1 exposed, 2 infectious, 3 recovered/immune, 4 vaccinated, 5 dead.
The kernel runs on :class:`CompiledNetwork` arrays (CSR adjacency with per-arc rates).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numba import njit

from disease_risk.transmission.contact_network import ContactNetwork

S, E, INF, R, V, D = 0, 1, 2, 3, 4, 5
EV_INFECT, EV_INFECTIOUS, EV_END, EV_VACCINATE, EV_DEATH = 0, 1, 2, 3, 4
OUTSIDE, INDEX_CASE, NOT_INFECTED = -1, -2, -3  # infector codes besides a node
INFECTED, CDV_DEATHS, BACKGROUND_DEATHS, BIRTHS, VACCINATED = 0, 1, 2, 3, 4  # tally columns
N_TALLIES = 5
DAYS_PER_YEAR = 365.25
# Counter-based streams of the kernel (keyed by the replicate's seed and an animal or arc):
# 0 arc delays, 1 latent periods, 2 infectious periods, 3 fates, 4 spillover, 5 lifetimes,
# 6 detection of a case (reactive vaccination).


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
def _animal(node, generation):
    """Counter key of one animal: its node and how many animals held that node before it (the
    key of a node's first animal is the node itself, as before demography existed)."""
    return np.uint64(node) | (np.uint64(generation) << np.uint64(32))


@njit(cache=True)
def _duration(mean, shape, seed, stream, animal):
    """Erlang(shape) period with the given mean, keyed to the animal (same in every scenario)."""
    if mean <= 0.0:
        return 0.0
    total = 0.0
    for m in range(shape):
        total -= np.log(_uniform(seed, stream, animal, m))
    return total * mean / shape


@njit(cache=True)
def _reverse_arcs(indptr, indices):
    """Incoming arcs per node: (pointer, arc index, arc source), CSR ordered by target."""
    n = indptr.size - 1
    rptr = np.zeros(n + 1, np.int64)
    for k in range(indices.size):
        rptr[indices[k] + 1] += 1
    rptr = np.cumsum(rptr)
    fill = rptr[:-1].copy()
    rarc = np.empty(indices.size, np.int64)
    rsrc = np.empty(indices.size, np.int64)
    for u in range(n):
        for k in range(indptr[u], indptr[u + 1]):
            p = fill[indices[k]]
            rarc[p] = k
            rsrc[p] = u
            fill[indices[k]] += 1
    return rptr, rarc, rsrc


@njit(cache=True)
def _susceptible_days(since, t, window_start, horizon):
    """Days of [since, t] that fall in the measuring window [window_start, horizon]."""
    return max(0.0, min(t, horizon) - max(since, window_start))


@njit(cache=True)
def _birth(t, node, nodes, rev, rates, species, tallies, external_rate, death_rate, seed, horizon,
           ht, hn, hk, size):  # fmt: skip
    """A susceptible newborn takes ``node``: fresh lifetime and spillover time, and exposure to
    every neighbour infectious now for the rest of its infectious period. Returns the heap size."""
    state, gen, pending, src, own_t, t_stop, t_bd, vaccinated, origin, s_since = nodes
    rptr, rarc, rsrc = rev
    sp = species[node]
    gen[node] += 1
    me = _animal(node, gen[node])
    state[node], pending[node], src[node], s_since[node] = S, np.inf, NOT_INFECTED, t
    own_t[node], vaccinated[node], origin[node] = -1.0, False, -1
    tallies[sp, BIRTHS] += 1
    t_bd[node] = t - np.log(_uniform(seed, 5, me, 0)) / death_rate[sp]
    if t_bd[node] <= horizon:
        size = _heap_push(ht, hn, hk, size, t_bd[node], node, EV_DEATH)
    lam = external_rate[sp]
    if lam > 0.0:
        ts = t - np.log(_uniform(seed, 4, me, 0)) / lam
        if ts <= horizon:
            pending[node], src[node] = ts, OUTSIDE
            size = _heap_push(ht, hn, hk, size, ts, node, EV_INFECT)
    for r in range(rptr[node], rptr[node + 1]):
        i = rsrc[r]
        rate = rates[rarc[r]]
        if state[i] != INF or rate <= 0.0:
            continue
        tt = t - np.log(_uniform(seed, 0, _animal(i, gen[i]), me)) / rate
        if tt < t_stop[i] and tt < pending[node] and tt <= horizon:
            pending[node], src[node] = tt, i
            size = _heap_push(ht, hn, hk, size, tt, node, EV_INFECT)
    return size


@njit(cache=True)
def _vaccination_round(t, target, count, species, nodes, rec, candidates, window_start, horizon):
    """Vaccinate ``count`` living, not yet vaccinated animals of species ``target`` at random;
    it protects the susceptible ones."""
    state, gen, _, _, _, _, _, vaccinated, _, s_since = nodes
    t_vacc, tallies, susceptible_days = rec[2], rec[6], rec[11]
    m = 0
    for i in range(species.size):
        if species[i] == target and state[i] != D and not vaccinated[i]:
            candidates[m] = i
            m += 1
    for c in range(min(count, m)):
        pick = c + np.random.randint(m - c)
        candidates[c], candidates[pick] = candidates[pick], candidates[c]
        i = candidates[c]
        vaccinated[i] = True
        tallies[target, VACCINATED] += 1
        if gen[i] == 0:
            t_vacc[i] = t
        if state[i] == S:
            state[i] = V
            susceptible_days[target] += _susceptible_days(s_since[i], t, window_start, horizon)


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
    death_rate,
    state0,
    index_cases,
    horizon,
    vacc_times,
    vacc_species,
    vacc_counts,
    seed,
    window_start=0.0,
    reactive_species=-1,
    reactive_detection=0.0,
    reactive_delay=0.0,
    reverse=None,
):
    """One replicate. Per-species arrays are indexed by ``species[node]``; rates are per day
    (``death_rate``: background deaths per animal-day, 0 = closed population); latent/infectious
    periods are Erlang with integer ``*_shape`` (1 = exponential).

    Every random quantity tied to an animal or a contact (its periods, fate, lifetime, spillover
    time, the delay on each arc) is a counter-based draw keyed by (seed, animal/arc), an animal
    being (node, generation), so with the same seed an animal meets the same luck in every
    scenario (common random numbers) and only the intervention differs. Each (infector animal,
    target animal) delay is used at most once, so the draws stay independent and the dynamics
    exact. Without demography (all ``death_rate`` 0) every draw, and so every result, is the
    same as in the kernel before demography.

    ``window_start`` (day) opens the window over which infections and susceptible days are
    tallied per species (the simulated force of infection after a burn-in).

    Reactive vaccination: rounds whose ``vacc_times`` entry is ``inf`` wait for a detected
    case. Each animal of species ``reactive_species`` that turns infectious is detected (seen
    sick or found dead) with probability ``reactive_detection`` (a keyed draw, stream 6); the
    first detection schedules every waiting round ``reactive_delay`` days later.

    ``reverse``: the incoming arcs of :func:`_reverse_arcs` (newborns' exposure), if the
    caller keeps them for the network (computed here otherwise: a tenth of a 3-year run).

    Returns the arrays of :class:`KernelResult`, in its order. The event heap has a fixed
    capacity (enough without demography; births add events without bound): a run that would
    overflow it starts again with twice the capacity, which gives the same result: every draw
    is keyed, not sequential, and the generator of vaccination picks is seeded again.
    """
    n = indptr.size - 1
    cap = indices.size + 3 * n + vacc_times.size + 16
    rev = (np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if latent_mean.size > 0 and death_rate.max() > 0.0:
        rev = _reverse_arcs(indptr, indices) if reverse is None else reverse
        if not np.isfinite(horizon):
            raise ValueError("births and background deaths need a finite horizon")
        expected = 0.0
        for i in range(n):
            expected += death_rate[species[i]] * horizon
        cap += int(2.0 * expected * (3.0 + 2.0 * indices.size / max(n, 1)))
    while True:
        out = _run(
            indptr, indices, rates, species, latent_mean, latent_shape, inf_mean, inf_shape,
            case_fatality, external_rate, death_rate, state0, index_cases, horizon, vacc_times,
            vacc_species, vacc_counts, seed, cap, window_start, reactive_species,
            reactive_detection, reactive_delay, rev,
        )  # fmt: skip
        if out[0]:
            return out[1:]
        cap *= 2


@njit(cache=True)
def _run(
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
    death_rate,
    state0,
    index_cases,
    horizon,
    vacc_times,
    vacc_species,
    vacc_counts,
    seed,
    cap,
    window_start,
    reactive_species,
    reactive_detection,
    reactive_delay,
    rev,
):
    """:func:`seir_kernel` with an event heap of ``cap`` events: (False, ...) if it would
    overflow, else (True, the arrays of :class:`KernelResult`). The hot paths (infection, onset
    and end of infectiousness) are written out in the event loop, and the heap is never
    reallocated inside it (growing it there cost ~20% of the run time)."""
    np.random.seed(seed)
    n = indptr.size - 1
    k = latent_mean.size
    state = state0.copy()
    gen = np.zeros(n, np.int64)  # animals that held the node before this one
    pending = np.full(n, np.inf)  # earliest scheduled infection of the node's animal
    src = np.full(n, NOT_INFECTED)  # and its source
    own_t = np.full(n, -1.0)  # time of the animal's next own event (end of latent/infectious)
    t_stop = np.zeros(n)  # end of its infectious period (recovery or death)
    t_bd = np.full(n, np.inf)  # its background death
    vaccinated = state0 == V
    origin = np.full(n, -1)  # species whose spillover or index case started its chain
    s_since = np.zeros(n)  # when the node's animal became susceptible (day 0 or its birth)
    nodes = (state, gen, pending, src, own_t, t_stop, t_bd, vaccinated, origin, s_since)
    # the first animal of every node (the one there at day 0)
    t_exposed, t_death, t_vacc = np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf)
    t_removed = np.full(n, np.inf)
    infector, origin0 = np.full(n, NOT_INFECTED), np.full(n, -1)
    # per species, every animal
    tallies = np.zeros((k, N_TALLIES), np.int64)
    first_case = np.full(k, np.inf)
    by_source = np.zeros((k, k + 2), np.int64)  # columns: species, outside, index case
    by_origin = np.zeros((k, k), np.int64)
    window_infected = np.zeros(k, np.int64)  # infections from window_start on
    susceptible_days = np.zeros(k)  # days animals spent susceptible from window_start on
    detection_day = np.full(1, np.inf)  # first detected case (reactive vaccination)
    rec = (t_exposed, t_death, t_vacc, t_removed, infector, origin0, tallies, first_case,
           by_source, by_origin, window_infected, susceptible_days, detection_day)  # fmt: skip
    reserve = 4
    for i in range(n):
        if state[i] == V:
            t_vacc[i] = 0.0
            tallies[species[i], VACCINATED] += 1
        reserve = max(reserve, indptr[i + 1] - indptr[i] + rev[0][i + 1] - rev[0][i] + 4)
    cap = max(cap, vacc_times.size + index_cases.size + 2 * n + reserve)  # the set-up's events
    ht, hn, hk = np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int8)
    size = 0
    for r in range(vacc_times.size):
        if np.isfinite(vacc_times[r]):
            size = _heap_push(ht, hn, hk, size, vacc_times[r], r, EV_VACCINATE)
    for i in index_cases:
        if state[i] == S:
            pending[i], src[i] = 0.0, INDEX_CASE
            size = _heap_push(ht, hn, hk, size, 0.0, i, EV_INFECT)
    for i in range(n):
        lam = external_rate[species[i]]
        if lam > 0.0 and state[i] == S and pending[i] > 0.0:
            t = -np.log(_uniform(seed, 4, i, 0)) / lam
            if t <= horizon:
                pending[i], src[i] = t, OUTSIDE
                size = _heap_push(ht, hn, hk, size, t, i, EV_INFECT)
    for i in range(n):
        mu = death_rate[species[i]]
        if mu > 0.0 and state[i] != D:
            t_bd[i] = -np.log(_uniform(seed, 5, i, 0)) / mu
            if t_bd[i] <= horizon:
                size = _heap_push(ht, hn, hk, size, t_bd[i], i, EV_DEATH)
    candidates = np.empty(n, np.int64)
    while size > 0:
        if size + reserve > cap:
            return (False, *rec, state)
        t, node, kind, size = _heap_pop(ht, hn, hk, size)
        if t > horizon:
            break
        if kind == EV_VACCINATE:
            _vaccination_round(t, vacc_species[node], vacc_counts[node], species, nodes, rec,
                               candidates, window_start, horizon)  # fmt: skip
            continue
        sp = species[node]
        if kind == EV_INFECT:  # infection: record who infected whom, then the latent period
            if state[node] != S or t != pending[node]:
                continue
            state[node] = E
            susceptible_days[sp] += _susceptible_days(s_since[node], t, window_start, horizon)
            if t >= window_start:
                window_infected[sp] += 1
            source = src[node]
            if source >= 0:
                origin[node] = origin[source]
                by_source[sp, species[source]] += 1
            else:
                origin[node] = sp
                by_source[sp, k if source == OUTSIDE else k + 1] += 1
            by_origin[sp, origin[node]] += 1
            tallies[sp, INFECTED] += 1
            first_case[sp] = min(first_case[sp], t)
            if gen[node] == 0:
                t_exposed[node], infector[node], origin0[node] = t, source, origin[node]
            me = _animal(node, gen[node])
            own_t[node] = t + _duration(latent_mean[sp], latent_shape[sp], seed, 1, me)
            size = _heap_push(ht, hn, hk, size, own_t[node], node, EV_INFECTIOUS)
        elif kind == EV_INFECTIOUS:  # a transmission time on each arc to a susceptible
            if state[node] != E or t != own_t[node]:
                continue
            state[node] = INF
            me = _animal(node, gen[node])
            t_end = t + _duration(inf_mean[sp], inf_shape[sp], seed, 2, me)
            stop = min(t_end, t_bd[node])
            own_t[node], t_stop[node] = t_end, stop
            size = _heap_push(ht, hn, hk, size, t_end, node, EV_END)
            if (sp == reactive_species and not np.isfinite(detection_day[0])
                    and _uniform(seed, 6, me, 0) < reactive_detection):
                detection_day[0] = t
                for r in range(vacc_times.size):
                    if not np.isfinite(vacc_times[r]) and t + reactive_delay <= horizon:
                        size = _heap_push(ht, hn, hk, size, t + reactive_delay, r, EV_VACCINATE)
            for a in range(indptr[node], indptr[node + 1]):
                j = indices[a]
                rate = rates[a]
                if state[j] != S or rate <= 0.0:
                    continue
                u = _uniform(seed, 0, me, _animal(j, gen[j]))
                # the delay -log(u) / rate beats the deadline only if u > exp(-rate x time left)
                # >= 1 - rate x time left: most arcs fail that, without a logarithm (1.2x faster)
                if u < 1.0 - rate * (min(stop, pending[j], horizon) - t) - 1e-9:
                    continue
                tt = t - np.log(u) / rate
                if tt < stop and tt < pending[j] and tt <= horizon:
                    pending[j], src[j] = tt, node
                    size = _heap_push(ht, hn, hk, size, tt, j, EV_INFECT)
        elif kind == EV_END:  # recovery, or death from CDV (replaced by a newborn)
            if state[node] != INF or t != own_t[node]:
                continue
            if _uniform(seed, 3, _animal(node, gen[node]), 0) >= case_fatality[sp]:
                state[node] = R
                continue
            tallies[sp, CDV_DEATHS] += 1
            if gen[node] == 0:
                t_death[node] = t
            state[node] = D
            if death_rate[sp] > 0.0:
                size = _birth(t, node, nodes, rev, rates, species, tallies, external_rate,
                              death_rate, seed, horizon, ht, hn, hk, size)  # fmt: skip
        elif t == t_bd[node]:  # background death (replaced by a newborn)
            if state[node] == S:
                susceptible_days[sp] += _susceptible_days(s_since[node], t, window_start, horizon)
            tallies[sp, BACKGROUND_DEATHS] += 1
            if gen[node] == 0:
                t_removed[node] = t
            size = _birth(t, node, nodes, rev, rates, species, tallies, external_rate,
                          death_rate, seed, horizon, ht, hn, hk, size)  # fmt: skip
    if np.isfinite(horizon):  # animals still susceptible at the horizon
        for i in range(n):
            if state[i] == S:
                susceptible_days[species[i]] += _susceptible_days(
                    s_since[i], horizon, window_start, horizon
                )
    return (True, *rec, state)


class KernelResult(NamedTuple):
    """What :func:`seir_kernel` returns, by name. Per node, the node's first animal (the one
    there at day 0; ``inf`` = not within the horizon): ``t_exposed``, ``t_death`` (CDV),
    ``t_vacc``, ``t_removed`` (background death), ``infector`` (infecting node, OUTSIDE,
    INDEX_CASE or NOT_INFECTED), ``origin`` (species code whose spillover or index case started
    its chain, -1 if not infected). Per species code, every animal: ``tallies`` (columns
    INFECTED, CDV_DEATHS, BACKGROUND_DEATHS, BIRTHS, VACCINATED), ``first_case`` (day),
    ``by_source`` (target x source species; column k = OUTSIDE, k + 1 = INDEX_CASE),
    ``by_origin`` (target x origin species), ``window_infected`` and ``susceptible_days``
    (infections and days spent susceptible from ``window_start`` to the horizon: their ratio
    is the simulated force of infection). ``detection_day``: one value, the day of the first
    detected case (``inf``: none, or no reactive vaccination). ``state``: each node's animal
    at the horizon."""

    t_exposed: np.ndarray
    t_death: np.ndarray
    t_vacc: np.ndarray
    t_removed: np.ndarray
    infector: np.ndarray
    origin: np.ndarray
    tallies: np.ndarray
    first_case: np.ndarray
    by_source: np.ndarray
    by_origin: np.ndarray
    window_infected: np.ndarray
    susceptible_days: np.ndarray
    detection_day: np.ndarray
    state: np.ndarray


def simulate(*args) -> KernelResult:
    """:func:`seir_kernel` with its result by name (same arguments)."""
    return KernelResult(*seir_kernel(*args))


@dataclass(frozen=True)
class CompiledNetwork:
    """CSR adjacency (arc u->v at ``indices[indptr[u]:indptr[u+1]]``) with per-arc base rates;
    ``arc_order[k]`` is the input arc at CSR position k."""

    nodes: np.ndarray
    species_names: tuple[str, ...]
    species: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    base_rate: np.ndarray
    arc_order: np.ndarray

    @property
    def n(self) -> int:
        """Number of nodes."""
        return self.nodes.size

    @cached_property
    def _members(self) -> tuple[np.ndarray, ...]:
        return tuple(np.flatnonzero(self.species == c) for c in range(len(self.species_names)))

    def members(self, species: str) -> np.ndarray:
        """Node indices of one species (computed once per network: replicates ask often)."""
        return self._members[self.species_names.index(species)]

    @cached_property
    def reverse(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Incoming arcs (:func:`_reverse_arcs`), kept for the kernel's every replicate."""
        return _reverse_arcs(self.indptr, self.indices)


def compile_contact_network(
    network: ContactNetwork, rate_scale: float = 1.0 / DAYS_PER_YEAR
) -> CompiledNetwork:
    """Arrays for the kernel straight from the network tables (no per-arc Python objects)."""
    arcs = network.arcs
    return compiled_from_arcs(
        network.nodes["node"].to_numpy(dtype=object),
        network.nodes["species"].astype(str).tolist(),
        arcs["source"].to_numpy(np.int64),
        arcs["target"].to_numpy(np.int64),
        arcs["transmission_rate"].to_numpy(float) * rate_scale,
    )


def compiled_from_arcs(
    nodes: np.ndarray, species_of: list[str], src: np.ndarray, dst: np.ndarray, rate: np.ndarray
) -> CompiledNetwork:
    """CSR arrays from arc lists: arcs sorted by source then target, species as sorted codes."""
    names = tuple(sorted(set(species_of)))
    species = np.searchsorted(np.array(names, dtype=object), np.array(species_of, dtype=object))
    order = np.lexsort((dst, src))
    indptr = np.zeros(nodes.size + 1, np.int64)
    np.add.at(indptr, src + 1, 1)
    return CompiledNetwork(
        nodes, names, species.astype(np.int64), np.cumsum(indptr), dst[order], rate[order], order
    )
