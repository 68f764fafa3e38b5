"""End to end on the example data: the DRA tables are complete and the report renders in a
real headless Chromium (the shared session-wide pipeline run)."""

from __future__ import annotations

import browser_check
import pandas as pd
import pytest
import yaml

from disease_risk.tables import read_table


@pytest.mark.slow
def test_example_run_tables_complete_and_report_renders(example_run, tmp_path):
    """End to end on the example data (the shared session-wide pipeline run)."""
    risk_dir = example_run / "results/risk"
    estimation = read_table(risk_dir / "risk_estimation.tsv")
    cdv = estimation[estimation["basis"] == "quantified"]
    assert len(cdv) > 0
    # exposure_lo95/_hi95 are the interval of a serology exposure word (other hazards); the
    # simulated CDV exposure is a ratio of two estimates and has none.
    numeric = [c for c in estimation.columns
               if c.endswith(("probability", "_lo95", "_hi95", "_median", "_share"))
               and not c.startswith(("source_foi", "exposure_lo95", "exposure_hi95"))]
    numeric += ["population_size", "source_n_tested"]
    empty = cdv[numeric].isna()
    assert not empty.any().any(), f"empty cells where numbers are due:\n{cdv[empty.any(axis=1)]}"
    words = cdv[["release_likelihood", "exposure_likelihood", "likelihood", "consequence",
                 "risk", "uncertainty"]]
    assert not words.isin(["", "not estimated"]).any().any()
    other = estimation[estimation["basis"] == "serology and judgement"]
    assert {"fpv", "toxoplasma"} <= set(other["hazard"])  # the example's other hazards' serology
    assert other["exposure_basis"].str.startswith("serology:").any()
    management = read_table(risk_dir / "risk_management.tsv")
    per_dose = management.filter(like="deaths_averted_per_100_doses")
    assert (per_dose.isna().any(axis=1) == (management["doses_mean"] == 0)).all(), management
    per_death = management["cost_per_death_averted"]
    assert (per_death.isna() == (management["change_deaths_mean"] >= 0)).all(), management
    rest = management.drop(columns=[*per_dose.columns, "cost_per_death_averted"])
    assert not rest.isna().any().any(), management
    long_term = read_table(risk_dir / "risk_management_long_horizon.tsv")
    assert set(long_term["scenario"]) == set(management["scenario"])
    losses = read_table(risk_dir / "losses.tsv")
    assert set(losses["horizon_years"]) == {3, 20} and losses["p_lose_at_least"].between(0, 1).all()
    passive = read_table(example_run / "results/field/passive_surveillance.tsv")
    assert passive["observations"].sum() > 0
    hazards = read_table(risk_dir / "hazards.tsv")
    assert len(hazards) >= 6
    conclusions = read_table(risk_dir / "conclusions.tsv")
    targets = yaml.safe_load((example_run / "config/config.yaml").read_text())["risk"]["targets"]
    assert conclusions["target_species"].tolist() == targets
    assert not conclusions[["overall_risk", "fits_reliable"]].isna().any().any()
    sheets = pd.read_excel(risk_dir / "dra_tables.xlsx", sheet_name=None)
    assert list(sheets) == ["read_me", "hazards", "risk_estimation", "losses", "risk_management",
                            "risk_management_long_term", "surveillance_plan",
                            "assumptions_register"]
    plan = read_table(risk_dir / "surveillance_plan.tsv", text_columns=["site"])
    assert plan["rank"].tolist() == list(range(1, len(plan) + 1)) and len(plan) > 20
    assert "SIMULATED" in sheets["read_me"].set_index("item").loc["WARNING", "text"]
    register = read_table(risk_dir / "assumptions_register.tsv")
    assert register["assumption"].is_unique and len(register) > 50
    foi = read_table(example_run / "results/force_of_infection/force_of_infection.tsv")
    with_foi = cdv[cdv["serology_species"].isin(set(foi["species"]))]
    assert not with_foi.filter(like="source_foi").isna().any().any()
    browser_check.assert_report_renders(example_run / "results/report/report.html", tmp_path)
    assert (example_run / "results/report/report.pdf").read_bytes().startswith(b"%PDF-")
    assert 'alt="Map of the study area"' in (example_run / "results/report/report.html").read_text()
