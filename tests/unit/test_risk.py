"""DRA tables: words at threshold edges, matrix lookups, config sensitivity, exact numbers, the
conclusions the report states, and the column contracts of the tables the risk stage reads."""

from __future__ import annotations

import copy
import dataclasses
import math

import dra_synthetic as synth
import numpy as np
import pandas as pd
import pytest
import yaml

from disease_risk.risk.conclusions import build_conclusions
from disease_risk.risk.estimation import build_risk_estimation
from disease_risk.risk.evidence import (
    MissingColumnsError,
    latest_foi,
    probability_interval,
    species_prevalence,
    unreliable_blocks,
)
from disease_risk.risk.hazards import build_hazards, load_hazards
from disease_risk.risk.management import build_risk_management
from disease_risk.risk.scales import (
    UNCERTAINTY_WORDS,
    RiskConfigError,
    RiskMatrix,
    RiskSettings,
    combine_likelihoods,
    consequence_word,
    likelihood_word,
    uncertainty_level,
)
from disease_risk.risk.stage import risk_tables, write_workbook
from disease_risk.tables import CONCLUSION_COLUMNS, ESTIMATION_COLUMNS, read_table, write_table

THRESHOLDS = {"very low": 0.001, "low": 0.01, "moderate": 0.1, "high": 0.5}


@pytest.fixture
def settings() -> RiskSettings:
    return RiskSettings.from_config(synth.risk_config())


def replicates() -> dict[str, pd.DataFrame]:
    return {s: synth.replicates(s) for s in synth.SCENARIOS}


