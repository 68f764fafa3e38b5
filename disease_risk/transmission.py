"""Exact event-driven stochastic SEIR with disease death on the contact network, and scenarios.

The kernel is the event-driven algorithm of Kiss, Miller & Simon (the one behind EoN's
``fast_SIR``) extended with a latent stage, disease death, spillover from outside the network and
vaccination rounds, compiled with numba. When a node becomes infectious it draws its infectious
period and, for each susceptible neighbour, an exponential transmission time on that arc; a
neighbour's earliest pending time is its infection time unless it is infected, vaccinated or out
of reach first. Nothing is discretised in time, so final sizes are unbiased.

States: 0 susceptible, 1 exposed, 2 infectious, 3 recovered/immune, 4 vaccinated, 5 dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from numba import njit

from disease_risk import contact_network as cn

S, E, INF, R, V, D = 0, 1, 2, 3, 4, 5
EV_INFECT, EV_INFECTIOUS, EV_END, EV_VACCINATE = 0, 1, 2, 3
DAYS_PER_YEAR = 365.25


# --------------------------------------------------------------------------------------------
# numba kernel
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _heap_push(ht, hn, hk, size, t, node, kind):
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


# --------------------------------------------------------------------------------------------
# graphs as arrays
# --------------------------------------------------------------------------------------------
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
        return self.nodes.size

    def members(self, species: str) -> np.ndarray:
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
    network: cn.ContactNetwork, rate_scale: float = 1.0 / DAYS_PER_YEAR
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
    names = tuple(sorted(set(species_of)))
    species = np.searchsorted(np.array(names, dtype=object), np.array(species_of, dtype=object))
    order = np.lexsort((dst, src))
    indptr = np.zeros(nodes.size + 1, np.int64)
    np.add.at(indptr, src + 1, 1)
    return CompiledNetwork(
        nodes, names, species.astype(np.int64), np.cumsum(indptr), dst[order], rate[order]
    )


@njit(cache=True)
def _sir_final_sizes(indptr, indices, rates, species, inf_mean, starts, seeds, tmax):
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


# --------------------------------------------------------------------------------------------
# parameters, scenarios, replicates
# --------------------------------------------------------------------------------------------
def draw_value(spec, rng: np.random.Generator) -> float:
    """A number, or ``{low, high}`` drawn uniformly."""
    if isinstance(spec, dict):
        return float(rng.uniform(spec["low"], spec["high"]))
    return float(spec)


@dataclass(frozen=True)
class FoiPosterior:
    """Posterior draws of the annual force of infection, flattened to (sample, species)."""

    species: tuple[str, ...]
    samples: np.ndarray


def load_foi_posterior(path: str | Path) -> FoiPosterior:
    """``force_of_infection`` (chain, draw, species) from the seroprevalence InferenceData.

    Read with xarray (the file's ``posterior`` group) rather than arviz: same data, faster start.
    """
    import xarray as xr

    with xr.open_dataset(path, group="posterior") as posterior:
        if "force_of_infection" not in posterior:
            raise ValueError(
                f"{path}: posterior has no 'force_of_infection'; rerun the "
                "seroprevalence step (contract: dims chain, draw, species)"
            )
        foi = posterior["force_of_infection"].transpose("chain", "draw", "species").load()
    values = np.asarray(foi.values, float).reshape(-1, foi.sizes["species"])
    return FoiPosterior(tuple(str(s) for s in foi["species"].values), values)


def scenario_setup(
    network: cn.ContactNetwork, scenario: dict, network_config: dict, seed: int
) -> cn.ContactNetwork:
    """The network a scenario runs on: the base network, plus any released group."""
    release = scenario.get("release")
    if not release:
        return network
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    extra = cn.released_individuals(
        network_config, release["species"], int(release["n"]), release["site"], rng
    )
    return cn.add_individuals(network, extra, network_config)


def run_scenario(
    network: cn.ContactNetwork,
    settings: dict,
    scenario_name: str,
    foi: FoiPosterior | None,
    seed: int,
    replicates: int | None = None,
) -> pd.DataFrame:
    """All replicates of one scenario: one row per replicate with counts, timings and draws.

    Replicate r uses seed (seed, r) in every scenario (common random numbers), so scenario
    differences are not blurred by different parameter draws.
    """
    scenario = settings["scenarios"][scenario_name] or {}
    net = compile_contact_network(network)
    names = net.species_names
    disease = settings["disease"]
    missing = [s for s in names if s not in disease]
    if missing:
        raise ValueError(
            f"config transmission.disease has no parameters for {missing}; "
            "add latent_days, infectious_days, case_fatality, susceptibility"
        )
    horizon = float(settings["horizon_days"])
    shape = int(settings.get("period_shape", 1))
    spill = set(settings.get("spillover_species", []))
    released = (network.nodes["origin"] == "released").to_numpy()
    coverage = scenario.get("vaccination_coverage", {})
    per_year = scenario.get("vaccinate_per_year", {})
    vacc_times, vacc_species, vacc_counts = [], [], []
    for key, table in (("vaccination_coverage", coverage), ("vaccinate_per_year", per_year)):
        for sp in table:
            if sp not in names:
                raise ValueError(
                    f"scenario {scenario_name}: {key} names '{sp}', which is not in the "
                    f"network ({list(names)}); use one of those species keys"
                )
    for sp, count in sorted(per_year.items()):
        for day in np.arange(float(scenario.get("vaccination_day", 0)), horizon, DAYS_PER_YEAR):
            vacc_times.append(day)
            vacc_species.append(names.index(sp))
            vacc_counts.append(int(count))
    vacc_times = np.asarray(vacc_times, float)
    vacc_species = np.asarray(vacc_species, np.int64)
    vacc_counts = np.asarray(vacc_counts, np.int64)
    index_spec = scenario.get("index_cases", settings.get("index_cases", {}))
    rows = []
    n_rep = int(replicates if replicates is not None else settings["replicates"])
    for rep in range(n_rep):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 5, rep]))
        row: dict[str, float | int | str] = {"scenario": scenario_name, "replicate": rep}
        k = len(names)
        lat, inf, cfr, sus, ext = (np.zeros(k) for _ in range(5))
        sample = int(rng.integers(foi.samples.shape[0])) if foi is not None else -1
        row["posterior_sample"] = sample
        for c, sp in enumerate(names):
            p = disease[sp]
            lat[c] = draw_value(p["latent_days"], rng)
            inf[c] = draw_value(p["infectious_days"], rng)
            cfr[c] = draw_value(p["case_fatality"], rng)
            sus[c] = draw_value(p.get("susceptibility", 1.0), rng)
            if sp in spill:
                if foi is not None and sp in foi.species:
                    ext[c] = foi.samples[sample, foi.species.index(sp)]
                else:
                    ext[c] = draw_value(p["foi_fallback"], rng)
            row[f"foi_{sp}"] = ext[c]
            row[f"case_fatality_{sp}"] = cfr[c]
        mult = draw_value(settings.get("contact_multiplier", 1.0), rng)
        row["contact_multiplier"] = mult
        rates = net.base_rate * mult * sus[net.species[net.indices]]
        state0 = np.zeros(net.n, np.int8)
        for c, sp in enumerate(names):
            members = np.flatnonzero((net.species == c) & ~released)
            immune = rng.choice(
                members,
                round(draw_value(disease[sp].get("initial_immune", 0.0), rng) * members.size),
                replace=False,
            )
            state0[immune] = R
        kernel_seed = int(rng.integers(2**31 - 1))
        index_cases = []
        for sp, count in sorted(index_spec.items()):
            index_cases += list(rng.choice(net.members(sp), int(count), replace=False))
        for sp, cov in sorted(coverage.items()):  # last: scenario-specific draws
            members = net.members(sp)
            state0[rng.choice(members, round(cov * members.size), replace=False)] = V
        t_exp, t_death, t_vacc = seir_kernel(
            net.indptr,
            net.indices,
            rates,
            net.species,
            lat,
            np.full(k, shape, np.int64),
            inf,
            np.full(k, shape, np.int64),
            cfr,
            ext / DAYS_PER_YEAR,
            state0,
            np.asarray(index_cases, np.int64),
            horizon,
            vacc_times,
            vacc_species,
            vacc_counts,
            kernel_seed,
        )
        groups = [(sp, net.species == c) for c, sp in enumerate(names)]
        if released.any():
            groups.append((f"{network.nodes['species'][released].iloc[0]}_released", released))
        for label, mask in groups:
            exposed = t_exp[mask]
            row[f"population_{label}"] = int(mask.sum())
            row[f"infected_{label}"] = int(np.isfinite(exposed).sum())
            row[f"deaths_{label}"] = int(np.isfinite(t_death[mask]).sum())
            row[f"vaccinated_{label}"] = int(np.isfinite(t_vacc[mask]).sum())
            row[f"first_case_day_{label}"] = (
                float(exposed.min()) if np.isfinite(exposed).any() else np.nan
            )
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# summaries and plots
# --------------------------------------------------------------------------------------------
def quantile_with_mcse(x: np.ndarray, q: float) -> tuple[float, float]:
    """Sample quantile and its Monte Carlo standard error from the order-statistic interval."""
    x = np.sort(np.asarray(x, float))
    n = x.size
    if n == 0:
        return np.nan, np.nan
    half = 1.959964 * np.sqrt(n * q * (1 - q))
    lo = int(np.clip(np.floor(n * q - half), 0, n - 1))
    hi = int(np.clip(np.ceil(n * q + half), 0, n - 1))
    return float(np.quantile(x, q)), float((x[hi] - x[lo]) / (2 * 1.959964))


SUMMARY_COLUMNS = [
    "scenario",
    "species",
    "replicates",
    "population",
    "p_any_infection",
    "p_any_infection_mcse",
    "infected_median",
    "infected_median_mcse",
    "infected_hi95",
    "infected_hi95_mcse",
    "deaths_median",
    "deaths_median_mcse",
    "deaths_hi95",
    "deaths_hi95_mcse",
    "p_any_death",
    "p_any_death_mcse",
    "days_to_first_case_median",
    "days_to_first_case_median_mcse",
]


def summarise(replicates: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario and species (hi95 = 97.5% quantile, upper end of the central 95%)."""
    rows = []
    labels = sorted(c[len("infected_") :] for c in replicates.columns if c.startswith("infected_"))
    for scenario, reps in replicates.groupby("scenario", sort=False):
        n = len(reps)
        for label in labels:
            infected = reps[f"infected_{label}"].dropna().to_numpy(float)
            if infected.size == 0:
                continue
            deaths = reps[f"deaths_{label}"].to_numpy(float)
            first = reps[f"first_case_day_{label}"].dropna().to_numpy(float)
            p_inf = float(np.mean(infected > 0))
            p_death = float(np.mean(deaths > 0))
            rows.append(
                [
                    scenario,
                    label,
                    n,
                    int(reps[f"population_{label}"].iloc[0]),
                    p_inf,
                    float(np.sqrt(p_inf * (1 - p_inf) / n)),
                    *quantile_with_mcse(infected, 0.5),
                    *quantile_with_mcse(infected, 0.975),
                    *quantile_with_mcse(deaths, 0.5),
                    *quantile_with_mcse(deaths, 0.975),
                    p_death,
                    float(np.sqrt(p_death * (1 - p_death) / n)),
                    *quantile_with_mcse(first, 0.5),
                ]
            )
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    floats = out.select_dtypes("float").columns
    out[floats] = out[floats].map(lambda v: float(f"{v:.6g}"))
    return out


def plot_outbreak_sizes(replicates: pd.DataFrame, path: str | Path) -> None:
    """Empirical distribution of the number infected per species, one line per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted(c[len("infected_") :] for c in replicates.columns if c.startswith("infected_"))
    ncol = 3
    nrow = int(np.ceil(len(labels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax, label in zip(axes.ravel(), labels, strict=False):
        for scenario, reps in replicates.groupby("scenario", sort=False):
            x = np.sort(reps[f"infected_{label}"].dropna().to_numpy(float))
            if x.size:
                ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", label=scenario)
        ax.set_title(label.replace("_", " "))
        ax.set_xlabel("animals infected within horizon")
        ax.set_ylabel("share of replicates ≤ x")
    for ax in axes.ravel()[len(labels) :]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_leopard_risk(
    summary: pd.DataFrame, path: str | Path, species: str = "amur_leopard"
) -> None:
    """P(any infection) with MCSE bars and deaths (median, 97.5% quantile) per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary[summary["species"] == species]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 0.5 * len(rows) + 2.2))
    y = np.arange(len(rows))
    a1.barh(y, rows["p_any_infection"], xerr=1.96 * rows["p_any_infection_mcse"], color="#b5541b")
    a1.set_yticks(y, rows["scenario"])
    a1.set_xlim(0, 1)
    a1.set_xlabel(f"P(at least one {species.replace('_', ' ')} infected)")
    a2.errorbar(
        rows["deaths_median"],
        y,
        xerr=[np.zeros(len(rows)), rows["deaths_hi95"] - rows["deaths_median"]],
        fmt="o",
        color="#333333",
        capsize=3,
    )
    a2.set_yticks(y, [""] * len(rows))
    a2.set_xlabel("deaths: median and 97.5% quantile")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# file wrappers for the workflow
