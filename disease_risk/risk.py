"""Disease Risk Assessment (DRA) tables: hazards, risk estimation and risk management.

Follows the OIE/IUCN Manual of Procedures for Wildlife Disease Risk Analysis (Jakob-Hoff et al.
2014): likelihoods of release and exposure and the consequence are put into the manual's words by
thresholds from config, the risk comes from a configurable likelihood x consequence matrix (default:
the 4x4 matrix of Dufour et al. 2011 as reprinted there) and each judgement carries an uncertainty
level. CDV is quantified from this run's serology and transmission outputs; other hazards come with
the qualitative words of ``config/hazards.yaml``. Every quantified row keeps the numbers it came
from.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

LIKELIHOOD_WORDS: tuple[str, ...] = ("negligible", "very low", "low", "moderate", "high")
CONSEQUENCE_WORDS: tuple[str, ...] = ("negligible", "low", "moderate", "high")
UNCERTAINTY_WORDS: tuple[str, ...] = ("low", "medium", "high")
NOT_ESTIMATED = "not estimated"

DEFAULT_RISK_MATRIX: dict[str, Any] = {
    "source": "Dufour et al. 2011, as reprinted in Jakob-Hoff et al. 2014 (cell values recalled)",
    "likelihood": ["negligible", "low", "moderate", "high"],
    "consequence": ["negligible", "low", "moderate", "high"],
    "equivalents": {"very low": "low"},
    "cells": [
        ["negligible", "negligible", "negligible", "negligible"],
        ["negligible", "low", "low", "moderate"],
        ["negligible", "low", "moderate", "high"],
        ["negligible", "moderate", "high", "high"],
    ],
}


class RiskConfigError(ValueError):
    """The ``risk:`` config section or the hazard list is inconsistent; the message says how."""


@dataclass(frozen=True)
class RiskMatrix:
    """Likelihood x consequence lookup; ``equivalents`` folds scale words the matrix lacks."""

    likelihood: tuple[str, ...]
    consequence: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    equivalents: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> RiskMatrix:
        likelihood = tuple(spec["likelihood"])
        consequence = tuple(spec["consequence"])
        cells = tuple(tuple(row) for row in spec["cells"])
        if len(cells) != len(likelihood) or any(len(r) != len(consequence) for r in cells):
            raise RiskConfigError(
                f"risk.risk_matrix.cells must have {len(likelihood)} rows (one per likelihood "
                f"word) "
                f"of {len(consequence)} words (one per consequence word); got "
                f"{[len(r) for r in cells]}"
            )
        equivalents = dict(spec.get("equivalents", {}))
        for word, target in equivalents.items():
            if target not in likelihood:
                raise RiskConfigError(
                    f"risk.risk_matrix.equivalents maps {word!r} to {target!r}, which is not "
                    "one of "
                    f"the matrix's likelihood words {list(likelihood)}"
                )
        return cls(likelihood, consequence, cells, equivalents, str(spec.get("source", "")))

    def lookup(self, likelihood: str, consequence: str) -> str:
        """Risk word for a likelihood and a consequence word."""
        if NOT_ESTIMATED in (likelihood, consequence):
            return NOT_ESTIMATED
        row = self.equivalents.get(likelihood, likelihood)
        if row not in self.likelihood:
            raise RiskConfigError(f"likelihood {likelihood!r} is not in the risk matrix rows")
        if consequence not in self.consequence:
            raise RiskConfigError(f"consequence {consequence!r} is not in the risk matrix columns")
        return self.cells[self.likelihood.index(row)][self.consequence.index(consequence)]


@dataclass(frozen=True)
class RiskSettings:
    """The validated ``risk:`` config section."""

    baseline_scenario: str
    targets: tuple[str, ...]
    pathways: Mapping[str, Mapping[str, Any]]
    likelihood_thresholds: Mapping[str, float]
    consequence_thresholds: Mapping[str, float]
    matrix: RiskMatrix
    uncertainty: Mapping[str, Any]
    population_sizes: Mapping[str, float]

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> RiskSettings:
        likelihood = _ordered_thresholds(
            section["likelihood_thresholds"], LIKELIHOOD_WORDS, "risk.likelihood_thresholds"
        )
        consequence = _ordered_thresholds(
            section["consequence_thresholds"], CONSEQUENCE_WORDS, "risk.consequence_thresholds"
        )
        return cls(
            baseline_scenario=section.get("baseline_scenario", "baseline"),
            targets=tuple(section["targets"]),
            pathways=dict(section["pathways"]),
            likelihood_thresholds=likelihood,
            consequence_thresholds=consequence,
            matrix=RiskMatrix.from_config(section.get("risk_matrix", DEFAULT_RISK_MATRIX)),
            uncertainty=dict(section["uncertainty"]),
            population_sizes=dict(section.get("population_sizes", {})),
        )


def _ordered_thresholds(
    spec: Mapping[str, float], words: Sequence[str], where: str
) -> dict[str, float]:
    unknown = set(spec) - set(words[1:])
    if unknown:
        raise RiskConfigError(
            f"{where}: unknown word(s) {sorted(unknown)}; use lower bounds for {list(words[1:])}"
        )
    ordered = {w: float(spec[w]) for w in words[1:] if w in spec}
    values = list(ordered.values())
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise RiskConfigError(f"{where}: lower bounds must increase with the word, got {ordered}")
    return ordered


def scale_word(value: float, thresholds: Mapping[str, float], lowest: str) -> str:
    """Word whose lower bound is the largest one <= ``value`` (a value on a bound takes the
    higher word); below every bound: ``lowest``; NaN: ``not estimated``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_ESTIMATED
    word = lowest
    for candidate, bound in thresholds.items():
        if value >= bound:
            word = candidate
    return word