def estimation(
    settings: RiskSettings,
    diagnostics: pd.DataFrame | None = None,
    sensitivity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    return build_risk_estimation(
        hazards=synth.hazards(),
        settings=settings,
        transmission=synth.transmission_summary(),
        replicates=replicates(),
        prevalence=species_prevalence(synth.prevalence_summary()),
        foi=latest_foi(synth.force_of_infection()),
        diagnostics=synth.diagnostics() if diagnostics is None else diagnostics,
        network_summary=synth.network_summary(),
        sensitivity=sensitivity,
    )


@pytest.mark.parametrize(
    ("p", "word"),
    [
        (0.0, "negligible"), (0.000999, "negligible"), (0.001, "very low"), (0.00999, "very low"),
        (0.01, "low"), (0.0999, "low"), (0.1, "moderate"), (0.4999, "moderate"), (0.5, "high"),
        (1.0, "high"),
    ],
)
def test_likelihood_word_threshold_edges(p, word):
    assert likelihood_word(p, THRESHOLDS) == word


def test_consequence_word_edges_and_missing():
    bounds = {"low": 0.005, "moderate": 0.02, "high": 0.1}
    assert consequence_word(0.004999, bounds) == "negligible"
    assert consequence_word(0.005, bounds) == "low"
    assert consequence_word(0.02, bounds) == "moderate"
    assert consequence_word(0.1, bounds) == "high"
    assert consequence_word(float("nan"), bounds) == "not estimated"


def test_thresholds_must_increase_and_use_known_words():
    cfg = synth.risk_config()
    cfg["likelihood_thresholds"] = {"very low": 0.01, "low": 0.01}
    with pytest.raises(RiskConfigError, match="must increase"):
        RiskSettings.from_config(cfg)
    cfg["likelihood_thresholds"] = {"rare": 0.01}
    with pytest.raises(RiskConfigError, match="unknown word"):
        RiskSettings.from_config(cfg)


def test_matrix_lookup_every_cell_and_fold(settings):
    spec = synth.risk_config()["risk_matrix"]
    m = settings.matrix
    for i, lk in enumerate(spec["likelihood"]):
        for j, cq in enumerate(spec["consequence"]):
            assert m.lookup(lk, cq) == spec["cells"][i][j]
    assert m.lookup("high", "high") == "high"
    assert m.lookup("low", "high") == "moderate"
    assert m.lookup("very low", "high") == m.lookup("low", "high")
    assert m.lookup("not estimated", "high") == "not estimated"
    with pytest.raises(RiskConfigError):
        m.lookup("likely", "high")


def test_matrix_shape_and_equivalents_are_checked():
    spec = copy.deepcopy(synth.risk_config()["risk_matrix"])
    spec["cells"] = spec["cells"][:3]
    with pytest.raises(RiskConfigError, match="4 rows"):
        RiskMatrix.from_config(spec)
    spec = copy.deepcopy(synth.risk_config()["risk_matrix"])
    spec["equivalents"] = {"very low": "tiny"}
    with pytest.raises(RiskConfigError, match="tiny"):
        RiskMatrix.from_config(spec)


def test_five_by_five_matrix_without_fold():
    words = ["negligible", "very low", "low", "moderate", "high"]
    cells = [[lk if words.index(lk) < words.index(c) else c for c in words] for lk in words]
    m = RiskMatrix.from_config({"likelihood": words, "consequence": words, "cells": cells})
    assert m.lookup("very low", "high") == "very low"
    assert m.lookup("high", "low") == "low"


def test_combine_likelihoods_takes_lower_word():
    assert combine_likelihoods("high", "very low") == "very low"
    assert combine_likelihoods("low", "moderate") == "low"
    assert combine_likelihoods("high", "not estimated") == "not estimated"


def test_uncertainty_level_worst_criterion_wins():
    cfg = synth.risk_config()["uncertainty"]
    assert uncertainty_level(relative_width=0.2, n_tested=500, fit_reliable=True,
                             settings=cfg)[0] == "low"
    assert uncertainty_level(relative_width=0.5, n_tested=500, fit_reliable=True,
                             settings=cfg)[0] == "medium"
    level, reasons = uncertainty_level(relative_width=0.2, n_tested=29, fit_reliable=True,
                                       settings=cfg)
    assert level == "high" and "29 animals" in reasons
    assert uncertainty_level(relative_width=0.2, n_tested=30, fit_reliable=True,
                             settings=cfg)[0] == "medium"
    level, reasons = uncertainty_level(relative_width=0.2, n_tested=500, fit_reliable=False,
                                       settings=cfg)
    assert level == "high" and "diagnostics" in reasons


def test_unreliable_blocks_ignore_posterior_predictive_rows():
    assert not unreliable_blocks(synth.diagnostics()).any()
    bad = unreliable_blocks(synth.diagnostics(unreliable=True))
    assert bad.tolist() == [False, True, False, False]


def test_diagnostics_without_the_verdict_column_is_an_error():
    no_verdict = synth.diagnostics(unreliable=True).drop(columns="reliable")
    with pytest.raises(MissingColumnsError, match="serology diagnostics: missing column"
                                                  r"\(s\) reliable"):
        unreliable_blocks(no_verdict)


def test_jeffreys_interval_matches_beta_quantiles():
    from scipy.stats import beta

    lo, hi = probability_interval(0.4, float("nan"), 200)
    assert lo == pytest.approx(beta.ppf(0.025, 80.5, 120.5))
    assert hi == pytest.approx(beta.ppf(0.975, 80.5, 120.5))
    assert probability_interval(1.0, 0.0, 200)[1] == 1.0
    assert probability_interval(0.5, 0.05) == pytest.approx((0.402, 0.598))


def chain_share(group: str, *species: str, kind: str = "from") -> float:
    """Mean over the synthetic baseline replicates of [group infected] x share of its
    infections whose direct infector (``kind`` "from") or chain origin ("origin") is one of
    ``species``, computed here from the table."""
    reps = synth.replicates("baseline")
    count = reps[f"infected_{group}"]
    part = sum(reps[f"infections_{group}_{kind}_{s}"] for s in species)
    return float((part / count.where(count > 0, 1)).mean())


def test_estimation_rows_and_exact_numbers(settings):
    table = estimation(settings)
    assert tuple(table.columns) == ESTIMATION_COLUMNS
    cdv = table[table["basis"] == "quantified"]
    # leopards: 3 chain pathways + all_pathways + the release scenario; tigers: 3 + all_pathways
    assert len(cdv) == 9
    qualitative = sum(
        len(a["targets"]) for h in synth.hazards() for a in h.get("assessment", [])
    )
    assert len(table) == 9 + qualitative
    leopard = cdv[cdv["target_species"] == "amur_leopard"]
    assert leopard["pathway"].tolist() == ["dogs", "mesocarnivores", "other_felids",
                                           "all_pathways"]
    dogs = leopard[leopard["pathway"] == "dogs"].iloc[0]
    assert dogs["release_probability"] == 1.0 and dogs["source_species"] == "domestic_dog"
    p_dogs = chain_share("amur_leopard", "domestic_dog")
    assert 0.05 < p_dogs < 0.1
    assert dogs["infection_probability"] == pytest.approx(p_dogs, rel=1e-12)
    assert dogs["target_p_any_infection"] == 0.4  # 80 of 200 replicates
    assert dogs["infection_share"] == pytest.approx(p_dogs / 0.4, rel=1e-12)
    assert dogs["infection_by_source"] == dogs["infection_probability"]  # attribution: source
    assert dogs["infection_by_origin"] == pytest.approx(
        chain_share("amur_leopard", "domestic_dog", kind="origin"), rel=1e-12)
    from scipy.stats import beta

    k = 200 * p_dogs
    assert dogs["infection_lo95"] == pytest.approx(beta.ppf(0.025, k + 0.5, 200 - k + 0.5))
    assert dogs["infection_hi95"] == pytest.approx(beta.ppf(0.975, k + 0.5, 200 - k + 0.5))
    assert dogs["likelihood"] == "low"  # 0.05 - 0.1
    assert dogs["share_lost_hi95"] == pytest.approx(6 / 120)
    assert dogs["consequence"] == "moderate"  # 0.05 in [0.02, 0.1)
    assert dogs["risk"] == "low"  # matrix(low, moderate)
    assert dogs["source_prevalence_median"] == 0.27 and dogs["source_n_tested"] == 464
    felids = cdv[(cdv["target_species"] == "amur_tiger") & (cdv["pathway"] == "other_felids")]
    assert felids.iloc[0]["source_species"] == "amur_leopard"  # the target itself is excluded
    release = cdv[cdv["pathway"] == "zoo_leopard_release"].iloc[0]
    assert release["target_species"] == "amur_leopard_released"
    assert release["scenario"] == "leopard_release"
    assert release["infection_probability"] == 0.25
    # rated against all 130 leopards of that scenario, not the 10 released: 3 / 130 >= 0.02
    assert release["population_size"] == 130 and release["consequence"] == "moderate"
    assert release["share_lost_hi95"] == pytest.approx(3 / 130)


def test_quantified_rows_have_no_empty_numbers(settings):
    cdv = estimation(settings).query("basis == 'quantified'")
    numeric = [c for c in ESTIMATION_COLUMNS if c.endswith(("probability", "lo95", "hi95"))
               or c.startswith(("deaths", "source_", "population", "share", "target_n"))]
    # CDV's exposure is infection / release: it has no interval of its own
    numeric = [c for c in numeric if c not in ("exposure_lo95", "exposure_hi95")]
    assert not cdv[numeric].isna().any().any(), cdv[numeric].isna().sum()
    words = ["release_likelihood", "exposure_likelihood", "likelihood", "consequence", "risk"]
    assert not cdv[words].isin(["not estimated", ""]).any().any()


def test_qualitative_rows_follow_the_hazard_list(settings):
    table = estimation(settings)
    fiv = table[(table["hazard"] == "fiv") & (table["pathway"] == "zoo_leopard_release")].iloc[0]
    assert (fiv["release_likelihood"], fiv["exposure_likelihood"]) == ("very low", "low")
    assert fiv["likelihood"] == "very low"
    assert fiv["risk"] == settings.matrix.lookup("low", "low")
    assert math.isnan(fiv["infection_probability"])


def test_threshold_change_in_config_changes_the_table():
    before = estimation(RiskSettings.from_config(synth.risk_config()))
    cfg = synth.risk_config()
    cfg["likelihood_thresholds"]["moderate"] = 0.3
    after = estimation(RiskSettings.from_config(cfg))
    key = ["hazard", "target_species", "pathway"]
    merged = before.merge(after, on=key, suffixes=("_before", "_after"))
    changed = merged[merged["likelihood_before"] != merged["likelihood_after"]]
    assert len(changed) > 0
    assert set(changed["likelihood_after"]) == {"low"}
    assert (changed["infection_probability_before"] < 0.3).all()
    pd.testing.assert_series_equal(
        merged["infection_probability_before"], merged["infection_probability_after"],
        check_names=False,
    )


def test_consequence_threshold_change_changes_the_risk():
    cfg = synth.risk_config()
    cfg["consequence_thresholds"] = {"low": 0.005, "moderate": 0.06, "high": 0.5}
    table = estimation(RiskSettings.from_config(cfg))
    dogs = table[(table["target_species"] == "amur_leopard") & (table["pathway"] == "dogs")]
    assert dogs.iloc[0]["consequence"] == "low" and dogs.iloc[0]["risk"] == "low"


def test_unreliable_fit_raises_uncertainty(settings):
    table = estimation(settings, synth.diagnostics(unreliable=True))
    cdv = table[table["basis"] == "quantified"]
    assert (cdv["uncertainty"] == "high").all()
    assert cdv["uncertainty_reasons"].str.contains("diagnostics").all()


def sensitivity_indices(leopard_effect: float) -> pd.DataFrame:
    """Morris indices: one assumption moves the leopards' chance of infection by
    ``leopard_effect`` across its range, another moves the tigers' by 0.01."""
    return pd.DataFrame({
        "output": ["p_infection_amur_leopard", "p_infection_amur_leopard",
                   "p_infection_amur_tiger"],
        "parameter": ["contact_rate_factor_felid_predation", "case_fatality_red_fox",
                      "latent_days_amur_tiger"],
        "label": ["contact rate: felid predation", "case fatality: red fox",
                  "latent days: amur tiger"],
        "kind": ["contact rate", "disease", "disease"],
        "mu_star": [leopard_effect, 0.02, 0.01], "mu_star_conf": [0.05, 0.01, 0.01],
    })


@pytest.mark.parametrize(("effect", "word"), [(0.3, "high"), (0.15, "medium")])
def test_an_assumption_that_moves_the_answer_raises_its_uncertainty(settings, effect, word):
    settings = dataclasses.replace(settings, uncertainty={
        **settings.uncertainty, "assumption_effect": {"medium": 0.1, "high": 0.25}})
    plain = estimation(settings)
    driven = estimation(settings, sensitivity=sensitivity_indices(effect))
    leopard = (driven["target_species"] == "amur_leopard") & (driven["basis"] == "quantified")
    words = list(UNCERTAINTY_WORDS)
    for before, after, reasons in zip(plain.loc[leopard, "uncertainty"],
                                      driven.loc[leopard, "uncertainty"],
                                      driven.loc[leopard, "uncertainty_reasons"], strict=True):
        assert words.index(after) == max(words.index(before), words.index(word))
        if after == word:
            assert "contact rate: felid predation" in reasons
    tiger = driven["target_species"] == "amur_tiger"
    pd.testing.assert_series_equal(
        driven.loc[tiger, "uncertainty"], plain.loc[tiger, "uncertainty"])


def test_management_paired_changes_match_replicates(settings):
    replicates = {s: synth.replicates(s) for s in synth.SCENARIOS}
    table = build_risk_management(
        synth.transmission_summary(), settings, replicates=replicates,
        network_summary=synth.network_summary(),
    )
    assert len(table) == len(synth.SCENARIOS) * 2
    row = table[(table["scenario"] == "leopard_vaccination_5")
                & (table["target_species"] == "amur_leopard")].iloc[0]
    a, b = replicates["leopard_vaccination_5"], replicates["baseline"]
    diff = (a["infected_amur_leopard"] > 0).astype(float) - (b["infected_amur_leopard"] > 0)
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert row["change_p_any_infection"] == pytest.approx(diff.mean())
    assert row["change_p_mcse"] == pytest.approx(se)
    assert row["change_p_lo95"] == pytest.approx(diff.mean() - 1.959964 * se)  # 1 run per set
    deaths = a["deaths_amur_leopard"] - b["deaths_amur_leopard"]
    assert row["change_deaths_mean"] == pytest.approx(deaths.mean())
    assert row["doses_mean"] == 15  # 5 leopards a year for 3 years
    assert row["deaths_averted_per_100_doses"] == pytest.approx(-100 * deaths.mean() / 15)
    assert row["deaths_averted_per_100_doses_lo95"] == pytest.approx(
        -100 * row["change_deaths_hi95"] / 15)
    base_row = table[(table["scenario"] == "baseline")].iloc[0]
    assert base_row["doses_mean"] == 0 and math.isnan(base_row["deaths_averted_per_100_doses"])
    assert row["paired_replicates"] == 200
    assert row["rank"] == 1
    base = table[table["scenario"] == "baseline"]
    assert (base["change_p_any_infection"] == 0).all() and (base["change_p_hi95"] == 0).all()
    assert set(table["risk"]) <= {"negligible", "low", "moderate", "high"}


def test_management_change_interval_is_its_spread_over_parameter_sets(settings):
    """Effects that differ by parameter set: the interval is the spread of the per-set effect
    (normal, method of moments), the Monte Carlo error that of the mean over sets."""
    rng = np.random.default_rng(7)
    sets, runs = 2000, 5
    effect = rng.normal(-0.3, 0.1, sets).clip(-0.8, 0)
    base_p = np.repeat(rng.uniform(0.85, 0.95, sets), runs)
    luck = rng.random(sets * runs)
    columns = {"replicate": np.arange(sets * runs),
               "parameter_set": np.repeat(np.arange(sets), runs),
               "infected_amur_tiger": 0, "deaths_amur_tiger": 0, "deaths_amur_leopard": 0,
               "vaccinated_amur_tiger": 0, "vaccinated_amur_leopard": 0}
    base = pd.DataFrame({**columns, "infected_amur_leopard": (luck < base_p).astype(int)})
    option = pd.DataFrame({**columns, "infected_amur_leopard":
                           (luck < base_p + np.repeat(effect, runs)).astype(int)})
    table = build_risk_management(
        synth.transmission_summary(), settings,
        replicates={"baseline": base, "leopard_vaccination_5": option},
        network_summary=synth.network_summary(),
    )
    row = table[(table["scenario"] == "leopard_vaccination_5")
                & (table["target_species"] == "amur_leopard")].iloc[0]
    spread = np.std(effect)
    assert row["change_p_any_infection"] == pytest.approx(effect.mean(), abs=0.02)
    assert row["change_p_hi95"] - row["change_p_lo95"] == pytest.approx(
        2 * 1.959964 * spread, rel=0.15)
    assert row["change_p_mcse"] == pytest.approx(
        np.sqrt(np.var(effect) / sets + 0.2 / (sets * runs)), rel=0.2)


def test_an_option_can_be_compared_with_another_scenario_than_the_baseline(settings):
    replicates = {s: synth.replicates(s) for s in synth.SCENARIOS}
    table = build_risk_management(
        synth.transmission_summary(), settings, replicates=replicates,
        network_summary=synth.network_summary(),
        compared_with={"leopard_vaccination_5": "dog_vaccination_70"},
    )
    row = table[(table["scenario"] == "leopard_vaccination_5")
                & (table["target_species"] == "amur_leopard")].iloc[0]
    assert row["compared_with"] == "dog_vaccination_70"
    a, b = replicates["leopard_vaccination_5"], replicates["dog_vaccination_70"]
    diff = (a["infected_amur_leopard"] > 0).astype(float) - (b["infected_amur_leopard"] > 0)
    assert row["change_p_any_infection"] == pytest.approx(diff.mean())
    assert row["baseline_p_any_infection"] == pytest.approx(0.36)
    with pytest.raises(RiskConfigError, match="compare_with: 'nowhere'"):
        build_risk_management(synth.transmission_summary(), settings,
                              network_summary=synth.network_summary(),
                              compared_with={"leopard_vaccination_5": "nowhere"})


def test_a_hazard_scenario_is_compared_but_never_named_as_what_helps(settings):
    from disease_risk.risk.management import most_effective

    replicates = {s: synth.replicates(s) for s in synth.SCENARIOS}
    table = build_risk_management(
        synth.transmission_summary(), settings, replicates=replicates,
        network_summary=synth.network_summary(), not_options=["leopard_vaccination_5"],
    )
    option = table.drop_duplicates("scenario").set_index("scenario")["option"]
    assert option.to_dict() == {"leopard_vaccination_5": "no", "dog_vaccination_70": "yes",
                                "baseline": "no", "leopard_release": "yes"}
    best = most_effective(table, "amur_leopard", "baseline")
    assert best is not None and best["scenario"] == "dog_vaccination_70"


def test_management_without_replicates_uses_summary_errors(settings):
    table = build_risk_management(synth.transmission_summary(), settings)
    row = table[(table["scenario"] == "dog_vaccination_70")
                & (table["target_species"] == "amur_leopard")].iloc[0]
    assert row["change_p_any_infection"] == pytest.approx(0.36 - 0.4)
    assert row["change_p_lo95"] < row["change_p_any_infection"] < row["change_p_hi95"]
    assert math.isnan(row["change_deaths_mean"])


def test_hazards_table_lists_every_hazard():
    table = build_hazards(synth.hazards())
    assert set(table["hazard"]) == {"cdv", "fpv", "fiv", "felv", "rabies", "toxoplasma",
                                    "chlamydophila", "aujeszky"}
    assert table.set_index("hazard").loc["cdv", "assessment"] == "quantified by this run"
    assert table["sources"].str.len().min() > 0


def test_hazard_list_errors_name_file_and_entry(tmp_path, repo_root):
    data = yaml.safe_load((repo_root / "config/hazards.yaml").read_text())
    data["hazards"][2]["assessment"][0]["release"] = "likely"
    bad = tmp_path / "hazards.yaml"
    bad.write_text(yaml.safe_dump(data))
    where = r"hazards\.yaml does not follow(.|\n)*at hazards/2/assessment/0/release"
    with pytest.raises(RiskConfigError, match=where):
        load_hazards(bad)
    data = yaml.safe_load((repo_root / "config/hazards.yaml").read_text())
    data["hazards"].append(copy.deepcopy(data["hazards"][1]))
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(RiskConfigError, match="'fpv'"):
        load_hazards(bad)


def test_tables_are_byte_identical_when_rewritten(tmp_path, settings):
    tables = {"risk_estimation": estimation(settings),
              "hazards": build_hazards(synth.hazards())}
    for run in ("a", "b"):
        write_table(tables["risk_estimation"], tmp_path / run / "est.tsv")
        write_workbook(tables, tmp_path / run / "dra.xlsx")
    for name in ("est.tsv", "dra.xlsx"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    sheets = pd.read_excel(tmp_path / "a" / "dra.xlsx", sheet_name=None)
    assert list(sheets) == ["risk_estimation", "hazards"]
    assert len(sheets["risk_estimation"]) == len(tables["risk_estimation"])
    back = pd.read_csv(tmp_path / "a" / "est.tsv", sep="\t")
    assert back["infection_probability"].iloc[0] == pytest.approx(
        chain_share("amur_leopard", "domestic_dog"), rel=1e-5)


def test_serology_falls_back_to_most_tested_source(settings):
    prevalence = synth.prevalence_summary()
    prevalence = prevalence[prevalence["species"] != "raccoon_dog"]
    table = build_risk_estimation(
        hazards=synth.hazards(), settings=settings, transmission=synth.transmission_summary(),
        replicates=replicates(), prevalence=species_prevalence(prevalence),
        foi=latest_foi(synth.force_of_infection()), diagnostics=synth.diagnostics(),
        network_summary=synth.network_summary(),
    )
    row = table[(table["target_species"] == "amur_leopard")
                & (table["pathway"] == "mesocarnivores")].iloc[0]
    assert row["source_species"] == "raccoon_dog"  # most infected in the simulation
    assert row["serology_species"] == "red_fox"  # the tested one backs the row
    assert row["source_n_tested"] == 41


# --- Column contracts: the names of disease_risk.tables, no aliases ----------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: build_risk_management(
            synth.transmission_summary().drop(columns="p_any_infection_mcse"), s),
         r"transmission summary: missing column\(s\) p_any_infection_mcse"),
        (lambda s: build_risk_management(
            synth.transmission_summary(), s, network_summary=synth.network_summary().rename(
                columns={"species_a": "species", "species_b": "other_species"})),
         r"network summary: missing column\(s\) species_a, species_b"),
        (lambda s: species_prevalence(
            synth.prevalence_summary().drop(columns="true_prevalence_lo95")),
         r"seroprevalence summary: missing column\(s\) true_prevalence_lo95"),
        (lambda s: latest_foi(synth.force_of_infection().drop(columns="foi_hi95")),
         r"force-of-infection table: missing column\(s\) foi_hi95"),
        (lambda s: build_risk_management(
            synth.transmission_summary(), s,
            replicates={sc: synth.replicates(sc).drop(columns="deaths_amur_leopard")
                        for sc in synth.SCENARIOS}),
         r"replicates of 'baseline': missing column\(s\) deaths_amur_leopard"),
    ],
    ids=["transmission", "network-aliases", "prevalence", "foi", "replicates"],
)
def test_missing_column_fails_with_a_clear_message(settings, make, message):
    with pytest.raises(MissingColumnsError, match=message):
        make(settings)


