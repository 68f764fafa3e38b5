"""Leave-one-out and leave-one-lineage-out on a labelled panel: the typing's two error kinds.

- ``leave_one_out``: each reference is typed against the others; its lineage is in the panel, so
  the call should be that lineage (error: *lost* to ``unassigned``, or *wrong*).
- ``leave_one_lineage_out``: each reference is typed against the panel without its whole
  lineage; the call should be ``unassigned`` (error: *forced* onto another lineage).
- ``leave_one_sublineage_out``: the same for sublineages (the sublineage call should be
  ``unassigned``).

Each is run on full-length genes and on 600-nt windows (nt 1-600, 601-1200, 1225-1824). The
factors of :mod:`~disease_risk.sequences.lineage_spread` are calibrated on these runs by
:func:`lineage_grid` (``bench/lineage_typing.py`` prints the figures; the unit tests check them).
:func:`window_feasibility` re-calibrates on each window alone (optimistic) to show where no
factors can meet both targets, and :func:`separating_sites` counts the fixed differences between
two lineages that a window leaves to tell them apart. :func:`placement_supports` and
:func:`placement_grid` measure the tree-placement veto (:mod:`.placement`) on the same runs, per
window (:func:`window_rates`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from disease_risk.sequences.alignment import encode
from disease_risk.sequences.lineage_spread import (
    TIE,
    UNASSIGNED,
    QueryEvidence,
    SpreadSettings,
    call_groups,
    decide,
    query_evidence,
)
from disease_risk.sequences.lineage_typing import NOT_EXCLUDED_FLAG, TypingSettings, type_sequence
from disease_risk.sequences.panel import ReferencePanel
from disease_risk.sequences.placement import placement_support
from disease_risk.sequences.reading import SequenceRecord

WINDOWS: dict[str, tuple[int, int] | None] = {
    "full": None,
    "nt 1-600": (0, 600),
    "nt 601-1200": (600, 1200),
    "nt 1225-1824": (1224, 1824),
}
SCHEMES = ("leave_one_out", "leave_one_lineage_out", "leave_one_sublineage_out")
LINEAGE_SCHEMES = SCHEMES[:2]  # the two error kinds of the lineage call
HELD_OUT_LEVEL = {"leave_one_lineage_out": "lineage", "leave_one_sublineage_out": "sublineage"}
# issue 16, "done when": held-lineage genes right, missing-lineage genes unassigned
MIN_HELD_CORRECT = 0.95
MIN_MISSING_UNASSIGNED = 0.80


@dataclass(frozen=True)
class Case:
    """One held-out gene (or window of it) and the panel it is typed against."""

    scheme: str
    window: str
    seq_id: str
    lineage: str
    sublineage: str
    seq: str
    panel: ReferencePanel


def held_out_panels(panel: ReferencePanel, scheme: str) -> dict[str, ReferencePanel]:
    """For every reference, the panel it is typed against under ``scheme`` (shared per group)."""
    level = HELD_OUT_LEVEL.get(scheme)
    if level is None:
        return {ref_id: panel.without(ref_id) for ref_id in panel.ids}
    reduced: dict[str, ReferencePanel] = {}
    by_group = {}
    for ref_id in panel.ids:
        group = panel.label(ref_id, level)
        if group not in by_group:
            by_group[group] = panel.keep([k for k in panel.ids if panel.label(k, level) != group])
        reduced[ref_id] = by_group[group]
    return reduced


def make_cases(
    panel: ReferencePanel, schemes: Iterable[str] = SCHEMES, windows: Iterable[str] = WINDOWS
) -> list[Case]:
    """Every (scheme, window, reference) of the runs."""
    cases = []
    for scheme in schemes:
        panels = held_out_panels(panel, scheme)
        for window in windows:
            span = WINDOWS[window]
            for ref_id in panel.ids:
                seq = panel.sequences[ref_id]
                part = seq if span is None else seq[span[0] : span[1]]
                lineage, sub = panel.label(ref_id, "lineage"), panel.label(ref_id, "sublineage")
                cases.append(Case(scheme, window, ref_id, lineage, sub, part, panels[ref_id]))
    return cases


@dataclass(frozen=True)
class CaseEvidence:
    """A case's spread evidence and its panel's labels: enough to re-decide it."""

    evidence: QueryEvidence
    lineage: np.ndarray
    sublineage: np.ndarray
    projection: str = ""


def _outcome(case: Case, called: str, sub_called: str) -> str:
    """correct / lost / wrong (leave-one-out) or unassigned / forced (held-out groups)."""
    if case.scheme == "leave_one_sublineage_out":
        return "unassigned" if sub_called == UNASSIGNED else "forced"
    if case.scheme == "leave_one_lineage_out":
        return "unassigned" if called == UNASSIGNED else "forced"
    if called == case.lineage:
        return "correct"
    return "lost" if called == UNASSIGNED else "wrong"


def _sub_outcome(case: Case, represented: bool, called: str, sub_called: str) -> str:
    """Leave-one-out at sublineage level: right, unassigned or wrong (blank elsewhere)."""
    if case.scheme != "leave_one_out" or called != case.lineage:
        return ""
    if sub_called == UNASSIGNED:
        return "unassigned"
    return "correct" if sub_called == case.sublineage else "wrong"


def run_cases(
    cases: Sequence[Case], settings: TypingSettings
) -> tuple[pd.DataFrame, list[CaseEvidence]]:
    """Type every case at lineage level: one row per case, plus its spread evidence."""
    settings = replace(settings, call_level="lineage")
    rows, evidence = [], []
    for case in cases:
        record = SequenceRecord(case.seq_id, case.seq, "held_out", 1)
        row, projection = type_sequence(record, case.panel, settings)
        labels = case.panel.labels("lineage"), case.panel.labels("sublineage")
        evidence.append(
            CaseEvidence(
                query_evidence(projection, case.panel.encoded, *labels), *labels, projection
            )
        )
        represented = case.sublineage in set(labels[1])
        called, sub_called = row["lineage"], row["sublineage_call"]
        rows.append(
            {
                "scheme": case.scheme,
                "window": case.window,
                "seq_id": case.seq_id,
                "lineage": case.lineage,
                "sublineage": case.sublineage,
                "sublineage_represented": represented,
                "called": called,
                "sublineage_called": sub_called,
                "call_basis": row["call_basis"],
                "nearest_lineage": row["nearest_lineage"],
                "identity": row["identity"],
                "lineage_distance": row["lineage_distance"],
                "spread_limit": row["spread_limit"],
                "margin_ratio": row["margin_ratio"],
                "not_excluded": NOT_EXCLUDED_FLAG in row["qc_flags"],
                "outcome": _outcome(case, called, sub_called),
                "sublineage_outcome": _sub_outcome(case, represented, called, sub_called),
            }
        )
    return pd.DataFrame(rows), evidence


def summarise_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Counts per scheme and window (and all three windows pooled) with the two error rates;
    ``flagged``: calls (right, wrong or forced) flagged ``new_lineage_not_excluded``."""
    parts = [runs, runs.loc[runs["window"] != "full"].assign(window="600-nt windows")]
    pooled = pd.concat(parts, ignore_index=True)
    groups = pooled.groupby(["scheme", "window"], sort=False)
    table = groups["outcome"].value_counts().unstack(fill_value=0)
    table["flagged"] = groups["not_excluded"].sum()
    table = table.reset_index()
    for column in ("correct", "lost", "wrong", "unassigned", "forced"):
        if column not in table:
            table[column] = 0
    table["genes"] = table[["correct", "lost", "wrong", "unassigned", "forced"]].sum(axis=1)
    held = table["scheme"] == "leave_one_out"
    table["rate"] = np.where(
        held, table["correct"] / table["genes"], table["unassigned"] / table["genes"]
    )
    table["target"] = np.where(held, MIN_HELD_CORRECT, MIN_MISSING_UNASSIGNED)
    table["met"] = table["rate"] >= table["target"]
    columns = ["scheme", "window", "genes", "correct", "lost", "wrong", "unassigned", "forced"]
    return table[[*columns, "flagged", "rate", "target", "met"]]


