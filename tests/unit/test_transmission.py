"""Transmission simulator against exact results, EoN's fast_SIR, and the declared scenario rules.

Tolerances: two-sample and goodness-of-fit tests reject at alpha = 0.001; theory checks allow 4
Monte Carlo standard errors plus a stated finite-size margin.
"""

from __future__ import annotations

import hashlib
import math

import EoN
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from disease_risk.transmission import scenarios, seir, summary, validation
from disease_risk.transmission.contact_network import ContactNetwork
from disease_risk.transmission.validation import compile_network

ALPHA = 1e-3


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def complete_graph_final_size_pmf(n: int, beta: float, gamma: float) -> np.ndarray:
    """Exact final-size distribution (incl. the index case) of Markov SIR on K_n, embedded chain."""
    p = {(n - 1, 1): 1.0}
    final = np.zeros(n + 1)
    stack = dict(p)
    while stack:
        (s, i) = max(stack, key=lambda k: (k[0] + k[1], k[1]))
        prob = stack.pop((s, i))
        if i == 0:
            final[n - s] += prob
            continue
        q = beta * s / (beta * s + gamma)
        if s > 0:
            stack[(s - 1, i + 1)] = stack.get((s - 1, i + 1), 0.0) + prob * q
        stack[(s, i - 1)] = stack.get((s, i - 1), 0.0) + prob * (1 - q)
    return final


def simulate_final_sizes(net, tau, gamma, reps, seed, index=None):
    rng = np.random.default_rng(seed)
    starts = rng.integers(net.n, size=reps) if index is None else np.full(reps, index)
    seeds = rng.integers(2**31 - 1, size=reps)
    return validation.sir_final_sizes(net, tau, gamma, starts, seeds)


def eon_final_sizes(graph, tau, gamma, reps, seed, weight=None):
    rng = np.random.default_rng(seed)
    nodes = list(graph)
    out = []
    for _ in range(reps):
        start = nodes[rng.integers(len(nodes))]
        _, _, _, r = EoN.fast_SIR(
            graph, tau, gamma, initial_infecteds=[start], transmission_weight=weight, rng=rng
        )
        out.append(int(r[-1]))
    return np.array(out)


# ---------------------------------------------------------------------------------------------
# SIR special case vs EoN fast_SIR
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["configuration_model", "random_geometric"])
def test_sir_matches_eon_fast_sir(kind):
    if kind == "configuration_model":
        graph, weight, tau = validation.configuration_model(1000, 5, seed=11), None, 0.25
    else:
        graph = nx.random_geometric_graph(1000, 0.05, seed=12)
        pos = nx.get_node_attributes(graph, "pos")
        for u, v in graph.edges():
            graph.edges[u, v]["w"] = 1.5 - math.dist(pos[u], pos[v]) / 0.05  # weighted rates
        weight, tau = "w", 0.3
    gamma = 0.5
    net = compile_network(graph, rate_attr=weight, rate_scale=1.0)
    ours = simulate_final_sizes(net, tau, gamma, 1500, seed=1)
    eon = eon_final_sizes(graph, tau, gamma, 600, seed=2, weight=weight)
    assert stats.ks_2samp(ours, eon).pvalue > ALPHA
    major, eon_major = ours > 50, eon > 50
    assert 0.1 < major.mean() < 0.9  # both outbreak modes are exercised
    pooled = np.concatenate([major, eon_major]).mean()
    se = math.sqrt(pooled * (1 - pooled) * (1 / major.size + 1 / eon_major.size))
    assert abs(major.mean() - eon_major.mean()) < 3.3 * se  # two-proportion z-test, alpha 0.001
    assert stats.ks_2samp(ours[major], eon[eon_major]).pvalue > ALPHA  # major outbreak sizes
    # the same comparison detects a 30% change in the transmission rate
    shifted = simulate_final_sizes(net, tau * 1.3, gamma, 1500, seed=3)
    assert stats.ks_2samp(shifted, eon).pvalue < ALPHA


