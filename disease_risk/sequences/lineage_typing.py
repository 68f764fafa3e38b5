"""Lineage typing: nearest reference, lineage call, QC flags and marker residues per sequence.

A sequence is placed in the H frame; the few closest references are re-aligned pairwise for the
nearest reference and its identity. The lineage call knows each lineage's spread
(:mod:`~disease_risk.sequences.lineage_spread`): a lineage is called only when the sequence sits
inside it as the panel's members do, or is clearly nearer to it than to any other lineage;
otherwise the call is ``unassigned`` (possible new lineage) with the reason. A sequence further
than ``max_divergence`` from every reference is ``unassigned`` too, and one that is not
recognisably CDV H is ``untyped``. Nothing is forced; a call made in a region where the panel's own
genes of another lineage K, left out, would get the same call is flagged
``new_lineage_not_excluded:K`` (the region cannot tell the call from a new lineage like K).
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
    called_region,
    internal_stops,
    project,
    projected_identity,
    residue_at,
    reverse_complement,
    summarise,
    trim_padding,
)
from disease_risk.sequences.lineage_spread import (
    UNASSIGNED,
    GroupCall,
    SpreadSettings,
    call_groups,
    lineages_called_as,
    query_evidence,
)
from disease_risk.sequences.panel import ReferencePanel
from disease_risk.sequences.reading import UNAMBIGUOUS, SequenceRecord
from disease_risk.tables import LINEAGE_COLUMNS, LINEAGE_EXTRA_COLUMNS

UNTYPED = "untyped"
_SETTING_KEYS = (
    "max_divergence", "call_level", "min_h_identity", "min_length", "full_coverage",
    "min_margin", "candidates", "protein_length", "spread_factor", "clear_margin",
    "sublineage_spread_factor",
)  # fmt: skip
# qc flag of an unassigned call, by the basis of the spread rule
UNASSIGNED_FLAGS = {"outside_spread": "outside_lineage_spread", "tied": "tied_lineages"}
# flag of a call whose region cannot tell its lineage from a new lineage like <K> (see
# lineage_spread.lineages_called_as)
NOT_EXCLUDED_FLAG = "new_lineage_not_excluded"


@dataclass(frozen=True)
class TypingSettings:
    """Thresholds and marker positions for :func:`type_sequence` (config ``sequences:``)."""

    max_divergence: float = 0.10
    call_level: str = "lineage"
    min_h_identity: float = 0.75
    min_length: int = 200
    full_coverage: float = 0.95
    min_margin: float = 0.005
    marker_positions: tuple[int, ...] = (530, 549)
    marker_flags: tuple[tuple[int, str], ...] = ((549, "H"),)
    candidates: int = 3
    protein_length: int = 607
    spread_factor: float = 1.10
    clear_margin: float = 0.70
    sublineage_spread_factor: float = 1.0

    def __post_init__(self) -> None:
        if self.call_level not in ("lineage", "sublineage"):
            raise ValueError(
                f"call_level must be 'lineage' or 'sublineage', not {self.call_level!r}"
            )
        if not 0 < self.max_divergence < 1:
            raise ValueError(f"max_divergence must be between 0 and 1, got {self.max_divergence}")
        if not 0 <= self.clear_margin < 1:
            raise ValueError(f"clear_margin must be in [0, 1), got {self.clear_margin}")
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

    @property
    def spread(self) -> SpreadSettings:
        """The calibrated factors of the per-lineage spread rule."""
        return SpreadSettings(self.spread_factor, self.clear_margin, self.sublineage_spread_factor)


def _call(
    best: AlignmentSummary,
    bases: int,
    settings: TypingSettings,
    calls: tuple[GroupCall, GroupCall | None],
) -> tuple[str, str, list[str]]:
    """The call at ``call_level``, its basis and flags: ``untyped``, ``unassigned`` or a label.

    ``bases``: the sequence's A/C/G/T bases (N padding does not count towards ``min_length``).
    """
    if bases < settings.min_length:
        return UNTYPED, "too_short", ["too_short"]
    if best.covered < settings.min_length or best.identity < settings.min_h_identity:
        return UNTYPED, "not_cdv_h", ["not_cdv_h"]
    if 1.0 - best.identity > settings.max_divergence:
        return UNASSIGNED, "divergent", ["divergent"]
    lineage_call, sub_call = calls
    if lineage_call.label == UNASSIGNED:
        return UNASSIGNED, lineage_call.basis, [UNASSIGNED_FLAGS[lineage_call.basis]]
    if settings.call_level == "lineage":
        return lineage_call.label, lineage_call.basis, []
    if sub_call.label == UNASSIGNED:
        flag = "new_sublineage" if sub_call.basis == "outside_spread" else "tied_sublineages"
        return UNASSIGNED, sub_call.basis, [f"{flag}:{lineage_call.label}"]
    return sub_call.label, sub_call.basis, []


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


def _spread_columns(
    calls: tuple[GroupCall, GroupCall | None], call: str, panel: ReferencePanel, level: str
) -> dict:
    """Columns of the spread rule: sublineage call, the numbers and the called group's name."""
    lineage_call, sub_call = calls
    if call == UNTYPED:
        return {"sublineage_call": UNTYPED, "lineage_distance": math.nan,
                "spread_limit": math.nan, "margin_ratio": math.nan, "lineage_name": ""}  # fmt: skip
    named = call != UNASSIGNED
    chosen = sub_call if level == "sublineage" and named else lineage_call
    return {
        "sublineage_call": sub_call.label if sub_call and named else UNASSIGNED,
        "lineage_distance": lineage_call.distance,
        "spread_limit": lineage_call.limit,
        "margin_ratio": lineage_call.margin_ratio,
        "lineage_name": panel.table.at[panel.ids[chosen.member], "name"] if named else "",
    }


