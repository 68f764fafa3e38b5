"""Force of infection (FOI) of CDV per species from age-structured serology (catalytic model).

An animal born at time b and sampled at time t has been exposed for the calendar-year pieces
of [b, t]; with annual FOI lambda_y it has seroconverted with probability
1 - exp(-sum_y exposure_y * lambda_y) (lifelong antibodies, no seroreversion), and it reads
positive with probability Se * that + (1 - Sp) * (1 - that). FOI is either constant per species
or varies by calendar year as a random walk on log FOI centred on its mean (in the eigenbasis of
the walk's precision, :func:`random_walk_basis`, each coordinate scaled by what the data say
about it, :func:`walk_information`).

Two options, both off by default (the model is then exactly the one above): seroreversion
(antibodies lost at an annual rate rho, so dP/dt = lambda (1 - P) - rho P, solved exactly over
the pieces of life in which lambda is constant; see :func:`seropositive_probability`) and age
bands (FOI(t, a) = exp(log FOI_year(t) + effect of the age band of a), the first band the
reference; the pieces of life are then split at the band edges as well as at new year).

Animals of one species and assay with the same birth and sampling times contribute identical
Bernoulli terms, so the model sees cells of such animals, positives ~ Binomial(animals, that
probability): the same posterior at a cost that grows with cells, not animals. Times are rounded
to a grid of ``time_resolution_months`` so that animals sampled in the same month at the same age
in months share a cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy.optimize import minimize_scalar

from disease_risk.serology.accuracy import (
    AssayAccuracy,
    accuracy_for,
    add_test_accuracy,
    apparent_outcomes,
    apparent_positive,
)
from disease_risk.serology.prevalence import (
    DEFAULT_ROLES,
    binomial_counts,
    exclusion_row,
    ppc_table,
    select_results,
)
from disease_risk.serology.sampling import Fit, SamplerSettings, posterior_draws, sample_posterior

MODES = ("constant", "random_walk")
REPEAT_CAPTURES = ("first", "last")
TIME_RESOLUTIONS = (0, 1, 2, 3, 4, 6, 12)
COARSEST_GRID = 6  # months: the coarsest grid ``max_cells`` may choose (ages move <= 3 months)
RATE_PRIORS: dict[str, tuple[str, ...]] = {  # family: its parameters (PyMC's names)
    "lognormal": ("mu", "sigma"),
    "gamma": ("alpha", "beta"),
    "half_normal": ("sigma",),
    "exponential": ("lam",),
}


@dataclass(frozen=True)
class RatePrior:
    """Prior of a positive annual rate (the seroreversion rate): a family and its parameters."""

    family: str
    params: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        if self.family not in RATE_PRIORS:
            raise ValueError(
                f"seroreversion prior family must be one of {sorted(RATE_PRIORS)}, "
                f"got {self.family!r}"
            )
        if sorted(k for k, _ in self.params) != sorted(RATE_PRIORS[self.family]):
            raise ValueError(
                f"seroreversion prior {self.family} takes {list(RATE_PRIORS[self.family])}, "
                f"got {[k for k, _ in self.params]}"
            )

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> RatePrior:
        """From ``{family: ..., <its parameters>}``."""
        family = str(section.get("family", ""))
        params = tuple((k, float(v)) for k, v in section.items() if k != "family")
        return cls(family, params)

    def variable(self, name: str, dims: str) -> Any:
        """The rate as a PyMC random variable (call inside a model)."""
        family = {
            "lognormal": pm.LogNormal,
            "gamma": pm.Gamma,
            "half_normal": pm.HalfNormal,
            "exponential": pm.Exponential,
        }[self.family]
        return family(name, **dict(self.params), dims=dims)


@dataclass(frozen=True)
class FoiSettings:
    """Structure and priors of the catalytic model, and the time grid of its cells.

    ``time_resolution_months`` (0 = exact times; else a divisor of 12): each sampling time moves
    to the middle of its step of that many months and each age to whole steps (see
    :func:`round_times`). Default 1: the birth time is already uncertain by up to half a year when
    only ``birth_year`` is known (taken as mid-year), and ages are mostly recorded in whole or half
    years, so moving an age by at most half a month changes little.
    """

    mode: str = "random_walk"
    log_foi_mu: float = -2.3
    log_foi_sigma: float = 1.5
    rw_sd_scale: float = 0.3
    min_age_years: float = 0.0
    repeat_captures: str = "first"
    time_resolution_months: int = 1
    max_cells: int | None = None
    seroreversion: RatePrior | None = None
    age_breaks: tuple[float, ...] = ()
    age_effect_sigma: float = 1.0

    def __post_init__(self) -> None:
        breaks = np.asarray(self.age_breaks, float)
        if len(breaks) and not (
            np.all(np.isfinite(breaks)) and breaks[0] > 0 and np.all(np.diff(breaks) > 0)
        ):
            raise ValueError(
                "force_of_infection.age_bands breaks must be increasing positive ages in years, "
                f"got {list(self.age_breaks)}"
            )
        if not self.age_effect_sigma > 0:
            raise ValueError(
                f"force_of_infection.age_bands sigma must be positive, got {self.age_effect_sigma}"
            )
        if self.mode not in MODES:
            raise ValueError(f"force_of_infection.mode must be one of {MODES}, got {self.mode!r}")
        if self.repeat_captures not in REPEAT_CAPTURES:
            raise ValueError(
                f"force_of_infection.repeat_captures must be one of {REPEAT_CAPTURES}, "
                f"got {self.repeat_captures!r}"
            )
        if self.time_resolution_months not in TIME_RESOLUTIONS:
            raise ValueError(
                f"force_of_infection.time_resolution_months must be one of {TIME_RESOLUTIONS} "
                f"(0 or null: exact times), got {self.time_resolution_months!r}"
            )
        if self.max_cells is not None and self.max_cells < 1:
            raise ValueError(
                f"force_of_infection.max_cells must be a positive number or null, got "
                f"{self.max_cells!r}"
            )

    @property
    def piecewise(self) -> bool:
        """Whether an option (seroreversion, age bands) needs the life split into pieces."""
        return self.seroreversion is not None or bool(self.age_breaks)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> FoiSettings:
        prior = section.get("log_foi_prior", {})
        resolution = section.get("time_resolution_months", cls.time_resolution_months)
        reversion = section.get("seroreversion") or {}
        bands = section.get("age_bands") or {}
        if not isinstance(bands, Mapping):
            bands = {"breaks": bands}
        return cls(
            mode=section.get("mode", cls.mode),
            log_foi_mu=float(prior.get("mu", cls.log_foi_mu)),
            log_foi_sigma=float(prior.get("sigma", cls.log_foi_sigma)),
            rw_sd_scale=float(section.get("rw_sd_prior", cls.rw_sd_scale)),
            min_age_years=float(section.get("min_age_years", cls.min_age_years)),
            repeat_captures=section.get("repeat_captures", cls.repeat_captures),
            time_resolution_months=resolution or 0,
            max_cells=section.get("max_cells", cls.max_cells),
            seroreversion=RatePrior.from_config(reversion["prior"]) if reversion else None,
            age_breaks=tuple(float(b) for b in bands.get("breaks", ())),
            age_effect_sigma=float(bands.get("sigma", cls.age_effect_sigma)),
        )


def age_band_labels(breaks: Sequence[float]) -> list[str]:
    """Labels of the age bands cut at ``breaks`` (years): [1, 3] -> 0-1, 1-3, 3+."""
    edges = [0.0, *breaks]
    return [f"{lo:g}-{hi:g}" for lo, hi in pairwise(edges)] + [f"{edges[-1]:g}+"]


@dataclass(frozen=True)
class FoiData:
    """The animals used (exact times) and the cells the model sees (rounded times).

    ``animals``: species, assay, positive, birth_time, sampled_time, animal_id, age_years and
    ``cell`` (row of ``cells``). ``cells``: species, assay, birth_time, sampled_time, age_years,
    n_animals, n_positive. Exposures (rows x ``years``) are years of life in each calendar year.
    """

    animals: pd.DataFrame
    exposure: np.ndarray
    years: list[int]
    cells: pd.DataFrame
    cell_exposure: np.ndarray
    exclusions: list[dict[str, Any]] = field(default_factory=list)
    time_resolution_months: int = 0

    @property
    def species(self) -> list[str]:
        return sorted(self.animals["species"].unique())

    @property
    def assays(self) -> list[str]:
        return sorted(self.animals["assay"].unique())


def decimal_year(dates: pd.Series) -> np.ndarray:
    """Calendar date as a decimal year (2015-07-02 -> about 2015.5)."""
    d = pd.to_datetime(dates)
    start = pd.to_datetime(d.dt.year.astype(str) + "-01-01")
    length = np.where(d.dt.is_leap_year, 366.0, 365.0)
    return (d.dt.year + (d - start).dt.days / length).to_numpy(float)


def life_exposure(
    birth: np.ndarray,
    sampled: np.ndarray,
    years: Sequence[int],
    age_breaks: Sequence[float] = (),
) -> np.ndarray:
    """Years each animal lived in each calendar year and age band (animals x years x bands).

    Read in (year, band) order, an animal's nonzero entries are its pieces of life in time order
    (both year and age only grow), each with one calendar year and one age band.
    """
    start = np.asarray(years, float)[None, :, None]
    edges = np.concatenate([[0.0], np.asarray(age_breaks, float), [np.inf]])
    birth, sampled = birth[:, None, None], sampled[:, None, None]
    lo = np.maximum(np.maximum(birth, start), birth + edges[None, None, :-1])
    hi = np.minimum(np.minimum(sampled, start + 1.0), birth + edges[None, None, 1:])
    return np.clip(hi - lo, 0.0, None)


def exposure_matrix(birth: np.ndarray, sampled: np.ndarray, years: Sequence[int]) -> np.ndarray:
    """Years each animal lived in each calendar year between birth and sampling."""
    return life_exposure(birth, sampled, years)[:, :, 0]


def year_positions(times: np.ndarray, years: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Index of each time's calendar year in ``years`` and the years elapsed in it."""
    whole = np.floor(times)
    return (whole - years[0]).astype("int64"), times - whole