# ---------------------------------------------------------------------------------------------
# exact results
# ---------------------------------------------------------------------------------------------
def test_complete_graph_final_size_exact():
    n, beta, gamma, reps = 8, 0.3, 1.0, 20000
    exact = complete_graph_final_size_pmf(n, beta, gamma)
    assert exact.sum() == pytest.approx(1.0)
    net = compile_network(nx.complete_graph(n), rate_attr=None, rate_scale=1.0)
    sizes = simulate_final_sizes(net, beta, gamma, reps, seed=4, index=0)
    counts = np.bincount(sizes, minlength=n + 1)[1:]
    assert stats.chisquare(counts, exact[1:] * reps).pvalue > ALPHA


def test_complete_graph_final_size_unchanged_by_latent_period_and_death():
    """Final size of the Markov SEIR depends only on the infectious period (Sellke
    construction), so a gamma latent period and case fatality must leave it exact."""
    n, beta, gamma, reps = 8, 0.3, 1.0, 20000
    exact = complete_graph_final_size_pmf(n, beta, gamma)
    net = compile_network(nx.complete_graph(n), rate_attr=None, rate_scale=1.0)
    rates = net.base_rate * beta
    sizes = np.empty(reps, int)
    deaths = 0
    for r in range(reps):
        t_exp, t_death, *_ = seir.seir_kernel(
            net.indptr,
            net.indices,
            rates,
            net.species,
            np.array([3.0]),
            np.array([2]),
            np.array([1 / gamma]),
            np.array([1]),
            np.array([0.4]),
            np.zeros(1),
            np.zeros(1),
            np.zeros(n, np.int8),
            np.array([0]),
            np.inf,
            np.zeros(0),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            1000 + r,
        )
        sizes[r] = np.isfinite(t_exp).sum()
        deaths += np.isfinite(t_death).sum()
    counts = np.bincount(sizes, minlength=n + 1)[1:]
    assert stats.chisquare(counts, exact[1:] * reps).pvalue > ALPHA
    assert deaths / sizes.sum() == pytest.approx(0.4, abs=4 * math.sqrt(0.24 / sizes.sum()))


@pytest.mark.slow
def test_major_outbreak_share_matches_percolation_theory():
    n, tau, gamma, reps = 10000, 0.7, 1.0, 1500
    graph = validation.configuration_model(n, 4, seed=21)
    degrees = np.array([d for _, d in graph.degree()])
    p_major, attack = validation.percolation_theory(degrees, tau, gamma)
    net = compile_network(graph, rate_attr=None, rate_scale=1.0)
    sizes = simulate_final_sizes(net, tau, gamma, reps, seed=5)
    major = sizes > 0.01 * n
    se = math.sqrt(p_major * (1 - p_major) / reps)
    assert abs(major.mean() - p_major) < 4 * se + 0.01
    assert abs(sizes[major].mean() / n - attack) < 0.01
    # the naive bond-percolation outbreak probability (= attack rate) is measurably different here
    assert abs(attack - p_major) > 8 * se


# ---------------------------------------------------------------------------------------------
# spillover, vaccination, scenarios, reproducibility
# ---------------------------------------------------------------------------------------------
def tiny_network(n_dogs=200, n_leopards=20):
    """A village of dogs all in contact, leopards each preying on a few dogs."""
    graph = nx.DiGraph()
    rng = np.random.default_rng(3)
    dogs = [f"dog{i}" for i in range(n_dogs)]
    leopards = [f"leo{i}" for i in range(n_leopards)]
    for d in dogs:
        graph.add_node(d, species="domestic_dog", site="A", x=0.0, y=0.0, origin="simulated")
    for lp in leopards:
        graph.add_node(lp, species="amur_leopard", site="wild", x=1.0, y=1.0, origin="simulated")
    for i, a in enumerate(dogs):
        for b in dogs[i + 1 :]:
            if rng.random() < 0.05:
                graph.add_edge(a, b, weight=6.0, transmission_rate=3.0)
                graph.add_edge(b, a, weight=6.0, transmission_rate=3.0)
    for lp in leopards:
        for d in rng.choice(dogs, 3, replace=False):
            graph.add_edge(d, lp, weight=1.0, transmission_rate=2.0)
            graph.add_edge(lp, d, weight=1.0, transmission_rate=0.0)
    return graph


