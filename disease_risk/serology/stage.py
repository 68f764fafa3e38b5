"""Entry points of the serology stage: rules ``seroprevalence``, ``force_of_infection`` and
``serology_diagnostics`` (the transmission pathogen, ``serology.pathogen``), ``hazard_serology``
(one job per other pathogen with an assay: the same models on its rows) and
``hazard_serology_summary`` (every pathogen's species-level true prevalence in one table).

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
from disease_risk.seeds import pathogen_seed, stream_seed
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
    exclusion_row,
    fit_prevalence,
    prevalence_data,
    prevalence_ppc,
    select_results,
    summarise_prevalence,
)
from disease_risk.serology.sampling import (
    SamplerSettings,
    convergence_table,
    write_inference_data,
)
from disease_risk.tables import (
    DIAGNOSTIC_COLUMNS,
    FOI_COLUMNS,
    FOI_TIME_GRID_ITEM,
    HAZARD_SEROLOGY_COLUMNS,
    PREVALENCE_COLUMNS,
    read_samples,
    read_table,
    write_table,
)

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


Seeds = Mapping[str, int]  # model part (prevalence, ppc, force_of_infection, foi_ppc) -> seed
DEFAULT_PATHOGEN = "cdv"


def cdv_seeds(seed: int) -> Seeds:
    """The transmission pathogen's streams, ``seroprevalence/<part>``."""
    return {
        "prevalence": stream_seed(seed, "seroprevalence/prevalence"),
        "ppc": stream_seed(seed, "seroprevalence/ppc"),
        "force_of_infection": stream_seed(seed, "seroprevalence/force_of_infection"),
        "foi_ppc": stream_seed(seed, "seroprevalence/foi_ppc"),
    }


def hazard_seeds(seed: int, pathogen: str) -> Seeds:
    """Another pathogen's streams: ``hazards/<part>`` split by the pathogen's name."""
    return {
        "prevalence": pathogen_seed(stream_seed(seed, "hazards/prevalence"), pathogen),
        "ppc": pathogen_seed(stream_seed(seed, "hazards/ppc"), pathogen),
        "force_of_infection": pathogen_seed(
            stream_seed(seed, "hazards/force_of_infection"), pathogen
        ),
        "foi_ppc": pathogen_seed(stream_seed(seed, "hazards/foi_ppc"), pathogen),
    }


