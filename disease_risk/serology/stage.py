"""Entry points of the serology stage: rules ``seroprevalence``, ``force_of_infection`` and
``serology_diagnostics``.

Thin I/O around :mod:`disease_risk.serology.prevalence` and
:mod:`disease_risk.serology.force_of_infection`. Tables go through :mod:`disease_risk.tables` in a
fixed row order, so the same seed gives byte-identical tables (sampler timings in the diagnostics
naturally vary).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.intake.registry import load_assays, load_species_registry
from disease_risk.seeds import stream_seed
from disease_risk.serology.accuracy import assay_accuracy
from disease_risk.serology.force_of_infection import (
    FoiSettings,
    fit_foi,
    foi_data,
    foi_inference_data,
    foi_ppc,
    summarise_foi,
    summarise_options,
)
from disease_risk.serology.plots import foi_plot, forest_plot, ppc_plot, trend_plot
from disease_risk.serology.prevalence import (
    DEFAULT_ROLES,
    PrevalencePriors,
    attach_observations,
    fit_prevalence,
    prevalence_data,
    prevalence_ppc,
    summarise_prevalence,
)
from disease_risk.serology.sampling import SamplerSettings, convergence_table
from disease_risk.tables import DIAGNOSTIC_COLUMNS, read_samples, read_table, write_table

log = logging.getLogger(__name__)

class UnreliableFitError(RuntimeError):
    """Raised when diagnostics fail and ``fail_on_unreliable`` is set."""


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
        f"{text}\nIncrease serology.draws/tune or target_accept in config/config.yaml, "
        "or set serology.fail_on_unreliable: false to only flag it in the report."
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
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Fit the hierarchical model; write idata, summary, diagnostics part and two figures.

    ``outputs`` keys: idata, summary, diagnostics, forest, trend; ``labels``: species names
    for the figures (registry common names).
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
        stream_seed(seed, "seroprevalence/prevalence"),
    )
    ppc, replicated = prevalence_ppc(fit, data, stream_seed(seed, "seroprevalence/ppc"))
    summary = summarise_prevalence(fit, data)
    diagnostics = diagnostics_frame(
        [convergence_table(fit, settings, "prevalence"), data.exclusions, ppc]
    )
    attach_observations(fit, data, replicated).to_netcdf(outputs["idata"])
    write_table(summary, outputs["summary"])
    write_table(diagnostics, outputs["diagnostics"])
    forest_plot(summary, outputs["forest"], labels)
    trend_plot(summary, outputs["trend"], labels)
    _check_reliable(diagnostics, "prevalence", bool(section.get("fail_on_unreliable", True)))
    return summary


def foi_stage(
    samples: pd.DataFrame,
    assays: Any,
    section: Mapping[str, Any],
    seed: int,
    outputs: Mapping[str, str],
    threads: int = 1,
    labels: Mapping[str, str] | None = None,
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
    if foi_settings.piecewise:
        log.info(
            "force-of-infection options: seroreversion %s, age bands %s",
            foi_settings.seroreversion.family if foi_settings.seroreversion else "off",
            foi_settings.age_breaks or "off",
        )
    fit = fit_foi(
        data,
        assay_accuracy(assays),
        foi_settings,
        settings,
        stream_seed(seed, "seroprevalence/force_of_infection"),
    )
    table = summarise_foi(fit, data)
    ppc = foi_ppc(fit, data, stream_seed(seed, "seroprevalence/foi_ppc"), foi_settings)
    options = summarise_options(fit)
    if len(options):
        log.info("force-of-infection options, posterior:\n%s", options.to_string(index=False))
    diagnostics = diagnostics_frame(
        [convergence_table(fit, settings, "force_of_infection"), data.exclusions, ppc]
    )
    foi_inference_data(fit, foi_settings).to_netcdf(outputs["idata"])
    write_table(table, outputs["table"])
    write_table(diagnostics, outputs["diagnostics"])
    foi_plot(table, outputs["plot"], labels)
    _check_reliable(
        diagnostics, "force_of_infection", bool(section.get("fail_on_unreliable", True))
    )
    return table


def combine_diagnostics(parts: Sequence[str | Path], table: str | Path, plot: str | Path) -> None:
    """Merge the two models' diagnostics, add an overall status row and draw the PPC figure."""
    frames = [
read_table(p, text_columns=["item"]) for p in parts
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


def _fit_rule(
    fit: Any, inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Inputs samples, assays, species; params section, seed, threads."""
    return fit(
        samples=read_samples(inputs["samples"]),
        assays=load_assays(inputs["assays"]),
        section=params["section"],
        seed=params["seed"],
        outputs=outputs,
        threads=params.get("threads", 1),
        labels=load_species_registry(inputs["species"]).labels(),
    )


def seroprevalence(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``seroprevalence``: the true-prevalence fit (see :func:`prevalence_stage`)."""
    return _fit_rule(prevalence_stage, inputs, outputs, params)


def force_of_infection(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``force_of_infection``: the catalytic-model fit (see :func:`foi_stage`)."""
    return _fit_rule(foi_stage, inputs, outputs, params)


def serology_diagnostics(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> None:
    """Rule ``serology_diagnostics``: both models' diagnostics -> one table and the PPC figure."""
    combine_diagnostics(
        [inputs["prevalence"], inputs["force_of_infection"]], outputs["table"], outputs["ppc"]
    )
