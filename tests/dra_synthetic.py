"""Synthetic upstream tables following the contracts of issues 3-5, for the DRA and report tests.

Every table has exactly the columns of its contract in ``disease_risk.tables`` (cells the test
does not need are empty), as the pipeline writes them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from disease_risk.tables import (
    DIAGNOSTIC_COLUMNS,
    FOI_COLUMNS,
    HAZARD_SEROLOGY_COLUMNS,
    INDEX_SOURCE,
    NETWORK_SUMMARY_COLUMNS,
    OUTSIDE_SOURCE,
    PREVALENCE_COLUMNS,
    RELEASED_SUFFIX,
    SENSITIVITY_COLUMNS,
    TRANSMISSION_SUMMARY_COLUMNS,
    moves_infection_column,
    origin_column,
    source_column,
    write_table,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

SPECIES = {
    "domestic_dog": (464, 0.27),
    "raccoon_dog": (60, 0.25),
    "red_fox": (41, 0.2),
    "amur_tiger": (56, 0.3),
    "amur_leopard": (20, 0.1),
    "leopard_cat": (12, 0.08),
}
DOSES = {"dog_vaccination_70": ("domestic_dog", 314), "leopard_vaccination_5": ("amur_leopard", 15)}
SCENARIOS = {  # scenario: (leopard p, leopard deaths median, deaths hi95)
    "baseline": (0.4, 0.0, 6.0),
    "dog_vaccination_70": (0.36, 0.0, 5.0),
    "leopard_vaccination_5": (0.2, 0.0, 3.0),
    "leopard_release": (0.45, 0.0, 7.0),
}


def risk_config() -> dict:
    return yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())["risk"]


def hazards() -> list[dict]:
    return yaml.safe_load((REPO_ROOT / "config" / "hazards.yaml").read_text())["hazards"]


def species_file() -> Path:
    return REPO_ROOT / "config" / "species.yaml"


def species_names():
    """Common names from the shipped species registry, as the report uses them."""
    from disease_risk.intake.registry import load_species_registry
    from disease_risk.report.data import SpeciesNames

    return SpeciesNames.from_registry(load_species_registry(species_file()))


def prevalence_summary() -> pd.DataFrame:
    rows = []
    for sp, (n, p) in SPECIES.items():
        k = round(n * p)
        rows.append(_prev_row(sp, "all", "all", n, k, p))
        for site, frac in (("kedrovaya_pad", 0.5), ("barsovy", 0.5)):
            rows.append(_prev_row(sp, site, "all", int(n * frac), int(k * frac), p))
        for year, frac in ((2014, 0.4), (2015, 0.6)):
            rows.append(_prev_row(sp, "all", year, int(n * frac), int(k * frac), p))
    return pd.DataFrame(rows, columns=list(PREVALENCE_COLUMNS))


def _prev_row(species, site, year, n, k, p):
    half = 1.96 * np.sqrt(p * (1 - p) / max(n, 1))
    return {
        "species": species, "site": site, "year": year, "n_tested": n, "n_positive": k,
        "apparent_prevalence": k / max(n, 1), "true_prevalence_median": p,
        "true_prevalence_lo95": max(0.0, p - half), "true_prevalence_hi95": min(1.0, p + half),
    }


def force_of_infection() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"species": sp, "year": "constant", "foi_median": p / 3, "foi_lo95": p / 5,
             "foi_hi95": p / 2}
            for sp, (_, p) in SPECIES.items()
        ],
        columns=list(FOI_COLUMNS),
    )


def diagnostics(unreliable: bool = False) -> pd.DataFrame:
    """Sampling rows (one may fail), a posterior predictive row that fails (never a fit failure)
    and a data row, as in issue 3's diagnostics.tsv."""
    rows = [
        {"section": "sampling", "model": "prevalence", "item": "species_effect",
         "rhat_max": 1.002, "ess_bulk_min": 1500.0, "ess_tail_min": 1200.0, "divergences": 0,
         "sampler": "nutpie", "seconds": 12.0, "reliable": "yes"},
        {"section": "sampling", "model": "foi", "item": "log_foi",
         "rhat_max": 1.05 if unreliable else 1.001, "ess_bulk_min": 150.0 if unreliable else 2e3,
         "ess_tail_min": 900.0, "divergences": 3 if unreliable else 0, "sampler": "nutpie",
         "seconds": 8.0, "reliable": "no" if unreliable else "yes"},
        {"section": "ppc", "model": "prevalence", "item": "red_fox|all|2015", "observed": 9,
         "replicated_lo95": 1.0, "replicated_hi95": 7.0, "reliable": "no"},
        {"section": "data", "model": "foi", "item": "no age or birth year", "count": 4},
    ]
    return pd.DataFrame(rows, columns=list(DIAGNOSTIC_COLUMNS))


