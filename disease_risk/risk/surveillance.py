"""Surveillance design: how many animals to test, and what negative results are worth.

Pure functions behind ``disease-risk sample-size`` (no file I/O):

- :func:`freedom_sample_size`: animals to test to detect CDV if it is present at a design
  prevalence, with a given confidence (freedom from disease). Binomial for a large or unknown
  population; *exact* hypergeometric (sampling without replacement) for a population of
  ``population`` animals, of which ``ceil(population x design_prevalence)`` are infected (Cannon &
  Roe 1982; Cameron & Baldock 1998). With an imperfect specificity a single false positive would
  condemn a free group, so the cut-point approach of Cameron & Baldock (1998) is used: the group is
  called infected when ``cut_point`` or more animals test positive, with the cut-point chosen so
  that the group specificity stays at or above ``min_group_specificity`` (as in RSurveillance
  ``n.c.hp`` / FreeCalc, but with the exact group sensitivity of Cameron & Baldock's modified
  hypergeometric formula, RSurveillance ``sep.freecalc``).
- :func:`prevalence_sample_size`: animals to test to estimate a true prevalence to an absolute
  precision with an imperfect test (Humphry, Cameron & Gunn 2004, equation 2; epiR
  ``epi.sssimpleestb``, RSurveillance ``n.tp``; finite population correction as in epiR).
- :func:`probability_of_freedom`: after ``negative_tests`` animals all tested negative (e.g.
  pre-release screening of zoo leopards), the confidence of freedom at the design prevalence
  (group sensitivity) and the posterior probability that the group is free given a prior
  probability of infection (Martin, Cameron & Greiner 2007; RSurveillance ``pfree.1``).
- :func:`surveillance_plan`: where to sample next season, species by species and site by site,
  ranked by how far assumptions about the species move the targets' chance of infection.
- :func:`macdiarmid_sample_size`: the approximate hypergeometric sample size of MacDiarmid
  (1988) that RSurveillance ``n.hypergeo`` and Epitools print, to compare with their tables.

References: Cameron AR, Baldock FC (1998) Prev Vet Med 34:1-17; Cannon RM, Roe RT (1982)
Livestock disease surveys, AGPS Canberra; Humphry RW, Cameron A, Gunn GJ (2004) Prev Vet Med
65:173-188; MacDiarmid SC (1988) NZ Vet J 36:39-42; Martin PAJ, Cameron AR, Greiner M (2007) Prev
Vet Med 79:71-97; Sergeant ESG, RSurveillance (CRAN).

Invalid input raises :class:`SurveillanceInputError`, whose ``parameter`` is the argument's name
(the CLI turns it into the option ``--design-prevalence`` etc.).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

from disease_risk.tables import SURVEILLANCE_PLAN_COLUMNS

# A group sensitivity within this of its target counts as reaching it: 1 - 0.9**2 is
# 0.18999999999999995 in floating point, and 2 animals do reach 19% at 10% design prevalence.
TOLERANCE = 1e-12
# The cut-point search for an infinite population stops here (an imperfect specificity with a
# tiny design prevalence can need hundreds of thousands of animals).
MAX_SAMPLE_SIZE = 1_000_000
_CHUNK = 20_000


class SurveillanceInputError(ValueError):
    """An argument is out of range; ``parameter`` names it, the message says what would fix it."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter} {problem}")
        self.parameter = parameter
        self.problem = problem


@dataclass(frozen=True)
class FreedomDesign:
    """A freedom survey: test ``sample_size`` animals, call the group infected at ``cut_point``
    or more positives; ``group_sensitivity`` is the probability of that if CDV is present at the
    design prevalence, ``group_specificity`` the probability of not calling a free group infected.
    ``infected`` is the number of infected animals the design assumes (finite population only)."""

    sample_size: int
    cut_point: int
    group_sensitivity: float
    group_specificity: float
    method: str
    infected: int | None


@dataclass(frozen=True)
class FreedomEvidence:
    """What ``negative_tests`` negative results say: ``confidence`` of freedom at the design
    prevalence (the group sensitivity: the chance of at least one positive had CDV been present
    at that prevalence) and the posterior ``probability_free`` given the prior."""

    confidence: float
    probability_free: float
    infected: int | None


