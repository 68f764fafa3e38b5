"""Births and background deaths in the SEIR kernel against exact answers.

Background deaths on isolated animals are a Poisson process per node (exponential lifetimes,
immediate replacement); on a large complete graph the SIR with births reaches the endemic
equilibrium S* = 1/R0, R0 = beta/(gamma + mu). Tolerances: 4 standard errors (exact Poisson or
binomial ones where they exist), plus a stated finite-size margin; each test also shows its
tolerance excludes a nearby wrong answer. Goodness-of-fit tests reject at alpha = 0.001.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from disease_risk.transmission import scenarios, seir
from disease_risk.transmission.contact_network import ContactNetwork
from disease_risk.transmission.validation import compile_network, endemic_sir_equilibrium

ALPHA = 1e-3
YEAR = seir.DAYS_PER_YEAR


def kernel(indptr, indices, rates, species, k, **kw):
    """The kernel with SIR defaults (no latent period, exponential infectious period of
    ``infectious`` days, no CDV deaths, no spillover, no vaccination) and keyword overrides."""
    n = indptr.size - 1
    args = {
        "latent": np.zeros(k),
        "infectious": np.ones(k),
        "case_fatality": np.zeros(k),
        "spillover": np.zeros(k),
        "death_rate": np.zeros(k),
        "state0": np.zeros(n, np.int8),
        "index_cases": np.zeros(0, np.int64),
        "horizon": 365.0,
        "vacc_times": np.zeros(0),
        "vacc_species": np.zeros(0, np.int64),
        "vacc_counts": np.zeros(0, np.int64),
        "seed": 1,
        "window_start": 0.0,
        **kw,
    }
    return seir.simulate(
        indptr,
        indices,
        rates,
        species,
        args["latent"],
        np.ones(k, np.int64),
        args["infectious"],
        np.ones(k, np.int64),
        args["case_fatality"],
        args["spillover"],
        args["death_rate"],
        args["state0"],
        args["index_cases"],
        float(args["horizon"]),
        args["vacc_times"],
        args["vacc_species"],
        args["vacc_counts"],
        int(args["seed"]),
        float(args["window_start"]),
    )


def isolated(n_per_species: int, k: int):
    """CSR arrays of ``k`` species with ``n_per_species`` animals each and no contacts."""
    n = n_per_species * k
    return (
        np.zeros(n + 1, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0),
        np.repeat(np.arange(k), n_per_species).astype(np.int64),
    )


def test_background_deaths_follow_annual_survival():
    """No disease: deaths per node are Poisson(mu T) with mu = -ln(survival) per year, births
    replace every death, and a day-0 animal is alive after y years with probability s^y."""
    n, years, survival = 4000, 5.0, np.array([0.6, 0.9])
    mu = -np.log(survival)
    out = kernel(
        *isolated(n, 2), 2, death_rate=mu / YEAR, horizon=years * YEAR, seed=3
    )
    deaths = out.tallies[:, seir.BACKGROUND_DEATHS]
    np.testing.assert_array_equal(out.tallies[:, seir.BIRTHS], deaths)
    assert out.tallies[:, seir.INFECTED].sum() == 0 and out.tallies[:, seir.CDV_DEATHS].sum() == 0
    for c in range(2):
        expected = n * mu[c] * years
        assert abs(deaths[c] - expected) < 4 * math.sqrt(expected)
        # a survival off by 0.02 falls outside that tolerance
        wrong = n * -math.log(survival[c] + 0.02) * years
        assert abs(deaths[c] - wrong) > 4 * math.sqrt(wrong)
        first = out.t_removed[c * n : (c + 1) * n]  # the day-0 animals' background deaths
        for y in (1, 3):
            alive = int((first > y * YEAR).sum())
            assert stats.binomtest(alive, n, survival[c] ** y).pvalue > ALPHA
        # mean lifetime -1/ln(s): censored exponential MLE of the day-0 animals' death rate
        died = np.isfinite(first)
        rate = died.sum() / (np.minimum(first, years * YEAR).sum() / YEAR)
        assert abs(rate - mu[c]) < 4 * rate / math.sqrt(died.sum())
    assert (out.state == seir.S).all()  # newborns start susceptible; nobody else changes state


def complete_graph(n: int):
    """CSR arrays of the complete graph K_n (both directions of every edge)."""
    indptr = np.arange(0, n * (n - 1) + 1, n - 1, dtype=np.int64)
    targets = np.tile(np.arange(n, dtype=np.int64), (n, 1))
    return indptr, targets[~np.eye(n, dtype=bool)]


def endemic_run(n, beta, gamma, mu, horizon, seed):
    """SIR with births on K_n (per-pair rate beta/n) started near its endemic equilibrium:
    the kernel's result at ``horizon`` days."""
    indptr, indices = complete_graph(n)
    s_star, i_star = endemic_sir_equilibrium(beta, gamma, mu)
    order = np.random.default_rng(seed).permutation(n)
    n_s, n_i = round(s_star * n), round(i_star * n)
    state0 = np.full(n, seir.R, np.int8)
    state0[order[: n_s + n_i]] = seir.S
    return kernel(
        indptr,
        indices,
        np.full(indices.size, beta / n),
        np.zeros(n, np.int64),
        1,
        infectious=np.array([1 / gamma]),
        death_rate=np.array([mu]),
        state0=state0,
        index_cases=order[n_s : n_s + n_i].astype(np.int64),
        horizon=horizon,
        seed=seed,
    )


