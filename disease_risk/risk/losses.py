"""The chance of losing at least k animals: consequences that behave with small populations.

A share of deaths says little on its own when populations are small (1 of 10 is not 10 of
100). For each consequence word, the number of animals at which it starts (its share of the
target species' population, at least 1) and the chance of losing at least that many to CDV
within the horizon, with the 95% interval of that chance over parameter sets and its Monte
Carlo error (:mod:`disease_risk.montecarlo`). Released animals count within their species.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from disease_risk.montecarlo import split_uncertainty
from disease_risk.risk.evidence import require_columns
from disease_risk.tables import LOSS_COLUMNS


def animals_at(share: float, population: int) -> int:
    """Animals lost at which a share of ``population`` is reached (at least one animal)."""
    return max(1, math.ceil(share * population - 1e-9))


def loss_chances(
    replicates: Mapping[str, pd.DataFrame],
    targets: Sequence[str],
    thresholds: Mapping[str, float],
    horizon_years: float,
) -> pd.DataFrame:
    """One row per scenario, target and consequence word (columns
    :data:`~disease_risk.tables.LOSS_COLUMNS`): P(CDV deaths >= the word's animals).

    ``replicates``: scenario -> replicate table with ``deaths_<target>``,
    ``population_<target>`` and optionally ``parameter_set``; ``thresholds``: consequence
    word -> lower bound as a share of the population (the ``risk.consequence_thresholds``)."""
    rows = []
    for scenario, table in replicates.items():
        sets = table["parameter_set"] if "parameter_set" in table else np.arange(len(table))
        for target in targets:
            deaths, population = f"deaths_{target}", f"population_{target}"
            if deaths not in table:
                continue
            require_columns(table, (population,), f"replicates of {scenario!r}")
            size = int(table[population].iloc[0])
            for word, share in thresholds.items():
                k = animals_at(share, size)
                lost = (table[deaths].to_numpy(float) >= k).astype(float)
                chance = split_uncertainty(lost, np.asarray(sets))
                rows.append([
                    horizon_years, scenario, target, word, share, k,
                    chance.estimate, chance.lo95, chance.hi95, chance.mcse,
                ])  # fmt: skip
    return pd.DataFrame(rows, columns=list(LOSS_COLUMNS))
