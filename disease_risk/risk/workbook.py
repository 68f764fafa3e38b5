"""What the DRA workbook says before its tables: a read-me sheet with the SIMULATED warning (when
an input is marked simulated), the order of the sheets (the Manual's steps) and the meaning of
every column a vet meets in them. Pure: the stage writes the sheets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

# Sheets in the order of the OIE/IUCN Manual (Jakob-Hoff et al. 2014) and what each holds.
SHEETS: dict[str, str] = {
    "hazards": "Hazard identification: every hazard, why it is included, its sources",
    "risk_estimation": "Risk assessment and estimation: release, exposure and consequence per "
    "hazard, target species and pathway, with the risk matrix's word",
    "losses": "Consequence in animals: the chance of losing at least as many animals as each "
    "consequence word starts at, per scenario and horizon",
    "risk_management": "Risk management: each option (scenario) against the baseline",
    "risk_management_long_term": "Risk management over the long horizon (20 years in the "
    "example)",
    "surveillance_plan": "Implementation and review: where to sample next season, ranked by "
    "what drives the risk",
    "assumptions_register": "Assumptions register: every assumed range, where it enters and how "
    "far it moves the answer",
}

DEFINITIONS: dict[str, str] = {
    "hazard": "disease agent assessed (cdv = canine distemper virus)",
    "target_species": "species (or released group) at risk",
    "pathway": "route by which the hazard reaches the target; all_pathways = any route",
    "basis": "quantified (from the models) or qualitative (words from the hazard list)",
    "scenario": "simulated management option; baseline = nothing extra done",
    "release_probability": "chance the hazard circulates in the pathway's source species over "
    "the simulated period",
    "exposure_probability": "chance the target is infected given release",
    "infection_probability": "chance at least one target animal is infected by this pathway "
    "over the simulated period",
    "_lo95 / _hi95": "95% interval of a probability over the plausible parameter values "
    "(calibration posterior and assumed ranges)",
    "_mcse": "Monte Carlo (simulation) standard error of the estimate: shrinks with more "
    "replicates, unlike the interval",
    "infection_by_source / infection_by_origin": "the pathway's share split by the species of "
    "the direct infector / of the species whose infection started the chain",
    "deaths_median / deaths_hi95": "deaths of the target from the hazard over the simulated "
    "period: median, and the number at most 2.5% of the simulations exceed",
    "share_lost_hi95": "deaths_hi95 / population size",
    "likelihood / consequence / risk": "the Manual's words; risk = risk matrix (likelihood, "
    "consequence); thresholds are in config/config.yaml risk:",
    "uncertainty": "low / medium / high, the worst of the reasons in uncertainty_reasons",
    "source_foi_*": "force of infection (new infections per susceptible animal-year) of the "
    "serology behind the row",
    "change_p_any_infection": "option's chance of any target infection minus the baseline's "
    "(negative = the option protects)",
    "change_deaths_mean": "option's mean deaths minus the baseline's",
    "paired_replicates": "simulations compared pair by pair (same parameters and luck in both)",
    "compared_with": "the scenario an option is compared with (the baseline unless set)",
    "option": "yes = a management option; no = the baseline or a hazard (the release itself)",
    "days_to_first_case_median": "days to the target's first infection, median over the "
    "simulations that have one",
    "doses_mean": "vaccine doses given in a simulation, on average",
    "deaths_averted_per_100_doses": "deaths of the target averted per 100 doses given",
    "cost_mean / cost_per_death_averted": "mean cost of an option's doses (config risk.dose_costs) "
    "and that cost per target death averted",
    "horizon_years": "the simulated period the row is about",
    "animals / p_lose_at_least": "animals at which a consequence word starts (its share of the "
    "population, at least one) and the chance of losing at least that many",
    "rank": "1 = the option that lowers the first target's chance of infection most",
    "moves_infection_<target>": "how far the assumption moves the target's chance of infection "
    "across its range (Morris mu_star, or the one-at-a-time change for population sizes)",
    "serology": "what the calibration to the serology says of the assumption (identified, "
    "weakly identified, not identified (prior), or not informed)",
}


def read_me(
    title: str, simulated: Sequence[str], sheets: Mapping[str, str] = SHEETS
) -> pd.DataFrame:
    """The read-me sheet: ``item`` and ``text`` rows (warning first when inputs are simulated),
    then the sheets in order and the column definitions."""
    rows: list[tuple[str, str]] = [("title", title)]
    if simulated:
        rows.append((
            "WARNING",
            "SIMULATED DATA: these inputs are marked simulated and the numbers are not for "
            "decisions: " + ", ".join(simulated),
        ))
    rows += [(f"sheet: {name}", text) for name, text in sheets.items()]
    rows += [(f"column: {name}", text) for name, text in DEFINITIONS.items()]
    return pd.DataFrame(rows, columns=["item", "text"])
