"""Who infected the target: its chance of infection split between pathways by the simulated
infection chains (issue 13).

In each replicate the target's infections are split by the species of the direct infector
(``source``: a species, ``outside`` the landscape or an ``index_case``) or by the species whose
spillover or index case started the chain (``origin``). A pathway's likelihood is the mean over
replicates of [target infected] x [share of that replicate's target infections via the pathway],
so the pathways of a target add up exactly to its chance of any infection. Its interval is that
of its value over parameter sets, with the Monte Carlo error apart
(:mod:`disease_risk.montecarlo`). Reads nothing from disk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from disease_risk.montecarlo import split_uncertainty
from disease_risk.risk.evidence import probability_interval, require_columns
from disease_risk.risk.scales import ATTRIBUTIONS, RiskConfigError
from disease_risk.tables import INDEX_SOURCE, OUTSIDE_SOURCE, origin_column, source_column

ALL_PATHWAYS = "all_pathways"  # the target's chance of any infection: the sum of its pathways
OUTSIDE_LANDSCAPE = "outside_landscape"  # spillover from beyond the landscape into the target
INDEX_CASES = "index_cases"  # target animals a scenario infects at day 0
OWN_SPECIES = "own_species"  # infected by (source) or chain started in (origin) the target
OTHER_SPECIES = "other_species"  # species that no configured pathway of the target lists
CHAIN_PATHWAY_LABELS = {
    OUTSIDE_LANDSCAPE: "infection from outside the landscape",
    INDEX_CASES: "index cases placed by the scenario",
    OWN_SPECIES: "the target species itself",
    OTHER_SPECIES: "species in no configured pathway",
    ALL_PATHWAYS: "all pathways together",
}
SOURCE_PATHWAYS = {OUTSIDE_SOURCE: OUTSIDE_LANDSCAPE, INDEX_SOURCE: INDEX_CASES}


class ChainCountsError(ValueError):
    """A replicate table whose infection-chain counts contradict its infected counts."""


@dataclass(frozen=True)
class PathwayLikelihood:
    """A pathway's share of the target's chance of infection, the 95% interval of its value
    over parameter sets and its Monte Carlo standard error."""

    probability: float
    lo95: float
    hi95: float
    mcse: float = float("nan")


def pathway_label(name: str, pathways: Mapping[str, Mapping]) -> str:
    """A pathway's label: the config's ``label``, the chain pathways' own, else its name."""
    return pathways.get(name, {}).get("label", CHAIN_PATHWAY_LABELS.get(name, name))


def species_pathways(
    target: str, pathways: Mapping[str, Mapping], species: Sequence[str]
) -> dict[str, str]:
    """The pathway each simulated species belongs to for ``target``: the configured pathway
    listing it in ``sources``, ``own_species`` for the target, else ``other_species``."""
    claimed: dict[str, str] = {}
    for name, spec in pathways.items():
        if name in CHAIN_PATHWAY_LABELS:
            raise RiskConfigError(
                f"risk.pathways: {name!r} is the name of a pathway the infection chains add; "
                "rename it"
            )
        for s in spec.get("sources", []):
            if s != target and s in claimed and claimed[s] != name:
                raise RiskConfigError(
                    f"risk.pathways: {s!r} is a source of both {claimed[s]!r} and {name!r} for "
                    f"target {target!r}; list each species in one pathway"
                )
            claimed.setdefault(s, name)
    return {
        s: OWN_SPECIES if s == target else claimed.get(s, OTHER_SPECIES) for s in species
    }


def chain_counts(
    replicates: pd.DataFrame, target: str, species: Sequence[str], attribution: str, what: str
) -> pd.DataFrame:
    """Infections of ``target`` per replicate (rows) by direct source or by chain origin
    (columns: species keys; for ``source`` also ``outside`` and ``index_case``)."""
    if attribution == "source":
        columns = {source_column(target, s): s for s in (*species, OUTSIDE_SOURCE, INDEX_SOURCE)}
    elif attribution == "origin":
        columns = {origin_column(target, s): s for s in species}
    else:
        raise RiskConfigError(f"risk.attribution {attribution!r} is not one of {ATTRIBUTIONS}")
    require_columns(replicates, columns, what)
    return replicates[list(columns)].rename(columns=columns).astype(float)


