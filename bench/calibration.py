"""Benchmark: the ABC-SMC calibration (pyabc) against a grid posterior, on synthetic truth.

Model: two species without contacts, each infected only from beyond the landscape at a rate
with a uniform prior on [0, 0.5] a year, with births and deaths (the calibration's simulator on
600 animals, 3 burn-in years, 5 measured). Data sets: truth drawn from the prior; observed log
FOI = one simulation at the truth plus Normal(0, sd) (the measurement model the calibration
assumes). Peer: the grid posterior of the same model, the likelihood of each grid point
estimated by averaging the Normal density over simulations at that point (exact up to Monte
Carlo and grid error). Reports, over the data sets: coverage of the 90% intervals of both,
their mean widths, the ABC/grid width ratio, and simulations and seconds per calibration.

Run: .venv/bin/python bench/calibration.py [--datasets 50] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))
from test_calibration import (
    COVERAGE_SETTINGS,
    PRIOR_HIGH,
    SYNTHETIC_SD,
    coverage_setup,
    synthetic_data,
)

from disease_risk.transmission import calibration as cal


def grid_interval(
    simulator: cal.FoiSimulator, observed: np.ndarray, grid: np.ndarray, sims: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per parameter: the 90% interval of the grid posterior (the two species are independent
    here, so each rate's likelihood is computed on its own axis)."""
    rng = np.random.default_rng(seed)
    lo, hi = np.zeros(2), np.zeros(2)
    like = np.zeros((2, grid.size))
    for g, rate in enumerate(grid):
        theta = {"outside_infection_domestic_dog": rate, "outside_infection_red_fox": rate}
        draws = np.array([simulator.log_foi(theta, rng) for _ in range(sims)])
        like[:, g] = stats.norm.pdf(observed, draws, SYNTHETIC_SD).mean(axis=0)
    for i in range(2):
        cdf = np.cumsum(like[i]) / like[i].sum()
        lo[i] = grid[np.searchsorted(cdf, 0.05)]
        hi[i] = grid[np.searchsorted(cdf, 0.95)]
    return lo, hi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="10 data sets, coarse grid")
    args = parser.parse_args()
    logging.getLogger("ABC").setLevel(logging.WARNING)  # pyabc's per-generation messages
    datasets = 10 if args.quick else args.datasets
    grid = np.linspace(0.0025, PRIOR_HIGH - 0.0025, 40 if args.quick else 100)
    simulator, params = coverage_setup()
    rows = []
    for rep in range(datasets):
        truth, targets = synthetic_data(simulator, params, rep)
        observed = targets["log_foi_mean"].to_numpy()
        start = time.perf_counter()
        result = cal.calibrate(simulator, targets, params, COVERAGE_SETTINGS, seed=rep)
        seconds = time.perf_counter() - start
        table = cal.parameter_table(params, result.posterior)
        g_lo, g_hi = grid_interval(simulator, observed, grid, 20 if args.quick else 50, rep)
        for i, row in enumerate(table.itertuples()):
            rows.append(
                {
                    "abc_covers": row.posterior_lo90 <= truth[row.parameter] <= row.posterior_hi90,
                    "grid_covers": g_lo[i] <= truth[row.parameter] <= g_hi[i],
                    "abc_width": row.posterior_hi90 - row.posterior_lo90,
                    "grid_width": g_hi[i] - g_lo[i],
                    "simulations": int(result.progress["simulations"].sum()),
                    "seconds": seconds,
                }
            )
    out = pd.DataFrame(rows)
    n = len(out)
    print(f"{datasets} data sets, {n} intervals (nominal 90%)")
    print(f"coverage: ABC-SMC {out.abc_covers.mean():.3f}, grid {out.grid_covers.mean():.3f}")
    print(
        f"mean 90% width: ABC-SMC {out.abc_width.mean():.4f}, grid {out.grid_width.mean():.4f}, "
        f"ratio {out.abc_width.mean() / out.grid_width.mean():.2f} (prior {0.9 * PRIOR_HIGH})"
    )
    print(
        f"per calibration: {out.simulations.mean():.0f} simulations, "
        f"{out.seconds.mean():.1f} s (one process)"
    )


if __name__ == "__main__":
    main()
