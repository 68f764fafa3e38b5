"""The report as one self-contained HTML page: tables in a vet's words and in full, the risk
matrix, figures embedded as base64 PNG so the file opens anywhere without internet. The same
page prints (``report.pdf``): its print CSS and a wide table's printable parts keep every table
whole on A4, and a banner names any input marked simulated.

:func:`render_report` fills ``templates/report.html.j2`` from a :class:`ReportData`, the
report's figures and the provenance record; it reads no file.
"""

from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import yaml
from PIL import ImageFont

from disease_risk.report import dra
from disease_risk.report.data import ReportData
from disease_risk.report.provenance import Provenance, simulated_inputs
from disease_risk.report.summary import plain_summary
from disease_risk.report.words import missing, number
from disease_risk.risk.evidence import unreliable_blocks
from disease_risk.risk.scales import RiskSettings

RISK_CLASSES = {
    "negligible": "lvl-0", "very low": "lvl-1", "low": "lvl-2", "moderate": "lvl-3",
    "high": "lvl-4", "medium": "lvl-3",
}
PRINT_COLUMNS = 10  # a table with more columns prints as parts of this many (A4 portrait)
PRINT_WIDTH_PT = 527.2  # A4's 186 mm between the print margins, in points
PRINT_FONT_PT = {"glance": 8.1, "": 7.0}  # the print CSS's table text: glance tables 0.9 x 9 pt
# (these three print CSS figures are checked against WeasyPrint's layout in test_report_pdf.py)
PRINT_CELL_EM = 1.0  # a printed cell's padding (0.3 em a side), border and rounding
LAST_WIDE_PT = 156.0  # a "last-wide" table's last column (the evidence sentence): 55 mm
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
    """A table cell: empty when missing, numbers as people write them (no exponent, no
    ``-0``, thousands separated, 3 significant digits)."""
    if missing(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float | int):
        return number(float(value))
    return str(value)


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