def test_endemic_equilibrium_of_sir_with_births_on_complete_graph():
    """Mass-action SIR with births = deaths at rate mu (per day): mu 0.01, gamma 0.04, beta
    0.125, so R0 = 2.5, S* = 0.4, I* = 0.12; 1000 days = 10 lifetimes and ~8 damping times
    (2/(mu R0)) after a start near equilibrium. Without births S would fall to ~0.09; with
    births at 2 mu, S* = 0.48: both outside the tolerance."""
    n, beta, gamma, mu, horizon, reps = 1500, 0.125, 0.04, 0.01, 1000.0, 12
    s_star, i_star = endemic_sir_equilibrium(beta, gamma, mu)
    assert (s_star, i_star) == pytest.approx((0.4, 0.12))
    runs = [endemic_run(n, beta, gamma, mu, horizon, seed) for seed in range(reps)]
    s_share = np.array([(r.state == seir.S).mean() for r in runs])
    i_share = np.array([(r.state == seir.INF).mean() for r in runs])
    assert (i_share > 0).all()  # no fade-out
    margin = 0.01  # finite-size bias of the stochastic mean (stated, ~1/sqrt(n I*))
    for share, target in ((s_share, s_star), (i_share, i_star)):
        se = share.std(ddof=1) / math.sqrt(reps)
        assert abs(share.mean() - target) < 4 * se + margin
    assert abs(s_share.mean() - endemic_sir_equilibrium(beta, gamma, 2 * mu)[0]) > 0.05
    # infections per day at equilibrium: mu n (1 - 1/R0); births per day: mu n
    infections = np.array([r.tallies[0, seir.INFECTED] for r in runs]) / horizon
    births = np.array([r.tallies[0, seir.BIRTHS] for r in runs]) / horizon
    assert infections.mean() == pytest.approx(mu * n * (1 - s_star), rel=0.03)
    assert births.mean() == pytest.approx(mu * n, rel=0.02)


def test_vaccination_is_not_inherited():
    """Every dog vaccinated at day 0, short lives, spillover: the vaccinated day-0 dogs are
    never infected, yet newborns are; yearly rounds vaccinate newborns again (more
    vaccinations than dogs over the years)."""
    n = 500
    indptr, indices, rates, species = isolated(n, 1)
    out = kernel(
        indptr,
        indices,
        rates,
        species,
        1,
        spillover=np.array([2.0 / YEAR]),
        death_rate=np.array([-math.log(0.3) / YEAR]),
        state0=np.full(n, seir.V, np.int8),
        horizon=3 * YEAR,
        vacc_times=np.array([YEAR, 2 * YEAR]),
        vacc_species=np.zeros(2, np.int64),
        vacc_counts=np.full(2, n, np.int64),
    )
    assert not np.isfinite(out.t_exposed).any()  # day-0 animals were all protected
    assert out.tallies[0, seir.INFECTED] > 50  # newborns were not
    assert (out.t_vacc == 0).all()
    assert out.tallies[0, seir.VACCINATED] > n + 0.3 * n  # rounds reached the newborns
    assert out.tallies[0, seir.BIRTHS] == out.tallies[0, seir.BACKGROUND_DEATHS]


