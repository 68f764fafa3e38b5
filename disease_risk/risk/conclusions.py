"""The DRA's conclusions per target species, for the report to state rather than recompute.

One row per target: the overall risk level and its pathway (rated on the target's chance of any
infection, its ``all_pathways`` row, and never lower than any of its quantified rows), the most
likely route in the baseline scenario, whether every model fit passed its diagnostics, and the
option that lowers the target's chance of infection most, with its change and 95% interval.
``best_scenario`` names that option only when its interval lies wholly below zero (it clearly
helps); otherwise it is empty and the ``largest_drop_*`` columns say how close it came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from disease_risk.risk.attribution import ALL_PATHWAYS
from disease_risk.risk.evidence import require_columns, unreliable_blocks
from disease_risk.risk.management import clearly_lowers, most_effective
from disease_risk.risk.scales import RiskSettings, risk_rank
from disease_risk.tables import (
    CONCLUSION_COLUMNS,
    CONCLUSION_TEXT_COLUMNS,
    ESTIMATION_COLUMNS,
    MANAGEMENT_COLUMNS,
)

NAN = float("nan")


def build_conclusions(
    estimation: pd.DataFrame,
    management: pd.DataFrame,
    diagnostics: pd.DataFrame,
    settings: RiskSettings,
) -> pd.DataFrame:
    """One row per target species (columns :data:`CONCLUSION_COLUMNS`)."""
    require_columns(estimation, ESTIMATION_COLUMNS, "risk estimation")
    require_columns(management, MANAGEMENT_COLUMNS, "risk management")
    failed = int(unreliable_blocks(diagnostics).sum())
    base = settings.baseline_scenario
    rows = []
    for target in settings.targets:
        cdv = estimation[
            (estimation["basis"] == "quantified") & (estimation["target_species"] == target)
        ]
        rows.append(
            {
                "target_species": target,
                **_overall_risk(cdv),
                **_main_pathway(cdv[cdv["scenario"] == base]),
                "fits_reliable": "no" if failed else "yes",
                "failed_fit_checks": failed,
                **_best_option(management, target, base),
            }
        )
    return pd.DataFrame(rows, columns=list(CONCLUSION_COLUMNS))


def _overall_risk(cdv: pd.DataFrame) -> dict[str, str]:
    """The worst risk over a target's quantified rows, its total (``all_pathways``) included;
    ties go to the more likely infection, so the total wins over its pieces."""
    if cdv.empty:
        return dict.fromkeys(
            ("overall_risk", "overall_likelihood", "overall_consequence", "overall_pathway"), ""
        )
    worst = cdv.assign(_order=cdv["risk"].map(risk_rank)).sort_values(
        ["_order", "infection_probability"]
    ).iloc[-1]
    return {
        "overall_risk": worst["risk"], "overall_likelihood": worst["likelihood"],
        "overall_consequence": worst["consequence"], "overall_pathway": worst["pathway"],
    }


def _main_pathway(baseline_rows: pd.DataFrame) -> dict[str, Any]:
    """The most likely route in the baseline scenario (not the total) and its probability."""
    baseline_rows = baseline_rows[baseline_rows["pathway"] != ALL_PATHWAYS]
    if baseline_rows.empty:
        return {"main_pathway": "", "main_pathway_probability": NAN}
    main = baseline_rows.sort_values("infection_probability", ascending=False).iloc[0]
    return {
        "main_pathway": main["pathway"],
        "main_pathway_probability": float(main["infection_probability"]),
    }


def _best_option(management: pd.DataFrame, target: str, baseline: str) -> dict[str, Any]:
    """The largest estimated drop in the target's infection chance, its interval over
    parameter sets and Monte Carlo error; ``best_scenario`` only when the drop exceeds Monte
    Carlo noise (:func:`clearly_lowers`)."""
    best = most_effective(management, target, baseline)
    if best is None:
        return {
            "largest_drop_scenario": "", "largest_drop_change_p": NAN,
            "largest_drop_change_p_lo95": NAN, "largest_drop_change_p_hi95": NAN,
            "largest_drop_change_p_mcse": NAN, "best_scenario": "",
        }
    return {
        "largest_drop_scenario": best["scenario"],
        "largest_drop_change_p": float(best["change_p_any_infection"]),
        "largest_drop_change_p_lo95": float(best["change_p_lo95"]),
        "largest_drop_change_p_hi95": float(best["change_p_hi95"]),
        "largest_drop_change_p_mcse": float(best["change_p_mcse"]),
        "best_scenario": best["scenario"] if clearly_lowers(best) else "",
    }


def conclusion_for(conclusions: pd.DataFrame, target: str) -> Mapping[str, Any] | None:
    """The conclusions row of ``target`` (text cells read back as missing become ``""``), or
    None if the table has no row for it."""
    require_columns(conclusions, CONCLUSION_COLUMNS, "risk conclusions")
    rows = conclusions[conclusions["target_species"].astype(str) == target]
    if rows.empty:
        return None
    row = rows.iloc[0].to_dict()
    for column in CONCLUSION_TEXT_COLUMNS:
        if pd.isna(row[column]):
            row[column] = ""
    return row
