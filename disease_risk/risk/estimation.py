"""Risk estimation: one row per hazard x target species x pathway (OIE/IUCN 2014).

CDV is quantified from this run. Infection: the target's chance of any infection in the baseline
scenario, split between pathways by the simulated infection chains (who infected whom,
:mod:`disease_risk.risk.attribution`), so the pathway rows of a target add up to its
``all_pathways`` row; a pathway that is a scenario (a release of zoo-born animals) gives the
chance for the released group. Release = how often CDV circulates in the pathway's most-infected
source species; exposure = infection / release; consequence = the 97.5% quantile of deaths as a
share of the population; uncertainty from the serology behind the row and the model
diagnostics. Other hazards take the qualitative words of the hazard list, except release and
exposure where their pathogen has serology (:mod:`disease_risk.risk.serology_words`); each
word's ``*_basis`` says whether it comes from data or judgement, and ``method`` how each number
was obtained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from disease_risk.risk.attribution import (
    ALL_PATHWAYS,
    INDEX_CASES,
    OUTSIDE_LANDSCAPE,
    OWN_SPECIES,
    ChainAttribution,
    PathwayLikelihood,
    attribute_infections,
)
from disease_risk.risk.evidence import (
    fits_reliable,
    n_tested,
    p_with_interval,
    population_size,
    relative_width,
    require_network,
    require_transmission,
    scenario_row,
    serology_species,
    source_evidence,
)
from disease_risk.risk.scales import (
    AssumptionDriver,
    RiskConfigError,
    RiskSettings,
    combine_likelihoods,
    consequence_word,
    likelihood_word,
    uncertainty_level,
)
from disease_risk.risk.serology_words import (
    JUDGEMENT,
    pathogen_species,
    words_from_serology,
)
from disease_risk.tables import (
    ESTIMATION_COLUMNS,
    INDEX_SOURCE,
    OUTSIDE_SOURCE,
    RELEASED_SUFFIX,
)

NAN = float("nan")
INTERVAL_WORDS = (
    "95% interval of the probability over parameter sets (calibration posterior and "
    "assumption ranges), Monte Carlo error apart in infection_mcse"
)
Release = tuple[float, float, float, str]  # probability, lo95, hi95, source species
# Pathways whose release is certain by the model's construction, and how ``method`` says so.
CERTAIN_RELEASE: dict[str, tuple[Release, str]] = {
    OUTSIDE_LANDSCAPE: (
        (1.0, 1.0, 1.0, OUTSIDE_SOURCE),
        "1: the model takes CDV as always present beyond the landscape (outside infection at "
        "a constant annual rate)",
    ),
    INDEX_CASES: ((1.0, 1.0, 1.0, INDEX_SOURCE), "1: the scenario places the index cases"),
}
SEROLOGY_BASIS = "serology and judgement"  # a judged hazard's row with words from serology
SIMULATED_BASIS = "transmission model (see method)"  # CDV words: simulated, serology-calibrated
ATTRIBUTION_WORDS = {
    "source": "the species of the direct infector",
    "origin": "the species whose spillover or index case started the chain",
}


@dataclass(frozen=True)
class CdvEvidence:
    """This run's evidence behind every quantified (CDV) row."""

    settings: RiskSettings
    transmission: pd.DataFrame
    replicates: Mapping[str, pd.DataFrame]
    prevalence: pd.DataFrame
    foi: pd.DataFrame
    network_summary: pd.DataFrame | None
    fits_reliable: bool
    sensitivity: pd.DataFrame | None = None  # Morris indices (results/sensitivity/indices.tsv)

    def assumption_driver(self, group: str) -> AssumptionDriver | None:
        """The assumption with the largest Morris ``mu_star`` on ``group``'s chance of
        infection (output ``p_infection_<group>``); None without that output."""
        if self.sensitivity is None:
            return None
        rows = self.sensitivity[self.sensitivity["output"].astype(str) == f"p_infection_{group}"]
        if rows.empty:
            return None
        top = rows.sort_values(["mu_star", "parameter"], ascending=[False, True]).iloc[0]
        return AssumptionDriver(
            str(top["parameter"]), str(top["kind"]), float(top["mu_star"]),
            float(top["mu_star_conf"]), str(top.get("label", "") or ""),
        )

    def reservoir_species(self) -> list[str]:
        """Simulated species that are neither targets nor released groups (sorted)."""
        return [
            s for s in sorted(set(self.transmission["species"].astype(str)))
            if s not in self.settings.targets and not s.endswith(RELEASED_SUFFIX)
        ]

    def simulated_species(self, scenario: str) -> list[str]:
        """Species of ``scenario`` in the transmission summary, released groups left out."""
        rows = self.transmission[self.transmission["scenario"].astype(str) == scenario]
        return sorted(
            s for s in set(rows["species"].astype(str)) if not s.endswith(RELEASED_SUFFIX)
        )

    def baseline_replicates(self) -> pd.DataFrame:
        """The replicate table of the baseline scenario (its infection chains)."""
        base = self.settings.baseline_scenario
        if base not in self.replicates:
            raise RiskConfigError(
                f"no replicate table for the baseline scenario {base!r} (risk.baseline_scenario); "
                f"scenarios with one: {sorted(self.replicates)}"
            )
        return self.replicates[base]


