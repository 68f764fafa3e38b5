"""Monte Carlo summaries of the scenarios' replicates and their figures.

One row per scenario and species with Monte Carlo standard errors (columns
:data:`disease_risk.tables.TRANSMISSION_SUMMARY_COLUMNS`); the chances of any infection and of
any death also carry the 95% interval of their value over parameter sets
(:mod:`disease_risk.montecarlo`). Figures label species by the common names of the species
registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from disease_risk.figures import pyplot, save_png
from disease_risk.intake.registry import species_label
from disease_risk.montecarlo import split_uncertainty
from disease_risk.tables import FLOAT_FORMAT, TRANSMISSION_SUMMARY_COLUMNS

Z95 = 1.959964  # standard normal 97.5% quantile


def quantile_with_mcse(x: np.ndarray, q: float, method: str = "linear") -> tuple[float, float]:
    """Sample quantile (numpy ``method``) and its Monte Carlo standard error from the
    order-statistic interval."""
    x = np.sort(np.asarray(x, float))
    n = x.size
    if n == 0:
        return np.nan, np.nan
    half = Z95 * np.sqrt(n * q * (1 - q))
    lo = int(np.clip(np.floor(n * q - half), 0, n - 1))
    hi = int(np.clip(np.ceil(n * q + half), 0, n - 1))
    return float(np.quantile(x, q, method=method)), float((x[hi] - x[lo]) / (2 * Z95))


def upper_count(x: np.ndarray) -> tuple[float, float]:
    """The 97.5% quantile of a count as a count: the smallest value that at most 2.5% of runs
    exceed (so a loss of k animals or more has a chance above 2.5% exactly when this is at
    least k: the consequence word and the loss table agree), with its Monte Carlo error."""
    return quantile_with_mcse(x, 0.975, method="inverted_cdf")


def group_labels(replicates: pd.DataFrame) -> list[str]:
    """The species (and released groups) counted in a replicate table, sorted."""
    return sorted(c[len("infected_") :] for c in replicates.columns if c.startswith("infected_"))


def summarise(replicates: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario and species (hi95 of counts: :func:`upper_count`).

    Floats are rounded to the tables' 6 significant digits, so the table in memory equals the
    table read back from its TSV.
    """
    rows = []
    labels = group_labels(replicates)
    for scenario, reps in replicates.groupby("scenario", sort=False):
        for label in labels:
            if reps[f"infected_{label}"].notna().any():
                rows.append([scenario, label, *_summary_values(reps, label)])
    out = pd.DataFrame(rows, columns=list(TRANSMISSION_SUMMARY_COLUMNS))
    floats = out.select_dtypes("float").columns
    out[floats] = out[floats].map(lambda v: float(format(v, FLOAT_FORMAT)))
    return out


def _summary_values(reps: pd.DataFrame, label: str) -> list:
    """The summary row of one group in one scenario's replicates, after scenario and species."""
    n = len(reps)
    sets = parameter_sets(reps)
    infected = reps[f"infected_{label}"].dropna().to_numpy(float)
    deaths = reps[f"deaths_{label}"].to_numpy(float)
    first = reps[f"first_case_day_{label}"].dropna().to_numpy(float)
    p_inf = split_uncertainty((reps[f"infected_{label}"] > 0).to_numpy(float), sets)
    p_death = split_uncertainty((deaths > 0).astype(float), sets)
    return [
        n,
        p_inf.parameter_sets,
        int(reps[f"population_{label}"].iloc[0]),
        p_inf.estimate, p_inf.mcse, p_inf.lo95, p_inf.hi95,
        *quantile_with_mcse(infected, 0.5),
        *upper_count(infected),
        *quantile_with_mcse(deaths, 0.5),
        *upper_count(deaths),
        p_death.estimate, p_death.mcse, p_death.lo95, p_death.hi95,
        *quantile_with_mcse(first, 0.5),
        *quantile_with_mcse(_values(reps, f"background_deaths_{label}"), 0.5),
        *quantile_with_mcse(_values(reps, f"births_{label}"), 0.5),
        *main_share(reps, label, "from"),
        *main_share(reps, label, "origin"),
    ]