@functools.cache
def _font(bold: bool) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (the report's font, as matplotlib ships it) at 1,000 px to the em."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name, 1000)


@functools.lru_cache(maxsize=1 << 16)
def text_em(text: str, bold: bool = False) -> float:
    """Width of ``text`` set in DejaVu Sans, in em."""
    return _font(bold).getlength(text) / 1000


def print_column_widths(header: list[str], cells: list[list[tuple[str, bool]]],
                        font_pt: float, fill: bool = False,
                        last_min_pt: float = 0.0) -> tuple[float, list[float]]:
    """A printed table's width and its columns' widths, in percent of the page and the table.

    CSS's automatic table layout, computed once from the text's widths in the report's font:
    each column lies between its longest unbreakable run (a word; a header part between
    spaces or underscores, in bold; a whole risk word, which does not wrap) and its longest
    text; the page width left over goes to the columns in proportion to what more they could
    use. When even the longest runs do not fit, only the widest columns are narrowed, to one
    width, and their words break there. WeasyPrint redoes that layout, which lays out every
    word, for each page a table spans (over a minute for the report); printed with
    ``table-layout: fixed`` the widths cost nothing per page (``bench/report_pdf.py``).

    ``cells``: one list per column of (text, no wrap); ``font_pt``: the table's print font
    size; ``fill``: the table spans the page; ``last_min_pt``: least width of the last column,
    as far as the other columns' words leave room.
    """
    lo, hi = [], []
    for name, column in zip(header, cells, strict=True):
        shortest = max(text_em(part, bold=True) for part in re.split(r"[\s_]+", name))
        longest = text_em(name, bold=True)
        for text, nowrap in column:
            words = [text] if nowrap else text.split()
            shortest = max([shortest, *(text_em(word) for word in words)])
            longest = max(longest, text_em(text))
        lo.append(shortest + PRINT_CELL_EM)
        hi.append(longest + PRINT_CELL_EM)
    page = PRINT_WIDTH_PT / font_pt
    if last_min_pt:  # as far as whole words elsewhere leave room
        lo[-1] += max(0.0, min(last_min_pt / font_pt - lo[-1], page - sum(lo)))
        hi[-1] = max(hi[-1], lo[-1])
    if sum(hi) <= page:
        widths, share = hi, (1.0 if fill else sum(hi) / page)
    elif sum(lo) >= page:  # the widest columns' words break, as few as need to
        widths, share = _capped(lo, page), 1.0
    else:
        spare = (page - sum(lo)) / (sum(hi) - sum(lo))
        widths, share = [a + (b - a) * spare for a, b in zip(lo, hi, strict=True)], 1.0
    return 100 * share, [100 * w / sum(widths) for w in widths]


def _capped(widths: list[float], total: float) -> list[float]:
    """``widths`` with the largest cut down to one cap, the cap that makes their sum ``total``
    (at most ``total``)."""
    ordered = sorted(widths, reverse=True)
    for k in range(1, len(ordered)):
        cap = (total - sum(ordered[k:])) / k
        if cap >= ordered[k]:
            return [min(w, cap) for w in widths]
    return [total / len(widths)] * len(widths)


def _table(table: pd.DataFrame, css: str, caption: str = "", printed: bool = True) -> str:
    """One HTML table, risk words colour-coded, in a wrapper of class ``table-wrap {css}``;
    ``printed``: with its column widths for print (:func:`print_column_widths`)."""
    head = "".join(f"<th>{breakable(str(c))}</th>" for c in table.columns)
    columns: list[list[tuple[str, bool]]] = [[] for _ in table.columns]
    body = []
    for row in table.itertuples(index=False):
        cells = []
        for column, value in zip(columns, row, strict=True):
            text = format_cell(value)
            cls = RISK_CLASSES.get(text.split(" (")[0], "")
            column.append((text, bool(cls)))
            cells.append(f'<td class="{cls}">{html.escape(text)}</td>' if cls
                         else f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    attrs, cols = "", ""
    if printed:
        classes = css.split()
        width, shares = print_column_widths(
            [str(c) for c in table.columns], columns,
            PRINT_FONT_PT["glance" if "glance" in classes else ""], fill="glance" in classes,
            last_min_pt=LAST_WIDE_PT if "last-wide" in classes else 0.0)
        attrs = f' class="sized" style="--print-width: {width:.2f}%"'
        cols = "".join(f'<col style="--print-col: {s:.2f}%">' for s in shares)
        cols = f"<colgroup>{cols}</colgroup>"
    return (
        f'<div class="table-wrap {css}"><table{attrs}>{cap}{cols}<thead><tr>{head}</tr></thead>'
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
    return (f'{_table(shown, f"{css} screen-only", printed=False)}'
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
        dra=data.dra,
        study_map_notes=data.study_map.notes() if data.study_map is not None else None,
        problem_species=[
            {"name": data.names(s["species"]), "role": s["role"]}
            for s in data.dra.get("problem_description", {}).get("species", [])
        ],
        overall=overall_ratings(data),
        long_horizon_years=(f"{data.losses['horizon_years'].max():g}"
                            if data.losses is not None and not data.losses.empty else "long"),
        glossary=dra.GLOSSARY,
        n_placeholders=len(data.placeholder_hazards),
    )


def _tables_html(
    data: ReportData, settings: RiskSettings, provenance: Provenance, max_rows: int
) -> dict[str, str]:
    """Every table of the report as HTML, by its name in the template."""
    labels, placeholders = data.scenario_labels, set(data.placeholder_hazards)
    hazards = dra.hazard_names(data.hazards)
    tables = {
        "estimation": data.estimation, "management": data.management,
        "hazard_identification": dra.hazard_identification(
            data.hazards, placeholders, data.names, settings),
        "excluded_hazards": dra.excluded_hazards(data.dra),
        "assessment_moved": dra.risk_assessment(
            data.estimation, settings, data.names, labels, placeholders, True, hazards),
        "assessment_destination": dra.risk_assessment(
            data.estimation, settings, data.names, labels, placeholders, False, hazards),
        "risk_estimation": dra.risk_estimation(
            data.estimation, settings, data.names, placeholders, hazards),
        "risk_management": dra.risk_management(
            data.management, data.names, labels, settings.baseline_scenario, settings.currency),
        "risk_management_long": dra.risk_management(
            data.management_long_horizon, data.names, labels, settings.baseline_scenario,
            settings.currency) if data.management_long_horizon is not None else None,
        "losses": dra.loss_chances(data.losses, data.names, settings.baseline_scenario),
        "assumptions": dra.assumptions_register(data.assumptions, settings.targets, data.names),
        "surveillance": _surveillance(data.surveillance, data.names),
        "passive_surveillance": _passive(data.passive_surveillance, data.names),
        "camera_trap_densities": _camera_densities(data.camera_trap_densities, data.names),
        "monitoring": _records(data.dra, "implementation_and_review", "monitoring"),
        "triggers": _records(data.dra, "implementation_and_review", "triggers"),
        "communication": _records(data.dra, "risk_communication", "audiences"),
        "transmission": data.transmission,
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
        name: table_html(df, max_rows, "full" if name in FULL_TABLES
                         else "glance last-wide" if name.startswith("assessment_") else "glance")
        for name, df in tables.items()
    }


FULL_TABLES = {  # tables of numbers, one line a row (the others wrap their text)
    "estimation", "management", "transmission", "lineages", "network", "foi",
    "calibration_fit", "calibration_parameters", "sensitivity", "diagnostics",
    "prevalence_species", "prevalence_site", "prevalence_year", "checksums", "packages",
}


def _camera_densities(table: pd.DataFrame | None, names: Any) -> pd.DataFrame | None:
    """Camera-trap densities in words: species, effort, detections, density with its interval,
    the configured density and whether the network uses it (None without camera traps)."""
    if table is None or table.empty:
        return None

    def per_km2(value: Any, lo: Any = None, hi: Any = None) -> str:
        if pd.isna(value):
            return ""
        text = f"{value:.3g}"
        return text if lo is None or pd.isna(lo) else f"{text} ({lo:.3g}-{hi:.3g})"

    return pd.DataFrame({
        "species": [names(s) for s in table["species"].astype(str)],
        "cameras": table["cameras"], "camera-days": table["camera_days"].round(0),
        "detections": table["detections"],
        "per km2 from cameras (95% interval)": [
            per_km2(v, lo, hi) for v, lo, hi in zip(
                table["density_per_km2"], table["density_lo95"], table["density_hi95"],
                strict=True)],
        "per km2 configured": [per_km2(v) for v in table["configured_density_per_km2"]],
        "used": table["used"], "why": table["reason"],
    })


def _passive(found: pd.DataFrame | None, names: Any) -> pd.DataFrame | None:
    """What ranger patrols found, in words: event, species, place, month, observations, animals
    (None when the run has no patrol exports or they found nothing)."""
    if found is None or found.empty:
        return None
    events = {"carcass": "carcass found", "sick_or_dead_animal": "sick or dead animal seen",
              "sample_taken": "sample taken"}
    species = found["species"].astype("string").fillna("")
    return pd.DataFrame({
        "found": found["event"].map(lambda e: events.get(e, str(e).replace("_", " "))),
        "species": [names(s) if s else f"not identified ({i})" for s, i in
                    zip(species, found["species_item"].astype("string").fillna(""), strict=True)],
        "place (grid cell)": found["place"], "month": found["month"],
        "records": found["observations"], "animals": found["animals"],
    })


def _surveillance(plan: pd.DataFrame | None, names: Any) -> pd.DataFrame | None:
    """Next season's sampling plan with plain headers and species names."""
    if plan is None:
        return None
    return pd.DataFrame({
        "priority": plan["rank"],
        "species": [names(s) for s in plan["species"].astype(str)],
        "site": plan["site"].astype(str).replace({"all": "all sites"}),
        "tested so far": plan["n_tested"],
        "true prevalence (95% interval)": [
            f"{m:.0%} ({lo:.0%} to {hi:.0%})" for m, lo, hi in zip(
                plan["true_prevalence_median"], plan["true_prevalence_lo95"],
                plan["true_prevalence_hi95"], strict=True)],
        "samples for the precision": plan["samples_for_precision"],
        "more to test": plan["more_samples"],
        "drives the risk through": plan["driving_assumption"].astype("string").fillna(""),
        "moves a target's chance of infection by": plan["moves_infection"],
    })


def _records(config: Mapping[str, Any], section: str, key: str) -> pd.DataFrame | None:
    """A list of ``config/dra.yaml`` as a table (None when the file or list is absent)."""
    rows = config.get(section, {}).get(key, [])
    return pd.DataFrame(rows) if rows else None


def overall_ratings(data: ReportData) -> list[str]:
    """One sentence per target: the risk stage's overall rating (on its chance of any
    infection, all pathways together)."""
    if data.conclusions.empty:
        return []
    return [
        f"{data.names(r.target_species)}: overall risk {r.overall_risk} (likelihood "
        f"{r.overall_likelihood}, consequence {r.overall_consequence})"
        for r in data.conclusions.itertuples() if not missing(r.overall_risk) and r.overall_risk
    ]


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
