"""Hierarchical true CDV seroprevalence by species, site and year, corrected for imperfect assays.

Per group g (species x site x year) and assay a: positives ~ Binomial(n, Se_a p_g + (1 - Sp_a)
(1 - p_g)), logit p_g = intercept + sum of partially pooled effects (species, site, year and
optionally their interactions), each effect non-centred: sd_e * z_e[level], z ~ N(0, 1),
sd_e ~ HalfNormal(scale_e). Se and Sp come from :mod:`disease_risk.serology.accuracy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import gammaln

from disease_risk.serology.accuracy import (
    AssayAccuracy,
    accuracy_for,
    add_test_accuracy,
    apparent_outcomes,
    apparent_positive,
)
from disease_risk.serology.sampling import Fit, SamplerSettings, posterior_draws, sample_posterior

EFFECTS: dict[str, tuple[str, ...]] = {
    "species": ("species",),
    "site": ("site",),
    "year": ("year",),
    "species_site": ("species", "site"),
    "species_year": ("species", "year"),
    "group": ("species", "site", "year"),
}
DEFAULT_ROLES = ("target", "domestic", "reservoir")
RESULTS = ("positive", "negative")


@dataclass(frozen=True)
class PrevalencePriors:
    """Priors of the logit-prevalence regression.

    The intercept is Normal(mu, sigma) or Logistic(mu, sigma); Logistic(0, 1) on the logit
    scale is a uniform prior on prevalence. ``effects`` maps effect name to the half-normal
    scale of its SD. Effects sum to zero over their levels and are partially pooled
    (SD estimated) and non-centred (sd * z, z ~ ZeroSumNormal(1)) unless listed in ``centred``
    (effect ~ ZeroSumNormal(sd), better when every level has plenty of data) or in ``fixed``
    (not pooled: effect ~ ZeroSumNormal(scale), the SD held at its scale; the default for
    species, because a between-species SD is barely identified from a handful of very different
    species and makes the sampler diverge when two species look alike).
    """

    intercept_mu: float = -1.0
    intercept_sigma: float = 1.5
    intercept_family: str = "normal"
    effects: Mapping[str, float] = field(
        default_factory=lambda: {"species": 1.5, "site": 1.0, "year": 0.5}
    )
    centred: frozenset[str] = frozenset()
    fixed: frozenset[str] = frozenset({"species"})

    def __post_init__(self) -> None:
        if self.intercept_family not in ("normal", "logistic"):
            raise ValueError(
                f"intercept family must be normal or logistic, got {self.intercept_family!r}"
            )
        unknown = sorted((set(self.effects) | self.centred | self.fixed) - set(EFFECTS))
        if unknown:
            raise ValueError(f"unknown prevalence effects {unknown}; choose from {list(EFFECTS)}")
        for name, scale in self.effects.items():
            if not scale > 0:
                raise ValueError(f"prevalence effect {name!r}: SD scale must be > 0, got {scale}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> PrevalencePriors:
        """From ``seroprevalence.prevalence``; an effect: a scale or {sd_prior, centred, pooled}."""
        intercept = section.get("intercept", {})
        defaults = {"species": {"sd_prior": 1.5, "pooled": False}, "site": 1.0, "year": 0.5}
        effects: dict[str, float] = {}
        centred: set[str] = set()
        fixed: set[str] = set()
        for name, value in section.get("effects", defaults).items():
            if isinstance(value, Mapping):
                effects[name] = float(value["sd_prior"])
                if value.get("centred", False):
                    centred.add(name)
                if not value.get("pooled", True):
                    fixed.add(name)
            else:
                effects[name] = float(value)
        return cls(
            intercept_mu=float(intercept.get("mu", cls.intercept_mu)),
            intercept_sigma=float(intercept.get("sigma", cls.intercept_sigma)),
            intercept_family=str(intercept.get("family", cls.intercept_family)),
            effects=effects,
            centred=frozenset(centred),
            fixed=frozenset(fixed),
        )


def exclusion_row(model: str, reason: str, count: int) -> dict[str, Any]:
    return {"section": "data", "model": model, "item": reason, "count": int(count)}


def select_results(
    samples: pd.DataFrame,
    model: str,
    species: Sequence[str] = (),
    roles: Sequence[str] = DEFAULT_ROLES,
    exclude_vaccinated: bool = True,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of a modelled species with a positive/negative result, and counts of the rest.

    ``species`` (if given) lists the species to model; otherwise every species whose
    ``species_role`` is in ``roles``. Indeterminate results are excluded and counted, and so
    are vaccinated animals (their antibodies need not come from infection) unless
    ``exclude_vaccinated`` is false.
    """
    chosen = samples["species"].isin(species) if species else samples["species_role"].isin(roles)
    rows: list[dict[str, Any]] = []
    for (sp, role), n in samples.loc[~chosen].groupby(["species", "species_role"]).size().items():
        rows.append(exclusion_row(model, f"species not modelled: {sp} (role {role})", n))
    kept = samples.loc[chosen]
    result = kept["result"].astype(str).str.lower()
    if (bad := ~result.isin([*RESULTS, "indeterminate"])).any():
        first = kept.loc[bad].iloc[0]
        raise ValueError(
            f"samples.tsv row sample_id={first['sample_id']}: result {first['result']!r} is not "
            "positive/negative/indeterminate; rerun intake"
        )
    for sp, n in kept.loc[result == "indeterminate"].groupby("species").size().items():
        rows.append(exclusion_row(model, f"indeterminate result: {sp}", n))
    usable = result.isin(RESULTS)
    if exclude_vaccinated and "vaccinated" in kept:
        vaccinated = usable & (kept["vaccinated"].fillna("").astype(str).str.lower() == "yes")
        for sp, n in kept.loc[vaccinated].groupby("species").size().items():
            rows.append(exclusion_row(model, f"vaccinated: {sp}", n))
        usable &= ~vaccinated
    used = kept.loc[usable].copy()
    used["positive"] = (used["result"].astype(str).str.lower() == "positive").astype(int)
    used["site"] = used["site"].fillna("unknown").astype(str).replace("", "unknown")
    used["year"] = used["year"].astype(int)
    return used, rows


