"""Catalytic force-of-infection model: exposure bookkeeping, cells and recovery of known FOI.

Cells: the binomial likelihood over cells must equal the per-animal Bernoulli likelihood plus
the log binomial coefficients (exactly, computed here from the animals), cells must hold every
animal used, and the time grid must move ages by at most half a step.

Recovery: FOI, Se, Sp and serostatus are drawn from the model's generative prior (PyMC forward
sampling), then fitted; the 95% intervals must cover the true FOI at about the nominal rate
(2 species x 30 simulations = 60 intervals; pass if at least 52 cover, i.e. coverage >= 0.867;
a correct model fails with probability 0.3% under Binomial(60, 0.95), checked in the test).
"""

from __future__ import annotations

from collections import Counter
from math import comb, log

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats
from scipy.special import expit

from disease_risk.serology import force_of_infection
from disease_risk.serology.accuracy import AssayAccuracy
from disease_risk.serology.force_of_infection import (
    FoiSettings,
    build_foi_model,
    exposure_matrix,
    foi_data,
    foi_data_from_animals,
    foi_ppc,
    round_times,
)
from disease_risk.serology.sampling import (
    Fit,
    SamplerSettings,
    model_fingerprint,
    posterior_draws,
    sample_posterior,
)

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


def test_time_resolution_setting():
    assert FoiSettings.from_config({}).time_resolution_months == 1
    assert FoiSettings.from_config({"time_resolution_months": None}).time_resolution_months == 0
    assert FoiSettings.from_config({"time_resolution_months": 3}).time_resolution_months == 3
    with pytest.raises(ValueError, match="time_resolution_months"):
        FoiSettings(time_resolution_months=5)


def test_round_times_by_hand():
    birth = np.array([2013.2, 2014.5, 2010.0])
    sampled = np.array([2015.2, 2015.3, 2015.99])
    b, t, age = round_times(birth, sampled, 1)
    # 2015.2 is in the 3rd twelfth of 2015 (middle 2015 + 2.5/12); ages 2.0, 0.8 -> 10 months,
    # 5.99 -> 72 months; birth = sampling - age
    np.testing.assert_allclose(t, [2015 + 2.5 / 12, 2015 + 3.5 / 12, 2015 + 11.5 / 12])
    np.testing.assert_array_equal(age, [2.0, 10 / 12, 6.0])
    np.testing.assert_allclose(b, t - age)
    b, t, age = round_times(birth, sampled, 12)
    np.testing.assert_allclose(t, [2015.5, 2015.5, 2015.5])
    np.testing.assert_array_equal(age, [2.0, 1.0, 6.0])
    b, t, age = round_times(birth, sampled, 0)
    np.testing.assert_array_equal(b, birth)
    np.testing.assert_array_equal(t, sampled)


@pytest.mark.parametrize("months", [1, 3, 12])
def test_rounding_moves_exposure_total_by_at_most_half_a_step(months):
    rng = np.random.default_rng(21)
    sampled = 2000 + rng.uniform(0, 20, size=2000)
    birth = sampled - np.concatenate([rng.uniform(0, 12, size=1500), rng.integers(0, 12, 500)])
    animals = pd.DataFrame({
        "species": "red_fox", "assay": "VNT", "positive": 0, "birth_time": birth,
        "sampled_time": sampled, "animal_id": "",
    })
    data = foi_data_from_animals(animals, time_resolution_months=months)
    step = months / 12
    per_animal = data.cell_exposure[data.animals["cell"].to_numpy()]
    exact_total = data.exposure.sum(axis=1)
    np.testing.assert_allclose(exact_total, sampled - birth, atol=1e-9)
    moved = np.abs(per_animal.sum(axis=1) - exact_total)
    assert moved.max() <= step / 2 + 1e-9
    assert moved.max() > 0.4 * step  # the bound is reached, so the check is not vacuous
    cell_of = data.cells.loc[data.animals["cell"]]
    assert np.abs(cell_of["sampled_time"].to_numpy() - sampled).max() <= step / 2 + 1e-9
    assert np.abs(cell_of["birth_time"].to_numpy() - birth).max() <= step + 1e-9
    np.testing.assert_array_equal(np.floor(cell_of["sampled_time"]), np.floor(sampled))
    np.testing.assert_allclose(
        data.cell_exposure.sum(axis=1), data.cells["age_years"], atol=1e-9
    )
    assert len(data.cells) < len(data.animals)


