"""Seroprevalence model checked against exact posteriors (grid integration, closed-form Beta).

All fits here share one compiled single-group model (new data via nutpie ``with_data``).
Tolerance: estimates within 4 Monte Carlo standard errors (ArviZ MCSE) plus the grid's own error
(< 1e-3); a correct sampler fails a check with probability < 1e-4.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import arviz as az
import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from disease_risk.seeds import derive_seed
from disease_risk.serology.accuracy import AssayAccuracy, assay_accuracy
from disease_risk.serology.prevalence import (
    PrevalenceData,
    PrevalencePriors,
    fit_prevalence,
    prevalence_data,
    summarise_prevalence,
)
from disease_risk.serology.sampling import (
    SamplerSettings,
    posterior_draws,
    write_inference_data,
)

FLAT = PrevalencePriors(intercept_family="logistic", intercept_mu=0.0, intercept_sigma=1.0,
                        effects={})
SETTINGS = SamplerSettings(draws=2000, tune=700, chains=2, cores=2)
VNT = AssayAccuracy("VNT", 38, 4, 98, 2, positives_tested=40, positives_detected=37,
                    negatives_tested=60, negatives_negative=59)


def one_group(n: int, positives: int) -> PrevalenceData:
    counts = pd.DataFrame([{"species": "amur_tiger", "site": "Kedrovaya Pad", "year": 2015,
                            "assay": "VNT", "n_tested": n, "n_positive": positives}])
    return PrevalenceData.from_counts(counts)


def beta_quadrature(a: float, b: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes over the bulk of Beta(a, b) and weights times its density: sums
    of f(nodes) x weights integrate f against the Beta distribution."""
    nodes, weights = np.polynomial.legendre.leggauss(points)
    lo, hi = stats.beta.ppf([1e-9, 1 - 1e-9], a, b)
    x = lo + (hi - lo) * (nodes + 1) / 2
    return x, weights * (hi - lo) / 2 * stats.beta.pdf(x, a, b)


def grid_posterior(n: int, y: int, acc: AssayAccuracy) -> tuple[float, float, float]:
    """Exact posterior mean and 2.5/97.5% quantiles of p under a uniform prior on p.

    Se and Sp are integrated with Gauss-Legendre rules over their prior x validation Beta
    densities; p on a fine midpoint grid.
    """
    (sa, sb), (pa, pb) = acc.posterior_beta()
    se, wse = beta_quadrature(sa, sb, 80)
    sp, wsp = beta_quadrature(pa, pb, 80)
    p = (np.arange(4000) + 0.5) / 4000
    pp = p[:, None, None]
    apparent = se[None, :, None] * pp + (1 - sp[None, None, :]) * (1 - pp)
    like = stats.binom.pmf(y, n, apparent)
    density = np.einsum("psq,s,q->p", like, wse, wsp)
    density /= density.sum()
    cdf = np.cumsum(density)
    edges = np.arange(1, 4001) / 4000
    mean = float((density * p).sum())
    return mean, float(np.interp(0.025, cdf, edges)), float(np.interp(0.975, cdf, edges))


def assert_matches(fit, exact: tuple[float, float, float]) -> None:
    idata = fit.idata
    draws = posterior_draws(idata, "true_prevalence")[:, 0]
    estimates = (draws.mean(), *np.quantile(draws, [0.025, 0.975]))
    sub = idata.posterior[["true_prevalence"]]
    errors = (
        float(az.mcse(sub, method="mean")["true_prevalence"].values[0]),
        float(az.mcse(sub, method="quantile", prob=0.025)["true_prevalence"].values[0]),
        float(az.mcse(sub, method="quantile", prob=0.975)["true_prevalence"].values[0]),
    )
    for name, est, ref, err in zip(("mean", "q2.5", "q97.5"), estimates, exact, errors,
                                   strict=True):
        assert abs(est - ref) < 4 * err + 1e-3, f"{name}: sampled {est:.4f}, exact {ref:.4f}"


@pytest.mark.slow
@pytest.mark.parametrize("mass_matrix", ["diagonal", "low_rank"])
def test_single_group_imperfect_test_matches_grid_integration(mass_matrix):
    n, y = 80, 20
    settings = SamplerSettings(draws=2000, tune=700, chains=2, cores=2, mass_matrix=mass_matrix)
    fit = fit_prevalence(one_group(n, y), {"VNT": VNT}, FLAT, settings, seed=11)
    assert_matches(fit, grid_posterior(n, y, VNT))
    # the correction is real: the true prevalence is pulled away from the raw 25%
    exact = grid_posterior(n, y, VNT)
    assert abs(exact[0] - (y + 1) / (n + 2)) > 0.005