@dataclass(frozen=True)
class PrevalenceData:
    """Counts per (group, assay) cell, ready for the model."""

    groups: pd.DataFrame  # species, site, year, n_tested, n_positive; index = group position
    cells: pd.DataFrame  # group, assay, n_tested, n_positive
    assays: list[str]
    exclusions: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_counts(
        cls, counts: pd.DataFrame, exclusions: Iterable[dict[str, Any]] = ()
    ) -> PrevalenceData:
        """From a table with species, site, year, assay, n_tested, n_positive (one row a cell)."""
        counts = counts.copy()
        counts["site"] = counts["site"].astype(str)
        counts["year"] = counts["year"].astype(int)
        keys = ["species", "site", "year"]
        cells = (
            counts.groupby([*keys, "assay"], sort=True)[["n_tested", "n_positive"]]
            .sum()
            .reset_index()
        )
        groups = cells.groupby(keys, sort=True)[["n_tested", "n_positive"]].sum().reset_index()
        group_pos = {tuple(r): i for i, r in enumerate(groups[keys].itertuples(index=False))}
        cells["group"] = [group_pos[tuple(r)] for r in cells[keys].itertuples(index=False)]
        return cls(
            groups=groups,
            cells=cells[["group", "assay", "n_tested", "n_positive"]],
            assays=sorted(cells["assay"].unique()),
            exclusions=list(exclusions),
        )

    @property
    def labels(self) -> list[str]:
        return [
            f"{s}|{t}|{y}"
            for s, t, y in self.groups[["species", "site", "year"]].itertuples(index=False)
        ]

    def effect_levels(self, effect: str) -> tuple[list[str], np.ndarray]:
        """Level labels of an effect and each group's level index."""
        keys = list(EFFECTS[effect])
        label = self.groups[keys].astype(str).agg("|".join, axis=1)
        levels = sorted(label.unique())
        position = {lv: i for i, lv in enumerate(levels)}
        return levels, label.map(position).to_numpy(dtype="int64")


def prevalence_data(
    samples: pd.DataFrame,
    species: Sequence[str] = (),
    roles: Sequence[str] = DEFAULT_ROLES,
    exclude_vaccinated: bool = True,
) -> PrevalenceData:
    """Aggregate accepted samples into group x assay counts.

    The same animal tested more than once in one group with one assay counts once (its first
    sample by date), because the binomial model treats tests as different animals.
    """
    used, exclusions = select_results(samples, "prevalence", species, roles, exclude_vaccinated)
    used = used.sort_values(["collection_date", "sample_id"], kind="stable")
    animal = used["animal_id"].fillna("").astype(str)
    repeat = (animal != "") & used.assign(_a=animal).duplicated(
        ["_a", "species", "site", "year", "assay"], keep="first"
    )
    for sp, n in used.loc[repeat].groupby("species").size().items():
        exclusions.append(
            exclusion_row("prevalence", f"repeat test of an animal in the same group: {sp}", n)
        )
    used = used.loc[~repeat]
    if used.empty:
        raise ValueError(
            "no positive/negative results of the modelled species in samples.tsv; check "
            "`seroprevalence.species` / `seroprevalence.species_roles` in config/config.yaml"
        )
    for sp, n in used.groupby("species").size().items():
        exclusions.append(exclusion_row("prevalence", f"used: {sp}", n))
    counts = (
        used.groupby(["species", "site", "year", "assay"])["positive"]
        .agg(n_tested="size", n_positive="sum")
        .reset_index()
    )
    return PrevalenceData.from_counts(counts, exclusions)


