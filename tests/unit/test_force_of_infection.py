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
from itertools import pairwise
from math import comb, log

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats
from scipy.special import expit
from test_seroprevalence import beta_quadrature

from disease_risk.serology import force_of_infection
from disease_risk.serology.accuracy import AssayAccuracy
from disease_risk.serology.force_of_infection import (
    FoiData,
    FoiSettings,
    RatePrior,
    age_band_labels,
    build_foi_model,
    cell_life_exposure,
    exposure_matrix,
    foi_data,
    foi_data_from_animals,
    foi_ppc,
    grid_for_cells,
    life_exposure,
    life_pieces,
    random_walk_basis,
    round_times,
    seropositive_probability,
    summarise_options,
    walk_information,
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
    foi = yearly_foi(point, mode, data)
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


GRID_AGES = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0)  # years; 20 animals at each, sampled mid-2015
GRID_POSITIVES = (3, 4, 7, 9, 12, 14)
GRID_VNT = AssayAccuracy("VNT", 38, 4, 98, 2, positives_tested=40, positives_detected=37,
                         negatives_tested=60, negatives_negative=59)


def grid_foi_posterior(
    settings: FoiSettings, assay: AssayAccuracy = GRID_VNT
) -> tuple[float, float, float]:
    """Exact posterior mean and 2.5/97.5% quantiles of a constant FOI (one species, cells of
    :data:`GRID_AGES`): log FOI on a fine grid under its Normal prior, Se and Sp integrated
    with Gauss-Legendre rules over their prior x validation Beta densities."""
    (sa, sb), (pa, pb) = assay.posterior_beta()
    se, wse = beta_quadrature(sa, sb, 60)
    sp, wsp = beta_quadrature(pa, pb, 60)
    log_foi = np.linspace(-9.0, 3.0, 3001)
    log_like = 0.0  # over log FOI x Se x Sp: every cell shares the assay's Se and Sp
    for age, positives in zip(GRID_AGES, GRID_POSITIVES, strict=True):
        infected = -np.expm1(-np.exp(log_foi) * age)[:, None, None]
        apparent = se[None, :, None] * infected + (1 - sp[None, None, :]) * (1 - infected)
        log_like = log_like + stats.binom.logpmf(positives, 20, apparent)
    like = np.exp(log_like - log_like.max())
    density = (stats.norm.pdf(log_foi, settings.log_foi_mu, settings.log_foi_sigma)
               * np.einsum("lsq,s,q->l", like, wse, wsp))
    density /= density.sum()
    cdf = np.cumsum(density) - density / 2
    mean = float((density * np.exp(log_foi)).sum())
    return mean, *(float(np.exp(np.interp(q, cdf, log_foi))) for q in (0.025, 0.975))


@pytest.mark.slow
@pytest.mark.parametrize("mass_matrix", ["diagonal", "low_rank"])
def test_constant_foi_with_imperfect_test_matches_grid_integration(mass_matrix):
    """The sampled FOI posterior (both mass matrices; the pipeline's FOI fit uses the low-rank
    one) against exact integration, within 4 Monte Carlo standard errors."""
    rows = []
    for age, positives in zip(GRID_AGES, GRID_POSITIVES, strict=True):
        rows += [{"species": "raccoon_dog", "assay": "VNT", "positive": int(i < positives),
                  "birth_time": 2015.5 - age, "sampled_time": 2015.5} for i in range(20)]
    animals = pd.DataFrame(rows).assign(animal_id=lambda d: [f"A{i}" for i in range(len(d))])
    settings = FoiSettings(mode="constant")
    data = foi_data_from_animals(animals)
    assert len(data.cells) == len(GRID_AGES)
    model = build_foi_model(data, {"VNT": GRID_VNT}, settings)
    sampler = SamplerSettings(draws=2000, tune=700, chains=2, cores=2, mass_matrix=mass_matrix)
    fit = sample_posterior(model, sampler, seed=17)
    draws = posterior_draws(fit.idata, "force_of_infection")[:, 0]
    sub = fit.idata.posterior[["force_of_infection"]]
    errors = [float(az.mcse(sub, method="mean")["force_of_infection"].values[0])] + [
        float(az.mcse(sub, method="quantile", prob=q)["force_of_infection"].values[0])
        for q in (0.025, 0.975)
    ]
    estimates = (draws.mean(), *np.quantile(draws, [0.025, 0.975]))
    exact = grid_foi_posterior(settings)
    for name, est, ref, err in zip(("mean", "q2.5", "q97.5"), estimates, exact, errors,
                                   strict=True):
        assert abs(est - ref) < 4 * err + 1e-3, f"{name}: sampled {est:.4f}, exact {ref:.4f}"
    perfect = grid_foi_posterior(settings, AssayAccuracy("VNT", 1e5, 1, 1e5, 1))
    assert abs(exact[0] - perfect[0]) > 10 * errors[0]  # the test's errors matter


