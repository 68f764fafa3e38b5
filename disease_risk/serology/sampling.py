"""Posterior sampling for the serology models: nutpie (numba backend) or PyMC's NUTS.

nutpie models are compiled once per model structure and reused with new data (``with_data``):
within a process from memory, across processes from the on-disk cache of
``disease_risk.serology.compiled_model``. Every random number comes from an explicit seed, so the
same seed gives the same draws. While sampling, progress lines (chains, draws done of the total,
divergences so far) go to the log every 10% of the draws and at least every minute, so a long
run on a cluster visibly moves.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm

from disease_risk.serology.convergence import convergence_statistics

log = logging.getLogger(__name__)

SAMPLERS = ("nutpie", "pymc")
# diagonal: NUTS adapts one scale per parameter; low_rank: nutpie's low-rank modified mass
# matrix, which also learns the few strongest posterior correlations (with sampler pymc, PyMC's
# full-rank adaptation)
MASS_MATRICES = ("diagonal", "low_rank")
# settings a model's own section may override
MODEL_KEYS = ("target_accept", "retry_target_accept", "mass_matrix")


@dataclass(frozen=True)
class SamplerSettings:
    """How to sample and when a fit counts as reliable."""

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    retry_target_accept: float | None = None  # a fit failing its diagnostics is sampled again
    mass_matrix: str = "diagonal"
    cores: int = 1
    rhat_max: float = 1.01
    ess_bulk_min: float = 400.0

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")
        if self.mass_matrix not in MASS_MATRICES:
            raise ValueError(
                f"mass_matrix must be one of {MASS_MATRICES}, got {self.mass_matrix!r}"
            )
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be between 0 and 1, got {self.target_accept!r}")
        retry = self.retry_target_accept
        if retry is not None and not self.target_accept < retry < 1:
            raise ValueError(
                f"retry_target_accept must be above target_accept ({self.target_accept}) and "
                f"below 1, got {retry!r}"
            )

    @classmethod
    def from_config(cls, section: Mapping[str, Any], cores: int = 1) -> SamplerSettings:
        """Settings from the config's ``seroprevalence`` section (absent keys keep defaults)."""
        keys = ("sampler", "draws", "tune", "chains", *MODEL_KEYS, "rhat_max", "ess_bulk_min")
        values = {k: section[k] for k in keys if k in section}
        return cls(**values, cores=max(1, int(cores)))

    def for_model(self, section: Mapping[str, Any]) -> SamplerSettings:
        """These settings with one model's own ``target_accept``, ``retry_target_accept`` and
        ``mass_matrix`` from its config section (absent or null: the shared ones), as each
        model's geometry asks."""
        own = {k: section[k] for k in MODEL_KEYS if section.get(k) is not None}
        return replace(self, **own)


@dataclass
class Fit:
    """A sampled posterior with how it was obtained."""

    idata: az.InferenceData
    sampler: str
    seconds: float
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)
    target_accept: float | None = None
    # the unreliable blocks of an earlier attempt at a lower target_accept (section "retry")
    retried: pd.DataFrame | None = None

    @cached_property
    def worst_statistics(self) -> dict[str, tuple[float, float, float]]:
        """Each posterior variable's largest R-hat and smallest bulk and tail ESS, unconstrained
        copies (names ending ``__``, mirrors of the constrained ones) left out. Computed once
        per fit: the retry check and the diagnostics table both read them (3 s for the force of
        infection at 100x the example)."""
        posterior = self.idata.posterior
        worst = {}
        for name in posterior.data_vars:
            if str(name).endswith("__"):
                continue
            values = posterior[name].transpose("chain", "draw", ...).values
            rhat, bulk, tail = convergence_statistics(values)
            worst[str(name)] = (
                float(np.nanmax(rhat)), float(np.nanmin(bulk)), float(np.nanmin(tail))
            )
        return worst


_COMPILED: dict[str, Any] = {}


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask: a cluster job's allocation)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def sampler_cores(settings: SamplerSettings) -> int:
    """Chains run in parallel: every CPU the process may use, at least ``settings.cores``, at
    most one per chain.

    The fit rules declare one thread each so that the two fits can run side by side; a fit
    running alone (the other finished, or at scale where one fit dominates) then still uses
    every core, and two fits side by side share the cores through the OS scheduler (the chains
    are compute-bound threads, so that costs little).
    """
    return max(1, min(settings.chains, max(settings.cores, available_cpus())))


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


