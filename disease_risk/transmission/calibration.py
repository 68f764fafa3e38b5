"""Calibration of the transmission model to the serology, by ABC-SMC (pyabc).

Data: for every species with serology, posterior draws of its yearly force of infection (FOI);
the target is the FOI averaged over the last ``target_years`` calendar years, summarised on the
log scale by its posterior mean ``m`` and SD ``s``. Model: the simulator on the contact network
with demography, from the config's starting immunity, run ``burn_in_years`` and then
``window_years`` more; its FOI per species is infections per susceptible-year in that window.

Measurement model: the serology reports ``m_s ~ Normal(log FOI_sim,s(theta), s_s^2)``, so each
simulation adds that error to its log FOI before it is compared ("noisy ABC": as the tolerance
shrinks, the ABC posterior tends to the exact posterior of this model; without the error it
would chase the serology's point estimate and claim too much certainty). Distance:
``sqrt(sum_s ((noisy log FOI_sim,s - m_s) / s_s)^2)``, each species' mismatch in units of its
serology uncertainty, so a species with precise serology weighs more. ABC-SMC
(Toni et al. 2009; Beaumont et al. 2009; pyabc, Schaelte et al. 2022) lowers the tolerance
generation by generation to the median distance of the last one, until the simulation budget
or the generation limit ends it; the tolerance reached is reported with the posterior. With a
tolerance left, the posterior is somewhat wider than the exact one: intervals err on the side
of covering (checked on synthetic truth in the tests). (pyabc's noisy-ABC acceptor, exact in
principle, lost its effective sample size to one particle in 13 dimensions here.)
The calibrated parameters are those the config gives as
ranges (uniform priors): contact rules' ``p_transmission`` and species' ``outside_infection``;
every other range (periods, case fatality, survival, starting immunity) is drawn afresh in
each simulation, i.e. integrated over its prior, as the scenarios do.

Reproducible on any number of processes: each pyabc task is seeded from the master seed
(:class:`SeededMappingSampler`), and tasks are mapped in order. Importing pyabc takes seconds,
so the transmission stage imports this module only in the calibration rule.
"""

from __future__ import annotations

import functools
import logging
import math
import multiprocessing
import random
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyabc
from pyabc.sampler import MappingSampler
from pyabc.weighted_statistics import effective_sample_size
from scipy import special

from disease_risk.seeds import stream_seed
from disease_risk.tables import (
    CALIBRATION_PARAMETER_COLUMNS,
    CALIBRATION_PROGRESS_COLUMNS,
    FOI_FIT_COLUMNS,
    outside_infection_column,
    p_transmission_column,
)
from disease_risk.transmission.scenarios import (
    CalibrationPosterior,
    ScenarioPlan,
    draw_parameters,
    draw_survival,
    initial_immunity,
    run_kernel,
)
from disease_risk.transmission.seir import DAYS_PER_YEAR

log = logging.getLogger(__name__)
FLOOR_INFECTIONS = 0.5  # added to simulated infections before the log (a run with none is finite)
KERNEL_SCALING = 2.0  # proposal kernels twice pyabc's default width (see calibrate)
MIN_ACCEPTANCE = 0.01  # stop once fewer simulations than this are accepted
IDENTIFIED_BELOW = 0.5  # posterior 90% interval narrower than this x the prior's: identified
INFORMED_BELOW = 0.9  # ... narrower than this: weakly identified; else it stays at its prior


@dataclass(frozen=True)
class CalibrationSettings:
    """The config's ``calibration`` section."""

    burn_in_years: float = 5.0
    window_years: float = 10.0
    target_years: int = 10
    population_size: int = 500
    max_generations: int = 15
    max_simulations: int = 16000
    predictive_draws: int = 200

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> CalibrationSettings:
        """Defaults for missing keys."""
        return cls(**dict(section or {}))


@dataclass(frozen=True)
class CalibrationParameter:
    """A calibrated quantity with its uniform prior and where it comes from."""

    column: str  # p_transmission_<rule> | outside_infection_<species>
    kind: str  # "contact rule" | "outside infection"
    name: str  # the rule or the species
    low: float
    high: float
    source: str


