"""Pathway likelihoods from the infection chains (issue 13): they add up to the target's chance
of any infection, a single pathway gets all of it, the answer follows the chains, and the
overall risk is rated on the total, never lower than a piece."""

from __future__ import annotations

import dra_synthetic as synth
import pandas as pd
import pytest
from scipy.stats import beta

from disease_risk.risk.attribution import (
    ALL_PATHWAYS,
    OUTSIDE_LANDSCAPE,
    OWN_SPECIES,
    ChainCountsError,
    attribute_infections,
    species_pathways,
)
from disease_risk.risk.conclusions import build_conclusions
from disease_risk.risk.estimation import build_risk_estimation
from disease_risk.risk.evidence import MissingColumnsError, latest_foi, species_prevalence
from disease_risk.risk.management import build_risk_management
from disease_risk.risk.scales import RiskConfigError, RiskSettings
from disease_risk.tables import INDEX_SOURCE, OUTSIDE_SOURCE, origin_column, source_column

LEOPARD = "amur_leopard"
SPECIES = ["amur_leopard", "amur_tiger", "domestic_dog", "leopard_cat", "raccoon_dog", "red_fox"]


def chains(direct: list[dict[str, int]], started: list[dict[str, int]] | None = None,
           target: str = LEOPARD) -> pd.DataFrame:
    """A replicate table for ``target``: per replicate its infections by direct source
    (``direct``) and by chain origin (``started``, default: all in raccoon-dog chains)."""
    rows = []
    for r, sources in enumerate(direct):
        n = sum(sources.values())
        origins = started[r] if started else ({"raccoon_dog": n} if n else {})
        row = {"replicate": r, f"infected_{target}": n}
        for s in (*SPECIES, OUTSIDE_SOURCE, INDEX_SOURCE):
            row[source_column(target, s)] = sources.get(s, 0)
        for s in SPECIES:
            row[origin_column(target, s)] = origins.get(s, 0)
        rows.append(row)
    return pd.DataFrame(rows)


def config(**changes) -> dict:
    cfg = synth.risk_config()
    cfg["targets"] = [LEOPARD]
    cfg.update(changes)
    return cfg


def source_pathways(cfg: dict) -> dict:
    return {n: s for n, s in cfg["pathways"].items() if "scenario" not in s}


def estimation(baseline: pd.DataFrame, cfg: dict | None = None) -> pd.DataFrame:
    """Risk estimation of the leopard on the synthetic run with ``baseline`` as the baseline
    scenario's replicates."""
    reps = {s: synth.replicates(s) for s in synth.SCENARIOS}
    reps["baseline"] = baseline
    table = build_risk_estimation(
        hazards=[h for h in synth.hazards() if h["quantified"]],
        settings=RiskSettings.from_config(cfg or config()),
        transmission=synth.transmission_summary(), replicates=reps,
        prevalence=species_prevalence(synth.prevalence_summary()),
        foi=latest_foi(synth.force_of_infection()), diagnostics=synth.diagnostics(),
        network_summary=synth.network_summary(),
    )
    return table[table["target_species"] == LEOPARD].set_index("pathway")


HAND_MADE = [
    {"domestic_dog": 1, "raccoon_dog": 3},  # dogs 1/4, mesocarnivores 3/4
    {},  # no leopard infected
    {OUTSIDE_SOURCE: 1, "amur_leopard": 1},  # outside 1/2, own species 1/2
    {"red_fox": 5},  # mesocarnivores
]


def test_hand_made_chains_give_exact_pathway_likelihoods():
    table = estimation(chains(HAND_MADE))
    expected = {"dogs": 0.25 / 4, "mesocarnivores": 1.75 / 4, "other_felids": 0.0,
                OUTSIDE_LANDSCAPE: 0.5 / 4, OWN_SPECIES: 0.5 / 4, ALL_PATHWAYS: 3 / 4}
    assert table.index.tolist() == list(expected)  # configured, then chain pathways, total
    assert table.loc[list(expected), "infection_probability"].to_dict() == expected
    pieces = table.drop(index=ALL_PATHWAYS)["infection_probability"]
    assert pieces.sum() == 3 / 4 == table.loc[ALL_PATHWAYS, "target_p_any_infection"]
    assert table.loc["mesocarnivores", "infection_share"] == 1.75 / 3
    k = 1.75  # summed shares of 4 replicates: the Jeffreys interval's count
    assert table.loc["mesocarnivores", "infection_lo95"] == pytest.approx(
        beta.ppf(0.025, k + 0.5, 4 - k + 0.5))
    assert table.loc["other_felids", "infection_hi95"] == pytest.approx(
        beta.ppf(0.975, 0.5, 4.5))  # nothing seen: 0, with its Monte Carlo upper bound
    # by origin every chain started in raccoon dogs: the mesocarnivores carry all of it
    assert table.loc["mesocarnivores", "infection_by_origin"] == 3 / 4
    assert table.loc[["dogs", OUTSIDE_LANDSCAPE, OWN_SPECIES], "infection_by_origin"].eq(0).all()
    assert "risk.attribution: source" in table.loc["dogs", "method"]
    outside = table.loc[OUTSIDE_LANDSCAPE]  # CDV is always present beyond the landscape
    assert (outside["release_probability"], outside["source_species"]) == (1.0, "outside")
    assert outside["exposure_probability"] == 0.125
    assert outside["serology_species"] == LEOPARD  # the target's own force of infection
    quantified_words = table[["release_likelihood", "exposure_likelihood", "likelihood", "risk"]]
    assert not quantified_words.isin(["", "not estimated"]).any().any()


