"""Risk management: each transmission scenario (an intervention) against the baseline.

Scenarios share random numbers replicate by replicate (common random numbers), so the change an
intervention makes is measured pair by pair: the mean difference, the 95% interval of its value
over parameter sets (calibration posterior and assumption ranges) and its Monte Carlo standard
error (:mod:`disease_risk.montecarlo`). The option that lowers a target's chance of infection
most, by more than Monte Carlo noise, is :func:`most_effective`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

import pandas as pd

from disease_risk.montecarlo import Z95, split_uncertainty
from disease_risk.risk.evidence import (
    p_with_interval,
    population_size,
    require_columns,
    require_network,
    require_transmission,
    scenario_row,
)
from disease_risk.risk.scales import (
    RiskConfigError,
    RiskSettings,
    consequence_word,
    likelihood_word,
)
from disease_risk.tables import MANAGEMENT_COLUMNS, RELEASED_SUFFIX

NAN = float("nan")
Interval = tuple[float, float, float]  # estimate, lo95, hi95
Change = tuple[float, float, float, float]  # estimate, lo95, hi95, Monte Carlo standard error


def build_risk_management(
    transmission: pd.DataFrame,
    settings: RiskSettings,
    *,
    replicates: Mapping[str, pd.DataFrame] | None = None,
    network_summary: pd.DataFrame | None = None,
    compared_with: Mapping[str, str] | None = None,
    not_options: Collection[str] = (),
) -> pd.DataFrame:
    """Each scenario against the baseline (or the scenario ``compared_with`` names for it, e.g.
    a vaccinated release against the same release unvaccinated), per target species: change
    in infection probability and in deaths with 95% intervals, and the resulting risk level;
    the ``baseline_*`` columns are those of the scenario compared with. ``option`` is "no" for
    the baseline and for scenarios in ``not_options`` (hazard pathways such as the release
    itself: compared, never named as what helps).

    ``replicates`` maps scenario -> its replicate table (columns ``replicate``,
    ``infected_<species>``, ``deaths_<species>``, optionally ``parameter_set``). Changes are
    paired per replicate; without replicates the probability change treats the summaries'
    intervals as independent and the deaths change is left empty. ``rank`` orders scenarios
    by how much they lower the first target's infection probability (then its deaths).
    """
    require_transmission(transmission)
    require_network(network_summary)
    scenarios = set(transmission["scenario"].astype(str))
    for scenario, reference in (compared_with or {}).items():
        if reference not in scenarios:
            raise RiskConfigError(
                f"transmission.scenarios.{scenario}.compare_with: {reference!r} is not a "
                f"simulated scenario; use one of {sorted(scenarios)}"
            )
    rows = []
    for scenario in sorted(transmission["scenario"].astype(str).unique()):
        for target in settings.targets:
            reference = (compared_with or {}).get(scenario, settings.baseline_scenario)
            row = _management_row(
                transmission, scenario, reference, target, settings, replicates, network_summary
            )
            if row is not None:
                is_option = scenario != settings.baseline_scenario and scenario not in not_options
                rows.append({**row, "option": "yes" if is_option else "no"})
    table = pd.DataFrame(rows, columns=list(MANAGEMENT_COLUMNS))
    return _ranked(table, settings.targets[0])


def _management_row(
    transmission: pd.DataFrame,
    scenario: str,
    base: str,
    target: str,
    settings: RiskSettings,
    replicates: Mapping[str, pd.DataFrame] | None,
    network_summary: pd.DataFrame | None,
) -> dict | None:
    """One scenario x target row against scenario ``base`` (None when either lacks the
    target)."""
    row = scenario_row(transmission, scenario, target)
    base_row = scenario_row(transmission, base, target)
    if row is None or base_row is None:
        return None
    p, lo, hi = p_with_interval(row)
    bp, blo, bhi = p_with_interval(base_row)
    paired = _paired_changes(replicates, scenario, base, target)
    if paired is None:
        unpaired = _unpaired_change(scenario == base, (p, lo, hi), (bp, blo, bhi))
        paired = unpaired, (NAN, NAN, NAN, NAN), 0
    change, deaths_change, n_pairs = paired
    doses = mean_doses(replicates, scenario)
    cost = mean_cost(replicates, scenario, settings.dose_costs)
    likelihood, consequence = _risk_words(row, p, target, settings, network_summary)
    return {
        "scenario": scenario, "target_species": target, "compared_with": base,
        "p_any_infection": p, "p_any_infection_lo95": lo, "p_any_infection_hi95": hi,
        "baseline_p_any_infection": bp, "change_p_any_infection": change[0],
        "change_p_lo95": change[1], "change_p_hi95": change[2], "change_p_mcse": change[3],
        "days_to_first_case_median": float(row["days_to_first_case_median"]),
        "deaths_median": float(row["deaths_median"]),
        "deaths_hi95": float(row["deaths_hi95"]),
        "baseline_deaths_median": float(base_row["deaths_median"]),
        "change_deaths_mean": deaths_change[0],
        "change_deaths_lo95": deaths_change[1],
        "change_deaths_hi95": deaths_change[2], "change_deaths_mcse": deaths_change[3],
        "paired_replicates": n_pairs,
        "doses_mean": doses,
        **_averted_per_100_doses(deaths_change, doses),
        "cost_mean": cost,
        "cost_per_death_averted": cost / -deaths_change[0] if deaths_change[0] < 0 else NAN,
        "likelihood": likelihood, "consequence": consequence,
        "risk": settings.matrix.lookup(likelihood, consequence),
        "baseline_risk": settings.matrix.lookup(
            *_risk_words(base_row, bp, target, settings, network_summary)
        ),
    }


def mean_doses(replicates: Mapping[str, pd.DataFrame] | None, scenario: str) -> float:
    """Mean vaccine doses given in a replicate of ``scenario``, all species together (the
    ``vaccinated_<species>`` counts; released groups are counted within their species); NaN
    without replicates."""
    if not replicates or scenario not in replicates:
        return NAN
    table = replicates[scenario]
    groups = [c[len("infected_"):] for c in table.columns if c.startswith("infected_")]
    columns = [f"vaccinated_{g}" for g in groups if not g.endswith(RELEASED_SUFFIX)]
    require_columns(table, columns, f"replicates of {scenario!r}")
    return float(table[columns].sum(axis=1).mean())


def mean_cost(
    replicates: Mapping[str, pd.DataFrame] | None, scenario: str, per_dose: Mapping[str, float]
) -> float:
    """Mean cost of a replicate's doses (``vaccinated_<species>`` x that species' cost per
    dose); NaN without costs or replicates, or when a vaccinated species has no cost."""
    if not per_dose or not replicates or scenario not in replicates:
        return NAN
    table = replicates[scenario]
    cost = 0.0
    for column in table.columns:
        species = column.removeprefix("vaccinated_")
        if column == species or species.endswith(RELEASED_SUFFIX):
            continue
        doses = float(table[column].mean())
        if doses > 0 and species not in per_dose:
            return NAN
        cost += doses * float(per_dose.get(species, 0.0))
    return cost


def _averted_per_100_doses(deaths_change: Change, doses: float) -> dict[str, float]:
    """Deaths averted per 100 doses with its interval (the change in deaths, sign turned, per
    dose); NaN when the option gives no dose."""
    names = ("deaths_averted_per_100_doses", "deaths_averted_per_100_doses_lo95",
             "deaths_averted_per_100_doses_hi95")
    if not doses > 0:
        return dict.fromkeys(names, NAN)
    change, lo, hi, _ = deaths_change
    per_dose = (-100 * change / doses, -100 * hi / doses, -100 * lo / doses)
    return dict(zip(names, (v + 0.0 for v in per_dose), strict=True))  # no -0.0


def _risk_words(
    row: pd.Series,
    p: float,
    target: str,
    settings: RiskSettings,
    network_summary: pd.DataFrame | None,
) -> tuple[str, str]:
    """Likelihood word of ``p`` and consequence word of the row's 97.5% deaths quantile."""
    population = population_size(
        target, scenario_row=row, network_summary=network_summary,
        fallback=settings.population_sizes,
    )
    return (
        likelihood_word(p, settings.likelihood_thresholds),
        consequence_word(float(row["deaths_hi95"]) / population, settings.consequence_thresholds),
    )


