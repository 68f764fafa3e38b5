"""Entry points of the sequences stage: rules ``sequence_typing`` and ``sequence_tree``.

Thin I/O around the pure steps: :mod:`~disease_risk.sequences.reading` (files -> records),
:mod:`~disease_risk.sequences.lineage_typing` (records -> calls),
:mod:`~disease_risk.sequences.linking` (calls -> samples) and :mod:`~disease_risk.sequences.tree`.
Tables go through :mod:`disease_risk.tables`, so the same inputs give byte-identical results.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from Bio.Phylo.BaseTree import Tree

from disease_risk.sequences.aligned_io import read_aligned, write_aligned
from disease_risk.sequences.lineage_typing import (
    TypingSettings,
    mark_not_in_tree,
    type_sequences,
    typing_messages,
)
from disease_risk.sequences.linking import link_samples
from disease_risk.sequences.panel import ReferencePanel, read_reference_panel
from disease_risk.sequences.reading import (
    SequenceInputError,
    list_sequence_files,
    raise_for_rejections,
    read_sequence_files,
)
from disease_risk.sequences.tree import (
    distance_matrix,
    distance_table,
    draw_tree,
    neighbour_joining_tree,
    write_newick,
)
from disease_risk.tables import read_samples, write_table

log = logging.getLogger(__name__)

SAMPLE_LINK_COLUMNS = ("sample_id", "species", "sequence_id")


def read_linked_samples(path: str | Path) -> pd.DataFrame:
    """The intake's samples table; sample_id, species and sequence_id must be there."""
    try:
        return read_samples(path, required=SAMPLE_LINK_COLUMNS)
    except ValueError as error:
        raise SequenceInputError(str(error)) from error


def run_typing(
    samples_path: str | Path,
    sequence_paths: Sequence[str | Path],
    panel: ReferencePanel,
    settings: TypingSettings,
    strict: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Read, type and link: lineages table, unmatched table and frame projections.

    ``strict``: any rejected record is an error instead of a row of the unmatched table.
    """
    records, rejections = read_sequence_files(sequence_paths)
    if strict:
        raise_for_rejections(rejections, "sequence files (strict: true)")
    typed, projections = type_sequences(records, panel, settings)
    lineages, unmatched = link_samples(typed, read_linked_samples(samples_path), rejections)
    return mark_not_in_tree(lineages), unmatched, projections


def _as_paths(value: Any) -> list[str]:
    """A rule's named input as a list of paths (one path or a list of them)."""
    return [str(value)] if isinstance(value, str | Path) else [str(v) for v in value]


def _log_typing(lineages: pd.DataFrame, unmatched: pd.DataFrame) -> None:
    """Warn about every unmatched row and every sequence to look at; count the calls."""
    for row in unmatched.itertuples(index=False):
        log.warning("%s %s %s: %s", row.issue, row.sequence_id, row.sample_id, row.detail)
    for message in typing_messages(lineages):
        log.warning(message)
    counts = {k: int(v) for k, v in lineages["lineage"].value_counts().sort_index().items()}
    log.info("typed %d sequence(s): %s", len(lineages), counts)


def sequence_typing(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``sequence_typing``: type and link every sequence; returns the lineages table.

    ``inputs``: samples, sequences, panel, panel_table; ``outputs``: lineages, unmatched,
    aligned; ``params``: settings (config ``sequences:``), strict.
    """
    section = dict(params["settings"])
    settings = TypingSettings.from_config(section)
    panel = read_reference_panel(
        inputs["panel"],
        inputs["panel_table"],
        section.get("frame_reference"),
        settings.protein_length,
    )
    log.info(
        "reference panel %s: %d references, frame %s",
        inputs["panel"],
        len(panel.sequences),
        panel.frame_id,
    )
    folder = section.get("sequences_dir", "")
    for ignored in list_sequence_files(folder)[1] if folder else []:
        log.warning("not a sequence file name, not read: %s", ignored)
    lineages, unmatched, projections = run_typing(
        inputs["samples"], _as_paths(inputs["sequences"]), panel, settings, bool(params["strict"])
    )
    _log_typing(lineages, unmatched)
    write_table(lineages, outputs["lineages"])
    write_table(unmatched, outputs["unmatched"])
    write_aligned(outputs["aligned"], panel, lineages, projections)
    return lineages


def sequence_tree(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> Tree:
    """Rule ``sequence_tree``: distances, neighbour-joining tree (Newick) and its PNG.

    ``inputs``: aligned; ``outputs``: tree, distances, png; ``params``: min_overlap (columns two
    sequences must share for a direct distance).
    """
    projections, tips = read_aligned(inputs["aligned"])
    references = tips.index[tips["kind"] == "reference"].tolist()
    matrix = distance_matrix(projections, references, params["min_overlap"])
    tree = neighbour_joining_tree(matrix)
    write_newick(tree, outputs["tree"])
    write_table(distance_table(matrix), outputs["distances"])
    draw_tree(tree, tips, outputs["png"])
    log.info("tree of %d tips (%d references) written", len(matrix.names), len(references))
    return tree
