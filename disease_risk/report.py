"""The self-contained HTML report a wildlife vet reads: summary first, then the evidence.

:func:`plain_summary` turns this run's numbers into the answers to four questions (how much CDV,
how likely it reaches the leopards, how sure we are, what helps most); :func:`make_figures` draws
the figures; :func:`render_report` fills ``templates/report.html.j2`` with figures embedded as
base64 PNG so the file opens anywhere without internet.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from disease_risk.provenance import Provenance
from disease_risk.risk import RiskSettings, most_effective, unreliable_blocks

RISK_CLASSES = {
    "negligible": "lvl-0", "very low": "lvl-1", "low": "lvl-2", "moderate": "lvl-3",
    "high": "lvl-4", "medium": "lvl-3",
}
SPECIES_LABELS = {
    "amur_leopard": "Far Eastern leopards", "amur_tiger": "Amur tigers",
    "domestic_dog": "village dogs", "raccoon_dog": "raccoon dogs", "asian_badger": "Asian badgers",
    "sable": "sables", "red_fox": "red foxes", "leopard_cat": "leopard cats",
    "amur_leopard_released": "released zoo-born leopards", "siberian_roe_deer": "roe deer",
    "sika_deer": "sika deer", "wild_boar": "wild boar",
}


EXTRA_CAPTIONS = {
    "transmission_outbreak_sizes": "Number of animals of each species infected within the "
    "simulated period: share of replicates with at most x infected, one line per scenario.",
    "ppc_posterior_predictive": "Posterior predictive check: observed positives against the "
    "counts the fitted models predict (95% interval) for each group.",
    "transmission_leopard_risk": "Chance that at least one leopard is infected (bars with Monte "
    "Carlo error) and leopard deaths (median and 97.5% quantile) in each scenario.",
}


@dataclass
class ReportData:
    """Everything the report shows; any table may be None when its stage produced nothing."""

    hazards: pd.DataFrame
    estimation: pd.DataFrame
    management: pd.DataFrame
    prevalence: pd.DataFrame | None = None
    foi: pd.DataFrame | None = None
    diagnostics: pd.DataFrame | None = None
    lineages: pd.DataFrame | None = None
    network: pd.DataFrame | None = None
    transmission: pd.DataFrame | None = None
    extra_figures: Mapping[str, bytes] = field(default_factory=dict)
    horizon_days: float | None = None


def label(species: str) -> str:
    return SPECIES_LABELS.get(species, str(species).replace("_", " "))


def pct(p: float) -> str:
    """A probability as a percentage a reader can say aloud."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    if p == 0:
        return "0%"
    if p < 0.01:
        return "<1%" if p >= 0.001 else "<0.1%"
    return f"{100 * p:.0f}%"


def plain_summary(data: ReportData, settings: RiskSettings) -> list[dict[str, str]]:
    """Four question-and-answer paragraphs generated from the numbers of this run."""
    target = settings.targets[0]
    base = settings.baseline_scenario
    return [
        {"question": "How much CDV is there?", "answer": _how_much(data.prevalence)},
        {
            "question": f"How likely is CDV to reach the {label(target)}?",
            "answer": _how_likely(data, target, base),
        },
        {"question": "How sure are we?", "answer": _how_sure(data, target)},
        {"question": "What helps most?", "answer": _what_helps(data, target, base)},
    ]


def _how_much(prevalence: pd.DataFrame | None) -> str:
    if prevalence is None or prevalence.empty:
        return "No serology results were available in this run."
    overall = prevalence[
        (prevalence["site"].astype(str) == "all") & (prevalence["year"].astype(str) == "all")
    ].sort_values("true_prevalence_median", ascending=False)
    parts = [
        f"{label(r.species)}: about {pct(r.true_prevalence_median)} have met the virus "
        f"(95% interval {pct(r.true_prevalence_lo95)} to {pct(r.true_prevalence_hi95)}, "
        f"{int(r.n_tested)} tested)"
        for r in overall.itertuples()
    ]
    return (
        "Share of animals with antibodies to CDV, corrected for test errors: "
        + "; ".join(parts)
        + ". Antibodies mean an animal met the virus and survived, so CDV circulates in the "
        "species with high shares."
    )