def binomial_counts(
    name: str,
    trials: tuple[str, np.ndarray],
    successes: tuple[str, np.ndarray],
    chances: tuple[Any, Any],
    dims: str,
) -> Any:
    """Observed successes ~ Binomial(trials, p), each count a named ``pm.Data`` (call inside a
    model); ``chances`` = (p, 1 - p), each computed by the caller in its accurate form
    (:func:`~disease_risk.serology.accuracy.apparent_outcomes`).

    The same log density (to rounding) and draws as ``pm.Binomial``, but its log binomial
    coefficients are computed once from the data (``pm.Data`` ``log_binomial_coefficient``)
    instead of with three log-gamma calls per cell at every gradient evaluation (about 30% of a
    fit's time).
    """
    n, k = (np.asarray(v, dtype="int64") for _, v in (trials, successes))
    coefficient = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)

    def logp(value: Any, n: Any, log_coefficient: Any, p: Any, not_p: Any) -> Any:
        return log_coefficient + value * pt.log(p) + (n - value) * pt.log(not_p)

    def random(
        n: Any, log_coefficient: Any, p: Any, not_p: Any, rng: Any = None, size: Any = None
    ) -> Any:
        return rng.binomial(n, p, size=size)

    return pm.CustomDist(
        name,
        pm.Data(trials[0], n, dims=dims),
        pm.Data("log_binomial_coefficient", coefficient, dims=dims),
        *chances,
        logp=logp,
        random=random,
        observed=pm.Data(successes[0], k, dims=dims),
        dims=dims,
        dtype="int64",
    )


def reference_anchor(
    priors: PrevalencePriors,
) -> tuple[pt.TensorVariable, pt.TensorVariable, pt.TensorVariable]:
    """The reference assay's (the one that tests most) Se and Sp and the intercept, from three
    parameters that the test counts and the validation panel pin each on their own (call
    inside a model; returns Se, Sp, intercept).

    In the plain coordinates the intercept and the reference assay's specificity lie on a
    curved ridge: a lower specificity explains the same positives with fewer infections (at
    100x the example they correlated 0.81, and NUTS needed target_accept 0.99 and ~63 leapfrog
    steps per draw; bench/README.md, issue 17). The same posterior is sampled in

    - ``reference_apparent`` = logit A, A = Se p + (1 - Sp)(1 - p) the assay's apparent
      prevalence at the intercept's prevalence p (what the counts pin),
    - ``reference_false_share`` = logit((1 - Sp) / A), the share of those positives that are
      false (with A, what the validation panel's negatives pin),
    - ``reference_sensitivity_room`` = logit((Se - A) / (1 - A)),

    so that 1 - Sp = A s, Se = A + (1 - A) t and logit p = logit A - softplus(logit s) +
    softplus(-logit t). The intercept's prior and the assay's Beta priors enter at the derived
    values, with the log Jacobian determinant of the change of coordinates: the model is the
    same (the grid posteriors in the tests), only the coordinates NUTS moves in are new.
    """
    a, s, t = (pm.Flat(f"reference_{name}") for name in
               ("apparent", "false_share", "sensitivity_room"))
    apparent, false_share, room = (pm.math.sigmoid(v) for v in (a, s, t))
    sensitivity = apparent + (1.0 - apparent) * room
    specificity = 1.0 - apparent * false_share
    intercept = pm.Deterministic("intercept", a - pt.softplus(s) + pt.softplus(-t))
    log_jacobian = (
        pt.log(apparent) + pt.log1p(-apparent) + pt.log(false_share) + pt.log1p(-room)
        + pt.log(room * (1.0 - false_share) + false_share * (1.0 - apparent) * room
                 + apparent * (1.0 - room) * (1.0 - false_share))
    )
    pm.Potential("reference_anchor", pm.logp(intercept_prior(priors), intercept) + log_jacobian)
    return sensitivity, specificity, intercept