# --- Options: seroreversion and age bands ------------------------------------------------------
#
# Exact answers: the closed-form catalytic curves (constant FOI a; with reversion rate rho,
# P(a) = lam / (lam + rho) (1 - exp(-(lam + rho) a)); two age bands split at b,
# P(a) = 1 - exp(-(l1 min(a, b) + l2 max(a - b, 0)))) and, for FOI varying by year and age band,
# the ODE dP/dt = FOI (1 - P) - rho P stepped piece by piece between new years and band edges
# found here independently of the model's exposure bookkeeping (and checked against a numerical
# ODE solution).

REVERSION = RatePrior("gamma", (("alpha", 2.0), ("beta", 10.0)))
DEFAULT_LOGP = {"random_walk": -98.47692085753738, "constant": -72.59645970808252}
# The log densities are those of the first model; the graphs (fingerprints) changed on
# 2026-12-05 (issue 17): hazard from cumulative FOI (two look-ups per cell instead of a sum over
# every year), binomial coefficients computed once from the data, and the random walk in the
# eigenbasis of its precision instead of a cumulative sum of steps (the point's steps are mapped
# to that basis: an orthogonal change of the standard-normal coordinates, so the same density);
# then again (same day) when the likelihood took the chances of a positive and of a negative
# reading as exp(-hazard)-based products and two logarithms instead of expm1 and log1p.
# The random walk's graph changed again on 2026-12-06 (issue 17): its coordinates are scaled
# by their prior SD given the data's information (:func:`walk_information`), so its log density
# is the first model's plus that change of variables' Jacobian.
DEFAULT_FINGERPRINT = {
    "random_walk": "3e7ad124612c8fdc905e6075c25f6e90367f0916b5948853ae1ed534f3187e61",
    "constant": "517ac05dc3766b7a14c8e07a7a6b35e6ee75ae60785f7084d34cdc01e9d99ecf",
}


def stepwise_seropositive(birth: float, sampled: float, foi_of_year, breaks=(), effects=(),
                          rho: float = 0.0) -> float:
    """P(seropositive) stepped exactly from new year / band edge to the next (reference)."""
    cuts = {birth, sampled}
    cuts |= {float(y) for y in range(int(np.ceil(birth)), int(np.floor(sampled)) + 1)}
    cuts |= {birth + b for b in breaks}
    edges = sorted(c for c in cuts if birth <= c <= sampled)
    multipliers = np.exp(np.concatenate([[0.0], effects]))
    p = 0.0
    for lo, hi in pairwise(edges):
        mid = (lo + hi) / 2
        lam = foi_of_year(int(np.floor(mid))) * multipliers[np.searchsorted(breaks, mid - birth,
                                                                            side="right")]
        plateau = lam / (lam + rho)
        p = plateau + (p - plateau) * np.exp(-(lam + rho) * (hi - lo))
    return p


def test_stepwise_reference_solves_the_ode():
    from scipy.integrate import solve_ivp

    foi = {2010: 0.3, 2011: 0.05, 2012: 0.8, 2013: 0.2}
    birth, sampled, breaks, effects, rho = 2010.3, 2013.7, (1.0, 2.5), (0.7, -0.4), 0.15

    def rate(t: float) -> float:
        band = np.searchsorted(breaks, t - birth, side="right")
        return foi[int(np.floor(t))] * np.exp([0.0, *effects][band])

    edges = sorted({birth, sampled, 2011.0, 2012.0, 2013.0, birth + 1.0, birth + 2.5})
    p = 0.0
    for lo, hi in pairwise(edges):
        mid = (lo + hi) / 2
        p = solve_ivp(lambda t, y, m=mid: rate(m) * (1 - y) - rho * y, (lo, hi), [p],
                      method="DOP853", rtol=1e-12, atol=1e-14).y[0, -1]
    assert stepwise_seropositive(birth, sampled, foi.get, breaks, effects, rho) == (
        pytest.approx(p, abs=1e-10))


