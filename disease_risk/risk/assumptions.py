"""The DRA's assumptions register: every configured range the answer rests on, where it enters
the model, what the serology says of it and how far it moves each target's chance of infection.

Built from the sensitivity analysis (``results/sensitivity/indices.tsv``: one row per output and
assumption, with its range, kind, label and source) and the calibration's parameter table
(``results/calibration/parameters.tsv``: which calibrated parameters the serology narrowed).
Reads nothing from disk.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from disease_risk.risk.evidence import require_columns
from disease_risk.tables import ASSUMPTION_REGISTER_COLUMNS, moves_infection_column

# Where each kind of assumption enters the model (kinds of disease_risk.transmission.sensitivity).
WHERE_IT_ENTERS = {
    "disease": "transmission model: course of infection in the species (periods, case "
    "fatality, susceptibility or share immune at the start)",
    "outside infection": "transmission model and calibration: infection entering from beyond "
    "the landscape",
    "survival": "transmission model: background deaths, each replaced by a susceptible newborn",
    "contact rule": "transmission model and calibration: chance that a contact of this rule "
    "transmits",
    "contact rate": "contact network: how often animals meet under this rule",
    "population size": "contact network: number of animals (one at a time in the sensitivity "
    "analysis)",
}
NOT_CALIBRATED = "not informed (drawn from its range in every run)"


def assumptions_register(
    indices: pd.DataFrame, calibrated: pd.DataFrame, targets: Sequence[str]
) -> pd.DataFrame:
    """One row per assumption of the sensitivity analysis, sorted by how far it moves the first
    target's chance of infection (largest first); ``serology`` is the calibration's verdict
    (``identified``) for a calibrated parameter, else :data:`NOT_CALIBRATED`."""
    require_columns(
        indices, ["output", "parameter", "label", "kind", "low", "high", "mu_star", "source"],
        "sensitivity indices",
    )
    require_columns(calibrated, ["parameter", "identified"], "calibration parameters")
    verdict = dict(zip(calibrated["parameter"], calibrated["identified"], strict=True))
    first = indices.drop_duplicates("parameter").set_index("parameter")
    table = pd.DataFrame({
        "assumption": first.index,
        "label": first["label"].to_numpy(),
        "kind": first["kind"].to_numpy(),
        "low": first["low"].to_numpy(float),
        "high": first["high"].to_numpy(float),
        "where_it_enters": [WHERE_IT_ENTERS.get(k, "transmission model") for k in first["kind"]],
        "serology": [verdict.get(p, NOT_CALIBRATED) for p in first.index],
        "source": first["source"].to_numpy(),
    })
    moves = []
    for target in targets:
        rows = indices[indices["output"] == f"p_infection_{target}"]
        column = moves_infection_column(target)
        table[column] = table["assumption"].map(dict(zip(rows["parameter"], rows["mu_star"],
                                                         strict=True)))
        moves.append(column)
    order = [*moves[:1], "assumption"]
    ascending = [False] * len(moves[:1]) + [True]
    table = table.sort_values(order, ascending=ascending, kind="stable", na_position="last")
    return table[[*ASSUMPTION_REGISTER_COLUMNS, *moves]].reset_index(drop=True)