def intercept_prior(priors: PrevalencePriors, name: str | None = None) -> Any:
    """The intercept's Normal or Logistic prior: a model variable called ``name``, or without
    a name the distribution alone."""
    family, scale = ((pm.Logistic, {"s": priors.intercept_sigma})
                     if priors.intercept_family == "logistic"
                     else (pm.Normal, {"sigma": priors.intercept_sigma}))
    if name is None:
        return family.dist(mu=priors.intercept_mu, **scale)
    return family(name, mu=priors.intercept_mu, **scale)


def build_prevalence_model(
    data: PrevalenceData,
    accuracy: Mapping[str, AssayAccuracy],
    priors: PrevalencePriors,
    anchored: bool = True,
) -> pm.Model:
    """The hierarchical true-prevalence model (all arrays as ``pm.Data`` for compile reuse).

    An effect with a single level in the data (one site, one year) is left out: it would only
    duplicate the intercept. The intercept and the Se/Sp of the assay that tests the most
    animals are sampled through :func:`reference_anchor`; ``anchored=False`` gives the same
    model in its plain, generative form (the intercept, Se and Sp as random variables), from
    which priors and data can be simulated.
    """
    coords: dict[str, Any] = {
        "group": data.labels,
        "assay": data.assays,
        "cell": np.arange(len(data.cells)),
    }
    effect_index = {}
    for effect in priors.effects:
        levels, index = data.effect_levels(effect)
        if len(levels) < 2:
            continue
        coords[f"{effect}_level"] = levels
        effect_index[effect] = index
    tested = data.cells.groupby("assay")["n_tested"].sum()
    reference = data.assays.index(str(tested.idxmax()))
    with pm.Model(coords=coords, check_bounds=False) as model:
        if anchored:
            se_reference, sp_reference, eta = reference_anchor(priors)
            se, sp = add_test_accuracy(
                accuracy_for(data.assays, accuracy), {reference: (se_reference, sp_reference)}
            )
        else:
            se, sp = add_test_accuracy(accuracy_for(data.assays, accuracy))
            eta = intercept_prior(priors, "intercept")
        for effect, scale in priors.effects.items():
            if effect not in effect_index:
                continue
            index = pm.Data(f"{effect}_index", effect_index[effect], dims="group")
            if effect in priors.fixed:
                value = pm.ZeroSumNormal(f"{effect}_effect", sigma=scale, dims=f"{effect}_level")
                eta = eta + value[index]
                continue
            sd = pm.HalfNormal(f"{effect}_sd", sigma=scale)
            if effect in priors.centred:
                value = pm.ZeroSumNormal(f"{effect}_effect", sigma=sd, dims=f"{effect}_level")
            else:
                z = pm.ZeroSumNormal(f"{effect}_z", sigma=1.0, dims=f"{effect}_level")
                value = sd * z
            eta = eta + value[index]
        if not effect_index:
            eta = pt.repeat(eta, len(data.groups))
        prevalence = pm.Deterministic("true_prevalence", pm.math.invlogit(eta), dims="group")
        cell_group = pm.Data("cell_group", data.cells["group"].to_numpy("int64"), dims="cell")
        cell_assay = pm.Data(
            "cell_assay",
            data.cells["assay"].map({a: i for i, a in enumerate(data.assays)}).to_numpy("int64"),
            dims="cell",
        )
        binomial_counts(
            "positives",
            ("n_tested", data.cells["n_tested"].to_numpy("int64")),
            ("n_positive", data.cells["n_positive"].to_numpy("int64")),
            apparent_outcomes(
                prevalence[cell_group], 1.0 - prevalence[cell_group], se[cell_assay], sp[cell_assay]
            ),
            dims="cell",
        )
    return model


def fit_prevalence(
    data: PrevalenceData,
    accuracy: Mapping[str, AssayAccuracy],
    priors: PrevalencePriors,
    settings: SamplerSettings,
    seed: int,
) -> Fit:
    """Sample the hierarchical model; group coordinates are attached to the posterior."""
    build = partial(build_prevalence_model, data, accuracy, priors)
    fit = sample_posterior(build(), settings, seed, label="prevalence", build=build)
    fit.idata.posterior = fit.idata.posterior.assign_coords(
        group_species=("group", data.groups["species"].tolist()),
        group_site=("group", data.groups["site"].tolist()),
        group_year=("group", data.groups["year"].to_numpy()),
    )
    return fit