def calibration_parameters(
    rules: Sequence[Mapping[str, Any]], disease: Mapping[str, Mapping[str, Any]]
) -> list[CalibrationParameter]:
    """Every contact rule ``p_transmission`` and species ``outside_infection`` given as a
    ``{low, high}`` range (numbers stay fixed), in config order."""
    out = []
    for rule in rules:
        p = rule["p_transmission"]
        if isinstance(p, Mapping):
            out.append(
                CalibrationParameter(
                    p_transmission_column(rule["name"]), "contact rule", rule["name"],
                    float(p["low"]), float(p["high"]), str(p.get("source", rule["source"])),
                )
            )
    for species, spec in disease.items():
        value = spec.get("outside_infection", 0.0)
        if isinstance(value, Mapping):
            out.append(
                CalibrationParameter(
                    outside_infection_column(species), "outside infection", species,
                    float(value["low"]), float(value["high"]),
                    str(value.get("source", spec["source"])),
                )
            )
    return out


# --- the serology targets -------------------------------------------------------------------


def foi_targets(
    draws: np.ndarray, species: Sequence[str], years: Sequence[int], target_years: int
) -> pd.DataFrame:
    """Per species, the FOI averaged over the last ``target_years`` years of ``draws``
    (draw, species, year): its median and 95% interval, and the mean and SD of its log."""
    last = np.asarray(draws, float)[:, :, -int(target_years) :]
    mean = last.mean(axis=2)
    logs = np.log(mean)
    years = list(years)
    first_year = years[-min(int(target_years), len(years))]
    return pd.DataFrame(
        {
            "species": list(species),
            "foi_median": np.median(mean, axis=0),
            "foi_lo95": np.quantile(mean, 0.025, axis=0),
            "foi_hi95": np.quantile(mean, 0.975, axis=0),
            "log_foi_mean": logs.mean(axis=0),
            "log_foi_sd": logs.std(axis=0, ddof=1),
            "first_year": first_year,
            "last_year": years[-1],
        }
    )


def load_foi_draws(path: str | Path) -> tuple[list[str], list[int], np.ndarray]:
    """``force_of_infection_by_year`` (draw, species, year) from the force-of-infection
    InferenceData; a constant-FOI fit (no year dimension) counts as one year."""
    import xarray as xr

    with xr.open_dataset(path, group="posterior") as posterior:
        if "force_of_infection_by_year" in posterior:
            foi = posterior["force_of_infection_by_year"]
            foi = foi.transpose("chain", "draw", "species", "year").load()
            years = [int(y) for y in foi["year"].values]
        elif "force_of_infection" in posterior:
            foi = posterior["force_of_infection"].transpose("chain", "draw", "species").load()
            foi = foi.expand_dims(year=[0], axis=-1)
            years = [0]
        else:
            raise ValueError(
                f"{path}: posterior has no 'force_of_infection'; rerun the "
                "force_of_infection rule (contract: dims chain, draw, species[, year])"
            )
    values = np.asarray(foi.values, float)
    species = [str(s) for s in foi["species"].values]
    return species, years, values.reshape(-1, len(species), len(years))


# --- the simulated force of infection -----------------------------------------------------------


