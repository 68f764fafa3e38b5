"""DRA words of hazards other than CDV from their serology (issue 15): release from the source
species' and exposure from the target's posterior median true seroprevalence, on the CDV
likelihood thresholds; judgement, marked, where there is no serology; the answer follows the
data; the proxy is in the assumptions register."""

from __future__ import annotations

import dra_synthetic as synth
import pandas as pd
import pytest

from disease_risk.risk.estimation import build_risk_estimation
from disease_risk.risk.evidence import latest_foi, species_prevalence
from disease_risk.risk.hazards import build_hazards
from disease_risk.risk.scales import RiskSettings
from disease_risk.risk.serology_words import (
    JUDGEMENT_NO_SEROLOGY,
    PROXY_ASSUMPTION,
    proxy_assumption,
)
from disease_risk.tables import ASSUMPTION_REGISTER_COLUMNS


@pytest.fixture(scope="module")
def settings() -> RiskSettings:
    return RiskSettings.from_config(synth.risk_config())


def estimation(settings: RiskSettings, serology: pd.DataFrame | None) -> pd.DataFrame:
    return build_risk_estimation(
        hazards=synth.hazards(), settings=settings,
        transmission=synth.transmission_summary(),
        replicates={s: synth.replicates(s) for s in synth.SCENARIOS},
        prevalence=species_prevalence(synth.prevalence_summary()),
        foi=latest_foi(synth.force_of_infection()), diagnostics=synth.diagnostics(),
        network_summary=synth.network_summary(), hazard_serology=serology,
    )


def toxo_row(table: pd.DataFrame, target: str) -> pd.Series:
    rows = table[(table["hazard"] == "toxoplasma") & (table["target_species"] == target)
                 & (table["pathway"] == "other_felids")]
    assert len(rows) == 1
    return rows.iloc[0]


def test_release_and_exposure_words_come_from_serology(settings):
    """Leopard target, other felids pathway: release from the most-infected other felid with
    serology (tigers 13/40: median 0.325 -> moderate), exposure has no leopard serology and
    stays the team's word, marked."""
    row = toxo_row(estimation(settings, synth.hazard_serology()), "amur_leopard")
    assert row["basis"] == "serology and judgement"
    assert row["serology_species"] == "amur_tiger"
    assert row["release_probability"] == pytest.approx(13 / 40)
    assert row["release_likelihood"] == "moderate"
    assert "posterior median true seroprevalence of amur_tiger 0.33" in row["release_basis"]
    assert "95% CrI 0.23-0.43, n = 40" in row["release_basis"]
    assert row["source_n_tested"] == 40
    assert row["exposure_likelihood"] == "moderate"  # config/hazards.yaml's judgement
    assert row["exposure_basis"] == JUDGEMENT_NO_SEROLOGY
    assert pd.isna(row["exposure_probability"])
    assert row["consequence_basis"] == "judgement"
    assert "see the assumptions register" in row["method"]


def test_exposure_from_the_target_and_release_without_it(settings):
    """Tiger target: its own serology gives the exposure; the release comes from the other
    felids (leopard cats 3/30 = 0.1 -> moderate), never from the target itself."""
    row = toxo_row(estimation(settings, synth.hazard_serology()), "amur_tiger")
    assert row["serology_species"] == "leopard_cat"
    assert (row["release_probability"], row["release_likelihood"]) == (pytest.approx(0.1),
                                                                        "moderate")
    assert (row["exposure_probability"], row["exposure_likelihood"]) == (
        pytest.approx(13 / 40), "moderate")
    assert (row["exposure_lo95"], row["exposure_hi95"]) == (pytest.approx(0.225),
                                                            pytest.approx(0.425))
    assert row["target_n_tested"] == 40


def test_the_word_follows_the_data(settings):
    """More tiger positives in the input flip the tiger exposure word from low to high, and
    the combined likelihood and risk with it."""
    few = toxo_row(estimation(settings, synth.hazard_serology(tiger_toxo_positives=2)),
                   "amur_tiger")
    many = toxo_row(estimation(settings, synth.hazard_serology(tiger_toxo_positives=30)),
                    "amur_tiger")
    assert (few["exposure_likelihood"], many["exposure_likelihood"]) == ("low", "high")
    assert few["likelihood"] != many["likelihood"]


def test_without_serology_every_word_is_judgement(settings):
    """No serology table, or none for the hazard (FPV has no usable rows): the hazard list's
    words, every one marked as judgement, basis qualitative."""
    for serology in (None, synth.hazard_serology()):
        table = estimation(settings, serology)
        fpv = table[table["hazard"] == "fpv"]
        assert len(fpv) and set(fpv["basis"]) == {"qualitative"}
        assert set(fpv["release_basis"]) == set(fpv["exposure_basis"]) == {JUDGEMENT_NO_SEROLOGY}
        assert fpv["release_probability"].isna().all()
        assert "no serology" in fpv["method"].iloc[0]
    cdv = estimation(settings, synth.hazard_serology()).query("hazard == 'cdv'")
    assert set(cdv["basis"]) == {"quantified"}
    assert "prey" not in set(cdv["pathway"])  # the prey pathway is not assessed for CDV


def test_hazards_table_says_which_hazards_use_serology():
    table = build_hazards(synth.hazards(), synth.hazard_serology()).set_index("hazard")
    assert table.loc["toxoplasma", "assessment"].startswith(
        "release and exposure from serology where it exists (amur_tiger n = 40, leopard_cat "
        "n = 30)")
    assert table.loc["fpv", "assessment"] == "qualitative"
    assert table.loc["cdv", "assessment"] == "quantified by this run"


def test_proxy_is_in_the_assumptions_register():
    register = pd.DataFrame(columns=[*ASSUMPTION_REGISTER_COLUMNS, "moves_infection_x"])
    assert proxy_assumption([], register) is register
    out = proxy_assumption(["toxoplasma"], register).set_index("assumption")
    assert "seroprevalence stands for the likelihood" in out.loc[PROXY_ASSUMPTION, "label"]
    assert "toxoplasma" in out.loc[PROXY_ASSUMPTION, "where_it_enters"]
