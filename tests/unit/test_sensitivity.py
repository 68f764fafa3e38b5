"""Morris sensitivity screening (SALib) against exact answers.

- a linear output ``sum a_i x_i``: every elementary effect is ``a_i (high - low)``, so ``mu``,
  ``mu_star``, ``sigma`` (0) and the ranking are exact;
- an input the output ignores has ``mu_star`` exactly 0, also with a noisy model when every
  design point gets the same random numbers (and not when each gets its own);
- Ishigami (a = 7, b = 0.1 on [-pi, pi]^3): ``mu_star`` equals its exact expectation over the
  Morris grid (enumerated here); the ranking is x1 > x3 > x2 for 6 levels, while the analytic
  Sobol' total indices rank x1 (0.558) > x2 (0.442) > x3 (0.244): Morris agrees on the first,
  swaps the others (its step is about half the range, the period of sin(x2)^2);
- the assumptions are exactly the config's ranges (numbers and empty ranges left out);
- the same seed gives the same design, runs and indices.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from numpy.testing import assert_allclose
from SALib.sample import morris as morris_sample

from disease_risk.seeds import stream_seed
from disease_risk.tables import SENSITIVITY_COLUMNS
from disease_risk.transmission import sensitivity as sens
from disease_risk.transmission.sensitivity import Assumption

CONFIG = Path(__file__).resolve().parents[2] / "config"
LINEAR = np.array([3.0, -2.0, 0.5, 0.0])
LINEAR_BOUNDS = [(0.0, 1.0), (10.0, 14.0), (-1.0, 1.0), (0.0, 5.0)]
ISHIGAMI_BOUNDS = [(-math.pi, math.pi)] * 3


def assumptions(bounds) -> list[Assumption]:
    return [
        Assumption(f"x{i + 1}", "disease", lo, hi, f"source {i + 1}", f"input {i + 1}")
        for i, (lo, hi) in enumerate(bounds)
    ]


def ishigami(x1, x2, x3, a=7.0, b=0.1):
    return np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)


def ishigami_total_indices(a=7.0, b=0.1) -> np.ndarray:
    """Analytic Sobol' total-order indices of Ishigami on [-pi, pi]^3 (Ishigami & Homma 1990;
    Sobol' & Levitan 1999)."""
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = 8 * b**2 * math.pi**8 / 225
    v = a**2 / 8 + b * math.pi**4 / 5 + b**2 * math.pi**8 / 18 + 0.5
    return np.array([v1 + v13, v2, v13]) / v