def _unpaired_change(is_baseline: bool, scenario: Interval, baseline: Interval) -> Change:
    """Change in probability from two summaries, their intervals taken as independent normal
    ones (no Monte Carlo error of the change is known)."""
    p, lo, hi = scenario
    bp, blo, bhi = baseline
    change = p - bp
    se = 0.0 if is_baseline else math.hypot((hi - lo) / (2 * Z95), (bhi - blo) / (2 * Z95))
    return change, change - Z95 * se, change + Z95 * se, NAN


def _ranked(table: pd.DataFrame, first_target: str) -> pd.DataFrame:
    """``rank`` 1 = the scenario that lowers the first target's infection probability most."""
    if table.empty:
        return table
    order = (
        table[table["target_species"] == first_target]
        .sort_values(["change_p_any_infection", "change_deaths_mean", "scenario"])
        ["scenario"].tolist()
    )
    table["rank"] = table["scenario"].map({s: i + 1 for i, s in enumerate(order)})
    return table.sort_values(["rank", "target_species"], kind="stable").reset_index(drop=True)


def paired_change(a: pd.Series, b: pd.Series, parameter_set: pd.Series | None = None) -> Change:
    """Mean of the per-replicate difference ``a - b``, the normal 95% interval of its value over
    parameter sets and its Monte Carlo standard error; with one run per set (or no sets given)
    the interval is the Monte Carlo one, mean +/- 1.96 standard errors."""
    diff = a - b
    sets = parameter_set if parameter_set is not None else pd.Series(range(len(diff)), diff.index)
    split = split_uncertainty(diff.to_numpy(float), sets.to_numpy(), bounded=False)
    lo, hi = split.lo95, split.hi95
    if math.isnan(lo) or math.isnan(hi):
        lo, hi = split.estimate - Z95 * split.mcse, split.estimate + Z95 * split.mcse
    return split.estimate, lo, hi, split.mcse