@dataclass(frozen=True)
class FoiSimulator:
    """Simulated FOI per target species for one parameter set (one stochastic run)."""

    plan: ScenarioPlan
    species: tuple[str, ...]  # target species, in the order of the returned arrays
    burn_in_days: float
    window_days: float

    @classmethod
    def build(
        cls, plan: ScenarioPlan, species: Sequence[str], settings: CalibrationSettings
    ) -> FoiSimulator:
        """Targets must be network species."""
        missing = sorted(set(species) - set(plan.net.species_names))
        if missing:
            raise ValueError(
                f"serology force of infection for {missing}, which the contact network does "
                "not hold; add them to the network config or leave them out of the serology"
            )
        return cls(
            plan,
            tuple(species),
            settings.burn_in_years * DAYS_PER_YEAR,
            settings.window_years * DAYS_PER_YEAR,
        )

    def run(
        self, theta: Mapping[str, float], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(infections, susceptible years) per target species in the window."""
        params, _ = draw_parameters(self.plan, rng, theta)
        survival, _ = draw_survival(self.plan, rng, theta)
        state0 = initial_immunity(self.plan, rng, theta)
        result = run_kernel(
            self.plan,
            params,
            survival,
            state0,
            np.zeros(0, np.int64),
            int(rng.integers(2**31 - 1)),
            horizon=self.burn_in_days + self.window_days,
            window_start=self.burn_in_days,
        )
        codes = [self.plan.net.species_names.index(s) for s in self.species]
        return (
            result.window_infected[codes].astype(float),
            result.susceptible_days[codes] / DAYS_PER_YEAR,
        )

    def log_foi(self, theta: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
        """log((infections + 0.5) / susceptible years): finite when a species has none."""
        infections, years = self.run(theta, rng)
        return np.log((infections + FLOOR_INFECTIONS) / np.maximum(years, 1e-9))


_SIMULATOR: FoiSimulator | None = None  # set before worker processes fork (not pickled per task)
_SCALE: np.ndarray | None = None  # serology SD of each species' log FOI
_PARAMETERS: tuple[CalibrationParameter, ...] = ()
_SIMULATE_ONE: tuple[bytes, Any] | None = None  # this process's generation: pickled, unpickled


def _abc_model(theta) -> dict[str, np.ndarray]:
    """pyabc model: one simulation at ``theta`` (probit scale; generator seeded from pyabc's
    task), as log FOI in units of the serology SD, plus the serology's own error (a standard
    normal per species): the model of what the serology would report."""
    rng = np.random.default_rng(np.random.randint(2**31 - 1))
    values = from_probit(_PARAMETERS, dict(theta))
    z = _SIMULATOR.log_foi(values, rng) / _SCALE
    return {"z": z + rng.standard_normal(z.size)}


def from_probit(
    parameters: Sequence[CalibrationParameter], theta: Mapping[str, float]
) -> dict[str, float]:
    """Values on their own scale from the sampler's: ``low + (high - low) Phi(x)``. A standard
    normal prior on ``x`` is exactly the uniform prior on the range; unbounded and with Gaussian
    tails like pyabc's proposal kernels, it keeps the importance weights of the particles even
    (on the bounded scale, kernels lose mass at the range's edges)."""
    return {
        p.column: p.low + (p.high - p.low) * float(special.ndtr(theta[p.column]))
        for p in parameters
    }


class SeededMappingSampler(MappingSampler):
    """pyabc's MappingSampler with each task seeded from the main process's generator rather
    than from the operating system, so a run is the same on 1 or n processes."""

    def map_function(self, simulate_one, seed):
        """Sample until one particle is accepted, from the task's own seed."""
        simulate_one = self.generation_function(simulate_one)
        np.random.seed(seed)
        random.seed(seed)
        sample, evaluations = self._create_empty_sample(), 0
        while True:
            particle = simulate_one()
            evaluations += 1
            sample.append(particle)
            if particle.accepted:
                return sample, evaluations

    def generation_function(self, pickled: bytes):
        """The generation's simulate function, unpickled once per process rather than once per
        task as pyabc does: unpickling rebuilds the prior's scipy distributions, which cost
        about half a simulation, and the function keeps no state from one particle to the next
        (each task reseeds the generators), so the tasks of a generation can share it."""
        global _SIMULATE_ONE
        if _SIMULATE_ONE is None or _SIMULATE_ONE[0] != pickled:
            _SIMULATE_ONE = (pickled, self.unpickle(pickled))
        return _SIMULATE_ONE[1]

    def sample_until_n_accepted(self, n, simulate_one, t, **kwargs):
        """``n`` tasks with seeds from the main generator, mapped in order."""
        seeds = np.random.randint(2**31 - 1, size=n).tolist()
        task = functools.partial(self.map_function, self.pickle(simulate_one))
        state, py_state = np.random.get_state(), random.getstate()
        results = list(self.map_(task, seeds))
        np.random.set_state(state)  # tasks run in this process (map) must not move its state
        random.setstate(py_state)
        self.nr_evaluations_ = sum(e for _, e in results)
        sample = self._create_empty_sample()
        for part, _ in results:
            sample += part
        return sample


@dataclass(frozen=True)
class CalibrationResult:
    """The last generation's weighted particles and each generation's progress."""

    posterior: pd.DataFrame  # draw, weight, one column per parameter
    progress: pd.DataFrame  # CALIBRATION_PROGRESS_COLUMNS


def calibrate(
    simulator: FoiSimulator,
    targets: pd.DataFrame,
    parameters: Sequence[CalibrationParameter],
    settings: CalibrationSettings,
    seed: int,
    processes: int = 1,
) -> CalibrationResult:
    """ABC-SMC of ``parameters`` so that the simulator's log FOI matches ``targets``
    (one row per simulator species: ``log_foi_mean``, ``log_foi_sd``).

    Each generation's importance weights are prior / proposal density. With a dozen parameters
    and a few hundred particles, pyabc's default kernel density proposal is so uneven that the
    weights collapse onto a handful of particles (effective sample size 1-5 of 200 on the
    example); a larger population and kernels twice as wide keep it at a fifth or more of the
    population (``progress`` reports it per generation), at the cost of lower acceptance."""
    global _SIMULATOR, _SCALE, _PARAMETERS, _SIMULATE_ONE
    if not parameters:
        raise ValueError(
            "nothing to calibrate: give at least one contact rule p_transmission or species "
            "outside_infection as {low, high} in the config"
        )
    targets = targets.set_index("species").loc[list(simulator.species)]
    prior = pyabc.Distribution(**{p.column: pyabc.RV("norm", 0.0, 1.0) for p in parameters})
    _SIMULATOR, _SCALE = simulator, targets["log_foi_sd"].to_numpy(float)
    _PARAMETERS = tuple(parameters)
    np.random.seed(stream_seed(seed, "transmission/calibration"))
    random.seed(stream_seed(seed, "transmission/calibration"))
    pool = multiprocessing.get_context("fork").Pool(processes) if processes > 1 else None
    try:
        sampler = SeededMappingSampler(map_=pool.map if pool else map)
        abc = pyabc.ABCSMC(
            _abc_model,
            prior,
            pyabc.PNormDistance(p=2),
            population_size=settings.population_size,
            transitions=pyabc.MultivariateNormalTransition(scaling=KERNEL_SCALING),
            eps=pyabc.QuantileEpsilon(alpha=0.5),
            sampler=sampler,
        )
        with tempfile.TemporaryDirectory() as folder:
            history = abc.new(
                f"sqlite:///{Path(folder) / 'abc.db'}",
                {"z": targets["log_foi_mean"].to_numpy(float) / _SCALE},
            )
            history = abc.run(
                max_nr_populations=settings.max_generations,
                max_total_nr_simulations=settings.max_simulations,
                min_acceptance_rate=MIN_ACCEPTANCE,
            )
            frame, weights = history.get_distribution(m=0, t=history.max_t)
            progress = _progress(history, settings)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        _SIMULATOR = _SCALE = _SIMULATE_ONE = None
        _PARAMETERS = ()
    posterior = pd.DataFrame(
        [from_probit(parameters, row) for row in frame.to_dict("records")],
        columns=[p.column for p in parameters],
    )
    posterior.insert(0, "weight", np.asarray(weights, float) / np.sum(weights))
    posterior.insert(0, "draw", np.arange(len(posterior)))
    return CalibrationResult(posterior, progress)


def _progress(history, settings: CalibrationSettings) -> pd.DataFrame:
    """One row per generation: tolerance, simulations, acceptance rate, effective size."""
    rows = []
    for row in history.get_all_populations().itertuples():
        if row.t < 0:
            continue
        _, w = history.get_distribution(m=0, t=row.t)
        rows.append(
            (
                int(row.t),
                float(row.epsilon),
                int(row.samples),
                settings.population_size / max(int(row.samples), 1),
                float(effective_sample_size(np.asarray(w) / np.sum(w))),
            )
        )
    return pd.DataFrame(rows, columns=list(CALIBRATION_PROGRESS_COLUMNS))


# --- what the calibration says ----------------------------------------------------------------


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile of a weighted sample (inverse of the weighted empirical distribution)."""
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights, float)[order])
    cumulative /= cumulative[-1]
    return float(np.asarray(values)[order][min(np.searchsorted(cumulative, q), len(order) - 1)])


def parameter_table(
    parameters: Sequence[CalibrationParameter], posterior: pd.DataFrame
) -> pd.DataFrame:
    """Per parameter: prior range, posterior median and 90% interval, and how much the serology
    narrowed it (``width_ratio``: posterior 90% width / prior 90% width) in words."""
    w = posterior["weight"].to_numpy(float)
    rows = []
    for p in parameters:
        values = posterior[p.column].to_numpy(float)
        lo, mid, hi = (weighted_quantile(values, w, q) for q in (0.05, 0.5, 0.95))
        ratio = (hi - lo) / (0.9 * (p.high - p.low)) if p.high > p.low else math.nan
        identified = (
            "identified"
            if ratio < IDENTIFIED_BELOW
            else "weakly identified"
            if ratio < INFORMED_BELOW
            else "not identified (prior)"
        )
        rows.append(
            (p.column, p.kind, p.name, p.low, p.high, mid, lo, hi, ratio, identified, p.source)
        )
    return pd.DataFrame(rows, columns=list(CALIBRATION_PARAMETER_COLUMNS))


def foi_fit(
    simulator: FoiSimulator,
    targets: pd.DataFrame,
    posterior: CalibrationPosterior,
    draws: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Serology FOI against the FOI the calibrated model simulates (``draws`` runs at weighted
    posterior draws: median and 95% interval of infections / susceptible years), and whether
    their 95% intervals overlap; the verdict names a mismatch plainly."""
    sims = []
    for _ in range(int(draws)):
        _, theta = posterior.draw(rng)
        infections, years = simulator.run(theta, rng)
        sims.append(infections / np.maximum(years, 1e-9))
    sims = np.asarray(sims)
    by_species = targets.set_index("species")
    rows = []
    for i, sp in enumerate(simulator.species):
        t = by_species.loc[sp]
        lo, mid, hi = np.quantile(sims[:, i], [0.025, 0.5, 0.975])
        agrees = bool(lo <= t["foi_hi95"] and t["foi_lo95"] <= hi)
        if agrees:
            verdict = "agrees: the 95% intervals overlap"
        else:
            side = "lower" if hi < t["foi_lo95"] else "higher"
            verdict = (
                f"MISMATCH: the model infects {sp} {side} than the serology says "
                f"({mid:.3g} vs {t['foi_median']:.3g} a year); its transmission to and from "
                f"{sp} cannot reproduce the serology within the configured ranges"
            )
        rows.append(
            (sp, t["foi_median"], t["foi_lo95"], t["foi_hi95"], mid, lo, hi, agrees, verdict)
        )
    return pd.DataFrame(rows, columns=list(FOI_FIT_COLUMNS))


def plot_foi_fit(fit: pd.DataFrame, path: str | Path, names: Mapping[str, str]) -> None:
    """Per species: serology FOI and calibrated-model FOI, medians with 95% intervals (log
    scale); a species whose intervals do not overlap is marked MISMATCH."""
    from matplotlib import ticker

    from disease_risk.figures import pyplot, save_png
    from disease_risk.intake.registry import species_label

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(fit) + 1.6))
    y = np.arange(len(fit))
    for offset, prefix, colour, label in (
        (0.15, "serology", "#1b6ca8", "serology (force-of-infection fit)"),
        (-0.15, "simulated", "#b5541b", "calibrated transmission model"),
    ):
        mid = fit[f"{prefix}_foi_median"].to_numpy(float)
        lo = fit[f"{prefix}_foi_lo95"].to_numpy(float)
        hi = fit[f"{prefix}_foi_hi95"].to_numpy(float)
        floor = 1e-4
        ax.errorbar(
            np.maximum(mid, floor), y + offset,
            xerr=[np.maximum(mid, floor) - np.maximum(lo, floor), np.maximum(hi, mid) - mid],
            fmt="o", color=colour, capsize=3, label=label,
        )  # fmt: skip
    labels = [
        species_label(sp, names) + ("" if ok else "  (MISMATCH)")
        for sp, ok in zip(fit["species"], fit["agrees"], strict=True)
    ]
    ax.set_yticks(y, labels)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("force of infection: new infections per susceptible animal per year (log scale)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save_png(fig, path)
