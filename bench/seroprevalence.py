"""Benchmark: the 120-group hierarchical prevalence model, PyMC's default NUTS vs nutpie's
backends (numba with the project's on-disk compiled-model cache, JAX with JAX's persistent
compilation cache), compile-time options and PyMC's NumPyro sampler, side by side in one run.

The project samples with ``pymc`` or ``nutpie`` (``disease_risk.serology.sampling``); the nutpie
options here are measured through the same sampling call (``_nutpie_sample``: same settings,
seeds and progress reporting), NumPyro through ``pm.sample``. JAX and NumPyro samplers need the
optional ``jax`` extra (``bench/requirements-jax.lock``, not installed by ``make``) and are left
out when it is missing.

4 species x 6 sites x 5 years, ~2,400 tests with two assays (VNT with a validation panel and
ELISA). Every sampler runs the same model with the same draws, tune, chains and target
acceptance. Each fit runs in a fresh Python process, as a pipeline job does, and is timed from
model building to posterior (compilation included; interpreter start-up and imports excluded).
All samplers get one empty compilation cache directory (PyTensor's C and numba caches, ours,
and JAX's persistent compilation cache in the ``jax`` folder of PyTensor's compiledir), so:

- round 1 (cold): every compiled piece is built from scratch, as on a new machine;
- round 2 (cached): a new process for each sampler, caches filled by round 1, as in every
  later run of the pipeline; then a second data set fitted in that same process (PyMC
  re-compiles from its cache, nutpie reuses the compiled model with ``with_data``), and, for
  the nutpie samplers, data set 1 again with the same seed, to check that draws repeat.

Samplers (``--samplers``, all by default):

- ``pymc``: PyMC's default NUTS (C backend), the peer;
- ``nutpie``: the project's sampler: nutpie, numba backend, compiled-model cache;
- ``nutpie_jax``: nutpie, JAX backend, gradients by JAX (``gradient_backend="jax"``), data
  kept as function arguments (``freeze_model=False``) so that ``with_data`` reuses the model
  and a data set of the same shapes hits JAX's on-disk cache, JAX's asynchronous CPU dispatch
  off (see ``configure_jax``);
- ``nutpie_jax_pt_grad``: the same with PyTensor's symbolic gradient;
- ``nutpie_jax_frozen``: the same with data frozen into the graph as constants (nutpie's
  default for JAX; a new data set is a new compile);
- ``nutpie_jax_async``: the same with JAX's asynchronous CPU dispatch on (JAX's default);
- ``numba_fast_compile``: numba backend with PyTensor's ``fast_compile`` rewrites instead of
  ``fast_run`` (fewer rewrites, more nodes to compile), through the compiled-model cache in a
  cache directory of its own (the cache key does not include the rewrites);
- ``pymc_numpyro``: PyMC's NumPyro NUTS (``pm.sample(nuts_sampler="numpyro")``): the whole
  sampler compiled by XLA, no Python call per gradient; chains in parallel on one XLA host
  device each (``XLA_FLAGS``, set for its process), JAX's persistent compilation cache on.

Reported per fit: wall seconds, minimum and median bulk ESS over all parameters, bulk ESS per
second, its ratio to PyMC's in the same round, max R-hat, divergences and a digest of all draws
(equal digests = bit-identical draws).

Usage: .venv/bin/python bench/seroprevalence.py [--draws 1000 --tune 600 --chains 4 --cores 2]
       [--samplers pymc nutpie nutpie_jax ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from disease_risk.serology.accuracy import AssayAccuracy
from disease_risk.serology.prevalence import (
    PrevalenceData,
    PrevalencePriors,
    build_prevalence_model,
    fit_prevalence,
)
from disease_risk.serology.sampling import SAMPLERS, SamplerSettings

ACCURACY = {
    "VNT": AssayAccuracy("VNT", 38, 4, 98, 2, 40, 37, 60, 59),
    "ELISA_IgG": AssayAccuracy("ELISA_IgG", 22, 3, 45, 2.5),
}

# samplers measured here beyond the project's own (``SAMPLERS``): nutpie compile options
JAX = {"backend": "jax", "gradient_backend": "jax", "freeze_model": False, "async": False}
OPTIONS: dict[str, dict[str, Any]] = {
    "nutpie_jax": JAX,
    "nutpie_jax_pt_grad": {**JAX, "gradient_backend": "pytensor"},
    "nutpie_jax_frozen": {**JAX, "freeze_model": True},
    "nutpie_jax_async": {**JAX, "async": True},
    "numba_fast_compile": {"backend": "numba", "rewrites": "fast_compile"},
    "pymc_numpyro": {"backend": "numpyro"},
}
ALL = ("pymc", "nutpie", *OPTIONS)
PEER = "pymc"


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
                    rows.append(
                        {
                            "species": f"species_{s}",
                            "site": f"site_{t}",
                            "year": 2016 + y,
                            "assay": assay,
                            "n_tested": n,
                            "n_positive": int(rng.binomial(n, apparent)),
                        }
                    )
    return PrevalenceData.from_counts(pd.DataFrame(rows))


_COMPILED: dict[str, Any] = {}


def configure_jax(asynchronous: bool) -> None:
    """JAX's persistent compilation cache on, in a ``jax`` folder of PyTensor's compile
    directory (beside the numba and C caches), every compiled function stored; JAX's
    asynchronous CPU dispatch on or off.

    nutpie calls the log density from Python once per gradient (~100 us of XLA work each);
    asynchronous dispatch hands each call to another thread and back (measured: a quarter of
    the sampling time on this model).
    """
    import jax
    from pytensor import config

    jax.config.update("jax_compilation_cache_dir", str(Path(config.compiledir) / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_cpu_enable_async_dispatch", asynchronous)


def _compile_option(model: Any, option: dict[str, Any]) -> Any:
    """A nutpie model compiled with a compile option the project's sampler does not offer."""
    import nutpie

    if option["backend"] == "jax":
        configure_jax(asynchronous=option["async"])
        return nutpie.compile_pymc_model(
            model,
            backend="jax",
            gradient_backend=option["gradient_backend"],
            freeze_model=option["freeze_model"],
        )
    from pytensor.compile.mode import Mode
    from pytensor.graph.rewriting.db import RewriteDatabaseQuery

    from disease_risk.serology import compiled_model

    mode = Mode(
        linker="numba", optimizer=RewriteDatabaseQuery(include=[option["rewrites"], "numba"])
    )
    make_functions = compiled_model.nutpie_pymc._make_functions

    def with_mode(*args: Any, **kwargs: Any) -> Any:
        return make_functions(*args, **{**kwargs, "mode": mode})

    compiled_model.nutpie_pymc._make_functions = with_mode
    try:
        return compiled_model.compile_cached(model)
    finally:
        compiled_model.nutpie_pymc._make_functions = make_functions