# ----------------------------------------------------------------------------- validation

def _proportion(parameter: str, value: float, *, allow_one: bool = False) -> float:
    """Check 0 < value < 1 (or <= 1); the message suggests value/100 when a percent was given."""
    top_ok = value <= 1 if allow_one else value < 1
    if not (math.isfinite(value) and value > 0 and top_ok):
        span = "above 0 and at most 1" if allow_one else "strictly between 0 and 1"
        hint = f"; for {value:g}% write {value / 100:g}" if 1 < value <= 100 else ""
        raise SurveillanceInputError(
            parameter, f"must be a proportion {span}, e.g. 0.05 for 5%; got {value:g}{hint}")
    return value


def _test(sensitivity: float, specificity: float) -> None:
    """Check the test's sensitivity and specificity (each in (0, 1])."""
    _proportion("sensitivity", sensitivity, allow_one=True)
    _proportion("specificity", specificity, allow_one=True)


def _population(population: int | None) -> int | None:
    """Check a population size: a whole number of animals >= 1, or None for large/unknown."""
    if population is None:
        return None
    if isinstance(population, bool) or int(population) != population or population < 1:
        raise SurveillanceInputError(
            "population", f"must be a whole number of animals (1 or more), or left out for a "
            f"large or unknown population; got {population}")
    return int(population)


def design_infected(population: int, design_prevalence: float) -> int:
    """Infected animals at the design prevalence in a finite population: ceil(N x P), at least
    1 (RSurveillance's convention); rounded first so 100 x 0.07 is 7, not 8."""
    return max(1, math.ceil(round(population * design_prevalence, 9)))


def _reaches(value: float, target: float) -> bool:
    return value >= target - TOLERANCE


# ----------------------------------------------------------------------------- group sensitivity