def test_summary_mcse_alias_is_not_read(settings):
    """An old alias (``p_any_infection_se``) is not a stand-in for the contract's column."""
    summary = synth.transmission_summary().rename(
        columns={"p_any_infection_mcse": "p_any_infection_se"})
    with pytest.raises(MissingColumnsError, match="p_any_infection_mcse"):
        build_risk_estimation(
            hazards=synth.hazards(), settings=settings, transmission=summary,
            replicates=replicates(), prevalence=species_prevalence(synth.prevalence_summary()),
            foi=latest_foi(synth.force_of_infection()), diagnostics=synth.diagnostics(),
            network_summary=synth.network_summary(),
        )


# --- Conclusions: what the report states -------------------------------------------------------


def management(settings: RiskSettings) -> pd.DataFrame:
    return build_risk_management(
        synth.transmission_summary(), settings,
        replicates={s: synth.replicates(s) for s in synth.SCENARIOS},
        network_summary=synth.network_summary(),
    )


def test_conclusions_state_overall_risk_route_and_best_option(settings):
    est, mgmt = estimation(settings), management(settings)
    table = build_conclusions(est, mgmt, synth.diagnostics(), settings)
    assert tuple(table.columns) == CONCLUSION_COLUMNS
    assert table["target_species"].tolist() == list(settings.targets)
    leopard = table.set_index("target_species").loc["amur_leopard"]
    cdv = est[(est["basis"] == "quantified") & (est["target_species"] == "amur_leopard")]
    order = ["not estimated", "negligible", "very low", "low", "moderate", "high"]
    assert leopard["overall_risk"] == max(cdv["risk"], key=order.index)
    assert leopard["overall_pathway"] == "all_pathways"
    assert leopard["main_pathway"] == "mesocarnivores"  # raccoon dogs and foxes: 3/4 of chains
    assert leopard["main_pathway_probability"] == pytest.approx(
        chain_share("amur_leopard", "raccoon_dog", "red_fox"), rel=1e-12)
    assert (leopard["fits_reliable"], leopard["failed_fit_checks"]) == ("yes", 0)
    best = mgmt[(mgmt["scenario"] == "leopard_vaccination_5")
                & (mgmt["target_species"] == "amur_leopard")].iloc[0]
    assert leopard["largest_drop_scenario"] == "leopard_vaccination_5"
    assert leopard["largest_drop_change_p"] == best["change_p_any_infection"]
    assert leopard["largest_drop_change_p_hi95"] == best["change_p_hi95"] < 0
    assert leopard["best_scenario"] == "leopard_vaccination_5"