def likelihood_word(probability: float, thresholds: Mapping[str, float]) -> str:
    """Manual's likelihood word (negligible ... high) for a probability."""
    return scale_word(probability, thresholds, LIKELIHOOD_WORDS[0])


def consequence_word(share_lost: float, thresholds: Mapping[str, float]) -> str:
    """Consequence word for the share of a population that dies."""
    return scale_word(share_lost, thresholds, CONSEQUENCE_WORDS[0])


def combine_likelihoods(release: str, exposure: str) -> str:
    """Qualitative likelihood of release followed by exposure: the lower of the two words."""
    if NOT_ESTIMATED in (release, exposure):
        return NOT_ESTIMATED
    return min(release, exposure, key=LIKELIHOOD_WORDS.index)


def uncertainty_level(
    *,
    relative_width: float,
    n_tested: float,
    fit_reliable: bool,
    settings: Mapping[str, Any],
) -> tuple[str, str]:
    """Uncertainty word (low/medium/high) and its reasons.

    The level is the worst of three criteria: the relative width of the serology interval
    ((hi95 - lo95) / median), the number of animals tested, and whether the model fits passed
    their diagnostics.
    """
    levels: list[tuple[str, str]] = []
    width_bounds = settings["relative_width"]
    if math.isnan(relative_width):
        levels.append(("high", "no serology interval"))
    else:
        word = scale_word(relative_width, width_bounds, "low")
        levels.append((word, f"serology 95% interval {relative_width:.2g}x its median"))
    size_bounds = settings["sample_size"]
    n = 0 if math.isnan(n_tested) else int(n_tested)
    if n < size_bounds["high"]:
        levels.append(("high", f"only {n} animals tested"))
    elif n < size_bounds["medium"]:
        levels.append(("medium", f"{n} animals tested"))
    else:
        levels.append(("low", f"{n} animals tested"))
    if not fit_reliable:
        levels.append((settings.get("unreliable_fit", "high"), "a model fit failed diagnostics"))
    worst = max(levels, key=lambda lv: UNCERTAINTY_WORDS.index(lv[0]))[0]
    reasons = "; ".join(reason for word, reason in levels if word == worst)
    return worst, reasons


# --- Inputs as tidy tables --------------------------------------------------------------------


def species_prevalence(summary: pd.DataFrame) -> pd.DataFrame:
    """Species-level rows (all sites, all years) of the seroprevalence summary, by species."""
    rows = summary[(summary["site"].astype(str) == "all") & (summary["year"].astype(str) == "all")]
    return rows.set_index("species")


