"""Parameter uncertainty apart from Monte Carlo error (disease_risk.montecarlo), checked against
the distributions the synthetic replicates were drawn from."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from disease_risk.montecarlo import beta_interval, split_uncertainty


def grouped_bernoulli(q: np.ndarray, runs: int, rng: np.random.Generator):
    """0/1 outcomes: ``runs`` replicates per parameter set with success probability ``q[s]``."""
    sets = np.repeat(np.arange(q.size), runs)
    return (rng.random(sets.size) < q[sets]).astype(float), sets


def test_parameter_interval_recovers_the_distribution_of_set_probabilities():
    rng = np.random.default_rng(1)
    truth = stats.beta(2, 5)
    y, sets = grouped_bernoulli(truth.rvs(4000, random_state=rng), 5, rng)
    split = split_uncertainty(y, sets)
    assert split.estimate == pytest.approx(truth.mean(), abs=0.01)
    assert split.parameter_sd == pytest.approx(truth.std(), rel=0.05)
    assert split.lo95 == pytest.approx(truth.ppf(0.025), abs=0.015)
    assert split.hi95 == pytest.approx(truth.ppf(0.975), abs=0.02)


def test_no_parameter_spread_leaves_only_the_estimators_own_noise():
    """Sets that share one probability: the between-set variance is 0 up to the sampling
    noise of a variance of set means, SD = within-variance x sqrt(2 / (sets - 1))."""
    rng = np.random.default_rng(2)
    runs, sets = 5, 2000
    y, group = grouped_bernoulli(np.full(sets, 0.3), runs, rng)
    split = split_uncertainty(y, group)
    noise_sd = 0.3 * 0.7 / runs * np.sqrt(2 / (sets - 1))
    assert split.parameter_sd**2 <= 3 * noise_sd
    assert split.lo95 <= 0.3 <= split.hi95
    assert split.hi95 - split.lo95 < 0.2  # the runs alone spread 0/1 over the whole range


def test_interval_never_narrower_than_the_monte_carlo_error():
    """All sets alike and rare events: the moment estimate is 0, the interval the estimate
    +/- 1.96 Monte Carlo standard errors (clipped to [0, 1])."""
    y, group = grouped_bernoulli(np.full(200, 0.01), 5, np.random.default_rng(6))
    split = split_uncertainty(y, group)
    assert split.parameter_sd == 0
    assert split.lo95 == pytest.approx(max(0.0, split.estimate - 1.959964 * split.mcse))
    assert split.hi95 == pytest.approx(split.estimate + 1.959964 * split.mcse)


def test_monte_carlo_error_is_the_standard_deviation_of_the_estimate():
    rng = np.random.default_rng(3)
    truth = stats.beta(1, 1)
    estimates, errors = [], []
    for _ in range(400):
        y, sets = grouped_bernoulli(truth.rvs(40, random_state=rng), 5, rng)
        split = split_uncertainty(y, sets)
        estimates.append(split.estimate)
        errors.append(split.mcse)
    assert np.mean(errors) == pytest.approx(np.std(estimates), rel=0.1)
    covered = np.abs(np.array(estimates) - 0.5) <= 1.96 * np.array(errors)
    assert 0.92 <= covered.mean() <= 0.98


def test_one_run_per_set_cannot_split_the_two():
    y, sets = grouped_bernoulli(np.full(50, 0.5), 1, np.random.default_rng(4))
    split = split_uncertainty(y, sets)
    assert np.isnan(split.lo95) and np.isnan(split.hi95)
    assert split.mcse == pytest.approx(np.std(y, ddof=1) / np.sqrt(50))


def test_unbounded_values_get_a_normal_interval():
    rng = np.random.default_rng(5)
    effect = rng.normal(-2.0, 1.5, 3000)
    sets = np.repeat(np.arange(3000), 4)
    y = effect[sets] + rng.normal(0, 3.0, sets.size)
    split = split_uncertainty(y, sets, bounded=False)
    assert split.lo95 == pytest.approx(-2 - 1.96 * 1.5, abs=0.2)
    assert split.hi95 == pytest.approx(-2 + 1.96 * 1.5, abs=0.2)


@pytest.mark.parametrize(("mean", "variance", "expected"), [
    (0.4, 0.0, (0.4, 0.4)),  # no spread: a point
    (0.4, 0.3, (0.0, 1.0)),  # beyond a Bernoulli's variance: its quantiles
    (0.0, 0.01, (0.0, 0.0)),
])
def test_beta_interval_edges(mean, variance, expected):
    assert beta_interval(mean, variance) == pytest.approx(expected)
