"""The DRA's qualitative scales: likelihood, consequence and uncertainty words, the risk matrix
and the validated ``risk:`` config section.

Words and the default 4x4 matrix follow the OIE/IUCN Manual of Procedures for Wildlife Disease
Risk Analysis (Jakob-Hoff et al. 2014); the thresholds that turn numbers into words come from
config, so a DRA team can change them without touching code.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LIKELIHOOD_WORDS: tuple[str, ...] = ("negligible", "very low", "low", "moderate", "high")
CONSEQUENCE_WORDS: tuple[str, ...] = ("negligible", "low", "moderate", "high")
UNCERTAINTY_WORDS: tuple[str, ...] = ("low", "medium", "high")
NOT_ESTIMATED = "not estimated"
# How the infection chains split a target's infections between pathways: by the species of the
# direct infector, or by the species whose spillover or index case started the chain.
ATTRIBUTIONS: tuple[str, ...] = ("source", "origin")
# Risk words from least to most severe (``not estimated`` first), to pick the worst risk.
RISK_ORDER: tuple[str, ...] = (NOT_ESTIMATED, *LIKELIHOOD_WORDS)

DEFAULT_RISK_MATRIX: dict[str, Any] = {
    "source": (
        "this assessment's own matrix, to be confirmed by the DRA team: likelihood x "
        "consequence as the Manual's risk estimation step describes (Jakob-Hoff et al. 2014); "
        "the cells are a configured decision, not copied from a published table"
    ),
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
        """The matrix of ``risk.risk_matrix``; its shape and equivalents are checked."""
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
    attribution: str = "source"  # infection chains rated by direct "source" or chain "origin"
    dose_costs: Mapping[str, float] = field(default_factory=dict)  # species -> cost of a dose
    currency: str = ""

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> RiskSettings:
        """Settings from the ``risk:`` section; thresholds must use known words, increasing."""
        likelihood = _ordered_thresholds(
            section["likelihood_thresholds"], LIKELIHOOD_WORDS, "risk.likelihood_thresholds"
        )
        consequence = _ordered_thresholds(
            section["consequence_thresholds"], CONSEQUENCE_WORDS, "risk.consequence_thresholds"
        )
        attribution = section.get("attribution", "source")
        if attribution not in ATTRIBUTIONS:
            raise RiskConfigError(
                f"risk.attribution: {attribution!r} is not one of {list(ATTRIBUTIONS)}"
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
            attribution=attribution,
            dose_costs=dict((section.get("dose_costs") or {}).get("per_dose", {})),
            currency=str((section.get("dose_costs") or {}).get("currency", "")),
        )


def _ordered_thresholds(
    spec: Mapping[str, float], words: Sequence[str], where: str
) -> dict[str, float]:
    """Lower bounds by word, in scale order; unknown words and non-increasing bounds fail."""
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


def risk_rank(word: str) -> int:
    """Position of a risk word in :data:`RISK_ORDER` (unknown words count as not estimated)."""
    return RISK_ORDER.index(word) if word in RISK_ORDER else 0


@dataclass(frozen=True)
class AssumptionDriver:
    """The assumption that moves a target's chance of infection most (sensitivity analysis):
    its name, Morris ``mu_star`` (change across its range) and the bootstrap half-width."""

    parameter: str
    kind: str
    mu_star: float
    mu_star_conf: float
    label: str = ""  # readable name ("population size: amur leopard"); the name if empty


def uncertainty_level(
    *,
    relative_width: float,
    n_tested: float,
    fit_reliable: bool,
    settings: Mapping[str, Any],
    driver: AssumptionDriver | None = None,
) -> tuple[str, str]:
    """Uncertainty word (low/medium/high) and its reasons.

    The level is the worst of four criteria: the relative width of the serology interval
    ((hi95 - lo95) / median), the number of animals tested, whether the model fits passed
    their diagnostics, and how far the assumption that drives the answer most moves it
    (``driver``, with thresholds ``assumption_effect``; skipped without either).
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
    if driver is not None and "assumption_effect" in settings:
        word = scale_word(driver.mu_star, settings["assumption_effect"], "low")
        conf = "" if math.isnan(driver.mu_star_conf) else f" (+/- {driver.mu_star_conf:.2g})"
        levels.append((word, (
            f"the chance of infection moves by {driver.mu_star:.2g}{conf} across the range of "
            f"{driver.label or driver.parameter} ({driver.kind}; sensitivity analysis)"
        )))
    worst = max(levels, key=lambda lv: UNCERTAINTY_WORDS.index(lv[0]))[0]
    reasons = "; ".join(reason for word, reason in levels if word == worst)
    return worst, reasons