def random_samples(rng: np.random.Generator, n: int = 600) -> pd.DataFrame:
    species = rng.choice(["gray_wolf", "red_fox", "amur_tiger", "sika_deer"], size=n)
    dates = pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    age = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0, np.nan], size=n, p=[0.2, 0.2, 0.2, 0.2, 0.1, 0.1])
    birth_year = np.where(rng.random(n) < 0.2, dates.year - rng.integers(1, 5, n), np.nan)
    animal = [f"A{i}" if i < 150 else "" for i in rng.integers(0, 400, n)]
    return pd.DataFrame({
        "sample_id": [f"s{i}" for i in range(n)],
        "animal_id": animal,
        "species": species,
        "species_role": np.where(species == "sika_deer", "prey", "reservoir"),
        "site": "Y",
        "collection_date": dates.strftime("%Y-%m-%d"),
        "year": dates.year,
        "assay": rng.choice(["VNT", "ELISA_IgG"], size=n),
        "result": rng.choice(["positive", "negative", "indeterminate"], size=n, p=[0.3, 0.6, 0.1]),
        "age_years": age,
        "birth_year": birth_year,
    })


@pytest.mark.parametrize("months", [0, 1, 12])
def test_cells_conserve_animals_and_positives(months):
    samples = random_samples(np.random.default_rng(3))
    data = foi_data(samples, FoiSettings(time_resolution_months=months, min_age_years=0.75))
    animals, cells = data.animals, data.cells
    assert sum(r["count"] for r in data.exclusions) == len(samples)
    used = {r["item"].removeprefix("used: "): r["count"] for r in data.exclusions
            if r["item"].startswith("used: ")}
    assert used == animals.groupby("species").size().to_dict()
    assert cells.groupby("species")["n_animals"].sum().to_dict() == used
    assert (cells.groupby("species")["n_positive"].sum().to_dict()
            == animals.groupby("species")["positive"].sum().to_dict())
    by_cell = animals.groupby("cell").agg(
        n=("positive", "size"), k=("positive", "sum"),
        species=("species", "unique"), assay=("assay", "unique"),
    )
    np.testing.assert_array_equal(by_cell.index, np.arange(len(cells)))
    np.testing.assert_array_equal(by_cell["n"], cells["n_animals"])
    np.testing.assert_array_equal(by_cell["k"], cells["n_positive"])
    assert [list(v) for v in by_cell["species"]] == [[s] for s in cells["species"]]
    assert [list(v) for v in by_cell["assay"]] == [[a] for a in cells["assay"]]
    assert data.cell_exposure.shape == (len(cells), len(data.years))
    if months:
        assert len(cells) < len(animals)


def duplicated_design(rng: np.random.Generator) -> pd.DataFrame:
    n = 60
    sampled = 2012 + rng.uniform(0, 6, size=n)
    design = pd.DataFrame({
        "species": rng.choice(["raccoon_dog", "amur_tiger"], size=n),
        "assay": rng.choice(["VNT", "ELISA_IgG"], size=n),
        "positive": rng.integers(0, 2, size=n),
        "birth_time": sampled - rng.uniform(0.2, 9, size=n),
        "sampled_time": sampled,
    })
    copies = design.iloc[rng.integers(0, n, size=40)].assign(
        positive=rng.integers(0, 2, size=40)
    )
    both = pd.concat([design, copies], ignore_index=True)
    return both.assign(animal_id=[f"A{i}" for i in range(len(both))])


ACCURACY = {
    "VNT": AssayAccuracy("VNT", 38, 4, 98, 2, 40, 37, 60, 59),
    "ELISA_IgG": AssayAccuracy("ELISA_IgG", 20, 5, 40, 3),
}


@pytest.mark.parametrize("mode", ["random_walk", "constant"])
def test_cell_likelihood_is_per_animal_bernoulli_plus_log_binomial_coefficients(mode):
    rng = np.random.default_rng(17)
    animals = duplicated_design(rng)
    data = foi_data_from_animals(animals, time_resolution_months=0)
    assert len(data.cells) < len(animals)
    model = build_foi_model(data, ACCURACY, FoiSettings(mode=mode))
    point = {k: v + rng.normal(0, 0.5, size=np.shape(v))
             for k, v in model.initial_point().items()}
    cell_logp = model.compile_logp(vars=[model["seropositive"]])(point)

    species, assays = ["amur_tiger", "raccoon_dog"], ["ELISA_IgG", "VNT"]
    birth, sampled = animals["birth_time"].to_numpy(), animals["sampled_time"].to_numpy()
    years = np.arange(np.floor(birth.min()), np.floor(sampled.max()) + 1)
    exposure = exposure_matrix(birth, sampled, years)
    mean = point["log_foi_mean"]
    if mode == "random_walk":
        rw_sd = np.exp(point["log_foi_rw_sd_log__"])
        walk = np.cumsum(np.column_stack([np.zeros(2), point["log_foi_steps"] * rw_sd[:, None]]),
                         axis=1)
        foi = np.exp(mean[:, None] + walk - walk.mean(axis=1, keepdims=True))
    else:
        foi = np.exp(mean)[:, None].repeat(len(years), axis=1)
    s = animals["species"].map(species.index).to_numpy()
    a = animals["assay"].map(assays.index).to_numpy()
    infected = 1 - np.exp(-(exposure * foi[s]).sum(axis=1))
    se = expit(point["sensitivity_logodds__"])[a]
    sp = expit(point["specificity_logodds__"])[a]
    apparent = se * infected + (1 - sp) * (1 - infected)
    bernoulli = stats.bernoulli.logpmf(animals["positive"], apparent)
    keys = list(zip(animals["species"], animals["assay"], birth, sampled, strict=True))
    trials = Counter(keys)
    hits = Counter(k for k, y in zip(keys, animals["positive"], strict=True) if y)
    log_coefficients = sum(log(comb(n, hits[k])) for k, n in trials.items())
    assert log_coefficients > 5  # duplicates with mixed results present
    assert cell_logp == pytest.approx(bernoulli.sum() + log_coefficients, rel=1e-12, abs=1e-9)


