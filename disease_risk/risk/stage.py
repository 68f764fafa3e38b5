"""Entry point of the risk stage (rule ``risk_tables``): this run's serology, network and
scenario results in, the DRA tables, their workbook and the conclusions out.

The only module of :mod:`disease_risk.risk` that touches files: tables are read and written
through :mod:`disease_risk.tables`, so the same inputs give the same bytes; the workbook gets fixed
timestamps for the same reason.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.risk.assumptions import assumptions_register, time_grid_assumption
from disease_risk.risk.conclusions import build_conclusions
from disease_risk.risk.estimation import SEROLOGY_BASIS, build_risk_estimation
from disease_risk.risk.evidence import latest_foi, species_prevalence
from disease_risk.risk.hazards import build_hazards, load_hazards
from disease_risk.risk.losses import loss_chances
from disease_risk.risk.management import build_risk_management
from disease_risk.risk.scales import RiskSettings
from disease_risk.risk.serology_words import proxy_assumption
from disease_risk.risk.surveillance import surveillance_plan
from disease_risk.risk.workbook import read_me
from disease_risk.tables import read_table, write_table

log = logging.getLogger(__name__)

# The workbook's sheets after its read-me, in the Manual's order: table name -> sheet name.
DRA_SHEETS = {
    "hazards": "hazards", "risk_estimation": "risk_estimation", "losses": "losses",
    "risk_management": "risk_management",
    "risk_management_long_horizon": "risk_management_long_term",
    "surveillance": "surveillance_plan", "assumptions": "assumptions_register",
}
DEFAULT_SURVEILLANCE = {"precision": 0.1, "confidence": 0.95, "sensitivity": 1.0,
                        "specificity": 1.0}
TEXT_COLUMNS = {  # identifier columns read as text (codes such as 'all' or 'constant')
    "prevalence": ("species", "site", "year"),
    "foi": ("species", "year"),
    "diagnostics": ("section", "model", "item", "sampler", "reliable"),
    "transmission": ("scenario", "species"),
    "long_horizon": ("scenario", "species"),
    "network": ("metric", "species_a", "species_b"),
    "sensitivity": ("output", "parameter", "label", "kind", "source"),
    "calibration": ("parameter", "kind", "name", "identified", "source"),
}
HAZARD_SEROLOGY_TEXT = ("pathogen", "species", "fit_reliable", "note")


def risk_tables(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, pd.DataFrame]:
    """Build and write the DRA tables and the conclusions.

    ``inputs``: hazards (config/hazards.yaml), prevalence, foi, diagnostics, hazard_serology
    (every pathogen's true prevalence by species; optional), transmission,
    long_horizon (summaries), network, sensitivity (Morris indices), calibration (parameter
    table), replicates and long_replicates (one per scenario, in the order of
    ``params['scenarios']``);
    ``outputs``: hazards, risk_estimation, risk_management, risk_management_long_horizon,
    losses, conclusions, assumptions, surveillance (TSV), workbook (.xlsx);
    ``params``: risk (the config section), scenarios, compared_with (scenario -> the scenario
    it is compared with, default the baseline), horizon_years and long_horizon_years, title
    (the report's), simulated (inputs marked simulated).
    """
    settings = RiskSettings.from_config(params["risk"])
    hazards = load_hazards(inputs["hazards"])
    read = {key: read_table(inputs[key], text_columns=TEXT_COLUMNS[key]) for key in TEXT_COLUMNS}
    horizons = {  # management table -> (summary, replicates, years)
        "risk_management": ("transmission", inputs["replicates"], params["horizon_years"]),
        "risk_management_long_horizon": (
            "long_horizon", inputs["long_replicates"], params["long_horizon_years"]),
    }
    serology = (read_table(inputs["hazard_serology"], text_columns=HAZARD_SEROLOGY_TEXT)
                if inputs.get("hazard_serology") else None)
    runs = {name: read_replicates(dict(zip(params["scenarios"], files, strict=True)))
            for name, (_, files, _) in horizons.items()}
    replicates = runs["risk_management"]
    tables = {
        "hazards": build_hazards(hazards, serology),
        "risk_estimation": build_risk_estimation(
            hazards=hazards,
            settings=settings,
            transmission=read["transmission"],
            replicates=replicates,
            prevalence=species_prevalence(read["prevalence"]),
            foi=latest_foi(read["foi"]),
            diagnostics=read["diagnostics"],
            network_summary=read["network"],
            sensitivity=read["sensitivity"],
            hazard_serology=serology,
        ),
    }
    for name, (summary, _, _) in horizons.items():
        tables[name] = build_risk_management(
            read[summary],
            settings,
            replicates=runs[name] or None,
            network_summary=read["network"],
            compared_with=params.get("compared_with"),
            not_options=params.get("not_options", ()),
        )
    tables["losses"] = pd.concat([
        loss_chances(runs[name], settings.targets, settings.consequence_thresholds, years)
        for name, (_, _, years) in horizons.items()
    ], ignore_index=True)
    tables["conclusions"] = build_conclusions(
        tables["risk_estimation"], tables["risk_management"], read["diagnostics"], settings
    )
    estimation = tables["risk_estimation"]
    tables["assumptions"] = time_grid_assumption(
        read["diagnostics"],
        proxy_assumption(
            sorted(set(estimation.loc[estimation["basis"] == SEROLOGY_BASIS, "hazard"])),
            assumptions_register(read["sensitivity"], read["calibration"], settings.targets),
        ),
    )
    design = params["risk"].get("surveillance", DEFAULT_SURVEILLANCE)
    tables["surveillance"] = surveillance_plan(
        read["prevalence"], tables["assumptions"], settings.targets, float(design["precision"]),
        float(design["confidence"]), float(design["sensitivity"]), float(design["specificity"]),
    )
    for name, table in tables.items():
        write_table(table, outputs[name])
        log.info("%s: %d rows", name, len(table))
    sheets = {"read_me": read_me(params.get("title", "Disease Risk Assessment"),
                                 list(params.get("simulated", [])))}
    sheets.update({sheet: tables[name] for name, sheet in DRA_SHEETS.items()})
    write_workbook(sheets, outputs["workbook"])
    return tables


def read_replicates(paths: Mapping[str, str | Path]) -> dict[str, pd.DataFrame]:
    """Replicate tables by scenario, keeping ``replicate``, ``parameter_set``, the per-species
    counts and the infection chains (``infections_<target>_from_/origin_<species>``)."""
    out = {}
    for scenario, path in paths.items():
        df = pd.read_parquet(path)
        counts = ("infected_", "deaths_", "infections_", "vaccinated_", "population_")
        sets = ["parameter_set"] if "parameter_set" in df else []
        keep = ["replicate", *sets] + [c for c in df.columns if c.startswith(counts)]
        out[scenario] = df[keep]
    return out


def write_workbook(tables: Mapping[str, pd.DataFrame], path: str | Path) -> None:
    """All tables in one .xlsx, a sheet each, with fixed timestamps so reruns are identical.

    Every text cell stays text: openpyxl would store a string starting with ``=`` (from a
    config or a sheet) as a live formula, so no cell is ever written as a formula.
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, table in tables.items():
            rounded = table.apply(
                lambda c: c.map(lambda v: float(f"{v:.6g}") if pd.notna(v) else v)
                if pd.api.types.is_float_dtype(c) else c
            )
            rounded.to_excel(writer, sheet_name=sheet, index=False)
            for row in writer.sheets[sheet].iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        cell.data_type = "s"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _write_stable_zip(buffer.getvalue(), Path(path))


def _write_stable_zip(data: bytes, path: Path) -> None:
    """Rewrite an .xlsx (a zip) with fixed member dates and document timestamps."""
    stamp = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = stamp.sub(rb"\g<1>2000-01-01T00:00:00Z\g<3>", content)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, content)