def _compile_nutpie(model: pm.Model, build: Callable[[], pm.Model] | None = None) -> Any:
    """The on-disk cached compile; nutpie's own compiler if the private nutpie API it relies
    on has changed (same draws, only slower on the next run)."""
    try:
        from disease_risk.serology.compiled_model import compile_cached

        return compile_cached(model, build)
    except (ImportError, AttributeError, TypeError) as err:
        log.warning(
            "compiled-model cache unavailable (%s: %s), probably a changed nutpie version; "
            "compiling with nutpie.compile_pymc_model instead (no on-disk cache)",
            type(err).__name__,
            err,
        )
        import nutpie

        return nutpie.compile_pymc_model(model, backend="numba")


def compiled_nutpie_model(model: pm.Model, build: Callable[[], pm.Model] | None = None) -> Any:
    """A nutpie-compiled model, reused from this process's cache when the structure matches
    (``build``: see :func:`~disease_risk.serology.compiled_model.compile_cached`)."""
    key = model_fingerprint(model)
    data = {var.name: var.get_value() for var in model.data_vars}
    cached = _COMPILED.get(key)
    if cached is not None:
        log.info("reusing compiled nutpie model %s", key[:12])
        return cached.with_data(**data)
    start = time.perf_counter()
    compiled = _compile_nutpie(model, build)
    log.info("compiled or loaded nutpie model %s in %.1f s", key[:12], time.perf_counter() - start)
    _COMPILED[key] = compiled
    return compiled


class ProgressLog:
    """Turns the sampler's progress reports into log lines, a line per ``step`` of the draws
    (warm-up included) and at least one every ``seconds``, plus one when all chains finish.

    A report gives, per chain, draws done (warm-up included), divergences after warm-up and
    whether it is still warming up.
    """

    def __init__(
        self,
        label: str,
        chains: int,
        draws_per_chain: int,
        step: float = 0.1,
        seconds: float = 60.0,
        emit: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.chains, self.total = label, chains, chains * draws_per_chain
        self.step, self.seconds = step, seconds
        self.emit = emit if emit is not None else log.info
        self.clock = clock
        self.start = self.last_time = clock()
        self.steps_logged = 0
        self.finished = False

    def report(
        self, done: Sequence[int], divergences: Sequence[int], warming: Sequence[bool]
    ) -> None:
        """Log a line if a new ``step`` of the draws is done, ``seconds`` passed or all ended."""
        if self.finished:
            return
        total_done, now = int(sum(done)), self.clock()
        share = total_done / self.total if self.total else 1.0
        complete = total_done >= self.total
        steps = int(share / self.step + 1e-9)
        if not (complete or steps > self.steps_logged or now - self.last_time >= self.seconds):
            return
        self.last_time, self.finished, self.steps_logged = now, complete, steps
        finished = sum(1 for d in done if d >= self.total / max(self.chains, 1))
        phase = f"{sum(warming)} warming up, " if any(warming) else ""
        self.emit(
            f"{self.label} sampling: {share:.0%} ({total_done}/{self.total} draws, warm-up "
            f"included), {self.chains} chains ({phase}{finished} finished), divergences after "
            f"warm-up so far: {int(sum(divergences))}, {now - self.start:.0f} s elapsed"
        )


# nutpie renders its progress through this template (minijinja) and hands the text to a callback
NUTPIE_PROGRESS_TEMPLATE = (
    "{% for chain in chains %}{{ chain.finished_draws }} {{ chain.divergences }} "
    "{{ chain.tuning }};{% endfor %}"
)
NUTPIE_PROGRESS_MS = 1000


def _nutpie_report(progress: ProgressLog) -> Callable[[str], None]:
    """nutpie progress callback: parse the rendered template and pass it to ``progress``."""

    def callback(text: str) -> None:
        try:
            chains = [c.split() for c in text.split(";") if c.strip()]
            progress.report(
                [int(c[0]) for c in chains], [int(c[1]) for c in chains],
                [c[2] == "true" for c in chains],
            )
        except Exception as err:  # progress must never stop a fit
            log.debug("unreadable nutpie progress %r: %s", text, err)

    return callback


def _nutpie_sample(
    compiled: Any, settings: SamplerSettings, seed: int, progress: ProgressLog
) -> az.InferenceData:
    """``nutpie.sample`` (same settings and draws) with its progress reported to ``progress``.

    nutpie reports progress through a callback only in notebooks, so the background sampler is
    set up here as ``nutpie.sample`` does; if that private API has changed, plain
    ``nutpie.sample`` runs instead (same draws, no progress lines).
    """
    import nutpie
    from nutpie import _lib
    from nutpie.sample import _BackgroundSampler

    cores = sampler_cores(settings)
    try:
        nuts = (
            _lib.PyNutsSettings.LowRank(seed)
            if settings.mass_matrix == "low_rank"
            else _lib.PyNutsSettings.Diag(seed)
        )
        nuts.num_tune, nuts.num_draws = settings.tune, settings.draws
        nuts.num_chains = settings.chains
        nuts.target_accept = settings.target_accept
        progress_type = _lib.ProgressType.template_callback(
            NUTPIE_PROGRESS_MS, NUTPIE_PROGRESS_TEMPLATE, cores, _nutpie_report(progress)
        )
        sampler = object.__new__(_BackgroundSampler)
        sampler._settings, sampler._compiled_model = nuts, compiled
        sampler._save_warmup, sampler._return_raw_trace, sampler._html = False, False, None
        sampler._store = _lib.PyStorage.arrow()
        sampler._sampler = compiled._make_sampler(
            nuts, np.zeros(compiled.n_dim), cores, progress_type, sampler._store
        )
    except (AttributeError, TypeError) as err:
        log.warning(
            "nutpie progress reporting unavailable (%s: %s), probably a changed nutpie version; "
            "sampling without progress lines",
            type(err).__name__,
            err,
        )
        return nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=cores,
            seed=seed,
            target_accept=settings.target_accept,
            low_rank_modified_mass_matrix=settings.mass_matrix == "low_rank",
            save_warmup=False,
            progress_bar=False,
        )
    try:
        return sampler.wait()
    except BaseException:
        sampler.cancel()
        raise


