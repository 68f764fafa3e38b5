"""Calibration of the transmission model to serology (ABC-SMC with pyabc) against exact answers.

- the per-rule decomposition of arc rates reproduces the network's rates;
- the serology targets are the stated functions of the posterior draws;
- coverage on synthetic truth: with parameters drawn from the prior and data drawn from the
  model the calibration assumes, its 90% intervals cover the truth at the nominal rate, and
  they are narrower than the prior's (a prior-only answer would also cover, but not narrow);
- the answer follows the data: when the serology says dogs are the reservoir, vaccinating dogs
  protects leopards; when it says wild mesocarnivores are, it does not;
- a calibration reruns identically, on one process or two.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from disease_risk.intake.registry import load_species_registry
from disease_risk.tables import outside_infection_column, p_transmission_column
from disease_risk.transmission import calibration as cal
from disease_risk.transmission import scenarios
from disease_risk.transmission.contact_network import (
    ContactNetwork,
    build_contact_network,
    rule_contact_rates,
    simulate_individuals,
    transmission_probability,
)
from disease_risk.transmission.network_files import load_network_config, network_from_config
from disease_risk.transmission.scenarios import CalibrationPosterior

YEAR = 365.25


def test_rule_rates_rebuild_the_network_rates(tmp_path):
    """Arcs x rules contact rates times the nominal p give every arc's transmission rate, on
    the example network and after a release adds animals."""
    from conftest import CONFIG_DIR

    config = load_network_config(CONFIG_DIR / "network.yaml")
    network = network_from_config(
        CONFIG_DIR / "network.yaml", 7, load_species_registry(CONFIG_DIR / "species.yaml")
    )
    p = np.array([transmission_probability(r) for r in config["contact_rules"]])
    for net in (
        network,
        scenarios.scenario_setup(
            network, {"release": {"species": "amur_leopard", "n": 10, "site": "release_enclosure"}},
            config, 7,
        ),
    ):  # fmt: skip
        rates = rule_contact_rates(net, config)
        assert rates.shape == (len(net.arcs), len(config["contact_rules"]))
        np.testing.assert_allclose(rates @ p, net.arcs["transmission_rate"], rtol=1e-12)
        assert (net.arcs["transmission_rate"] > 0).sum() > 1000


def test_foi_targets_are_the_mean_of_the_last_years():
    """Two draws, two species, three years, the last two averaged."""
    draws = np.array([[[0.1, 0.2, 0.4], [1.0, 1.0, 1.0]], [[0.1, 0.4, 0.8], [2.0, 2.0, 2.0]]])
    t = cal.foi_targets(draws, ["a", "b"], [2001, 2002, 2003], target_years=2)
    np.testing.assert_allclose(t["foi_median"], [(0.3 + 0.6) / 2, 1.5])
    np.testing.assert_allclose(t["log_foi_mean"], [np.log([0.3, 0.6]).mean(), np.log(2) / 2])
    np.testing.assert_allclose(t["log_foi_sd"], [np.log(0.6 / 0.3) / np.sqrt(2)] * 2)
    assert (t["first_year"] == 2002).all() and (t["last_year"] == 2003).all()


def test_only_ranges_are_calibrated():
    rules = [
        {"name": "r1", "p_transmission": 0.2, "source": "s"},
        {"name": "r2", "p_transmission": {"low": 0.0, "high": 0.4}, "source": "s"},
    ]
    disease = {
        "dog": {"outside_infection": {"low": 0.0, "high": 0.3}, "source": "s"},
        "leopard": {"outside_infection": 0.0, "source": "s"},
        "fox": {"source": "s"},
    }
    params = cal.calibration_parameters(rules, disease)
    assert [p.column for p in params] == ["p_transmission_r2", "outside_infection_dog"]
    assert (params[0].low, params[0].high, params[1].high) == (0.0, 0.4, 0.3)


# --- coverage on synthetic truth ---------------------------------------------------------------

PRIOR_HIGH = 0.5


def isolated_plan(n: int = 300) -> scenarios.ScenarioPlan:
    """Two species without contacts, each infected only from outside at a calibrated rate."""
    nodes = pd.DataFrame(
        {
            "node": [f"n{i}" for i in range(2 * n)],
            "species": ["domestic_dog"] * n + ["red_fox"] * n,
            "site": "s",
            "x": 0.0,
            "y": 0.0,
            "home_range_km2": 1.0,
            "origin": "simulated",
        }
    )
    arcs = pd.DataFrame(
        {
            "source": np.zeros(0, np.int64),
            "target": np.zeros(0, np.int64),
            "weight": np.zeros(0),
            "transmission_rate": np.zeros(0),
            "rules": pd.Categorical([]),
        }
    )
    disease = {
        "latent_days": 7,
        "infectious_days": 14,
        "case_fatality": 0.5,
        "initial_immune": 0.2,
        "outside_infection": {"low": 0.0, "high": PRIOR_HIGH},
        "source": "test",
    }
    settings = {
        "horizon_days": YEAR,
        "replicates": 1,
        "disease": {"domestic_dog": disease, "red_fox": disease},
        "demography": {
            "domestic_dog": {"annual_survival": 0.7, "source": "test"},
            "red_fox": {"annual_survival": 0.5, "source": "test"},
        },
        "scenarios": {"calibration": {}},
    }
    return scenarios.plan_scenario(ContactNetwork(nodes, arcs), settings, "calibration"), settings


SYNTHETIC_SD = np.array([0.25, 0.4])  # serology SD of each species' log FOI
COVERAGE_SETTINGS = cal.CalibrationSettings(
    burn_in_years=3, window_years=5, population_size=150, max_generations=8, max_simulations=3000
)


def coverage_setup() -> tuple[cal.FoiSimulator, list[cal.CalibrationParameter]]:
    """The simulator and calibrated parameters of the coverage check (test and benchmark)."""
    plan, settings = isolated_plan()
    simulator = cal.FoiSimulator.build(plan, ["domestic_dog", "red_fox"], COVERAGE_SETTINGS)
    return simulator, cal.calibration_parameters([], settings["disease"])


def synthetic_data(
    simulator: cal.FoiSimulator, params: list[cal.CalibrationParameter], rep: int
) -> tuple[dict[str, float], pd.DataFrame]:
    """Data set ``rep``: truth drawn from the prior; observed log FOI = one simulation at the
    truth plus Normal(0, SYNTHETIC_SD) (the measurement model the calibration assumes)."""
    rng = np.random.default_rng(1000 + rep)
    truth = {p.column: rng.uniform(p.low, p.high) for p in params}
    observed = simulator.log_foi(truth, rng) + rng.normal(0, SYNTHETIC_SD)
    targets = pd.DataFrame(
        {"species": list(simulator.species), "log_foi_mean": observed, "log_foi_sd": SYNTHETIC_SD}
    )
    return truth, targets


@pytest.mark.slow
def test_calibration_covers_the_truth_at_the_nominal_rate():
    """12 data sets: truth from the prior; observed log FOI = one simulation at the truth plus
    Normal(0, sd) noise (the measurement model the calibration assumes). 24 intervals: at
    least 18 must cover (P(X <= 17) = 0.007 under the nominal 90%; a calibration that ignored
    the serology's error covered 14 of 40); mean width under 0.6 x the prior's."""
    simulator, params = coverage_setup()
    covered, widths = [], []
    for rep in range(12):
        truth, targets = synthetic_data(simulator, params, rep)
        result = cal.calibrate(simulator, targets, params, COVERAGE_SETTINGS, seed=rep)
        table = cal.parameter_table(params, result.posterior)
        for row in table.itertuples():
            covered.append(row.posterior_lo90 <= truth[row.parameter] <= row.posterior_hi90)
            widths.append((row.posterior_hi90 - row.posterior_lo90) / (0.9 * PRIOR_HIGH))
    assert sum(covered) >= 18, (sum(covered), len(covered))
    assert stats.binom.cdf(sum(covered), len(covered), 0.9) > 0.001  # and not too many misses
    assert np.mean(widths) < 0.6


def small_calibration():
    """A calibration of dogs' and foxes' spillover on a small isolated plan: (simulator,
    targets, parameters, settings)."""
    plan, settings = isolated_plan(100)
    calibration = cal.CalibrationSettings(
        burn_in_years=2, window_years=3, population_size=60, max_generations=3
    )
    simulator = cal.FoiSimulator.build(plan, ["domestic_dog", "red_fox"], calibration)
    params = cal.calibration_parameters([], settings["disease"])
    targets = pd.DataFrame(
        {"species": ["domestic_dog", "red_fox"], "log_foi_mean": [-2.0, -1.5], "log_foi_sd": 0.3}
    )
    return simulator, targets, params, calibration


def test_calibration_reruns_identically_on_one_or_two_processes():
    simulator, targets, params, calibration = small_calibration()
    one = cal.calibrate(simulator, targets, params, calibration, seed=3, processes=1)
    again = cal.calibrate(simulator, targets, params, calibration, seed=3, processes=1)
    two = cal.calibrate(simulator, targets, params, calibration, seed=3, processes=2)
    pd.testing.assert_frame_equal(one.posterior, again.posterior)
    pd.testing.assert_frame_equal(one.posterior, two.posterior)
    other = cal.calibrate(simulator, targets, params, calibration, seed=4, processes=1)
    assert not one.posterior.equals(other.posterior)


def test_a_generation_is_unpickled_once_per_process_with_the_particles_of_one_per_task(
    monkeypatch,
):
    """Unpickling pyabc's simulate function rebuilds the prior's scipy distributions (about
    half a simulation of the example); sharing it within a generation must not change a
    particle (oracle: one unpickling per task, as pyabc's MappingSampler does)."""
    simulator, targets, params, calibration = small_calibration()
    shared = cal.SeededMappingSampler.generation_function
    functions = []

    def counted(self, pickled):
        functions.append(shared(self, pickled))
        return functions[-1]

    monkeypatch.setattr(cal.SeededMappingSampler, "generation_function", counted)
    once = cal.calibrate(simulator, targets, params, calibration, seed=3, processes=1)
    distinct = len({id(f) for f in functions})
    assert len(functions) >= 3 * calibration.population_size
    assert distinct <= calibration.max_generations + 1, (distinct, len(functions))
    monkeypatch.setattr(
        cal.SeededMappingSampler, "generation_function", lambda self, p: self.unpickle(p)
    )
    per_task = cal.calibrate(simulator, targets, params, calibration, seed=3, processes=1)
    pd.testing.assert_frame_equal(once.posterior, per_task.posterior)
    pd.testing.assert_frame_equal(once.progress, per_task.progress)


# --- the answer follows the data ---------------------------------------------------------------

LANDSCAPE = {
    "study_area": {"name": "test", "width_km": 20, "height_km": 20},
    "sites": [{"name": "village", "x_km": 10, "y_km": 10, "dogs": 80}],
    "dogs": {"home_range_km2": 1.0, "village_spread_km": 0.5},
    "populations": {
        "raccoon_dog": {"count": 80, "home_range_km2": 20, "source": "test"},
        "amur_leopard": {"count": 30, "home_range_km2": 80, "source": "test"},
    },
    "release": {"spread_km": 1.0, "home_range_km2": 80},
    "contact_rules": [
        {"name": "leopard_predation_dogs", "kind": "overlap", "a": ["domestic_dog"],
         "b": ["amur_leopard"], "per_individual_of": "b", "rate_per_year": 2.0,
         "transmits": "a_to_b", "p_transmission": {"low": 0.0, "high": 1.0}, "source": "test"},
        {"name": "leopard_predation_raccoon_dogs", "kind": "overlap", "a": ["raccoon_dog"],
         "b": ["amur_leopard"], "per_individual_of": "b", "rate_per_year": 2.0,
         "transmits": "a_to_b", "p_transmission": {"low": 0.0, "high": 1.0}, "source": "test"},
    ],
}  # fmt: skip


def landscape_settings() -> dict:
    disease = {
        "latent_days": 10,
        "infectious_days": 14,
        "case_fatality": 0.5,
        "initial_immune": 0.2,
        "source": "test",
    }
    outside = {"outside_infection": {"low": 0.0, "high": 0.4}}
    return {
        "horizon_days": 3 * YEAR,
        "replicates": 200,
        "period_shape": 2,
        "disease": {
            "domestic_dog": {**disease, **outside},
            "raccoon_dog": {**disease, **outside},
            "amur_leopard": {**disease, "outside_infection": 0.0},
        },
        "demography": {
            "domestic_dog": {"annual_survival": 0.7, "source": "test"},
            "raccoon_dog": {"annual_survival": 0.5, "source": "test"},
            "amur_leopard": {"annual_survival": 0.85, "source": "test"},
        },
        "scenarios": {
            "calibration": {},
            "baseline": {},
            "dog_vaccination": {"vaccination_coverage": {"domestic_dog": 0.8}},
        },
    }


def leopard_cases_averted(reservoir_foi: dict[str, float]) -> tuple[float, pd.DataFrame]:
    """Calibrate the landscape to serology where the leopards' FOI is 0.05 and the given
    reservoir FOIs, then simulate: share of leopard infections that 80% dog vaccination averts."""
    network = build_contact_network(
        simulate_individuals(LANDSCAPE, np.random.default_rng(11)), LANDSCAPE
    )
    settings = landscape_settings()
    plan = scenarios.plan_scenario(network, settings, "calibration", LANDSCAPE)
    calibration = cal.CalibrationSettings(
        burn_in_years=5, window_years=10, population_size=120, max_generations=10,
        max_simulations=4000,
    )  # fmt: skip
    species = ["domestic_dog", "raccoon_dog", "amur_leopard"]
    simulator = cal.FoiSimulator.build(plan, species, calibration)
    targets = pd.DataFrame(
        {
            "species": species,
            "log_foi_mean": np.log([reservoir_foi["domestic_dog"], reservoir_foi["raccoon_dog"],
                                    0.05]),
            "log_foi_sd": [0.25, 0.25, 0.35],
        }
    )  # fmt: skip
    params = cal.calibration_parameters(LANDSCAPE["contact_rules"], settings["disease"])
    result = cal.calibrate(simulator, targets, params, calibration, seed=5)
    posterior = CalibrationPosterior.from_table(result.posterior)
    infected = {
        name: scenarios.run_scenario(
            network, settings, name, posterior, seed=9, network_config=LANDSCAPE
        )["infected_amur_leopard"].mean()
        for name in ("baseline", "dog_vaccination")
    }
    table = cal.parameter_table(params, result.posterior)
    return 1 - infected["dog_vaccination"] / infected["baseline"], table


@pytest.mark.slow
def test_dog_vaccination_protects_leopards_only_when_serology_says_dogs_are_the_reservoir():
    dogs, dog_table = leopard_cases_averted({"domestic_dog": 0.25, "raccoon_dog": 0.005})
    wild, wild_table = leopard_cases_averted({"domestic_dog": 0.005, "raccoon_dog": 0.25})
    assert dogs > 0.3, dog_table
    assert abs(wild) < 0.1, wild_table
    by_rule = dog_table.set_index("parameter")["posterior_median"]
    assert by_rule[p_transmission_column("leopard_predation_dogs")] > by_rule[
        p_transmission_column("leopard_predation_raccoon_dogs")
    ]
    assert wild_table.set_index("parameter")["posterior_median"][
        outside_infection_column("raccoon_dog")
    ] > 0.1
