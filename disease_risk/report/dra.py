"""The DRA in the order of the OIE/IUCN Manual (Jakob-Hoff et al. 2014): the written parts of
``config/dra.yaml`` and the tables of each step in a vet's words.

- :func:`load_dra`: ``config/dra.yaml``, validated against ``schemas/dra.schema.yaml``;
- :func:`scenario_labels`: a readable name for every transmission scenario;
- :func:`hazard_identification`, :func:`risk_assessment`, :func:`risk_estimation`,
  :func:`risk_management`, :func:`assumptions_register`: the tables of sections 2 to 8;
- :data:`GLOSSARY`: the words of the tables explained.

Everything here is computed from tables already read; only :func:`load_dra` reads a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.config import ConfigFileError, read_yaml
from disease_risk.report.data import SpeciesNames
from disease_risk.report.words import count, interval, missing, number, pct
from disease_risk.risk.attribution import ALL_PATHWAYS, pathway_label
from disease_risk.risk.estimation import SEROLOGY_BASIS
from disease_risk.risk.scales import RiskSettings

PLACEHOLDER = "placeholder"
PLACEHOLDER_ROW = (  # what a placeholder hazard's row says
    "PLACEHOLDER ratings: example words, not reviewed by the DRA team, not Lewis et al. "
    "2019's rankings"
)
MOVES_PREFIX = "moves_infection_"
BASELINE_LABEL = "no extra intervention"  # the baseline scenario's name unless it has a label


def load_dra(path: str | Path) -> dict[str, Any]:
    """``config/dra.yaml``: problem description, hazards left out, monitoring and triggers,
    risk communication; errors name the file and every violation of the schema."""
    return read_yaml(path, "dra.schema.yaml", ConfigFileError)


def placeholder_hazards(hazard_list: Iterable[Mapping[str, Any]]) -> set[str]:
    """Ids of the hazards whose qualitative ratings are placeholders (``ratings: placeholder``
    in ``config/hazards.yaml``)."""
    return {h["id"] for h in hazard_list if h.get("ratings") == PLACEHOLDER}


# --- scenario names -----------------------------------------------------------------------------


def scenario_label(key: str, spec: Mapping[str, Any] | None, names: SpeciesNames,
                   baseline: str = "baseline") -> str:
    """A scenario as a reader names it: the config's ``label``, else what the scenario does
    (``vaccinate_per_year: {amur_leopard: 5}`` reads "vaccinate 5 Far Eastern (Amur) leopards
    a year"), else its key with spaces."""
    spec = spec or {}
    if spec.get("label"):
        return str(spec["label"])
    parts = []
    for species, share in spec.get("vaccination_coverage", {}).items():
        parts.append(f"vaccinate {pct(share)} of {names(species)}s")
    for species, n in spec.get("vaccinate_per_year", {}).items():
        parts.append(f"vaccinate {n} {names(species)}{'s' if n != 1 else ''} a year")
    release = spec.get("release")
    if release:
        parts.append(f"release {release['n']} zoo-born {names(release['species'])}"
                     f"{'s' if release['n'] != 1 else ''} at the "
                     f"{str(release['site']).replace('_', ' ')}"
                     + (", vaccinated before release" if release.get("vaccinated") else ""))
    for species, n in spec.get("index_cases", {}).items():
        parts.append(f"{n} {names(species)} index case{'s' if n != 1 else ''}")
    if parts:
        return "; ".join(parts)
    if key == baseline:
        return BASELINE_LABEL
    return key.replace("_", " ")


def scenario_labels(scenarios: Mapping[str, Any] | None, keys: Iterable[str],
                    names: SpeciesNames, baseline: str = "baseline") -> dict[str, str]:
    """Every scenario of the config and of ``keys`` (the result tables') -> its readable name."""
    scenarios = dict(scenarios or {})
    every = list(dict.fromkeys([*scenarios, *keys]))
    return {k: scenario_label(k, scenarios.get(k), names, baseline) for k in every}


# --- section 2: hazard identification -----------------------------------------------------------


def hazard_identification(hazards: pd.DataFrame, placeholders: set[str], names: SpeciesNames,
                          settings: RiskSettings) -> pd.DataFrame:
    """Every hazard of the list: how it is assessed (placeholders say so), the species it
    affects, its pathways, why it is included and its sources."""
    rows = []
    for r in hazards.itertuples():
        if r.assessment.startswith("quantified"):
            how = "quantified by this run (transmission model calibrated to serology)"
        elif r.assessment.startswith("release and exposure from serology"):
            flag = f"; other words: {PLACEHOLDER_ROW}" if r.hazard in placeholders else ""
            how = r.assessment.replace("serology", "this run's serology", 1) + flag
        elif r.hazard in placeholders:
            how = f"qualitative; {PLACEHOLDER_ROW}"
        else:
            how = "qualitative (the DRA team's reviewed judgement)"
        species = [s.strip() for s in str(r.affected_species).split(",") if s.strip()]
        pathways = [p.strip() for p in str(r.pathways).split(",") if p.strip()]
        rows.append({
            "hazard": f"{r.name} ({r.agent})",
            "assessment": how,
            "affected species": ", ".join(names(s) for s in species),
            "pathways": ", ".join(pathway_label(p, settings.pathways) for p in pathways),
            "why included": r.why_included,
            "sources": r.sources,
        })
    return pd.DataFrame(rows)


def excluded_hazards(dra: Mapping[str, Any]) -> pd.DataFrame | None:
    """The hazards ``config/dra.yaml`` lists as considered and left out, with why."""
    excluded = dra.get("hazard_identification", {}).get("excluded", [])
    if not excluded:
        return None
    return pd.DataFrame([{"hazard": e["hazard"], "why excluded": e["why_excluded"],
                          "sources": "; ".join(e["sources"])} for e in excluded])


# --- section 3: risk assessment -----------------------------------------------------------------


def carried_by_moved_animals(row: Any, settings: RiskSettings) -> bool:
    """True for a hazard the moved animals carry (release in the Manual's sense for a
    translocation): a qualitative row of a pathway that is a scenario (the release of zoo-born
    leopards). The quantified row of that pathway is the released group meeting CDV at the
    destination."""
    spec = settings.pathways.get(row.pathway, {})
    return "scenario" in spec and row.basis != "quantified"


def _word(word: Any, p: float, lo: float = float("nan"), hi: float = float("nan")) -> str:
    """A scale word with its probability and interval: ``moderate: 32% (26% to 38%)``."""
    word = "" if missing(word) else str(word)
    if missing(p):
        return word
    return f"{word}: {interval(p, lo, hi)}" if word else interval(p, lo, hi)


def _marked(word: Any, p: float, lo: float, hi: float, basis: Any) -> str:
    """A judged hazard's release or exposure word with where it comes from: the serology (its
    posterior median and 95% interval, n tested) or the DRA team's judgement."""
    basis = "" if missing(basis) else str(basis)
    if basis.startswith("serology"):
        n = basis.rsplit("n = ", 1)[-1].split(")")[0]
        return f"{_word(word, p, lo, hi)} [from serology, median, n = {n}]"
    return f"{word} [{basis}]" if basis else str(word)


def _consequence(r: Any, names: SpeciesNames) -> str:
    """Deaths of the target: the word, median and 97.5% quantile out of the population."""
    if missing(r.deaths_hi95):
        return str(r.consequence)
    of = f" of {count(r.population_size)}" if not missing(r.population_size) else ""
    share = f" ({pct(r.share_lost_hi95)})" if not missing(r.share_lost_hi95) else ""
    return (f"{r.consequence}: median {count(r.deaths_median)} deaths, up to "
            f"{count(r.deaths_hi95)}{of}{share} in the worst 2.5%")


def _narrative(r: Any, names: SpeciesNames, labels: Mapping[str, str],
               placeholders: set[str]) -> str:
    """One sentence on the evidence behind a row."""
    if r.basis != "quantified":
        flag = f"{PLACEHOLDER_ROW}. " if r.hazard in placeholders else "Expert judgement. "
        if r.basis == SEROLOGY_BASIS:
            flag = ("Release and exposure from this run's serology where it exists (true "
                    "seroprevalence stands for the likelihood: assumptions register); "
                    f"consequence by judgement. {flag}")
        return f"{flag}{r.uncertainty_reasons}"
    scenario = labels.get(str(r.scenario), str(r.scenario).replace("_", " "))
    serology = ""
    if not missing(r.source_n_tested):
        share = interval(r.source_prevalence_median, r.source_prevalence_lo95,
                         r.source_prevalence_hi95)
        serology = (
            f"serology of {names(r.serology_species)} ({int(r.source_n_tested)} tested, "
            f"{share} have met CDV) calibrates the model; "
        )
    return (
        f"Simulated with the calibrated transmission model, scenario '{scenario}': {serology}"
        f"uncertainty {r.uncertainty} ({r.uncertainty_reasons})."
    )


def hazard_names(hazards: pd.DataFrame) -> dict[str, str]:
    """Hazard id -> its name (``config/hazards.yaml``)."""
    return dict(zip(hazards["hazard"].astype(str), hazards["name"].astype(str), strict=True))


def risk_assessment(estimation: pd.DataFrame, settings: RiskSettings, names: SpeciesNames,
                    labels: Mapping[str, str], placeholders: set[str],
                    moved: bool, hazards: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Release, exposure and consequence assessment per hazard, target and pathway, each a
    probability with its 95% interval where the run quantifies it, and a sentence on the
    evidence. ``moved``: the hazards carried by the moved animals (True) or the hazards met
    at the destination (False); ``hazards``: hazard id -> name."""
    hazards = hazards or {}
    rows = []
    for r in estimation.itertuples():
        if carried_by_moved_animals(r, settings) != moved:
            continue
        quantified = r.basis == "quantified"
        mc = (f"; Monte Carlo error +/- {100 * 1.96 * r.infection_mcse:.1f} points"
              if quantified and not missing(r.infection_mcse) else "")
        infection = _word(r.likelihood, r.infection_probability, r.infection_lo95,
                          r.infection_hi95)
        rows.append({
            "hazard": hazards.get(r.hazard, r.hazard),
            "target": names(r.target_species),
            "pathway": pathway_label(r.pathway, settings.pathways),
            "release": _word(r.release_likelihood, r.release_probability, r.release_lo95,
                             r.release_hi95) if quantified else _marked(
                r.release_likelihood, r.release_probability, r.release_lo95, r.release_hi95,
                r.release_basis),
            "exposure": _word(r.exposure_likelihood, r.exposure_probability) if quantified
            else _marked(r.exposure_likelihood, r.exposure_probability, r.exposure_lo95,
                         r.exposure_hi95, r.exposure_basis),
            "chance of infection (95% interval)": infection + mc,
            "consequence": _consequence(r, names),
            "evidence": _narrative(r, names, labels, placeholders),
        })
    return pd.DataFrame(rows)


# --- section 4: risk estimation -----------------------------------------------------------------


def risk_estimation(estimation: pd.DataFrame, settings: RiskSettings, names: SpeciesNames,
                    placeholders: set[str], hazards: Mapping[str, str] | None = None
                    ) -> pd.DataFrame:
    """Likelihood, consequence, risk and uncertainty per hazard, target and pathway (the
    target's all-pathways row is its overall rating); ``hazards``: hazard id -> name."""
    hazards = hazards or {}
    rows = []
    for r in estimation.itertuples():
        rows.append({
            "hazard": hazards.get(r.hazard, r.hazard),
            "target": names(r.target_species),
            "pathway": pathway_label(r.pathway, settings.pathways)
            + (" (overall rating)" if r.pathway == ALL_PATHWAYS else ""),
            "likelihood": _word(r.likelihood, r.infection_probability),
            "consequence": str(r.consequence),
            "risk": str(r.risk),
            "uncertainty": str(r.uncertainty),
            "rated by": ("PLACEHOLDER (not reviewed)" if r.hazard in placeholders
                         else "this run's model" if r.basis == "quantified" else "DRA team")
            + (" (release/exposure from serology)" if r.basis == SEROLOGY_BASIS else ""),
        })
    return pd.DataFrame(rows)


# --- section 5: risk management -----------------------------------------------------------------


def signed(x: float, digits: int = 1) -> str:
    """A signed change with ``digits`` decimals, never ``-0.0``."""
    text = f"{x:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def _change(p: float, lo: float, hi: float, scale: float = 100) -> str:
    """A change with its 95% interval: ``-20.0 (-25.6 to -14.4)``."""
    if any(missing(v) for v in (p, lo, hi)):
        return ""
    return f"{signed(scale * p)} ({signed(scale * lo)} to {signed(scale * hi)})"


def risk_management(management: pd.DataFrame, names: SpeciesNames,
                    labels: Mapping[str, str], baseline: str = "baseline",
                    currency: str = "") -> pd.DataFrame:
    """Each option against the baseline (or the scenario it is compared with): chance of
    infection, its change (95% interval over parameter sets, the Monte Carlo error apart),
    change in deaths, deaths averted per 100 vaccine doses, time to the first case and cost
    (when the config prices doses; the column is left out otherwise) where the risk stage gives
    them, and the resulting risk (the compared scenario's in brackets)."""
    nan = float("nan")
    rows = []
    for r in management.sort_values(["target_species", "rank"]).itertuples():
        option = labels.get(r.scenario, str(r.scenario).replace("_", " "))
        against = getattr(r, "compared_with", baseline)
        against = baseline if missing(against) or not against else str(against)
        if r.scenario == baseline:
            change = deaths = "baseline"
            mc = averted = ""
        else:
            if against != baseline:
                option += f" (against: {labels.get(against, against.replace('_', ' '))})"
            change = _change(r.change_p_any_infection, r.change_p_lo95, r.change_p_hi95)
            mc = "" if missing(r.change_p_mcse) else f"+/- {100 * 1.96 * r.change_p_mcse:.1f}"
            deaths = _change(r.change_deaths_mean, r.change_deaths_lo95, r.change_deaths_hi95,
                             scale=1)
            a, lo, hi = (getattr(r, f"deaths_averted_per_100_doses{s}", nan)
                         for s in ("", "_lo95", "_hi95"))
            averted = ("" if missing(a) else f"{number(a)} ({number(lo)} to {number(hi)})"
                       if not (missing(lo) or missing(hi)) else number(a))
        first_case = getattr(r, "days_to_first_case_median", nan)
        cost = getattr(r, "cost_mean", nan)
        per_death = getattr(r, "cost_per_death_averted", nan)
        rows.append({
            "rank": r.rank,
            "option (scenario)": option,
            "target": names(r.target_species),
            "chance of any infection (95% interval)": interval(
                r.p_any_infection, r.p_any_infection_lo95, r.p_any_infection_hi95),
            "change, points (95% interval)": change,
            "Monte Carlo error, points": mc,
            "change in deaths (95% interval)": deaths,
            "deaths averted per 100 doses (95% interval)": averted,
            "time to first case (median of runs with one)": _duration(first_case),
            f"cost{currency and f' ({currency})'} (per death averted)": (
                "" if missing(cost) or cost == 0 else f"{number(cost)} ("
                + (f"{number(per_death)} per death averted)" if not missing(per_death)
                   else "no death averted)")
            ),
            "risk (compared scenario's)": f"{r.risk} ({r.baseline_risk})",
        })
    table = pd.DataFrame(rows)
    cost_column = table.columns[table.columns.str.startswith("cost")]
    if len(cost_column) and not table[cost_column[0]].astype(bool).any():
        table = table.drop(columns=cost_column)
    return table


def _duration(days: float) -> str:
    """Days as a reader takes them: ``45 days`` under a year, ``2.5 years`` beyond."""
    if missing(days):
        return ""
    return f"{days:.0f} days" if days < 365.25 else f"{days / 365.25:.1f} years"


def loss_chances(losses: pd.DataFrame | None, names: SpeciesNames,
                 scenario: str = "baseline") -> pd.DataFrame | None:
    """For one scenario: per target and consequence level, the animals lost at which the level
    starts and the chance (95% interval over parameter sets) of losing at least that many, one
    column per horizon."""
    if losses is None or losses.empty:
        return None
    rows = losses[losses["scenario"].astype(str) == scenario]
    out = []
    for (target, word), group in rows.groupby(["target_species", "consequence"], sort=False):
        first = group.iloc[0]
        row = {
            "target": names(str(target)),
            "consequence level": str(word),
            "animals lost (share of population)": (
                f"{int(first['animals'])} or more ({first['share_of_population']:.1%} and up)"),
        }
        for g in group.sort_values("horizon_years").itertuples():
            row[f"chance within {number(g.horizon_years)} years (95% interval)"] = interval(
                g.p_lose_at_least, g.p_lose_lo95, g.p_lose_hi95)
        out.append(row)
    return pd.DataFrame(out)


# --- section 8: assumptions register ------------------------------------------------------------


def moves_columns(register: pd.DataFrame, targets: Sequence[str]) -> list[str]:
    """The register's ``moves_infection_<target>`` columns, configured targets first."""
    present = [c for c in register.columns if c.startswith(MOVES_PREFIX)]
    first = [f"{MOVES_PREFIX}{t}" for t in targets if f"{MOVES_PREFIX}{t}" in present]
    return first + [c for c in present if c not in first]


def assumptions_register(register: pd.DataFrame | None, targets: Sequence[str],
                         names: SpeciesNames) -> pd.DataFrame | None:
    """The assumptions register, largest effect on the first target's chance of infection
    first: label, kind, range, where it enters, what the serology says, source, and how far it
    moves each target's chance of infection across its range (percentage points)."""
    if register is None or register.empty:
        return register
    moves = moves_columns(register, targets)
    ordered = (register.sort_values(moves[0], ascending=False, kind="stable", na_position="last")
               if moves else register)
    rows = []
    for r in ordered.to_dict("records"):
        label = r.get("label")
        row = {
            "assumption": label if not missing(label) and label else r["assumption"],
            "kind": r["kind"],
            "range": f"{number(r['low'])} to {number(r['high'])}",
            "where it enters": r["where_it_enters"],
            "serology": r["serology"],
            "source": r["source"],
        }
        for column in moves:
            target = names(column.removeprefix(MOVES_PREFIX))
            value = r[column]
            row[f"moves {target}'s chance of infection"] = (
                "n/a" if missing(value) else f"{100 * value:.1f} points")
        rows.append(row)
    return pd.DataFrame(rows)


# --- glossary -----------------------------------------------------------------------------------

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("Seroprevalence (apparent)", "Share of tested animals with antibodies to CDV, as the "
     "test reads them: an animal with antibodies met the virus and survived."),
    ("True prevalence", "Seroprevalence corrected for the test's sensitivity and specificity "
     "(false negatives and false positives); the figures of this report are true prevalence."),
    ("Force of infection (FOI)", "New CDV infections per susceptible animal per year, "
     "estimated from how the share of seropositive animals rises with age."),
    ("Release (Manual sense)", "For a translocation: the hazard carried by the moved animals "
     "into the destination. For a hazard met at the destination, the chance it is present in "
     "its source species there."),
    ("Exposure", "The chance that a target animal catches the hazard once it is present."),
    ("Consequence", "How many target animals could die: the number of deaths that at most "
     "2.5% of the simulations exceed, as a share of the population, rated on the consequence "
     "scale. A level is reached when losing its animals has a chance above 2.5% (the table "
     "'Chance of losing animals' gives the animals and chances)."),
    ("Reactive vaccination", "Vaccinating once a case is detected: each sick or dead animal of "
     "the watched species is found with an assumed chance, and the round follows the first "
     "one found after a set delay."),
    ("Cost per death averted", "The mean cost of an option's vaccine doses (configured cost "
     "per dose and species) divided by the target deaths it averts on average."),
    ("Likelihood, consequence and risk words", "Likelihood: negligible (can be ignored), very "
     "low (rare), low (unlikely), moderate (less than an even chance), high (expected to "
     "occur), with the probability bounds of section 4; risk combines likelihood and "
     "consequence through the risk matrix (Jakob-Hoff et al. 2014)."),
    ("Uncertainty (low / medium / high)", "How sure a rating is, from the width of the "
     "serology intervals, the number of animals tested, the model fits and the sensitivity "
     "analysis; the reasons are given in each row."),
    ("95% interval over parameter sets", "The range within which the answer falls for 95% of "
     "the plausible parameter values (calibration posterior and configured ranges): the "
     "uncertainty about the world, not the simulation's noise."),
    ("Monte Carlo error (MCSE, *_mcse)", "The simulation's own noise: how much an estimate "
     "would change with another set of random simulations; shown as +/- 1.96 times the "
     "standard error. More replicates make it smaller; they do not narrow the 95% interval."),
    ("Percentage points", "A difference between two percentages: from 40% to 20% is -20 "
     "points."),
    ("ABC-SMC", "Approximate Bayesian computation by sequential Monte Carlo (pyabc): keeps the "
     "parameter values whose simulated infections match the serology."),
    ("Identified / not identified (prior)", "Whether the serology narrowed a calibrated "
     "parameter's range to under half; if not, the answer rests on the configured range."),
    ("Morris mu* (mu_star)", "Sensitivity analysis: the average change of an answer when one "
     "assumption moves across its range, the others held; the larger, the more the answer "
     "rests on that assumption."),
    ("R-hat", "Convergence check of a Bayesian model fit: chains that agree give R-hat close "
     "to 1; above 1.01 the fit is not trusted."),
    ("ESS (effective sample size)", "How many independent draws the fit's samples are worth; "
     "under 400 the intervals are not trusted."),
    ("Divergences", "Steps where the sampler failed; any divergence makes a fit suspect."),
    ("Posterior predictive check", "The fitted model simulates the observed counts again; "
     "observed counts outside its 95% interval show what the model misses."),
    ("Scenario", "One management option (or the baseline, no extra intervention) simulated "
     "with the same parameter sets, so that options are compared pair by pair."),
)
