"""The reference panel: labelled H references, their lineage table and the frame reference.

Every reference is projected once onto the frame reference (a complete H coding sequence), so a
sample needs only one alignment to be compared with the whole panel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from disease_risk.sequences.accessions import find_accession
from disease_risk.sequences.alignment import align, encode, is_complete_cds, project
from disease_risk.sequences.reading import (
    SequenceInputError,
    raise_for_rejections,
    read_sequence_files,
)

TABLE_ALIASES = {
    "lineage": "lineage",
    "sublineage": "sublineage",
    "name": "conventional_name",
}


def _panel_column(table: pd.DataFrame, key: str) -> str | None:
    """Column for ``key``: exact name, or the single column starting with ``key_`` or its alias."""
    if key in table.columns:
        return key
    prefixes = {f"{key}_", f"{TABLE_ALIASES.get(key, key)}"}
    matches = [c for c in table.columns if any(c.startswith(p) for p in prefixes)]
    return matches[0] if len(matches) == 1 else None


def _check_lineage_table(table: pd.DataFrame, path: Path) -> None:
    """Every reference needs a lineage and a seq_id of its own."""
    for row_number, row in enumerate(table.itertuples(index=False), start=2):
        if not row.lineage:
            raise SequenceInputError(
                f"{path}, row {row_number} ({row.seq_id!r}): lineage is empty; fill in the "
                "lineage of every reference (e.g. L5)"
            )
    duplicated = table["seq_id"][table["seq_id"].duplicated()].tolist()
    if duplicated:
        raise SequenceInputError(f"{path}: seq_id listed more than once: {', '.join(duplicated)}")


def read_lineage_table(path: str | Path) -> pd.DataFrame:
    """Reference lineage table (TSV) -> columns seq_id, lineage, sublineage, name, host, ...

    Accepts the column names of the shipped panel (``lineage``, ``sublineage``, ``name``) and of
    tables that suffix them (``lineage_giraolaCDV``, ``conventional_name_...``).
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SequenceInputError(f"{path}: cannot read the lineage table: {error}") from error
    columns = {key: _panel_column(raw, key) for key in ("seq_id", "lineage", "sublineage", "name")}
    for key in ("seq_id", "lineage"):
        if columns[key] is None:
            raise SequenceInputError(
                f"{path}: lineage table needs a {key!r} column (found: {', '.join(raw.columns)})"
            )
    table = pd.DataFrame({"seq_id": raw[columns["seq_id"]].str.strip()})
    table["lineage"] = raw[columns["lineage"]].str.strip()
    table["sublineage"] = (
        raw[columns["sublineage"]].str.strip() if columns["sublineage"] else table["lineage"]
    )
    table["name"] = raw[columns["name"]].str.strip() if columns["name"] else ""
    for extra in ("accession", "host", "country", "year"):
        table[extra] = raw[extra].str.strip() if extra in raw.columns else ""
    _check_lineage_table(table, path)
    table.loc[table["sublineage"] == "", "sublineage"] = table["lineage"]
    return table.set_index("seq_id", drop=False)