def settings(**scenario):
    disease = {
        "latent_days": {"low": 5, "high": 10},
        "infectious_days": 14,
        "case_fatality": 0.5,
        "susceptibility": 1.0,
        "initial_immune": 0.0,
        "outside_infection": 0.5,
        "source": "test",
    }
    return {
        "horizon_days": 730,
        "replicates": 30,
        "period_shape": 2,
        "disease": {"domestic_dog": disease, "amur_leopard": {**disease, "outside_infection": 0}},
        "scenarios": {"baseline": {}, "s": scenario},
    }


def test_spillover_rate_on_isolated_nodes():
    n, lam, horizon = 4000, 0.3, 500.0
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n), species="raccoon_dog")
    net = compile_network(graph)
    t_exp = seir.simulate(
        net.indptr,
        net.indices,
        net.base_rate,
        net.species,
        np.zeros(1),
        np.ones(1, np.int64),
        np.ones(1),
        np.ones(1, np.int64),
        np.zeros(1),
        np.array([lam / seir.DAYS_PER_YEAR]),
        np.zeros(1),
        np.zeros(n, np.int8),
        np.zeros(0, np.int64),
        horizon,
        np.zeros(0),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        9,
    ).t_exposed
    p = 1 - math.exp(-lam * horizon / seir.DAYS_PER_YEAR)
    assert stats.binomtest(int(np.isfinite(t_exp).sum()), n, p).pvalue > ALPHA
    assert np.nanmax(np.where(np.isfinite(t_exp), t_exp, np.nan)) <= horizon


def test_network_tables_compile_to_the_same_arrays_as_the_graph():
    graph = tiny_network()
    from_graph = compile_network(graph)
    from_tables = seir.compile_contact_network(ContactNetwork.from_graph(graph))
    assert from_tables.species_names == from_graph.species_names
    for field in ("nodes", "species", "indptr", "indices", "base_rate"):
        np.testing.assert_array_equal(getattr(from_tables, field), getattr(from_graph, field))


def tiny_kernel(
    net, state0, spillover, horizon, round_times, round_species, per_round, seed, death_rate=None
):
    """The kernel on the tiny network's two species: transmission x5, latent 5 d, infectious
    14 d (exponential), no CDV deaths, no index cases; vaccination rounds of ``per_round``
    animals; background deaths per day ``death_rate`` (none by default). The first three
    arrays of the result: exposure, CDV death and vaccination times of each node's first
    animal."""
    return seir.simulate(
        net.indptr,
        net.indices,
        net.base_rate * 5,
        net.species,
        np.full(2, 5.0),
        np.ones(2, np.int64),
        np.full(2, 14.0),
        np.ones(2, np.int64),
        np.zeros(2),
        spillover,
        np.zeros(2) if death_rate is None else np.asarray(death_rate, float),
        state0,
        np.zeros(0, np.int64),
        horizon,
        round_times,
        np.asarray(round_species, np.int64),
        np.full(len(round_times), per_round, np.int64),
        seed,
    )


def test_vaccinated_at_start_never_infected_and_coverage_exact():
    graph = tiny_network()
    net = compile_network(graph)
    dogs = net.members("domestic_dog")
    for rep in range(20):
        state0 = np.zeros(net.n, np.int8)
        vacc = np.random.default_rng(rep).choice(dogs, 120, replace=False)
        state0[vacc] = seir.V
        t_exp, _, t_vacc, *_ = tiny_kernel(
            net, state0, np.array([0.0, 1.0]), 730.0, np.zeros(0), np.zeros(0, np.int64), 0, rep
        )
        assert not np.isfinite(t_exp[vacc]).any()
        assert (t_vacc[vacc] == 0).all() and np.isfinite(t_vacc).sum() == 120
        assert np.isfinite(t_exp[np.setdiff1d(dogs, vacc)]).any()


def test_yearly_vaccination_rounds_protect_from_then_on():
    graph = tiny_network()
    net = compile_network(graph)
    leo = net.species_names.index("amur_leopard")
    times = np.array([0.0, 365.25, 730.5])
    for rep in range(30):
        t_exp, _, t_vacc, *_ = tiny_kernel(
            net,
            np.zeros(net.n, np.int8),
            np.array([0.0, 2.0]),
            1000.0,
            times,
            np.full(3, leo),
            4,
            rep,
        )
        vaccinated = np.isfinite(t_vacc)
        assert vaccinated.sum() == 12 and (net.species[vaccinated] == leo).all()
        for t in times:
            assert (t_vacc == t).sum() == 4
        # a vaccinated animal is infected only if it was infected before its vaccination
        assert (t_exp[vaccinated] < t_vacc[vaccinated]).sum() == np.isfinite(
            t_exp[vaccinated]
        ).sum()