def _how_likely(data: ReportData, target: str, base: str) -> str:
    est = data.estimation
    cdv = est[(est["basis"] == "quantified") & (est["target_species"] == target)]
    mgmt = data.management
    row = mgmt[(mgmt["scenario"] == base) & (mgmt["target_species"] == target)]
    if row.empty:
        return f"The transmission model gave no result for {label(target)}."
    r = row.iloc[0]
    text = (
        f"With no extra intervention (scenario '{base}'), the chance that at least one of the "
        f"{label(target)} is infected within {_period(data.horizon_days)} is "
        f"{pct(r.p_any_infection)} "
        f"(95% interval {pct(r.p_any_infection_lo95)} to {pct(r.p_any_infection_hi95)}). "
        f"Deaths among the {label(target)}: median {_count(r.deaths_median)}, "
        f"about {_count(r.deaths_hi95)} or more in the worst 2.5% of simulations. "
    )
    if not cdv.empty:
        contact = cdv[cdv["scenario"] == base]
        main = contact.sort_values("infection_probability", ascending=False).iloc[0]
        worst = cdv.assign(_order=cdv["risk"].map(_risk_order)).sort_values(
            ["_order", "infection_probability"]
        ).iloc[-1]
        text += (
            f"The most likely route is {main.pathway.replace('_', ' ')} "
            f"({pct(main.infection_probability)}). Overall DRA risk level: {worst.risk} "
            f"(likelihood {worst.likelihood}, consequence {worst.consequence}, "
            f"via {worst.pathway.replace('_', ' ')})."
        )
    return text


def _count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 or x >= 10 else f"{x:.1f}"


def _period(days: float | None) -> str:
    if days is None or (isinstance(days, float) and math.isnan(days)):
        return "the simulated period"
    years = days / 365.25
    return f"{years:.0f} years" if abs(years - round(years)) < 0.05 else f"{days:g} days"


def _risk_order(word: str) -> int:
    order = ["not estimated", "negligible", "very low", "low", "moderate", "high"]
    return order.index(word) if word in order else 0


def _how_sure(data: ReportData, target: str) -> str:
    est = data.estimation
    cdv = est[(est["basis"] == "quantified") & (est["target_species"] == target)]
    parts = []
    if not cdv.empty:
        per_level = []
        for word in ("high", "medium", "low"):
            rows = cdv[cdv["uncertainty"] == word]
            if len(rows):
                routes = ", ".join(
                    f"{r.pathway.replace('_', ' ')} ({r.uncertainty_reasons})"
                    for r in rows.itertuples()
                )
                per_level.append(f"{word} for {routes}")
        parts.append(
            f"Uncertainty of the CDV estimates for the {label(target)}: "
            + "; ".join(per_level) + "."
        )
    if data.diagnostics is not None and not data.diagnostics.empty:
        bad = unreliable_blocks(data.diagnostics)
        if bad.any():
            parts.append(
                f"WARNING: {int(bad.sum())} model fit check(s) failed (see Model diagnostics); "
                "treat the numbers as provisional."
            )
        else:
            parts.append("All model fits passed their checks (R-hat, effective sample size, "
                         "divergences).")
    parts.append(
        "Intervals are 95%: the true value lies inside with 95% probability given the model."
    )
    return " ".join(parts)


