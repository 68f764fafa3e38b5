"""Posterior sampling for the serology models: nutpie (numba backend) or PyMC's NUTS.

nutpie models are compiled once per model structure and reused with new data (``with_data``):
within a process from memory, across processes from the on-disk cache of
``disease_risk.serology.compiled_model``. Every random number comes from an explicit seed, so the
same seed gives the same draws.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm

log = logging.getLogger(__name__)

SAMPLERS = ("nutpie", "pymc")


@dataclass(frozen=True)
class SamplerSettings:
    """How to sample and when a fit counts as reliable."""

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    cores: int = 1
    rhat_max: float = 1.01
    ess_bulk_min: float = 400.0

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any], cores: int = 1) -> SamplerSettings:
        """Settings from the config's ``seroprevalence`` section (absent keys keep defaults)."""
        keys = ("sampler", "draws", "tune", "chains", "target_accept", "rhat_max", "ess_bulk_min")
        values = {k: section[k] for k in keys if k in section}
        return cls(**values, cores=max(1, int(cores)))


@dataclass
class Fit:
    """A sampled posterior with how it was obtained."""

    idata: az.InferenceData
    sampler: str
    seconds: float
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)


_COMPILED: dict[str, Any] = {}


def model_fingerprint(model: pm.Model) -> str:
    """Identify a model's structure: its printed graph, coordinates and data shapes.

    Data values are left out on purpose: models that differ only in ``pm.Data`` values share a
    compiled nutpie model. Builders must therefore put every array into ``pm.Data``.
    """
    parts = [model.str_repr()]
    parts += [f"{k}={list(v) if v is not None else None}" for k, v in sorted(model.coords.items())]
    for var in sorted(model.data_vars, key=lambda v: v.name):
        value = var.get_value()
        parts.append(f"{var.name}:{value.dtype}:{value.shape}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _compile_nutpie(model: pm.Model) -> Any:
    """The on-disk cached compile; nutpie's own compiler if the private nutpie API it relies
    on has changed (same draws, only slower on the next run)."""
    try:
        from disease_risk.serology.compiled_model import compile_cached

        return compile_cached(model)
    except (ImportError, AttributeError, TypeError) as err:
        log.warning(
            "compiled-model cache unavailable (%s: %s), probably a changed nutpie version; "
            "compiling with nutpie.compile_pymc_model instead (no on-disk cache)",
            type(err).__name__,
            err,
        )
        import nutpie

        return nutpie.compile_pymc_model(model, backend="numba")


def compiled_nutpie_model(model: pm.Model) -> Any:
    """A nutpie-compiled model, reused from this process's cache when the structure matches."""
    key = model_fingerprint(model)
    data = {var.name: var.get_value() for var in model.data_vars}
    cached = _COMPILED.get(key)
    if cached is not None:
        log.info("reusing compiled nutpie model %s", key[:12])
        return cached.with_data(**data)
    start = time.perf_counter()
    compiled = _compile_nutpie(model)
    log.info("compiled or loaded nutpie model %s in %.1f s", key[:12], time.perf_counter() - start)
    _COMPILED[key] = compiled
    return compiled


def sample_posterior(model: pm.Model, settings: SamplerSettings, seed: int) -> Fit:
    """Draw from the posterior of ``model`` with the configured sampler (compile time included)."""
    start = time.perf_counter()
    if settings.sampler == "nutpie":
        import nutpie

        compiled = compiled_nutpie_model(model)
        idata = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=min(settings.chains, settings.cores),
            seed=seed,
            target_accept=settings.target_accept,
            save_warmup=False,
            progress_bar=False,
        )
    else:
        with model:
            idata = pm.sample(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=min(settings.chains, settings.cores),
                random_seed=seed,
                target_accept=settings.target_accept,
                progressbar=False,
                compute_convergence_checks=False,
            )
    seconds = time.perf_counter() - start
    log.info("sampled with %s in %.1f s", settings.sampler, seconds)
    return Fit(idata=idata, sampler=settings.sampler, seconds=seconds, seed=seed)


def divergences(idata: az.InferenceData) -> int:
    """Number of divergent transitions after warm-up."""
    return int(idata.sample_stats["diverging"].values.sum())


def convergence_table(fit: Fit, settings: SamplerSettings, model_name: str) -> pd.DataFrame:
    """One row per posterior variable (parameter block): worst R-hat, bulk and tail ESS.

    Unconstrained copies (names ending ``__``) are skipped: they mirror the constrained ones.

    A block is reliable when R-hat <= ``rhat_max``, bulk ESS >= ``ess_bulk_min`` and the fit
    had no divergences.
    """
    posterior = fit.idata.posterior
    rhat = az.rhat(posterior)
    ess_bulk = az.ess(posterior, method="bulk")
    ess_tail = az.ess(posterior, method="tail")
    n_div = divergences(fit.idata)
    rows = []
    for name in posterior.data_vars:
        if str(name).endswith("__"):
            continue
        r = float(np.nanmax(rhat[name].values))
        eb = float(np.nanmin(ess_bulk[name].values))
        et = float(np.nanmin(ess_tail[name].values))
        ok = r <= settings.rhat_max and eb >= settings.ess_bulk_min and n_div == 0
        rows.append(
            {
                "section": "sampling",
                "model": model_name,
                "item": str(name),
                "rhat_max": r,
                "ess_bulk_min": eb,
                "ess_tail_min": et,
                "divergences": n_div,
                "sampler": fit.sampler,
                "seconds": fit.seconds,
                "reliable": "yes" if ok else "no",
            }
        )
    return pd.DataFrame(rows)


def posterior_draws(idata: az.InferenceData, name: str) -> np.ndarray:
    """A posterior variable with chains and draws stacked into the first axis."""
    values = idata.posterior[name].values
    return values.reshape((-1, *values.shape[2:]))