def test_data_values_do_not_change_the_model_structure():
    animals = duplicated_design(np.random.default_rng(8))
    other = animals.assign(
        positive=1 - animals["positive"], birth_time=animals["birth_time"] - 0.01
    )
    first, second = (foi_data_from_animals(x) for x in (animals, other))
    assert (len(first.cells), first.years) == (len(second.cells), second.years)
    assert not np.array_equal(first.cell_exposure, second.cell_exposure)
    one, two = (build_foi_model(d, ACCURACY, FoiSettings()) for d in (first, second))
    assert model_fingerprint(one) == model_fingerprint(two)
    assert list(one.coords["cell"]) == list(range(len(first.cells)))


def fake_fit(foi: np.ndarray, se: np.ndarray, sp: np.ndarray, draws: int = 400) -> Fit:
    """A fit whose every draw is the same: FOI (species), Se and Sp (assay)."""
    def tile(values: np.ndarray) -> np.ndarray:
        return np.broadcast_to(values, (2, draws, *values.shape)).copy()

    idata = az.from_dict(posterior={
        "force_of_infection": tile(foi), "sensitivity": tile(se), "specificity": tile(sp),
    })
    return Fit(idata=idata, sampler="fixed", seconds=0.0, seed=0)


def test_ppc_exact_counts_per_species_and_age_band(monkeypatch):
    monkeypatch.setattr(force_of_infection, "PPC_CHUNK", 2 * 800)  # 800 draws: 2 cells a block
    animals = duplicated_design(np.random.default_rng(4))
    data = foi_data_from_animals(animals, time_resolution_months=0)
    # amur_tiger certainly infected, raccoon_dog never; Se 1, ELISA Sp 0, VNT Sp 1: every
    # replicate is the same number
    fit = fake_fit(np.array([1e6, 0.0]), np.array([1.0, 1.0]), np.array([0.0, 1.0]))
    table = foi_ppc(fit, data, seed=1)
    age = animals["sampled_time"] - animals["birth_time"]
    band = pd.cut(age, [0, 1, 2, 4, 8, np.inf], right=False,
                  labels=["0-1", "1-2", "2-4", "4-8", "8+"])
    expected = (animals["species"] == "amur_tiger") | (animals["assay"] == "ELISA_IgG")
    grouped = animals.assign(band=band, expected=expected).groupby(["species", "band"],
                                                                   observed=True)
    assert table["item"].tolist() == [f"{s}|age {b}" for s, b in grouped.size().index]
    np.testing.assert_array_equal(table["observed"], grouped["positive"].sum())
    np.testing.assert_array_equal(table["replicated_lo95"], grouped["expected"].sum())
    np.testing.assert_array_equal(table["replicated_hi95"], grouped["expected"].sum())


def test_ppc_replicates_are_binomial_per_cell():
    n, p = 200, 0.3
    animals = pd.DataFrame({
        "species": "red_fox", "assay": "VNT", "positive": np.arange(n) < 55,
        "birth_time": 2010.0, "sampled_time": 2012.5, "animal_id": "",
    })
    data = foi_data_from_animals(animals)
    assert len(data.cells) == 1
    foi = -np.log(1 - p) / 2.5
    table = foi_ppc(fake_fit(np.array([foi]), np.array([1.0]), np.array([1.0]), draws=5000),
                    data, seed=2).iloc[0]
    assert table["item"] == "red_fox|age 2-4"
    assert table["observed"] == 55
    lo, med, hi = stats.binom.ppf([0.025, 0.5, 0.975], n, p)
    assert abs(table["replicated_median"] - med) <= 1
    assert abs(table["replicated_lo95"] - lo) <= 1
    assert abs(table["replicated_hi95"] - hi) <= 1


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
                "n_positive": simulated["seropositive"].values[0, r],
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