def _pymc_report(progress: ProgressLog, chains: int) -> Callable[..., None]:
    """PyMC ``pm.sample`` callback: count draws and divergences per chain for ``progress``."""
    done, diverged, warming = [0] * chains, [0] * chains, [True] * chains

    def callback(trace: Any, draw: Any) -> None:
        done[draw.chain] += 1
        warming[draw.chain] = bool(draw.tuning)
        stats = draw.stats if isinstance(draw.stats, list) else [draw.stats]
        if not draw.tuning and any(s.get("diverging", False) for s in stats):
            diverged[draw.chain] += 1
        progress.report(done, diverged, warming)

    return callback


def sample_posterior(
    model: pm.Model,
    settings: SamplerSettings,
    seed: int,
    label: str = "posterior",
    build: Callable[[], pm.Model] | None = None,
) -> Fit:
    """Draw from the posterior of ``model`` with the configured sampler (compile time included;
    ``build``, a picklable function that builds ``model``, makes a first run sample with the
    machine code later runs load: :func:`~disease_risk.serology.compiled_model.compile_cached`).

    If the draws fail the diagnostics (:func:`convergence_table`) and ``retry_target_accept``
    is set, the model is sampled again with that target (smaller steps: what divergences ask
    for); the fit returned is the second, with the first's unreliable blocks in ``retried``
    and both attempts' time in ``seconds``. Progress lines in the log are headed ``label``.
    """
    fit = _sample_once(model, settings, seed, label, build)
    retry = settings.retry_target_accept
    if retry is None:
        return fit
    first = convergence_table(fit, settings, label)
    bad = first[first["reliable"] == "no"]
    if bad.empty:
        return fit
    log.warning(
        "%s: unreliable at target_accept %.3g (%d divergences, R-hat max %.4f, bulk ESS min "
        "%.0f); sampling again at target_accept %.3g",
        label, settings.target_accept, int(first["divergences"].iloc[0]),
        first["rhat_max"].max(), first["ess_bulk_min"].min(), retry,
    )  # fmt: skip
    again = _sample_once(
        model, replace(settings, target_accept=retry, retry_target_accept=None), seed, label, build
    )
    again.seconds += fit.seconds
    again.retried = bad.assign(section="retry")
    return again