def pathogen_rows(
    samples: pd.DataFrame, pathogen: str, model: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The rows of one pathogen, and the others counted by pathogen (every row of samples.tsv
    stays in the model's counts: used, or left out with the reason)."""
    if "pathogen" not in samples:
        raise ValueError("samples.tsv has no pathogen column; rerun the intake")
    mine = samples["pathogen"].astype(str) == pathogen
    others = [
        exclusion_row(model, f"other pathogen: {other}", n)
        for other, n in samples.loc[~mine].groupby("pathogen").size().items()
    ]
    return samples.loc[mine], others


def prevalence_stage(
    samples: pd.DataFrame,
    assays: Any,
    section: Mapping[str, Any],
    seed: int,
    outputs: Mapping[str, str],
    threads: int = 1,
    labels: Mapping[str, str] | None = None,
    pathogen: str | None = None,
    seeds: Seeds | None = None,
) -> pd.DataFrame:
    """Fit the hierarchical model to one pathogen's rows; write summary and diagnostics part,
    and the idata and two figures when ``outputs`` names them.

    ``outputs`` keys: summary, diagnostics, optionally idata, forest, trend; ``labels``: species
    names for the figures (registry common names); ``pathogen``: default ``serology.pathogen``;
    ``seeds``: default the ``seroprevalence/*`` streams.
    """
    pathogen = pathogen or section.get("pathogen", DEFAULT_PATHOGEN)
    seeds = seeds or cdv_seeds(seed)
    rows, other_pathogens = pathogen_rows(samples, pathogen, "prevalence")
    data = prevalence_data(rows, *_selection(section))
    settings = SamplerSettings.from_config(section, threads).for_model(
        section.get("prevalence", {})
    )
    priors = PrevalencePriors.from_config(section.get("prevalence", {}))
    log.info(
        "prevalence model (%s): %d groups, %d cells, %d tests",
        pathogen,
        len(data.groups),
        len(data.cells),
        int(data.cells["n_tested"].sum()),
    )
    fit = fit_prevalence(
        data, assay_accuracy(assays), priors, settings, seeds["prevalence"]
    )
    ppc, replicated = prevalence_ppc(fit, data, seeds["ppc"])
    summary = summarise_prevalence(fit, data)
    diagnostics = diagnostics_frame(
        [convergence_table(fit, settings, "prevalence"), other_pathogens + data.exclusions, ppc]
    )
    if "idata" in outputs:
        write_inference_data(attach_observations(fit, data, replicated), outputs["idata"])
    write_table(summary, outputs["summary"])
    write_table(diagnostics, outputs["diagnostics"])
    if "forest" in outputs:
        forest_plot(summary, outputs["forest"], labels)
    if "trend" in outputs:
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
    pathogen: str | None = None,
    seeds: Seeds | None = None,
) -> pd.DataFrame:
    """Fit the catalytic model to one pathogen's rows; write the FOI table and diagnostics part,
    and the idata and figure when ``outputs`` names them.

    ``outputs`` keys: table, diagnostics, optionally idata, plot; ``pathogen`` and ``seeds`` as
    in :func:`prevalence_stage`.
    """
    pathogen = pathogen or section.get("pathogen", DEFAULT_PATHOGEN)
    seeds = seeds or cdv_seeds(seed)
    rows, other_pathogens = pathogen_rows(samples, pathogen, "force_of_infection")
    foi_settings = FoiSettings.from_config(section.get("force_of_infection", {}))
    data = foi_data(rows, foi_settings, *_selection(section))
    settings = SamplerSettings.from_config(section, threads).for_model(
        section.get("force_of_infection", {})
    )
    log.info(
        "force-of-infection model (%s, %s): %d animals in %d cells (%s-month grid), "
        "%d calendar years",
        pathogen,
        foi_settings.mode,
        len(data.animals),
        len(data.cells),
        data.time_resolution_months or "exact",
        len(data.years),
    )
    if data.time_resolution_months != foi_settings.time_resolution_months:
        log.info(
            "cells on the %s-month grid: more than max_cells (%d) on the finer grids",
            data.time_resolution_months,
            foi_settings.max_cells,
        )
    if foi_settings.piecewise:
        log.info(
            "force-of-infection options: seroreversion %s, age bands %s",
            foi_settings.seroreversion.family if foi_settings.seroreversion else "off",
            foi_settings.age_breaks or "off",
        )
    fit = fit_foi(
        data, assay_accuracy(assays), foi_settings, settings, seeds["force_of_infection"]
    )
    table = summarise_foi(fit, data)
    ppc = foi_ppc(fit, data, seeds["foi_ppc"], foi_settings)
    options = summarise_options(fit)
    if len(options):
        log.info("force-of-infection options, posterior:\n%s", options.to_string(index=False))
    diagnostics = diagnostics_frame(
        [
            convergence_table(fit, settings, "force_of_infection"),
            other_pathogens + data.exclusions,
            [time_grid_row(data.time_resolution_months, foi_settings)],
            ppc,
        ]
    )
    if "idata" in outputs:
        write_inference_data(foi_inference_data(fit, foi_settings), outputs["idata"])
    write_table(table, outputs["table"])
    write_table(diagnostics, outputs["diagnostics"])
    if "plot" in outputs:
        foi_plot(table, outputs["plot"], labels)
    _check_reliable(
        diagnostics, "force_of_infection", bool(section.get("fail_on_unreliable", True))
    )
    return table


def time_grid_row(months: int, settings: FoiSettings) -> dict[str, Any]:
    """Diagnostics row (section ``settings``) of the time grid the FOI cells are on: ``count``
    the grid used, ``observed`` the configured one (they differ when ``max_cells`` made it
    coarser; the DRA's assumptions register then says so)."""
    return {
        "section": "settings",
        "model": "force_of_infection",
        "item": FOI_TIME_GRID_ITEM,
        "count": months,
        "observed": settings.time_resolution_months,
    }


def not_fitted_reason(
    samples: pd.DataFrame, pathogen: str, section: Mapping[str, Any], ages: bool = False
) -> str:
    """Why a pathogen's rows cannot be fitted ("" when they can): no usable results of the
    modelled species, or (``ages``) none with an age or birth year."""
    rows, _ = pathogen_rows(samples, pathogen, "prevalence")
    used, _ = select_results(rows, "prevalence", *_selection(section))
    if used.empty:
        return (
            f"no positive/negative results of {pathogen} in the modelled species "
            f"({len(rows)} row(s) of {pathogen} in samples.tsv; serology.species / "
            "species_roles choose the species)"
        )
    if ages and not (used["age_years"].notna() | used["birth_year"].notna()).any():
        return (
            f"no {pathogen} result of the modelled species has age_years or birth_year, so "
            "there is no force of infection to estimate"
        )
    return ""


def _not_fitted(model: str, reason: str, columns: Sequence[str], table: str,
                diagnostics: str) -> pd.DataFrame:
    """An empty result table and a diagnostics part whose status row states the reason."""
    log.warning("%s not fitted: %s", model, reason)
    write_table(pd.DataFrame(columns=list(columns)), table)
    status = [{"section": "status", "model": model, "item": f"not fitted: {reason}"}]
    write_table(diagnostics_frame([status]), diagnostics)
    return pd.DataFrame(columns=list(columns))


def hazard_serology_stage(
    samples: pd.DataFrame,
    assays: Any,
    section: Mapping[str, Any],
    seed: int,
    outputs: Mapping[str, str],
    pathogen: str,
    threads: int = 1,
) -> pd.DataFrame:
    """One pathogen other than the transmission one: its true prevalence and, where its rows
    have ages, its force of infection, with the models and settings of the CDV fits and the
    pathogen's own random streams. A model without data writes empty tables with the reason.

    ``outputs`` keys: prevalence, prevalence_diagnostics, foi, foi_diagnostics.
    """
    seeds = hazard_seeds(seed, pathogen)
    reason = not_fitted_reason(samples, pathogen, section)
    if reason:
        summary = _not_fitted("prevalence", reason, PREVALENCE_COLUMNS, outputs["prevalence"],
                              outputs["prevalence_diagnostics"])
    else:
        summary = prevalence_stage(
            samples, assays, section, seed,
            {"summary": outputs["prevalence"], "diagnostics": outputs["prevalence_diagnostics"]},
            threads, pathogen=pathogen, seeds=seeds,
        )
    reason = not_fitted_reason(samples, pathogen, section, ages=True)
    if reason:
        _not_fitted("force_of_infection", reason, FOI_COLUMNS, outputs["foi"],
                    outputs["foi_diagnostics"])
    else:
        foi_stage(
            samples, assays, section, seed,
            {"table": outputs["foi"], "diagnostics": outputs["foi_diagnostics"]},
            threads, pathogen=pathogen, seeds=seeds,
        )
    return summary


def pathogen_serology(
    pathogen: str, prevalence: pd.DataFrame, diagnostics: pd.DataFrame
) -> pd.DataFrame:
    """One pathogen's species-level true prevalence (``site`` and ``year`` = all) with whether
    its fit passed; a pathogen without a fit gets one row whose note says why."""
    sampling = diagnostics[diagnostics["section"] == "sampling"]
    status = diagnostics[diagnostics["section"] == "status"]
    species = prevalence[(prevalence["site"].astype(str) == "all")
                         & (prevalence["year"].astype(str) == "all")]
    if species.empty:
        note = "; ".join(status["item"].astype(str)) or "no prevalence fitted"
        return pd.DataFrame([{"pathogen": pathogen, "species": "", "n_tested": 0,
                              "n_positive": 0, "fit_reliable": "", "note": note}],
                            columns=list(HAZARD_SEROLOGY_COLUMNS))
    reliable = "yes" if len(sampling) and (sampling["reliable"] == "yes").all() else "no"
    table = species.assign(pathogen=pathogen, fit_reliable=reliable, note="")
    return table[list(HAZARD_SEROLOGY_COLUMNS)].reset_index(drop=True)


def hazard_serology_table(
    parts: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]
) -> pd.DataFrame:
    """Every pathogen's species rows (pathogen -> (prevalence summary, its diagnostics)), sorted
    by pathogen then species."""
    frames = [pathogen_serology(p, prev, diag) for p, (prev, diag) in sorted(parts.items())]
    table = pd.concat(frames, ignore_index=True)
    for column in ("n_tested", "n_positive"):
        table[column] = table[column].astype("Int64")
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
    """Inputs samples, assays, species, hazards; params section, seed, threads."""
    return fit(
        samples=read_samples(inputs["samples"]),
        assays=load_assays(inputs["assays"], inputs.get("hazards")),
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


def hazard_serology(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``hazard_serology`` (wildcard ``pathogen``): see :func:`hazard_serology_stage`.

    ``inputs``: samples, assays, hazards; ``params``: section, seed, pathogen, threads.
    """
    return hazard_serology_stage(
        samples=read_samples(inputs["samples"]),
        assays=load_assays(inputs["assays"], inputs.get("hazards")),
        section=params["section"],
        seed=params["seed"],
        outputs=outputs,
        pathogen=str(params["pathogen"]),
        threads=params.get("threads", 1),
    )


def hazard_serology_summary(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``hazard_serology_summary``: every pathogen's species-level true prevalence.

    ``inputs``: prevalence and diagnostics (the transmission pathogen's summary and prevalence
    diagnostics), hazard_prevalence and hazard_diagnostics (one file each per other pathogen,
    in the order of ``params["pathogens"]``); ``params``: pathogen (``serology.pathogen``),
    pathogens; ``outputs``: table.
    """
    def read(path: str) -> pd.DataFrame:
        return read_table(path, text_columns=["species", "site", "year", "section", "model",
                                              "item", "reliable", "sampler"])

    parts = {str(params["pathogen"]): (read(inputs["prevalence"]), read(inputs["diagnostics"]))}
    for pathogen, prevalence, diagnostics in zip(
        params["pathogens"], inputs["hazard_prevalence"], inputs["hazard_diagnostics"],
        strict=True,
    ):
        parts[str(pathogen)] = (read(prevalence), read(diagnostics))
    table = hazard_serology_table(parts)
    write_table(table, outputs["table"])
    return table