def test_heap_overflow_restarts_with_the_same_result():
    """A run whose event heap would overflow restarts with a larger one: same result as with
    ample room from the start (every draw is keyed to an animal or arc)."""
    graph = nx.gnp_random_graph(300, 0.05, seed=2)
    net = compile_network(graph, rate_attr=None, rate_scale=1.0)
    k = 1
    args = (
        net.indptr, net.indices, net.base_rate * 0.05, net.species, np.full(k, 2.0),
        np.ones(k, np.int64), np.full(k, 10.0), np.ones(k, np.int64), np.full(k, 0.5),
        np.full(k, 0.002), np.full(k, 0.002), np.zeros(net.n, np.int8),
        np.zeros(0, np.int64), 2000.0, np.zeros(0), np.zeros(0, np.int64),
        np.zeros(0, np.int64), 5,
    )  # fmt: skip
    assert not seir._run(*args, 200, 0.0, -1, 0.0, 0.0, net.reverse)[0]
    ample = seir._run(*args, 10**6, 0.0, -1, 0.0, 0.0, net.reverse)
    assert ample[0]
    small = seir.seir_kernel(*args)
    for a, b in zip(ample[1:], small, strict=True):
        np.testing.assert_array_equal(a, b)


def village(n_dogs=150, n_leopards=15):
    """Dogs in contact with each other, leopards catching it from dogs (never passing it on)."""
    graph = nx.DiGraph()
    rng = np.random.default_rng(5)
    dogs = [f"dog{i}" for i in range(n_dogs)]
    leopards = [f"leo{i}" for i in range(n_leopards)]
    graph.add_nodes_from(dogs, species="domestic_dog", site="A", x=0.0, y=0.0, origin="simulated")
    graph.add_nodes_from(
        leopards, species="amur_leopard", site="wild", x=1.0, y=1.0, origin="simulated"
    )
    for i, a in enumerate(dogs):
        for b in dogs[i + 1 :]:
            if rng.random() < 0.05:
                graph.add_edge(a, b, weight=1.0, transmission_rate=3.0)
                graph.add_edge(b, a, weight=1.0, transmission_rate=3.0)
    for lp in leopards:
        for d in rng.choice(dogs, 3, replace=False):
            graph.add_edge(d, lp, weight=1.0, transmission_rate=2.0)
    return ContactNetwork.from_graph(graph)


def demography_settings(survival):
    disease = {
        "latent_days": 7,
        "infectious_days": 14,
        "case_fatality": {"low": 0.4, "high": 0.6},
        "outside_infection": 0.3,
        "source": "test",
    }
    return {
        "horizon_days": 3 * YEAR,
        "replicates": 10,
        "period_shape": 2,
        "disease": {"domestic_dog": disease, "amur_leopard": {**disease, "outside_infection": 0}},
        "demography": {
            sp: {"annual_survival": s, "source": "test"} for sp, s in survival.items()
        },
        "scenarios": {"baseline": {}},
    }


def test_scenario_replicates_count_births_and_background_deaths():
    """Through run_scenario: survival drawn per replicate within its range (own stream: the
    disease draws equal those without demography), background deaths near their expectation,
    births = background + CDV deaths (every death replaced), census constant."""
    net = village()
    survival = {"domestic_dog": {"low": 0.5, "high": 0.7}, "amur_leopard": 0.8}
    reps = scenarios.run_scenario(net, demography_settings(survival), "baseline", None, seed=4)
    assert reps["annual_survival_domestic_dog"].between(0.5, 0.7).all()
    assert reps["annual_survival_domestic_dog"].nunique() == len(reps)
    assert (reps["annual_survival_amur_leopard"] == 0.8).all()
    for sp in ("domestic_dog", "amur_leopard"):
        births = reps[f"births_{sp}"]
        assert (births == reps[f"background_deaths_{sp}"] + reps[f"deaths_{sp}"]).all()
    expected = (-np.log(reps["annual_survival_domestic_dog"]) * 3 * 150).sum()
    assert abs(reps["background_deaths_domestic_dog"].sum() - expected) < 4 * math.sqrt(expected)
    assert (reps["population_domestic_dog"] == 150).all()
    closed = {**demography_settings(survival), "demography": None}
    without = scenarios.run_scenario(net, closed, "baseline", None, seed=4)
    assert without["case_fatality_domestic_dog"].nunique() == len(reps)
    assert without["case_fatality_domestic_dog"].equals(reps["case_fatality_domestic_dog"])
    assert (without["births_domestic_dog"] == 0).all()
    assert (without["annual_survival_domestic_dog"] == 1.0).all()
    # turnover brings in susceptibles: more dog infections than in closed populations
    assert reps["infected_domestic_dog"].sum() > without["infected_domestic_dog"].sum()


def test_demography_must_cover_every_species():
    settings = demography_settings({"domestic_dog": 0.6})
    missing = r"demography has no annual_survival for \['amur_leopard'\]"
    with pytest.raises(ValueError, match=missing):
        scenarios.run_scenario(village(), settings, "baseline", None, seed=1, replicates=1)
