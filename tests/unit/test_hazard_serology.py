"""Serology of hazards other than CDV (issue 15): each pathogen's rows fitted on their own with
the CDV models, its own random streams, a stated reason when a model has no data, and one table
of every pathogen's species-level true prevalence for the risk stage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR
from test_seroprevalence import grid_posterior

from disease_risk.intake.registry import load_assays
from disease_risk.seeds import pathogen_seed, stream_seed
from disease_risk.serology.accuracy import assay_accuracy
from disease_risk.serology.stage import (
    cdv_seeds,
    hazard_seeds,
    hazard_serology_stage,
    hazard_serology_table,
    not_fitted_reason,
    pathogen_rows,
)
from disease_risk.tables import FOI_COLUMNS, HAZARD_SEROLOGY_COLUMNS, read_table

SECTION = {  # uniform prior on prevalence, no effects: one group has an exact posterior
    "species_roles": ["target"], "chains": 2, "tune": 700, "draws": 2000,
    "target_accept": 0.9, "fail_on_unreliable": False,
    "prevalence": {"intercept": {"family": "logistic", "mu": 0.0, "sigma": 1.0}, "effects": {}},
}


def samples(n_toxo: int, toxo_positive: int, n_cdv: int = 10) -> pd.DataFrame:
    """Tigers at one site and year: ``n_toxo`` Toxoplasma MAT results (the first
    ``toxo_positive`` positive) and ``n_cdv`` CDV results, all positive, no ages."""
    rows = []
    for i in range(n_toxo + n_cdv):
        toxo = i < n_toxo
        rows.append({
            "sample_id": f"S{i}", "animal_id": f"T{i}", "species": "amur_tiger",
            "species_role": "target", "site": "Kedrovaya Pad", "year": 2015,
            "collection_date": "2015-06-01", "assay": "Toxo_MAT" if toxo else "VNT",
            "pathogen": "toxoplasma" if toxo else "cdv",
            "result": "positive" if (i < toxo_positive or not toxo) else "negative",
            "vaccinated": "no", "age_years": np.nan, "birth_year": np.nan,
        })
    return pd.DataFrame(rows)


def outputs(root) -> dict[str, str]:
    return {key: str(root / f"{key}.tsv") for key in
            ("prevalence", "prevalence_diagnostics", "foi", "foi_diagnostics")}


def test_rows_of_one_pathogen_and_the_others_counted():
    rows, others = pathogen_rows(samples(6, 2, n_cdv=4), "toxoplasma", "prevalence")
    assert len(rows) == 6 and set(rows["pathogen"]) == {"toxoplasma"}
    assert others == [{"section": "data", "model": "prevalence", "item": "other pathogen: cdv",
                       "count": 4}]


def test_no_rows_or_no_ages_gives_a_stated_reason(tmp_path):
    """FPV has no rows: both tables are written empty and the diagnostics' status rows and the
    reason say why; Toxoplasma rows without ages: no force of infection, said so."""
    data = samples(6, 2)
    assert "no positive/negative results of fpv" in not_fitted_reason(data, "fpv", SECTION)
    assert not_fitted_reason(data, "toxoplasma", SECTION) == ""
    assert "no toxoplasma result of the modelled species has age_years or birth_year" in (
        not_fitted_reason(data, "toxoplasma", SECTION, ages=True))
    assays = load_assays(CONFIG_DIR / "assays.yaml")
    out = outputs(tmp_path)
    hazard_serology_stage(data, assays, SECTION, 1, out, "fpv")
    assert read_table(out["prevalence"]).empty
    assert list(read_table(out["foi"]).columns) == list(FOI_COLUMNS)
    status = read_table(out["prevalence_diagnostics"], text_columns=["item"])
    assert status["section"].tolist() == ["status"]
    assert status["item"].iloc[0].startswith("not fitted: no positive/negative results of fpv")


def test_each_pathogen_has_its_own_streams():
    seeds = {p: hazard_seeds(7, p) for p in ("fpv", "toxoplasma")}
    values = {v for by_part in seeds.values() for v in by_part.values()}
    values |= set(cdv_seeds(7).values())
    assert len(values) == 12  # every pathogen and model part its own seed
    assert hazard_seeds(7, "fpv") == seeds["fpv"]  # deterministic
    assert seeds["fpv"]["prevalence"] == pathogen_seed(stream_seed(7, "hazards/prevalence"),
                                                       "fpv")
    assert cdv_seeds(7)["prevalence"] == stream_seed(7, "seroprevalence/prevalence")


def test_all_pathogens_table_keeps_species_rows_and_reasons():
    prevalence = pd.DataFrame([
        {"species": "amur_tiger", "site": "all", "year": "all", "n_tested": 30,
         "n_positive": 20, "apparent_prevalence": 2 / 3, "true_prevalence_median": 0.7,
         "true_prevalence_lo95": 0.5, "true_prevalence_hi95": 0.85},
        {"species": "amur_tiger", "site": "Kedrovaya Pad", "year": "all", "n_tested": 30,
         "n_positive": 20, "apparent_prevalence": 2 / 3, "true_prevalence_median": 0.7,
         "true_prevalence_lo95": 0.5, "true_prevalence_hi95": 0.85}])
    sampling = pd.DataFrame([{"section": "sampling", "model": "prevalence", "item": "x",
                              "reliable": "yes"}])
    empty = pd.DataFrame(columns=prevalence.columns)
    status = pd.DataFrame([{"section": "status", "model": "prevalence",
                            "item": "not fitted: no rows", "reliable": None}])
    table = hazard_serology_table({"toxoplasma": (prevalence, sampling),
                                   "aujeszky": (empty, status)})
    assert list(table.columns) == list(HAZARD_SEROLOGY_COLUMNS)
    assert table["pathogen"].tolist() == ["aujeszky", "toxoplasma"]
    assert table.iloc[0]["note"] == "not fitted: no rows" and table.iloc[0]["species"] == ""
    assert (table.iloc[1]["species"], table.iloc[1]["fit_reliable"]) == ("amur_tiger", "yes")


def test_pathogen_prevalence_matches_the_exact_posterior(tmp_path):
    """40 Toxoplasma MAT results, 12 positive, among CDV rows that must be ignored: the fitted
    true prevalence equals the grid-integrated posterior under MAT's Se/Sp priors."""
    assays = load_assays(CONFIG_DIR / "assays.yaml")
    out = outputs(tmp_path)
    summary = hazard_serology_stage(samples(40, 12), assays, SECTION, 11, out, "toxoplasma")
    row = summary[(summary["site"] == "all") & (summary["year"] == "all")].iloc[0]
    assert (row["n_tested"], row["n_positive"]) == (40, 12)
    _mean, lo, hi = grid_posterior(40, 12, assay_accuracy(assays)["Toxo_MAT"])
    assert row["true_prevalence_lo95"] == pytest.approx(lo, abs=0.02)
    assert row["true_prevalence_hi95"] == pytest.approx(hi, abs=0.02)
    assert lo < row["true_prevalence_median"] < hi
    diagnostics = read_table(out["prevalence_diagnostics"], text_columns=["item"])
    assert "other pathogen: cdv" in set(diagnostics["item"])
    assert read_table(out["foi"]).empty  # no ages: no force of infection, said so