def sublineage_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Leave-one-out genes whose lineage was called right, by whether the panel still holds
    their sublineage: sublineage right / unassigned / wrong."""
    held = runs.loc[runs["sublineage_outcome"] != ""].assign(
        window=lambda t: np.where(t["window"] == "full", "full", "600-nt windows")
    )
    table = held.groupby(["window", "sublineage_represented"], sort=False)["sublineage_outcome"]
    return table.value_counts().unstack(fill_value=0).reset_index()


def lineage_grid(
    runs: pd.DataFrame,
    evidence: Sequence[CaseEvidence],
    factors: Iterable[float],
    margins: Iterable[float],
) -> pd.DataFrame:
    """The two error rates for every (spread_factor, clear_margin): full length and windows.

    Re-decides the leave-one-out and leave-one-lineage-out cases from their cached evidence, so
    no alignment is repeated; the maximum divergence and the untyped checks are not re-applied.
    """
    rows = [
        {"spread_factor": factor, "clear_margin": margin, **_rates(chosen, called)}
        for factor, margin, chosen, called in _redecided(runs, evidence, factors, margins)
    ]
    return pd.DataFrame(rows)


def _redecided(
    runs: pd.DataFrame,
    evidence: Sequence[CaseEvidence],
    factors: Iterable[float],
    margins: Iterable[float],
) -> Iterable[tuple[float, float, pd.DataFrame, np.ndarray]]:
    """Per (spread_factor, clear_margin): the leave-one-out and leave-one-lineage-out rows and
    their lineage calls re-decided from the cached evidence."""
    keep = runs["scheme"].isin(LINEAGE_SCHEMES).to_numpy()
    chosen = runs.loc[keep].reset_index(drop=True)
    kept = [e.evidence.lineage for e, k in zip(evidence, keep, strict=True) if k]
    margins = list(margins)
    for factor in factors:
        for margin in margins:
            yield factor, margin, chosen, np.array([decide(e, factor, margin).label for e in kept])


def window_feasibility(
    runs: pd.DataFrame,
    evidence: Sequence[CaseEvidence],
    factors: Iterable[float],
    margins: Iterable[float],
) -> pd.DataFrame:
    """Per window, the (spread_factor, clear_margin) pairs that meet both targets in that window
    alone, and the best pair (largest smaller slack over the two targets). Calibrated on the
    window it is judged on, so optimistic: a window where no pair meets both cannot with this
    rule and panel, whatever the factors."""
    rows = []
    for factor, margin, chosen, called in _redecided(runs, evidence, factors, margins):
        rates = window_rates(chosen, called)
        for window in WINDOWS:
            rows.append({
                "window": window, "spread_factor": factor, "clear_margin": margin,
                "held_correct": rates[f"held {window}"],
                "missing_unassigned": rates[f"missing {window}"],
            })  # fmt: skip
    grid = pd.DataFrame(rows)
    grid["slack"] = np.minimum(
        grid["held_correct"] - MIN_HELD_CORRECT, grid["missing_unassigned"] - MIN_MISSING_UNASSIGNED
    )
    best = grid.loc[grid.groupby("window", sort=False)["slack"].idxmax()].reset_index(drop=True)
    best["pairs_meeting_both"] = (
        grid.assign(met=grid["slack"] >= 0).groupby("window", sort=False)["met"].sum().to_numpy()
    )
    best["pairs"] = len(grid) // len(WINDOWS)
    return best


def placement_supports(
    cases: Sequence[Case],
    evidence: Sequence[CaseEvidence],
    rng: np.random.Generator,
    replicates: int,
    schemes: Iterable[str] = LINEAGE_SCHEMES,
) -> list[dict[str, float]]:
    """Per case, bootstrap support of each tree placement (:mod:`.placement`); empty for cases
    of other schemes. Independent of the spread rule's factors, so computed once per run."""
    schemes = set(schemes)
    return [
        placement_support(encode(e.projection), case.panel.encoded, e.lineage, rng, replicates)
        if case.scheme in schemes
        else {}
        for case, e in zip(cases, evidence, strict=True)
    ]