def _interval(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, med, hi = np.quantile(draws, [0.025, 0.5, 0.975], axis=0)
    return med, lo, hi


def summarise_prevalence(fit: Fit, data: PrevalenceData) -> pd.DataFrame:
    """Groups, species x site, species x year and species rows with true-prevalence intervals.

    Aggregates are the sample-weighted mean of their groups' true prevalence, draw by draw:
    the true prevalence among the animals that were sampled.
    """
    draws = posterior_draws(fit.idata, "true_prevalence")
    groups = data.groups.reset_index(drop=True)
    n = groups["n_tested"].to_numpy(float)
    rows = []
    for by in (["species", "site", "year"], ["species", "site"], ["species", "year"], ["species"]):
        for key, idx in groups.groupby(by, sort=True).indices.items():
            key = key if isinstance(key, tuple) else (key,)
            labels = dict(zip(by, key, strict=True))
            weights = n[idx] / n[idx].sum()
            med, lo, hi = _interval(draws[:, idx] @ weights)
            n_tested = int(groups["n_tested"].iloc[idx].sum())
            n_positive = int(groups["n_positive"].iloc[idx].sum())
            rows.append(
                {
                    "species": labels["species"],
                    "site": str(labels.get("site", "all")),
                    "year": str(labels.get("year", "all")),
                    "n_tested": n_tested,
                    "n_positive": n_positive,
                    "apparent_prevalence": n_positive / n_tested,
                    "true_prevalence_median": med,
                    "true_prevalence_lo95": lo,
                    "true_prevalence_hi95": hi,
                }
            )
    table = pd.DataFrame(rows)
    order = {"all": "~"}
    table = table.sort_values(
        ["species", "site", "year"],
        key=lambda col: col.map(lambda v: order.get(v, v)),
        kind="stable",
    )
    return table.reset_index(drop=True)


def replicate_positives(fit: Fit, data: PrevalenceData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive positives per cell (draws x cells) and the cells' observed counts."""
    p = posterior_draws(fit.idata, "true_prevalence")
    se = posterior_draws(fit.idata, "sensitivity")
    sp = posterior_draws(fit.idata, "specificity")
    assay_pos = data.cells["assay"].map({a: i for i, a in enumerate(data.assays)}).to_numpy()
    group = data.cells["group"].to_numpy()
    truth = p[:, group]
    apparent = apparent_positive(truth, 1 - truth, se[:, assay_pos], sp[:, assay_pos])
    rng = np.random.default_rng(seed)
    replicated = rng.binomial(data.cells["n_tested"].to_numpy()[None, :], apparent)
    return replicated, data.cells["n_positive"].to_numpy()


def ppc_table(
    replicated: np.ndarray, observed: np.ndarray, labels: Sequence[str], model: str
) -> pd.DataFrame:
    """Observed vs replicated counts with the mid posterior predictive p-value per item."""
    lo, med, hi = np.quantile(replicated, [0.025, 0.5, 0.975], axis=0)
    ppp = (replicated > observed).mean(axis=0) + 0.5 * (replicated == observed).mean(axis=0)
    return pd.DataFrame(
        {
            "section": "ppc",
            "model": model,
            "item": list(labels),
            "observed": observed.astype(int),
            "replicated_median": med,
            "replicated_lo95": lo,
            "replicated_hi95": hi,
            "ppp": ppp,
            "reliable": np.where((observed >= lo) & (observed <= hi), "yes", "no"),
        }
    )


def prevalence_ppc(fit: Fit, data: PrevalenceData, seed: int) -> tuple[pd.DataFrame, xr.Dataset]:
    """Posterior predictive check per (group, assay) cell, and the replicated draws."""
    replicated, observed = replicate_positives(fit, data, seed)
    groups = data.labels  # built once: a property over every group
    labels = [f"{groups[g]}|{a}" for g, a in data.cells[["group", "assay"]].itertuples(index=False)]
    n_chain = fit.idata.posterior.sizes["chain"]
    reshaped = replicated.reshape(n_chain, -1, replicated.shape[1])
    dataset = xr.Dataset(
        {"positives": (("chain", "draw", "cell"), reshaped)},
        coords={
            "chain": fit.idata.posterior.chain,
            "draw": fit.idata.posterior.draw,
            "cell": labels,
        },
    )
    return ppc_table(replicated, observed, labels, "prevalence"), dataset


def attach_observations(fit: Fit, data: PrevalenceData, replicated: xr.Dataset) -> az.InferenceData:
    """The InferenceData to save: posterior, sample stats, observed counts and replications."""
    idata = fit.idata
    labels = list(replicated["cell"].values)
    idata.add_groups(
        {
            "posterior_predictive": replicated,
            "observed_data": xr.Dataset(
                {
                    "positives": ("cell", data.cells["n_positive"].to_numpy()),
                    "n_tested": ("cell", data.cells["n_tested"].to_numpy()),
                },
                coords={"cell": labels},
            ),
        }
    )
    idata.posterior.attrs.update({"sampler": fit.sampler, "seed": fit.seed})
    return idata
