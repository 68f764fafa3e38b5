"""The report as one self-contained HTML page: tables in a vet's words and in full, the risk
matrix, figures embedded as base64 PNG so the file opens anywhere without internet. The same
page prints (``report.pdf``): its print CSS and a wide table's printable parts keep every table
whole on A4, and a banner names any input marked simulated.

:func:`render_report` fills ``templates/report.html.j2`` from a :class:`ReportData`, the
report's figures and the provenance record; it reads no file.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

import pandas as pd
import yaml

from disease_risk.report.data import ReportData, SpeciesNames
from disease_risk.report.provenance import Provenance, simulated_inputs
from disease_risk.report.summary import plain_summary
from disease_risk.report.words import missing, pct
from disease_risk.risk.attribution import pathway_label
from disease_risk.risk.evidence import unreliable_blocks
from disease_risk.risk.scales import RiskSettings

RISK_CLASSES = {
    "negligible": "lvl-0", "very low": "lvl-1", "low": "lvl-2", "moderate": "lvl-3",
    "high": "lvl-4", "medium": "lvl-3",
}
PRINT_COLUMNS = 10  # a table with more columns prints as parts of this many (A4 portrait)
EXTRA_CAPTIONS = {
    "transmission_outbreak_sizes": "Number of animals of each species infected within the "
    "simulated period: share of replicates with at most x infected, one line per scenario.",
    "ppc_posterior_predictive": "Posterior predictive check: observed positives against the "
    "counts the fitted models predict (95% interval) for each group.",
    "transmission_target_risk": "Chance that at least one animal of each target species is "
    "infected (bars with Monte Carlo error) and its deaths (median and 97.5% quantile) in each "
    "scenario.",
}


def format_cell(value: Any) -> str:
    """A table cell: empty when missing, floats to 3 significant digits."""
    if missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _with_pct(word: str, p: float) -> str:
    """A scale word with its probability in brackets."""
    return word if missing(p) else f"{word} ({pct(p)})"


def _interval(p: float, lo: float, hi: float, scale: float = 100, unit: str = "") -> str:
    """A signed change with its 95% interval (empty when any part is missing)."""
    if any(missing(v) for v in (p, lo, hi)):
        return ""
    return f"{scale * p:+.1f}{unit} ({scale * lo:+.1f} to {scale * hi:+.1f})"


def estimation_glance(
    estimation: pd.DataFrame, settings: RiskSettings, names: SpeciesNames
) -> pd.DataFrame:
    """The risk estimation table in words a vet reads at a glance (numbers in brackets)."""
    rows = []
    for r in estimation.itertuples():
        rows.append({
            "hazard": r.hazard, "target": names(r.target_species),
            "pathway": pathway_label(r.pathway, settings.pathways),
            "release": _with_pct(r.release_likelihood, r.release_probability),
            "exposure": _with_pct(r.exposure_likelihood, r.exposure_probability),
            "likelihood": _with_pct(r.likelihood, r.infection_probability),
            "consequence": r.consequence, "risk": r.risk, "uncertainty": r.uncertainty,
        })
    return pd.DataFrame(rows)


def management_glance(management: pd.DataFrame, names: SpeciesNames) -> pd.DataFrame:
    """Scenario comparison in a vet's words: chance of infection, changes, resulting risk."""
    rows = []
    for r in management.itertuples():
        rows.append({
            "rank": r.rank, "scenario": r.scenario, "target": names(r.target_species),
            "chance of any infection": f"{pct(r.p_any_infection)} ({pct(r.p_any_infection_lo95)}"
                                       f" to {pct(r.p_any_infection_hi95)})",
            "change vs baseline, % points (95% interval)": _interval(
                r.change_p_any_infection, r.change_p_lo95, r.change_p_hi95),
            "change in deaths (95% interval)": _interval(
                r.change_deaths_mean, r.change_deaths_lo95, r.change_deaths_hi95, scale=1),
            "risk": r.risk, "baseline risk": r.baseline_risk,
        })
    return pd.DataFrame(rows)


def breakable(text: str) -> str:
    """``text`` escaped for HTML, free to wrap after its underscores (column names in narrow
    columns on a phone or a printed page)."""
    return html.escape(text).replace("_", "_<wbr>")