def expected_mu_star(function, bounds, levels: int) -> np.ndarray:
    """Exact expected mu_star of a Morris design with even ``levels``: the trajectories' points
    are uniform on the grid, so average |effect| over every grid position of the other inputs
    and every step (u, u + delta) of the input, u in the lower half of the grid."""
    unit = np.arange(levels) / (levels - 1)
    delta = levels / (2 * (levels - 1))
    mesh = np.meshgrid(*[lo + (hi - lo) * unit for lo, hi in bounds], indexing="ij")
    out = []
    for i, (lo, hi) in enumerate(bounds):
        effects = []
        for u in unit[: levels // 2]:
            a, b = list(mesh), list(mesh)
            a[i] = np.full_like(mesh[i], lo + (hi - lo) * u)
            b[i] = np.full_like(mesh[i], lo + (hi - lo) * (u + delta))
            effects.append(np.abs(function(*b) - function(*a)).mean() / delta)
        out.append(np.mean(effects))
    return np.array(out)


def run(function, bounds, trajectories, levels, seed=7, **evaluate):
    """Problem, design and indices of a function of named inputs x1, x2 ..."""
    problem = sens.morris_problem(assumptions(bounds), levels)
    X = sens.morris_design(problem, trajectories, seed)
    Y = sens.evaluate_design(problem, X, function, seed, **evaluate)
    return problem, X, sens.sensitivity_indices(problem, X, Y, seed)


def linear(values, rng):
    return {"y": float(sum(a * values[f"x{i + 1}"] for i, a in enumerate(LINEAR)))}


def by_parameter(indices: pd.DataFrame, output: str = "y") -> pd.DataFrame:
    return indices[indices["output"] == output].set_index("parameter").sort_index()


def test_linear_effects_are_coefficient_times_range():
    problem, X, indices = run(linear, LINEAR_BOUNDS, trajectories=12, levels=4)
    assert X.shape == (sens.design_size(problem, 12), 4) == (60, 4)
    assert tuple(indices.columns) == SENSITIVITY_COLUMNS
    rows = by_parameter(indices)
    width = np.array([hi - lo for lo, hi in LINEAR_BOUNDS])
    assert_allclose(rows["mu_star"], np.abs(LINEAR) * width, rtol=1e-12, atol=1e-12)
    assert_allclose(rows["mu"], LINEAR * width, rtol=1e-12, atol=1e-12)
    assert_allclose(rows["sigma"], 0.0, atol=1e-9)
    assert_allclose(rows["mu_star_conf"], 0.0, atol=1e-9)
    assert rows["rank"].tolist() == [2, 1, 3, 4]  # |effects| 3, 8, 1, 0
    assert indices["parameter"].tolist() == ["x2", "x1", "x3", "x4"]  # by rank
    assert rows["low"].tolist() == [b[0] for b in LINEAR_BOUNDS]
    assert rows["high"].tolist() == [b[1] for b in LINEAR_BOUNDS]
    assert rows["source"].tolist() == ["source 1", "source 2", "source 3", "source 4"]
    assert sens.uncertainty_drivers(indices, "y") == ["x2", "x1", "x3"]
    assert sens.uncertainty_drivers(indices, "y", top=10) == ["x2", "x1", "x3"]  # x4: no effect
    assert sens.uncertainty_drivers(indices, "y", top=10, min_share=0.2) == ["x2", "x1"]


def test_ignored_input_has_no_effect_even_with_noise_under_common_random_numbers():
    def noisy(values, rng):
        x1, x2 = values["x1"], values["x2"]
        return {"y": math.exp(x1) * x2 + x2**2 + rng.normal(), "z": x1 * values["x3"]}

    bounds = [(0.0, 1.0), (-1.0, 2.0), (5.0, 6.0)]
    _, _, common = run(noisy, bounds, trajectories=10, levels=4)
    y = by_parameter(common, "y")
    assert y.loc["x3", "mu_star"] == 0.0 and y.loc["x3", "rank"] == 3
    assert (y.loc[["x1", "x2"], "mu_star"] > 0).all()
    assert by_parameter(common, "z").loc["x2", "mu_star"] == 0.0
    assert sens.uncertainty_drivers(common, "y") == y.sort_values("rank").index[:2].tolist()
    _, _, own = run(noisy, bounds, trajectories=10, levels=4, common_random_numbers=False)
    assert by_parameter(own, "y").loc["x3", "mu_star"] > 0  # each point's own noise


def test_ishigami_matches_the_exact_morris_expectation_and_its_ranking():
    def evaluate(values, rng):
        return {"y": float(ishigami(values["x1"], values["x2"], values["x3"]))}

    for levels, trajectories in ((4, 400), (6, 400)):
        exact = expected_mu_star(ishigami, ISHIGAMI_BOUNDS, levels)
        rows = by_parameter(run(evaluate, ISHIGAMI_BOUNDS, trajectories, levels)[2])
        assert (np.abs(rows["mu_star"] - exact) <= 2.5 * rows["mu_star_conf"] + 1e-9).all()
        if levels == 4:  # sin^2 at -pi, -pi/3, pi/3, pi: every x2 step changes y by 7 x 0.75
            assert_allclose(exact[1], 7 * 0.75 / (2 / 3), rtol=1e-12)
            assert_allclose(rows.loc["x2", "mu_star"], 7.875, rtol=1e-12)
    assert rows["rank"].tolist() == [1, 3, 2]  # 6 levels: x1 > x3 > x2
    assert np.argsort(-exact).tolist() == [0, 2, 1]
    for levels in range(6, 41, 2):  # the exact ranking holds from 6 levels up
        assert np.argsort(-expected_mu_star(ishigami, ISHIGAMI_BOUNDS, levels)).tolist() == [
            0, 2, 1,
        ]  # fmt: skip
    total = ishigami_total_indices()
    assert_allclose(total, [0.5576, 0.4424, 0.2437], atol=5e-5)
    assert int(np.argmax(total)) == 0 == int(np.argmin(rows["rank"].to_numpy()))


def test_assumptions_are_exactly_the_configured_ranges():
    settings = yaml.safe_load(
        """
disease:
  raccoon_dog: &meso
    latent_days: {low: 7, high: 21}
    infectious_days: 14
    case_fatality: {low: 0.3, high: 0.8}
    susceptibility: 1.0
    initial_immune: {low: 0.2, high: 0.2}
    outside_infection: {low: 0.0, high: 0.4, source: "own source"}
    source: meso source
  red_fox: *meso
  amur_leopard:
    latent_days: 14
    infectious_days: {low: 7, high: 21}
    case_fatality: 0.5
    outside_infection: 0.0
    source: leopard source
demography:
  amur_tiger: {annual_survival: 0.714, source: tiger survival}
  raccoon_dog: {annual_survival: {low: 0.4, high: 0.7}, source: short-lived}
horizon_days: 1096
"""
    )
    network = {
        "populations": {"amur_leopard": {"count": 120, "home_range_km2": 80}},
        "contact_rules": [
            {"name": "meso_contact", "rate_per_year": 12.0,
             "p_transmission": {"low": 0.0, "high": 0.3}, "source": "fox week"},
            {"name": "scavenging", "rate_per_year": 1.0, "p_transmission": 0.05,
             "source": "carcasses"},
        ],
    }  # fmt: skip
    expected = [
        ("latent_days_raccoon_dog", "disease", 7.0, 21.0, "meso source"),
        ("case_fatality_raccoon_dog", "disease", 0.3, 0.8, "meso source"),
        ("outside_infection_raccoon_dog", "outside infection", 0.0, 0.4, "own source"),
        ("latent_days_red_fox", "disease", 7.0, 21.0, "meso source"),
        ("case_fatality_red_fox", "disease", 0.3, 0.8, "meso source"),
        ("outside_infection_red_fox", "outside infection", 0.0, 0.4, "own source"),
        ("infectious_days_amur_leopard", "disease", 7.0, 21.0, "leopard source"),
        ("annual_survival_raccoon_dog", "survival", 0.4, 0.7, "short-lived"),
        ("p_transmission_meso_contact", "contact rule", 0.0, 0.3, "fox week"),
    ]
    got = sens.assumption_ranges(settings, network)
    assert [(a.name, a.kind, a.low, a.high, a.source) for a in got] == expected
    assert got[1].label == "case fatality: raccoon dog"
    factor = {"low": 0.5, "high": 2.0, "source": "rates within 2x"}
    more = sens.assumption_ranges(settings, network, contact_rate_factor=factor)
    assert [(a.name, a.kind, a.low, a.high, a.source) for a in more[len(expected) :]] == [
        ("contact_rate_factor_scavenging", "contact rate", 0.5, 2.0,
         "rates within 2x, on 1 a year; carcasses"),
    ]  # only the rule with a fixed p: rate x p of the other is already a range  # fmt: skip
    settings["disease"]["amur_leopard"]["case_fatality"] = {"low": 0.9, "high": 0.3}
    with pytest.raises(ValueError, match="case_fatality_amur_leopard"):
        sens.assumption_ranges(settings, network)


def test_example_config_assumptions():
    transmission = yaml.safe_load((CONFIG / "config.yaml").read_text())["transmission"]
    network = yaml.safe_load((CONFIG / "network.yaml").read_text())
    names = [a.name for a in sens.assumption_ranges(transmission, network)]
    # disease, survival, detection of a case (reactive vaccination), p_transmission
    assert len(names) == len(set(names)) == 38 + 7 + 1 + 7
    assert "reactive_detection_probability" in names
    for fixed in ("annual_survival_amur_tiger", "outside_infection_amur_leopard",
                  "susceptibility_domestic_dog", "p_transmission_scavenging_kills"):  # fmt: skip
        assert fixed not in names
    assert "case_fatality_amur_leopard" in names and "latent_days_sable" in names
    factor = {"low": 0.5, "high": 2.0}
    with_rates = sens.assumption_ranges(transmission, network, contact_rate_factor=factor)
    added = [a.name for a in with_rates[len(names) :]]
    assert added == [
        "contact_rate_factor_scavenging_kills",
        "contact_rate_factor_dog_between_villages",
    ]


def test_with_ranges_replaces_named_ranges():
    base = assumptions(LINEAR_BOUNDS)
    out = sens.with_ranges(base, {"x2": (11.0, 12.0)}, "posterior 90%")
    assert (out[1].low, out[1].high, out[1].source) == (11.0, 12.0, "source 2; posterior 90%")
    assert out[0] == base[0]
    with pytest.raises(KeyError, match="x9"):
        sens.with_ranges(base, {"x9": (0, 1)}, "")


def test_seeded_design_runs_and_indices_repeat():
    problem = sens.morris_problem(assumptions(LINEAR_BOUNDS), levels=6)
    X = sens.morris_design(problem, 8, seed=11)
    assert np.array_equal(X, sens.morris_design(problem, 8, seed=11))
    assert not np.array_equal(X, sens.morris_design(problem, 8, seed=12))
    salib = {"num_vars": 4, "names": problem["names"], "bounds": problem["bounds"]}
    direct = morris_sample.sample(
        salib, 8, num_levels=6, seed=stream_seed(11, "transmission/sensitivity")
    )
    assert np.array_equal(X, direct)
    assert "groups" not in problem  # SALib's additions stay out of the problem

    def draw(values, rng):
        return {"u": rng.random(), "y": values["x1"] + rng.random()}

    common = sens.evaluate_design(problem, X, draw, seed=11)
    assert np.unique(common["u"]).size == 1  # every point: the same random numbers
    own = sens.evaluate_design(problem, X, draw, seed=11, common_random_numbers=False)
    assert np.unique(own["u"]).size == X.shape[0]
    again = sens.evaluate_design(problem, X, draw, seed=11, common_random_numbers=False)
    assert np.array_equal(own["u"], again["u"])
    first = sens.sensitivity_indices(problem, X, own, seed=11)
    pd.testing.assert_frame_equal(first, sens.sensitivity_indices(problem, X, own, seed=11))
    seen = []

    def mapper(function, tasks):
        tasks = list(tasks)
        seen.append(len(tasks))
        return [function(t) for t in tasks]

    mapped = sens.evaluate_design(problem, X, draw, seed=11, mapper=mapper)
    assert seen == [X.shape[0]] and np.array_equal(mapped["y"], common["y"])


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="even"):
        sens.morris_problem(assumptions(LINEAR_BOUNDS), levels=5)
    with pytest.raises(ValueError, match="empty"):
        sens.morris_problem(assumptions([(1.0, 1.0)]))
    problem = sens.morris_problem(assumptions(LINEAR_BOUNDS))
    with pytest.raises(ValueError, match="2 trajectories"):
        sens.morris_design(problem, 1, seed=1)
    X = sens.morris_design(problem, 4, seed=1)
    y = np.arange(X.shape[0], dtype=float)
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"output p_infection_amur_leopard: not a finite.*\[3\]"):
        sens.sensitivity_indices(problem, X, {"p_infection_amur_leopard": y}, seed=1)
    with pytest.raises(ValueError, match="values for"):
        sens.sensitivity_indices(problem, X, {"y": y[:5]}, seed=1)
    calls = iter([{"a": 1.0}, {"b": 1.0}])
    with pytest.raises(ValueError, match="design point 1"):
        sens.evaluate_design(problem, X[:2], lambda v, rng: next(calls), seed=1)


