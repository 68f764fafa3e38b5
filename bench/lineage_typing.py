"""Benchmark: CDV lineage typing on the REAL GenBank H panel, both error kinds.

Runs leave-one-out (each of the 33 genes typed against the other 32: a held lineage lost to
``unassigned`` or called wrong is an error), leave-one-lineage-out (each gene typed against the
panel without its lineage: anything but ``unassigned`` is a *forced* call) and
leave-one-sublineage-out, full length and in 600-nt windows (nt 1-600, 601-1200, 1225-1824),
with the settings in ``config/config.yaml`` (or the defaults). ``--grid`` also re-decides the
runs for a grid of ``spread_factor`` x ``clear_margin`` (the calibration of those two values)
and prints where both targets (>= 95% held right, >= 80% missing unassigned) are met, and, per
window, the best pair when calibrated on that window alone. It also prints how many calls carry
the region flag ``new_lineage_not_excluded``, the runs if those calls were ``unassigned``, and the
fixed differences (separating sites) between every two lineages per window.

The panel is read from ``../shared/data/cdv_h_references/`` beside the repository.

Usage: .venv/bin/python bench/lineage_typing.py [--grid] [--panel DIR] [--config config/config.yaml]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from disease_risk.sequences.calibration import (
    MIN_HELD_CORRECT,
    MIN_MISSING_UNASSIGNED,
    WINDOWS,
    lineage_grid,
    make_cases,
    run_cases,
    separating_sites,
    sublineage_grid,
    sublineage_summary,
    summarise_runs,
    window_feasibility,
)
from disease_risk.sequences.lineage_spread import UNASSIGNED
from disease_risk.sequences.lineage_typing import TypingSettings
from disease_risk.sequences.panel import read_reference_panel

REPO = Path(__file__).resolve().parents[1]
PANEL_DIR = REPO.parent / "shared" / "data" / "cdv_h_references"


def markdown(table: pd.DataFrame) -> str:
    """A data frame as a GitHub table (floats to 3 decimals)."""
    shown = table.map(lambda v: f"{v:.3f}" if isinstance(v, float) else str(v).replace("|", "\\|"))
    lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in shown.to_numpy().tolist()]
    return "\n".join(lines)


def recalled(runs: pd.DataFrame, called: pd.Series) -> pd.DataFrame:
    """The leave-one-out and leave-one-lineage-out runs with other lineage calls and their
    outcomes (no flags: the calls are not the typing's)."""
    out = runs.assign(called=called, not_excluded=False)
    held_outcome = np.select(
        [out["called"] == out["lineage"], out["called"] == UNASSIGNED], ["correct", "lost"], "wrong"
    )
    missing_outcome = np.where(out["called"] == UNASSIGNED, "unassigned", "forced")
    out["outcome"] = np.where(out["scheme"] != "leave_one_out", missing_outcome, held_outcome)
    return out.loc[out["scheme"] != "leave_one_sublineage_out"]


def single_threshold_peer(runs: pd.DataFrame, max_divergence: float = 0.06) -> pd.DataFrame:
    """The same runs under the rule before issue 16: the nearest reference's lineage whenever
    it is within one global ``max_divergence`` (0.06), else ``unassigned``."""
    inside = (1.0 - runs["identity"]) <= max_divergence
    return recalled(runs, runs["nearest_lineage"].where(inside, UNASSIGNED))


def flags_as_unassigned(runs: pd.DataFrame) -> pd.DataFrame:
    """The same runs if every call flagged ``new_lineage_not_excluded`` were ``unassigned``:
    what the flag would cost held lineages as a rule instead of a warning."""
    return recalled(runs, runs["called"].where(~runs["not_excluded"], UNASSIGNED))


def grid_report(runs: pd.DataFrame, evidence: list, settings: TypingSettings) -> str:
    """The calibration grids: where both lineage targets hold, and the sublineage factor."""
    factors = np.round(np.arange(0.90, 1.31, 0.01), 2)
    margins = np.round(np.arange(0.50, 0.81, 0.01), 2)
    grid = lineage_grid(runs, evidence, factors, margins)
    held = grid[["held_correct_full", "held_correct_windows"]].min(axis=1)
    missing = grid[["missing_unassigned_full", "missing_unassigned_windows"]].min(axis=1)
    met = grid.loc[(held >= MIN_HELD_CORRECT) & (missing >= MIN_MISSING_UNASSIGNED)]
    lines = [f"lineage grid: {len(grid)} (spread_factor, clear_margin) pairs, {len(met)} meet both"]
    if len(met):
        span = met.groupby("spread_factor")["clear_margin"].agg(["min", "max", "size"])
        lines.append(markdown(span.reset_index()))
    sub_factors = np.round(np.arange(0.8, 1.61, 0.1), 2)
    lines.append(markdown(sublineage_grid(runs, evidence, settings.spread, sub_factors)))
    wide_factors = np.round(np.arange(0.50, 2.01, 0.05), 2)
    wide_margins = np.round(np.arange(0.00, 0.96, 0.05), 2)
    lines.append(
        "per window, calibrated on that window alone (optimistic): spread_factor 0.50-2.00 x "
        "clear_margin 0.00-0.95, step 0.05; the best pair and how many pairs meet both targets"
    )
    lines.append(markdown(window_feasibility(runs, evidence, wide_factors, wide_margins)))
    return "\n\n".join(lines)


def separating_report(panel) -> str:
    """Fixed differences between every two lineages per window: the sites that can tell them
    apart (few sites: the window cannot, whatever the rule)."""
    lineages = sorted(set(panel.labels("lineage")))
    rows = []
    for i, first in enumerate(lineages):
        for second in lineages[i + 1 :]:
            counts = {
                w: separating_sites(panel, first, second, span) for w, span in WINDOWS.items()
            }
            rows.append({"lineages": f"{first}/{second}", **counts})
    return markdown(pd.DataFrame(rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", type=Path, default=PANEL_DIR)
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--grid", action="store_true", help="print the calibration grids")
    args = parser.parse_args(argv)
    section = yaml.safe_load(args.config.read_text())["sequences"]
    settings = TypingSettings.from_config(section)
    panel = read_reference_panel(args.panel / "references.fasta", args.panel / "references.tsv")
    started = time.perf_counter()
    runs, evidence = run_cases(make_cases(panel), settings)
    seconds = time.perf_counter() - started
    spread = settings.spread
    print(f"{len(panel.ids)} references; {spread}; max_divergence {settings.max_divergence}; "
          f"{len(runs)} typings in {seconds:.0f} s\n")  # fmt: skip
    print(markdown(summarise_runs(runs)), end="\n\n")
    print("peer: one global max_divergence 0.06 (the rule before issue 16), same runs\n")
    print(markdown(summarise_runs(single_threshold_peer(runs))), end="\n\n")
    print("if flagged calls (new_lineage_not_excluded) were unassigned, same runs\n")
    print(markdown(summarise_runs(flags_as_unassigned(runs))), end="\n\n")
    print(markdown(sublineage_summary(runs)), end="\n\n")
    missed = runs.loc[runs["outcome"].isin(["lost", "wrong", "forced"])]
    columns = ["scheme", "window", "seq_id", "called", "sublineage_called", "call_basis",
               "lineage_distance", "spread_limit", "margin_ratio", "not_excluded"]  # fmt: skip
    print(markdown(missed[columns].sort_values(["scheme", "window"])), end="\n\n")
    print("fixed differences (separating sites) between lineages, whole panel\n")
    print(separating_report(panel), end="\n\n")
    if args.grid:
        print(grid_report(runs, evidence, settings))


if __name__ == "__main__":
    main()