def _what_helps(data: ReportData, target: str, base: str) -> str:
    best = most_effective(data.management, target, base)
    if best is None:
        return f"No simulated intervention lowered the chance that {label(target)} are infected."
    others = data.management[
        (data.management["target_species"] == target)
        & (~data.management["scenario"].isin([base, best.scenario]))
    ].sort_values("change_p_any_infection")
    if not best.change_p_hi95 < 0:
        return (
            f"No simulated intervention clearly lowered the chance that {label(target)} are "
            f"infected: the largest estimated drop, '{best.scenario}' "
            f"({100 * best.change_p_any_infection:+.1f} percentage points, 95% interval "
            f"{100 * best.change_p_lo95:+.1f} to {100 * best.change_p_hi95:+.1f}), is within "
            "simulation noise. More replicates or stronger interventions are needed to tell."
        )
    text = (
        f"'{best.scenario}' helps most: it changes the chance of any infection among the "
        f"{label(target)} from {pct(best.baseline_p_any_infection)} to "
        f"{pct(best.p_any_infection)} (change {100 * best.change_p_any_infection:+.0f} "
        f"percentage points, 95% interval {100 * best.change_p_lo95:+.0f} to "
        f"{100 * best.change_p_hi95:+.0f}); resulting risk level {best.risk}."
    )
    if not others.empty:
        text += " Other scenarios: " + "; ".join(
            f"'{r.scenario}' {100 * r.change_p_any_infection:+.0f} points"
            for r in others.itertuples()
        ) + "."
    return text


# --- Figures ----------------------------------------------------------------------------------


REPORT_FIGURES = (
    "seroprevalence_by_species", "seroprevalence_by_year", "force_of_infection",
    "scenario_comparison",
)


def make_figures(data: ReportData, settings: RiskSettings) -> dict[str, bytes]:
    """The report's own PNG figures (names in ``REPORT_FIGURES``), drawn from the tables; a
    figure whose data are missing says so instead of disappearing."""
    import matplotlib

    matplotlib.use("Agg")
    figures: dict[str, bytes] = {}
    prevalence = data.prevalence if data.prevalence is not None else pd.DataFrame()
    if not prevalence.empty:
        figures["seroprevalence_by_species"] = _forest(prevalence)
        by_year = prevalence[
            (prevalence["site"].astype(str) == "all") & (prevalence["year"].astype(str) != "all")
        ]
        if not by_year.empty:
            figures["seroprevalence_by_year"] = _trend(
                by_year, "year", "true_prevalence", "true prevalence"
            )
    if data.foi is not None and not data.foi.empty:
        figures["force_of_infection"] = _foi_figure(data.foi)
    if not data.management.empty:
        figures["scenario_comparison"] = _scenarios(data.management, settings)
    for name in REPORT_FIGURES:
        if name not in figures:
            figures[name] = _no_data(name)
    return figures