@dataclass
class ReferencePanel:
    """Labelled H references, the frame reference and every reference in frame coordinates."""

    sequences: dict[str, str]
    table: pd.DataFrame
    frame_id: str
    projections: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def frame(self) -> str:
        return self.sequences[self.frame_id]

    def label(self, seq_id: str, level: str) -> str:
        return str(self.table.at[seq_id, level])

    @cached_property
    def ids(self) -> tuple[str, ...]:
        """Reference ids in panel order (the row order of :attr:`encoded`)."""
        return tuple(self.sequences)

    @cached_property
    def encoded(self) -> np.ndarray:
        """Every reference's projection one-hot encoded: references x columns x (A, C, G, T)."""
        return np.stack([encode(self.projections[k]) for k in self.ids])

    def labels(self, level: str) -> np.ndarray:
        """Lineage or sublineage of every reference, in panel order."""
        return self.table.loc[list(self.ids), level].to_numpy(dtype=str)

    def accession_match(self, identifier: str) -> str | None:
        """The reference whose accession is ``identifier``'s (``X`` = ``X.1``), if exactly one."""
        return find_accession(identifier, self.ids)

    def keep(self, seq_ids: list[str], protein_length: int = 607) -> ReferencePanel:
        """The panel reduced to ``seq_ids`` (leave-one-out and leave-one-lineage-out); re-framed
        only if the frame reference is left out."""
        sequences = {k: self.sequences[k] for k in seq_ids}
        table = self.table.loc[list(seq_ids)]
        if self.frame_id in sequences:
            projections = {k: self.projections[k] for k in seq_ids}
            return ReferencePanel(sequences, table, self.frame_id, projections, self.source)
        return build_panel(sequences, table, None, protein_length, self.source)

    def without(self, seq_id: str, protein_length: int = 607) -> ReferencePanel:
        """The panel minus one reference (for leave-one-out); re-framed only if it was the frame."""
        return self.keep([k for k in self.sequences if k != seq_id], protein_length)


def _check_panel_rows(sequences: Mapping[str, str], table: pd.DataFrame, source: str) -> None:
    """At least two references, and FASTA records and table rows that match one to one."""
    if len(sequences) < 2:
        raise SequenceInputError(f"{source}: a panel needs at least two references")
    missing = [k for k in sequences if k not in table.index]
    if missing:
        raise SequenceInputError(
            f"{source}: references without a row in the lineage table: {', '.join(missing)}"
        )
    extra = [k for k in table.index if k not in sequences]
    if extra:
        raise SequenceInputError(
            f"{source}: lineage table rows without a sequence in the FASTA: {', '.join(extra)}"
        )


def choose_frame_reference(
    sequences: Mapping[str, str], frame_reference: str | None, protein_length: int, source: str
) -> str:
    """The configured frame reference (checked), else the first complete H coding sequence."""
    if frame_reference is None:
        complete = [k for k, s in sequences.items() if is_complete_cds(s, protein_length)]
        if not complete:
            raise SequenceInputError(
                f"{source}: no reference is a complete {protein_length}-codon H coding sequence "
                "(ATG ... stop); one is needed to number residues"
            )
        return complete[0]
    if frame_reference not in sequences:
        raise SequenceInputError(
            f"{source}: frame_reference {frame_reference!r} is not in the panel"
        )
    if not is_complete_cds(sequences[frame_reference], protein_length):
        raise SequenceInputError(
            f"{source}: frame_reference {frame_reference!r} is not a complete "
            f"{protein_length}-codon H coding sequence (ATG ... stop, no internal stop)"
        )
    return frame_reference


def build_panel(
    sequences: Mapping[str, str],
    table: pd.DataFrame,
    frame_reference: str | None = None,
    protein_length: int = 607,
    source: str = "reference panel",
) -> ReferencePanel:
    """Check the panel, choose the frame reference and project every reference onto it."""
    _check_panel_rows(sequences, table, source)
    frame_id = choose_frame_reference(sequences, frame_reference, protein_length, source)
    frame = sequences[frame_id]
    projections = {
        k: (s if k == frame_id else project(align(frame, s), len(frame), s))
        for k, s in sequences.items()
    }
    return ReferencePanel(
        dict(sequences), table.loc[list(sequences)], frame_id, projections, source
    )


def read_reference_panel(
    fasta: str | Path,
    table: str | Path,
    frame_reference: str | None = None,
    protein_length: int = 607,
) -> ReferencePanel:
    """Read a panel FASTA and its lineage table; any bad record is an error naming it."""
    records, rejections = read_sequence_files([fasta])
    raise_for_rejections(rejections, f"reference panel {fasta}")
    lineage_table = read_lineage_table(table)
    sequences = {r.id: r.seq for r in records}
    return build_panel(sequences, lineage_table, frame_reference, protein_length, str(fasta))