def constant_foi_cells(ages: np.ndarray) -> FoiData:
    """One red fox cell per age, born at odd times so that life crosses partial years."""
    sampled = 2015.37 + np.arange(len(ages)) * 0.013
    animals = pd.DataFrame({
        "species": "red_fox", "assay": "VNT", "positive": 0,
        "birth_time": sampled - ages, "sampled_time": sampled, "animal_id": "",
    })
    data = foi_data_from_animals(animals, time_resolution_months=0)
    assert len(data.cells) == len(ages)
    return data


AGES = np.array([0.01, 0.4, 0.999, 1.0, 1.7, 2.5, 3.25, 6.0, 11.3, 19.9])


@pytest.mark.parametrize(("lam", "rho"), [(0.2, 0.0), (0.2, 0.1), (1.5, 0.8), (0.05, 2.0)])
def test_constant_foi_with_reversion_matches_closed_form_curve(lam, rho):
    data = constant_foi_cells(AGES)
    ages = data.cells["age_years"].to_numpy()
    life = cell_life_exposure(data, FoiSettings())
    rate = np.full((len(ages), life.shape[1]), lam)
    p = seropositive_probability(rate, life[:, :, 0], np.full(len(ages), rho))
    expected = lam / (lam + rho) * (1 - np.exp(-(lam + rho) * ages))
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-12)
    if rho == 0.0:  # reversion at rate 0 is the lifelong-antibody model
        np.testing.assert_allclose(p, seropositive_probability(rate, life[:, :, 0]), rtol=1e-12)


def test_two_age_bands_match_closed_form_curve():
    data = constant_foi_cells(AGES)
    ages = data.cells["age_years"].to_numpy()
    l1, l2, b = 0.1, 0.45, 2.5
    life = cell_life_exposure(data, FoiSettings(age_breaks=(b,)))
    assert life.shape[2] == 2
    np.testing.assert_allclose(life.sum(axis=(1, 2)), ages, atol=1e-12)
    rate = np.broadcast_to([l1, l2], life.shape).reshape(len(ages), -1)
    p = seropositive_probability(rate, life.reshape(len(ages), -1))
    expected = 1 - np.exp(-(l1 * np.minimum(ages, b) + l2 * np.maximum(ages - b, 0.0)))
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-12)
    rho = 0.3  # with reversion: the band-1 curve, then relaxation towards the band-2 plateau
    p = seropositive_probability(rate, life.reshape(len(ages), -1), np.full(len(ages), rho))
    first = l1 / (l1 + rho) * (1 - np.exp(-(l1 + rho) * np.minimum(ages, b)))
    q2 = l2 / (l2 + rho)
    expected = np.where(ages <= b, first,
                        q2 + (first - q2) * np.exp(-(l2 + rho) * np.maximum(ages - b, 0.0)))
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-12)


def model_point(model: pm.Model, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: v + rng.normal(0, 0.5, size=np.shape(v))
            for k, v in sorted(model.initial_point().items())}


def model_seroconverted(model: pm.Model, point: dict[str, np.ndarray]) -> np.ndarray:
    """The model's P(seroconverted) per cell at ``point`` (apparent prevalence, Se/Sp undone)."""
    apparent = model["seropositive"].owner.inputs[-2]  # chances of a positive and a negative
    fn = model.compile_fn(model.replace_rvs_by_values([apparent])[0], point_fn=True)
    se = expit(point["sensitivity_logodds__"])
    sp = expit(point["specificity_logodds__"])
    a = np.asarray(model["cell_assay"].get_value())
    return (fn(point) - (1 - sp[a])) / (se[a] - (1 - sp[a]))


def walk_coordinate_sd(point: dict[str, np.ndarray], data: FoiData) -> np.ndarray:
    """The prior SD of the walk's coordinates at ``point``: sqrt(1 + rw_sd^2 x information)."""
    rw_sd = np.exp(point["log_foi_rw_sd_log__"])
    return np.sqrt(1.0 + rw_sd[:, None] ** 2 * walk_information(data, ACCURACY))