def fit_option(name: str, data: PrevalenceData, settings: SamplerSettings, seed: int) -> Any:
    """Fit with one of ``OPTIONS`` as ``fit_prevalence`` does with the project's samplers:
    compiled once per process, reused with ``with_data`` unless the data are frozen."""
    from disease_risk.serology.sampling import Fit, ProgressLog, _nutpie_sample

    option = OPTIONS[name]
    model = build_prevalence_model(data, ACCURACY, PrevalencePriors())
    if option["backend"] == "numpyro":
        return _fit_numpyro(model, settings, seed)
    compiled = _COMPILED.get(name)
    if compiled is not None and not option.get("freeze_model", False):
        data_values = {v.name: v.get_value() for v in model.data_vars}
        if option["backend"] == "jax":  # device arrays once, not converted at every call
            import jax

            data_values = {k: jax.numpy.asarray(v) for k, v in data_values.items()}
        compiled = compiled.with_data(**data_values)
    else:
        compiled = _COMPILED[name] = _compile_option(model, option)
    progress = ProgressLog(
        name, settings.chains, settings.tune + settings.draws, emit=lambda line: None
    )
    idata = _nutpie_sample(compiled, settings, seed, progress)
    return Fit(idata=idata, sampler=name, seconds=0.0, seed=seed)


def _fit_numpyro(model: Any, settings: SamplerSettings, seed: int) -> Any:
    """PyMC's NumPyro NUTS with the same draws, tune, chains and target acceptance."""
    import pymc as pm

    from disease_risk.serology.sampling import Fit

    configure_jax(asynchronous=True)
    with model:
        idata = pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            target_accept=settings.target_accept,
            random_seed=seed,
            nuts_sampler="numpyro",
            nuts_sampler_kwargs={"chain_method": "parallel"},
            progressbar=False,
            compute_convergence_checks=False,
        )
    return Fit(idata=idata, sampler="pymc_numpyro", seconds=0.0, seed=seed)


def measure(sampler: str, data: PrevalenceData, args: argparse.Namespace, seed: int) -> dict:
    project = sampler if sampler in SAMPLERS else "nutpie"
    settings = SamplerSettings(
        sampler=project, draws=args.draws, tune=args.tune, chains=args.chains, cores=args.cores
    )
    start = time.perf_counter()
    if sampler in SAMPLERS:
        fit = fit_prevalence(data, ACCURACY, PrevalencePriors(), settings, seed)
    else:
        fit = fit_option(sampler, data, settings, seed)
    seconds = time.perf_counter() - start
    posterior = fit.idata.posterior[
        [v for v in fit.idata.posterior.data_vars if not str(v).endswith("__")]
    ]
    ess = np.concatenate([v.values.ravel() for v in az.ess(posterior, method="bulk").values()])
    rhat = np.concatenate([v.values.ravel() for v in az.rhat(posterior).values()])
    digest = hashlib.sha256()
    for name in sorted(posterior.data_vars):
        digest.update(np.ascontiguousarray(posterior[name].values).tobytes())
    return {
        "sampler": sampler,
        "seconds": seconds,
        "ess_bulk_min": float(ess.min()),
        "ess_bulk_median": float(np.median(ess)),
        "ess_min_per_s": float(ess.min() / seconds),
        "ess_median_per_s": float(np.median(ess) / seconds),
        "rhat_max": float(rhat.max()),
        "divergences": int(fit.idata.sample_stats["diverging"].values.sum()),
        "digest": digest.hexdigest()[:12],
    }


