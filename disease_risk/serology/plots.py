"""Figures for the vets: prevalence forest plot, prevalence by year, FOI by year, PPC."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from disease_risk.figures import pyplot, save_png

plt = pyplot()


def _save(fig: plt.Figure, path: str | Path) -> None:
    save_png(fig, path, bbox_inches="tight")


def _grid(n: int) -> tuple[plt.Figure, np.ndarray]:
    cols = min(3, max(1, n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def forest_plot(
    summary: pd.DataFrame, path: str | Path, labels: Mapping[str, str] | None = None
) -> None:
    """True prevalence (median, 95% interval) per species and site, all years pooled."""
    names = labels or {}
    rows = summary[(summary["year"] == "all")].iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(rows) + 1.2))
    y = np.arange(len(rows))
    overall = (rows["site"] == "all").to_numpy()
    med = rows["true_prevalence_median"].to_numpy()
    err = [med - rows["true_prevalence_lo95"], rows["true_prevalence_hi95"] - med]
    ax.errorbar(med, y, xerr=err, fmt="none", ecolor="0.4", elinewidth=1)
    ax.scatter(med[~overall], y[~overall], color="tab:blue", zorder=3, label="true (site)")
    ax.scatter(
        med[overall],
        y[overall],
        color="black",
        marker="D",
        zorder=3,
        label="true (species, all sites)",
    )
    ax.scatter(
        rows["apparent_prevalence"],
        y,
        facecolors="none",
        edgecolors="tab:red",
        zorder=3,
        label="apparent (raw)",
    )
    labels = [
        f"{names.get(s, s)} — {t} (n={n})" if t != "all"
        else f"{names.get(s, s)} — ALL SITES (n={n})"
        for s, t, n in rows[["species", "site", "n_tested"]].itertuples(index=False)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("CDV seroprevalence (posterior median, 95% interval)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def trend_plot(
    summary: pd.DataFrame, path: str | Path, labels: Mapping[str, str] | None = None
) -> None:
    """True prevalence by year per species (all sites pooled), raw proportions as dots."""
    rows = summary[(summary["site"] == "all") & (summary["year"] != "all")]
    species = sorted(rows["species"].unique())
    fig, axes = _grid(len(species))
    for ax, sp in zip(axes, species, strict=False):
        r = rows[rows["species"] == sp].assign(year=lambda d: d["year"].astype(int))
        r = r.sort_values("year")
        ax.fill_between(
            r["year"],
            r["true_prevalence_lo95"],
            r["true_prevalence_hi95"],
            alpha=0.3,
            color="tab:blue",
        )
        ax.plot(r["year"], r["true_prevalence_median"], color="tab:blue")
        ax.scatter(
            r["year"],
            r["apparent_prevalence"],
            s=8 + 2 * np.sqrt(r["n_tested"]),
            facecolors="none",
            edgecolors="tab:red",
        )
        ax.set_title((labels or {}).get(sp, sp), fontsize=9)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    fig.supxlabel("year")
    fig.supylabel("true seroprevalence (line, 95% band); raw (circles)")
    _save(fig, path)


def foi_plot(
    foi: pd.DataFrame, path: str | Path, labels: Mapping[str, str] | None = None
) -> None:
    """Annual force of infection per species, by calendar year or constant."""
    species = sorted(foi["species"].unique())
    fig, axes = _grid(len(species))
    for ax, sp in zip(axes, species, strict=False):
        r = foi[foi["species"] == sp]
        if (r["year"] == "constant").all():
            med = r["foi_median"].to_numpy()
            ax.errorbar([0], med, yerr=[med - r["foi_lo95"], r["foi_hi95"] - med], fmt="o")
            ax.set_xticks([0], ["constant"])
        else:
            years = r["year"].astype(int)
            ax.fill_between(years, r["foi_lo95"], r["foi_hi95"], alpha=0.3, color="tab:green")
            ax.plot(years, r["foi_median"], color="tab:green")
        ax.set_title((labels or {}).get(sp, sp), fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
    fig.supxlabel("year")
    fig.supylabel("force of infection per animal per year")
    _save(fig, path)


def ppc_plot(ppc: pd.DataFrame, path: str | Path) -> None:
    """Observed positives against their 95% posterior predictive intervals."""
    models = list(dict.fromkeys(ppc["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4.5), squeeze=False)
    for ax, model in zip(axes.flat, models, strict=True):
        r = ppc[ppc["model"] == model]
        inside = r["reliable"] == "yes"
        ax.errorbar(
            r["replicated_median"],
            r["observed"],
            xerr=[
                r["replicated_median"] - r["replicated_lo95"],
                r["replicated_hi95"] - r["replicated_median"],
            ],
            fmt="none",
            ecolor="0.7",
            elinewidth=0.8,
        )
        ax.scatter(
            r.loc[inside, "replicated_median"],
            r.loc[inside, "observed"],
            s=10,
            label="inside 95% interval",
        )
        ax.scatter(
            r.loc[~inside, "replicated_median"],
            r.loc[~inside, "observed"],
            s=14,
            color="tab:red",
            label="outside",
        )
        top = float(max(r["observed"].max(), r["replicated_hi95"].max(), 1))
        ax.plot([0, top], [0, top], color="0.5", lw=0.8)
        ax.set_xlabel("replicated positives (median, 95%)")
        ax.set_ylabel("observed positives")
        ax.set_title(f"{model}: {int((~inside).sum())}/{len(r)} outside", fontsize=9)
        ax.legend(fontsize=7)
    _save(fig, path)