def _sample_once(
    model: pm.Model,
    settings: SamplerSettings,
    seed: int,
    label: str,
    build: Callable[[], pm.Model] | None = None,
) -> Fit:
    """One run of the configured sampler at ``settings.target_accept``."""
    start = time.perf_counter()
    progress = ProgressLog(label, settings.chains, settings.tune + settings.draws)
    if settings.sampler == "nutpie":
        idata = _nutpie_sample(compiled_nutpie_model(model, build), settings, seed, progress)
    else:
        with model:
            idata = pm.sample(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=sampler_cores(settings),
                random_seed=seed,
                target_accept=settings.target_accept,
                **({"init": "jitter+adapt_full"} if settings.mass_matrix == "low_rank" else {}),
                progressbar=False,
                compute_convergence_checks=False,
                callback=_pymc_report(progress, settings.chains),
            )
    seconds = time.perf_counter() - start
    log.info(
        "sampled with %s at target_accept %.3g in %.1f s",
        settings.sampler, settings.target_accept, seconds,
    )  # fmt: skip
    return Fit(
        idata=idata,
        sampler=settings.sampler,
        seconds=seconds,
        seed=seed,
        target_accept=settings.target_accept,
    )


def divergences(idata: az.InferenceData) -> int:
    """Number of divergent transitions after warm-up."""
    return int(idata.sample_stats["diverging"].values.sum())


def convergence_table(fit: Fit, settings: SamplerSettings, model_name: str) -> pd.DataFrame:
    """One row per posterior variable (parameter block): :attr:`Fit.worst_statistics`.

    A block is reliable when R-hat <= ``rhat_max``, bulk ESS >= ``ess_bulk_min`` and the fit
    had no divergences. A fit sampled again (:func:`sample_posterior`) also gets its first
    attempt's unreliable blocks, as section ``retry``.
    """
    n_div = divergences(fit.idata)
    rows = []
    for name, (r, eb, et) in fit.worst_statistics.items():
        ok = r <= settings.rhat_max and eb >= settings.ess_bulk_min and n_div == 0
        rows.append(
            {
                "section": "sampling",
                "model": model_name,
                "item": name,
                "rhat_max": r,
                "ess_bulk_min": eb,
                "ess_tail_min": et,
                "divergences": n_div,
                "sampler": fit.sampler,
                "target_accept": fit.target_accept,
                "seconds": fit.seconds,
                "reliable": "yes" if ok else "no",
            }
        )
    table = pd.DataFrame(rows)
    if fit.retried is None:
        return table
    return pd.concat([table, fit.retried.assign(model=model_name)], ignore_index=True)


def posterior_draws(idata: az.InferenceData, name: str) -> np.ndarray:
    """A posterior variable with chains and draws stacked into the first axis."""
    values = idata.posterior[name].values
    return values.reshape((-1, *values.shape[2:]))


def write_inference_data(idata: az.InferenceData, path: str | os.PathLike) -> None:
    """``idata.to_netcdf`` with zlib on integer, boolean and text variables only (set as each
    variable's encoding, which ArviZ's uncompressed write passes to xarray).

    Posterior draws are random mantissas that zlib shrinks by ~8% at great cost: at 100x the
    example, 617 MB of group prevalences took 26 of the 33 s ArviZ's compress-everything write
    took, while the posterior predictive counts shrink 11x in 2 s (bench/README.md, issue 17).
    """
    written = copy.copy(idata)  # shallow: the caller's variables keep their encodings
    for group in idata.groups():
        dataset = getattr(idata, group).copy(deep=False)
        # every variable's, so none keeps the encoding of a file it came from
        for variable in dataset.variables.values():
            variable.encoding = {"zlib": True} if variable.dtype.kind in "biuS" else {}
        setattr(written, group, dataset)
    written.to_netcdf(str(path), compress=False)
