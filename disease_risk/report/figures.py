"""The report's own figures, drawn from this run's tables as PNG bytes.

Seroprevalence by species and by year, force of infection, and the scenario comparison (one
panel per target species of ``risk.targets``). Species are labelled with their common names; a
figure whose data are missing says so instead of disappearing.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from disease_risk.figures import png_bytes, pyplot
from disease_risk.report.data import ReportData, SpeciesNames
from disease_risk.report.study_map import study_map_png
from disease_risk.risk.scales import RiskSettings

REPORT_FIGURES = (
    "study_map", "seroprevalence_by_species", "seroprevalence_by_year", "force_of_infection",
    "scenario_comparison",
)


def make_figures(data: ReportData, settings: RiskSettings) -> dict[str, bytes]:
    """The report's own PNG figures (names in ``REPORT_FIGURES``), drawn from the tables."""
    figures: dict[str, bytes] = {}
    if data.study_map is not None:
        figures["study_map"] = study_map_png(data.study_map)
    prevalence = data.prevalence if data.prevalence is not None else pd.DataFrame()
    if not prevalence.empty:
        figures["seroprevalence_by_species"] = _forest(prevalence, data.names)
        by_year = prevalence[
            (prevalence["site"].astype(str) == "all") & (prevalence["year"].astype(str) != "all")
        ]
        if not by_year.empty:
            figures["seroprevalence_by_year"] = _trend(
                by_year, "year", "true_prevalence", "true prevalence", data.names
            )
    if data.foi is not None and not data.foi.empty:
        figures["force_of_infection"] = _foi_figure(data.foi, data.names)
    if not data.management.empty:
        figures["scenario_comparison"] = _scenarios(data.management, settings, data.names,
                                                    data.scenario)
    for name in REPORT_FIGURES:
        if name not in figures:
            figures[name] = _no_data(name)
    return figures


def _no_data(name: str) -> bytes:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{name.replace('_', ' ')}: no data in this run", ha="center", va="center")
    return _png(fig)


def _png(fig) -> bytes:
    """The figure as PNG bytes without a software stamp (closed afterwards)."""
    return png_bytes(fig, bbox_inches="tight")


def _forest(prevalence: pd.DataFrame, names: SpeciesNames) -> bytes:
    """True prevalence per species (all sites and years), median and 95% interval."""
    plt = pyplot()

    rows = prevalence[
        (prevalence["site"].astype(str) == "all") & (prevalence["year"].astype(str) == "all")
    ].sort_values("true_prevalence_median")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    y = range(len(rows))
    ax.errorbar(
        rows["true_prevalence_median"], y,
        xerr=[rows["true_prevalence_median"] - rows["true_prevalence_lo95"],
              rows["true_prevalence_hi95"] - rows["true_prevalence_median"]],
        fmt="o", color="#1f4e79", capsize=3,
    )
    ax.set_yticks(list(y), [f"{names(s)} (n={int(n)})" for s, n in zip(
        rows["species"], rows["n_tested"], strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of animals that met CDV (true prevalence, median and 95% interval)")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _trend(table: pd.DataFrame, x: str, stem: str, ylabel: str, names: SpeciesNames) -> bytes:
    """``<stem>_median`` with its 95% band against ``x``, one line per species."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for species, g in table.groupby("species", sort=True):
        g = g.assign(_x=pd.to_numeric(g[x], errors="coerce")).dropna(subset=["_x"])
        g = g.sort_values("_x")
        ax.plot(g["_x"], g[f"{stem}_median"], marker="o", label=names(species))
        ax.fill_between(g["_x"], g[f"{stem}_lo95"], g[f"{stem}_hi95"], alpha=0.15)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    return _png(fig)


def _foi_figure(foi: pd.DataFrame, names: SpeciesNames) -> bytes:
    """Force of infection by year when estimated by year, else per species."""
    plt = pyplot()

    yearly = foi[foi["year"].astype(str) != "constant"]
    if not yearly.empty and yearly["year"].nunique() > 1:
        return _trend(yearly, "year", "foi", "force of infection (per animal per year)", names)
    rows = foi.sort_values("foi_median")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    y = range(len(rows))
    ax.errorbar(
        rows["foi_median"], y,
        xerr=[rows["foi_median"] - rows["foi_lo95"], rows["foi_hi95"] - rows["foi_median"]],
        fmt="o", color="#7a2e0e", capsize=3,
    )
    ax.set_yticks(list(y), [names(s) for s in rows["species"]])
    ax.set_xlabel("force of infection (new infections per animal per year; median, 95% interval)")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _scenarios(management: pd.DataFrame, settings: RiskSettings, names: SpeciesNames,
               label: Callable[[str], str] = str) -> bytes:
    """Chance of any infection by scenario, one panel per target species (baseline grey),
    scenarios by their readable names (``label``)."""
    import textwrap

    plt = pyplot()

    targets = [t for t in settings.targets if t in set(management["target_species"])]
    fig, axes = plt.subplots(1, len(targets), figsize=(6 * len(targets), 4.2), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        rows = management[management["target_species"] == target].sort_values("scenario")
        y = range(len(rows))
        colors = ["#888888" if s == settings.baseline_scenario else "#1f4e79"
                  for s in rows["scenario"]]
        ax.barh(list(y), rows["p_any_infection"], color=colors)
        ax.errorbar(
            rows["p_any_infection"], list(y),
            xerr=[rows["p_any_infection"] - rows["p_any_infection_lo95"],
                  rows["p_any_infection_hi95"] - rows["p_any_infection"]],
            fmt="none", ecolor="black", capsize=3,
        )
        ax.set_yticks(list(y), [textwrap.fill(label(s), 30) for s in rows["scenario"]])
        ax.set_xlim(0, 1)
        ax.set_title(names(target))
        ax.set_xlabel("chance of any infection (95% interval)")
    fig.tight_layout()
    return _png(fig)