def _species_outcome(scen: str, sp: str) -> tuple[float, float, float, int]:
    """(p_any_infection, deaths median, deaths hi95, population) for a scenario and species."""
    p_leo, d_med, d_hi = SCENARIOS[scen]
    table = {
        "amur_leopard": (p_leo, d_med, d_hi, 130 if scen == "leopard_release" else 120),
        "amur_tiger": (min(1.0, p_leo + 0.3), 2.0, 12.0, 25),
        "domestic_dog": (0.5 if scen == "dog_vaccination_70" else 1.0, 30.0, 90.0, 448),
        "raccoon_dog": (1.0, 40.0, 80.0, 315),
        "red_fox": (0.98, 10.0, 30.0, 126),
        "leopard_cat": (0.3, 0.0, 4.0, 189),
        "amur_leopard_released": (0.25, 0.0, 3.0, 10),
    }
    return table[sp]


def scenario_species(scen: str) -> list[str]:
    species = ["amur_leopard", "amur_tiger", "domestic_dog", "raccoon_dog", "red_fox",
               "leopard_cat"]
    return [*species, "amur_leopard_released"] if scen == "leopard_release" else species


def replicates(scen: str, n: int = 200) -> pd.DataFrame:
    """Per-replicate outcomes with common random numbers across scenarios (same uniforms): the
    share of replicates with any infection is exactly the summary's ``p_any_infection``. Each
    group's infections come a quarter (rounded down) from dogs, half from raccoon dogs and the
    rest from foxes (direct source); half (rounded down) from chains started in dogs, the rest
    in raccoon dogs (origin)."""
    u = np.random.default_rng(7).random((n, 8))
    out: dict = {"scenario": scen, "replicate": np.arange(n)}
    for k, sp in enumerate(scenario_species(scen)):
        p, _, d_hi, pop = _species_outcome(scen, sp)
        infected = np.argsort(np.argsort(u[:, k])) < round(p * n)
        count = np.where(infected, np.ceil(1 + 20 * u[:, (k + 1) % 8]), 0).astype(int)
        out[f"population_{sp}"] = pop
        out[f"infected_{sp}"] = count
        out[f"deaths_{sp}"] = np.where(infected, np.floor(d_hi * u[:, (k + 2) % 8]), 0)
        out[f"vaccinated_{sp}"] = DOSES[scen][1] if DOSES.get(scen, ("",))[0] == sp else 0
        out.update(chain_columns(sp, scenario_species(scen), count))
    return pd.DataFrame(out)


