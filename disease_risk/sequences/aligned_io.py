"""``aligned.fasta``: references and typed samples in H frame coordinates, handed to the tree.

Each description carries ``kind=``, ``host=`` and ``lineage=`` tags, so the tree step needs no
other input to label and colour its tips.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from Bio import SeqIO

from disease_risk.sequences.lineage_typing import UNTYPED
from disease_risk.sequences.panel import ReferencePanel
from disease_risk.sequences.reading import SequenceInputError, write_fasta


def _tag(value: object) -> str:
    return re.sub(r"\s+", "_", str(value)) or "unknown"


def _header(seq_id: str, kind: str, host: object, lineage: object) -> str:
    return f"{seq_id} kind={kind} host={_tag(host)} lineage={_tag(lineage)}"


def aligned_entries(
    panel: ReferencePanel, lineages: pd.DataFrame, projections: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(header, projection) of references and typed samples ('-' = not covered/deleted).

    Untyped sequences are left out (they are flagged ``not_in_tree`` in lineages.tsv).
    """
    clash = sorted(set(projections) & set(panel.projections))
    if clash:
        raise SequenceInputError(
            f"sequence id(s) also used by the reference panel: {', '.join(clash)}; rename them"
        )
    entries = []
    for ref_id, projection in panel.projections.items():
        row = panel.table.loc[ref_id]
        entries.append((_header(ref_id, "reference", row["host"], row["sublineage"]), projection))
    for row in lineages.itertuples(index=False):
        if row.lineage == UNTYPED:
            continue
        header = _header(row.sequence_id, "sample", row.species or "unknown", row.lineage)
        entries.append((header, projections[row.sequence_id]))
    return entries


def write_aligned(
    path: str | Path, panel: ReferencePanel, lineages: pd.DataFrame, projections: Mapping[str, str]
) -> None:
    """Write :func:`aligned_entries` to ``path``, one line per sequence."""
    write_fasta(aligned_entries(panel, lineages, projections), path, width=None)


def _tip(record_id: str, description: str) -> dict[str, str]:
    """Tip-table row from a record's tags; ``display`` is the label drawn in the tree."""
    tags = dict(part.split("=", 1) for part in description.split()[1:] if "=" in part)
    kind = tags.get("kind", "sample")
    if kind == "reference":
        display = f"ref {record_id.split('|')[0]}  {tags.get('lineage', '')} "
        display += f"{tags.get('host', '')}"
    else:
        display = f"{record_id}  {tags.get('host', '')}  [{tags.get('lineage', '')}]"
    return {
        "tip": record_id,
        "kind": kind,
        "host": tags.get("host", "unknown"),
        "lineage": tags.get("lineage", ""),
        "display": display,
    }


def read_aligned(path: str | Path) -> tuple[dict[str, str], pd.DataFrame]:
    """Projections and tip table (kind, host, lineage, display) from :func:`write_aligned`."""
    projections, rows = {}, []
    with open(path, encoding="utf-8") as handle:
        for record in SeqIO.parse(handle, "fasta"):
            projections[record.id] = str(record.seq)
            rows.append(_tip(record.id, record.description))
    return projections, pd.DataFrame(rows).set_index("tip")