def window_rates(runs: pd.DataFrame, called: np.ndarray) -> dict[str, float]:
    """Held-lineage genes right and missing-lineage genes unassigned, per window and over the
    three windows pooled (keys ``held <window>`` and ``missing <window>``)."""
    held = (runs["scheme"] == "leave_one_out").to_numpy()
    missing = (runs["scheme"] == "leave_one_lineage_out").to_numpy()
    right, unassigned = called == runs["lineage"].to_numpy(), called == UNASSIGNED
    rates = {}
    for window in [*WINDOWS, "600-nt windows"]:
        inside = (
            (runs["window"] != "full") if window == "600-nt windows" else runs["window"] == window
        ).to_numpy()
        rates[f"held {window}"] = float(right[held & inside].mean())
        rates[f"missing {window}"] = float(unassigned[missing & inside].mean())
    return rates


def targets_missed(rates: dict[str, float]) -> int:
    """How many of :func:`window_rates`' figures miss their issue-16 target."""
    return sum(
        value < (MIN_HELD_CORRECT if key.startswith("held") else MIN_MISSING_UNASSIGNED)
        for key, value in rates.items()
    )


def placement_grid(
    runs: pd.DataFrame,
    evidence: Sequence[CaseEvidence],
    supports: Sequence[Mapping[str, float]],
    factors: Iterable[float],
    margins: Iterable[float],
    thresholds: Iterable[float],
) -> pd.DataFrame:
    """The spread rule with a tree veto: a call L stands only if at least ``min_support`` of the
    bootstrap trees place the sequence in L (0: no veto). Per (spread_factor, clear_margin,
    min_support), both error rates per window and how many targets are missed."""
    thresholds = list(thresholds)
    kept = np.flatnonzero(runs["scheme"].isin(LINEAGE_SCHEMES).to_numpy())
    rows = []
    for factor, margin, chosen, called in _redecided(runs, evidence, factors, margins):
        support = np.array(
            [supports[i].get(label, 0.0) for i, label in zip(kept, called, strict=True)]
        )
        for threshold in thresholds:
            vetoed = np.where(support >= threshold - TIE, called, UNASSIGNED)
            rates = window_rates(chosen, vetoed)
            rows.append({
                "spread_factor": factor, "clear_margin": margin, "min_support": threshold,
                **rates, "targets_missed": targets_missed(rates),
            })  # fmt: skip
    return pd.DataFrame(rows)