def test_conclusions_name_no_best_option_within_noise_or_without_a_drop(settings):
    est, mgmt = estimation(settings), management(settings)
    leopard = mgmt["target_species"] == "amur_leopard"
    noisy = mgmt.copy()
    options = leopard & (noisy["scenario"] != "baseline")
    noisy.loc[options, "change_p_mcse"] = -noisy.loc[options, "change_p_any_infection"] / 1.9
    row = build_conclusions(est, noisy, synth.diagnostics(), settings).iloc[0]
    assert row["largest_drop_scenario"] == "leopard_vaccination_5"
    assert row["best_scenario"] == ""  # the drop is under 1.96 Monte Carlo standard errors
    noisy.loc[options, "change_p_mcse"] = -noisy.loc[options, "change_p_any_infection"] / 2.0
    row = build_conclusions(est, noisy, synth.diagnostics(), settings).iloc[0]
    assert row["best_scenario"] == "leopard_vaccination_5"
    no_drop = mgmt.copy()
    no_drop.loc[leopard, "change_p_any_infection"] = 0.0
    row = build_conclusions(est, no_drop, synth.diagnostics(), settings).iloc[0]
    assert row["largest_drop_scenario"] == "" and row["best_scenario"] == ""
    assert math.isnan(row["largest_drop_change_p"])


