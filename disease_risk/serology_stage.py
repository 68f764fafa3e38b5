"""The seroprevalence workflow stage: read inputs, fit both models, write tables and figures.

Thin I/O around :mod:`disease_risk.seroprevalence` and :mod:`disease_risk.force_of_infection`.
Tables are written with 6 significant digits in a fixed row order, so the same seed gives
byte-identical summary tables (timings in the diagnostics table naturally vary).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.assay_accuracy import assay_accuracy
from disease_risk.force_of_infection import (
    FoiSettings,
    fit_foi,
    foi_data,
    foi_inference_data,
    foi_ppc,
    summarise_foi,
)
from disease_risk.sampling import SamplerSettings, convergence_table, derive_seed
from disease_risk.serology_plots import foi_plot, forest_plot, ppc_plot, trend_plot
from disease_risk.seroprevalence import (
    DEFAULT_ROLES,
    PrevalencePriors,
    attach_observations,
    fit_prevalence,
    prevalence_data,
    prevalence_ppc,
    summarise_prevalence,
)

log = logging.getLogger(__name__)

DIAGNOSTIC_COLUMNS = (
    "section", "model", "item", "rhat_max", "ess_bulk_min", "ess_tail_min", "divergences",
    "sampler", "seconds", "reliable", "count", "observed", "replicated_median",
    "replicated_lo95", "replicated_hi95", "ppp",
)  # fmt: skip


class UnreliableFitError(RuntimeError):
    """Raised when diagnostics fail and ``fail_on_unreliable`` is set."""


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Tab-separated, UTF-8, floats to 6 significant digits, empty cells for missing values."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = [("" if pd.isna(v) else f"{v:.6g}") for v in out[column]]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep="\t", index=False, lineterminator="\n", encoding="utf-8")


def _selection(section: Mapping[str, Any]) -> tuple[list[str], list[str], bool]:
    return (
        list(section.get("species") or []),
        list(section.get("species_roles", DEFAULT_ROLES)),
        bool(section.get("exclude_vaccinated", True)),
    )


def diagnostics_frame(parts: Sequence[pd.DataFrame | list[dict[str, Any]]]) -> pd.DataFrame:
    frames = [p if isinstance(p, pd.DataFrame) else pd.DataFrame(p) for p in parts]
    table = pd.concat([f for f in frames if len(f)], ignore_index=True)
    for column in DIAGNOSTIC_COLUMNS:
        if column not in table:
            table[column] = pd.NA
    for column in ("divergences", "count", "observed"):
        table[column] = table[column].astype("Int64")
    return table[list(DIAGNOSTIC_COLUMNS)]


def _check_reliable(diagnostics: pd.DataFrame, model: str, fail: bool) -> None:
    bad = diagnostics[(diagnostics["section"] == "sampling") & (diagnostics["reliable"] == "no")]
    if bad.empty:
        log.info("%s: all diagnostics pass", model)
        return
    text = bad[["item", "rhat_max", "ess_bulk_min", "divergences"]].to_string(index=False)
    message = (
        f"{model} fit is unreliable (R-hat > threshold, bulk ESS too low or divergences):\n"
        f"{text}\nIncrease seroprevalence.draws/tune or target_accept in config/config.yaml, "
        "or set seroprevalence.fail_on_unreliable: false to only flag it in the report."
    )
    if fail:
        raise UnreliableFitError(message)
    log.warning(message)


def prevalence_stage(
    samples: pd.DataFrame,
    assays: Any,
    section: Mapping[str, Any],
    seed: int,
    outputs: Mapping[str, str],
    threads: int = 1,
) -> pd.DataFrame:
    """Fit the hierarchical model; write idata, summary, diagnostics part and two figures.

    ``outputs`` keys: idata, summary, diagnostics, forest, trend.
    """
    data = prevalence_data(samples, *_selection(section))
    settings = SamplerSettings.from_config(section, threads)
    priors = PrevalencePriors.from_config(section.get("prevalence", {}))
    log.info(
        "prevalence model: %d groups, %d cells, %d tests",
        len(data.groups),
        len(data.cells),
        int(data.cells["n_tested"].sum()),
    )
    fit = fit_prevalence(
        data,
        assay_accuracy(assays),
        priors,
        settings,
        derive_seed(seed, "seroprevalence", "prevalence"),
    )
    ppc, replicated = prevalence_ppc(fit, data, derive_seed(seed, "seroprevalence", "ppc"))
    summary = summarise_prevalence(fit, data)
    diagnostics = diagnostics_frame(
        [convergence_table(fit, settings, "prevalence"), data.exclusions, ppc]
    )
    attach_observations(fit, data, replicated).to_netcdf(outputs["idata"])
    write_table(summary, outputs["summary"])
    write_table(diagnostics, outputs["diagnostics"])
    forest_plot(summary, outputs["forest"])
    trend_plot(summary, outputs["trend"])
    _check_reliable(diagnostics, "prevalence", bool(section.get("fail_on_unreliable", True)))
    return summary


def foi_stage(
    samples: pd.DataFrame,
    assays: Any,
    section: Mapping[str, Any],
    seed: int,
    outputs: Mapping[str, str],
    threads: int = 1,
) -> pd.DataFrame:
    """Fit the catalytic model; write foi_idata, FOI table, diagnostics part and the figure.

    ``outputs`` keys: idata, table, diagnostics, plot.
    """
    foi_settings = FoiSettings.from_config(section.get("force_of_infection", {}))
    data = foi_data(samples, foi_settings, *_selection(section))
    settings = SamplerSettings.from_config(section, threads)
    log.info(
        "force-of-infection model (%s): %d animals in %d cells (%s-month grid), %d calendar years",
        foi_settings.mode,
        len(data.animals),
        len(data.cells),
        foi_settings.time_resolution_months or "exact",
        len(data.years),
    )
    fit = fit_foi(
        data,
        assay_accuracy(assays),
        foi_settings,
        settings,
        derive_seed(seed, "seroprevalence", "force_of_infection"),
    )
    table = summarise_foi(fit, data)
    ppc = foi_ppc(fit, data, derive_seed(seed, "seroprevalence", "foi_ppc"))
    diagnostics = diagnostics_frame(
        [convergence_table(fit, settings, "force_of_infection"), data.exclusions, ppc]
    )
    foi_inference_data(fit).to_netcdf(outputs["idata"])
    write_table(table, outputs["table"])
    write_table(diagnostics, outputs["diagnostics"])
    foi_plot(table, outputs["plot"])
    _check_reliable(
        diagnostics, "force_of_infection", bool(section.get("fail_on_unreliable", True))
    )
    return table


def combine_diagnostics(parts: Sequence[str | Path], table: str | Path, plot: str | Path) -> None:
    """Merge the two models' diagnostics, add an overall status row and draw the PPC figure."""
    frames = [
        pd.read_csv(p, sep="\t", dtype={"item": str}, keep_default_na=False, na_values=[""])
        for p in parts
    ]
    merged = pd.concat(frames, ignore_index=True)
    sampling = merged[merged["section"] == "sampling"]
    ok = bool((sampling["reliable"] == "yes").all())
    status = pd.DataFrame(
        [
            {
                "section": "status",
                "model": "all",
                "item": "overall",
                "reliable": "yes" if ok else "no",
            }
        ]
    )
    out = diagnostics_frame([merged, status])
    write_table(out, table)
    ppc_plot(out[out["section"] == "ppc"], plot)
