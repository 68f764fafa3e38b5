"""Risk estimation: one row per hazard x target species x pathway (OIE/IUCN 2014).

CDV is quantified from this run: release = how often CDV circulates in the pathway's
most-infected source species in the simulation, infection = the target's chance of any infection
x the share of its between-species contacts with the pathway's species (or, for a pathway that
is a scenario such as a release of zoo-born animals, the chance for the released group), exposure
= infection / release; consequence = the 97.5% quantile of deaths as a share of the population;
uncertainty from the serology behind the row and the model diagnostics. Other hazards take the
qualitative words of the hazard list. ``method`` says how each number was obtained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from disease_risk.risk.evidence import (
    contact_shares,
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
    RiskConfigError,
    RiskSettings,
    combine_likelihoods,
    consequence_word,
    likelihood_word,
    uncertainty_level,
)
from disease_risk.tables import ESTIMATION_COLUMNS, RELEASED_SUFFIX

NAN = float("nan")


@dataclass(frozen=True)
class CdvEvidence:
    """This run's evidence behind every quantified (CDV) row."""

    settings: RiskSettings
    transmission: pd.DataFrame
    prevalence: pd.DataFrame
    foi: pd.DataFrame
    network_summary: pd.DataFrame | None
    fits_reliable: bool

    def reservoir_species(self) -> list[str]:
        """Simulated species that are neither targets nor released groups (sorted)."""
        return [
            s for s in sorted(set(self.transmission["species"].astype(str)))
            if s not in self.settings.targets and not s.endswith(RELEASED_SUFFIX)
        ]


def build_risk_estimation(
    *,
    hazards: Sequence[Mapping[str, Any]],
    settings: RiskSettings,
    transmission: pd.DataFrame,
    prevalence: pd.DataFrame,
    foi: pd.DataFrame,
    diagnostics: pd.DataFrame,
    network_summary: pd.DataFrame | None,
) -> pd.DataFrame:
    """Risk estimation: one row per hazard x target species x pathway.

    CDV rows are computed from ``transmission`` (summary by scenario and species),
    ``prevalence`` (species-level serology, indexed by species), ``foi`` (latest FOI per species)
    and ``network_summary`` (contacts between species); other hazards take their words from the
    hazard list. ``method`` says how each number was obtained.
    """
    evidence = CdvEvidence(
        settings=settings,
        transmission=require_transmission(transmission),
        prevalence=prevalence,
        foi=foi,
        network_summary=require_network(network_summary),
        fits_reliable=fits_reliable(diagnostics),
    )
    rows: list[dict[str, Any]] = []
    for hazard in hazards:
        if hazard["quantified"]:
            rows += _cdv_rows(hazard["id"], evidence)
        else:
            rows += _qualitative_rows(hazard, settings)
    return pd.DataFrame(rows, columns=list(ESTIMATION_COLUMNS))


def _qualitative_rows(hazard: Mapping[str, Any], settings: RiskSettings) -> list[dict]:
    """Rows of a hazard the run does not quantify: the hazard list's words and rationale."""
    rows = []
    for a in hazard.get("assessment", []):
        if a["pathway"] not in settings.pathways:
            raise RiskConfigError(
                f"hazard {hazard['id']!r}: pathway {a['pathway']!r} is not one of risk.pathways "
                f"{sorted(settings.pathways)}; fix config/hazards.yaml or the config"
            )
        likelihood = combine_likelihoods(a["release"], a["exposure"])
        for target in a["targets"]:
            rows.append(
                {
                    "hazard": hazard["id"], "target_species": target, "pathway": a["pathway"],
                    "basis": "qualitative", "scenario": "",
                    "source_species": ", ".join(settings.pathways[a["pathway"]].get("sources", [])),
                    "release_likelihood": a["release"], "exposure_likelihood": a["exposure"],
                    "likelihood": likelihood, "consequence": a["consequence"],
                    "risk": settings.matrix.lookup(likelihood, a["consequence"]),
                    "uncertainty": a["uncertainty"], "uncertainty_reasons": a["rationale"],
                    "method": "expert judgement from config/hazards.yaml",
                }
            )
    return rows


def _cdv_rows(hazard_id: str, evidence: CdvEvidence) -> list[dict]:
    """The quantified rows: each target x each pathway that applies to it."""
    rows = []
    for target in evidence.settings.targets:
        pathways = {
            name: spec for name, spec in evidence.settings.pathways.items()
            if target in spec.get("targets", evidence.settings.targets)
        }
        shares = _contact_shares(target, pathways, evidence.network_summary)
        for name, spec in pathways.items():
            rows.append(_cdv_row(hazard_id, target, name, spec, shares, evidence))
    return rows