def test_conclusions_carry_the_fit_verdict(settings):
    diagnostics = synth.diagnostics(unreliable=True)
    table = build_conclusions(estimation(settings, diagnostics), management(settings),
                              diagnostics, settings)
    assert set(table["fits_reliable"]) == {"no"}
    assert set(table["failed_fit_checks"]) == {1}


def test_risk_tables_entry_point_writes_every_output(tmp_path, settings):
    paths = synth.write_upstream(tmp_path)
    inputs = {**paths, "hazards": synth.REPO_ROOT / "config/hazards.yaml"}
    params = {"risk": synth.risk_config(), "scenarios": list(synth.SCENARIOS), "threads": 1,
              "title": "DRA", "simulated": ["config/samples/SIMULATED_dogs.csv"],
              "horizon_years": 3, "long_horizon_years": 20}
    names = ("hazards", "risk_estimation", "risk_management", "risk_management_long_horizon",
             "losses", "conclusions", "assumptions", "surveillance")
    for run in ("a", "b"):
        outputs = {name: tmp_path / run / f"{name}.tsv" for name in names}
        outputs["workbook"] = tmp_path / run / "dra_tables.xlsx"
        tables = risk_tables(inputs, outputs, params)
    for name in (*names, "dra_tables.xlsx"):
        file = name if name.endswith(".xlsx") else f"{name}.tsv"
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    expected = build_conclusions(estimation(settings), management(settings),
                                 synth.diagnostics(), settings)
    pd.testing.assert_frame_equal(tables["conclusions"], expected)
    back = read_table(tmp_path / "a" / "conclusions.tsv", text_columns=["best_scenario"])
    assert back["best_scenario"].fillna("").tolist() == expected["best_scenario"].tolist()
    sheets = pd.read_excel(tmp_path / "a" / "dra_tables.xlsx", sheet_name=None)
    assert list(sheets) == ["read_me", "hazards", "risk_estimation", "losses", "risk_management",
                            "risk_management_long_term", "surveillance_plan",
                            "assumptions_register"]
    assert [s.removeprefix("sheet: ") for s in sheets["read_me"]["item"]
            if s.startswith("sheet: ")] == list(sheets)[1:]  # the read-me describes each sheet
    assert set(tables["losses"]["horizon_years"]) == {3, 20}
    warning = sheets["read_me"].set_index("item").loc["WARNING", "text"]
    assert "SIMULATED" in warning and "SIMULATED_dogs.csv" in warning