def yearly_foi(point: dict[str, np.ndarray], mode: str, data: FoiData) -> np.ndarray:
    """FOI (species x years) at ``point``, as the model defines it."""
    mean, n_years = point["log_foi_mean"], len(data.years)
    if mode == "constant":
        return np.exp(mean)[:, None].repeat(n_years, axis=1)
    rw_sd = np.exp(point["log_foi_rw_sd_log__"])
    standard = point["log_foi_walk_z"] / walk_coordinate_sd(point, data)
    return np.exp(mean[:, None] + rw_sd[:, None] * (standard @ random_walk_basis(n_years).T))


def test_default_model_is_unchanged():
    """Options off: the same graph (fingerprint) and log density as before they existed."""
    data = foi_data_from_animals(duplicated_design(np.random.default_rng(17)),
                                 time_resolution_months=0)
    for mode in ("random_walk", "constant"):
        model = build_foi_model(data, ACCURACY, FoiSettings(mode=mode))
        rng = np.random.default_rng(99)
        point = {k: v + rng.normal(0, 0.5, size=np.shape(v))
                 for k, v in sorted(model.initial_point().items())}
        if mode == "random_walk":  # the first model's steps, as a centred walk in the new basis
            steps = point["log_foi_walk_z"]
            walk = np.cumsum(np.column_stack([np.zeros(len(steps)), steps]), axis=1)
            walk -= walk.mean(axis=1, keepdims=True)
            basis = random_walk_basis(walk.shape[1])
            standard = np.linalg.lstsq(basis, walk.T, rcond=None)[0].T
            np.testing.assert_allclose(standard @ basis.T, walk, atol=1e-12)
            # coordinates scaled by their prior SD: the density gains that change's Jacobian
            scale = walk_coordinate_sd(point, data)
            point["log_foi_walk_z"] = standard * scale
            jacobian = -np.log(scale).sum()
            assert jacobian < -0.1  # the data inform the walk: the scale is not 1
        else:
            jacobian = 0.0
        assert model.compile_logp()(point) == pytest.approx(DEFAULT_LOGP[mode] + jacobian,
                                                            rel=1e-12)
        assert model_fingerprint(model) == DEFAULT_FINGERPRINT[mode]
        assert FoiSettings.from_config({"mode": mode, "seroreversion": None,
                                        "age_bands": None}) == FoiSettings(mode=mode)


@pytest.mark.parametrize(
    ("mode", "reversion", "breaks"),
    [("random_walk", REVERSION, ()), ("random_walk", None, (1.0, 3.5)),
     ("random_walk", REVERSION, (1.0, 3.5)), ("constant", REVERSION, (2.0,))],
)
def test_model_with_options_matches_stepwise_solution(mode, reversion, breaks):
    """Cells on a 1-month grid (births at odd months: partial years) in the model against the
    reference stepper, and the cell likelihood against binomial terms of that probability."""
    animals = duplicated_design(np.random.default_rng(23))
    data = foi_data_from_animals(animals, time_resolution_months=1)
    settings = FoiSettings(mode=mode, seroreversion=reversion, age_breaks=breaks)
    model = build_foi_model(data, ACCURACY, settings)
    point = model_point(model, 5)
    foi = yearly_foi(point, mode, data)
    effects = point.get("log_foi_age_effect", np.zeros((2, 0)))
    rho = np.exp(point["seroreversion_rate_log__"]) if reversion else np.zeros(2)
    cells = data.cells
    s = cells["species"].map(data.species.index).to_numpy()
    expected = np.array([
        stepwise_seropositive(b, t, lambda y, i=i: foi[i, y - data.years[0]], breaks, effects[i],
                              rho[i])
        for b, t, i in zip(cells["birth_time"], cells["sampled_time"], s, strict=True)
    ])
    np.testing.assert_allclose(model_seroconverted(model, point), expected, rtol=1e-9,
                               atol=1e-12)
    a = cells["assay"].map(data.assays.index).to_numpy()
    se, sp = expit(point["sensitivity_logodds__"])[a], expit(point["specificity_logodds__"])[a]
    binomial = stats.binom.logpmf(cells["n_positive"], cells["n_animals"],
                                  se * expected + (1 - sp) * (1 - expected))
    cell_logp = model.compile_logp(vars=[model["seropositive"]])(point)
    assert cell_logp == pytest.approx(binomial.sum(), rel=1e-9)