def _paired_changes(
    replicates: Mapping[str, pd.DataFrame] | None, scenario: str, base: str, species: str
) -> tuple[Change, Change, int] | None:
    """Paired changes in infection probability and deaths of ``species`` and the number of
    pairs; None without replicate tables for both scenarios."""
    if not replicates or scenario not in replicates or base not in replicates:
        return None
    infected, deaths = f"infected_{species}", f"deaths_{species}"
    needed = ("replicate", infected, deaths)
    a = require_columns(replicates[scenario], needed, f"replicates of {scenario!r}")
    b = require_columns(replicates[base], needed, f"replicates of {base!r}")
    a, b = a.set_index("replicate"), b.set_index("replicate")
    common = a.index.intersection(b.index)
    a, b = a.loc[common], b.loc[common]
    sets = b.get("parameter_set")
    p_change = paired_change(
        (a[infected] > 0).astype(float), (b[infected] > 0).astype(float), sets
    )
    return p_change, paired_change(a[deaths], b[deaths], sets), len(common)


def clearly_lowers(row: pd.Series) -> bool:
    """The mean change in infection probability is below 0 by more than Monte Carlo noise
    (1.96 standard errors; without a Monte Carlo error, the whole interval below 0)."""
    mcse = float(row["change_p_mcse"])
    if math.isnan(mcse):
        return bool(row["change_p_hi95"] < 0)
    return bool(row["change_p_any_infection"] + Z95 * mcse < 0)


def most_effective(management: pd.DataFrame, target: str, baseline: str) -> pd.Series | None:
    """The scenario that lowers ``target``'s infection probability most (None if none does)."""
    rows = management[
        (management["target_species"] == target) & (management["scenario"] != baseline)
        & (management["option"] == "yes")
    ].sort_values(["change_p_any_infection", "change_deaths_mean", "scenario"])
    if rows.empty or not rows.iloc[0]["change_p_any_infection"] < 0:
        return None
    return rows.iloc[0]