def reactive_kernel(net, watched, detection, delay, count, seed, spillover=(0.0, 2.0)):
    """:func:`tiny_kernel`'s set-up without latent period (infectious on infection) and with
    one waiting round of ``count`` leopards (day ``inf``) that the first detected case of
    species code ``watched`` schedules ``delay`` days later."""
    leo = net.species_names.index("amur_leopard")
    return seir.simulate(
        net.indptr, net.indices, net.base_rate * 5, net.species, np.zeros(2),
        np.ones(2, np.int64), np.full(2, 14.0), np.ones(2, np.int64), np.zeros(2),
        np.asarray(spillover, float), np.zeros(2), np.zeros(net.n, np.int8),
        np.zeros(0, np.int64), 1000.0, np.array([np.inf]), np.array([leo]),
        np.array([count]), seed, 0.0, watched, detection, delay,
    )  # fmt: skip


def test_reactive_vaccination_follows_the_first_detected_case_exactly():
    net = compile_network(tiny_network())
    leo = net.species_names.index("amur_leopard")
    for rep in range(20):
        out = reactive_kernel(net, leo, 1.0, 30.0, 8, rep)
        onsets = out.t_exposed[net.species == leo]  # infectious at once: no latent period
        vaccinated = np.isfinite(out.t_vacc)
        if not np.isfinite(onsets).any():
            assert not vaccinated.any() and not np.isfinite(out.detection_day[0])
            continue
        assert out.detection_day[0] == onsets.min()  # detection certain: the first case
        assert vaccinated.sum() == 8 and (net.species[vaccinated] == leo).all()
        assert (out.t_vacc[vaccinated] == out.detection_day[0] + 30.0).all()
    never = reactive_kernel(net, leo, 0.0, 30.0, 8, 1)
    assert not np.isfinite(never.t_vacc).any() and not np.isfinite(never.detection_day[0])


def test_reactive_detection_chance_matches_its_probability():
    """Isolated leopards, each infected from outside and turning infectious once: the round is
    triggered unless every case goes undetected, P = 1 - E[(1 - p)^cases]; with one leopard
    infected for sure (high spillover) that is p itself."""
    graph = nx.DiGraph()
    graph.add_node("leo", species="amur_leopard")
    graph.add_node("dog", species="domestic_dog")
    net = compile_network(graph)
    leo = net.species_names.index("amur_leopard")
    spill = np.zeros(2)
    spill[leo] = 1000.0
    p, runs = 0.3, 2000
    detected = sum(
        np.isfinite(reactive_kernel(net, leo, p, 10.0, 1, seed, spill).detection_day[0])
        for seed in range(runs)
    )
    assert stats.binomtest(int(detected), runs, p).pvalue > ALPHA
    assert stats.binomtest(int(detected), runs, 0.35).pvalue < ALPHA  # tolerance excludes 0.35


def test_reactive_vaccination_scenario_draws_detection_and_lowers_infection():
    graph = ContactNetwork.from_graph(tiny_network())
    reactive = {"detect": "domestic_dog", "detection_probability": {"low": 0.8, "high": 1.0},
                "delay_days": 7, "vaccinate": {"domestic_dog": 200}}
    base = scenarios.run_scenario(graph, settings(), "baseline", None, seed=1)
    react = scenarios.run_scenario(
        graph, settings(reactive_vaccination=reactive), "s", None, seed=1
    )
    probability = react[scenarios.REACTIVE_DETECTION]
    assert probability.between(0.8, 1.0).all() and probability.nunique() > 1
    # the same parameter draws as the baseline (the detection chance is drawn last)
    assert (react["case_fatality_domestic_dog"] == base["case_fatality_domestic_dog"]).all()
    detected = react["detection_day"].notna()
    assert (react.loc[detected, "vaccinated_domestic_dog"] > 0).all()
    assert (react.loc[~detected, "vaccinated_domestic_dog"] == 0).all()
    assert react["infected_domestic_dog"].sum() < base["infected_domestic_dog"].sum()
    assert (react["infected_domestic_dog"] <= base["infected_domestic_dog"]).mean() > 0.8