def test_option_settings_from_config():
    settings = FoiSettings.from_config({
        "seroreversion": {"prior": {"family": "lognormal", "mu": -2.0, "sigma": 1.0}},
        "age_bands": {"breaks": [1, 3], "sigma": 0.5},
    })
    assert settings.seroreversion == RatePrior("lognormal", (("mu", -2.0), ("sigma", 1.0)))
    assert (settings.age_breaks, settings.age_effect_sigma) == ((1.0, 3.0), 0.5)
    assert settings.piecewise and not FoiSettings().piecewise
    assert FoiSettings.from_config({"age_bands": [2]}).age_breaks == (2.0,)
    assert age_band_labels((1.0, 3.0)) == ["0-1", "1-3", "3+"]
    with pytest.raises(ValueError, match="age_bands"):
        FoiSettings(age_breaks=(3.0, 1.0))
    with pytest.raises(ValueError, match="sigma"):
        FoiSettings(age_breaks=(1.0,), age_effect_sigma=0.0)
    with pytest.raises(ValueError, match="takes"):
        RatePrior.from_config({"family": "gamma", "alpha": 2.0})
    with pytest.raises(ValueError, match="family"):
        RatePrior.from_config({"family": "uniform", "lower": 0.0})


def fake_options_fit(foi, effect, rho, draws: int = 50) -> Fit:
    def tile(values) -> np.ndarray:
        values = np.asarray(values, float)
        return np.broadcast_to(values, (2, draws, *values.shape)).copy()

    idata = az.from_dict(
        posterior={"force_of_infection": tile(foi), "sensitivity": tile([1.0, 1.0]),
                   "specificity": tile([1.0, 1.0]), "log_foi_age_effect": tile(effect),
                   "seroreversion_rate": tile(rho)},
        coords={"species": ["amur_tiger", "raccoon_dog"], "age_band_effect": ["2+"]},
        dims={"log_foi_age_effect": ["species", "age_band_effect"],
              "seroreversion_rate": ["species"]},
    )
    return Fit(idata=idata, sampler="fixed", seconds=0.0, seed=0)


def test_ppc_with_options_uses_the_model_probability(monkeypatch):
    """With reversion the replicates' probability is the model's: plateau lam / (lam + rho) = 1
    for a huge FOI, 0 for FOI 0 (both bands), so every replicate is the same number."""
    monkeypatch.setattr(force_of_infection, "PPC_CHUNK", 500)  # blocks of a few cells
    animals = duplicated_design(np.random.default_rng(4))
    data = foi_data_from_animals(animals, time_resolution_months=0)
    settings = FoiSettings(mode="constant", seroreversion=REVERSION, age_breaks=(2.0,))
    fit = fake_options_fit([1e9, 0.0], [[0.0], [0.0]], [1e-9, 0.5])
    table = foi_ppc(fit, data, seed=1, settings=settings)
    expected = table["item"].str.startswith("amur_tiger").to_numpy()
    np.testing.assert_array_equal(table["replicated_lo95"] > 0, expected)
    np.testing.assert_array_equal(table["replicated_lo95"], table["replicated_hi95"])
    options = summarise_options(fit)
    assert options["parameter"].tolist() == ["seroreversion_rate"] * 2 + ["foi_ratio_age_2+"] * 2
    np.testing.assert_allclose(options["median"], [1e-9, 0.5, 1.0, 1.0])


def test_life_pieces_are_the_lived_years_and_bands_in_time_order():
    birth, sampled = np.array([2010.2, 2011.9, 2012.0]), np.array([2013.6, 2013.1, 2012.0])
    life = life_exposure(birth, sampled, range(2010, 2014), (0.5, 1.5))
    index, exposure = life_pieces(life)
    flat = life.reshape(3, -1)
    np.testing.assert_array_equal(exposure.sum(axis=1), flat.sum(axis=1))
    assert exposure.shape[1] == (flat > 0).sum(axis=1).max() == 6  # 4 years + 2 band edges
    for row in range(3):
        lived = np.flatnonzero(flat[row])
        np.testing.assert_array_equal(index[row, :len(lived)], lived)  # (year, band) order
        np.testing.assert_array_equal(exposure[row, :len(lived)], flat[row, lived])
        assert not exposure[row, len(lived):].any() and not index[row, len(lived):].any()
    # year then band order is time order: the band index never falls within a life
    years, bands = np.divmod(index[0], 3)
    assert (np.diff(years) >= 0).all() and (np.diff(bands) >= 0).all()


