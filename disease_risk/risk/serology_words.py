"""Release and exposure words of hazards other than CDV from their serology.

For a hazard whose pathogen has serology (``results/hazards/serology.tsv``), the true
seroprevalence stands for the likelihood of release and exposure (an assumption, entered in the
assumptions register): release from the most-infected source species of the pathway, exposure
from the target species, each the posterior median mapped to a word with the likelihood
thresholds of the CDV estimation, the 95% credible interval and the number tested beside it.
Where a pathway or target has no serology for the hazard, the DRA team's word stays, marked
:data:`JUDGEMENT_NO_SEROLOGY`. Consequence stays a judgement for these hazards. Pure functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from disease_risk.risk.assumptions import with_row
from disease_risk.risk.evidence import require_columns
from disease_risk.risk.scales import likelihood_word
from disease_risk.tables import HAZARD_SEROLOGY_COLUMNS

JUDGEMENT_NO_SEROLOGY = "judgement (no serology)"
JUDGEMENT = "judgement"
STATISTIC = "posterior median"
PROXY_ASSUMPTION = "seroprevalence_as_likelihood"


@dataclass(frozen=True)
class SerologyWord:
    """A likelihood word read from one species' true seroprevalence of one pathogen."""

    species: str
    n_tested: int
    median: float
    lo95: float
    hi95: float
    word: str
    reliable: bool

    def basis(self) -> str:
        """How the word was obtained, as the tables and the report show it."""
        flag = "" if self.reliable else "; fit failed its checks: provisional"
        return (
            f"serology: {STATISTIC} true seroprevalence of {self.species} {self.median:.2f} "
            f"(95% CrI {self.lo95:.2f}-{self.hi95:.2f}, n = {self.n_tested}){flag}"
        )


def pathogen_species(serology: pd.DataFrame | None, pathogen: str) -> pd.DataFrame:
    """One pathogen's fitted species rows of the all-pathogens table, indexed by species."""
    if serology is None:
        return pd.DataFrame(columns=list(HAZARD_SEROLOGY_COLUMNS)).set_index("species")
    require_columns(serology, HAZARD_SEROLOGY_COLUMNS, "hazard serology table")
    rows = serology[(serology["pathogen"].astype(str) == pathogen)
                    & (serology["species"].fillna("").astype(str) != "")
                    & serology["true_prevalence_median"].notna()]
    return rows.set_index("species")


def serology_word(
    species: Sequence[str], fitted: pd.DataFrame, thresholds: Mapping[str, float]
) -> SerologyWord | None:
    """The word of the most-infected of ``species`` (highest posterior median; ties to the
    most tested), or None when none of them has serology."""
    have = [s for s in species if s in fitted.index]
    if not have:
        return None
    best = max(have, key=lambda s: (float(fitted.loc[s, "true_prevalence_median"]),
                                    int(fitted.loc[s, "n_tested"]), s))
    row = fitted.loc[best]
    median = float(row["true_prevalence_median"])
    return SerologyWord(
        species=best, n_tested=int(row["n_tested"]), median=median,
        lo95=float(row["true_prevalence_lo95"]), hi95=float(row["true_prevalence_hi95"]),
        word=likelihood_word(median, thresholds), reliable=str(row["fit_reliable"]) == "yes",
    )


def release_species(pathway: Mapping[str, Any], target: str) -> list[str]:
    """The species a pathway releases the hazard from: its sources, the target itself left
    out unless it is the only one (a target does not release a hazard to itself)."""
    sources = list(pathway.get("sources", []))
    return [s for s in sources if s != target] or sources


def words_from_serology(
    assessment: Mapping[str, Any], target: str, pathway: Mapping[str, Any],
    fitted: pd.DataFrame, thresholds: Mapping[str, float],
) -> dict[str, Any]:
    """Release and exposure of one judged row, replaced by the serology's where it exists:
    words, probabilities (posterior medians) with 95% intervals, and each word's basis."""
    release = serology_word(release_species(pathway, target), fitted, thresholds)
    exposure = serology_word([target], fitted, thresholds)
    nan = math.nan
    return {
        "release_likelihood": release.word if release else assessment["release"],
        "release_probability": release.median if release else nan,
        "release_lo95": release.lo95 if release else nan,
        "release_hi95": release.hi95 if release else nan,
        "release_basis": release.basis() if release else JUDGEMENT_NO_SEROLOGY,
        "exposure_likelihood": exposure.word if exposure else assessment["exposure"],
        "exposure_probability": exposure.median if exposure else nan,
        "exposure_lo95": exposure.lo95 if exposure else nan,
        "exposure_hi95": exposure.hi95 if exposure else nan,
        "exposure_basis": exposure.basis() if exposure else JUDGEMENT_NO_SEROLOGY,
        "serology_species": release.species if release else "",
        "source_n_tested": release.n_tested if release else nan,
        "source_prevalence_median": release.median if release else nan,
        "source_prevalence_lo95": release.lo95 if release else nan,
        "source_prevalence_hi95": release.hi95 if release else nan,
        "target_n_tested": exposure.n_tested if exposure else nan,
        "from_serology": bool(release or exposure),
    }


def proxy_assumption(hazards: Sequence[str], register: pd.DataFrame) -> pd.DataFrame:
    """The assumptions register with the proxy behind the serology words appended (when any
    hazard used it): seroprevalence stands for the likelihood of release and exposure."""
    if not hazards:
        return register
    row = {
        "assumption": PROXY_ASSUMPTION,
        "label": "true seroprevalence stands for the likelihood of release and exposure",
        "kind": "DRA proxy",
        "where_it_enters": (
            "risk estimation of " + ", ".join(hazards) + ": release word from the source "
            f"species' and exposure word from the target's {STATISTIC} true seroprevalence, "
            "on the likelihood thresholds of the CDV estimation"
        ),
        "serology": (
            "antibodies show past infection, not the chance of passing the hazard on or of "
            "meeting it within the horizon; the word may overstate a hazard that leaves long-"
            "lived antibodies and understate one that kills before animals seroconvert"
        ),
        "source": "assumption of this assessment, to be reviewed by the DRA team",
    }
    return with_row(register, row)