def _contact_shares(
    target: str, pathways: Mapping[str, Mapping[str, Any]], network: pd.DataFrame | None
) -> dict[str, float]:
    """Share of the target's contacts per contact pathway (pathways that are not scenarios)."""
    contact_paths = {
        name: [s for s in spec.get("sources", []) if s != target]
        for name, spec in pathways.items()
        if "scenario" not in spec
    }
    if network is None:
        return {name: NAN for name in contact_paths}
    return contact_shares(network, target, contact_paths)


def _cdv_row(
    hazard_id: str,
    target: str,
    pathway: str,
    spec: Mapping[str, Any],
    shares: Mapping[str, float],
    evidence: CdvEvidence,
) -> dict[str, Any]:
    """One quantified row: likelihood, consequence, risk and uncertainty of one pathway."""
    scenario = spec.get("scenario", evidence.settings.baseline_scenario)
    sources = [s for s in spec.get("sources", []) if s != target] or evidence.reservoir_species()
    if "scenario" in spec:
        group, share = _scenario_group(target, scenario, evidence.transmission), 1.0
        method = (
            f"scenario {scenario!r}: infection probability of the {group} group in that "
            "scenario; release = probability CDV circulates in the most-infected "
            "reservoir species there"
        )
    else:
        group, share = target, shares.get(pathway, NAN)
        method = (
            f"scenario {scenario!r}: target infection probability x share of the "
            "target's between-species contacts with this pathway's species; release = "
            "probability CDV circulates in the pathway's most-infected species"
        )
    target_row = scenario_row(evidence.transmission, scenario, group)
    likelihood = _likelihood_columns(target_row, share, scenario, sources, evidence)
    consequence = _consequence_columns(target_row, group, evidence)
    serology = _serology_columns(likelihood["source_species"], target, sources, evidence)
    risk = evidence.settings.matrix.lookup(likelihood["likelihood"], consequence["consequence"])
    return {
        "hazard": hazard_id, "target_species": group, "pathway": pathway,
        "basis": "quantified", "scenario": scenario, **likelihood, **consequence, **serology,
        "risk": risk, "method": method,
    }


def _scenario_group(target: str, scenario: str, transmission: pd.DataFrame) -> str:
    """The group a scenario pathway is about: the released animals if the scenario has any."""
    released = f"{target}{RELEASED_SUFFIX}"
    return released if scenario_row(transmission, scenario, released) is not None else target


def _likelihood_columns(
    target_row: pd.Series | None,
    share: float,
    scenario: str,
    sources: Sequence[str],
    evidence: CdvEvidence,
) -> dict[str, Any]:
    """Release, exposure and infection probabilities of a pathway and their words."""
    p_target, lo_target, hi_target = p_with_interval(target_row)
    release_p, release_lo, release_hi, release_species = _most_infected(
        evidence.transmission, scenario, sources, evidence.prevalence
    )
    infection = p_target * share
    exposure = min(1.0, infection / release_p) if release_p > 0 else NAN
    thresholds = evidence.settings.likelihood_thresholds
    return {
        "source_species": release_species,
        "release_probability": release_p, "release_lo95": release_lo,
        "release_hi95": release_hi,
        "release_likelihood": likelihood_word(release_p, thresholds),
        "exposure_probability": exposure,
        "exposure_likelihood": likelihood_word(exposure, thresholds),
        "infection_probability": infection, "infection_lo95": lo_target * share,
        "infection_hi95": hi_target * share,
        "likelihood": likelihood_word(infection, thresholds),
        "target_p_any_infection": p_target, "contact_share": share,
    }


def _most_infected(
    transmission: pd.DataFrame, scenario: str, species: Sequence[str], prevalence: pd.DataFrame
) -> tuple[float, float, float, str]:
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
    """Deaths of the target group, its population and the consequence word."""
    deaths_median = float(target_row["deaths_median"]) if target_row is not None else NAN
    deaths_hi = float(target_row["deaths_hi95"]) if target_row is not None else NAN
    population = population_size(
        group, scenario_row=target_row, network_summary=evidence.network_summary,
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
        n_tested=n_tested(evidence.prevalence, [target, *sources]),
        fit_reliable=evidence.fits_reliable,
        settings=evidence.settings.uncertainty,
    )
    return {
        "serology_species": backing, **numbers,
        "uncertainty": level, "uncertainty_reasons": reasons,
    }
