"""Lineage typing: nearest reference, lineage call, QC flags and marker residues per sequence.

A sequence is placed in the H frame, the few closest references are re-aligned pairwise and the
nearest reference is the one with the highest identity over the region the sequence covers. A
lineage is called only if that reference is within ``max_divergence``; otherwise the call is
``unassigned`` (possible new lineage), and a sequence that is not recognisably CDV H is
``untyped``. Nothing is forced: ties between lineages are ``unassigned`` too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from Bio.Align import Alignment

from disease_risk.sequences.alignment import (
    AlignmentSummary,
    align,
    internal_stops,
    project,
    projected_identity,
    residue_at,
    reverse_complement,
    summarise,
)
from disease_risk.sequences.panel import ReferencePanel
from disease_risk.sequences.reading import UNAMBIGUOUS, SequenceRecord
from disease_risk.tables import LINEAGE_COLUMNS, LINEAGE_EXTRA_COLUMNS

UNASSIGNED = "unassigned"
UNTYPED = "untyped"
_SETTING_KEYS = (
    "max_divergence", "call_level", "min_h_identity", "min_length", "full_coverage",
    "min_margin", "candidates", "protein_length",
)  # fmt: skip


@dataclass(frozen=True)
class TypingSettings:
    """Thresholds and marker positions for :func:`type_sequence` (config ``sequences:``)."""

    max_divergence: float = 0.06
    call_level: str = "lineage"
    min_h_identity: float = 0.75
    min_length: int = 200
    full_coverage: float = 0.95
    min_margin: float = 0.005
    marker_positions: tuple[int, ...] = (530, 549)
    marker_flags: tuple[tuple[int, str], ...] = ((549, "H"),)
    candidates: int = 3
    protein_length: int = 607

    def __post_init__(self) -> None:
        if self.call_level not in ("lineage", "sublineage"):
            raise ValueError(
                f"call_level must be 'lineage' or 'sublineage', not {self.call_level!r}"
            )
        if not 0 < self.max_divergence < 1:
            raise ValueError(f"max_divergence must be between 0 and 1, got {self.max_divergence}")
        for position in (*self.marker_positions, *(p for p, _ in self.marker_flags)):
            if not 1 <= position <= self.protein_length:
                raise ValueError(
                    f"marker position {position} is outside the {self.protein_length}-aa H protein"
                )

    @classmethod
    def from_config(cls, section: Mapping) -> TypingSettings:
        """Build settings from the config ``sequences:`` section (missing keys keep defaults)."""
        kwargs = {key: section[key] for key in _SETTING_KEYS if key in section}
        if "marker_positions" in section:
            kwargs["marker_positions"] = tuple(int(p) for p in section["marker_positions"])
        if "marker_flags" in section:
            kwargs["marker_flags"] = tuple(
                (int(flag["position"]), str(flag["residue"]).upper())
                for flag in section["marker_flags"]
            )
        return cls(**kwargs)


def _call(
    identity: float, covered: int, length: int, settings: TypingSettings, label: str
) -> tuple[str, list[str]]:
    """Lineage call from the nearest reference: its label, ``unassigned`` or ``untyped``."""
    if length < settings.min_length:
        return UNTYPED, ["too_short"]
    if covered < settings.min_length or identity < settings.min_h_identity:
        return UNTYPED, ["not_cdv_h"]
    if 1.0 - identity > settings.max_divergence:
        return UNASSIGNED, ["divergent"]
    return label, []


def _h_like(summary: AlignmentSummary, length: int, settings: TypingSettings) -> bool:
    return summary.identity >= settings.min_h_identity and summary.covered >= min(
        settings.min_length, length
    )


def place_in_frame(
    seq: str, panel: ReferencePanel, settings: TypingSettings
) -> tuple[str, Alignment, AlignmentSummary, bool]:
    """Align ``seq`` to the frame reference, trying its reverse complement if it is not H-like.

    Returns the sequence as used, the alignment, its summary and whether it was flipped.
    """
    frame = panel.frame
    alignment = align(frame, seq)
    summary = summarise(alignment, frame, seq)
    if not _h_like(summary, len(seq), settings):
        flipped = reverse_complement(seq)
        flipped_alignment = align(frame, flipped)
        flipped_summary = summarise(flipped_alignment, frame, flipped)
        if _h_like(flipped_summary, len(seq), settings):
            return flipped, flipped_alignment, flipped_summary, True
    return seq, alignment, summary, False


def nearest_references(
    seq: str,
    projection: str,
    frame_summary: AlignmentSummary,
    panel: ReferencePanel,
    settings: TypingSettings,
) -> tuple[str, str | None, dict[str, AlignmentSummary]]:
    """Nearest reference, runner-up (closest of another lineage) and their pairwise summaries.

    Candidates: the ``candidates`` references closest by frame-projected identity, plus the
    closest of another lineage; each is re-aligned pairwise (ties keep the projected order).
    """
    level = settings.call_level
    ranked = sorted(
        panel.projections,
        key=lambda ref_id: (-projected_identity(projection, panel.projections[ref_id])[0], ref_id),
    )
    candidates = ranked[: settings.candidates]
    top_label = panel.label(ranked[0], level)
    other = next((r for r in ranked if panel.label(r, level) != top_label), None)
    if other is not None and other not in candidates:
        candidates.append(other)
    summaries = {}
    for ref_id in candidates:
        if ref_id == panel.frame_id:
            summaries[ref_id] = frame_summary
        else:
            reference = panel.sequences[ref_id]
            summaries[ref_id] = summarise(align(reference, seq), reference, seq)

    def closeness(ref_id: str) -> tuple[float, int]:
        return summaries[ref_id].identity, -ranked.index(ref_id)

    nearest = max(candidates, key=closeness)
    nearest_label = panel.label(nearest, level)
    rivals = [r for r in candidates if panel.label(r, level) != nearest_label]
    return nearest, max(rivals, key=closeness, default=None), summaries


def _quality_flags(
    seq: str,
    frame_alignment: Alignment,
    frame_length: int,
    coverage: float,
    ambiguous: int,
    frameshift: bool,
    settings: TypingSettings,
) -> list[str]:
    """QC flags of a sequence that could be typed: partial, ambiguous, frameshift, stops."""
    flags = []
    if coverage < settings.full_coverage:
        flags.append("partial")
    if ambiguous:
        flags.append(f"ambiguous_bases:{ambiguous}")
    if frameshift:
        flags.append("frameshift")
    stops = internal_stops(frame_alignment, frame_length, seq)
    if stops:
        flags.append(f"internal_stop:{stops}")
    return flags


def _margin_call(
    lineage: str,
    identity: float,
    runner_up: str | None,
    runner_identity: float,
    settings: TypingSettings,
) -> tuple[str, list[str]]:
    """A named lineage tied with another lineage becomes ``unassigned``; a thin lead is flagged."""
    if lineage in (UNTYPED, UNASSIGNED) or not runner_up:
        return lineage, []
    margin = identity - runner_identity
    if margin <= 1e-12:
        return UNASSIGNED, ["tied_lineages"]
    if margin < settings.min_margin:
        return lineage, ["close_call"]
    return lineage, []


def _markers(
    projection: str, covered: tuple[int, int], lineage: str, settings: TypingSettings
) -> tuple[dict[str, str], str]:
    """``residue_<position>`` columns and the flagged marker residues (e.g. ``549H``)."""
    if lineage == UNTYPED:
        return {f"residue_{p}": "" for p in settings.marker_positions}, ""
    residues = {
        f"residue_{p}": residue_at(projection, p, covered) for p in settings.marker_positions
    }
    flagged = [
        f"{p}{aa}" for p, aa in settings.marker_flags if residue_at(projection, p, covered) == aa
    ]
    return residues, ";".join(flagged)


def type_sequence(
    record: SequenceRecord, panel: ReferencePanel, settings: TypingSettings
) -> tuple[dict, str]:
    """Type one sequence: the lineages.tsv row (without sample columns) and its projection."""
    level, frame_length = settings.call_level, len(panel.frame)
    seq, frame_alignment, frame_summary, flipped = place_in_frame(record.seq, panel, settings)
    projection = project(frame_alignment, frame_length, seq)
    nearest, runner_up, summaries = nearest_references(
        seq, projection, frame_summary, panel, settings
    )
    best = summaries[nearest]
    runner_identity = summaries[runner_up].identity if runner_up else math.nan
    coverage = frame_summary.covered / frame_length
    ambiguous = sum(c not in UNAMBIGUOUS for c in seq)
    lineage, call_flags = _call(
        best.identity, best.covered, len(seq), settings, panel.label(nearest, level)
    )
    flags = ["reverse_complement"] if flipped else []
    if lineage != UNTYPED:
        flags += _quality_flags(
            seq, frame_alignment, frame_length, coverage, ambiguous, best.frameshift, settings
        )
    flags += call_flags
    lineage, margin_flags = _margin_call(
        lineage, best.identity, runner_up, runner_identity, settings
    )
    flags += margin_flags
    covered = (frame_summary.covered_start, frame_summary.covered_end)
    residues, marker_flags = _markers(projection, covered, lineage, settings)
    named = lineage not in (UNTYPED, UNASSIGNED)
    row = {
        "sequence_id": record.id,
        "nearest_reference": nearest,
        "identity": best.identity,
        "runner_up": runner_up or "",
        "lineage": lineage,
        **residues,
        "qc_flags": ";".join(flags),
        "lineage_name": panel.table.at[nearest, "name"] if named else "",
        "nearest_lineage": panel.label(nearest, "lineage"),
        "nearest_sublineage": panel.label(nearest, "sublineage"),
        "runner_up_identity": runner_identity,
        "runner_up_lineage": panel.label(runner_up, level) if runner_up else "",
        "coverage": coverage,
        "covered_start": covered[0] + 1 if frame_summary.covered else 0,
        "covered_end": covered[1],
        "length": len(record.seq),
        "ambiguous_bases": ambiguous,
        "marker_flags": marker_flags,
        "source_file": record.source_file,
        "record": record.record,
    }
    return row, projection


def type_sequences(
    records: Sequence[SequenceRecord], panel: ReferencePanel, settings: TypingSettings
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Type every record (input order kept); returns the rows and the frame projections."""
    rows, projections = [], {}
    for record in records:
        row, projection = type_sequence(record, panel, settings)
        rows.append(row)
        projections[record.id] = projection
    columns = [c for c in LINEAGE_COLUMNS if c not in ("sample_id", "species")]
    columns += [f"residue_{p}" for p in settings.marker_positions]
    columns += LINEAGE_EXTRA_COLUMNS
    return pd.DataFrame(rows, columns=columns), projections