@pytest.mark.slow
def test_perfect_test_limit_matches_closed_form_beta():
    n, y = 50, 9
    perfect = AssayAccuracy("VNT", 1e5, 1, 1e5, 1)
    fit = fit_prevalence(one_group(n, y), {"VNT": perfect}, FLAT, SETTINGS, seed=12)
    beta = stats.beta(1 + y, 1 + n - y)
    assert_matches(fit, (beta.mean(), beta.ppf(0.025), beta.ppf(0.975)))


@pytest.mark.slow
def test_pymc_sampler_option_matches_grid():
    n, y = 40, 6
    settings = SamplerSettings(sampler="pymc", draws=1000, tune=500, chains=2, cores=1)
    fit = fit_prevalence(one_group(n, y), {"VNT": VNT}, FLAT, settings, seed=13)
    assert fit.sampler == "pymc"
    assert_matches(fit, grid_posterior(n, y, VNT))


DETERMINISM_SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    import pandas as pd
    from disease_risk.serology.accuracy import AssayAccuracy
    from disease_risk.serology.sampling import SamplerSettings, posterior_draws
    from disease_risk.serology.prevalence import PrevalenceData, PrevalencePriors, fit_prevalence
    counts = pd.DataFrame([{"species": "amur_tiger", "site": "Kedrovaya Pad", "year": 2015,
                            "assay": "VNT", "n_tested": 30, "n_positive": 7}])
    priors = PrevalencePriors(intercept_family="logistic", intercept_mu=0.0,
                              intercept_sigma=1.0, effects={})
    acc = {"VNT": AssayAccuracy("VNT", 38, 4, 98, 2, 40, 37, 60, 59)}
    settings = SamplerSettings(draws=200, tune=200, chains=2, cores=2)
    fit = fit_prevalence(PrevalenceData.from_counts(counts), acc, priors, settings, seed=99)
    print(hashlib.sha256(posterior_draws(fit.idata, "true_prevalence").tobytes()).hexdigest())
    """
)


@pytest.mark.slow
def test_same_seed_gives_identical_draws_across_processes(tmp_path):
    script = tmp_path / "draw.py"
    script.write_text(DETERMINISM_SCRIPT)
    child = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           timeout=600, check=True)
    counts = pd.DataFrame([{"species": "amur_tiger", "site": "Kedrovaya Pad", "year": 2015,
                            "assay": "VNT", "n_tested": 30, "n_positive": 7}])
    settings = SamplerSettings(draws=200, tune=200, chains=2, cores=2)
    fit = fit_prevalence(PrevalenceData.from_counts(counts), {"VNT": VNT}, FLAT, settings, 99)
    here = hashlib.sha256(posterior_draws(fit.idata, "true_prevalence").tobytes()).hexdigest()
    assert child.stdout.strip().splitlines()[-1] == here
    other = fit_prevalence(PrevalenceData.from_counts(counts), {"VNT": VNT}, FLAT, settings, 98)
    assert not np.array_equal(posterior_draws(other.idata, "true_prevalence"),
                              posterior_draws(fit.idata, "true_prevalence"))


def samples_frame(rows: list[tuple]) -> pd.DataFrame:
    columns = ["sample_id", "animal_id", "species", "species_role", "site", "collection_date",
               "year", "assay", "result", "age_years", "birth_year", "vaccinated"]
    return pd.DataFrame([(*r, "no") for r in rows], columns=columns)


def test_prevalence_data_counts_and_exclusions():
    rows = [
        ("s1", "T1", "amur_tiger", "target", "KP", "2015-03-01", 2015, "VNT", "positive", 4, None),
        ("s2", "T1", "amur_tiger", "target", "KP", "2015-06-01", 2015, "VNT", "negative", 4, None),
        ("s3", "T2", "amur_tiger", "target", "KP", "2015-06-01", 2015, "VNT", "negative", 2, None),
        ("s4", "", "amur_tiger", "target", "KP", "2015-06-01", 2015, "VNT", "negative", None, None),
        ("s5", "", "amur_tiger", "target", "KP", "2015-06-02", 2015, "VNT", "indeterminate", 1,
         None),
        ("s6", "", "sika_deer", "prey", "KP", "2015-06-02", 2015, "ELISA_IgG", "negative", 1,
         None),
        ("s7", "T1", "amur_tiger", "target", "KP", "2016-06-01", 2016, "VNT", "positive", 5, None),
    ]
    frame = samples_frame(rows)
    frame.loc[frame["sample_id"] == "s3", "vaccinated"] = "yes"
    data = prevalence_data(frame)
    groups = data.groups.set_index("year")
    # s2 repeats T1 in the 2015 group (first by date kept); s3 vaccinated; s4 has no id
    assert groups.loc[2015, "n_tested"] == 2 and groups.loc[2015, "n_positive"] == 1
    assert groups.loc[2016, "n_tested"] == 1
    excluded = {r["item"]: r["count"] for r in data.exclusions}
    assert excluded["indeterminate result: amur_tiger"] == 1
    assert excluded["species not modelled: sika_deer (role prey)"] == 1
    assert excluded["repeat test of an animal in the same group: amur_tiger"] == 1
    assert excluded["vaccinated: amur_tiger"] == 1
    assert excluded["used: amur_tiger"] == 3
    assert prevalence_data(frame, exclude_vaccinated=False).groups["n_tested"].sum() == 4
    assert sum(excluded.values()) == len(rows)


def test_summary_aggregates_are_test_weighted():
    counts = pd.DataFrame([
        {"species": "a", "site": "x", "year": 2015, "assay": "VNT", "n_tested": 10,
         "n_positive": 1},
        {"species": "a", "site": "y", "year": 2015, "assay": "VNT", "n_tested": 30,
         "n_positive": 15},
    ])
    data = PrevalenceData.from_counts(counts)
    rng = np.random.default_rng(0)
    draws = rng.uniform(size=(2, 50, 2))

    class FakeFit:
        idata = az.from_dict(posterior={"true_prevalence": draws})

    table = summarise_prevalence(FakeFit, data)  # type: ignore[arg-type]
    pooled = table[(table["site"] == "all") & (table["year"] == "all")].iloc[0]
    flat = draws.reshape(-1, 2)
    expected = np.median(flat @ np.array([0.25, 0.75]))
    assert pooled["true_prevalence_median"] == pytest.approx(expected)
    assert pooled["n_tested"] == 40 and pooled["apparent_prevalence"] == pytest.approx(16 / 40)
    assert list(table.columns) == [
        "species", "site", "year", "n_tested", "n_positive", "apparent_prevalence",
        "true_prevalence_median", "true_prevalence_lo95", "true_prevalence_hi95",
    ]
    assert len(table) == 2 + 2 + 1 + 1  # groups, species x site, species x year, species


def test_assay_registry_and_validation_panel(repo_root):
    from disease_risk.intake.harmonise import load_assays

    acc = assay_accuracy(load_assays(repo_root / "config/assays.yaml"))
    assert {"VNT", "ELISA_IgG"} <= set(acc)
    (sa, sb), _ = acc["VNT"].posterior_beta()
    assert sa == acc["VNT"].se_alpha + acc["VNT"].positives_detected
    assert sb == acc["VNT"].se_beta + acc["VNT"].positives_tested - acc["VNT"].positives_detected
    with pytest.raises(ValueError, match="positives_detected"):
        AssayAccuracy("X", 1, 1, 1, 1, positives_tested=3, positives_detected=4)


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(20261121, "a") == derive_seed(20261121, "a")
    assert derive_seed(20261121, "a") != derive_seed(20261121, "b")
    assert derive_seed(20261121, "a") != derive_seed(20261122, "a")


def test_binomial_counts_log_density_is_the_binomial_pmf():
    """The model's likelihood with precomputed coefficients equals scipy's binomial pmf."""
    from disease_risk.serology.prevalence import build_prevalence_model

    counts = pd.DataFrame({"species": "amur_tiger", "site": ["A", "B", "C"], "year": 2015,
                           "assay": "VNT", "n_tested": [12, 40, 7], "n_positive": [5, 0, 7]})
    data = PrevalenceData.from_counts(counts)
    model = build_prevalence_model(data, {"VNT": VNT}, FLAT)
    point = {k: v + 0.3 for k, v in model.initial_point().items()}
    derived = model.replace_rvs_by_values(
        [model["intercept"], model["sensitivity"][0], model["specificity"][0]])
    intercept, se, sp = model.compile_fn(derived, inputs=model.value_vars,
                                         on_unused_input="ignore")(point)
    prevalence = 1 / (1 + np.exp(-intercept))
    apparent = se * prevalence + (1 - sp) * (1 - prevalence)
    expected = stats.binom.logpmf([5, 0, 7], [12, 40, 7], apparent).sum()
    logp = model.compile_logp(vars=[model["positives"]])(point)
    assert logp == pytest.approx(expected, rel=1e-12)


def test_a_model_section_overrides_only_the_sampler_settings_it_sets():
    shared = SamplerSettings.from_config({"target_accept": 0.95, "mass_matrix": "diagonal"})
    own = shared.for_model({"target_accept": 0.97, "mass_matrix": "low_rank", "effects": {}})
    assert (own.target_accept, own.mass_matrix, own.draws) == (0.97, "low_rank", shared.draws)
    assert shared.for_model({"target_accept": None, "mass_matrix": None}) == shared
    with pytest.raises(ValueError, match="mass_matrix"):
        shared.for_model({"mass_matrix": "dense"})
    with pytest.raises(ValueError, match="target_accept"):
        shared.for_model({"target_accept": 1.0})
    retry = shared.for_model({"retry_target_accept": 0.99})
    assert (retry.target_accept, retry.retry_target_accept) == (0.95, 0.99)
    with pytest.raises(ValueError, match="retry_target_accept must be above"):
        shared.for_model({"retry_target_accept": 0.9})


def test_chains_use_every_available_core(monkeypatch):
    from disease_risk.serology import sampling

    monkeypatch.setattr(sampling, "available_cpus", lambda: 2)
    assert sampling.sampler_cores(SamplerSettings(chains=4, cores=1)) == 2
    assert sampling.sampler_cores(SamplerSettings(chains=1, cores=1)) == 1
    monkeypatch.setattr(sampling, "available_cpus", lambda: 16)
    assert sampling.sampler_cores(SamplerSettings(chains=4, cores=1)) == 4


def test_scaled_example_has_independent_animals_more_sites_and_years(tmp_path):
    """4x the example: 2 site blocks, 2 calendar windows 7 years apart, replica 0 the example's
    own animals, no repeated animal ids, and other replicas are not copies of replica 0."""
    from disease_risk.intake.examples import _simulate, scaled_blocks, write_scaled_example_sheet

    assert [scaled_blocks(n) for n in (1, 4, 10, 100)] == [(1, 1), (2, 2), (4, 2), (10, 3)]
    sheet = pd.read_csv(write_scaled_example_sheet(tmp_path / "x4.csv", 4, seed=5), dtype=str,
                        keep_default_na=False)
    example = [s for rows in _simulate(5).values() for s in rows]
    replica = sheet["sample_id"].str.split("-", n=1).str[0]
    assert (replica == "x0").sum() == len(example) and len(sheet) > 3.5 * len(example)
    first = sheet[replica == "x0"]
    assert sorted(first["sample_id"].str[3:]) == sorted(s.sample_id for s in example)
    assert sheet["site"].nunique() == 12  # 6 sites x 2 blocks
    years = sheet["collection_date"].str[:4].astype(int)
    assert years[replica == "x0"].min() >= 2000 and years[replica == "x2"].min() < 2000
    assert years[replica == "x2"].max() <= 2020 - 7
    animals = sheet.loc[sheet["animal_id"] != "", "animal_id"]
    assert animals.str[:3].isin(["x0-", "x1-", "x2-", "x3-"]).all()
    one = sheet.loc[replica == "x1", "result"].tolist()
    assert one != first["result"].tolist()[: len(one)]


def test_inference_data_file_compresses_counts_not_draws_and_reads_back_identical(tmp_path):
    """The saved fit reads back equal to ArviZ's own file, with zlib on integer variables only,
    whatever encoding the variables carried from a file they were read from (left as they were
    on the caller's object)."""
    rng = np.random.default_rng(7)
    idata = az.from_dict(
        posterior={"true_prevalence": rng.random((2, 50, 3))},
        posterior_predictive={"positives": rng.integers(0, 9, (2, 50, 4))},
        observed_data={"positives": np.array([1, 0, 3, 2])},
        attrs={"sampler": "nutpie"},
    )
    arviz_file = tmp_path / "arviz.nc"
    idata.to_netcdf(arviz_file)  # compresses everything; read back, it carries zlib encodings
    for n, source in enumerate((idata, az.from_netcdf(arviz_file))):
        path = tmp_path / f"ours{n}.nc"
        before = [dict(source.posterior["true_prevalence"].encoding)]
        write_inference_data(source, path)
        assert [dict(source.posterior["true_prevalence"].encoding)] == before  # caller's kept
        saved = az.from_netcdf(path)
        for group in ("posterior", "posterior_predictive", "observed_data"):
            assert getattr(saved, group).equals(getattr(idata, group))
        assert saved.attrs["sampler"] == "nutpie"
        with h5py.File(path) as h5:
            assert h5["posterior/true_prevalence"].compression is None
            assert h5["posterior_predictive/positives"].compression == "gzip"