def test_scenario_coverage_and_full_dog_vaccination():
    graph = ContactNetwork.from_graph(tiny_network())
    half = scenarios.run_scenario(
        graph, settings(vaccination_coverage={"domestic_dog": 0.5}), "s", None, seed=1
    )
    assert (half["vaccinated_domestic_dog"] == 100).all()
    assert (half["vaccinated_amur_leopard"] == 0).all()
    full = scenarios.run_scenario(
        graph, settings(vaccination_coverage={"domestic_dog": 1.0}), "s", None, seed=1
    )
    assert (full["infected_domestic_dog"] == 0).all() and (full["infected_amur_leopard"] == 0).all()
    base = scenarios.run_scenario(graph, settings(), "baseline", None, seed=1)
    assert (base["infected_domestic_dog"] > 0).mean() > 0.9
    assert (base["infected_amur_leopard"] > 0).any()


def test_same_seed_identical_results_and_parameters_from_the_calibration():
    rng = np.random.default_rng(0)
    values = rng.gamma(5.0, 0.1, size=100)
    table = pd.DataFrame(
        {
            "draw": np.arange(100),
            "weight": rng.uniform(0.5, 1.5, 100),
            "outside_infection_domestic_dog": values,
        }
    )
    posterior = scenarios.CalibrationPosterior.from_table(table)
    graph = ContactNetwork.from_graph(tiny_network())
    a = scenarios.run_scenario(
        graph, settings(vaccinate_per_year={"amur_leopard": 2}), "s", posterior, seed=42
    )
    b = scenarios.run_scenario(
        graph, settings(vaccinate_per_year={"amur_leopard": 2}), "s", posterior, seed=42
    )
    pd.testing.assert_frame_equal(a, b)
    c = scenarios.run_scenario(
        graph, settings(vaccinate_per_year={"amur_leopard": 2}), "s", posterior, seed=43
    )
    assert not a["infected_domestic_dog"].equals(c["infected_domestic_dog"])
    np.testing.assert_array_equal(
        a["outside_infection_domestic_dog"], values[a["calibration_draw"]]
    )
    assert a["outside_infection_domestic_dog"].nunique() > 10  # each replicate its own set
    assert (a["outside_infection_amur_leopard"] == 0).all()  # not calibrated: config value
    s1 = summary.summarise(pd.concat([a, b.assign(scenario="t")]))
    assert (
        s1.loc[s1.scenario == "s"]
        .drop(columns="scenario")
        .reset_index(drop=True)
        .equals(s1.loc[s1.scenario == "t"].drop(columns="scenario").reset_index(drop=True))
    )