def append_flag(table: pd.DataFrame, rows: pd.Series, flag: str) -> pd.DataFrame:
    """``table`` with ``flag`` added to the ';'-separated ``qc_flags`` of the selected rows."""
    out = table.copy()
    out.loc[rows, "qc_flags"] = [
        ";".join(filter(None, [flags, flag])) for flags in out.loc[rows, "qc_flags"]
    ]
    return out


def mark_not_in_tree(lineages: pd.DataFrame) -> pd.DataFrame:
    """Flag untyped sequences, which are kept out of the tree."""
    return append_flag(lineages, lineages["lineage"] == UNTYPED, "not_in_tree")


def typing_messages(lineages: pd.DataFrame) -> list[str]:
    """One line per sequence a vet should look at: untyped, unassigned, frameshift, stops."""
    messages = []
    for row in lineages.itertuples(index=False):
        where = f"{row.source_file}, record {row.record} ({row.sequence_id!r})"
        flags = row.qc_flags.split(";") if row.qc_flags else []
        if "not_cdv_h" in flags:
            messages.append(
                f"{where}: not recognisably CDV H (identity {row.identity:.3f} to the nearest "
                "reference); listed as untyped and left out of the tree. Is it another gene, "
                "another virus or a mislabelled file?"
            )
        elif "too_short" in flags:
            messages.append(f"{where}: too short to type; listed as untyped")
        elif row.lineage == UNASSIGNED:
            messages.append(
                f"{where}: unassigned, nearest reference {row.nearest_reference} at identity "
                f"{row.identity:.3f} ({';'.join(flags)}); possible new lineage, check the panel"
            )
        for flag in flags:
            if flag == "frameshift" or flag.startswith("internal_stop"):
                messages.append(f"{where}: {flag} in the H reading frame; check the sequence")
    return messages