def type_sequence(
    record: SequenceRecord, panel: ReferencePanel, settings: TypingSettings
) -> tuple[dict, str]:
    """Type one sequence: the lineages.tsv row (without sample columns) and its projection."""
    level, frame_length = settings.call_level, len(panel.frame)
    seq, frame_alignment, frame_summary, flipped = place_in_frame(
        trim_padding(record.seq), panel, settings
    )
    projection = project(frame_alignment, frame_length, seq)
    nearest, runner_up, summaries = nearest_references(
        seq, projection, frame_summary, panel, settings
    )
    best = summaries[nearest]
    start, end, called = called_region(projection)
    labels = panel.labels("lineage"), panel.labels("sublineage")
    evidence = query_evidence(projection, panel.encoded, *labels)
    calls = call_groups(evidence, *labels, settings.spread)
    bases = sum(seq.count(b) for b in UNAMBIGUOUS)
    lineage, basis, call_flags = _call(best, bases, settings, calls)
    if lineage not in (UNTYPED, UNASSIGNED):
        unexcluded = lineages_called_as(evidence.pair, *labels, calls[0].label, settings.spread)
        call_flags += [f"{NOT_EXCLUDED_FLAG}:{other}" for other in unexcluded]
    ambiguous = sum(c not in UNAMBIGUOUS for c in seq)
    flags = ["reverse_complement"] if flipped else []
    if lineage != UNTYPED:
        flags += _quality_flags(
            seq, frame_alignment, frame_length, called / frame_length, ambiguous,
            best.frameshift, settings,
        )  # fmt: skip
        flags += _panel_flags(record.id, best, runner_up, summaries, lineage, panel, settings)
    flags += call_flags
    residues, marker_flags = _markers(projection, (start, end), lineage, settings)
    row = {
        "sequence_id": record.id,
        "nearest_reference": nearest,
        "identity": best.identity,
        "runner_up": runner_up or "",
        "lineage": lineage,
        **residues,
        "qc_flags": ";".join(flags),
        "nearest_lineage": panel.label(nearest, "lineage"),
        "nearest_sublineage": panel.label(nearest, "sublineage"),
        "runner_up_identity": summaries[runner_up].identity if runner_up else math.nan,
        "runner_up_lineage": panel.label(runner_up, level) if runner_up else "",
        "call_basis": basis,
        **_spread_columns(calls, lineage, panel, level),
        "coverage": called / frame_length,
        "covered_start": start + 1 if called else 0,
        "covered_end": end,
        "length": len(record.seq),
        "ambiguous_bases": ambiguous,
        "marker_flags": marker_flags,
        "source_file": record.source_file,
        "record": record.record,
    }
    return row, projection


def _panel_flags(
    seq_id: str,
    best: AlignmentSummary,
    runner_up: str | None,
    summaries: Mapping[str, AlignmentSummary],
    lineage: str,
    panel: ReferencePanel,
    settings: TypingSettings,
) -> list[str]:
    """``close_call`` (runner-up lineage nearly as close) and ``panel_reference:<id>`` (the
    sequence is itself a panel reference: same accession, ``X`` = ``X.1``)."""
    flags = []
    margin = best.identity - summaries[runner_up].identity if runner_up else math.inf
    if lineage != UNASSIGNED and margin < settings.min_margin:
        flags.append("close_call")
    twin = panel.accession_match(seq_id)
    if twin is not None:
        flags.append(f"panel_reference:{twin}")
    return flags


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
                f"{row.identity:.3f} ({';'.join(flags)}); {_unassigned_reason(row)}"
            )
        unexcluded = [f.split(":", 1)[1] for f in flags if f.startswith(NOT_EXCLUDED_FLAG + ":")]
        if unexcluded:
            messages.append(
                f"{where}: called {row.lineage}, but over the region it covers (nt "
                f"{row.covered_start}-{row.covered_end}) the panel's own {'/'.join(unexcluded)} "
                "genes, typed with their lineage left out, get the same lineage call: this region "
                "cannot tell the call from a new lineage as distinct as those; sequence more of "
                "H or add references"
            )
        for flag in flags:
            if flag == "frameshift" or flag.startswith("internal_stop"):
                messages.append(f"{where}: {flag} in the H reading frame; check the sequence")
    return messages


def _unassigned_reason(row) -> str:
    """Why a sequence is unassigned, in the numbers of the spread rule."""
    if row.call_basis == "outside_spread":
        return (
            f"possible new lineage: {row.lineage_distance:.1%} from the nearest "
            f"{row.nearest_lineage} reference, beyond that lineage's spread "
            f"(limit {row.spread_limit:.1%}), and not clearly nearer to it than to the next "
            f"lineage (distance ratio {row.margin_ratio:.2f}); check the panel"
        )
    if row.call_basis == "tied":
        return "as close to two lineages (or sublineages); possible new lineage, check the panel"
    return "possible new lineage, check the panel"