def simulated_animals(rng: np.random.Generator, seroconverted, n: int = 800) -> pd.DataFrame:
    """Red foxes aged 0.2-15 y sampled in 2020 (Se 0.95, Sp 0.98); ``seroconverted(age)``."""
    age = rng.uniform(0.2, 15.0, n)
    p = seroconverted(age)
    positive = rng.random(n) < 0.95 * p + 0.02 * (1 - p)
    return pd.DataFrame({
        "species": "red_fox", "assay": "VNT", "positive": positive.astype(int),
        "birth_time": 2020.5 - age, "sampled_time": 2020.5, "animal_id": "",
    })


TIGHT = {"VNT": AssayAccuracy("VNT", 950, 50, 980, 20)}
QUICK = SamplerSettings(draws=400, tune=400, chains=2, cores=2)


@pytest.mark.slow
def test_recovery_of_known_foi_and_seroreversion():
    lam, rho = 0.3, 0.1
    animals = simulated_animals(
        np.random.default_rng(11), lambda a: lam / (lam + rho) * (1 - np.exp(-(lam + rho) * a)))
    data = foi_data_from_animals(animals, time_resolution_months=12)
    settings = FoiSettings(mode="constant", seroreversion=RatePrior("lognormal", (
        ("mu", -2.0), ("sigma", 1.0))))
    fit = sample_posterior(build_foi_model(data, TIGHT, settings), QUICK, seed=41)
    for name, true in (("force_of_infection", lam), ("seroreversion_rate", rho)):
        lo, hi = np.quantile(posterior_draws(fit.idata, name)[:, 0], [0.025, 0.975])
        assert lo <= true <= hi, (name, lo, hi)
        assert hi / lo < 4, (name, lo, hi)  # informative, not just the prior


@pytest.mark.slow
def test_recovery_of_known_age_band_effect():
    l1, l2, b = 0.08, 0.4, 3.0
    animals = simulated_animals(
        np.random.default_rng(12),
        lambda a: 1 - np.exp(-(l1 * np.minimum(a, b) + l2 * np.maximum(a - b, 0.0))))
    data = foi_data_from_animals(animals, time_resolution_months=12)
    settings = FoiSettings(mode="constant", age_breaks=(b,))
    fit = sample_posterior(build_foi_model(data, TIGHT, settings), QUICK, seed=42)
    foi = posterior_draws(fit.idata, "force_of_infection")[:, 0]
    ratio = np.exp(posterior_draws(fit.idata, "log_foi_age_effect")[:, 0, 0])
    for name, draws, true in (("FOI", foi, l1), ("ratio", ratio, l2 / l1)):
        lo, hi = np.quantile(draws, [0.025, 0.975])
        assert lo <= true <= hi, (name, lo, hi)