def latest_foi(foi: pd.DataFrame) -> pd.DataFrame:
    """One force-of-infection row per species: the constant model, else the latest year."""
    def pick(group: pd.DataFrame) -> pd.Series:
        const = group[group["year"].astype(str) == "constant"]
        if len(const):
            return const.iloc[0]
        years = pd.to_numeric(group["year"], errors="coerce")
        return group.loc[years.idxmax()]

    picked = [pick(g).rename(sp) for sp, g in foi.groupby("species", sort=True)]
    return pd.DataFrame(picked)


def fits_reliable(diagnostics: pd.DataFrame) -> bool:
    """True when every sampling block of the seroprevalence diagnostics passed (issue 3)."""
    return not unreliable_blocks(diagnostics).any()


def unreliable_blocks(
    diagnostics: pd.DataFrame, rhat_max: float = 1.01, ess_min: float = 400
) -> pd.Series:
    """Boolean per diagnostics row: a sampling block that failed its checks.

    Uses the table's own ``reliable`` verdict where present (it applies the configured limits);
    otherwise divergences, R-hat above ``rhat_max`` or bulk ESS below ``ess_min``. Posterior
    predictive and data rows (``section`` other than ``sampling``) never count.
    """
    bad = pd.Series(False, index=diagnostics.index)
    cols = {c.lower(): c for c in diagnostics.columns}
    sampling = (
        diagnostics[cols["section"]].astype(str) == "sampling"
        if "section" in cols
        else pd.Series(True, index=diagnostics.index)
    )
    if "reliable" in cols:
        flag = diagnostics[cols["reliable"]].astype(str).str.lower()
        return sampling & flag.isin({"false", "no", "0"})
    for name in ("r_hat", "rhat", "rhat_max"):
        if name in cols:
            bad |= pd.to_numeric(diagnostics[cols[name]], errors="coerce") > rhat_max
    for name in ("ess_bulk", "bulk_ess", "ess_bulk_min"):
        if name in cols:
            bad |= pd.to_numeric(diagnostics[cols[name]], errors="coerce") < ess_min
    if "divergences" in cols:
        bad |= pd.to_numeric(diagnostics[cols["divergences"]], errors="coerce").fillna(0) > 0
    return sampling & bad


def _mcse(row: pd.Series, base: str) -> float:
    for name in (f"{base}_mcse", f"{base}_se", f"mcse_{base}", f"se_{base}"):
        if name in row.index and pd.notna(row[name]):
            return float(row[name])
    return float("nan")


def probability_interval(p: float, mcse: float, n: float = float("nan")) -> tuple[float, float]:
    """95% interval of a Monte Carlo probability: Jeffreys interval when the number of
    replicates is known, else p +/- 1.96 MCSE clipped to [0, 1]."""
    from scipy.stats import beta

    if not math.isnan(n) and n > 0:
        k = p * n
        lo = 0.0 if k <= 0 else float(beta.ppf(0.025, k + 0.5, n - k + 0.5))
        hi = 1.0 if k >= n else float(beta.ppf(0.975, k + 0.5, n - k + 0.5))
        return lo, hi
    if math.isnan(mcse):
        return float("nan"), float("nan")
    return max(0.0, p - 1.96 * mcse), min(1.0, p + 1.96 * mcse)