def chain_columns(group: str, groups: list[str], count: np.ndarray) -> dict[str, np.ndarray]:
    """Infections of ``group`` by direct source and by chain origin (see :func:`replicates`)."""
    species = [g for g in groups if not g.endswith(RELEASED_SUFFIX)]
    dogs, raccoon_dogs = count // 4, count // 2
    direct = {"domestic_dog": dogs, "raccoon_dog": raccoon_dogs,
              "red_fox": count - dogs - raccoon_dogs}
    started = {"domestic_dog": count // 2, "raccoon_dog": count - count // 2}
    zero = np.zeros_like(count)
    columns = {source_column(group, s): direct.get(s, zero)
               for s in (*species, OUTSIDE_SOURCE, INDEX_SOURCE)}
    columns.update({origin_column(group, s): started.get(s, zero) for s in species})
    return columns


def transmission_summary() -> pd.DataFrame:
    rows = []
    for scen in SCENARIOS:
        for sp in scenario_species(scen):
            p, dm, dh, pop = _species_outcome(scen, sp)
            rows.append({
                "scenario": scen, "species": sp, "replicates": 200, "population": pop,
                "p_any_infection": p, "p_any_infection_mcse": np.sqrt(p * (1 - p) / 200),
                "infected_median": dm * 2, "infected_hi95": dh * 2, "deaths_median": dm,
                "deaths_hi95": dh, "days_to_first_case_median": 120.0,
            })
    return pd.DataFrame(rows, columns=list(TRANSMISSION_SUMMARY_COLUMNS))


def network_summary() -> pd.DataFrame:
    """Long form ``metric, species_a, species_b, value`` as contact_network writes it."""
    nodes = {"amur_leopard": 120, "amur_tiger": 25, "domestic_dog": 448, "raccoon_dog": 315,
             "red_fox": 126, "leopard_cat": 189}
    rows = []
    for s, n in nodes.items():
        rows += [("nodes", s, "", n), ("edges", s, "", n * 3), ("mean_degree", s, "", 6.0)]
    for a, b, e in (
        ("amur_leopard", "domestic_dog", 30), ("amur_leopard", "raccoon_dog", 50),
        ("amur_leopard", "red_fox", 20), ("amur_leopard", "amur_tiger", 25),
        ("amur_leopard", "leopard_cat", 5), ("amur_tiger", "domestic_dog", 40),
        ("amur_tiger", "raccoon_dog", 60),
    ):
        rows.append(("edges_between", *sorted((a, b)), e))
    rows.append(("share_with_path_to", "amur_leopard", "domestic_dog", 0.9))
    return pd.DataFrame(rows, columns=list(NETWORK_SUMMARY_COLUMNS))


def lineages() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"sequence_id": "seq1", "sample_id": "S1", "species": "amur_leopard",
             "nearest_reference": "KJ848781", "identity": 0.991, "runner_up": "KJ848780",
             "lineage": "Arctic-like", "residue_530": "N", "residue_549": "H", "qc_flags": ""},
            {"sequence_id": "seq2", "sample_id": "S2", "species": "domestic_dog",
             "nearest_reference": "AB474397", "identity": 0.987, "runner_up": "KJ848781",
             "lineage": "Asia-1", "residue_530": "G", "residue_549": "Y", "qc_flags": ""},
        ]
    )


def png(color: str = "#1f4e79") -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], color=color)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def sensitivity() -> pd.DataFrame:
    """Morris indices as the sensitivity rule writes them: per target, one assumption that
    moves its chance of infection by 0.05 across its range (below every uncertainty bound)."""
    rows = [
        (f"p_infection_{t}", "case_fatality_red_fox", "case fatality: red fox", "disease", 0.3,
         0.7, 0.05, 0.05, 0.02, 0.03, 1, "test")
        for t in ("amur_leopard", "amur_tiger")
    ]
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))


def calibration_parameters() -> pd.DataFrame:
    """The calibration's parameter table (the columns the risk stage reads)."""
    return pd.DataFrame({
        "parameter": ["p_transmission_felid_predation_mesocarnivores"],
        "kind": ["contact rule"], "name": ["felid_predation_mesocarnivores"],
        "identified": ["not identified (prior)"], "source": ["test"],
    })


