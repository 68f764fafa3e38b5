"""The report's summary in plain language: four questions answered from this run's numbers.

How much CDV is there, how likely it reaches the first target species, how sure we are, and what
helps most. The overall risk, the fit verdict and the best option are the risk stage's
conclusions (``results/risk/conclusions.tsv``), stated here, not recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from disease_risk.report.data import ReportData
from disease_risk.report.dra import BASELINE_LABEL
from disease_risk.report.words import capitalised, count, pct, period, points
from disease_risk.risk.attribution import pathway_label
from disease_risk.risk.conclusions import conclusion_for
from disease_risk.risk.scales import RiskSettings

Conclusion = Mapping[str, Any] | None


def plain_summary(data: ReportData, settings: RiskSettings) -> list[dict[str, str]]:
    """Four question-and-answer paragraphs generated from the numbers of this run."""
    target = settings.targets[0]
    base = settings.baseline_scenario
    conclusion = conclusion_for(data.conclusions, target)
    return [
        {"question": "How much CDV is there?", "answer": _how_much(data)},
        {
            "question": f"How likely is CDV to reach the {data.names(target)} population?",
            "answer": _how_likely(data, target, base, conclusion, settings.pathways),
        },
        {"question": "How sure are we?",
         "answer": _how_sure(data, target, conclusion, settings.pathways)},
        {"question": "What helps most?", "answer": _what_helps(data, target, base, conclusion)},
    ]


def _how_much(data: ReportData) -> str:
    """Share of each species that met CDV (true prevalence), most exposed first."""
    prevalence = data.prevalence
    if prevalence is None or prevalence.empty:
        return "No serology results were available in this run."
    overall = prevalence[
        (prevalence["site"].astype(str) == "all") & (prevalence["year"].astype(str) == "all")
    ].sort_values("true_prevalence_median", ascending=False)
    parts = [
        f"{data.names(r.species)}: about {pct(r.true_prevalence_median)} have met the virus "
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


def _how_likely(data: ReportData, target: str, base: str, conclusion: Conclusion,
                pathways: Mapping[str, Mapping]) -> str:
    """The target's chance of infection and deaths without intervention, the main route and
    the overall risk level."""
    name = data.names(target)
    row = _management_row(data.management, base, target)
    if row is None:
        return f"The transmission model gave no result for {name}."
    label = data.scenario(base)
    baseline = "" if label == BASELINE_LABEL else f" (scenario '{label}')"
    text = (
        f"With no extra intervention{baseline}, the chance that at least one "
        f"{name} is infected within {period(data.horizon_days)} is {pct(row.p_any_infection)} "
        f"(95% interval over the plausible parameter values {pct(row.p_any_infection_lo95)} to "
        f"{pct(row.p_any_infection_hi95)}). "
        f"{capitalised(name)} deaths: median {count(row.deaths_median)}, "
        f"about {count(row.deaths_hi95)} or more in the worst 2.5% of simulations. "
    )
    if conclusion is not None and conclusion["main_pathway"]:
        text += (
            f"The most likely route is {pathway_label(conclusion['main_pathway'], pathways)} "
            f"({pct(conclusion['main_pathway_probability'])}). "
        )
    if conclusion is not None and conclusion["overall_risk"]:
        text += (
            f"Overall DRA risk level: {conclusion['overall_risk']} (likelihood "
            f"{conclusion['overall_likelihood']}, consequence "
            f"{conclusion['overall_consequence']}, via "
            f"{pathway_label(conclusion['overall_pathway'], pathways)})."
        )
    return text


def _management_row(management: pd.DataFrame, scenario: str, target: str):
    """The risk management row of ``target`` in ``scenario`` (None if there is none)."""
    rows = management[(management["scenario"] == scenario)
                      & (management["target_species"] == target)]
    return rows.iloc[0] if len(rows) else None


def _how_sure(data: ReportData, target: str, conclusion: Conclusion,
              pathways: Mapping[str, Mapping]) -> str:
    """Uncertainty levels of the target's CDV rows and the model fits' verdict."""
    est = data.estimation
    cdv = est[(est["basis"] == "quantified") & (est["target_species"] == target)]
    parts = []
    if not cdv.empty:
        per_level = []
        for word in ("high", "medium", "low"):
            rows = cdv[cdv["uncertainty"] == word]
            if len(rows):
                routes = ", ".join(
                    f"{pathway_label(r.pathway, pathways)} ({r.uncertainty_reasons})"
                    for r in rows.itertuples()
                )
                per_level.append(f"{word} for {routes}")
        parts.append(
            f"Uncertainty of the CDV estimates for {data.names(target)}: "
            + "; ".join(per_level) + "."
        )
    has_checks = data.diagnostics is not None and not data.diagnostics.empty
    if has_checks and conclusion is not None:
        if conclusion["fits_reliable"] == "no":
            parts.append(
                f"WARNING: {int(conclusion['failed_fit_checks'])} model fit check(s) failed "
                "(see Model diagnostics); treat the numbers as provisional."
            )
        else:
            parts.append("All model fits passed their checks (R-hat, effective sample size, "
                         "divergences).")
    parts.append(
        "Intervals are 95%: the true value lies inside with 95% probability given the model."
    )
    return " ".join(parts)


def _what_helps(data: ReportData, target: str, base: str, conclusion: Conclusion) -> str:
    """The option that clearly helps most, or why none can be named."""
    name = data.names(target)
    if conclusion is None or not conclusion["largest_drop_scenario"]:
        return f"No simulated intervention lowered the chance of {name} infection."
    scenario = conclusion["largest_drop_scenario"]
    label = data.scenario(scenario)
    change, lo, hi, mcse = (
        100 * conclusion[f"largest_drop_change_p{s}"] for s in ("", "_lo95", "_hi95", "_mcse")
    )
    if not conclusion["best_scenario"]:
        return (
            f"No simulated intervention clearly lowered the chance of {name} infection: the "
            f"largest estimated drop, '{label}' ({change:+.1f} percentage points, simulation "
            f"error +/- {1.96 * mcse:.1f}), is within simulation noise. More replicates or "
            "stronger interventions are needed to tell."
        )
    best = _management_row(data.management, scenario, target)
    holds = (
        "under every plausible parameter set" if hi < 0
        else "on average, though not under every plausible parameter set"
    )
    text = (
        f"'{label}' helps most: it changes the chance of any {name} infection from "
        f"{pct(best.baseline_p_any_infection)} to {pct(best.p_any_infection)} (change "
        f"{change:+.1f} percentage points, simulation error +/- {1.96 * mcse:.1f}; 95% interval "
        f"over the plausible parameter values {lo:+.1f} to {hi:+.1f}, so it helps {holds}); "
        f"resulting risk level {best.risk}."
    )
    options = data.management.get("option", pd.Series("yes", index=data.management.index))
    others = data.management[
        (data.management["target_species"] == target)
        & (~data.management["scenario"].isin([base, scenario])) & (options == "yes")
    ].sort_values("change_p_any_infection")
    if not others.empty:
        text += " Other scenarios: " + "; ".join(
            f"'{data.scenario(r.scenario)}' {points(r.change_p_any_infection)}"
            for r in others.itertuples()
        ) + "."
    return text
