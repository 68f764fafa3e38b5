"""The vectorised convergence diagnostics against ArviZ's element-by-element ones."""

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from disease_risk.serology.convergence import (
    bulk_ess,
    convergence_statistics,
    rank_normalised_rhat,
    tail_ess,
)


def _arviz(values: np.ndarray) -> dict[str, np.ndarray]:
    dims = ("chain", "draw", *(f"d{i}" for i in range(values.ndim - 2)))
    posterior = xr.Dataset({"x": (dims, values)})
    return {
        "rhat": az.rhat(posterior)["x"].values,
        "bulk": az.ess(posterior, method="bulk")["x"].values,
        "tail": az.ess(posterior, method="tail")["x"].values,
    }


def _chains(rng: np.random.Generator, chains: int, draws: int, elements: int) -> np.ndarray:
    """AR(1) chains with autocorrelation from 0 to 0.99 across elements, some chains offset
    (not mixed), one element constant, one with ties, one heavy-tailed, one with a NaN."""
    phi = np.linspace(0.0, 0.99, elements)
    values = np.empty((chains, draws, elements))
    values[:, 0] = rng.normal(size=(chains, elements))
    for t in range(1, draws):
        values[:, t] = phi * values[:, t - 1] + rng.normal(size=(chains, elements))
    values[0, :, 1::7] += 3.0
    values[:, :, 2] = 1.5
    values[:, :, 3] = np.round(values[:, :, 3])
    values[:, :, 4] = rng.standard_cauchy(size=(chains, draws))
    values[-1, -1, 5] = np.nan
    return values


@pytest.mark.parametrize(("chains", "draws"), [(4, 1000), (2, 7), (3, 4), (1, 50), (4, 9)])
def test_equal_to_arviz(chains, draws):
    values = _chains(np.random.default_rng(chains * 100 + draws), chains, draws, 40)
    expected = _arviz(values)
    got = {"rhat": rank_normalised_rhat(values), "bulk": bulk_ess(values),
           "tail": tail_ess(values)}
    for name, value in got.items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=name)
    assert np.isnan(got["rhat"][5]) and np.isnan(got["bulk"][5])
    # the one-pass version (what the fits' diagnostics use): the same numbers, bit for bit
    for name, value in zip(got, convergence_statistics(values), strict=True):
        np.testing.assert_array_equal(value, got[name], err_msg=name)


def test_shape_and_blocks():
    """Elements in several blocks and a 2-d element shape come back in place."""
    values = _chains(np.random.default_rng(7), 4, 200, 1200).reshape(4, 200, 30, 40)
    expected = _arviz(values)
    np.testing.assert_allclose(rank_normalised_rhat(values), expected["rhat"], rtol=1e-9,
                               equal_nan=True)
    np.testing.assert_allclose(bulk_ess(values), expected["bulk"], rtol=1e-9, equal_nan=True)
    rhat, bulk, tail = convergence_statistics(values)
    assert rhat.shape == bulk.shape == tail.shape == (30, 40)
    for name, value in (("rhat", rhat), ("bulk", bulk), ("tail", tail)):
        np.testing.assert_allclose(value, expected[name], rtol=1e-9, equal_nan=True, err_msg=name)


def test_stuck_chain_is_flagged():
    values = _chains(np.random.default_rng(3), 4, 500, 8)
    assert rank_normalised_rhat(values)[1] > 1.3  # one chain of four offset by 3 SD
    assert rank_normalised_rhat(values)[0] < 1.01


def test_average_ranks_are_scipys():
    from scipy import stats

    from disease_risk.serology.convergence import _average_ranks

    values = np.random.default_rng(1).integers(0, 5, size=(60, 9)).astype(float)
    values[:, 0] = np.arange(60.0)[::-1]
    values[:, 1] = 2.0
    np.testing.assert_array_equal(_average_ranks(values),
                                  stats.rankdata(values, method="average", axis=0))


def test_a_fits_statistics_are_computed_once_for_the_retry_check_and_the_table(monkeypatch):
    """sample_posterior's retry check and the stage's diagnostics table read the same numbers:
    the second table costs no second pass over the draws."""
    from disease_risk.serology import sampling

    calls = []

    def counted(values):
        calls.append(values.shape)
        return convergence_statistics(values)

    monkeypatch.setattr(sampling, "convergence_statistics", counted)
    rng = np.random.default_rng(3)
    idata = az.from_dict(
        posterior={"a": rng.normal(size=(2, 100)), "b": rng.normal(size=(2, 100, 3)),
                   "b_log__": rng.normal(size=(2, 100, 3))},
        sample_stats={"diverging": np.zeros((2, 100), dtype=bool)},
    )
    fit = sampling.Fit(idata, "nutpie", 1.0, 0)
    settings = sampling.SamplerSettings()
    first = sampling.convergence_table(fit, settings, "m")
    second = sampling.convergence_table(fit, settings, "m")
    assert calls == [(2, 100), (2, 100, 3)]  # a, b; not b's unconstrained copy, nothing twice
    pd.testing.assert_frame_equal(first, second)
    assert list(first["item"]) == ["a", "b"]


def test_ranks_equal_scipys_average_ranks_with_and_without_ties():
    """Columns without ties take the fast path, columns with ties (here: a run of equal draws,
    a constant column) the mean rank; both as scipy.stats.rankdata."""
    from scipy import stats

    from disease_risk.serology.convergence import _average_ranks

    values = np.random.default_rng(11).random((400, 6))
    values[:5, 1] = values[0, 1]
    values[50:90, 3] = 0.5
    values[:, 4] = 1.0
    expected = stats.rankdata(values, method="average", axis=0)
    np.testing.assert_array_equal(_average_ranks(values), expected)
    np.testing.assert_array_equal(_average_ranks(values[:, [0, 2, 5]]), expected[:, [0, 2, 5]])
