"""Hazard identification: the hazard list of ``config/hazards.yaml`` and the hazards table.

Exactly one hazard (CDV) is quantified by this run's transmission model; the others carry the
DRA team's qualitative words, which :mod:`disease_risk.risk.estimation` turns into risk rows,
their release and exposure read from serology where their pathogen has some.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.config import read_yaml
from disease_risk.risk.scales import RiskConfigError
from disease_risk.tables import HAZARD_COLUMNS


def load_hazards(path: str | Path) -> list[dict[str, Any]]:
    """Read and validate ``config/hazards.yaml``; errors name the file and the offending entry."""
    path = Path(path)
    data = read_yaml(path, "hazards.schema.yaml", RiskConfigError)
    hazards = data["hazards"]
    ids = [h["id"] for h in hazards]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RiskConfigError(f"{path}: hazard id(s) {dup} appear more than once; make ids unique")
    if sum(h["quantified"] for h in hazards) != 1:
        raise RiskConfigError(f"{path}: exactly one hazard (CDV) must have quantified: true")
    return hazards


def serology_assessment(hazard_id: str, serology: pd.DataFrame | None) -> str:
    """How a judged hazard is assessed: partly from its serology (species and numbers tested)
    when the all-pathogens serology table has it, else qualitative."""
    if serology is None:
        return "qualitative"
    rows = serology[(serology["pathogen"].astype(str) == hazard_id)
                    & (serology["species"].fillna("").astype(str) != "")
                    & serology["true_prevalence_median"].notna()]
    if rows.empty:
        return "qualitative"
    tested = ", ".join(f"{r.species} n = {int(r.n_tested)}" for r in rows.itertuples())
    return (f"release and exposure from serology where it exists ({tested}); consequence by "
            "judgement")


def build_hazards(
    hazards: Sequence[Mapping[str, Any]], serology: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Hazard identification table: every hazard in the list, quantified, partly from
    serology (``serology``: results/hazards/serology.tsv) or qualitative."""
    rows = []
    for h in hazards:
        pathways = sorted({a["pathway"] for a in h.get("assessment", [])})
        rows.append(
            {
                "hazard": h["id"],
                "name": h["name"],
                "agent": h["agent"],
                "kind": h["kind"],
                "assessment": "quantified by this run" if h["quantified"]
                else serology_assessment(h["id"], serology),
                "affected_species": ", ".join(h.get("affected_species", [])),
                "pathways": "all configured" if h["quantified"] else ", ".join(pathways),
                "why_included": h["why_included"],
                "sources": "; ".join(h["sources"]),
            }
        )
    return pd.DataFrame(rows, columns=list(HAZARD_COLUMNS))
