"""The pipeline's result tables as the DRA's evidence, per species.

Reads nothing from disk: takes the serology summary, force of infection, diagnostics, transmission
summary and network summary as data frames with the columns of :mod:`disease_risk.tables` (a
missing column is an error naming the table and the column, never a silent guess) and answers
the questions the DRA asks of them: how many animals were tested and what share met CDV, how
often CDV circulates in a scenario, how many animals a species has, whether the model fits can
be trusted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from disease_risk.tables import (
    DIAGNOSTIC_COLUMNS,
    FOI_COLUMNS,
    NETWORK_SUMMARY_COLUMNS,
    PREVALENCE_COLUMNS,
    TRANSMISSION_SUMMARY_COLUMNS,
)

# The transmission stage labels a released group "<species>_released" in its summary.


class MissingColumnsError(ValueError):
    """A pipeline table handed to the risk stage lacks columns its contract names."""


def require_columns(table: pd.DataFrame, columns: Iterable[str], what: str) -> pd.DataFrame:
    """``table`` unchanged if it has every column in ``columns``; otherwise an error naming the
    table (``what``) and the missing columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnsError(
            f"{what}: missing column(s) {', '.join(missing)} (the columns the pipeline writes "
            "are listed in disease_risk.tables)"
        )
    return table


def require_transmission(transmission: pd.DataFrame) -> pd.DataFrame:
    """The transmission summary (one row per scenario x species), its columns checked."""
    return require_columns(transmission, TRANSMISSION_SUMMARY_COLUMNS, "transmission summary")


def require_network(network_summary: pd.DataFrame | None) -> pd.DataFrame | None:
    """The network summary (``metric, species_a, species_b, value``), its columns checked."""
    if network_summary is None:
        return None
    return require_columns(network_summary, NETWORK_SUMMARY_COLUMNS, "network summary")


# --- Serology --------------------------------------------------------------------------------


def species_prevalence(summary: pd.DataFrame) -> pd.DataFrame:
    """Species-level rows (all sites, all years) of the seroprevalence summary, by species."""
    require_columns(summary, PREVALENCE_COLUMNS, "seroprevalence summary")
    rows = summary[(summary["site"].astype(str) == "all") & (summary["year"].astype(str) == "all")]
    return rows.set_index("species")


def latest_foi(foi: pd.DataFrame) -> pd.DataFrame:
    """One force-of-infection row per species: the constant model, else the latest year."""
    require_columns(foi, FOI_COLUMNS, "force-of-infection table")

    def pick(group: pd.DataFrame) -> pd.Series:
        const = group[group["year"].astype(str) == "constant"]
        if len(const):
            return const.iloc[0]
        years = pd.to_numeric(group["year"], errors="coerce")
        return group.loc[years.idxmax()]

    picked = [pick(g).rename(sp) for sp, g in foi.groupby("species", sort=True)]
    return pd.DataFrame(picked)


def unreliable_blocks(diagnostics: pd.DataFrame) -> pd.Series:
    """Boolean per diagnostics row: a sampling block whose ``reliable`` verdict is ``no``.

    The serology stage sets the verdict with the configured R-hat, ESS and divergence limits;
    posterior predictive, data and status rows (``section`` other than ``sampling``) never count.
    """
    require_columns(diagnostics, DIAGNOSTIC_COLUMNS, "serology diagnostics")
    sampling = diagnostics["section"].astype(str) == "sampling"
    return sampling & (diagnostics["reliable"].astype(str) == "no")


def fits_reliable(diagnostics: pd.DataFrame) -> bool:
    """True when every sampling block of the serology diagnostics passed (issue 3)."""
    return not unreliable_blocks(diagnostics).any()


def serology_species(release: str, sources: Sequence[str], prevalence: pd.DataFrame) -> str:
    """Species whose serology backs a row: the release species if tested, else the pathway's
    most-tested source species."""
    if release in prevalence.index:
        return release
    tested = [s for s in sources if s in prevalence.index]
    if not tested:
        return ""
    return max(tested, key=lambda s: (float(prevalence.loc[s, "n_tested"]), s))