def test_assumptions_register_lists_each_assumption_once_by_its_effect():
    from disease_risk.risk.assumptions import NOT_CALIBRATED, assumptions_register

    indices = pd.concat([synth.sensitivity(), pd.DataFrame({
        "output": ["p_infection_amur_leopard", "p_infection_amur_tiger",
                   "p_infection_amur_leopard", "p_infection_amur_tiger"],
        "parameter": ["p_transmission_felid_predation_mesocarnivores"] * 2
        + ["population_factor_raccoon_dog"] * 2,
        "label": ["p transmission: felid predation"] * 2 + ["population size: raccoon dog"] * 2,
        "kind": ["contact rule"] * 2 + ["population size"] * 2,
        "low": [0.01, 0.01, 0.5, 0.5], "high": [1.0, 1.0, 1.5, 1.5],
        "mu_star": [0.2, 0.3, 0.1, 0.4], "source": "test",
    })], ignore_index=True)
    register = assumptions_register(indices, synth.calibration_parameters(),
                                    ["amur_leopard", "amur_tiger"])
    assert register["assumption"].tolist() == [
        "p_transmission_felid_predation_mesocarnivores", "population_factor_raccoon_dog",
        "case_fatality_red_fox"]  # by the leopards' column, largest first
    by_name = register.set_index("assumption")
    assert by_name.loc["population_factor_raccoon_dog", "moves_infection_amur_tiger"] == 0.4
    assert by_name.loc["p_transmission_felid_predation_mesocarnivores",
                       "serology"] == "not identified (prior)"
    assert by_name.loc["case_fatality_red_fox", "serology"] == NOT_CALIBRATED
    assert by_name.loc["population_factor_raccoon_dog", "where_it_enters"].startswith(
        "contact network")