def contact_shares(
    network_summary: pd.DataFrame, target: str, pathways: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """Share of ``target``'s between-species contacts (edge count) that go to each pathway's
    species; the basis for splitting the target's infection probability between pathways."""
    pairs = pair_edges(network_summary)
    edges = {
        name: float(
            sum(pairs.get(frozenset((target, s)), 0.0) for s in sources if s != target)
        )
        for name, sources in pathways.items()
    }
    total = sum(edges.values())
    return {name: (e / total if total > 0 else float("nan")) for name, e in edges.items()}


def pair_edges(network_summary: pd.DataFrame) -> dict[frozenset, float]:
    """Edge counts between each pair of species: rows ``metric == 'edges_between'`` of the
    network summary (columns ``metric, species_a, species_b, value``)."""
    first, second = _network_columns(network_summary)
    rows = network_summary[network_summary["metric"].astype(str) == "edges_between"]
    pairs: dict[frozenset, float] = {}
    for a, b, value in zip(rows[first], rows[second], rows["value"], strict=True):
        key = frozenset((str(a), str(b)))
        pairs[key] = pairs.get(key, 0.0) + float(value)
    return pairs


def _network_columns(network_summary: pd.DataFrame) -> tuple[str, str]:
    cols = set(network_summary.columns)
    first = "species_a" if "species_a" in cols else "species"
    second = "species_b" if "species_b" in cols else "other_species"
    return first, second


def population_size(
    species: str,
    *,
    scenario_row: pd.Series | None = None,
    network_summary: pd.DataFrame | None = None,
    fallback: Mapping[str, float] | None = None,
) -> float:
    """Animals of ``species``: the transmission summary's ``population``, else the network's
    node count, else the config fallback (``risk.population_sizes``)."""
    if scenario_row is not None and "population" in scenario_row.index:
        value = pd.to_numeric(scenario_row["population"], errors="coerce")
        if pd.notna(value) and value > 0:
            return float(value)
    if network_summary is not None:
        first, _ = _network_columns(network_summary)
        rows = network_summary[
            (network_summary["metric"].astype(str) == "nodes")
            & (network_summary[first].astype(str) == species)
        ]
        if len(rows):
            return float(rows["value"].iloc[0])
    return float((fallback or {}).get(species, float("nan")))


# --- Table builders ---------------------------------------------------------------------------


def build_hazards(hazards: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Hazard identification table: every hazard in the list, quantified or qualitative."""
    rows = []
    for h in hazards:
        pathways = sorted({a["pathway"] for a in h.get("assessment", [])})
        rows.append(
            {
                "hazard": h["id"],
                "name": h["name"],
                "agent": h["agent"],
                "kind": h["kind"],
                "assessment": "quantified by this run" if h["quantified"] else "qualitative",
                "affected_species": ", ".join(h.get("affected_species", [])),
                "pathways": "all configured" if h["quantified"] else ", ".join(pathways),
                "why_included": h["why_included"],
                "sources": "; ".join(h["sources"]),
            }
        )
    return pd.DataFrame(rows)


ESTIMATION_COLUMNS = [
    "hazard", "target_species", "pathway", "basis", "scenario", "source_species",
    "release_probability", "release_lo95", "release_hi95", "release_likelihood",
    "exposure_probability", "exposure_likelihood",
    "infection_probability", "infection_lo95", "infection_hi95", "likelihood",
    "target_p_any_infection", "contact_share",
    "deaths_median", "deaths_hi95", "population_size", "share_lost_hi95", "consequence",
    "risk", "uncertainty", "uncertainty_reasons",
    "serology_species", "source_n_tested", "source_prevalence_median", "source_prevalence_lo95",
    "source_prevalence_hi95", "source_foi_median", "source_foi_lo95", "source_foi_hi95",
    "method",
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
    rows: list[dict[str, Any]] = []
    for hazard in hazards:
        if hazard["quantified"]:
            rows += _cdv_rows(
                hazard["id"], settings, transmission, prevalence, foi, diagnostics,
                network_summary,
            )
        else:
            rows += _qualitative_rows(hazard, settings)
    return pd.DataFrame(rows, columns=ESTIMATION_COLUMNS)


def _qualitative_rows(hazard: Mapping[str, Any], settings: RiskSettings) -> list[dict]:
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


def _scenario_row(transmission: pd.DataFrame, scenario: str, species: str) -> pd.Series | None:
    rows = transmission[
        (transmission["scenario"].astype(str) == scenario)
        & (transmission["species"].astype(str) == species)
    ]
    return rows.iloc[0] if len(rows) else None


def _p_with_interval(row: pd.Series | None) -> tuple[float, float, float]:
    if row is None:
        return float("nan"), float("nan"), float("nan")
    p = float(row["p_any_infection"])
    n = float(row["replicates"]) if "replicates" in row.index else float("nan")
    lo, hi = probability_interval(p, _mcse(row, "p_any_infection"), n)
    return p, lo, hi


def _most_infected(
    transmission: pd.DataFrame, scenario: str, species: Sequence[str], prevalence: pd.DataFrame
) -> tuple[float, float, float, str]:
    """Release: the source species in which CDV most often circulates in ``scenario``; ties go
    to the species with most animals tested (its serology then backs the row)."""
    candidates = [(*_p_with_interval(_scenario_row(transmission, scenario, s)), s) for s in species]
    candidates = [c for c in candidates if not math.isnan(c[0])]
    if not candidates:
        return float("nan"), float("nan"), float("nan"), ""

    def tested(s: str) -> float:
        return float(prevalence.loc[s, "n_tested"]) if s in prevalence.index else -1.0

    return max(candidates, key=lambda c: (c[0], tested(c[3]), c[3]))


def _cdv_rows(
    hazard_id: str,
    settings: RiskSettings,
    transmission: pd.DataFrame,
    prevalence: pd.DataFrame,
    foi: pd.DataFrame,
    diagnostics: pd.DataFrame,
    network_summary: pd.DataFrame | None,
) -> list[dict]:
    reliable = fits_reliable(diagnostics)
    base = settings.baseline_scenario
    all_species = sorted(set(transmission["species"].astype(str)))
    rows = []
    for target in settings.targets:
        applies = {
            name: spec for name, spec in settings.pathways.items()
            if target in spec.get("targets", settings.targets)
        }
        contact_paths = {
            name: [s for s in spec.get("sources", []) if s != target]
            for name, spec in applies.items()
            if "scenario" not in spec
        }
        shares = (
            contact_shares(network_summary, target, contact_paths)
            if network_summary is not None
            else {name: float("nan") for name in contact_paths}
        )
        for name, spec in applies.items():
            scenario = spec.get("scenario", base)
            sources = [s for s in spec.get("sources", []) if s != target] or [
                s for s in all_species
                if s not in settings.targets and not s.endswith("_released")
            ]
            group = target
            if "scenario" in spec:
                released = f"{target}_released"
                if _scenario_row(transmission, scenario, released) is not None:
                    group = released
                share = 1.0
                method = (
                    f"scenario {scenario!r}: infection probability of the {group} group in that "
                    "scenario; release = probability CDV circulates in the most-infected "
                    "reservoir species there"
                )
            else:
                share = shares.get(name, float("nan"))
                method = (
                    f"scenario {scenario!r}: target infection probability x share of the "
                    "target's between-species contacts with this pathway's species; release = "
                    "probability CDV circulates in the pathway's most-infected species"
                )
            target_row = _scenario_row(transmission, scenario, group)
            p_target, lo_target, hi_target = _p_with_interval(target_row)
            release_p, release_lo, release_hi, release_species = _most_infected(
                transmission, scenario, sources, prevalence
            )
            infection = p_target * share
            exposure = min(1.0, infection / release_p) if release_p > 0 else float("nan")
            nan = float("nan")
            deaths_median = float(target_row["deaths_median"]) if target_row is not None else nan
            deaths_hi = float(target_row["deaths_hi95"]) if target_row is not None else nan
            population = population_size(
                group, scenario_row=target_row, network_summary=network_summary,
                fallback=settings.population_sizes,
            )
            share_lost = deaths_hi / population if population > 0 else nan
            consequence = consequence_word(share_lost, settings.consequence_thresholds)
            likelihood = likelihood_word(infection, settings.likelihood_thresholds)
            serology_species = _serology_species(release_species, sources, prevalence)
            evidence = _source_evidence(serology_species, prevalence, foi)
            width = _relative_width(evidence)
            thresholds = settings.likelihood_thresholds
            level, reasons = uncertainty_level(
                relative_width=width,
                n_tested=_n_tested(prevalence, [target, *sources]),
                fit_reliable=reliable,
                settings=settings.uncertainty,
            )
            rows.append(
                {
                    "hazard": hazard_id, "target_species": group, "pathway": name,
                    "basis": "quantified", "scenario": scenario,
                    "source_species": release_species, "serology_species": serology_species,
                    "release_probability": release_p, "release_lo95": release_lo,
                    "release_hi95": release_hi,
                    "release_likelihood": likelihood_word(release_p, thresholds),
                    "exposure_probability": exposure,
                    "exposure_likelihood": likelihood_word(exposure, thresholds),
                    "infection_probability": infection, "infection_lo95": lo_target * share,
                    "infection_hi95": hi_target * share, "likelihood": likelihood,
                    "target_p_any_infection": p_target, "contact_share": share,
                    "deaths_median": deaths_median, "deaths_hi95": deaths_hi,
                    "population_size": population, "share_lost_hi95": share_lost,
                    "consequence": consequence,
                    "risk": settings.matrix.lookup(likelihood, consequence),
                    "uncertainty": level, "uncertainty_reasons": reasons,
                    **evidence, "method": method,
                }
            )
    return rows


def _serology_species(release: str, sources: Sequence[str], prevalence: pd.DataFrame) -> str:
    """Species whose serology backs a row: the release species if tested, else the pathway's
    most-tested source species."""
    if release in prevalence.index:
        return release
    tested = [s for s in sources if s in prevalence.index]
    if not tested:
        return ""
    return max(tested, key=lambda s: (float(prevalence.loc[s, "n_tested"]), s))


def _relative_width(evidence: Mapping[str, float]) -> float:
    """(hi95 - lo95) / median of the force of infection, else of the true prevalence."""
    for stem in ("source_foi", "source_prevalence"):
        median = evidence[f"{stem}_median"]
        if median > 0:
            return (evidence[f"{stem}_hi95"] - evidence[f"{stem}_lo95"]) / median
    return float("nan")


def _n_tested(prevalence: pd.DataFrame, species: Sequence[str]) -> float:
    present = [s for s in species if s in prevalence.index]
    return float(pd.to_numeric(prevalence.loc[present, "n_tested"]).sum()) if present else 0.0


def _source_evidence(species: str, prevalence: pd.DataFrame, foi: pd.DataFrame) -> dict[str, float]:
    nan = float("nan")
    out = {
        "source_n_tested": nan, "source_prevalence_median": nan, "source_prevalence_lo95": nan,
        "source_prevalence_hi95": nan, "source_foi_median": nan, "source_foi_lo95": nan,
        "source_foi_hi95": nan,
    }
    if species in prevalence.index:
        row = prevalence.loc[species]
        out["source_n_tested"] = float(row["n_tested"])
        for stat in ("median", "lo95", "hi95"):
            out[f"source_prevalence_{stat}"] = float(row[f"true_prevalence_{stat}"])
    if species in foi.index:
        row = foi.loc[species]
        for stat in ("median", "lo95", "hi95"):
            out[f"source_foi_{stat}"] = float(row[f"foi_{stat}"])
    return out


MANAGEMENT_COLUMNS = [
    "scenario", "target_species",
    "p_any_infection", "p_any_infection_lo95", "p_any_infection_hi95",
    "baseline_p_any_infection", "change_p_any_infection", "change_p_lo95", "change_p_hi95",
    "deaths_median", "deaths_hi95", "baseline_deaths_median",
    "change_deaths_mean", "change_deaths_lo95", "change_deaths_hi95", "paired_replicates",
    "likelihood", "consequence", "risk", "baseline_risk", "rank",
]


def build_risk_management(
    transmission: pd.DataFrame,
    settings: RiskSettings,
    *,
    replicates: Mapping[str, pd.DataFrame] | None = None,
    network_summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each scenario against the baseline, per target species: change in infection probability
    and in deaths with 95% intervals, and the resulting risk level.

    ``replicates`` maps scenario -> its replicate table (columns ``replicate``,
    ``infected_<species>``, ``deaths_<species>``). Scenarios share random numbers replicate by
    replicate, so changes are paired per replicate (mean difference +/- 1.96 standard errors);
    without replicates the probability change uses the summaries' Monte Carlo errors as
    independent and the deaths change is left empty. ``rank`` orders scenarios by how much they
    lower the first target's infection probability (then its deaths).
    """
    base = settings.baseline_scenario
    rows = []
    for scenario in sorted(transmission["scenario"].astype(str).unique()):
        for target in settings.targets:
            row = _scenario_row(transmission, scenario, target)
            base_row = _scenario_row(transmission, base, target)
            if row is None or base_row is None:
                continue
            p, lo, hi = _p_with_interval(row)
            bp, blo, bhi = _p_with_interval(base_row)
            paired = _paired_changes(replicates, scenario, base, target)
            if paired is not None:
                (change, c_lo, c_hi), deaths_change, n_pairs = paired
            else:
                change = p - bp
                se = 0.0 if scenario == base else math.hypot((hi - lo) / 3.92, (bhi - blo) / 3.92)
                c_lo, c_hi = change - 1.96 * se, change + 1.96 * se
                deaths_change, n_pairs = (float("nan"),) * 3, 0
            population = population_size(
                target, scenario_row=row, network_summary=network_summary,
                fallback=settings.population_sizes,
            )
            b_population = population_size(
                target, scenario_row=base_row, network_summary=network_summary,
                fallback=settings.population_sizes,
            )
            likelihood = likelihood_word(p, settings.likelihood_thresholds)
            consequence = consequence_word(
                float(row["deaths_hi95"]) / population, settings.consequence_thresholds
            )
            base_risk = settings.matrix.lookup(
                likelihood_word(bp, settings.likelihood_thresholds),
                consequence_word(
                    float(base_row["deaths_hi95"]) / b_population, settings.consequence_thresholds
                ),
            )
            rows.append(
                {
                    "scenario": scenario, "target_species": target,
                    "p_any_infection": p, "p_any_infection_lo95": lo, "p_any_infection_hi95": hi,
                    "baseline_p_any_infection": bp, "change_p_any_infection": change,
                    "change_p_lo95": c_lo, "change_p_hi95": c_hi,
                    "deaths_median": float(row["deaths_median"]),
                    "deaths_hi95": float(row["deaths_hi95"]),
                    "baseline_deaths_median": float(base_row["deaths_median"]),
                    "change_deaths_mean": deaths_change[0],
                    "change_deaths_lo95": deaths_change[1],
                    "change_deaths_hi95": deaths_change[2], "paired_replicates": n_pairs,
                    "likelihood": likelihood, "consequence": consequence,
                    "risk": settings.matrix.lookup(likelihood, consequence),
                    "baseline_risk": base_risk,
                }
            )
    table = pd.DataFrame(rows, columns=MANAGEMENT_COLUMNS)
    if table.empty:
        return table
    first = settings.targets[0]
    order = (
        table[table["target_species"] == first]
        .sort_values(["change_p_any_infection", "change_deaths_mean", "scenario"])
        ["scenario"].tolist()
    )
    table["rank"] = table["scenario"].map({s: i + 1 for i, s in enumerate(order)})
    return table.sort_values(["rank", "target_species"], kind="stable").reset_index(drop=True)


def paired_change(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Mean of the per-replicate difference ``a - b`` with a normal 95% interval."""
    diff = (a - b).dropna().astype(float)
    mean = float(diff.mean())
    se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    return mean, mean - 1.96 * se, mean + 1.96 * se


def _paired_changes(
    replicates: Mapping[str, pd.DataFrame] | None, scenario: str, base: str, species: str
):
    if not replicates or scenario not in replicates or base not in replicates:
        return None
    a = replicates[scenario].set_index("replicate")
    b = replicates[base].set_index("replicate")
    infected, deaths = f"infected_{species}", f"deaths_{species}"
    if not {infected, deaths} <= set(a.columns) & set(b.columns):
        return None
    common = a.index.intersection(b.index)
    a, b = a.loc[common], b.loc[common]
    p_change = paired_change((a[infected] > 0).astype(float), (b[infected] > 0).astype(float))
    return p_change, paired_change(a[deaths], b[deaths]), len(common)


def most_effective(management: pd.DataFrame, target: str, baseline: str) -> pd.Series | None:
    """The scenario that lowers ``target``'s infection probability most (None if none does)."""
    rows = management[
        (management["target_species"] == target) & (management["scenario"] != baseline)
    ].sort_values(["change_p_any_infection", "change_deaths_mean", "scenario"])
    if rows.empty or not rows.iloc[0]["change_p_any_infection"] < 0:
        return None
    return rows.iloc[0]


# --- I/O --------------------------------------------------------------------------------------


def load_hazards(path: str | Path, schema_path: str | Path | None = None) -> list[dict[str, Any]]:
    """Read and validate ``config/hazards.yaml``; errors name the file and the offending entry."""
    import jsonschema

    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if schema_path is not None:
        schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
        try:
            jsonschema.validate(data, schema)
        except jsonschema.ValidationError as err:
            where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
            raise RiskConfigError(f"{path}: at {where}: {err.message}") from None
    hazards = data["hazards"]
    ids = [h["id"] for h in hazards]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RiskConfigError(f"{path}: hazard id(s) {dup} appear more than once; make ids unique")
    if sum(h["quantified"] for h in hazards) != 1:
        raise RiskConfigError(f"{path}: exactly one hazard (CDV) must have quantified: true")
    return hazards


def read_tsv(path: str | Path) -> pd.DataFrame:
    """Read a pipeline TSV keeping text codes such as 'all' and 'constant' as text."""
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])


def read_replicates(paths: Mapping[str, str | Path]) -> dict[str, pd.DataFrame]:
    """Replicate tables by scenario, keeping ``replicate`` and the per-species counts."""
    out = {}
    for scenario, path in paths.items():
        df = pd.read_parquet(path)
        keep = ["replicate"] + [c for c in df.columns if c.startswith(("infected_", "deaths_"))]
        out[scenario] = df[keep]
    return out


def write_tsv(table: pd.DataFrame, path: str | Path) -> None:
    """Write a TSV with floats at 6 significant digits (byte-identical across reruns)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False, float_format="%.6g", lineterminator="\n")


def write_workbook(tables: Mapping[str, pd.DataFrame], path: str | Path) -> None:
    """All tables in one .xlsx, a sheet each, with fixed timestamps so reruns are identical."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, table in tables.items():
            rounded = table.apply(
                lambda c: c.map(lambda v: float(f"{v:.6g}") if pd.notna(v) else v)
                if pd.api.types.is_float_dtype(c) else c
            )
            rounded.to_excel(writer, sheet_name=sheet, index=False)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _write_stable_zip(buffer.getvalue(), Path(path))


def _write_stable_zip(data: bytes, path: Path) -> None:
    stamp = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = stamp.sub(rb"\g<1>2000-01-01T00:00:00Z\g<3>", content)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, content)