def test_replicates_of_a_parameter_set_share_its_parameters_not_their_luck():
    table = pd.DataFrame({"draw": np.arange(50), "weight": 1.0,
                          "outside_infection_domestic_dog": np.linspace(0.1, 2.0, 50)})
    posterior = scenarios.CalibrationPosterior.from_table(table)
    graph = ContactNetwork.from_graph(tiny_network())
    ranged = {**settings(), "runs_per_parameter_set": 4}
    ranged["disease"]["amur_leopard"]["case_fatality"] = {"low": 0.2, "high": 0.8}
    reps = scenarios.run_scenario(graph, ranged, "s", posterior, seed=3, replicates=40)
    assert (reps["parameter_set"] == np.arange(40) // 4).all()
    drawn = ["calibration_draw", "outside_infection_domestic_dog", "case_fatality_amur_leopard"]
    per_set = reps.groupby("parameter_set")[drawn].nunique()
    assert (per_set == 1).all().all()  # one parameter set per group of 4 runs
    assert reps.groupby("parameter_set")[drawn].first().nunique().min() > 5
    luck = reps.groupby("parameter_set")["infected_domestic_dog"].nunique()
    assert (luck > 1).sum() > 5  # runs of one set differ by chance


def test_quantile_mcse_matches_binomial_theory():
    x = np.arange(1000, dtype=float)
    q, se = summary.quantile_with_mcse(x, 0.5)
    assert q == pytest.approx(499.5)
    assert se == pytest.approx(math.sqrt(1000 * 0.25), rel=0.05)


def test_common_random_numbers_pair_replicates_across_scenarios():
    """Leopards are sinks in the tiny network, so vaccinating leopards must leave every
    replicate's dog outbreak identical and can only remove leopard infections, replicate by
    replicate (each animal and contact has the same draws in both scenarios)."""
    graph = ContactNetwork.from_graph(tiny_network())
    base = scenarios.run_scenario(graph, settings(), "baseline", None, seed=7)
    vacc = scenarios.run_scenario(
        graph, settings(vaccinate_per_year={"amur_leopard": 8}), "s", None, seed=7
    )
    pd.testing.assert_series_equal(base["infected_domestic_dog"], vacc["infected_domestic_dog"])
    pd.testing.assert_series_equal(base["deaths_domestic_dog"], vacc["deaths_domestic_dog"])
    assert (vacc["infected_amur_leopard"] <= base["infected_amur_leopard"]).all()
    assert vacc["infected_amur_leopard"].sum() < base["infected_amur_leopard"].sum()
    # removing susceptibles can only shrink each replicate's outbreak (same draws otherwise)
    dogs = scenarios.run_scenario(
        graph, settings(vaccination_coverage={"domestic_dog": 0.3}), "s", None, seed=7
    )
    for species in ("domestic_dog", "amur_leopard"):
        assert (dogs[f"infected_{species}"] <= base[f"infected_{species}"]).all()
    assert dogs["infected_domestic_dog"].sum() < base["infected_domestic_dog"].sum()


# Digests of the outputs of the kernel before demography and infection chains (commit 73b3bfb,
# same seeds; ``frame_digest`` of the old columns, ``array_digest`` of the kernel's exposure,
# death and vaccination times). Closed populations must reproduce them bit for bit.
PRE_DEMOGRAPHY_KERNEL = ("8e6f5452f4c2e3a5", 965)
OLD_GROUP_COLUMNS = ("population", "infected", "deaths", "vaccinated", "first")


def frame_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False, float_format="%.17g").encode()).hexdigest()[:16]


def kernel_run(net, seed, death_rate, horizon, times, species, counts, *reactive):
    """The kernel on the tiny network: 10 animals immune, two index cases, spillover, Erlang
    periods, case fatality and vaccination rounds ``times`` x ``species`` x ``counts``."""
    state0 = np.zeros(net.n, np.int8)
    state0[:10] = seir.R
    return seir.simulate(
        net.indptr, net.indices, net.base_rate * 4, net.species,
        np.array([6.0, 9.0]), np.array([2, 3]), np.array([12.0, 10.0]), np.array([2, 2]),
        np.array([0.4, 0.6]), np.array([0.3, 0.05]) / seir.DAYS_PER_YEAR, death_rate, state0,
        np.array([50, 60]), horizon, np.array(times), np.array(species), np.array(counts),
        seed, *reactive,
    )  # fmt: skip


def test_closed_populations_reproduce_the_kernel_before_demography():
    """No demography block and survival 1 for every species give the same counts, deaths,
    vaccinations and first-case days, replicate by replicate (the scenario draws changed with
    the calibration, so the pre-demography digests of whole scenarios no longer apply); the
    kernel itself equals the pre-demography kernel bit for bit on a run with immunity, index
    cases, spillover, case fatality, Erlang periods and vaccination rounds."""
    graph = ContactNetwork.from_graph(tiny_network())
    plan = settings(
        vaccinate_per_year={"amur_leopard": 3},
        vaccination_coverage={"domestic_dog": 0.2},
        index_cases={"domestic_dog": 2},
    )
    closed = {
        **plan,
        "demography": {
            sp: {"annual_survival": 1.0, "source": "test"}
            for sp in ("domestic_dog", "amur_leopard")
        },
    }
    for name in ("baseline", "s"):
        digests = set()
        for config in (plan, closed):
            table = scenarios.run_scenario(graph, config, name, None, seed=11, replicates=20)
            old = [c for c in table.columns if c.split("_")[0] in OLD_GROUP_COLUMNS]
            digests.add(frame_digest(table[old]))
            assert table["infected_domestic_dog"].sum() > 0
            assert (table["births_domestic_dog"] == 0).all()
            assert (table["background_deaths_amur_leopard"] == 0).all()
        assert len(digests) == 1
    net = compile_network(tiny_network())
    h, infected = hashlib.sha256(), 0
    for seed in range(5):
        out = kernel_run(net, 77 + seed, np.zeros(2), 900.0, [100.0, 465.25], [1, 1], [3, 3])
        for times in (out.t_exposed, out.t_death, out.t_vacc):
            h.update(np.ascontiguousarray(times, np.float64).tobytes())
        infected += np.isfinite(out.t_exposed).sum()
        assert out.tallies[:, seir.INFECTED].sum() == np.isfinite(out.t_exposed).sum()
    assert (h.hexdigest()[:16], infected) == PRE_DEMOGRAPHY_KERNEL