@pytest.mark.parametrize("used, configured", [(1, 1), (3, 1), (2, 0)])
def test_a_coarser_foi_time_grid_is_an_assumption_only_when_max_cells_chose_it(used, configured):
    """The force-of-infection stage's settings row reaches the register: a grid coarser than
    configured (``max_cells``) is listed with the months ages and dates may move; the configured
    grid itself adds nothing."""
    from disease_risk.risk.assumptions import assumptions_register, time_grid_assumption
    from disease_risk.serology.force_of_infection import FoiSettings
    from disease_risk.serology.stage import diagnostics_frame, time_grid_row

    settings = FoiSettings.from_config({"time_resolution_months": configured, "max_cells": 50})
    diagnostics = diagnostics_frame([synth.diagnostics(), [time_grid_row(used, settings)]])
    register = assumptions_register(synth.sensitivity(), synth.calibration_parameters(),
                                    ["amur_leopard"])
    out = time_grid_assumption(diagnostics, register)
    if used == configured:
        pd.testing.assert_frame_equal(out, register)
        return
    assert out.iloc[:-1].equals(register)
    row = out.iloc[-1]
    assert (row["assumption"], row["kind"]) == ("force_of_infection_time_grid", "model resolution")
    assert f"{used}-month grid" in row["label"]
    assert f"up to {used / 2:g} months" in row["where_it_enters"]
    assert ("exact times" if configured == 0 else f"{configured}-month grid") in row["serology"]
    assert "max_cells" in row["source"]