def assess_risk(
    *,
    risk_config: Mapping[str, Any],
    hazards_file: str | Path,
    hazards_schema: str | Path | None,
    prevalence_file: str | Path,
    foi_file: str | Path,
    diagnostics_file: str | Path,
    transmission_file: str | Path,
    network_file: str | Path | None,
    replicate_files: Mapping[str, str | Path] | None = None,
) -> dict[str, pd.DataFrame]:
    """Read this run's outputs and build the three DRA tables (keys: the sheet names)."""
    settings = RiskSettings.from_config(risk_config)
    hazards = load_hazards(hazards_file, hazards_schema)
    transmission = read_tsv(transmission_file)
    network = read_tsv(network_file) if network_file else None
    return {
        "hazards": build_hazards(hazards),
        "risk_estimation": build_risk_estimation(
            hazards=hazards,
            settings=settings,
            transmission=transmission,
            prevalence=species_prevalence(read_tsv(prevalence_file)),
            foi=latest_foi(read_tsv(foi_file)),
            diagnostics=read_tsv(diagnostics_file),
            network_summary=network,
        ),
        "risk_management": build_risk_management(
            transmission,
            settings,
            replicates=read_replicates(replicate_files) if replicate_files else None,
            network_summary=network,
        ),
    }


def write_tables(tables: Mapping[str, pd.DataFrame], tsv_paths: Mapping[str, str | Path],
                 workbook: str | Path) -> None:
    """Each table as TSV and all of them as one workbook."""
    for name, table in tables.items():
        write_tsv(table, tsv_paths[name])
    write_workbook(tables, workbook)
