"""Benchmark: the 120-group hierarchical prevalence model, PyMC's default NUTS vs the project's
sampler (nutpie, numba backend, with the on-disk compiled-model cache), in one run.

4 species x 6 sites x 5 years, ~2,400 tests with two assays (VNT with a validation panel and
ELISA). Both samplers run the same model with the same draws, tune and chains. Each fit runs in
a fresh Python process, as a pipeline job does, and is timed from model building to posterior
(compilation included; interpreter start-up and imports excluded). Both samplers get one
empty compilation cache directory (PyTensor's C and numba caches, and ours), so:

- round 1 (cold): every compiled piece is built from scratch;
- round 2 (cached): a new process for each sampler, caches filled by round 1, as in every
  later run of the pipeline; then a second data set fitted in that same process (PyMC
  re-compiles from its cache, nutpie reuses the compiled model with ``with_data``).

Reported per fit: wall seconds, minimum and median bulk ESS over all parameters, bulk ESS per
second, and the nutpie/PyMC ratio of ESS per second.

Usage: .venv/bin/python bench/seroprevalence.py [--draws 1000 --tune 600 --chains 4 --cores 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from disease_risk.serology.accuracy import AssayAccuracy
from disease_risk.serology.prevalence import PrevalenceData, PrevalencePriors, fit_prevalence
from disease_risk.serology.sampling import SamplerSettings

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


def child(args: argparse.Namespace) -> None:
    """One process: fit data set 1 (and data set 2 with --refit), print JSON lines."""
    fits = [(1, 11)] + ([(2, 12)] if args.refit else [])
    for data_seed, seed in fits:
        row = measure(args.single, simulate(data_seed), args, seed)
        print(json.dumps({"data": data_seed, **row}), flush=True)


def run_child(sampler: str, args: argparse.Namespace, cache: Path, refit: bool) -> list[dict]:
    command = [sys.executable, __file__, "--single", sampler, "--draws", str(args.draws),
               "--tune", str(args.tune), "--chains", str(args.chains), "--cores", str(args.cores)]
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}"}
    done = subprocess.run(command + (["--refit"] if refit else []), env=env, check=True,
                          capture_output=True, text=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=600)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--single", choices=("pymc", "nutpie"), help=argparse.SUPPRESS)
    parser.add_argument("--refit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        child(args)
        return
    data = simulate(1)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {len(data.groups)} groups, "
          f"{int(data.cells['n_tested'].sum())} tests; {args.chains} chains x "
          f"({args.tune} tune + {args.draws} draws), {args.cores} cores", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-compiledir-") as cache:
        for label, refit in (("1 cold", False), ("2 cached", True)):
            for sampler in ("pymc", "nutpie"):
                for row in run_child(sampler, args, Path(cache), refit):
                    fit = label if row.pop("data") == 1 else "2 cached, refit in process"
                    rows.append({"fit": fit, **row})
                    print(f"  {fit}: {sampler} {row['seconds']:.1f} s", flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for fit, r in table.groupby("fit", sort=False):
        by = r.set_index("sampler")[["ess_min_per_s", "ess_median_per_s", "seconds"]]
        ratio = by.loc["nutpie"] / by.loc["pymc"]
        print(f"{fit}: nutpie/PyMC min bulk ESS/s {ratio['ess_min_per_s']:.2f}x, "
              f"median {ratio['ess_median_per_s']:.2f}x, wall time {1 / ratio['seconds']:.2f}x")


if __name__ == "__main__":
    main()