def source_evidence(species: str, prevalence: pd.DataFrame, foi: pd.DataFrame) -> dict[str, float]:
    """The ``source_*`` columns of a risk row: animals tested, true prevalence and force of
    infection (median and 95% interval) of ``species``; NaN where it has none."""
    nan = float("nan")
    out = {
        "source_n_tested": nan, "source_prevalence_median": nan, "source_prevalence_lo95": nan,
        "source_prevalence_hi95": nan, "source_foi_median": nan, "source_foi_lo95": nan,
        "source_foi_hi95": nan,
    }
    if species in prevalence.index:
        row = prevalence.loc[species]
        out["source_n_tested"] = float(row["n_tested"])
        for stat in ("median", "lo95", "hi95"):
            out[f"source_prevalence_{stat}"] = float(row[f"true_prevalence_{stat}"])
    if species in foi.index:
        row = foi.loc[species]
        for stat in ("median", "lo95", "hi95"):
            out[f"source_foi_{stat}"] = float(row[f"foi_{stat}"])
    return out


def relative_width(evidence: Mapping[str, float]) -> float:
    """(hi95 - lo95) / median of the force of infection, else of the true prevalence."""
    for stem in ("source_foi", "source_prevalence"):
        median = evidence[f"{stem}_median"]
        if median > 0:
            return (evidence[f"{stem}_hi95"] - evidence[f"{stem}_lo95"]) / median
    return float("nan")


def n_tested(prevalence: pd.DataFrame, species: Sequence[str]) -> float:
    """Animals tested over ``species`` (those without serology count 0)."""
    present = [s for s in species if s in prevalence.index]
    return float(pd.to_numeric(prevalence.loc[present, "n_tested"]).sum()) if present else 0.0


# --- Transmission ------------------------------------------------------------------------------


def scenario_row(transmission: pd.DataFrame, scenario: str, species: str) -> pd.Series | None:
    """The transmission summary row of ``species`` in ``scenario`` (None if it has none)."""
    rows = transmission[
        (transmission["scenario"].astype(str) == scenario)
        & (transmission["species"].astype(str) == species)
    ]
    return rows.iloc[0] if len(rows) else None


def probability_interval(p: float, mcse: float, n: float = float("nan")) -> tuple[float, float]:
    """95% interval of a Monte Carlo probability: Jeffreys interval when the number of
    replicates is known, else p +/- 1.96 MCSE clipped to [0, 1]."""
    from scipy.stats import beta

    if not math.isnan(n) and n > 0:
        k = p * n
        lo = 0.0 if k <= 0 else float(beta.ppf(0.025, k + 0.5, n - k + 0.5))
        hi = 1.0 if k >= n else float(beta.ppf(0.975, k + 0.5, n - k + 0.5))
        return lo, hi
    if math.isnan(mcse):
        return float("nan"), float("nan")
    return max(0.0, p - 1.96 * mcse), min(1.0, p + 1.96 * mcse)


def p_with_interval(row: pd.Series | None) -> tuple[float, float, float]:
    """Chance of any infection of a summary row with the 95% interval of its value over
    parameter sets (``p_any_infection_lo95/_hi95``); where the summary cannot separate that
    from Monte Carlo error (one run per parameter set), the Monte Carlo interval. NaN for no
    row."""
    if row is None:
        return float("nan"), float("nan"), float("nan")
    p = float(row["p_any_infection"])
    lo, hi = (float(row.get(f"p_any_infection_{end}", float("nan"))) for end in ("lo95", "hi95"))
    if math.isnan(lo) or math.isnan(hi):
        lo, hi = probability_interval(
            p, float(row["p_any_infection_mcse"]), float(row["replicates"])
        )
    return p, lo, hi


def population_size(
    species: str,
    *,
    scenario_row: pd.Series | None = None,
    network_summary: pd.DataFrame | None = None,
    fallback: Mapping[str, float] | None = None,
) -> float:
    """Animals of ``species``: the transmission summary's ``population``, else the network's
    node count, else the config fallback (``risk.population_sizes``)."""
    if scenario_row is not None:
        value = pd.to_numeric(scenario_row["population"], errors="coerce")
        if pd.notna(value) and value > 0:
            return float(value)
    if network_summary is not None:
        rows = network_summary[
            (network_summary["metric"].astype(str) == "nodes")
            & (network_summary["species_a"].astype(str) == species)
        ]
        if len(rows):
            return float(rows["value"].iloc[0])
    return float((fallback or {}).get(species, float("nan")))