def test_hazard_from_two_lookups_equals_the_exposure_sum():
    """H(sampled) - H(birth) from cumulative FOI equals the sum of FOI x years lived in each
    calendar year (the exposure matrix), for births and samplings inside and at year edges."""
    rng = np.random.default_rng(3)
    years = list(range(2000, 2010))
    birth = np.concatenate([rng.uniform(2000, 2009, 50), [2003.0, 2000.0]])
    sampled = np.minimum(birth + rng.uniform(0, 6, len(birth)), 2009.99)
    sampled[-2:] = [2007.0, 2009.5]
    foi = rng.uniform(0.01, 0.5, len(years))
    expected = exposure_matrix(birth, sampled, years) @ foi
    earlier = np.cumsum(foi) - foi
    got = force_of_infection.hazard_between(
        foi, earlier, *force_of_infection.year_positions(birth, years),
        *force_of_infection.year_positions(sampled, years),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("n_years", [2, 3, 12, 51])
def test_random_walk_basis_gives_the_centred_random_walk(n_years):
    """B B' is the covariance of a unit-step random walk centred on its mean, computed two
    independent ways: the pseudo-inverse of the walk's precision D'D (first differences), and
    P L L' P from the cumulative sum L of the steps and the centring projector P."""
    basis = random_walk_basis(n_years)
    differences = np.diff(np.eye(n_years), axis=0)
    expected = np.linalg.pinv(differences.T @ differences)
    np.testing.assert_allclose(basis @ basis.T, expected, atol=1e-10)
    cumulative = np.tril(np.ones((n_years, n_years - 1)), -1)
    centre = np.eye(n_years) - 1.0 / n_years
    np.testing.assert_allclose(basis @ basis.T, centre @ cumulative @ cumulative.T @ centre,
                               atol=1e-10)
    np.testing.assert_allclose(basis.sum(axis=0), 0.0, atol=1e-12)  # every mode is centred
    # each step of the walk in these coordinates is N(0, 1): D B is orthonormal
    steps = differences @ basis
    np.testing.assert_allclose(steps.T @ steps, np.eye(n_years - 1), atol=1e-10)


def test_walk_information_is_the_curvature_of_the_expected_log_likelihood():
    """Per species and walk mode: minus the second derivative of the expected per-animal
    log-likelihood along that mode (finite differences, exposures summed year by year here),
    at the constant FOI that maximises the likelihood (found here on a fine grid)."""
    animals = duplicated_design(np.random.default_rng(31))
    data = foi_data_from_animals(animals, time_resolution_months=0)
    info = walk_information(data, ACCURACY)
    basis = random_walk_basis(len(data.years))
    mean = {name: [a / (a + b) for a, b in assay.posterior_beta()]
            for name, assay in ACCURACY.items()}
    log_foi_grid = np.linspace(-9, 2, 110_001)
    for i, name in enumerate(data.species):
        rows = animals[animals["species"] == name]
        se, sp = np.array([mean[a] for a in rows["assay"]]).T
        exposure = exposure_matrix(rows["birth_time"].to_numpy(), rows["sampled_time"].to_numpy(),
                                   data.years)
        positive = rows["positive"].to_numpy()

        def chance(log_foi_by_year, exposure=exposure, se=se, sp=sp):
            never = np.exp(-(np.exp(log_foi_by_year) * exposure).sum(axis=-1))
            return se * (1 - never) + (1 - sp) * never

        grid = chance(log_foi_grid[:, None, None])
        loglik = (positive * np.log(grid) + (1 - positive) * np.log1p(-grid)).sum(axis=1)
        best = log_foi_grid[np.argmax(loglik)]
        p0, h = chance(np.full(len(data.years), best)), 1e-3
        for k in range(basis.shape[1]):
            expected = [p0 @ np.log(p) + (1 - p0) @ np.log1p(-p)
                        for p in (chance(best + d * basis[:, k]) for d in (-h, 0.0, h))]
            curvature = -(expected[0] - 2 * expected[1] + expected[2]) / h**2
            assert info[i, k] == pytest.approx(curvature, rel=1e-4, abs=1e-9)
    assert info.max() > 0.5  # the design informs some modes well


def test_max_cells_makes_the_grid_coarser_only_when_needed():
    rng = np.random.default_rng(5)
    n = 400
    sampled = rng.uniform(2010, 2020, n)
    animals = pd.DataFrame({
        "species": "domestic_dog", "assay": "VNT", "positive": rng.integers(0, 2, n),
        "birth_time": sampled - rng.uniform(0.2, 8, n), "sampled_time": sampled,
        "animal_id": [f"a{i}" for i in range(n)],
    })
    counts = {m: len(foi_data_from_animals(animals, time_resolution_months=m).cells)
              for m in (1, 2, 3, 4, 6)}
    assert counts[1] > counts[2] > counts[3] > counts[4] > counts[6]
    assert grid_for_cells(animals, 1, None) == 1
    assert grid_for_cells(animals, 1, counts[1]) == 1
    assert grid_for_cells(animals, 1, counts[1] - 1) == 2
    assert grid_for_cells(animals, 1, counts[4]) == 4
    assert grid_for_cells(animals, 1, 1) == 6  # never coarser than 6 months
    assert grid_for_cells(animals, 3, counts[1]) == 3  # never finer than configured
    data = foi_data_from_animals(animals, time_resolution_months=1, max_cells=counts[3])
    assert data.time_resolution_months == 3 and len(data.cells) == counts[3]
    assert data.cells["n_animals"].sum() == n  # every animal in a cell
    assert FoiSettings.from_config({"max_cells": 5000}).max_cells == 5000
    with pytest.raises(ValueError, match="max_cells"):
        FoiSettings(max_cells=0)
