"""Parameter uncertainty apart from Monte Carlo error, for quantities simulated in replicates
grouped by parameter set.

Each scenario runs ``runs_per_parameter_set`` replicates with one parameter set (a calibration
posterior draw with the assumptions drawn from their ranges), each with its own luck. A
replicate's value ``y`` (0/1 for "the target was infected", a share, a paired difference) then
splits by the law of total variance: ``Var(y) = Var_theta(E[y | theta]) + E_theta(Var(y | theta))``.

- the estimate is the mean over all replicates (the posterior-predictive expectation);
- its Monte Carlo standard error comes from the spread of the parameter sets' means (sets are
  independent; replicates within a set are not);
- the parameter uncertainty is the spread of ``E[y | theta]`` over parameter sets, estimated by
  the one-way random-effects (ANOVA) method of moments: the variance of set means less the
  within-set variance each mean carries. Its 95% interval is that of a beta distribution with
  the estimate's mean and this variance for values in [0, 1] (probabilities, shares), else of a
  normal one, widened where needed to cover the estimate +/- 1.96 Monte Carlo standard errors
  (a spread over parameter sets smaller than that cannot be resolved from these runs). With one
  run per set the two parts cannot be told apart: the interval is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = 1.959964  # standard normal 97.5% quantile


@dataclass(frozen=True)
class SplitUncertainty:
    """A simulated quantity's estimate, its Monte Carlo standard error and the 95% interval of
    its value given a parameter set, over the parameter sets (``lo95``, ``hi95``)."""

    estimate: float
    mcse: float
    lo95: float
    hi95: float
    parameter_sd: float  # standard deviation of E[y | theta] over parameter sets
    parameter_sets: int


def split_uncertainty(
    values: np.ndarray, parameter_set: np.ndarray, bounded: bool = True
) -> SplitUncertainty:
    """Estimate, Monte Carlo error and parameter interval of ``values`` (one per replicate)
    grouped by ``parameter_set``; ``bounded``: the values lie in [0, 1]."""
    y = np.asarray(values, float)
    groups = np.asarray(parameter_set)
    if y.shape != groups.shape:
        raise ValueError(f"values {y.shape} and parameter sets {groups.shape} differ in shape")
    keep = ~np.isnan(y)
    y, groups = y[keep], groups[keep]
    if y.size == 0:
        return SplitUncertainty(math.nan, math.nan, math.nan, math.nan, math.nan, 0)
    _, code = np.unique(groups, return_inverse=True)
    size = np.bincount(code).astype(float)
    means = np.bincount(code, weights=y) / size
    sets = size.size
    estimate = float(y.mean())
    if sets < 2:
        return SplitUncertainty(estimate, math.nan, math.nan, math.nan, math.nan, sets)
    mcse = float(math.sqrt(np.sum(size**2 * (means - estimate) ** 2) / (sets * (sets - 1)))
                 / size.mean())
    variance = between_set_variance(y, code, size, means)
    if math.isnan(variance):
        return SplitUncertainty(estimate, mcse, math.nan, math.nan, math.nan, sets)
    lo, hi = (beta_interval if bounded else normal_interval)(estimate, variance)
    lo, hi = min(lo, estimate - Z95 * mcse), max(hi, estimate + Z95 * mcse)
    if bounded:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return SplitUncertainty(estimate, mcse, lo, hi, math.sqrt(variance), sets)


def between_set_variance(
    y: np.ndarray, code: np.ndarray, size: np.ndarray, means: np.ndarray
) -> float:
    """Method-of-moments variance of the set means' true values: observed variance of set means
    less the mean within-set variance / set size, floored at 0; NaN if no set has two runs."""
    within = np.bincount(code, weights=(y - means[code]) ** 2)
    has_two = size > 1
    if not has_two.any():
        return math.nan
    within_var = within[has_two] / (size[has_two] - 1)
    noise = float(np.mean(within_var / size[has_two]))
    return max(0.0, float(np.var(means, ddof=1)) - noise)


def beta_interval(mean: float, variance: float) -> tuple[float, float]:
    """Central 95% interval of the beta distribution with this mean and variance; a point at a
    variance of 0, the Bernoulli's own quantiles when the variance reaches ``mean (1 - mean)``."""
    if variance <= 0 or mean <= 0 or mean >= 1:
        return mean, mean
    concentration = mean * (1 - mean) / variance - 1
    if concentration <= 0:
        return (0.0 if mean > 0.025 else mean), (1.0 if mean < 0.975 else mean)
    dist = stats.beta(mean * concentration, (1 - mean) * concentration)
    return float(dist.ppf(0.025)), float(dist.ppf(0.975))


def normal_interval(mean: float, variance: float) -> tuple[float, float]:
    """Central 95% interval of the normal distribution with this mean and variance."""
    half = Z95 * math.sqrt(variance)
    return mean - half, mean + half