def build_risk_estimation(
    *,
    hazards: Sequence[Mapping[str, Any]],
    settings: RiskSettings,
    transmission: pd.DataFrame,
    replicates: Mapping[str, pd.DataFrame],
    prevalence: pd.DataFrame,
    foi: pd.DataFrame,
    diagnostics: pd.DataFrame,
    network_summary: pd.DataFrame | None,
    sensitivity: pd.DataFrame | None = None,
    hazard_serology: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Risk estimation: one row per hazard x target species x pathway.

    CDV rows are computed from ``transmission`` (summary by scenario and species),
    ``replicates`` (scenario -> replicate table; the baseline's infection chains split each
    target's infections between pathways), ``prevalence`` (species-level serology, indexed by
    species), ``foi`` (latest FOI per species) and ``network_summary`` (population sizes); other
    hazards take their words from the hazard list, release and exposure from
    ``hazard_serology`` (every pathogen's species-level true prevalence) where it has their
    pathogen. ``method`` says how each number was obtained.
    """
    evidence = CdvEvidence(
        settings=settings,
        transmission=require_transmission(transmission),
        replicates=replicates,
        prevalence=prevalence,
        foi=foi,
        network_summary=require_network(network_summary),
        fits_reliable=fits_reliable(diagnostics),
        sensitivity=sensitivity,
    )
    rows: list[dict[str, Any]] = []
    for hazard in hazards:
        if hazard["quantified"]:
            rows += _cdv_rows(hazard["id"], evidence)
        else:
            rows += _qualitative_rows(hazard, settings, hazard_serology)
    return pd.DataFrame(rows, columns=list(ESTIMATION_COLUMNS))


def pathway_assessed_for(hazard_id: str, spec: Mapping[str, Any]) -> bool:
    """Whether a pathway is assessed for a hazard (its ``hazards`` list; default every one)."""
    return hazard_id in spec.get("hazards", [hazard_id])


def _qualitative_rows(
    hazard: Mapping[str, Any], settings: RiskSettings, serology: pd.DataFrame | None = None
) -> list[dict]:
    """Rows of a hazard the transmission model does not simulate: the hazard list's words and
    rationale, release and exposure from the hazard's serology where there is some."""
    rows = []
    fitted = pathogen_species(serology, hazard["id"])
    for a in hazard.get("assessment", []):
        spec = settings.pathways.get(a["pathway"])
        if spec is None or not pathway_assessed_for(hazard["id"], spec):
            allowed = sorted(n for n, p in settings.pathways.items()
                             if pathway_assessed_for(hazard["id"], p))
            raise RiskConfigError(
                f"hazard {hazard['id']!r}: pathway {a['pathway']!r} is not one of the "
                f"risk.pathways assessed for it {allowed}; fix config/hazards.yaml or the config "
                "(a pathway's hazards list)"
            )
        for target in a["targets"]:
            words = words_from_serology(
                a, target, spec, fitted, settings.likelihood_thresholds
            )
            from_serology = words.pop("from_serology")
            likelihood = combine_likelihoods(
                words["release_likelihood"], words["exposure_likelihood"]
            )
            rows.append(
                {
                    "hazard": hazard["id"], "target_species": target, "pathway": a["pathway"],
                    "basis": SEROLOGY_BASIS if from_serology else "qualitative",
                    "scenario": "",
                    "source_species": ", ".join(spec.get("sources", [])),
                    **words,
                    "likelihood": likelihood, "consequence": a["consequence"],
                    "consequence_basis": JUDGEMENT,
                    "risk": settings.matrix.lookup(likelihood, a["consequence"]),
                    "uncertainty": a["uncertainty"], "uncertainty_reasons": a["rationale"],
                    "method": _judged_method(words, from_serology),
                }
            )
    return rows


def _judged_method(words: Mapping[str, Any], from_serology: bool) -> str:
    """How a judged row's words were obtained."""
    if not from_serology:
        return "expert judgement from config/hazards.yaml (no serology for this hazard here)"
    return (
        f"release: {words['release_basis']}; exposure: {words['exposure_basis']}; words from "
        "the posterior median on risk.likelihood_thresholds (seroprevalence stands for the "
        "likelihood: see the assumptions register); consequence and uncertainty: expert "
        "judgement from config/hazards.yaml"
    )


def _cdv_rows(hazard_id: str, evidence: CdvEvidence) -> list[dict]:
    """The quantified rows of each target: its pathways split by the infection chains of the
    baseline scenario, their total, then the pathways that are scenarios."""
    settings = evidence.settings
    base = settings.baseline_scenario
    rows = []
    for target in settings.targets:
        pathways = {
            name: spec for name, spec in settings.pathways.items()
            if target in spec.get("targets", settings.targets)
            and pathway_assessed_for(hazard_id, spec)
        }
        source_pathways = {name: spec for name, spec in pathways.items() if "scenario" not in spec}
        species = evidence.simulated_species(base)
        chains = attribute_infections(
            evidence.baseline_replicates(), target, species, source_pathways,
            what=f"replicates of {base!r}",
        )
        for name in chains.pathways(list(source_pathways)):
            rows.append(_chain_row(hazard_id, target, name, chains, evidence))
        rows.append(_total_row(hazard_id, target, chains, evidence))
        for name, spec in pathways.items():
            if "scenario" in spec:
                rows.append(_scenario_pathway_row(hazard_id, target, name, spec, evidence))
    return rows


def _chain_row(
    hazard_id: str,
    target: str,
    pathway: str,
    chains: ChainAttribution,
    evidence: CdvEvidence,
) -> dict[str, Any]:
    """One pathway of a target in the baseline: its share of the target's chance of infection
    by the infection chains."""
    attribution = evidence.settings.attribution
    base = evidence.settings.baseline_scenario
    if pathway in CERTAIN_RELEASE:
        release, words = CERTAIN_RELEASE[pathway]
        species = [target]
    else:
        species = (
            [target] if pathway == OWN_SPECIES
            else [s for s, p in chains.species_pathway.items() if p == pathway]
        )
        release = _most_infected(evidence.transmission, base, species, evidence.prevalence)
        words = "probability CDV circulates in the pathway's most-infected species"
    method = (
        f"scenario {base!r}, {chains.replicates} replicates in {chains.parameter_sets} "
        "parameter sets: infection = mean over replicates "
        "of [target infected] x the share of its infections attributed to this pathway by "
        f"{ATTRIBUTION_WORDS[attribution]} (risk.attribution: {attribution}; "
        f"infection_by_source and infection_by_origin give both ways), {INTERVAL_WORDS}; "
        f"release = {words}"
    )
    return _quantified_row(
        hazard_id, target, pathway, base,
        infection=chains.likelihood(pathway, attribution), total=chains.total,
        by_source=chains.likelihood(pathway, "source"),
        by_origin=chains.likelihood(pathway, "origin"),
        release=release, serology_sources=species, method=method, evidence=evidence,
    )


def _total_row(
    hazard_id: str, target: str, chains: ChainAttribution, evidence: CdvEvidence
) -> dict[str, Any]:
    """All pathways of a target together: its chance of any infection in the baseline, the
    sum of its pathway rows; the overall risk is rated on it."""
    method = (
        f"scenario {evidence.settings.baseline_scenario!r}, {chains.replicates} replicates in "
        f"{chains.parameter_sets} parameter sets: "
        "infection = share of replicates in which any target animal is infected, the sum of "
        f"the target's pathway rows (the overall risk is rated on it), {INTERVAL_WORDS}; "
        "release = probability CDV circulates in the most-infected reservoir species"
    )
    base = evidence.settings.baseline_scenario
    reservoirs = evidence.reservoir_species()
    return _quantified_row(
        hazard_id, target, ALL_PATHWAYS, base,
        infection=chains.total, total=chains.total, by_source=chains.total,
        by_origin=chains.total,
        release=_most_infected(evidence.transmission, base, reservoirs, evidence.prevalence),
        serology_sources=reservoirs, method=method, evidence=evidence,
    )


def _scenario_pathway_row(
    hazard_id: str, target: str, pathway: str, spec: Mapping[str, Any], evidence: CdvEvidence
) -> dict[str, Any]:
    """A pathway that is a scenario (a release of zoo-born animals): the chance of infection
    of the released group in that scenario, or of the target if the scenario has none."""
    scenario = spec["scenario"]
    group = _scenario_group(target, scenario, evidence.transmission)
    sources = [s for s in spec.get("sources", []) if s != target] or evidence.reservoir_species()
    method = (
        f"scenario {scenario!r}: infection probability of the {group} group in that "
        f"scenario ({INTERVAL_WORDS}; the group's whole chance, not split by the infection "
        "chains); release = probability CDV circulates in the most-infected reservoir species "
        "there"
    )
    group_row = scenario_row(evidence.transmission, scenario, group)
    whole = PathwayLikelihood(
        *p_with_interval(group_row),
        float(group_row["p_any_infection_mcse"]) if group_row is not None else NAN,
    )
    return _quantified_row(
        hazard_id, group, pathway, scenario, infection=whole, total=whole, by_source=whole,
        by_origin=whole,
        release=_most_infected(evidence.transmission, scenario, sources, evidence.prevalence),
        serology_sources=sources,
        method=method, evidence=evidence, serology_target=target,
    )


def _quantified_row(
    hazard_id: str,
    group: str,
    pathway: str,
    scenario: str,
    *,
    infection: PathwayLikelihood,
    total: PathwayLikelihood,
    by_source: PathwayLikelihood,
    by_origin: PathwayLikelihood,
    release: Release,
    serology_sources: Sequence[str],
    method: str,
    evidence: CdvEvidence,
    serology_target: str | None = None,
) -> dict[str, Any]:
    """One quantified row: likelihood, consequence, risk and uncertainty of a pathway."""
    target_row = scenario_row(evidence.transmission, scenario, group)
    likelihood = _likelihood_columns(infection, total, release, evidence)
    likelihood.update(_split_columns(by_source, "infection_by_source"))
    likelihood.update(_split_columns(by_origin, "infection_by_origin"))
    consequence = _consequence_columns(target_row, group, evidence)
    serology = _serology_columns(
        likelihood["source_species"], serology_target or group, serology_sources, evidence
    )
    risk = evidence.settings.matrix.lookup(likelihood["likelihood"], consequence["consequence"])
    return {
        "hazard": hazard_id, "target_species": group, "pathway": pathway,
        "basis": "quantified", "scenario": scenario, **likelihood, **consequence, **serology,
        "release_basis": SIMULATED_BASIS, "exposure_basis": SIMULATED_BASIS,
        "consequence_basis": SIMULATED_BASIS, "risk": risk, "method": method,
    }


def _scenario_group(target: str, scenario: str, transmission: pd.DataFrame) -> str:
    """The group a scenario pathway is about: the released animals if the scenario has any."""
    released = f"{target}{RELEASED_SUFFIX}"
    return released if scenario_row(transmission, scenario, released) is not None else target


def _likelihood_columns(
    infection: PathwayLikelihood,
    total: PathwayLikelihood,
    release: Release,
    evidence: CdvEvidence,
) -> dict[str, Any]:
    """Release, exposure and infection probabilities of a pathway and their words."""
    release_p, release_lo, release_hi, release_from = release
    p = infection.probability
    exposure = min(1.0, p / release_p) if release_p > 0 else NAN
    thresholds = evidence.settings.likelihood_thresholds
    return {
        "source_species": release_from,
        "release_probability": release_p, "release_lo95": release_lo,
        "release_hi95": release_hi,
        "release_likelihood": likelihood_word(release_p, thresholds),
        "exposure_probability": exposure,
        "exposure_likelihood": likelihood_word(exposure, thresholds),
        "infection_probability": p, "infection_lo95": infection.lo95,
        "infection_hi95": infection.hi95, "infection_mcse": infection.mcse,
        "likelihood": likelihood_word(p, thresholds),
        "target_p_any_infection": total.probability,
        "infection_share": p / total.probability if total.probability > 0 else NAN,
    }


def _split_columns(split: PathwayLikelihood, stem: str) -> dict[str, float]:
    """A pathway likelihood by one attribution as ``<stem>, <stem>_lo95, <stem>_hi95``."""
    return {stem: split.probability, f"{stem}_lo95": split.lo95, f"{stem}_hi95": split.hi95}


def _most_infected(
    transmission: pd.DataFrame, scenario: str, species: Sequence[str], prevalence: pd.DataFrame
) -> Release:
    """Release: the source species in which CDV most often circulates in ``scenario``; ties go
    to the species with most animals tested (its serology then backs the row)."""
    candidates = [(*p_with_interval(scenario_row(transmission, scenario, s)), s) for s in species]
    candidates = [c for c in candidates if not math.isnan(c[0])]
    if not candidates:
        return NAN, NAN, NAN, ""

    def tested(s: str) -> float:
        return float(prevalence.loc[s, "n_tested"]) if s in prevalence.index else -1.0

    return max(candidates, key=lambda c: (c[0], tested(c[3]), c[3]))


def _consequence_columns(
    target_row: pd.Series | None, group: str, evidence: CdvEvidence
) -> dict[str, Any]:
    """Deaths of the target group, its population and the consequence word. A released group
    is rated against its whole species in that scenario (wild and released animals together):
    the conservation unit, and no accident of a small group (1 death among 10 released is not
    a tenth of the population lost)."""
    deaths_median = float(target_row["deaths_median"]) if target_row is not None else NAN
    deaths_hi = float(target_row["deaths_hi95"]) if target_row is not None else NAN
    species = group.removesuffix(RELEASED_SUFFIX)
    species_row = target_row
    if species != group and target_row is not None:
        species_row = scenario_row(evidence.transmission, str(target_row["scenario"]), species)
    population = population_size(
        species, scenario_row=species_row, network_summary=evidence.network_summary,
        fallback=evidence.settings.population_sizes,
    )
    share_lost = deaths_hi / population if population > 0 else NAN
    return {
        "deaths_median": deaths_median, "deaths_hi95": deaths_hi,
        "population_size": population, "share_lost_hi95": share_lost,
        "consequence": consequence_word(share_lost, evidence.settings.consequence_thresholds),
    }


def _serology_columns(
    release_species: str, target: str, sources: Sequence[str], evidence: CdvEvidence
) -> dict[str, Any]:
    """The serology behind a row (``source_*``) and the uncertainty level it implies."""
    backing = serology_species(release_species, sources, evidence.prevalence)
    numbers = source_evidence(backing, evidence.prevalence, evidence.foi)
    level, reasons = uncertainty_level(
        relative_width=relative_width(numbers),
        n_tested=n_tested(evidence.prevalence, list(dict.fromkeys([target, *sources]))),
        fit_reliable=evidence.fits_reliable,
        settings=evidence.settings.uncertainty,
        driver=evidence.assumption_driver(target),
    )
    return {
        "serology_species": backing, "target_n_tested": n_tested(evidence.prevalence, [target]),
        **numbers,
        "uncertainty": level, "uncertainty_reasons": reasons,
    }
