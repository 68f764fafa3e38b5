"""The per-lineage spread rule: its pieces on made-up distances, and its two error kinds on the
REAL GenBank H panel in ../shared (leave-one-out, leave-one-lineage-out, full length and 600-nt
windows), with the settings shipped in config/config.yaml.

Figures measured 2026-12-05 (spread_factor 1.10, clear_margin 0.70, sublineage_spread_factor 1.0):
leave-one-out 32/33 right at full length (KM386683 lost: 3.6% from L1, 3.8% from L3), 95/99 in
windows (31, 32, 32 of 33 per window), never a wrong lineage; leave-one-lineage-out 28/33
unassigned at full length, 80/99 in windows (28, 29, 23 of 33). The forced calls are mostly the
four L2 genes landing in L3: on H, L2 nests inside L3 (L3 is paraphyletic on a neighbour-joining
tree of the panel), so no distance rule can tell an L2 gene without L2 references from a new L3
sublineage. Windows nt 1-600 and nt 1225-1824 cannot meet both targets with any factors (L1/L3
and L2/L3 have 2 separating sites there); forced calls there are flagged
``new_lineage_not_excluded`` instead (all 5 at full length, 6 of 10 in nt 1225-1824).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from disease_risk.sequences.calibration import (
    MIN_HELD_CORRECT,
    MIN_MISSING_UNASSIGNED,
    lineage_grid,
    make_cases,
    run_cases,
    separating_sites,
    sublineage_grid,
    sublineage_summary,
    summarise_runs,
    window_feasibility,
)
from disease_risk.sequences.lineage_spread import (
    UNASSIGNED,
    SpreadSettings,
    decide,
    gather,
    lineage_spreads,
    lineages_called_as,
    reference_distances,
    sublineage_spreads,
    with_fallback,
)
from disease_risk.sequences.lineage_typing import TypingSettings
from disease_risk.sequences.panel import read_reference_panel

KM386683 = "KM386683.1|L1|L1.2|CN|2013|SIBERIAN"
# One worker under `make test` (-n 2 --dist loadgroup): ``real_runs`` takes ~90 s, and a module
# fixture is made once per worker that runs one of its tests.
pytestmark = pytest.mark.xdist_group("lineage_spread_real_panel")


@pytest.fixture(scope="module")
def shipped_settings(repo_root) -> TypingSettings:
    config = yaml.safe_load((repo_root / "config" / "config.yaml").read_text())
    return TypingSettings.from_config(config["sequences"])


@pytest.fixture(scope="module")
def real_panel(shared_dir):
    folder = shared_dir / "data" / "cdv_h_references"
    return read_reference_panel(folder / "references.fasta", folder / "references.tsv")


@pytest.fixture(scope="module")
def real_runs(real_panel, shipped_settings):
    """Every held-out typing of the real panel (three schemes x four windows), computed once."""
    return run_cases(make_cases(real_panel), shipped_settings)


def _row(summary, scheme, window):
    return summary.set_index(["scheme", "window"]).loc[(scheme, window)]


# --- the rule on made-up numbers ---------------------------------------------------------------


def _evidence(distances, labels, spreads):
    return gather(np.array(distances), np.array(labels), spreads)


def test_call_within_spread_or_clear_margin_else_unassigned():
    spreads = {"A": 0.03, "B": 0.03}
    inside = decide(_evidence([0.02, 0.03, 0.05, 0.05], ["A", "A", "B", "B"], spreads), 1.0, 0.7)
    assert (inside.label, inside.basis) == ("A", "within_spread")
    assert inside.margin_ratio == pytest.approx(0.025 / 0.05)
    # beyond A's spread but half as far from A as from B: clearly A
    clear = decide(_evidence([0.04, 0.04, 0.09, 0.09], ["A", "A", "B", "B"], spreads), 1.0, 0.7)
    assert (clear.label, clear.basis) == ("A", "clear_margin")
    # beyond A's spread and nearly as far from B: a possible new lineage
    new = decide(_evidence([0.04, 0.045, 0.05, 0.05], ["A", "A", "B", "B"], spreads), 1.0, 0.7)
    assert (new.label, new.basis, new.nearest) == (UNASSIGNED, "outside_spread", "A")
    assert new.limit == pytest.approx(0.03)
    tied = decide(_evidence([0.01, 0.01], ["A", "B"], spreads), 1.0, 0.7)
    assert (tied.label, tied.basis) == (UNASSIGNED, "tied")


def test_spreads_are_sublineage_gaps_and_nearest_mate_distances():
    # lineage A: sublineages A.1 (refs 0, 1) and A.2 (ref 2); lineage B: one sublineage
    pair = np.array(
        [
            [0.00, 0.01, 0.04, 0.09],
            [0.01, 0.00, 0.03, 0.09],
            [0.04, 0.03, 0.00, 0.09],
            [0.09, 0.09, 0.09, 0.00],
        ]
    )
    lineage = np.array(["A", "A", "A", "B"])
    sub = np.array(["A.1", "A.1", "A.2", "B.1"])
    spreads = lineage_spreads(pair, lineage, sub)
    assert spreads["A"] == pytest.approx(0.03)  # A.2 joins A.1 at 3% (single linkage)
    assert np.isnan(spreads["B"])
    assert with_fallback(spreads, np.max)["B"] == pytest.approx(0.03)
    subs = sublineage_spreads(pair, sub)
    assert subs["A.1"] == pytest.approx(0.01) and np.isnan(subs["A.2"])


def test_region_check_names_lineages_whose_genes_would_get_the_call():
    # A: A.1 (refs 0, 1) and A.2 (ref 2), spread 3%; B (ref 3) 2% from A.1; C (refs 4, 5) far
    pair = np.full((6, 6), 0.10)
    np.fill_diagonal(pair, 0.0)
    for i, j, d in [(0, 1, 0.01), (0, 2, 0.04), (1, 2, 0.03), (0, 3, 0.02), (1, 3, 0.025),
                    (2, 3, 0.05), (4, 5, 0.01)]:  # fmt: skip
        pair[i, j] = pair[j, i] = d
    lineage = np.array(["A", "A", "A", "B", "C", "C"])
    sub = np.array(["A.1", "A.1", "A.2", "B.1", "C.1", "C.1"])
    settings = SpreadSettings(spread_factor=1.0, clear_margin=0.7)
    # B's gene, B left out, sits inside A's spread: a new lineage like B would be called A
    assert lineages_called_as(pair, lineage, sub, "A", settings) == ("B",)
    # C's genes, C left out, are as far from A as from B (tied): nothing is called A or C
    assert lineages_called_as(pair, lineage, sub, "C", settings) == ()
    assert lineages_called_as(pair, lineage, sub, "B", settings) == ("A",)


def test_reference_distances_use_only_the_given_columns():
    refs = np.zeros((2, 4, 4), dtype=bool)
    refs[0, :, 0] = True  # AAAA
    refs[1, :2, 0], refs[1, 2:, 1] = True, True  # AACC
    columns = np.array([True, True, False, False])
    assert reference_distances(refs, columns)[0, 1] == pytest.approx(0.0)
    assert reference_distances(refs, np.ones(4, dtype=bool))[0, 1] == pytest.approx(0.5)


# --- both error kinds on the real panel ---------------------------------------------------------


@pytest.mark.slow
def test_held_lineages_kept_and_missing_lineages_unassigned(real_runs):
    runs, _ = real_runs
    summary = summarise_runs(runs)
    for window in ("full", "600-nt windows"):
        held = _row(summary, "leave_one_out", window)
        missing = _row(summary, "leave_one_lineage_out", window)
        assert held["rate"] >= MIN_HELD_CORRECT, (window, held.to_dict())
        assert missing["rate"] >= MIN_MISSING_UNASSIGNED, (window, missing.to_dict())
        assert held["wrong"] == 0, "a held gene is lost to unassigned, never called wrong"
    # single windows: both targets in nt 601-1200; one each in the two windows that cannot
    # (see test_windows_that_cannot_meet_both_targets_say_so)
    assert _row(summary, "leave_one_out", "nt 601-1200")["met"]
    assert _row(summary, "leave_one_lineage_out", "nt 601-1200")["met"]
    assert _row(summary, "leave_one_lineage_out", "nt 1-600")["met"]
    assert _row(summary, "leave_one_out", "nt 1225-1824")["met"]
    assert _row(summary, "leave_one_out", "full")["genes"] == 33
    assert _row(summary, "leave_one_lineage_out", "600-nt windows")["genes"] == 99


@pytest.mark.slow
def test_the_errors_are_the_known_hard_cases(real_runs):
    runs, _ = real_runs
    full = runs.loc[runs["window"] == "full"]
    lost = full.loc[full["outcome"] == "lost", "seq_id"].tolist()
    assert lost == [KM386683]
    forced = full.loc[full["outcome"] == "forced"]
    forced = forced.loc[forced["scheme"] == "leave_one_lineage_out"]
    assert set(forced["lineage"]) <= {"L1", "L2"}
    assert (forced.loc[forced["lineage"] == "L2", "called"] == "L3").sum() == 4
    # L4-L7 genes without their lineage are never forced, full length
    far = full.loc[(full["scheme"] == "leave_one_lineage_out") & full["lineage"].isin(
        ["L4", "L5", "L6", "L7"])]  # fmt: skip
    assert (far["called"] == UNASSIGNED).all()
    assert set(runs.loc[runs["outcome"] == "lost", "call_basis"]) == {"outside_spread"}


@pytest.mark.slow
def test_sublineage_calls_right_or_unassigned(real_runs):
    runs, _ = real_runs
    table = sublineage_summary(runs).set_index(["window", "sublineage_represented"])
    represented = table.loc[("full", True)]
    assert represented.get("wrong", 0) == 0, "a represented sublineage is never called wrong"
    assert represented["correct"] >= 15
    summary = summarise_runs(runs)
    for window in ("full", "600-nt windows"):
        missing = _row(summary, "leave_one_sublineage_out", window)
        assert missing["rate"] >= MIN_MISSING_UNASSIGNED, (window, missing.to_dict())


@pytest.mark.slow
def test_shipped_factors_sit_inside_the_calibrated_region(real_runs, shipped_settings):
    runs, evidence = real_runs
    factor, margin = shipped_settings.spread_factor, shipped_settings.clear_margin
    grid = lineage_grid(runs, evidence, [factor - 0.01, factor, factor + 0.01],
                        [margin - 0.02, margin, margin + 0.02])  # fmt: skip
    held = grid[["held_correct_full", "held_correct_windows"]].min(axis=1)
    missing = grid[["missing_unassigned_full", "missing_unassigned_windows"]].min(axis=1)
    assert (held >= MIN_HELD_CORRECT).all() and (missing >= MIN_MISSING_UNASSIGNED).all(), grid
    sub = sublineage_grid(runs, evidence, shipped_settings.spread, [1.0])
    assert sub.at[0, "held_wrong"] == 0 and sub.at[0, "missing_unassigned"] >= 0.8


@pytest.mark.slow
def test_windows_that_cannot_meet_both_targets_say_so(real_runs, real_panel):
    runs, evidence = real_runs
    factors, margins = np.round(np.arange(0.5, 2.01, 0.1), 2), np.round(np.arange(0, 0.91, 0.1), 2)
    best = window_feasibility(runs, evidence, factors, margins).set_index("window")
    # calibrated on the window itself (optimistic), still no factors meet both targets there
    assert best.at["nt 1-600", "pairs_meeting_both"] == 0
    assert best.at["nt 1225-1824", "pairs_meeting_both"] == 0
    assert best.at["full", "pairs_meeting_both"] >= 1
    assert best.at["nt 601-1200", "pairs_meeting_both"] >= 1
    # why: the lineages that overlap there share all but 2 sites
    assert separating_sites(real_panel, "L1", "L3", (0, 600)) <= 2
    assert separating_sites(real_panel, "L2", "L3", (1224, 1824)) <= 2
    assert separating_sites(real_panel, "L2", "L3", None) >= 10
    # and the typing says so on forced calls: all of them at full length, most in nt 1225-1824
    forced = runs.loc[(runs["scheme"] == "leave_one_lineage_out") & (runs["outcome"] == "forced")]
    assert forced.loc[forced["window"] == "full", "not_excluded"].all()
    assert forced.loc[forced["window"] == "nt 1225-1824", "not_excluded"].mean() >= 0.5
    held = runs.loc[runs["scheme"] == "leave_one_out"]
    assert not held.loc[held["lineage"].isin(["L5", "L6", "L7"]), "not_excluded"].any()
