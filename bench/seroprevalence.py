"""Benchmark: the 120-group hierarchical prevalence model, PyMC's default NUTS vs the project's
sampler (nutpie, numba backend), in one run.

4 species x 6 sites x 5 years, ~2,400 tests with two assays (VNT with a validation panel and
ELISA). Both samplers run the same model with the same draws, tune and chains. Reported per
sampler: whole-fit wall time (model compile included), minimum and median bulk ESS over all
parameters, and bulk ESS per second. Then a second fit of new data of the same structure
(PyMC recompiles from its on-disk C cache; nutpie reuses its compiled model via ``with_data``).

Usage: .venv/bin/python bench/seroprevalence.py [--draws 1000 --tune 600 --chains 4 --cores 2]
(defaults: the shipped config's draws, tune and chains).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import arviz as az
import numpy as np
import pandas as pd

from disease_risk.assay_accuracy import AssayAccuracy
from disease_risk.sampling import SamplerSettings
from disease_risk.seroprevalence import PrevalenceData, PrevalencePriors, fit_prevalence

ACCURACY = {
    "VNT": AssayAccuracy("VNT", 38, 4, 98, 2, 40, 37, 60, 59),
    "ELISA_IgG": AssayAccuracy("ELISA_IgG", 22, 3, 45, 2.5),
}


def simulate(seed: int) -> PrevalenceData:
    """Counts from a known additive logit model, about 2,400 tests in 120 groups."""
    rng = np.random.default_rng(seed)
    species = rng.normal(0, 0.8, 4) - 1.2
    site, year = rng.normal(0, 0.5, 6), rng.normal(0, 0.3, 5)
    se = {"VNT": 0.9, "ELISA_IgG": 0.88}
    sp = {"VNT": 0.98, "ELISA_IgG": 0.95}
    rows = []
    for s in range(4):
        for t in range(6):
            for y in range(5):
                p = 1 / (1 + np.exp(-(species[s] + site[t] + year[y])))
                for assay in ("VNT", "ELISA_IgG"):
                    n = int(rng.integers(6, 15))
                    apparent = se[assay] * p + (1 - sp[assay]) * (1 - p)
                    rows.append({"species": f"species_{s}", "site": f"site_{t}",
                                 "year": 2016 + y, "assay": assay, "n_tested": n,
                                 "n_positive": int(rng.binomial(n, apparent))})
    return PrevalenceData.from_counts(pd.DataFrame(rows))


def measure(sampler: str, data: PrevalenceData, args: argparse.Namespace, seed: int) -> dict:
    settings = SamplerSettings(sampler=sampler, draws=args.draws, tune=args.tune,
                               chains=args.chains, cores=args.cores)
    start = time.perf_counter()
    fit = fit_prevalence(data, ACCURACY, PrevalencePriors(), settings, seed)
    seconds = time.perf_counter() - start
    posterior = fit.idata.posterior[[v for v in fit.idata.posterior.data_vars
                                     if not str(v).endswith("__")]]
    ess = np.concatenate([v.values.ravel() for v in az.ess(posterior, method="bulk").values()])
    rhat = np.concatenate([v.values.ravel() for v in az.rhat(posterior).values()])
    return {
        "sampler": sampler,
        "seconds": seconds,
        "ess_bulk_min": float(ess.min()),
        "ess_bulk_median": float(np.median(ess)),
        "ess_min_per_s": float(ess.min() / seconds),
        "ess_median_per_s": float(np.median(ess) / seconds),
        "rhat_max": float(rhat.max()),
        "divergences": int(fit.idata.sample_stats["diverging"].values.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=600)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    data = simulate(1)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {len(data.groups)} groups, "
          f"{int(data.cells['n_tested'].sum())} tests; {args.chains} chains x "
          f"({args.tune} tune + {args.draws} draws), {args.cores} cores")
    rows = []
    for fit_no, seed in ((1, 11), (2, 12)):
        fit_data = data if fit_no == 1 else simulate(2)
        for sampler in ("pymc", "nutpie"):
            rows.append({"fit": fit_no, **measure(sampler, fit_data, args, seed)})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for fit_no in (1, 2):
        r = table[table["fit"] == fit_no].set_index("sampler")
        label = "first fit (compile included)" if fit_no == 1 else "second fit (cached model)"
        print(f"{label}: nutpie/PyMC ratio: min bulk ESS/s "
              f"{r.loc['nutpie', 'ess_min_per_s'] / r.loc['pymc', 'ess_min_per_s']:.2f}x, "
              f"median bulk ESS/s "
              f"{r.loc['nutpie', 'ess_median_per_s'] / r.loc['pymc', 'ess_median_per_s']:.2f}x, "
              f"wall time {r.loc['pymc', 'seconds'] / r.loc['nutpie', 'seconds']:.2f}x faster")


if __name__ == "__main__":
    main()
