"""The simulated force of infection (infections per susceptible-year in a window after a
burn-in) against exact answers: with spillover only, the count of infections given the
susceptible time is Poisson with mean lambda x time (the counting process minus its
compensator is a martingale), so the ratio recovers lambda; susceptible time ends exactly at
vaccination."""

from __future__ import annotations

import numpy as np
from test_demography import YEAR, isolated, kernel

from disease_risk.transmission import seir


def test_spillover_only_foi_equals_the_outside_rate():
    """Isolated animals with births and deaths, infected only from outside at lambda a year:
    infections in the window are Poisson(lambda x susceptible years); 4-sigma tolerance, which
    excludes lambda x 1.15."""
    lam = np.array([0.1, 0.4])
    horizon, burn_in = 30 * YEAR, 10 * YEAR
    out = kernel(
        *isolated(400, 2),
        2,
        infectious=np.full(2, 10.0),
        case_fatality=np.array([0.5, 0.0]),
        spillover=lam / YEAR,
        death_rate=-np.log(np.array([0.6, 0.8])) / YEAR,
        horizon=horizon,
        window_start=burn_in,
    )
    years = out.susceptible_days / YEAR
    expected = lam * years
    assert (np.abs(out.window_infected - expected) < 4 * np.sqrt(expected)).all()
    wrong = 1.15 * expected
    assert (np.abs(out.window_infected - wrong) > 4 * np.sqrt(expected)).all()
    # infections before the window are not counted in it
    assert (out.window_infected < out.tallies[:, seir.INFECTED]).all()


def test_susceptible_time_ends_at_vaccination_and_at_the_horizon():
    """No infection, closed population: every animal is susceptible from day 0 until it is
    vaccinated on day 200 (all of species 0) or until the horizon (species 1); the window
    opens on day 50."""
    n = 30
    out = kernel(
        *isolated(n, 2),
        2,
        horizon=500.0,
        window_start=50.0,
        vacc_times=np.array([200.0]),
        vacc_species=np.array([0], np.int64),
        vacc_counts=np.array([n], np.int64),
    )
    np.testing.assert_allclose(out.susceptible_days, [n * 150.0, n * 450.0])
    np.testing.assert_array_equal(out.window_infected, [0, 0])