def parameter_sets(reps: pd.DataFrame) -> np.ndarray:
    """Each replicate's parameter set (its own set in tables without ``parameter_set``)."""
    if "parameter_set" in reps:
        return reps["parameter_set"].to_numpy()
    return np.arange(len(reps))


def _values(reps: pd.DataFrame, column: str) -> np.ndarray:
    """A column's values without missing ones (empty if the table has no such column)."""
    return reps[column].dropna().to_numpy(float) if column in reps else np.zeros(0)


def main_share(reps: pd.DataFrame, label: str, kind: str) -> tuple[object, float]:
    """The source (``kind`` "from") or chain origin (``kind`` "origin") of most infections of
    ``label`` over all replicates, and its share of them; missing if none was infected."""
    prefix = f"infections_{label}_{kind}_"
    totals = reps[[c for c in reps.columns if c.startswith(prefix)]].sum()
    if totals.empty or totals.sum() <= 0:
        return np.nan, np.nan
    return totals.idxmax()[len(prefix) :], float(totals.max() / totals.sum())


def plot_outbreak_sizes(
    replicates: pd.DataFrame, path: str | Path, names: Mapping[str, str]
) -> None:
    """Empirical distribution of the number infected per species, one line per scenario."""
    plt = pyplot()
    labels = group_labels(replicates)
    ncol = 3
    nrow = int(np.ceil(len(labels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax, label in zip(axes.ravel(), labels, strict=False):
        for scenario, reps in replicates.groupby("scenario", sort=False):
            x = np.sort(reps[f"infected_{label}"].dropna().to_numpy(float))
            if x.size:
                ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", label=scenario)
        ax.set_title(species_label(label, names))
        ax.set_xlabel("animals infected within horizon")
        ax.set_ylabel("share of replicates ≤ x")
    for ax in axes.ravel()[len(labels) :]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)


def plot_target_risk(
    summary: pd.DataFrame, path: str | Path, targets: Sequence[str], names: Mapping[str, str]
) -> None:
    """Per target species (one row of panels each): P(any infection) with Monte Carlo bars and
    deaths (median to 97.5% quantile) by scenario."""
    plt = pyplot()
    n_rows = max(len(targets), 1)
    height = 0.5 * summary["scenario"].nunique() + 2.2
    fig, axes = plt.subplots(n_rows, 2, figsize=(11, n_rows * height), squeeze=False)
    for (a1, a2), species in zip(axes, targets, strict=False):
        rows = summary[summary["species"] == species]
        _target_panels(a1, a2, rows, species_label(species, names))
    if not targets:
        axes[0, 0].text(0.5, 0.5, "no target species in config risk.targets", ha="center")
        for ax in axes[0]:
            ax.axis("off")
    fig.tight_layout()
    save_png(fig, path)


def _target_panels(a1, a2, rows: pd.DataFrame, name: str) -> None:
    """Left: P(at least one ``name`` infected) by scenario; right: its deaths."""
    if rows.empty:
        a1.text(0.5, 0.5, f"{name}: not in the transmission model", ha="center")
        a1.axis("off")
        a2.axis("off")
        return
    y = np.arange(len(rows))
    p = rows["p_any_infection"].to_numpy(float)
    lo = rows["p_any_infection_lo95"].fillna(rows["p_any_infection"]).to_numpy(float)
    hi = rows["p_any_infection_hi95"].fillna(rows["p_any_infection"]).to_numpy(float)
    a1.barh(y, p, xerr=[p - lo, hi - p], color="#b5541b", capsize=3)
    a1.set_yticks(y, rows["scenario"])
    a1.set_xlim(0, 1)
    a1.set_xlabel(f"P(at least one {name} infected)\nbar: 95% interval over parameter sets")
    a2.errorbar(
        rows["deaths_median"],
        y,
        xerr=[np.zeros(len(rows)), rows["deaths_hi95"] - rows["deaths_median"]],
        fmt="o",
        color="#333333",
        capsize=3,
    )
    a2.set_yticks(y, [""] * len(rows))
    a2.set_xlabel("deaths: median and 97.5% quantile")