def cell_year_positions(
    times: pd.Series, species_index: np.ndarray, years: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Position of each cell's (species, calendar year of ``times``) in the flattened species x
    years FOI table, and the years elapsed in that year."""
    index, elapsed = year_positions(times.to_numpy(float), years)
    return species_index * len(years) + index, elapsed


def hazard_between(foi: Any, earlier: Any, start: Any, start_in: Any, end: Any, end_in: Any) -> Any:
    """Cumulative FOI x time from each cell's birth to its sampling: H(sampled) - H(birth).

    ``foi`` (..., positions): FOI per (species, calendar year) position; ``earlier``: the sum of
    that species' FOI over the years before each position; ``start``/``end``: the positions of
    birth and sampling, ``*_in``: years elapsed in them. H(x) = earlier + FOI x time in x's
    year, so the hazard takes two look-ups per cell instead of a sum over every calendar year
    (numpy arrays or PyTensor tensors alike).
    """
    at_end = earlier[..., end] + end_in * foi[..., end]
    return at_end - earlier[..., start] - start_in * foi[..., start]


def random_walk_basis(n_years: int) -> np.ndarray:
    """Years x (years - 1) matrix B: mean + sd x B z with z ~ N(0, 1) is the random walk of log
    FOI (steps ~ N(0, sd)) centred on its mean.

    B's columns are the eigenvectors of the walk's precision (first differences squared: the
    DCT-II basis, Rue & Held 2005) scaled by the square roots of the centred walk's variances
    1 / (4 sin^2(pi k / 2n)), so B B' is the centred walk's covariance. The walk is the same as
    the cumulative sum of non-centred steps, but in these coordinates the likelihood's curvature
    is close to diagonal: with the cumulative sum each step moves every later year, so where the
    data pin the yearly FOI (thousands of animals) the steps are strongly correlated and NUTS
    needed smaller steps and longer trajectories, and diverged in the tail of the walk's SD.
    """
    mode = np.arange(1, n_years)
    year = np.arange(n_years)
    vectors = np.sqrt(2.0 / n_years) * np.cos(np.pi * np.outer(year + 0.5, mode) / n_years)
    return vectors / (2.0 * np.sin(np.pi * mode / (2.0 * n_years)))


def _constant_foi_chances(
    log_foi: float, life: np.ndarray, se: np.ndarray, sp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's chance of a positive reading with a constant FOI over ``life`` (years), and
    its chance of never having been infected."""
    never = np.exp(-np.exp(log_foi) * life)
    positive = apparent_positive(1.0 - never, never, se, sp)
    return np.clip(positive, 1e-12, 1.0 - 1e-12), never


def _constant_foi_deviance(
    log_foi: float, life: np.ndarray, se: np.ndarray, sp: np.ndarray, n: np.ndarray, k: np.ndarray
) -> float:
    p = _constant_foi_chances(log_foi, life, se, sp)[0]
    return -float(k @ np.log(p) + (n - k) @ np.log1p(-p))


def walk_information(data: FoiData, accuracy: Mapping[str, AssayAccuracy]) -> np.ndarray:
    """Species x walk modes: how much the data say about each random-walk mode (Fisher
    information about its amplitude in log FOI).

    Taken at each species' constant FOI of greatest likelihood (log FOI within -9..2) and the
    assays' mean Se/Sp given their validation panels. It only scales the walk's coordinates (see
    :func:`build_foi_model`), so a rough value changes how fast the sampler mixes, never the
    posterior.
    """
    cells = data.cells
    basis = random_walk_basis(len(data.years))
    means = {
        name: [a / (a + b) for a, b in accuracy[name].posterior_beta()]
        for name in cells["assay"].unique()
    }
    se, sp = np.array([means[a] for a in cells["assay"]]).T
    n, k = cells["n_animals"].to_numpy(float), cells["n_positive"].to_numpy(float)
    information = np.zeros((len(data.species), basis.shape[1]))
    for i, name in enumerate(data.species):
        mine = (cells["species"] == name).to_numpy()
        exposure = data.cell_exposure[mine]
        given = (exposure.sum(axis=1), se[mine], sp[mine])
        log_foi = minimize_scalar(
            _constant_foi_deviance,
            bounds=(-9.0, 2.0),
            args=(*given, n[mine], k[mine]),
            method="bounded",
        ).x
        p, never = _constant_foi_chances(log_foi, *given)
        slope = (se[mine] + sp[mine] - 1.0) * never * np.exp(log_foi)  # dp / d log FOI_year
        per_mode = (slope[:, None] * exposure) @ basis
        information[i] = (n[mine] / (p * (1.0 - p))) @ per_mode**2
    return information


def cell_life_exposure(data: FoiData, settings: FoiSettings) -> np.ndarray:
    """:func:`life_exposure` of the cells, cut at the configured age bands."""
    cells = data.cells
    return life_exposure(
        cells["birth_time"].to_numpy(float),
        cells["sampled_time"].to_numpy(float),
        data.years,
        settings.age_breaks,
    )


def life_pieces(life: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each animal's pieces of life, packed: (year, band) index into a flattened years x bands
    table and years spent, in time order (animals x most pieces; padding: index 0, 0 years).

    The model and its check work on these instead of all years x bands: an animal lives
    through a few of the calendar years, so most of ``life`` is zero.
    """
    flat = life.reshape(len(life), -1)
    lived = flat > 0
    width = max(1, int(lived.sum(axis=1).max(initial=0)))
    order = np.argsort(~lived, axis=1, kind="stable")[:, :width]  # lived first, in time order
    exposure = np.take_along_axis(flat, order, axis=1)
    return np.where(exposure > 0, order, 0), exposure


def seropositive_probability(
    rate: Any, exposure: Any, reversion: Any | None = None, xp: Any = np
) -> Any:
    """P(seropositive) at sampling after successive pieces of life, each with a constant FOI.

    ``rate`` (..., animals, pieces): FOI in each piece; ``exposure`` (animals, pieces): years
    spent in each, in time order (pieces of no time count nothing); ``reversion`` (...,
    animals): annual rate of losing antibodies, or None (lifelong): P = 1 - exp(-sum FOI x
    time). With reversion, dP/dt = FOI (1 - P) - rho P from P = 0 at birth, solved exactly:
    piece j moves P towards FOI_j / (FOI_j + rho) by a share 1 - exp(-(FOI_j + rho) t_j), so
    P = sum_j FOI_j / (FOI_j + rho) (1 - exp(-(FOI_j + rho) t_j)) exp(-sum_k>j (FOI_k + rho) t_k).
    ``xp``: numpy, or pytensor.tensor to build the model's graph.
    """
    if reversion is None:
        return -xp.expm1(-(rate * exposure).sum(axis=-1))
    total = rate + reversion[..., None]
    decay = total * exposure
    later = decay.sum(axis=-1, keepdims=True) - xp.cumsum(decay, axis=-1)
    return (rate / total * -xp.expm1(-decay) * xp.exp(-later)).sum(axis=-1)


def round_times(
    birth: np.ndarray, sampled: np.ndarray, months: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Birth, sampling time and age on a grid of ``months``-month steps (0: unchanged).

    The sampling time goes to the middle of its step, the age to the nearest whole number of
    steps and birth = sampling - age: the age (total exposure) and the sampling time move by at
    most half a step, the birth by at most one, and ages are exact multiples of the step.
    """
    if not months:
        return birth, sampled, sampled - birth
    step = np.floor(sampled * 12 / months)
    age_steps = np.rint((sampled - birth) * 12 / months)
    age = age_steps * months / 12
    sampled = (step + 0.5) * months / 12
    return sampled - age, sampled, age


CELL_KEYS = ["species", "assay", "birth_time", "sampled_time"]


def on_grid(animals: pd.DataFrame, months: int) -> pd.DataFrame:
    """Each animal's species, assay, positive and its birth and sampling times and age on the
    grid of ``months`` (:func:`round_times`): animals with equal ``CELL_KEYS`` share a cell."""
    birth, sampled, age = round_times(
        animals["birth_time"].to_numpy(float), animals["sampled_time"].to_numpy(float), months
    )
    return pd.DataFrame(
        {
            "species": animals["species"].to_numpy(),
            "assay": animals["assay"].to_numpy(),
            "birth_time": birth,
            "sampled_time": sampled,
            "age_years": age,
            "positive": animals["positive"].to_numpy("int64"),
        }
    )


def cell_count(animals: pd.DataFrame, months: int) -> int:
    """Cells the animals fall into on a grid of ``months``."""
    return len(on_grid(animals, months).drop_duplicates(CELL_KEYS))


def grid_for_cells(animals: pd.DataFrame, finest: int, max_cells: int | None) -> int:
    """The finest grid, from ``finest`` months up to :data:`COARSEST_GRID`, on which the
    animals fall into at most ``max_cells`` cells (the coarsest if none does; ``finest`` when
    there is no cap).

    A gradient of the model costs in proportion to its cells, so the cap bounds a fit's cost as
    surveillance grows; a coarser grid moves ages and sampling times by at most half its step.
    """
    if max_cells is None:
        return finest
    grids = [g for g in TIME_RESOLUTIONS if g >= finest and g <= COARSEST_GRID] or [finest]
    for months in grids:
        if cell_count(animals, months) <= max_cells:
            return months
    return grids[-1]


def foi_data_from_animals(
    animals: pd.DataFrame,
    exclusions: Sequence[dict[str, Any]] = (),
    time_resolution_months: int = 0,
    max_cells: int | None = None,
) -> FoiData:
    """From per-animal rows with species, assay, positive, birth_time, sampled_time.

    Cells group animals by species, assay and birth and sampling times on the grid of
    ``time_resolution_months`` (:func:`round_times`; 0: exact times, only duplicates merge),
    made coarser when needed to stay within ``max_cells`` (:func:`grid_for_cells`).
    """
    animals = animals.reset_index(drop=True)
    time_resolution_months = grid_for_cells(animals, time_resolution_months, max_cells)
    birth = animals["birth_time"].to_numpy(float)
    sampled = animals["sampled_time"].to_numpy(float)
    gridded = on_grid(animals, time_resolution_months)
    first = int(np.floor(min(birth.min(), gridded["birth_time"].min())))
    last = int(np.floor(max(sampled.max(), gridded["sampled_time"].max())))
    years = list(range(first, last + 1))
    grouped = gridded.groupby(CELL_KEYS, sort=True, dropna=False)
    cells = grouped.agg(
        age_years=("age_years", "first"),
        n_animals=("positive", "size"),
        n_positive=("positive", "sum"),
    ).reset_index()
    animals = animals.assign(age_years=sampled - birth, cell=grouped.ngroup().to_numpy())
    return FoiData(
        animals=animals,
        exposure=exposure_matrix(birth, sampled, years),
        years=years,
        cells=cells,
        cell_exposure=exposure_matrix(
            cells["birth_time"].to_numpy(float), cells["sampled_time"].to_numpy(float), years
        ),
        exclusions=list(exclusions),
        time_resolution_months=time_resolution_months,
    )


def foi_data(
    samples: pd.DataFrame,
    settings: FoiSettings,
    species: Sequence[str] = (),
    roles: Sequence[str] = DEFAULT_ROLES,
    exclude_vaccinated: bool = True,
) -> FoiData:
    """Animals with a known age or birth year, one capture each (see ``repeat_captures``).

    Exposure runs from birth to the collection date. The birth year is preferred when given
    (animal assumed born mid-year), because it places the life in calendar years; otherwise
    birth = collection date - ``age_years``. Cells use ``time_resolution_months``.
    """
    used, exclusions = select_results(
        samples, "force_of_infection", species, roles, exclude_vaccinated
    )
    sampled = decimal_year(used["collection_date"])
    birth_year = pd.to_numeric(used["birth_year"], errors="coerce").to_numpy(float)
    age = pd.to_numeric(used["age_years"], errors="coerce").to_numpy(float)
    birth = np.where(np.isfinite(birth_year), birth_year + 0.5, sampled - age)
    birth = np.minimum(birth, sampled)
    used = used.assign(birth_time=birth, sampled_time=sampled)
    unknown = ~np.isfinite(birth)
    for sp, n in used.loc[unknown].groupby("species").size().items():
        exclusions.append(exclusion_row("force_of_infection", f"no age or birth year: {sp}", n))
    used = used.loc[~unknown]
    young = (used["sampled_time"] - used["birth_time"]) < settings.min_age_years
    for sp, n in used.loc[young].groupby("species").size().items():
        exclusions.append(
            exclusion_row("force_of_infection", f"younger than min_age_years: {sp}", n)
        )
    used = used.loc[~young].sort_values(["collection_date", "sample_id"], kind="stable")
    animal = used["animal_id"].fillna("").astype(str)
    keep = "first" if settings.repeat_captures == "first" else "last"
    repeat = (animal != "") & used.assign(_a=animal).duplicated(["_a", "species"], keep=keep)
    for sp, n in used.loc[repeat].groupby("species").size().items():
        exclusions.append(
            exclusion_row(
                "force_of_infection",
                f"repeat capture, {settings.repeat_captures} capture used: {sp}",
                n,
            )
        )
    used = used.loc[~repeat]
    if used.empty:
        raise ValueError(
            "no animal of the modelled species has an age or birth year in samples.tsv; the "
            "force-of-infection model needs `age_years` or `birth_year`"
        )
    for sp, n in used.groupby("species").size().items():
        exclusions.append(exclusion_row("force_of_infection", f"used: {sp}", n))
    columns = ["species", "assay", "positive", "birth_time", "sampled_time", "animal_id"]
    return foi_data_from_animals(
        used[columns], exclusions, settings.time_resolution_months, settings.max_cells
    )


def build_foi_model(
    data: FoiData, accuracy: Mapping[str, AssayAccuracy], settings: FoiSettings
) -> pm.Model:
    """The catalytic model for all species at once (species share only the assays' Se/Sp).

    Positives per cell ~ Binomial(animals in the cell, apparent prevalence). Cumulative hazard =
    H(sampling) - H(birth) from the cumulative FOI of the cell's species (:func:`hazard_between`):
    two look-ups per cell, so the cost grows with cells, not cells x years x species as the
    exposure-matrix product it replaces (same values). With seroreversion or age bands
    (``settings.piecewise``) each cell instead walks its pieces of life (:func:`life_pieces`),
    taking each piece's FOI from a species x year x band table.

    The walk's mode amplitudes v = SD x z / s, with z ~ Normal(0, s) and s = sqrt(1 + SD^2 I)
    (I: :func:`walk_information`): the same prior, v ~ Normal(0, SD). With I = 0 this is the
    non-centred walk (s = 1); where the data pin a mode (SD^2 I >> 1), z is nearly the centred
    amplitude in units of the data's standard error. Either way z's conditional posterior SD
    stays near 1 whatever the walk's SD (for a Gaussian likelihood, exactly), which removes the
    funnel between the SD and the modes the data pin at 100x the example.
    """
    species, assays = data.species, data.assays
    cells = data.cells
    coords = {
        "species": species,
        "year": data.years,
        "walk_mode": np.arange(1, len(data.years)),
        "assay": assays,
        "cell": np.arange(len(cells)),
    }
    if settings.piecewise:  # only then, so that the default model is unchanged
        piece_index, piece_exposure = life_pieces(cell_life_exposure(data, settings))
        coords["age_band"] = age_band_labels(settings.age_breaks)
        coords["age_band_effect"] = coords["age_band"][1:]
        coords["piece"] = np.arange(piece_index.shape[1])
    species_index = cells["species"].map({s: i for i, s in enumerate(species)}).to_numpy("int64")
    cell_assay = cells["assay"].map({a: i for i, a in enumerate(assays)})
    with pm.Model(coords=coords, check_bounds=False) as model:
        se, sp = add_test_accuracy(accuracy_for(assays, accuracy))
        assay_index = pm.Data("cell_assay", cell_assay.to_numpy("int64"), dims="cell")
        if settings.piecewise:
            exposure = (
                pm.Data("cell_species_index", species_index, dims="cell"),
                pm.Data(  # into the flattened species x year x band FOI table
                    "piece_index",
                    species_index[:, None] * len(data.years) * len(coords["age_band"])
                    + piece_index,
                    dims=("cell", "piece"),
                ),
                pm.Data("piece_exposure", piece_exposure, dims=("cell", "piece")),
            )
        else:  # birth and sampling: (species, year) position in the flattened FOI table
            exposure = tuple(
                pm.Data(f"{when}_{part}", value, dims="cell")
                for when in ("birth", "sampled")
                for part, value in zip(
                    ("position", "in_year"),
                    cell_year_positions(cells[f"{when}_time"], species_index, data.years),
                    strict=True,
                )
            )
        log_foi_mean = pm.Normal(
            "log_foi_mean", settings.log_foi_mu, settings.log_foi_sigma, dims="species"
        )
        if settings.mode == "random_walk" and len(data.years) > 1:
            rw_sd = pm.HalfNormal("log_foi_rw_sd", sigma=settings.rw_sd_scale, dims="species")
            information = pm.Data(  # data, not a constant: the compiled model stays reusable
                "walk_information", walk_information(data, accuracy), dims=("species", "walk_mode")
            )
            conditional_sd = pt.sqrt(1.0 + rw_sd[:, None] ** 2 * information)
            walk_z = pm.Normal("log_foi_walk_z", 0.0, conditional_sd, dims=("species", "walk_mode"))
            walk = pt.dot(walk_z / conditional_sd, random_walk_basis(len(data.years)).T)
            by_year = pm.Deterministic(
                "force_of_infection_by_year",
                pt.exp(log_foi_mean[:, None] + rw_sd[:, None] * walk),
                dims=("species", "year"),
            )
            pm.Deterministic("force_of_infection", by_year[:, -1], dims="species")
        else:
            foi = pm.Deterministic("force_of_infection", pt.exp(log_foi_mean), dims="species")
            by_year = foi[:, None] * pt.ones((1, len(data.years)))
        if settings.piecewise:
            seroconverted = _piecewise_seropositive(by_year, *exposure, settings)
            seronegative = 1.0 - seroconverted
        else:
            earlier = pt.cumsum(by_year, axis=1) - by_year
            seronegative = pt.exp(-hazard_between(by_year.flatten(), earlier.flatten(), *exposure))
            seroconverted = 1.0 - seronegative
        binomial_counts(
            "seropositive",
            ("n_animals", cells["n_animals"].to_numpy("int64")),
            ("n_positive", cells["n_positive"].to_numpy("int64")),
            apparent_outcomes(seroconverted, seronegative, se[assay_index], sp[assay_index]),
            dims="cell",
        )
    return model


def _piecewise_seropositive(
    by_year: Any, species_index: Any, piece_index: Any, piece_exposure: Any, settings: FoiSettings
) -> Any:
    """P(seroconverted) per cell with the options on, over its pieces of life (see
    :func:`life_pieces`; ``piece_index`` points into the flattened species x year x band FOI
    table, the first band the reference). Call inside the model."""
    table = by_year[:, :, None]  # species x year x band
    if settings.age_breaks:
        effect = pm.Normal(
            "log_foi_age_effect",
            0.0,
            settings.age_effect_sigma,
            dims=("species", "age_band_effect"),
        )
        table = table * pt.exp(
            pt.concatenate([pt.zeros((effect.shape[0], 1)), effect], axis=1)
        )[:, None, :]
    reversion = None
    if settings.seroreversion is not None:
        rho = settings.seroreversion.variable("seroreversion_rate", dims="species")
        reversion = rho[species_index]
    rate = table.flatten()[piece_index.flatten()].reshape(piece_index.shape)
    return seropositive_probability(rate, piece_exposure, reversion, xp=pt)


def fit_foi(
    data: FoiData,
    accuracy: Mapping[str, AssayAccuracy],
    settings: FoiSettings,
    sampler: SamplerSettings,
    seed: int,
) -> Fit:
    """Sample the model (``sampler``: with this model's own settings, see
    :meth:`SamplerSettings.for_model`)."""
    build = partial(build_foi_model, data, accuracy, settings)
    return sample_posterior(build(), sampler, seed, label="force_of_infection", build=build)


def _quantiles(draws: np.ndarray) -> dict[str, np.ndarray]:
    lo, med, hi = np.quantile(draws, [0.025, 0.5, 0.975], axis=0)
    return {"foi_median": med, "foi_lo95": lo, "foi_hi95": hi}


def summarise_foi(fit: Fit, data: FoiData) -> pd.DataFrame:
    """Posterior median and 95% interval of annual FOI per species (and year, if it varies)."""
    posterior = fit.idata.posterior
    if "force_of_infection_by_year" in posterior:
        draws = posterior_draws(fit.idata, "force_of_infection_by_year")
        q = _quantiles(draws)
        rows = [
            {"species": s, "year": str(y), **{k: v[i, j] for k, v in q.items()}}
            for i, s in enumerate(data.species)
            for j, y in enumerate(data.years)
        ]
    else:
        q = _quantiles(posterior_draws(fit.idata, "force_of_infection"))
        rows = [
            {"species": s, "year": "constant", **{k: v[i] for k, v in q.items()}}
            for i, s in enumerate(data.species)
        ]
    return pd.DataFrame(rows)


AGE_BANDS = (0.0, 1.0, 2.0, 4.0, 8.0, np.inf)
PPC_CHUNK = 2**21  # draws x cells replicated at once


def foi_ppc(
    fit: Fit, data: FoiData, seed: int, settings: FoiSettings | None = None
) -> pd.DataFrame:
    """Observed vs replicated positives per species and age band (0-1, 1-2, 2-4, 4-8, 8+ y).

    Replicates are binomial per cell (age band of the cell's age), summed per band; cells are
    taken a block at a time, so memory grows with draws x bands, not draws x animals.
    ``settings``: the fit's options (seroreversion, age bands); default none.
    """
    settings = settings if settings is not None else FoiSettings()
    posterior = fit.idata.posterior
    se = posterior_draws(fit.idata, "sensitivity")
    sp = posterior_draws(fit.idata, "specificity")
    if "force_of_infection_by_year" in posterior:
        foi = posterior_draws(fit.idata, "force_of_infection_by_year")
    else:
        foi = posterior_draws(fit.idata, "force_of_infection")[:, :, None].repeat(
            len(data.years), axis=2
        )
    width, reversion = 1, None
    if settings.piecewise:  # FOI per draw, species and (year, band); cells' pieces of life
        table = foi[:, :, :, None]
        if settings.age_breaks:
            effect = posterior_draws(fit.idata, "log_foi_age_effect")
            table = table * np.exp(
                np.concatenate([np.zeros_like(effect[:, :, :1]), effect], axis=2)
            )[:, :, None, :]
        table = table.reshape(*foi.shape[:2], -1)
        piece_index, piece_exposure = life_pieces(cell_life_exposure(data, settings))
        width = piece_index.shape[1]
        if settings.seroreversion is not None:
            reversion = posterior_draws(fit.idata, "seroreversion_rate")[:, :, None]
    cells = data.cells
    earlier = np.cumsum(foi, axis=-1) - foi
    positions = [  # year index and time into it, of birth and of sampling
        x for when in ("birth", "sampled")
        for x in year_positions(cells[f"{when}_time"].to_numpy(float), data.years)
    ]
    band = pd.cut(cells["age_years"], AGE_BANDS, right=False, labels=False).to_numpy()
    keys = pd.DataFrame({"species": cells["species"], "band": band}).groupby(
        ["species", "band"], sort=True
    )
    groups = keys.ngroup().to_numpy()
    labels = []
    for s, b in keys.size().index:
        lo, hi = AGE_BANDS[int(b)], AGE_BANDS[int(b) + 1]
        labels.append(f"{s}|age {lo:g}-{hi:g}" if np.isfinite(hi) else f"{s}|age {lo:g}+")
    species_pos = cells["species"].map({s: i for i, s in enumerate(data.species)}).to_numpy()
    assay_pos = cells["assay"].map({a: i for i, a in enumerate(data.assays)}).to_numpy()
    n_animals = cells["n_animals"].to_numpy("int64")
    rng = np.random.default_rng(seed)
    replicated = np.zeros((se.shape[0], len(labels)), dtype=np.int64)
    block = max(1, PPC_CHUNK // (se.shape[0] * width))
    for i in range(len(data.species)):
        rows = np.flatnonzero(species_pos == i)
        for start in range(0, len(rows), block):
            idx = rows[start : start + block]
            if settings.piecewise:
                p = seropositive_probability(
                    table[:, i, piece_index[idx]],
                    piece_exposure[idx],
                    None if reversion is None else reversion[:, i],
                )
            else:
                p = -np.expm1(-hazard_between(
                    foi[:, i, :], earlier[:, i, :], *(x[idx] for x in positions)
                ))
            a = assay_pos[idx]
            apparent = apparent_positive(p, 1 - p, se[:, a], sp[:, a])
            draws = rng.binomial(n_animals[idx][None, :], np.clip(apparent, 0.0, 1.0))
            for g in np.unique(groups[idx]):
                replicated[:, g] += draws[:, groups[idx] == g].sum(axis=1)
    observed = np.bincount(groups, weights=cells["n_positive"], minlength=len(labels))
    return ppc_table(replicated, observed.astype(np.int64), labels, "force_of_infection")


def summarise_options(fit: Fit) -> pd.DataFrame:
    """Posterior median and 95% interval of the options' parameters per species: the
    seroreversion rate (a year) and each age band's FOI ratio to the first band (no rows when
    both options are off)."""
    posterior = fit.idata.posterior
    parts = []
    if "seroreversion_rate" in posterior:
        draws = posterior_draws(fit.idata, "seroreversion_rate")[:, :, None]
        parts.append((["seroreversion_rate"], draws))
    if "log_foi_age_effect" in posterior:
        bands = posterior["log_foi_age_effect"].coords["age_band_effect"].values
        draws = np.exp(posterior_draws(fit.idata, "log_foi_age_effect"))
        parts.append(([f"foi_ratio_age_{b}" for b in bands], draws))
    rows = []
    for names, draws in parts:
        lo, med, hi = np.quantile(draws, [0.025, 0.5, 0.975], axis=0)
        for i, species in enumerate(posterior.coords["species"].values):
            for j, name in enumerate(names):
                rows.append({"species": species, "parameter": name, "median": med[i, j],
                             "lo95": lo[i, j], "hi95": hi[i, j]})
    return pd.DataFrame(rows, columns=["species", "parameter", "median", "lo95", "hi95"])


def foi_inference_data(fit: Fit, settings: FoiSettings | None = None) -> Any:
    """The InferenceData to save (contract: ``force_of_infection`` dims chain, draw, species)."""
    settings = settings if settings is not None else FoiSettings()
    idata = fit.idata
    idata.posterior.attrs.update({"sampler": fit.sampler, "seed": fit.seed})
    if "force_of_infection_by_year" in idata.posterior:
        meaning = "annual FOI in the most recent year"
    else:
        meaning = "annual FOI, constant over years"
    if settings.age_breaks:
        first = age_band_labels(settings.age_breaks)[0]
        meaning += f", age band {first} y (others: x exp(log_foi_age_effect))"
        idata.posterior.attrs["age_bands"] = ", ".join(age_band_labels(settings.age_breaks))
    if settings.seroreversion is not None:
        idata.posterior.attrs["seroreversion"] = (
            f"annual rate seroreversion_rate, prior {settings.seroreversion.family} "
            + ", ".join(f"{k}={v:g}" for k, v in settings.seroreversion.params)
        )
    idata.posterior.attrs["force_of_infection"] = meaning
    return idata


__all__ = [
    "FoiData",
    "FoiSettings",
    "RatePrior",
    "age_band_labels",
    "build_foi_model",
    "cell_life_exposure",
    "decimal_year",
    "exposure_matrix",
    "fit_foi",
    "foi_data",
    "foi_data_from_animals",
    "foi_inference_data",
    "foi_ppc",
    "life_exposure",
    "life_pieces",
    "round_times",
    "seropositive_probability",
    "summarise_foi",
    "summarise_options",
]