# Digest of the kernel's every output on runs with demography, spillover, rounds and reactive
# vaccination, recorded (2026-12-06) before arcs whose draw cannot beat the deadline skipped the
# logarithm: the shortcut must not change one bit.
DEMOGRAPHY_KERNEL = ("f245b40568282e00", 3346, 3483)


@pytest.mark.parametrize("kept_reverse", [False, True])
def test_kernel_with_demography_unchanged_bit_for_bit(kept_reverse):
    """Also when the caller passes the network's incoming arcs (as every scenario replicate
    does) instead of the kernel computing them."""
    net = compile_network(tiny_network())
    reverse = (net.reverse,) if kept_reverse else ()
    h, infected, births = hashlib.sha256(), 0, 0
    deaths = -np.log(np.array([0.5, 0.8])) / seir.DAYS_PER_YEAR
    for seed in range(5):
        out = kernel_run(net, 77 + seed, deaths, 2000.0, [100.0, 465.25, np.inf], [1, 1, 0],
                         [3, 3, 5], 300.0, 0, 0.5, 20.0, *reverse)  # fmt: skip
        for values in out:
            h.update(np.ascontiguousarray(values).tobytes())
        infected += out.tallies[:, seir.INFECTED].sum()
        births += out.tallies[:, seir.BIRTHS].sum()
    assert (h.hexdigest()[:16], infected, births) == DEMOGRAPHY_KERNEL


def test_summary_stage_writes_table_and_labels_targets_by_common_name(tmp_path, repo_root):
    """Rule transmission_summary's entry point: the table reads back as computed; the figures
    name species from the registry, with a panel for every target (even one not simulated)."""
    from disease_risk.intake.registry import load_species_registry, species_label
    from disease_risk.tables import read_table
    from disease_risk.transmission.stage import transmission_summary

    graph = ContactNetwork.from_graph(tiny_network())
    plan = settings(vaccination_coverage={"domestic_dog": 0.5})
    files = []
    for name in ("baseline", "s"):
        files.append(tmp_path / f"{name}.parquet")
        scenarios.run_scenario(graph, plan, name, None, seed=3, replicates=12).to_parquet(files[-1])
    outputs = {
        "summary": tmp_path / "summary.tsv",
        "long_horizon": tmp_path / "summary_long.tsv",
        "sizes": tmp_path / "sizes.png",
        "targets": tmp_path / "targets.png",
    }
    species_file = repo_root / "config/species.yaml"
    table = transmission_summary(
        {"replicates": files, "long_horizon": files[:1], "species": species_file},
        outputs,
        {"targets": ["amur_leopard", "amur_tiger"], "threads": 1},
    )
    # same values; a float column whose values are all whole (e.g. no background deaths
    # without demography) reads back as integers, so compare in the computed dtypes
    read_back = read_table(outputs["summary"], text_columns=["scenario", "species"])
    pd.testing.assert_frame_equal(read_back.astype(table.dtypes.to_dict()), table)
    assert set(table["scenario"]) == {"baseline", "s"}
    long = read_table(outputs["long_horizon"], text_columns=["scenario", "species"])
    assert set(long["scenario"]) == {"baseline"}
    assert outputs["sizes"].stat().st_size > 1000 and outputs["targets"].stat().st_size > 1000
    names = load_species_registry(species_file).labels()
    assert species_label("amur_leopard", names) == "Far Eastern (Amur) leopard"
    assert species_label("amur_leopard_released", names) == (
        "Far Eastern (Amur) leopard (released)"
    )
    assert species_label("snow_leopard", names) == "snow leopard"
