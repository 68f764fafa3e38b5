"""Surveillance design (issue 14): freedom and prevalence sample sizes, probability of freedom,
and the ``disease-risk sample-size`` command.

References are computed here independently of the code under test (closed forms, exact
rational arithmetic with ``math.comb``, brute-force searches with ``scipy.stats``) or are the
published values of RSurveillance's own test suite (evansergeant/RSurveillance,
tests/RSurveillance.R) and help-page examples.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from scipy import stats

from disease_risk.cli import main
from disease_risk.risk.surveillance import (
    SurveillanceInputError,
    design_infected,
    freedom_sample_size,
    group_sensitivity,
    group_specificity,
    macdiarmid_sample_size,
    posterior_freedom,
    prevalence_sample_size,
    probability_of_freedom,
)


def last_line(capsys) -> str:
    return capsys.readouterr().out.rstrip("\n").splitlines()[-1]


def exact_infected(population: int, prevalence: float) -> int:
    """ceil(N x P) in rational arithmetic (no floating-point 7.000000000000001)."""
    return max(1, math.ceil(Fraction(str(prevalence)) * population))


# ----------------------------------------------------------------------------- freedom, binomial

def test_59_animals_for_5_percent_at_95_percent_with_a_perfect_test():
    assert math.ceil(math.log(0.05) / math.log(0.95)) == 59
    design = freedom_sample_size(0.05, 0.95)
    assert design.sample_size == 59 and design.method == "binomial" and design.cut_point == 1
    assert design.group_sensitivity == pytest.approx(1 - 0.95**59)


@pytest.mark.parametrize("prevalence", [0.001, 0.01, 0.02, 0.05, 0.1, 0.3])
@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("sensitivity", [1.0, 0.95, 0.7])
def test_binomial_sample_size_is_the_smallest_n_reaching_the_confidence(prevalence, confidence,
                                                                         sensitivity):
    n = 1
    while 1 - (1 - sensitivity * prevalence) ** n < confidence:  # brute force, plain floats
        n += 1
    assert freedom_sample_size(prevalence, confidence, sensitivity).sample_size == n


def test_rsurveillance_n_binom_published_values():
    # n.binom(sep=0.95, pstar=c(0.01, 0.02, 0.05, 0.1, 0.2), se=0.91) = 328 164 65 32 15
    got = [freedom_sample_size(p, 0.95, 0.91).sample_size for p in (0.01, 0.02, 0.05, 0.1, 0.2)]
    assert got == [328, 164, 65, 32, 15]
    # n.freedom(N=NA, sep=0.95, pstar=0.01, se=0.9) = 332
    assert freedom_sample_size(0.01, 0.95, 0.9).sample_size == 332


def test_a_tie_in_floating_point_counts_as_reached():
    # 1 - 0.9^2 = 0.19 exactly, 0.18999999999999995 in floating point: 2 animals suffice.
    assert freedom_sample_size(0.1, 0.19).sample_size == 2


# ----------------------------------------------------------------------------- freedom, finite

def brute_force_hypergeometric(population, prevalence, confidence, sensitivity):
    """Smallest n whose exact detection probability reaches the confidence (scipy), or None."""
    infected = exact_infected(population, prevalence)
    for n in range(1, population + 1):
        missed = sum(stats.hypergeom.pmf(y, population, infected, n) * (1 - sensitivity) ** y
                     for y in range(min(infected, n) + 1))
        if 1 - missed >= confidence:
            return n
    return None


@pytest.mark.parametrize("population", [5, 10, 20, 37, 50, 100, 250])
@pytest.mark.parametrize("prevalence", [0.02, 0.05, 0.1, 0.3])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("sensitivity", [1.0, 0.8])
def test_hypergeometric_sample_size_matches_a_brute_force_search(population, prevalence,
                                                                 confidence, sensitivity):
    expected = brute_force_hypergeometric(population, prevalence, confidence, sensitivity)
    if expected is None:
        with pytest.raises(SurveillanceInputError) as err:
            freedom_sample_size(prevalence, confidence, sensitivity, population=population)
        assert err.value.parameter == "confidence"
        return
    design = freedom_sample_size(prevalence, confidence, sensitivity, population=population)
    assert design.sample_size == expected
    assert design.infected == exact_infected(population, prevalence)
    assert design.method == "hypergeometric"


@pytest.mark.parametrize(("population", "prevalence"), [(10, 0.1), (30, 0.1), (100, 0.05),
                                                        (1000, 0.01), (500, 0.02)])
def test_perfect_test_in_a_finite_population_in_exact_rational_arithmetic(population, prevalence):
    """P(no infected sampled) = C(N-d, n) / C(N, n); smallest n with that <= 1 - confidence."""
    d = exact_infected(population, prevalence)
    n = next(n for n in range(1, population + 1)
             if Fraction(math.comb(population - d, n), math.comb(population, n))
             <= 1 - Fraction("0.95"))
    assert freedom_sample_size(prevalence, 0.95, population=population).sample_size == n


def test_cannon_and_roe_table_value_and_census():
    # The classic table: 45 animals for 5% in a population of 100 at 95% confidence.
    assert freedom_sample_size(0.05, 0.95, population=100).sample_size == 45
    # One infected among 10: every animal must be tested for 95% (P(miss) = (10-n)/10).
    assert freedom_sample_size(0.1, 0.95, population=10).sample_size == 10


@pytest.mark.parametrize("population", [5000, 10_000, 100_000])
def test_large_finite_population_is_minimal_and_below_the_binomial(population):
    design = freedom_sample_size(0.01, 0.95, 0.9, population=population)
    n, d = design.sample_size, exact_infected(population, 0.01)

    def detect(m):
        return 1 - sum(stats.hypergeom.pmf(y, population, d, m) * 0.1**y for y in range(d + 1))

    # Detection grows with n, so n is the smallest when n reaches 95% and n - 1 does not.
    assert detect(n) >= 0.95 > detect(n - 1)
    assert n <= freedom_sample_size(0.01, 0.95, 0.9).sample_size == 332


def test_rsurveillance_hypergeometric_approximation_published_values():
    # n.hypergeo(sep=0.95, N=c(200, 500, 1000, 10000), d=ceiling(0.01*N), se=0.8)
    populations = (200, 500, 1000, 10_000)
    approx = [macdiarmid_sample_size(0.95, n, math.ceil(0.01 * n), 0.8) for n in populations]
    assert approx == [195, 282, 324, 369]
    # n.freedom(N=c(200, 500, 1000, 5000, 10000, 100000), sep=0.95, pstar=0.01, se=0.9)
    populations = (200, 500, 1000, 5000, 10_000, 100_000)
    approx = [macdiarmid_sample_size(0.95, n, math.ceil(0.01 * n), 0.9) for n in populations]
    assert approx == [173, 251, 288, 324, 328, 333]
    # The exact answer never needs more animals than the (conservative) approximation.
    for population, n_approx in zip(populations, approx, strict=True):
        exact = freedom_sample_size(0.01, 0.95, 0.9, population=population).sample_size
        assert n_approx - 2 <= exact <= n_approx
    assert macdiarmid_sample_size(0.95, 10, 1, 0.5) is None  # more than N


def test_census_sensitivity_matches_rsurveillance_sep_exact():
    # sep.exact(d=1:5, se=0.8) = 0.8 0.96 0.992 0.9984 0.99968: every animal of 10 tested.
    got = [group_sensitivity(10, d / 10, 0.8, population=10) for d in range(1, 6)]
    assert got == pytest.approx([0.8, 0.96, 0.992, 0.9984, 0.99968], abs=1e-12)
    # sep(N=30, n=30, pstar=0.1, se=0.95) = 0.9998750 (census, 3 infected)
    assert group_sensitivity(30, 0.1, 0.95, population=30) == pytest.approx(0.999875, abs=1e-7)


def test_design_infected_rounds_before_the_ceiling():
    assert design_infected(100, 0.07) == 7  # 100 * 0.07 = 7.000000000000001
    assert design_infected(6, 0.05) == 1 and design_infected(150, 0.1) == 15


# ----------------------------------------------------------------------- imperfect specificity

def test_group_sensitivity_and_specificity_match_rsurveillance_published_values():
    # sep.freecalc(N=150, n=30, c=2, se=0.9, sp=0.98, pstar=0.1) = 0.870566 (Cameron & Baldock)
    assert group_sensitivity(30, 0.1, 0.9, 0.98, 150, 2) == pytest.approx(0.870566, abs=1e-6)
    # sep.binom.imperfect(n=1:10*5, c=2, se=0.95, sp=0.98, pstar=0.1)
    expected = [0.1012041, 0.3144826, 0.5181777, 0.6775625, 0.7911787, 0.8678935, 0.9178840,
                0.9496525, 0.9694677, 0.9816500]
    got = [group_sensitivity(n, 0.1, 0.95, 0.98, None, 2) for n in range(5, 55, 5)]
    assert got == pytest.approx(expected, abs=1e-7)
    # sph.binom(n=c(5, 10, 15, 20, 30, 50, 100, 200), c=2, sp=0.98)
    expected = [0.99615761, 0.98382236, 0.96466169, 0.94010102, 0.87945431, 0.73577139,
                0.40327171, 0.08937548]
    got = [group_specificity(n, 0.98, 2) for n in (5, 10, 15, 20, 30, 50, 100, 200)]
    assert got == pytest.approx(expected, abs=1e-8)
    # Group specificities RSurveillance reports with n.hp (n=10, c=1) and n.c.hp (n=52, c=2)
    assert group_specificity(10, 0.99, 1) == pytest.approx(0.9043821, abs=1e-7)
    assert group_specificity(52, 0.99, 2) == pytest.approx(0.9044236, abs=1e-7)


def reference_below_cut(n, cut, infected, population, se, sp):
    """P(fewer than cut positives | infected at design), by explicit sums (scipy pmfs)."""
    total = 0.0
    for y in range(min(infected, n) + 1):
        p_y = stats.hypergeom.pmf(y, population, infected, n)
        for true_pos in range(min(y, cut - 1) + 1):
            for false_pos in range(cut - true_pos):
                total += (p_y * stats.binom.pmf(true_pos, y, se)
                          * stats.binom.pmf(false_pos, n - y, 1 - sp))
    return total


@pytest.mark.parametrize(("population", "prevalence", "se", "sp", "min_sph", "confidence"), [
    (65, 0.05, 0.95, 0.99, 0.9, 0.95),   # the RSurveillance n.c.hp example's inputs
    (120, 0.1, 0.9, 0.99, 0.9, 0.95),
    (80, 0.1, 0.9, 0.95, 0.95, 0.9),
])
def test_cut_point_design_in_a_finite_population_matches_a_brute_force_search(
        population, prevalence, se, sp, min_sph, confidence):
    infected = exact_infected(population, prevalence)
    expected = None
    for n in range(1, population + 1):
        for cut in range(1, n + 2):
            if stats.binom.cdf(cut - 1, n, 1 - sp) < min_sph:
                continue  # group specificity too low for this cut-point
            if 1 - reference_below_cut(n, cut, infected, population, se, sp) >= confidence:
                expected = (n, cut)
            break  # higher cut-points only lower the group sensitivity
        if expected:
            break
    design = freedom_sample_size(prevalence, confidence, se, sp, population, min_sph)
    assert (design.sample_size, design.cut_point) == expected
    assert design.group_specificity >= min_sph and design.group_sensitivity >= confidence


def test_cut_point_design_in_a_large_population_matches_a_brute_force_search():
    p_pos = 0.9 * 0.1 + 0.05 * 0.9
    n = 0
    while True:
        n += 1
        cut = next(c for c in range(1, n + 2) if stats.binom.cdf(c - 1, n, 0.05) >= 0.95)
        if stats.binom.sf(cut - 1, n, p_pos) >= 0.95:
            break
    design = freedom_sample_size(0.1, 0.95, 0.9, 0.95, None, 0.95)
    assert (design.sample_size, design.cut_point) == (n, cut)


def test_useless_test_and_unreachable_targets_are_refused():
    with pytest.raises(SurveillanceInputError, match="must exceed 1") as err:
        freedom_sample_size(0.05, 0.95, 0.4, 0.6)
    assert err.value.parameter == "specificity"
    with pytest.raises(SurveillanceInputError, match="even testing all 5 animals") as err:
        freedom_sample_size(0.1, 0.99, 0.5, population=5)
    assert err.value.parameter == "confidence"


# ----------------------------------------------------------------------------- prevalence

def test_prevalence_sample_size_matches_rsurveillance_and_the_formula():
    # n.tp(p=0.1, se=0.9, sp=0.99, precision=0.05) = 174
    assert prevalence_sample_size(0.1, 0.05, 0.95, 0.9, 0.99) == 174
    # n.ap(p=seq(0.1, 0.5, by=0.1), precision=0.05) = 139 246 323 369 385 (perfect test)
    got = [prevalence_sample_size(p, 0.05, 0.95) for p in (0.1, 0.2, 0.3, 0.4, 0.5)]
    assert got == [139, 246, 323, 369, 385]
    # Humphry et al. (2004) eq. 2 by hand, with epiR's finite population correction
    z = 1.959963984540054
    apparent = 0.8 * 0.3 + 0.05 * 0.7
    n = z**2 * apparent * (1 - apparent) / (0.07**2 * 0.75**2)
    assert prevalence_sample_size(0.3, 0.07, 0.95, 0.8, 0.95) == math.ceil(n)
    assert prevalence_sample_size(0.3, 0.07, 0.95, 0.8, 0.95, population=300) == \
        math.ceil(n * 300 / (n + 299))


def test_prevalence_sample_size_refuses_a_test_no_better_than_chance():
    with pytest.raises(SurveillanceInputError, match="must exceed 1") as err:
        prevalence_sample_size(0.2, 0.05, 0.95, 0.5, 0.5)
    assert err.value.parameter == "specificity"


# ----------------------------------------------------------------------------- probability free

def test_posterior_freedom_matches_rsurveillance_pfree_1():
    # pfree.1(sep=c(0.44, 0.51, 0.58, 0.4, 0.6, 0.47), p.intro=0.01, prior=0.5)[, "PFree"]
    expected = [0.6364104, 0.6667116, 0.7000424, 0.6203008, 0.7101865, 0.6490526]
    got = [posterior_freedom(s, 0.5, 0.01) for s in (0.44, 0.51, 0.58, 0.4, 0.6, 0.47)]
    assert got == pytest.approx(expected, abs=1e-7)


def test_probability_of_freedom_for_a_screened_zoo_group():
    # 6 leopards, all tested (census), one infected at the design prevalence, Se 0.9:
    # a missed infection has probability 0.1; prior 0.5 -> 0.5 / (0.5 + 0.5 x 0.1).
    evidence = probability_of_freedom(6, 0.1, 0.5, 0.9, population=6)
    assert evidence.confidence == pytest.approx(0.9)
    assert evidence.probability_free == pytest.approx(0.5 / 0.55)
    assert evidence.infected == 1
    # 4 of 12 tested, 2 infected at 15%: P(miss) = sum_y H(y) 0.2^y (scipy), prior 0.3.
    missed = sum(stats.hypergeom.pmf(y, 12, 2, 4) * 0.2**y for y in range(3))
    evidence = probability_of_freedom(4, 0.15, 0.3, 0.8, population=12)
    assert evidence.confidence == pytest.approx(1 - missed)
    assert evidence.probability_free == pytest.approx(0.7 / (0.7 + 0.3 * missed))


def test_probability_of_freedom_with_imperfect_specificity_is_bayes_rule():
    # Large group, 20 negatives, Se 0.9, Sp 0.95, design 10%, prior 0.5
    negative_if_infected = (1 - 0.9 * 0.1 - 0.05 * 0.9) ** 20
    negative_if_free = 0.95**20
    expected = 0.5 * negative_if_free / (0.5 * negative_if_free + 0.5 * negative_if_infected)
    evidence = probability_of_freedom(20, 0.1, 0.5, 0.9, 0.95)
    assert evidence.probability_free == pytest.approx(expected)
    assert evidence.confidence == pytest.approx(1 - negative_if_infected)


def test_probability_of_freedom_input_errors():
    with pytest.raises(SurveillanceInputError, match="cannot exceed the population") as err:
        probability_of_freedom(8, 0.1, population=6)
    assert err.value.parameter == "negative_tests"
    with pytest.raises(SurveillanceInputError) as err:
        probability_of_freedom(5, 0.1, prior_infection=1.0)
    assert err.value.parameter == "prior_infection"


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"design_prevalence": 0.0, "confidence": 0.95}, "design_prevalence"),
    ({"design_prevalence": 1.0, "confidence": 0.95}, "design_prevalence"),
    ({"design_prevalence": 0.05, "confidence": 95}, "confidence"),
    ({"design_prevalence": 0.05, "confidence": 0.95, "sensitivity": 1.2}, "sensitivity"),
    ({"design_prevalence": 0.05, "confidence": 0.95, "specificity": 0.0}, "specificity"),
    ({"design_prevalence": 0.05, "confidence": 0.95, "population": 0}, "population"),
    ({"design_prevalence": 0.05, "confidence": 0.95, "population": 12.5}, "population"),
])
def test_freedom_input_errors_name_the_argument(kwargs, parameter):
    with pytest.raises(SurveillanceInputError) as err:
        freedom_sample_size(**kwargs)
    assert err.value.parameter == parameter


# ----------------------------------------------------------------------------- the command

def test_cli_prints_59_on_its_last_line(capsys):
    assert main(["sample-size", "--design-prevalence", "0.05", "--confidence", "0.95"]) == 0
    assert last_line(capsys) == "59"


def test_cli_finite_population_and_percent_input(capsys):
    argv = ["sample-size", "--design-prevalence", "5%", "--confidence", "95%",
            "--population", "100"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.rstrip().splitlines()[-1] == "45"
    assert "5 of them infected" in out and "exact hypergeometric" in out
    assert "MacDiarmid 1988 approximation" in out


def test_cli_imperfect_specificity_states_the_cut_point(capsys):
    argv = ["sample-size", "--design-prevalence", "0.05", "--confidence", "0.95",
            "--sensitivity", "0.95", "--specificity", "0.99", "--population", "65",
            "--min-group-specificity", "0.9"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    design = freedom_sample_size(0.05, 0.95, 0.95, 0.99, 65, 0.9)
    assert out.rstrip().splitlines()[-1] == str(design.sample_size)
    assert f"call the group infected at {design.cut_point} or more positives" in out


def test_cli_precision(capsys):
    argv = ["sample-size", "--precision", "0.05", "--expected-prevalence", "0.1",
            "--confidence", "0.95", "--sensitivity", "0.9", "--specificity", "0.99"]
    assert main(argv) == 0
    assert last_line(capsys) == "174"


def test_cli_pre_release_screening(capsys):
    argv = ["sample-size", "--negative-tests", "6", "--population", "6",
            "--design-prevalence", "0.1", "--sensitivity", "0.9"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert float(out.rstrip().splitlines()[-1]) == pytest.approx(0.5 / 0.55, abs=5e-5)
    assert "prior probability of infection: 0.5 (default; set --prior-infection)" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--design-prevalence", "5", "--confidence", "0.95"],
     "--design-prevalence must be a proportion strictly between 0 and 1"),
    (["--design-prevalence", "0.05"], "--confidence is needed for the freedom sample size"),
    (["--confidence", "0.95"], "--design-prevalence is needed"),
    (["--precision", "0.05", "--expected-prevalence", "0.2", "--confidence", "0.95",
      "--sensitivity", "0.5", "--specificity", "0.5"],
     "--specificity (0.5) plus sensitivity (0.5) must exceed 1"),
    (["--precision", "0.05", "--expected-prevalence", "0.2", "--confidence", "0.95",
      "--design-prevalence", "0.1"], "--design-prevalence is not used with --precision"),
    (["--precision", "0.05", "--negative-tests", "3"], "give one of them"),
    (["--negative-tests", "3", "--design-prevalence", "0.1", "--confidence", "0.9"],
     "--confidence is not used with --negative-tests"),
    (["--negative-tests", "8", "--population", "6", "--design-prevalence", "0.1"],
     "--negative-tests (8) cannot exceed the population (6)"),
    (["--design-prevalence", "0.1", "--confidence", "0.99", "--population", "5",
      "--sensitivity", "0.5"], "--confidence 0.99 cannot be reached"),
])
def test_cli_errors_name_the_option_and_the_fix(argv, message, capsys):
    assert main(["sample-size", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_cli_rejects_a_fractional_population(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sample-size", "--design-prevalence", "0.1", "--confidence", "0.9",
              "--population", "6.5"])
    assert exit_.value.code == 2
    assert "argument --population: expected a whole number of animals" in capsys.readouterr().err


def test_surveillance_plan_ranks_species_by_what_their_serology_moves():
    import pandas as pd

    from disease_risk.risk.surveillance import prevalence_sample_size, surveillance_plan

    prevalence = pd.DataFrame({
        "species": ["red_fox", "red_fox", "domestic_dog", "sable"],
        "site": ["A", "all", "B", "A"], "year": ["all", "all", "all", "2019"],
        "n_tested": [20, 40, 300, 5], "true_prevalence_median": [0.2, 0.2, 0.25, 0.1],
        "true_prevalence_lo95": [0.1, 0.12, 0.2, 0.0],
        "true_prevalence_hi95": [0.3, 0.28, 0.3, 0.3],
    })
    register = pd.DataFrame({
        "assumption": ["initial_immune_red_fox", "population_factor_domestic_dog",
                       "outside_infection_domestic_dog"],
        "label": ["initial immune: red fox", "population size: dogs", "outside infection: dogs"],
        "moves_infection_amur_leopard": [0.1, 0.9, 0.05],
        "moves_infection_amur_tiger": [0.3, 0.9, 0.02],
    })
    plan = surveillance_plan(prevalence, register, ["amur_leopard", "amur_tiger"],
                             0.1, 0.95, 0.9, 0.95)
    needed = prevalence_sample_size(0.2, 0.1, 0.95, 0.9, 0.95)
    assert plan["species"].tolist() == ["red_fox", "red_fox", "domestic_dog"]  # no yearly row
    assert plan["site"].tolist()[:2] == ["A", "all"]  # more samples still needed at A
    assert plan.loc[0, "more_samples"] == needed - 20
    assert plan.loc[0, "moves_infection"] == 0.3  # largest over the targets
    # a population size is not something sampling informs: dogs ranked by outside infection
    assert plan.loc[2, "driving_assumption"] == "outside infection: dogs"
    assert plan.loc[2, "more_samples"] == 0
    assert plan["rank"].tolist() == [1, 2, 3]