# --------------------------------------------------------------------------------------------
def run_scenario_files(
    nodes: str | Path,
    arcs: str | Path,
    network_config: str | Path,
    foi_file: str | Path,
    settings: dict,
    scenario: str,
    seed: int,
    out: str | Path,
) -> pd.DataFrame:
    """Read the network and serology posterior, run one scenario, write its replicates."""
    import logging
    import time

    log = logging.getLogger("disease_risk.transmission")
    if scenario not in settings["scenarios"]:
        raise ValueError(
            f"scenario '{scenario}' is not under transmission.scenarios in the config "
            f"(known: {sorted(settings['scenarios'])})"
        )
    network = scenario_setup(
        cn.read_network(nodes, arcs),
        settings["scenarios"][scenario] or {},
        cn.load_network_config(network_config),
        seed,
    )
    foi = load_foi_posterior(foi_file)
    absent = sorted(set(settings.get("spillover_species", [])) - set(foi.species))
    if absent:
        log.info("no serology force of infection for %s: using foi_fallback from config", absent)
    start = time.perf_counter()
    table = run_scenario(network, settings, scenario, foi, seed)
    log.info(
        "scenario %s: %d replicates on %d nodes in %.1f s",
        scenario,
        len(table),
        len(network.nodes),
        time.perf_counter() - start,
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    return table


def summarise_files(replicate_files, summary_path, sizes_png, leopard_png) -> pd.DataFrame:
    """Concatenate all scenarios (in the given order), write summary table and plots."""
    replicates = pd.concat([pd.read_parquet(f) for f in replicate_files], ignore_index=True)
    summary = summarise(replicates)
    Path(summary_path).parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(summary_path, sep="\t", index=False, float_format="%.6g", lineterminator="\n")
    plot_outbreak_sizes(replicates, sizes_png)
    plot_leopard_risk(summary, leopard_png)
    return summary
