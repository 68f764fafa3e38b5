"""Catalytic force-of-infection model: exposure bookkeeping and recovery of known FOI.

Recovery: FOI, Se, Sp and serostatus are drawn from the model's generative prior (PyMC forward
sampling), then fitted; the 95% intervals must cover the true FOI at about the nominal rate
(2 species x 30 simulations = 60 intervals; pass if at least 52 cover, i.e. coverage >= 0.867;
a correct model fails with probability 0.3% under Binomial(60, 0.95), checked in the test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats

from disease_risk.assay_accuracy import AssayAccuracy
from disease_risk.force_of_infection import (
    FoiSettings,
    build_foi_model,
    exposure_matrix,
    foi_data,
    foi_data_from_animals,
)
from disease_risk.sampling import SamplerSettings, posterior_draws, sample_posterior

REPLICATIONS = 30
MIN_COVERED = 52


def test_exposure_matrix_splits_life_into_calendar_years():
    exposure = exposure_matrix(np.array([2010.5, 2011.0]), np.array([2012.25, 2011.5]),
                               [2010, 2011, 2012])
    np.testing.assert_allclose(exposure, [[0.5, 1.0, 0.25], [0.0, 0.5, 0.0]])


def samples_frame(rows: list[tuple]) -> pd.DataFrame:
    columns = ["sample_id", "animal_id", "species", "species_role", "site", "collection_date",
               "year", "assay", "result", "age_years", "birth_year"]
    return pd.DataFrame(rows, columns=columns)


def test_foi_data_ages_repeats_and_exclusions():
    rows = [
        ("a1", "W1", "gray_wolf", "reservoir", "Y", "2000-07-02", 2000, "VNT", "negative", 1.0,
         1999),
        ("a2", "W1", "gray_wolf", "reservoir", "Y", "2003-07-02", 2003, "VNT", "positive", 4.0,
         1999),
        ("a3", "W2", "gray_wolf", "reservoir", "Y", "2003-01-01", 2003, "VNT", "negative", 2.0,
         None),
        ("a4", "W3", "gray_wolf", "reservoir", "Y", "2003-01-01", 2003, "VNT", "negative", None,
         None),
        ("a5", "W4", "gray_wolf", "reservoir", "Y", "2003-01-01", 2003, "VNT", "indeterminate",
         3.0, None),
        ("a6", "W5", "gray_wolf", "reservoir", "Y", "2003-01-01", 2003, "VNT", "positive", 0.2,
         None),
    ]
    first = foi_data(samples_frame(rows), FoiSettings(min_age_years=0.5))
    used = first.animals.set_index("animal_id")
    # birth year preferred (born mid-1999), else collection date minus age
    assert used.loc["W1", "age_years"] == pytest.approx(2000.5 - 1999.5, abs=0.01)
    assert used.loc["W2", "age_years"] == pytest.approx(2.0)
    excluded = {r["item"]: r["count"] for r in first.exclusions}
    assert excluded == {
        "indeterminate result: gray_wolf": 1,
        "no age or birth year: gray_wolf": 1,
        "younger than min_age_years: gray_wolf": 1,
        "repeat capture, first capture used: gray_wolf": 1,
        "used: gray_wolf": 2,
    }
    last = foi_data(samples_frame(rows), FoiSettings(repeat_captures="last"))
    assert last.animals.set_index("animal_id").loc["W1", "positive"] == 1
    assert first.exposure.sum(axis=1) == pytest.approx(first.animals["age_years"].to_numpy())


def simulated_design(rng: np.random.Generator) -> pd.DataFrame:
    n = 150
    sampled = 2015 + rng.uniform(0, 5, size=2 * n)
    age = rng.uniform(0.3, 10, size=2 * n)
    return pd.DataFrame({
        "species": np.repeat(["raccoon_dog", "amur_tiger"], n),
        "assay": "VNT",
        "positive": 0,
        "birth_time": sampled - age,
        "sampled_time": sampled,
        "animal_id": [f"A{i}" for i in range(2 * n)],
    })


@pytest.mark.slow
def test_recovery_of_known_constant_foi():
    data = foi_data_from_animals(simulated_design(np.random.default_rng(5)))
    settings = FoiSettings(mode="constant")
    acc = {"VNT": AssayAccuracy("VNT", 38, 4, 98, 2, 40, 0, 60, 0)}
    model = build_foi_model(data, acc, settings)
    prior = pm.sample_prior_predictive(draws=REPLICATIONS, model=model, random_seed=7)
    truth, simulated = prior.prior, prior.prior_predictive
    sampler = SamplerSettings(draws=500, tune=400, chains=2, cores=2)
    covered = []
    for r in range(REPLICATIONS):
        with model:
            pm.set_data({
                "positive": simulated["seropositive"].values[0, r],
                "validation_positives": simulated["validation_positives_detected"].values[0, r],
                "validation_negatives": simulated["validation_negatives_negative"].values[0, r],
            })
        fit = sample_posterior(model, sampler, seed=300 + r)
        draws = posterior_draws(fit.idata, "force_of_infection")
        lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
        true = truth["force_of_infection"].values[0, r]
        covered.extend((true >= lo) & (true <= hi))
    assert stats.binom.cdf(MIN_COVERED - 1, 2 * REPLICATIONS, 0.95) < 0.005
    assert sum(covered) >= MIN_COVERED, f"{sum(covered)}/{len(covered)} intervals cover"