def row_key_columns(table: pd.DataFrame, most: int = 3) -> int:
    """How many leading columns name a row: the fewest (up to ``most``) whose values are unique
    together; each printed part of a wide table repeats them."""
    for k in range(1, most):
        if not table.iloc[:, :k].astype(str).duplicated().any():
            return k
    return most


def print_parts(table: pd.DataFrame, width: int = PRINT_COLUMNS) -> tuple[int, list[pd.DataFrame]]:
    """A table of more than ``width`` columns as tables of at most ``width`` columns for
    print, each with the row keys (:func:`row_key_columns`) and the next columns in order;
    returns the number of key columns and the parts (the table itself when narrow enough)."""
    if len(table.columns) <= width:
        return 0, [table]
    keys = list(table.columns[: row_key_columns(table, min(3, width - 1))])
    rest = [c for c in table.columns if c not in keys]
    step = width - len(keys)
    return len(keys), [table[keys + rest[i:i + step]] for i in range(0, len(rest), step)]


def _table(table: pd.DataFrame, css: str, caption: str = "") -> str:
    """One HTML table, risk words colour-coded, in a wrapper of class ``table-wrap {css}``."""
    head = "".join(f"<th>{breakable(str(c))}</th>" for c in table.columns)
    body = []
    for row in table.itertuples(index=False):
        cells = []
        for value in row:
            text = format_cell(value)
            cls = RISK_CLASSES.get(text.split(" (")[0], "")
            cells.append(f'<td class="{cls}">{html.escape(text)}</td>' if cls
                         else f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap {css}"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def table_html(table: pd.DataFrame | None, max_rows: int = 200, css: str = "full") -> str:
    """An HTML table with risk words colour-coded; cut to ``max_rows`` with a note. One of more
    than ``PRINT_COLUMNS`` columns scrolls sideways on screen and prints as parts of that
    many columns (:func:`print_parts`), so that every column is on the A4 page."""
    if table is None or table.empty:
        return '<p class="missing">Not available in this run.</p>'
    shown = table.head(max_rows)
    note = (
        f'<p class="note">First {max_rows} of {len(table)} rows; the full table is in results/.</p>'
        if len(table) > max_rows
        else ""
    )
    keys, parts = print_parts(shown)
    if len(parts) == 1:
        return _table(shown, css) + note
    printed, first = [], keys + 1
    for i, part in enumerate(parts, start=1):
        last = first + len(part.columns) - keys - 1
        printed.append(_table(part, css, (
            f"Part {i} of {len(parts)}: columns {first} to {last} of {len(shown.columns)}, "
            f"after the first {keys}, which name the rows")))
        first = last + 1
    return (f'{_table(shown, f"{css} screen-only")}'
            f'<div class="print-only">{"".join(printed)}</div>{note}')


def matrix_html(settings: RiskSettings) -> str:
    """The risk matrix as an HTML table, cells colour-coded."""
    m = settings.matrix
    head = "<th>likelihood \\ consequence</th>" + "".join(f"<th>{c}</th>" for c in m.consequence)
    rows = "".join(
        f"<tr><th>{lk}</th>"
        + "".join(f'<td class="{RISK_CLASSES.get(c, "")}">{c}</td>' for c in cells)
        + "</tr>"
        for lk, cells in zip(m.likelihood, m.cells, strict=True)
    )
    return (f'<div class="table-wrap"><table class="matrix"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def img_src(png: bytes) -> str:
    """A PNG as a data URI (the report needs no other file)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_report(
    data: ReportData,
    settings: RiskSettings,
    provenance: Provenance,
    *,
    figures: Mapping[str, bytes],
    title: str,
    max_table_rows: int = 200,
) -> str:
    """The report as one HTML string (figures inline, no external resources)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("disease_risk.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    failed_rows = _failed_fit_rows(data.diagnostics)
    return env.get_template("report.html.j2").render(
        title=title,
        summary=plain_summary(data, settings),
        tables=_tables_html(data, settings, provenance, max_table_rows),
        figures={name: img_src(png) for name, png in {**figures, **data.extra_figures}.items()},
        matrix=matrix_html(settings),
        matrix_source=settings.matrix.source,
        thresholds=settings.likelihood_thresholds,
        consequence_thresholds=settings.consequence_thresholds,
        n_unreliable=failed_fit_checks(data.conclusions),
        provenance=provenance,
        simulated=simulated_inputs(provenance.checksums["path"]),
        config_yaml=yaml.safe_dump(dict(provenance.config), sort_keys=True),
        unreliable_rows=table_html(failed_rows) if failed_rows is not None else "",
        ppc_note=ppc_note(data.diagnostics),
        captions=EXTRA_CAPTIONS,
    )


def _tables_html(
    data: ReportData, settings: RiskSettings, provenance: Provenance, max_rows: int
) -> dict[str, str]:
    """Every table of the report as HTML, by its name in the template."""
    tables = {
        "estimation": data.estimation, "management": data.management,
        "estimation_glance": estimation_glance(data.estimation, settings, data.names),
        "management_glance": management_glance(data.management, data.names),
        "hazards": data.hazards, "transmission": data.transmission,
        "lineages": data.lineages, "network": data.network, "foi": data.foi,
        "calibration_fit": data.calibration_fit,
        "calibration_parameters": data.calibration_parameters,
        "sensitivity": _top_sensitivity(data.sensitivity),
        "diagnostics": data.diagnostics,
        "prevalence_species": _prevalence_part(data.prevalence, "species"),
        "prevalence_site": _prevalence_part(data.prevalence, "site"),
        "prevalence_year": _prevalence_part(data.prevalence, "year"),
        "checksums": provenance.checksums,
        "packages": provenance.packages[provenance.packages["key"] == "yes"][
            ["package", "version"]],
    }
    return {
        name: table_html(df, max_rows, "glance" if name.endswith("glance") else "full")
        for name, df in tables.items()
    }


def _top_sensitivity(indices: pd.DataFrame | None, top: int = 5) -> pd.DataFrame | None:
    """The ``top`` assumptions of each output of the sensitivity analysis (full table in
    ``results/sensitivity/indices.tsv``)."""
    if indices is None or indices.empty:
        return indices
    shown = indices[indices["rank"] <= top]
    return shown[["output", "rank", "parameter", "low", "high", "mu_star", "mu_star_conf"]]


def failed_fit_checks(conclusions: pd.DataFrame) -> int:
    """Model fit checks that failed, as the risk stage concluded (0 without conclusions)."""
    if conclusions.empty:
        return 0
    return int(conclusions["failed_fit_checks"].max())


def _failed_fit_rows(diagnostics: pd.DataFrame | None) -> pd.DataFrame | None:
    """The diagnostics rows behind a failed-fit verdict, to show (None when there are none)."""
    if diagnostics is None or diagnostics.empty:
        return None
    bad = unreliable_blocks(diagnostics)
    return diagnostics[bad] if bad.any() else None


def ppc_note(diagnostics: pd.DataFrame | None) -> str:
    """One sentence on the posterior predictive checks (rows with ``section == 'ppc'``)."""
    if diagnostics is None:
        return ""
    ppc = diagnostics[diagnostics["section"].astype(str) == "ppc"]
    if ppc.empty:
        return ""
    outside = int((ppc["reliable"].astype(str) == "no").sum())
    return (
        f"Posterior predictive checks: {outside} of {len(ppc)} observed counts fall outside their "
        f"95% predictive interval (about {max(1, round(0.05 * len(ppc)))} expected by chance); "
        "many more would mean the model misses structure in the data."
    )


def _prevalence_part(prevalence: pd.DataFrame | None, by: str) -> pd.DataFrame | None:
    """Species-level rows (by='species'), species x site (all years) or species x year rows."""
    if prevalence is None:
        return None
    site = prevalence["site"].astype(str)
    year = prevalence["year"].astype(str)
    mask = {
        "species": (site == "all") & (year == "all"),
        "site": (site != "all") & (year == "all"),
        "year": (site == "all") & (year != "all"),
    }[by]
    part = prevalence[mask]
    if by == "site" and part.empty:
        part = prevalence[(site != "all") & (year != "all")]
    return part