def _no_data(name: str) -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{name.replace('_', ' ')}: no data in this run", ha="center", va="center")
    return _png(fig)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _forest(prevalence: pd.DataFrame) -> bytes:
    import matplotlib.pyplot as plt

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
    ax.set_yticks(list(y), [f"{label(s)} (n={int(n)})" for s, n in zip(
        rows["species"], rows["n_tested"], strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of animals that met CDV (true prevalence, median and 95% interval)")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _trend(table: pd.DataFrame, x: str, stem: str, ylabel: str) -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for species, g in table.groupby("species", sort=True):
        g = g.assign(_x=pd.to_numeric(g[x], errors="coerce")).dropna(subset=["_x"])
        g = g.sort_values("_x")
        ax.plot(g["_x"], g[f"{stem}_median"], marker="o", label=label(species))
        ax.fill_between(g["_x"], g[f"{stem}_lo95"], g[f"{stem}_hi95"], alpha=0.15)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    return _png(fig)


def _foi_figure(foi: pd.DataFrame) -> bytes:
    import matplotlib.pyplot as plt

    yearly = foi[foi["year"].astype(str) != "constant"]
    if not yearly.empty and yearly["year"].nunique() > 1:
        return _trend(yearly, "year", "foi", "force of infection (per animal per year)")
    rows = foi.sort_values("foi_median")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    y = range(len(rows))
    ax.errorbar(
        rows["foi_median"], y,
        xerr=[rows["foi_median"] - rows["foi_lo95"], rows["foi_hi95"] - rows["foi_median"]],
        fmt="o", color="#7a2e0e", capsize=3,
    )
    ax.set_yticks(list(y), [label(s) for s in rows["species"]])
    ax.set_xlabel("force of infection (new infections per animal per year; median, 95% interval)")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _scenarios(management: pd.DataFrame, settings: RiskSettings) -> bytes:
    import matplotlib.pyplot as plt

    targets = [t for t in settings.targets if t in set(management["target_species"])]
    fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.6), squeeze=False)
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
        ax.set_yticks(list(y), rows["scenario"])
        ax.set_xlim(0, 1)
        ax.set_title(label(target))
        ax.set_xlabel("chance of any infection (95% interval)")
    fig.tight_layout()
    return _png(fig)


# --- HTML -------------------------------------------------------------------------------------


def format_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _with_pct(word: str, p: float) -> str:
    return word if p is None or (isinstance(p, float) and math.isnan(p)) else f"{word} ({pct(p)})"


def _interval(p: float, lo: float, hi: float, scale: float = 100, unit: str = "") -> str:
    if any(isinstance(v, float) and math.isnan(v) for v in (p, lo, hi)):
        return ""
    return f"{scale * p:+.1f}{unit} ({scale * lo:+.1f} to {scale * hi:+.1f})"


def estimation_glance(estimation: pd.DataFrame, settings: RiskSettings) -> pd.DataFrame:
    """The risk estimation table in words a vet reads at a glance (numbers in brackets)."""
    rows = []
    for r in estimation.itertuples():
        spec = settings.pathways.get(r.pathway, {})
        rows.append({
            "hazard": r.hazard, "target": label(r.target_species),
            "pathway": spec.get("label", r.pathway),
            "release": _with_pct(r.release_likelihood, r.release_probability),
            "exposure": _with_pct(r.exposure_likelihood, r.exposure_probability),
            "likelihood": _with_pct(r.likelihood, r.infection_probability),
            "consequence": r.consequence, "risk": r.risk, "uncertainty": r.uncertainty,
        })
    return pd.DataFrame(rows)


def management_glance(management: pd.DataFrame) -> pd.DataFrame:
    """Scenario comparison in a vet's words: chance of infection, changes, resulting risk."""
    rows = []
    for r in management.itertuples():
        rows.append({
            "rank": r.rank, "scenario": r.scenario, "target": label(r.target_species),
            "chance of any infection": f"{pct(r.p_any_infection)} ({pct(r.p_any_infection_lo95)}"
                                       f" to {pct(r.p_any_infection_hi95)})",
            "change vs baseline, % points (95% interval)": _interval(
                r.change_p_any_infection, r.change_p_lo95, r.change_p_hi95),
            "change in deaths (95% interval)": _interval(
                r.change_deaths_mean, r.change_deaths_lo95, r.change_deaths_hi95, scale=1),
            "risk": r.risk, "baseline risk": r.baseline_risk,
        })
    return pd.DataFrame(rows)


def table_html(table: pd.DataFrame | None, max_rows: int = 200, css: str = "full") -> str:
    """An HTML table with risk words colour-coded; cut to ``max_rows`` with a note."""
    if table is None or table.empty:
        return '<p class="missing">Not available in this run.</p>'
    shown = table.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for value in row:
            text = format_cell(value)
            cls = RISK_CLASSES.get(text.split(" (")[0], "")
            cells.append(f'<td class="{cls}">{html.escape(text)}</td>' if cls
                         else f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = (
        f'<p class="note">First {max_rows} of {len(table)} rows; the full table is in results/.</p>'
        if len(table) > max_rows
        else ""
    )
    return (
        f'<div class="table-wrap {css}"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{note}"
    )


def matrix_html(settings: RiskSettings) -> str:
    m = settings.matrix
    head = "<th>likelihood \\ consequence</th>" + "".join(f"<th>{c}</th>" for c in m.consequence)
    rows = "".join(
        f"<tr><th>{lk}</th>"
        + "".join(f'<td class="{RISK_CLASSES.get(c, "")}">{c}</td>' for c in cells)
        + "</tr>"
        for lk, cells in zip(m.likelihood, m.cells, strict=True)
    )
    return f'<table class="matrix"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def img_src(png: bytes) -> str:
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
        loader=jinja2.PackageLoader("disease_risk", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    diag_bad = (
        unreliable_blocks(data.diagnostics)
        if data.diagnostics is not None and not data.diagnostics.empty
        else pd.Series(dtype=bool)
    )
    tables = {
        name: table_html(df, max_table_rows, "glance" if name.endswith("glance") else "full")
        for name, df in {
            "estimation": data.estimation, "management": data.management,
            "estimation_glance": estimation_glance(data.estimation, settings),
            "management_glance": management_glance(data.management),
            "hazards": data.hazards, "transmission": data.transmission,
            "lineages": data.lineages, "network": data.network, "foi": data.foi,
            "diagnostics": data.diagnostics,
            "prevalence_species": _prevalence_part(data.prevalence, "species"),
            "prevalence_site": _prevalence_part(data.prevalence, "site"),
            "prevalence_year": _prevalence_part(data.prevalence, "year"),
            "checksums": provenance.checksums,
            "packages": provenance.packages[provenance.packages["key"] == "yes"][
                ["package", "version"]],
        }.items()
    }
    fig = {name: img_src(png) for name, png in {**figures, **data.extra_figures}.items()}
    return env.get_template("report.html.j2").render(
        title=title,
        summary=plain_summary(data, settings),
        tables=tables,
        figures=fig,
        matrix=matrix_html(settings),
        matrix_source=settings.matrix.source,
        thresholds=settings.likelihood_thresholds,
        consequence_thresholds=settings.consequence_thresholds,
        n_unreliable=int(diag_bad.sum()),
        provenance=provenance,
        config_yaml=yaml.safe_dump(dict(provenance.config), sort_keys=True),
        unreliable_rows=table_html(data.diagnostics[diag_bad]) if diag_bad.any() else "",
        ppc_note=ppc_note(data.diagnostics),
        captions=EXTRA_CAPTIONS,
    )


def ppc_note(diagnostics: pd.DataFrame | None) -> str:
    """One sentence on the posterior predictive checks (rows with ``section == 'ppc'``)."""
    if diagnostics is None or "section" not in diagnostics.columns:
        return ""
    ppc = diagnostics[diagnostics["section"].astype(str) == "ppc"]
    if ppc.empty or "reliable" not in ppc.columns:
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


def load_figures(paths: Mapping[str, str | Path]) -> dict[str, bytes]:
    """Upstream PNGs to embed, by name (a missing file is an error, not a silent gap)."""
    return {name: Path(p).read_bytes() for name, p in paths.items()}


def write_report(
    *,
    out_html: str | Path,
    figures_dir: str | Path,
    risk_config: Mapping[str, Any],
    report_config: Mapping[str, Any],
    config: Mapping[str, Any],
    tables: Mapping[str, str | Path | None],
    extra_figures: Mapping[str, str | Path] | None = None,
    provenance_files: Sequence[str | Path] = (),
) -> Path:
    """Read the run's tables, draw the figures (also written as PNG to ``figures_dir``) and
    write the self-contained report. ``tables`` keys: the :class:`ReportData` field names."""
    from disease_risk.provenance import collect_provenance
    from disease_risk.risk import read_tsv

    settings = RiskSettings.from_config(risk_config)
    loaded = {k: (read_tsv(v) if v else None) for k, v in tables.items()}
    horizon = config.get("transmission", {}).get("horizon_days")
    data = ReportData(
        **loaded, extra_figures=load_figures(extra_figures or {}),
        horizon_days=float(horizon) if horizon is not None else None,
    )
    figures = make_figures(data, settings)
    fig_dir = Path(figures_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    for name, png in figures.items():
        (fig_dir / f"{name}.png").write_bytes(png)
    provenance = collect_provenance(provenance_files, config)
    page = render_report(
        data, settings, provenance, figures=figures,
        title=report_config.get("title", "CDV Disease Risk Assessment"),
        max_table_rows=int(report_config.get("max_table_rows", 200)),
    )
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