def pathway_shares(
    counts: pd.DataFrame, infected: pd.Series, pathway_of: Mapping[str, str], what: str
) -> pd.DataFrame:
    """Per replicate (rows) and pathway (columns): [target infected] x the replicate's share of
    target infections via the pathway; each row sums to 1 if the target was infected, else 0."""
    mapping = {c: pathway_of[c] if c in pathway_of else SOURCE_PATHWAYS[c] for c in counts}
    by_pathway = counts.T.groupby(mapping).sum().T
    total = by_pathway.sum(axis=1)
    hit = pd.Series(infected.to_numpy() > 0, index=counts.index)
    disagree = hit != (total > 0)
    if disagree.any():
        raise ChainCountsError(
            f"{what}: infected count and infection-chain counts disagree in "
            f"{int(disagree.sum())} replicate(s) (first at row {int(disagree.to_numpy().argmax())})"
        )
    return by_pathway.div(total.where(hit, 1.0), axis=0).mul(hit.astype(float), axis=0)


def mean_with_interval(per_replicate: pd.Series, parameter_set: pd.Series) -> PathwayLikelihood:
    """Mean over replicates, the 95% interval of its value over parameter sets and its Monte
    Carlo error; with one run per set, the Monte Carlo (Jeffreys) interval instead, the summed
    shares taken as the count of infected replicates (exact for 0/1, conservative between)."""
    split = split_uncertainty(per_replicate.to_numpy(float), parameter_set.to_numpy())
    lo, hi = split.lo95, split.hi95
    if math.isnan(lo) or math.isnan(hi):
        lo, hi = probability_interval(split.estimate, float("nan"), float(len(per_replicate)))
    return PathwayLikelihood(split.estimate, lo, hi, split.mcse)


@dataclass(frozen=True)
class ChainAttribution:
    """A target's chance of infection and its split between pathways, both ways."""

    total: PathwayLikelihood
    by_source: Mapping[str, PathwayLikelihood]
    by_origin: Mapping[str, PathwayLikelihood]
    parameter_set: pd.Series  # of each replicate
    species_pathway: Mapping[str, str]  # the pathway each simulated species belongs to

    @property
    def replicates(self) -> int:
        """Replicates the attribution averages over."""
        return len(self.parameter_set)

    @property
    def parameter_sets(self) -> int:
        """Parameter sets among them."""
        return int(self.parameter_set.nunique())

    def pathways(self, configured: Sequence[str]) -> list[str]:
        """Rows to report: every configured pathway, then chain pathways with a nonzero share
        either way (outside, index cases, own species, other species)."""
        added = [
            name for name in (OUTSIDE_LANDSCAPE, INDEX_CASES, OWN_SPECIES, OTHER_SPECIES)
            if any(split[name].probability > 0 for split in (self.by_source, self.by_origin)
                   if name in split)
        ]
        return [*configured, *added]

    def likelihood(self, pathway: str, attribution: str) -> PathwayLikelihood:
        """Pathway likelihood by ``source`` or ``origin`` (0 with its interval if none)."""
        split = self.by_source if attribution == "source" else self.by_origin
        if pathway in split:
            return split[pathway]
        return mean_with_interval(0.0 * self.parameter_set, self.parameter_set)


def attribute_infections(
    replicates: pd.DataFrame,
    target: str,
    species: Sequence[str],
    pathways: Mapping[str, Mapping],
    what: str,
) -> ChainAttribution:
    """The target's chance of any infection in ``replicates`` and its pathway likelihoods by
    direct source and by chain origin; ``pathways`` are the configured pathways with ``sources``."""
    infected_column = f"infected_{target}"
    require_columns(replicates, [infected_column], what)
    pathway_of = species_pathways(target, pathways, species)
    infected = replicates[infected_column]
    sets = (
        replicates["parameter_set"] if "parameter_set" in replicates
        else pd.Series(range(len(replicates)), index=replicates.index)
    )
    splits = {}
    for attribution in ATTRIBUTIONS:
        counts = chain_counts(replicates, target, species, attribution, what)
        shares = pathway_shares(counts, infected, pathway_of, what)
        splits[attribution] = {name: mean_with_interval(shares[name], sets) for name in shares}
    hit = (infected > 0).astype(float)
    return ChainAttribution(
        total=mean_with_interval(hit, sets), by_source=splits["source"],
        by_origin=splits["origin"], parameter_set=sets, species_pathway=pathway_of,
    )
