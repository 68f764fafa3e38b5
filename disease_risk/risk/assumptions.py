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
from disease_risk.tables import (
    ASSUMPTION_REGISTER_COLUMNS,
    FOI_TIME_GRID_ITEM,
    moves_infection_column,
)

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


def time_grid_assumption(diagnostics: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """The register with a row for the force-of-infection fit's time grid when ``max_cells``
    made it coarser than configured (serology diagnostics, section ``settings``): ages and
    sampling dates then move by up to half the coarser grid."""
    rows = diagnostics[
        (diagnostics["section"].astype(str) == "settings")
        & (diagnostics["item"].astype(str) == FOI_TIME_GRID_ITEM)
    ]
    if rows.empty:
        return register
    used, configured = int(rows["count"].iloc[0]), int(rows["observed"].iloc[0])
    if used == configured:
        return register
    row = {
        "assumption": "force_of_infection_time_grid",
        "label": f"ages and sampling dates of the serology on a {used}-month grid",
        "kind": "model resolution",
        "low": float(configured),
        "high": float(used),
        "where_it_enters": (
            f"force-of-infection fit, and through it the calibration targets: each animal's age "
            f"and sampling date move by up to {used / 2:g} months"
        ),
        "serology": (
            f"the configured {f'{configured}-month grid' if configured else 'exact times'} "
            "gave more animal cells than serology.force_of_infection.max_cells allows, so the "
            "fit used the coarser grid to keep its cost bounded; raise max_cells to fit on the "
            "finer grid"
        ),
        "source": "setting serology.force_of_infection.max_cells (config/config.yaml)",
    }
    return with_row(register, row)


def with_row(register: pd.DataFrame, row: dict[str, object]) -> pd.DataFrame:
    """The register with one more assumption (columns the row lacks stay empty)."""
    extra = pd.DataFrame([row], columns=list(register.columns))
    return pd.concat([register, extra], ignore_index=True) if len(register) else extra