def child(args: argparse.Namespace) -> None:
    """One process: fit data set 1 (then data set 2 and data set 1 again with --refit), print
    JSON lines."""
    fits = [(1, 11)]
    if args.refit:
        fits += [(2, 12)] + ([(1, 11)] if args.single != PEER else [])
    for data_seed, seed in fits:
        row = measure(args.single, simulate(data_seed), args, seed)
        print(json.dumps({"data": data_seed, **row}), flush=True)


def run_child(sampler: str, args: argparse.Namespace, cache: Path, refit: bool) -> list[dict]:
    if sampler == "numba_fast_compile":  # its own cache: the cache key ignores the rewrites
        cache = cache / "fast_compile"
    command = [
        sys.executable,
        __file__,
        "--single",
        sampler,
        "--draws",
        str(args.draws),
        "--tune",
        str(args.tune),
        "--chains",
        str(args.chains),
        "--cores",
        str(args.cores),
    ]
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # JAX's cache goes into base_compiledir too
    if OPTIONS.get(sampler, {}).get("backend") == "numpyro":  # one XLA device per chain
        devices = f"--xla_force_host_platform_device_count={args.chains}"
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {devices}".strip()
    done = subprocess.run(
        command + (["--refit"] if refit else []),
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{sampler} failed (exit {done.returncode})")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


FIT_LABELS = ("1 cold", "2 cached", "2 cached, refit in process", "2 cached, same seed again")


def report(table: pd.DataFrame) -> None:
    peer = table[table["sampler"] == PEER].set_index("fit")
    for column in ("ess_min_per_s", "ess_median_per_s"):
        base = table["fit"].map(peer[column]) if not peer.empty else np.nan
        table[f"x_{column.removesuffix('_per_s').removeprefix('ess_')}"] = table[column] / base
    shown = table[table["fit"] != FIT_LABELS[3]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print()
    print(
        "| fit | sampler | wall s | min / median bulk ESS | min bulk ESS/s | median ESS/s "
        "| x PyMC (min / median ESS/s) | max R-hat, divergences |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in shown.itertuples():
        ratio = f"{r.x_min:.2f}x / {r.x_median:.2f}x"
        if r.x_min >= 3:
            ratio = f"**{ratio}**"
        print(
            f"| {r.fit} | {r.sampler} | {r.seconds:.1f} | {r.ess_bulk_min:,.0f} / "
            f"{r.ess_bulk_median:,.0f} | {r.ess_min_per_s:.3g} | {r.ess_median_per_s:.3g} | "
            f"{ratio} | {r.rhat_max:.3f}, {r.divergences} |"
        )
    print()
    print("Draws reproducible with the same seed (same digest of all draws):")
    for sampler, r in table.groupby("sampler", sort=False):
        digests = r.set_index("fit")["digest"]
        cold, cached = digests.get(FIT_LABELS[0]), digests.get(FIT_LABELS[1])
        again = digests.get(FIT_LABELS[3])
        same = "same" if cold == cached else "DIFFER"
        line = f"  {sampler}: cold process vs cached process {same}"
        if again is not None:
            line += f"; twice in one process {'same' if again == cached else 'DIFFER'}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=600)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--cores", type=int, default=2)
    missing = {  # optional libraries: samplers that need them are left out by default
        name
        for name, option in OPTIONS.items()
        if option["backend"] in ("jax", "numpyro")
        and importlib.util.find_spec(option["backend"]) is None
    }
    default = [name for name in ALL if name not in missing]
    parser.add_argument("--samplers", nargs="+", choices=ALL, default=default)
    parser.add_argument("--single", choices=ALL, help=argparse.SUPPRESS)
    parser.add_argument("--refit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        child(args)
        return
    data = simulate(1)
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {len(data.groups)} groups, "
        f"{int(data.cells['n_tested'].sum())} tests; {args.chains} chains x "
        f"({args.tune} tune + {args.draws} draws), {args.cores} cores; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-compiledir-") as cache:
        for refit in (False, True):
            for sampler in args.samplers:
                for i, row in enumerate(run_child(sampler, args, Path(cache), refit)):
                    fit = FIT_LABELS[0] if not refit else FIT_LABELS[1 + i]
                    row.pop("data")
                    rows.append({"fit": fit, **row})
                    print(
                        f"  {fit}: {sampler} {row['seconds']:.1f} s "
                        f"(load average {os.getloadavg()[0]:.2f})",
                        flush=True,
                    )
    report(pd.DataFrame(rows))


if __name__ == "__main__":
    main()