def test_pathways_add_up_to_the_total_both_ways():
    """Counts from every source, spillover and index cases included, over 60 replicates."""
    direct, started = [], []
    for r in range(60):
        sources = {s: (r * (i + 3)) % 5 for i, s in enumerate(
            [*SPECIES, OUTSIDE_SOURCE, INDEX_SOURCE])}
        sources = {} if r % 7 == 0 else sources
        n = sum(sources.values())
        direct.append(sources)
        started.append({"domestic_dog": n // 3, "red_fox": n - n // 3})
    table = chains(direct, started)
    infected = (table[f"infected_{LEOPARD}"] > 0).mean()
    for attribution in ("source", "origin"):
        rows = estimation(table, config(attribution=attribution))
        pieces = rows.drop(index=ALL_PATHWAYS)
        assert pieces["infection_probability"].sum() == pytest.approx(infected, abs=1e-12)
        assert rows.loc[ALL_PATHWAYS, "infection_probability"] == infected
        for stem in ("infection_by_source", "infection_by_origin"):
            assert pieces[stem].sum() == pytest.approx(infected, abs=1e-12)
    split = attribute_infections(table, LEOPARD, SPECIES, source_pathways(config()), "t")
    assert set(split.by_source) == {"dogs", "mesocarnivores", "other_felids", OWN_SPECIES,
                                    OUTSIDE_LANDSCAPE, "index_cases"}


def test_a_single_pathway_gets_all_of_the_risk():
    """Only dogs infect leopards (in chains started by foxes, as in the food-chain network of
    test_infection_chains): 100% to dogs by source, 100% to mesocarnivores by origin."""
    direct = [{"domestic_dog": n} if n else {} for n in (3, 0, 1, 7, 0, 2)]
    started = [{"red_fox": sum(d.values())} for d in direct]
    table = estimation(chains(direct, started))
    assert table.loc["dogs", "infection_probability"] == 4 / 6
    assert table.loc["dogs", "infection_share"] == 1.0
    others = table.drop(index=["dogs", ALL_PATHWAYS])
    assert others.index.tolist() == ["mesocarnivores", "other_felids"]
    assert (others["infection_probability"] == 0).all()
    assert table.loc["mesocarnivores", "infection_by_origin"] == 4 / 6
    assert table.loc["dogs", "infection_by_origin"] == 0


def test_simulated_food_chain_attributes_all_leopard_risk_to_its_one_pathway():
    """The simulator on the food-chain network of test_infection_chains (foxes -> dogs ->
    leopards, spillover only into foxes): dogs carry all of it by source, mesocarnivores (the
    foxes) all of it by origin."""
    from test_infection_chains import chain_settings, food_chain

    from disease_risk.transmission import scenarios

    reps = scenarios.run_scenario(food_chain(), chain_settings(), "baseline", None, seed=2)
    split = attribute_infections(reps, LEOPARD, ["amur_leopard", "domestic_dog", "red_fox"],
                                 source_pathways(config()), "simulated replicates")
    total = split.total.probability
    assert total > 0.5  # leopards are infected in most replicates
    assert split.total.probability == (reps[f"infected_{LEOPARD}"] > 0).mean()
    assert split.by_source["dogs"].probability == total
    assert split.by_origin["mesocarnivores"].probability == total
    assert all(v.probability == 0 for k, v in split.by_source.items() if k != "dogs")
    assert all(v.probability == 0 for k, v in split.by_origin.items() if k != "mesocarnivores")


def test_the_pathway_follows_the_chains():
    """Same leopard infections; when dogs infect them the dog pathway carries the risk, when
    raccoon dogs do it moves to the mesocarnivores; the overall risk (the total) stays."""
    sizes = [2, 0, 4, 1, 0, 3, 5, 0]

    def run(source: str, cfg: dict | None = None, started: str = "raccoon_dog"):
        direct = [{source: n} if n else {} for n in sizes]
        origins = [{started: n} if n else {} for n in sizes]
        cfg = cfg or config()
        est = estimation(chains(direct, origins), cfg)
        est = est.reset_index()
        management = build_risk_management(
            synth.transmission_summary(), RiskSettings.from_config(cfg),
            replicates={s: synth.replicates(s) for s in synth.SCENARIOS},
        )
        conclusions = build_conclusions(
            est, management, synth.diagnostics(), RiskSettings.from_config(cfg))
        return est.set_index("pathway"), conclusions.iloc[0]

    by_dogs, dogs_verdict = run("domestic_dog")
    by_meso, meso_verdict = run("raccoon_dog")
    assert by_dogs.loc["dogs", "infection_probability"] == 5 / 8
    assert by_dogs.loc["mesocarnivores", "infection_probability"] == 0
    assert by_meso.loc["dogs", "infection_probability"] == 0
    assert by_meso.loc["mesocarnivores", "infection_probability"] == 5 / 8
    assert (dogs_verdict["main_pathway"], meso_verdict["main_pathway"]) == (
        "dogs", "mesocarnivores")
    assert dogs_verdict["overall_risk"] == meso_verdict["overall_risk"]
    # dogs infected a raccoon dog that infected a leopard: a dog-origin chain
    _, source_verdict = run("raccoon_dog", config(attribution="source"), started="domestic_dog")
    origin_rows, origin_verdict = run(
        "raccoon_dog", config(attribution="origin"), started="domestic_dog")
    assert source_verdict["main_pathway"] == "mesocarnivores"
    assert origin_verdict["main_pathway"] == "dogs"
    assert origin_rows.loc["dogs", "infection_probability"] == 5 / 8
    assert "risk.attribution: origin" in origin_rows.loc["dogs", "method"]


def test_overall_risk_is_rated_on_the_total_never_below_a_piece():
    """Four pathways of 4% each: every piece is 'low' likelihood, the 16% total 'moderate'."""
    direct = [{s: 1} for s in ("domestic_dog", "raccoon_dog", "amur_tiger", OUTSIDE_SOURCE)]
    table = chains(direct + [{}] * 21)
    est = estimation(table).reset_index()
    settings = RiskSettings.from_config(config())
    pieces = est[est["pathway"] != ALL_PATHWAYS]
    assert pieces["infection_probability"].tolist() == [0.04] * 4
    assert set(pieces["likelihood"]) == {"low"} and set(pieces["risk"]) == {"low"}
    total = est[est["pathway"] == ALL_PATHWAYS].iloc[0]
    assert (total["infection_probability"], total["likelihood"]) == (0.16, "moderate")
    assert total["risk"] == settings.matrix.lookup("moderate", total["consequence"]) == "moderate"
    management = build_risk_management(synth.transmission_summary(), settings)
    verdict = build_conclusions(est, management, synth.diagnostics(), settings).iloc[0]
    assert (verdict["overall_risk"], verdict["overall_likelihood"]) == ("moderate", "moderate")
    assert verdict["overall_pathway"] == ALL_PATHWAYS
    assert verdict["main_pathway_probability"] == 0.04


def test_conclusions_agree_with_the_management_baseline():
    """The total of the chains is the management table's baseline chance of infection, so the
    overall risk equals the baseline risk there (synthetic run: summary = replicates)."""
    cfg = synth.risk_config()
    settings = RiskSettings.from_config(cfg)
    reps = {s: synth.replicates(s) for s in synth.SCENARIOS}
    est = build_risk_estimation(
        hazards=synth.hazards(), settings=settings, transmission=synth.transmission_summary(),
        replicates=reps, prevalence=species_prevalence(synth.prevalence_summary()),
        foi=latest_foi(synth.force_of_infection()), diagnostics=synth.diagnostics(),
        network_summary=synth.network_summary(),
    )
    management = build_risk_management(synth.transmission_summary(), settings, replicates=reps,
                                       network_summary=synth.network_summary())
    verdicts = build_conclusions(est, management, synth.diagnostics(), settings)
    for verdict in verdicts.itertuples():
        base = management[(management["scenario"] == "baseline")
                          & (management["target_species"] == verdict.target_species)].iloc[0]
        total = est[(est["target_species"] == verdict.target_species)
                    & (est["pathway"] == ALL_PATHWAYS)].iloc[0]
        assert total["infection_probability"] == base["p_any_infection"]
        assert (verdict.overall_risk, verdict.overall_likelihood, verdict.overall_consequence) \
            == (base["risk"], base["likelihood"], base["consequence"])


def test_inconsistent_or_missing_chains_and_bad_config_fail_clearly():
    bad = chains(HAND_MADE)
    bad.loc[3, f"infected_{LEOPARD}"] = 0  # chains say infected, the count says not
    with pytest.raises(ChainCountsError, match="disagree in 1 replicate"):
        estimation(bad)
    missing = chains(HAND_MADE).drop(columns=source_column(LEOPARD, OUTSIDE_SOURCE))
    with pytest.raises(MissingColumnsError,
                       match=r"replicates of 'baseline': missing column\(s\) "
                             r"infections_amur_leopard_from_outside"):
        estimation(missing)
    with pytest.raises(RiskConfigError, match=r"risk\.attribution"):
        RiskSettings.from_config(config(attribution="infector"))
    twice = source_pathways(config())
    twice["more_dogs"] = {"sources": ["domestic_dog"]}
    with pytest.raises(RiskConfigError, match="'domestic_dog' is a source of both"):
        species_pathways(LEOPARD, twice, SPECIES)
    with pytest.raises(RiskConfigError, match="'outside_landscape' is the name"):
        species_pathways(LEOPARD, {OUTSIDE_LANDSCAPE: {"sources": ["red_fox"]}}, SPECIES)