def _hypergeom_pmf(population: int, infected: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Infected animals y among n drawn without replacement, and their probabilities."""
    lo, hi = max(0, n - (population - infected)), min(infected, n)
    y = np.arange(lo, hi + 1)

    def log_comb(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        return gammaln(np.add(a, 1)) - gammaln(np.add(b, 1)) - gammaln(np.subtract(a, b) + 1)

    logp = log_comb(infected, y) + log_comb(population - infected, n - y) - log_comb(population, n)
    return y, np.exp(logp)


def group_specificity(n: int, specificity: float, cut_point: int = 1) -> float:
    """Probability that a free group of n tested animals gives fewer than ``cut_point``
    positives (false positives are independent, whatever the population size)."""
    return float(stats.binom.cdf(cut_point - 1, n, 1.0 - specificity))


def group_sensitivity(n: int, design_prevalence: float, sensitivity: float = 1.0,
                      specificity: float = 1.0, population: int | None = None,
                      cut_point: int = 1) -> float:
    """Probability of ``cut_point`` or more positives among n tested if CDV is present at the
    design prevalence: binomial without a population, else exact hypergeometric (Cameron &
    Baldock 1998), true positives among the infected sampled plus false positives among the rest."""
    population = _population(population)
    if population is None:
        p_pos = sensitivity * design_prevalence + (1.0 - specificity) * (1.0 - design_prevalence)
        return float(stats.binom.sf(cut_point - 1, n, p_pos))
    infected = design_infected(population, design_prevalence)
    y, pmf = _hypergeom_pmf(population, infected, n)
    if specificity == 1.0 and cut_point == 1:
        return float(1.0 - np.sum(pmf * (1.0 - sensitivity) ** y))
    j = np.arange(cut_point)[:, None]  # true positives, below the cut-point
    below = stats.binom.pmf(j, y[None, :], sensitivity) * stats.binom.cdf(
        cut_point - 1 - j, n - y[None, :], 1.0 - specificity)
    return float(1.0 - np.sum(pmf * below.sum(axis=0)))


def _all_negative_if_infected(n: int, design_prevalence: float, sensitivity: float,
                              specificity: float, population: int | None) -> float:
    """Probability that all n tested are negative if CDV is present at the design prevalence."""
    if population is None:
        return float((1.0 - sensitivity * design_prevalence
                      - (1.0 - specificity) * (1.0 - design_prevalence)) ** n)
    y, pmf = _hypergeom_pmf(population, design_infected(population, design_prevalence), n)
    return float(np.sum(pmf * (1.0 - sensitivity) ** y * specificity ** (n - y)))


# ----------------------------------------------------------------------------- freedom sample size

def _cut_points(ns: np.ndarray, specificity: float, min_group_specificity: float) -> np.ndarray:
    """Smallest cut-point per sample size whose group specificity reaches the minimum (the one
    with the highest group sensitivity under that constraint)."""
    q = 1.0 - specificity
    cut = stats.binom.ppf(min_group_specificity, ns, q).astype(np.int64) + 1
    for _ in range(3):  # ppf's own rounding, corrected against the cdf
        up = stats.binom.cdf(cut - 1, ns, q) < min_group_specificity - TOLERANCE
        down = (cut > 1) & (stats.binom.cdf(cut - 2, ns, q) >= min_group_specificity - TOLERANCE)
        if not (up.any() or down.any()):
            break
        cut = cut + up - down
    return cut


def _unreachable(confidence: float, why: str) -> SurveillanceInputError:
    return SurveillanceInputError(
        "confidence", f"{confidence:g} cannot be reached: {why}; ask for a lower confidence or "
        f"a higher design prevalence")


def freedom_sample_size(design_prevalence: float, confidence: float, sensitivity: float = 1.0,
                        specificity: float = 1.0, population: int | None = None,
                        min_group_specificity: float = 0.95) -> FreedomDesign:
    """Fewest animals to test so that CDV present at the design prevalence would be detected
    with probability >= confidence (perfect specificity: any positive; imperfect: the cut-point
    approach, see the module docstring). Binomial without a population, else exact
    hypergeometric; raises :class:`SurveillanceInputError` when the target cannot be reached."""
    _proportion("design_prevalence", design_prevalence)
    _proportion("confidence", confidence)
    _test(sensitivity, specificity)
    _proportion("min_group_specificity", min_group_specificity)
    population = _population(population)
    if sensitivity + specificity <= 1.0:
        raise SurveillanceInputError(
            "specificity", f"({specificity:g}) plus sensitivity ({sensitivity:g}) must exceed 1: "
            f"a test no better than chance cannot show freedom (check both are proportions)")
    infected = None if population is None else design_infected(population, design_prevalence)
    method = "binomial" if population is None else "hypergeometric"

    def design(n: int, cut: int) -> FreedomDesign:
        return FreedomDesign(n, cut, group_sensitivity(n, design_prevalence, sensitivity,
                                                       specificity, population, cut),
                             group_specificity(n, specificity, cut), method, infected)

    if specificity == 1.0:
        if population is None:
            ratio = math.log1p(-confidence) / math.log1p(-sensitivity * design_prevalence)
            n = max(1, math.ceil(ratio - 1e-9))
            while n > 1 and _reaches(group_sensitivity(n - 1, design_prevalence, sensitivity),
                                     confidence):
                n -= 1
            while not _reaches(group_sensitivity(n, design_prevalence, sensitivity), confidence):
                n += 1
            return design(n, 1)
        census = group_sensitivity(population, design_prevalence, sensitivity,
                                   population=population)
        if not _reaches(census, confidence):
            raise _unreachable(confidence, f"even testing all {population} animals "
                               f"finds the {infected} infected one(s) with probability only "
                               f"{census:.4g}")
        lo, hi = 0, population  # group sensitivity grows with n: bisect
        while hi - lo > 1:
            mid = (lo + hi) // 2
            sep = group_sensitivity(mid, design_prevalence, sensitivity, population=population)
            lo, hi = (lo, mid) if _reaches(sep, confidence) else (mid, hi)
        return design(hi, 1)

    # Imperfect specificity: group sensitivity is saw-toothed in n, so scan every n.
    if population is None:
        p_pos = sensitivity * design_prevalence + (1.0 - specificity) * (1.0 - design_prevalence)
        best = 0.0
        for start in range(1, MAX_SAMPLE_SIZE + 1, _CHUNK):
            ns = np.arange(start, min(start + _CHUNK, MAX_SAMPLE_SIZE + 1))
            cuts = _cut_points(ns, specificity, min_group_specificity)
            seps = stats.binom.sf(cuts - 1, ns, p_pos)
            hits = np.flatnonzero(seps >= confidence - TOLERANCE)
            if hits.size:
                return design(int(ns[hits[0]]), int(cuts[hits[0]]))
            best = max(best, float(seps.max()))
        raise _unreachable(confidence, f"more than {MAX_SAMPLE_SIZE:,} animals would be needed "
                           f"with specificity {specificity:g} (best group sensitivity {best:.4g})")
    best = 0.0
    ns = np.arange(1, population + 1)
    cuts = _cut_points(ns, specificity, min_group_specificity)
    for n, cut in zip(ns.tolist(), cuts.tolist(), strict=True):
        sep = group_sensitivity(n, design_prevalence, sensitivity, specificity, population, cut)
        if _reaches(sep, confidence):
            return design(n, cut)
        best = max(best, sep)
    raise _unreachable(confidence, f"no sample of up to {population} animals reaches it with "
                       f"a group specificity of {min_group_specificity:g} or more (best group "
                       f"sensitivity {best:.4g}; a lower minimum group specificity may help)")


def macdiarmid_sample_size(confidence: float, population: int, infected: int,
                           sensitivity: float = 1.0) -> int | None:
    """MacDiarmid's (1988) approximate hypergeometric sample size, as RSurveillance
    ``n.hypergeo`` and Epitools compute it: ceil(N/Se (1 - (1-C)^(1/d))); None when above N."""
    n = (population / sensitivity) * (1.0 - (1.0 - confidence) ** (1.0 / infected))
    return None if n > population else math.ceil(n)


# ----------------------------------------------------------------------------- prevalence

def prevalence_sample_size(expected_prevalence: float, precision: float, confidence: float,
                           sensitivity: float = 1.0, specificity: float = 1.0,
                           population: int | None = None) -> int:
    """Animals to test to estimate a true prevalence to +/- ``precision`` (absolute) with an
    imperfect test: n = z^2 AP (1 - AP) / (precision^2 (Se + Sp - 1)^2), AP = Se p + (1-Sp)(1-p)
    the apparent prevalence (Humphry et al. 2004, eq. 2); with a population, n N / (n + N - 1)
    (epiR ``epi.sssimpleestb``); rounded up."""
    _proportion("expected_prevalence", expected_prevalence)
    _proportion("precision", precision)
    _proportion("confidence", confidence)
    _test(sensitivity, specificity)
    population = _population(population)
    youden = sensitivity + specificity - 1.0
    if youden <= 0:
        raise SurveillanceInputError(
            "specificity", f"({specificity:g}) plus sensitivity ({sensitivity:g}) must exceed 1 "
            f"to estimate a true prevalence: at or below 1 the test carries no information "
            f"(check both are proportions, e.g. 0.95)")
    z = float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))
    apparent = sensitivity * expected_prevalence + (1.0 - specificity) * (1.0 - expected_prevalence)
    n = z**2 * apparent * (1.0 - apparent) / (precision**2 * youden**2)
    if population is not None:
        n = n * population / (n + population - 1)
    return max(1, math.ceil(round(n, 9)))


# ----------------------------------------------------------------------------- probability free

def posterior_freedom(group_sensitivity: float, prior_infection: float, p_intro: float = 0.0,
                      group_specificity: float = 1.0) -> float:
    """Probability the group is free after a negative survey: the prior probability of freedom,
    discounted for introduction, updated by Bayes' rule with the survey's group sensitivity and
    specificity (RSurveillance ``pfree.1`` when specificity is 1)."""
    prior_free = (1.0 - prior_infection) * (1.0 - p_intro)
    free = prior_free * group_specificity
    return free / (free + (1.0 - prior_free) * (1.0 - group_sensitivity))


def probability_of_freedom(negative_tests: int, design_prevalence: float,
                           prior_infection: float = 0.5, sensitivity: float = 1.0,
                           specificity: float = 1.0, population: int | None = None,
                           p_intro: float = 0.0) -> FreedomEvidence:
    """After ``negative_tests`` animals (out of ``population``, or of a large group) all test
    negative: the confidence of freedom at the design prevalence and the posterior probability
    of freedom given the prior probability that the group is infected at that prevalence."""
    _proportion("design_prevalence", design_prevalence)
    _proportion("prior_infection", prior_infection)
    _test(sensitivity, specificity)
    population = _population(population)
    if isinstance(negative_tests, bool) or int(negative_tests) != negative_tests \
            or negative_tests < 1:
        raise SurveillanceInputError(
            "negative_tests", f"must be a whole number of animals tested (1 or more); "
            f"got {negative_tests}")
    if population is not None and negative_tests > population:
        raise SurveillanceInputError(
            "negative_tests", f"({negative_tests}) cannot exceed the population ({population}); "
            f"count each animal once")
    if not (0.0 <= p_intro < 1.0):
        raise SurveillanceInputError("p_intro", f"must be in [0, 1); got {p_intro:g}")
    n = int(negative_tests)
    missed = _all_negative_if_infected(n, design_prevalence, sensitivity, specificity, population)
    # A free group tests all negative with probability Sp^n (1 with a perfect specificity).
    probability = posterior_freedom(1.0 - missed, prior_infection, p_intro, specificity**n)
    infected = None if population is None else design_infected(population, design_prevalence)
    return FreedomEvidence(1.0 - missed, probability, infected)


# ----------------------------------------------------------------------------- next season

SEROLOGY_INFORMED = ("initial_immune", "outside_infection")  # assumptions serology informs


def surveillance_plan(
    prevalence: pd.DataFrame,
    register: pd.DataFrame,
    targets: list[str] | tuple[str, ...],
    precision: float,
    confidence: float,
    sensitivity: float,
    specificity: float,
) -> pd.DataFrame:
    """Where to sample next season: per species and site (and the species as a whole), the
    animals needed to estimate its true prevalence to +/- ``precision``
    (:func:`prevalence_sample_size`, at the current median), how many more than tested so far,
    and, of the assumptions about that species that its serology informs (its share immune at
    the start, ``initial_immune_<species>``, and its infection from outside the landscape,
    ``outside_infection_<species>``, calibrated to its force of infection), the one that moves a
    target's chance of infection most (the assumptions register's ``moves_infection_<target>``,
    largest over targets). Ranked by that effect, then by the samples still needed: the
    estimates that drive the risk come first."""
    rows = prevalence[prevalence["year"].astype(str) == "all"]
    moves = register[[c for c in register.columns if c.startswith("moves_infection_")
                      and c.removeprefix("moves_infection_") in targets]].max(axis=1)
    out = []
    for row in rows.itertuples():
        species = str(row.species)
        about = register["assumption"].astype(str).isin(
            [f"{informed}_{species}" for informed in SEROLOGY_INFORMED]
        )
        effect = moves[about]
        driver = register.loc[effect.idxmax(), "label"] if effect.notna().any() else ""
        needed = prevalence_sample_size(
            min(max(float(row.true_prevalence_median), 1e-6), 1 - 1e-6), precision, confidence,
            sensitivity, specificity,
        )
        out.append({
            "species": species, "site": str(row.site), "n_tested": int(row.n_tested),
            "true_prevalence_median": float(row.true_prevalence_median),
            "true_prevalence_lo95": float(row.true_prevalence_lo95),
            "true_prevalence_hi95": float(row.true_prevalence_hi95),
            "samples_for_precision": needed, "more_samples": max(0, needed - int(row.n_tested)),
            "driving_assumption": driver,
            "moves_infection": float(effect.max()) if effect.notna().any() else float("nan"),
        })
    table = pd.DataFrame(out, columns=[c for c in SURVEILLANCE_PLAN_COLUMNS if c != "rank"])
    table = table.sort_values(
        ["moves_infection", "more_samples", "species", "site"],
        ascending=[False, False, True, True], na_position="last", kind="stable",
    ).reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table[list(SURVEILLANCE_PLAN_COLUMNS)]
