"""Recovery and simulation-based calibration (SBC) of the hierarchical prevalence model.

Parameters and data are drawn from the model's own generative prior (PyMC forward sampling,
independent of the sampler), then fitted. Under a correct sampler:
- 95% intervals of the group prevalences cover the truth 95% of the time (recovery; tolerance
  0.92-0.98 over 12 groups x 40 simulations = 480 intervals, about 3 binomial SD);
- the rank of each true parameter among thinned posterior draws is uniform (SBC; chi-square
  test on 5 bins, each parameter must have p > 0.001, so a correct sampler fails this test with
  probability under 1%).
One compiled model serves all fits (only ``pm.Data`` values change).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats

from disease_risk.serology.accuracy import AssayAccuracy
from disease_risk.serology.prevalence import (
    PrevalenceData,
    PrevalencePriors,
    build_prevalence_model,
)
from disease_risk.serology.sampling import SamplerSettings, posterior_draws, sample_posterior

REPLICATIONS = 40
THIN = 10
SETTINGS = SamplerSettings(draws=500, tune=400, chains=2, cores=2)
PRIORS = PrevalencePriors()  # the shipped structure: species fixed, site and year pooled
PARAMETERS = ("intercept", "site_sd", "year_sd", "sensitivity", "specificity")
GROUPS_CHECKED = (0, 7)


def design() -> PrevalenceData:
    rows = [
        {"species": s, "site": t, "year": y, "assay": "VNT", "n_tested": 25, "n_positive": 0}
        for s in ("amur_tiger", "raccoon_dog")
        for t in ("Kedrovaya Pad", "Kraskino", "Barabash")
        for y in (2018, 2019)
    ]
    return PrevalenceData.from_counts(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def replications():
    data = design()
    acc = {"VNT": AssayAccuracy("VNT", 38, 4, 98, 2, 40, 0, 60, 0)}
    # truth simulated from the plain generative model, fitted in the anchored coordinates the
    # pipeline samples: uniform ranks check the change of coordinates (Jacobian) as well
    generative = build_prevalence_model(data, acc, PRIORS, anchored=False)
    model = build_prevalence_model(data, acc, PRIORS)
    prior = pm.sample_prior_predictive(draws=REPLICATIONS, model=generative, random_seed=2026)
    truth, simulated = prior.prior, prior.prior_predictive
    covered, ranks = [], {name: [] for name in (*PARAMETERS, "p0", "p7")}
    for r in range(REPLICATIONS):
        with model:
            pm.set_data({
                "n_positive": simulated["positives"].values[0, r],
                "validation_positives": simulated["validation_positives_detected"].values[0, r],
                "validation_negatives": simulated["validation_negatives_negative"].values[0, r],
            })
        fit = sample_posterior(model, SETTINGS, seed=1000 + r)
        prevalence = posterior_draws(fit.idata, "true_prevalence")
        true_p = truth["true_prevalence"].values[0, r]
        lo, hi = np.quantile(prevalence, [0.025, 0.975], axis=0)
        covered.append((true_p >= lo) & (true_p <= hi))
        for name in PARAMETERS:
            draws = posterior_draws(fit.idata, name).reshape(len(prevalence), -1)[::THIN, 0]
            ranks[name].append(int((draws < truth[name].values[0, r].ravel()[0]).sum()))
        for g in GROUPS_CHECKED:
            ranks[f"p{g}"].append(int((prevalence[::THIN, g] < true_p[g]).sum()))
    return np.concatenate(covered), {k: np.asarray(v) for k, v in ranks.items()}


@pytest.mark.slow
def test_recovery_coverage_of_group_prevalences(replications):
    covered, _ = replications
    assert len(covered) == 12 * REPLICATIONS
    assert 0.92 <= covered.mean() <= 0.98, f"coverage {covered.mean():.3f}"


@pytest.mark.slow
def test_sbc_ranks_are_uniform(replications):
    _, ranks = replications
    n_draws = SETTINGS.draws * SETTINGS.chains // THIN
    for name, r in ranks.items():
        assert r.min() >= 0 and r.max() <= n_draws
        counts = np.bincount(r * 5 // (n_draws + 1), minlength=5)
        p_value = stats.chisquare(counts).pvalue
        assert p_value > 0.001, f"{name}: SBC rank histogram {counts.tolist()}, p={p_value:.2g}"
