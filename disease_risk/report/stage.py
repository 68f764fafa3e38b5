"""Entry points of the report stage: rules ``provenance`` and ``report_html``.

``provenance`` records the run (input checksums, config, packages, code version, run date) in
``results/provenance/``; ``report_html`` reads that record, the risk stage's tables and
conclusions and the upstream results and writes the self-contained HTML report, its figures and
the same report as PDF (A4, for print and e-mail).
The only modules of :mod:`disease_risk.report` that touch files are this one and the
provenance record's reader and writer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.intake.registry import load_species_registry
from disease_risk.report.data import ReportData, SpeciesNames
from disease_risk.report.dra import load_dra, placeholder_hazards, scenario_labels
from disease_risk.report.figures import make_figures
from disease_risk.report.html import render_report
from disease_risk.report.pdf import cut_table_cells, layout_report, pdf_bytes
from disease_risk.report.provenance import collect_provenance, read_provenance, write_provenance
from disease_risk.report.study_map import MapLayers, release_sites, study_map_layers
from disease_risk.risk.hazards import load_hazards
from disease_risk.risk.scales import RiskSettings
from disease_risk.tables import CONCLUSION_TEXT_COLUMNS, read_samples, read_table
from disease_risk.transmission.network_files import load_network_config

log = logging.getLogger(__name__)

RISK_TABLES = ("hazards", "estimation", "management")  # with conclusions: the risk stage's
EVIDENCE_TABLES = (
    "prevalence", "foi", "diagnostics", "lineages", "network", "transmission",
    "calibration_fit", "calibration_parameters", "sensitivity", "assumptions", "surveillance",
    "management_long_horizon", "losses", "passive_surveillance", "camera_trap_densities",
)  # fmt: skip
EXTRA_FIGURES = {  # figure name in the report -> rule input of an upstream PNG
    "tree": "tree",
    "transmission_outbreak_sizes": "outbreak_sizes",
    "transmission_target_risk": "target_risk",
    "ppc_posterior_predictive": "posterior_predictive",
    "calibration_foi_fit": "calibration_figure",
    "sensitivity_tornado": "sensitivity_tornado",
}


def provenance(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> list[Path]:
    """Write the provenance record.

    ``inputs``: files (every input the config names, and the config files);
    ``outputs``: checksums, config, packages, code, run (see ``PROVENANCE_FILES``);
    ``params``: config, unnamed_files (inputs whose names Snakemake cannot take: braces).
    """
    files = [*inputs["files"], *params.get("unnamed_files", [])]
    record = collect_provenance(files, params["config"])
    written = write_provenance(record, outputs)
    log.info("provenance of %d input files written to %s", len(record.checksums),
             written[0].parent)
    return written


def report_html(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> Path:
    """Write the report (HTML, and PDF when ``outputs`` name one) and, as PNG, its own figures.

    ``inputs``: hazards, estimation, management, management_long_horizon, losses,
    conclusions, assumptions (risk stage); passive_surveillance (ranger patrols);
    camera_trap_densities (wildlife densities from camera traps);
    prevalence, foi, diagnostics, lineages, network, transmission, calibration_fit,
    calibration_parameters, sensitivity (tables); dra (``config/dra.yaml``), hazard_list
    (``config/hazards.yaml``: which ratings are placeholders); tree, outbreak_sizes,
    target_risk, posterior_predictive, calibration_figure, sensitivity_tornado (PNG); species
    (the registry, for common names); provenance (the record's files); network_config, nodes,
    samples (with prevalence: the study map, drawn when all are given).
    ``outputs``: html, figures (one PNG per name in ``REPORT_FIGURES``), pdf (optional).
    ``params``: risk (config section), report (title, max_table_rows), horizon_days,
    scenarios (``transmission.scenarios``: their labels, or names made from what they do).
    """
    settings = RiskSettings.from_config(params["risk"])
    data = read_report_data(inputs, params.get("horizon_days"), params.get("scenarios"),
                            settings.baseline_scenario)
    figures = make_figures(data, settings)
    figure_paths = {Path(p).stem: Path(p) for p in outputs["figures"]}
    for name, png in figures.items():
        figure_paths[name].parent.mkdir(parents=True, exist_ok=True)
        figure_paths[name].write_bytes(png)
    page = render_report(
        data, settings, read_provenance(inputs["provenance"]), figures=figures,
        title=params["report"].get("title", "CDV Disease Risk Assessment"),
        max_table_rows=int(params["report"].get("max_table_rows", 200)),
    )
    out = Path(outputs["html"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    log.info("report written to %s", out)
    if outputs.get("pdf"):
        write_report_pdf(page, Path(outputs["pdf"]))
    return out


def write_report_pdf(page: str, out: Path) -> Path:
    """The HTML report as PDF at ``out``; a table that a page cuts is logged as a warning."""
    document = layout_report(page)
    for cell in cut_table_cells(document):
        log.warning("PDF table cell beyond the page width: %s", cell)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf_bytes(document))
    log.info("PDF report (%d A4 pages) written to %s", len(document.pages), out)
    return out


def read_report_data(
    inputs: Mapping[str, Any], horizon_days: float | None,
    scenarios: Mapping[str, Any] | None = None, baseline: str = "baseline",
) -> ReportData:
    """The tables, upstream figures, species and scenario names and the DRA's written parts the
    report shows (an evidence table, figure, ``dra`` or ``hazard_list`` not given is None / left
    out; a given file that is missing is an error)."""
    risk = {name: read_table(inputs[name]) for name in RISK_TABLES}
    evidence = {name: read_table(inputs[name]) if inputs.get(name) else None
                for name in EVIDENCE_TABLES}
    names = SpeciesNames.from_registry(load_species_registry(inputs["species"]))
    keys = [*risk["management"]["scenario"].astype(str), *risk["estimation"]["scenario"]
            .dropna().astype(str)]
    return ReportData(
        **risk,
        conclusions=read_table(inputs["conclusions"], text_columns=CONCLUSION_TEXT_COLUMNS),
        **evidence,
        names=names,
        dra=load_dra(inputs["dra"]) if inputs.get("dra") else {},
        placeholder_hazards=frozenset(
            placeholder_hazards(load_hazards(inputs["hazard_list"]))
            if inputs.get("hazard_list") else ()),
        scenario_labels=scenario_labels(scenarios, [k for k in keys if k], names, baseline),
        extra_figures={
            name: Path(inputs[key]).read_bytes()
            for name, key in EXTRA_FIGURES.items() if inputs.get(key)
        },
        horizon_days=float(horizon_days) if horizon_days is not None else None,
        study_map=read_study_map(inputs, scenarios, names.common),
    )


def read_study_map(
    inputs: Mapping[str, Any], scenarios: Mapping[str, Any] | None, names: Any = None
) -> MapLayers | None:
    """The study map's layers from the network config, the network's animals, the samples and
    the site-level seroprevalence (None unless all four inputs are given)."""
    keys = ("network_config", "nodes", "samples", "prevalence")
    if not all(inputs.get(k) for k in keys):
        return None
    return study_map_layers(
        load_network_config(inputs["network_config"]),
        pd.read_parquet(inputs["nodes"]),
        read_samples(inputs["samples"]),
        read_table(inputs["prevalence"]),
        release=release_sites(scenarios),
        names=names,
    )