def separating_sites(
    panel: ReferencePanel, first: str, second: str, span: tuple[int, int] | None
) -> int:
    """Sites in ``span`` (frame nt, ``None``: whole gene) where no reference of lineage ``first``
    shares a base with any of ``second``: the fixed differences that can tell the two apart."""
    encoded, lineage = panel.encoded, panel.labels("lineage")
    if span is not None:
        encoded = encoded[:, span[0] : span[1]]
    seen_first = encoded[lineage == first].any(axis=0)
    seen_second = encoded[lineage == second].any(axis=0)
    fixed = (
        seen_first.any(axis=1) & seen_second.any(axis=1) & ~(seen_first & seen_second).any(axis=1)
    )
    return int(fixed.sum())


def sublineage_grid(
    runs: pd.DataFrame,
    evidence: Sequence[CaseEvidence],
    settings: SpreadSettings,
    factors: Iterable[float],
) -> pd.DataFrame:
    """Per ``sublineage_spread_factor`` (lineage factors fixed): leave-one-out genes of a
    sublineage still in the panel called right / wrong, and leave-one-sublineage-out genes left
    ``unassigned`` (full length and windows pooled)."""
    rows = []
    for factor in factors:
        chosen = replace(settings, sublineage_spread_factor=factor)
        called = []
        for e in evidence:
            _, sub_call = call_groups(e.evidence, e.lineage, e.sublineage, chosen)
            called.append(sub_call.label if sub_call else UNASSIGNED)
        called = np.array(called)
        held = (runs["scheme"] == "leave_one_out") & runs["sublineage_represented"]
        missing = runs["scheme"] == "leave_one_sublineage_out"
        truth = runs["sublineage"].to_numpy()
        rows.append({
            "sublineage_spread_factor": factor,
            "held_right": (called == truth)[held].mean(),
            "held_wrong": ((called != truth) & (called != UNASSIGNED))[held].mean(),
            "missing_unassigned": (called == UNASSIGNED)[missing].mean(),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _rates(runs: pd.DataFrame, called: np.ndarray) -> dict[str, float]:
    """Held-lineage genes right and missing-lineage genes unassigned, full and windows."""
    full = (runs["window"] == "full").to_numpy()
    held = (runs["scheme"] == "leave_one_out").to_numpy()
    right = called == runs["lineage"].to_numpy()
    unassigned = called == UNASSIGNED
    return {
        "held_correct_full": right[held & full].mean(),
        "held_correct_windows": right[held & ~full].mean(),
        "missing_unassigned_full": unassigned[~held & full].mean(),
        "missing_unassigned_windows": unassigned[~held & ~full].mean(),
    }