def test_workbook_read_me_warns_only_when_an_input_is_simulated():
    from disease_risk.risk.workbook import read_me

    assert "WARNING" not in read_me("DRA", [])["item"].tolist()
    warned = read_me("DRA", ["config/samples/SIMULATED_x.csv"])
    assert warned["item"].tolist()[:2] == ["title", "WARNING"]


def test_workbook_never_holds_a_formula(tmp_path):
    """Text that looks like a formula (from a config or a sheet) is written as text (#18)."""
    import openpyxl

    from disease_risk.risk.stage import write_workbook

    table = pd.DataFrame({"hazard": ["=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)"],
                          "p": [0.5, 0.25, 0.125]})
    path = tmp_path / "dra.xlsx"
    write_workbook({"hazards": table}, path)
    sheet = openpyxl.load_workbook(path)["hazards"]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [sheet.cell(r, 1).value for r in (2, 3, 4)] == table["hazard"].tolist()


def test_loss_chances_count_replicates_at_or_above_each_consequence_level():
    """P(lose >= k): k = ceil(share x population), at least 1; exact counts on a hand table."""
    from disease_risk.risk.losses import animals_at, loss_chances

    assert animals_at(0.005, 120) == 1 and animals_at(0.02, 120) == 3
    assert animals_at(0.1, 120) == 12 and animals_at(0.1, 10) == 1 and animals_at(0.2, 10) == 2
    deaths = np.array([0, 0, 1, 2, 3, 3, 5, 12, 13, 0])
    table = pd.DataFrame({"replicate": range(10), "parameter_set": np.arange(10) // 2,
                          "deaths_amur_leopard": deaths, "population_amur_leopard": 120})
    out = loss_chances({"baseline": table}, ["amur_leopard", "amur_tiger"],
                       {"low": 0.005, "moderate": 0.02, "high": 0.1}, 3.0)
    assert out["animals"].tolist() == [1, 3, 12]
    assert out["p_lose_at_least"].tolist() == [0.7, 0.5, 0.2]
    assert (out["p_lose_lo95"] <= out["p_lose_at_least"]).all()
    assert (out["p_lose_hi95"] >= out["p_lose_at_least"]).all()
    assert set(out["target_species"]) == {"amur_leopard"}  # no tiger columns: no rows


def test_option_cost_is_doses_times_cost_per_dose_and_per_death_averted(settings):
    from dataclasses import replace

    from disease_risk.risk.management import mean_cost

    reps = {s: synth.replicates(s) for s in synth.SCENARIOS}
    priced = replace(settings, dose_costs={"domestic_dog": 10.0, "amur_leopard": 2000.0},
                     currency="USD")
    table = build_risk_management(synth.transmission_summary(), priced, replicates=reps)
    for row in table.itertuples():
        species, doses = synth.DOSES.get(row.scenario, ("", 0))
        price = {"domestic_dog": 10.0, "amur_leopard": 2000.0}.get(species, 0.0)
        assert row.cost_mean == pytest.approx(doses * price)
        if row.change_deaths_mean < 0:
            assert row.cost_per_death_averted == pytest.approx(
                row.cost_mean / -row.change_deaths_mean)
        else:
            assert np.isnan(row.cost_per_death_averted)
    assert np.isnan(mean_cost(reps, "dog_vaccination_70", {}))  # no costs configured
    unpriced = {"amur_leopard": 2000.0}
    dog_option = next(s for s, (sp, _) in synth.DOSES.items() if sp == "domestic_dog")
    assert np.isnan(mean_cost(reps, dog_option, unpriced))  # a vaccinated species lacks a cost


def test_consequence_word_agrees_with_the_chance_of_losing_its_animals():
    """The consequence word of the deaths' upper count (the summary's ``deaths_hi95``) is the
    highest word whose animals are lost with a chance above 2.5% in the loss table: checked on
    random death counts and population sizes, boundaries included."""
    from disease_risk.risk.losses import loss_chances
    from disease_risk.risk.scales import consequence_word
    from disease_risk.transmission.summary import upper_count

    thresholds = {"low": 0.005, "moderate": 0.02, "high": 0.1}
    rng = np.random.default_rng(4)
    for case in range(300):
        n, population = int(rng.integers(20, 400)), int(rng.integers(5, 200))
        deaths = rng.poisson(rng.uniform(0, 0.08) * population, n)
        if case % 3 == 0:  # exactly 2.5% of runs at one count: the boundary
            n = 40
            deaths = np.r_[np.zeros(39, int), [int(rng.integers(1, 20))]]
        table = pd.DataFrame({"deaths_amur_leopard": deaths,
                              "population_amur_leopard": population})
        chances = loss_chances({"s": table}, ["amur_leopard"], thresholds, 3.0)
        above = chances[chances["p_lose_at_least"] > 0.025]["consequence"].tolist()
        expected = above[-1] if above else "negligible"
        word = consequence_word(upper_count(deaths)[0] / population, thresholds)
        assert word == expected, (case, population, sorted(deaths)[-3:])