def assumptions_register() -> pd.DataFrame:
    """The assumptions register as risk_tables writes it (two assumptions, two targets)."""
    return pd.DataFrame({
        "assumption": ["case_fatality_red_fox", "p_transmission_felid_predation_mesocarnivores"],
        "label": ["case fatality: red fox", "p transmission: felid predation mesocarnivores"],
        "kind": ["disease", "contact rule"],
        "low": [0.3, 0.01], "high": [0.7, 1.0],
        "where_it_enters": ["transmission model: disease course of red fox",
                            "transmission model: contact rule felid_predation_mesocarnivores"],
        "serology": ["not informed (drawn from its range)", "not identified (prior)"],
        "source": ["test", "test"],
        moves_infection_column("amur_leopard"): [0.05, 0.2],
        moves_infection_column("amur_tiger"): [0.01, 0.3],
    })


def hazard_serology(tiger_toxo_positives: int = 13) -> pd.DataFrame:
    """The all-pathogens serology table: Toxoplasma in tigers and leopard cats (true prevalence
    as the share positive, interval +/- 0.1), FPV with no usable rows (the reason in ``note``).
    """
    def row(pathogen: str, species: str, n: int, k: int) -> dict[str, Any]:
        p = k / n
        return {"pathogen": pathogen, "species": species, "n_tested": n, "n_positive": k,
                "apparent_prevalence": p, "true_prevalence_median": p,
                "true_prevalence_lo95": max(0.0, p - 0.1),
                "true_prevalence_hi95": min(1.0, p + 0.1), "fit_reliable": "yes", "note": ""}

    rows = [row("cdv", "amur_tiger", 95, 20),
            row("toxoplasma", "amur_tiger", 40, tiger_toxo_positives),
            row("toxoplasma", "leopard_cat", 30, 3),
            {"pathogen": "fpv", "species": "", "n_tested": 0, "n_positive": 0,
             "fit_reliable": "", "note": "not fitted: no positive/negative results of fpv"}]
    return pd.DataFrame(rows, columns=list(HAZARD_SEROLOGY_COLUMNS))


def write_upstream(root: Path, unreliable: bool = False) -> dict[str, Any]:
    """Write the synthetic upstream outputs under ``root`` in the pipeline's layout; keys are
    the risk and report rules' input names (``replicates`` lists one file per scenario of
    :data:`SCENARIOS`, in that order)."""
    paths = {
        "prevalence": root / "results/seroprevalence/summary.tsv",
        "foi": root / "results/force_of_infection/force_of_infection.tsv",
        "diagnostics": root / "results/serology/diagnostics.tsv",
        "transmission": root / "results/transmission/summary.tsv",
        "network": root / "results/network/summary.tsv",
        "lineages": root / "results/sequences/lineages.tsv",
        "sensitivity": root / "results/sensitivity/indices.tsv",
        "assumptions": root / "results/risk/assumptions_register.tsv",
        "calibration": root / "results/calibration/parameters.tsv",
        "hazard_serology": root / "results/hazards/serology.tsv",
    }
    tables = {
        "prevalence": prevalence_summary(), "foi": force_of_infection(),
        "diagnostics": diagnostics(unreliable), "transmission": transmission_summary(),
        "network": network_summary(), "lineages": lineages(), "sensitivity": sensitivity(),
        "assumptions": assumptions_register(), "calibration": calibration_parameters(),
        "hazard_serology": hazard_serology(),
    }
    for key, path in paths.items():
        write_table(tables[key], path)
    paths["replicates"] = []
    for scen in SCENARIOS:
        path = root / f"results/transmission/{scen}/replicates.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        replicates(scen).to_parquet(path)
        paths["replicates"].append(path)
    paths["long_horizon"] = paths["transmission"]  # the long runs: the same synthetic outcomes
    paths["long_replicates"] = paths["replicates"]
    tree = root / "results/sequences/tree.png"
    tree.write_bytes(png())
    paths["tree"] = tree
    return paths