def test_tornado_shows_the_top_assumptions_with_labels(tmp_path):
    indices = run(linear, LINEAR_BOUNDS, trajectories=4, levels=4)[2]
    bars = sens.tornado_rows(indices, "y", labels={"x2": "case fatality: leopard"}, top=3)
    assert bars["parameter"].tolist() == ["x2", "x1", "x3"]
    assert bars["label"].tolist() == [
        "case fatality: leopard (10 to 14)", "x1 (0 to 1)", "x3 (-1 to 1)",
    ]  # fmt: skip
    path = tmp_path / "fig" / "tornado.png"
    sens.plot_tornado(indices, "y", path, labels={"x2": "case fatality: leopard"}, top=3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(KeyError, match="deaths"):
        sens.plot_tornado(indices, "deaths", path)


# --- the transmission model through ScenarioOutputs ---------------------------------------------


def _village_plans():
    """Dogs infected from outside pass CDV to leopards; one scenario vaccinates every dog."""
    import networkx as nx

    from disease_risk.transmission import scenarios
    from disease_risk.transmission.contact_network import ContactNetwork

    graph = nx.DiGraph()
    dogs = [f"d{i}" for i in range(40)]
    leopards = [f"l{i}" for i in range(10)]
    for node in [*dogs, *leopards]:
        species = "domestic_dog" if node.startswith("d") else "amur_leopard"
        graph.add_node(node, species=species, site="s", x=0.0, y=0.0, origin="simulated")
    for d in dogs:
        for x in leopards:
            graph.add_edge(d, x, weight=1.0, transmission_rate=0.5)
    network = ContactNetwork.from_graph(graph)
    disease = {
        "latent_days": 5, "infectious_days": {"low": 5, "high": 15}, "case_fatality": 0.5,
        "source": "test",
    }  # fmt: skip
    settings = {
        "horizon_days": 365.0,
        "replicates": 1,
        "disease": {
            "domestic_dog": {**disease, "outside_infection": {"low": 0.1, "high": 0.5}},
            "amur_leopard": {**disease, "outside_infection": 0.0},
        },
        "scenarios": {
            "baseline": {},
            "all_dogs": {"vaccination_coverage": {"domestic_dog": 1.0}},
        },
    }
    plans = {
        name: scenarios.plan_scenario(network, settings, name) for name in settings["scenarios"]
    }
    return plans, settings


def test_fixed_values_reach_the_replicate_and_leave_other_draws_alone():
    from disease_risk.transmission import scenarios

    plans, _ = _village_plans()
    plan = plans["baseline"]
    free = scenarios.run_replicate(
        plan, None, 0, np.random.default_rng(1), np.random.default_rng(2)
    )
    fixed = scenarios.run_replicate(
        plan, None, 0, np.random.default_rng(1), np.random.default_rng(2),
        {"outside_infection_domestic_dog": 0.3},
    )  # fmt: skip
    assert fixed["outside_infection_domestic_dog"] == 0.3
    assert free["outside_infection_domestic_dog"] != 0.3
    assert fixed["case_fatality_domestic_dog"] == free["case_fatality_domestic_dog"]


def test_scenario_outputs_see_the_protection_and_match_on_two_processes():
    """Vaccinating every dog removes the leopards' only source: the effect equals the
    baseline's chance of infection exactly; two processes give the same values."""
    plans, settings = _village_plans()
    evaluate = sens.ScenarioOutputs(plans, "baseline", ("amur_leopard",), 10)
    out = evaluate({"outside_infection_domestic_dog": 0.5}, np.random.default_rng(3))
    assert out["p_infection_amur_leopard"] > 0.5
    assert out["effect_all_dogs_amur_leopard"] == out["p_infection_amur_leopard"]
    assumptions = sens.assumption_ranges(settings, {"contact_rules": []})
    problem = sens.morris_problem(assumptions)
    design = sens.morris_design(problem, 2, seed=4)
    one = sens.evaluate_in_processes(problem, design, evaluate, 4, processes=1)
    two = sens.evaluate_in_processes(problem, design, evaluate, 4, processes=2)
    for name in one:
        np.testing.assert_array_equal(one[name], two[name])
    indices = sens.sensitivity_indices(problem, design, one, seed=4)
    top = sens.uncertainty_drivers(indices, "p_infection_amur_leopard", top=1)
    assert top == ["outside_infection_domestic_dog"]


def test_one_at_a_time_effect_is_the_change_across_the_range_and_ranks_with_morris():
    pops = [Assumption("population_factor_a", sens.POPULATION_KIND, 0.5, 1.5, "s", "a"),
            Assumption("population_factor_b", sens.POPULATION_KIND, 1.0, 3.0, "s", "b")]
    slopes = {"population_factor_a": 0.4, "population_factor_b": -0.01}

    def evaluate_at(end):
        assumption, value = end
        return {"y": slopes[assumption.name] * value}

    oat = sens.one_at_a_time(pops, evaluate_at)
    effects = by_parameter(oat)
    assert effects.loc["population_factor_a", "mu"] == pytest.approx(0.4)
    assert effects.loc["population_factor_b", "mu"] == pytest.approx(-0.02)
    assert effects.loc["population_factor_b", "mu_star"] == pytest.approx(0.02)
    assert effects["mu_star_conf"].isna().all()
    *_, morris = run(linear, LINEAR_BOUNDS, trajectories=4, levels=4)
    merged = sens.merged_indices(morris, oat)
    assert len(merged) == len(morris) + len(oat)
    ranked = merged.sort_values("mu_star", ascending=False)
    assert ranked["rank"].tolist() == sorted(ranked["rank"].tolist())
    assert list(merged.columns) == list(SENSITIVITY_COLUMNS)


def test_population_sizes_scale_counts_densities_and_every_settlements_dogs():
    config = {
        "sites": [{"name": "A", "dogs": 10}, {"name": "B", "dogs": 3}],
        "dogs": {"home_range_km2": 1, "source": "dogs"},
        "populations": {"amur_leopard": {"count": 120, "source": "census"},
                        "raccoon_dog": {"density_per_km2": 0.05, "source": "assumption"}},
    }
    factor = {"low": 0.5, "high": 1.5}
    names = [a.name for a in sens.population_assumptions(config, factor)]
    assert names == ["population_factor_amur_leopard", "population_factor_raccoon_dog",
                     "population_factor_domestic_dog"]
    assert sens.population_assumptions(config, None) == []
    assert sens.scaled_population(config, "amur_leopard", 0.5)["populations"]["amur_leopard"][
        "count"] == 60
    assert sens.scaled_population(config, "raccoon_dog", 1.5)["populations"]["raccoon_dog"][
        "density_per_km2"] == pytest.approx(0.075)
    dogs = sens.scaled_population(config, "domestic_dog", 1.5)["sites"]
    assert [s["dogs"] for s in dogs] == [15, 4]  # round(4.5) = 4
    assert config["sites"][0]["dogs"] == 10  # the config itself is left alone


def test_screened_scenarios_keep_the_baseline_and_refuse_unknown_names():
    settings = {"horizon_days": 10, "scenarios": {"baseline": {}, "a": {}, "b": {}}}
    assert sens.screened_scenarios(settings, None, "baseline") == settings
    kept = sens.screened_scenarios(settings, ["b"], "baseline")
    assert list(kept["scenarios"]) == ["baseline", "b"] and kept["horizon_days"] == 10
    with pytest.raises(ValueError, match=r"\['c'\] not among"):
        sens.screened_scenarios(settings, ["c"], "baseline")
