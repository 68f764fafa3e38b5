"""Linking typed sequences to samples by ``sequence_id``, and listing what did not link.

Every sequence is kept (typed even without a sample), and every sequence or sample left unmatched
becomes a row of ``unmatched.tsv`` saying what to fix in the sheet or the sequences folder. A
GenBank accession links with or without its version (``KJ848781`` in the sheet, ``KJ848781.1`` in
the FASTA), when exactly one sequence and one sample name it; the row is flagged
``linked_by_accession:<sheet id>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from disease_risk.sequences.accessions import find_accession
from disease_risk.sequences.lineage_typing import append_flag
from disease_risk.sequences.reading import Rejection
from disease_risk.tables import UNMATCHED_COLUMNS

Linked = Mapping[str, list[tuple[str, str]]]  # sequence_id -> [(sample_id, species), ...]

NO_SAMPLE_DETAIL = (
    "no sample has this sequence_id; typed anyway (see lineages.tsv); "
    "add the sequence_id to the sample's row in its sheet"
)
NO_SEQUENCE_DETAIL = (
    "no sequence with this id in the sequences folder; add its FASTA "
    "record or correct the sequence_id in the sheet"
)


def samples_by_sequence(samples: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """(sample_id, species) of every sample naming a sequence, by stripped ``sequence_id``."""
    wanted = samples.loc[samples["sequence_id"].astype(str).str.strip() != ""]
    by_sequence: dict[str, list[tuple[str, str]]] = {}
    for row in wanted.itertuples(index=False):
        key = str(row.sequence_id).strip()
        by_sequence.setdefault(key, []).append((str(row.sample_id), str(row.species)))
    return by_sequence


def _unmatched(
    issue: str,
    sequence_id: str,
    linked: Sequence[tuple[str, str]],
    source_file: str,
    record: int | str,
    detail: str,
) -> dict[str, object]:
    """One row of the unmatched table; ``linked`` samples are listed ';'-separated."""
    sample_ids = ";".join(s for s, _ in linked)
    values = (issue, sequence_id, sample_ids, source_file, record, detail)
    return dict(zip(UNMATCHED_COLUMNS, values, strict=True))


def resolve_links(typed_ids: Sequence[str], by_sequence: Linked) -> dict[str, str]:
    """Sheet ``sequence_id`` of each typed id: the same id, else the one sheet id naming the same
    accession, when that pairing is unique both ways (``X`` = ``X.1``, ``X.1`` != ``X.2``)."""
    links = {seq_id: seq_id for seq_id in typed_ids if seq_id in by_sequence}
    free_sheet = [k for k in by_sequence if k not in links]
    free_typed = [t for t in typed_ids if t not in links]
    for seq_id in free_typed:
        match = find_accession(seq_id, free_sheet)
        if match is not None and find_accession(match, free_typed) == seq_id:
            links[seq_id] = match
    return links


def _attach_samples(typed: pd.DataFrame, by_sequence: Linked, links: dict) -> pd.DataFrame:
    """Insert sample_id and species after sequence_id; flag sequences without a sample and those
    linked through their accession."""
    ids = typed["sequence_id"].tolist()
    linked = [by_sequence.get(links.get(seq_id, ""), []) for seq_id in ids]
    lineages = typed.copy()
    lineages.insert(1, "sample_id", [";".join(s for s, _ in pairs) for pairs in linked])
    lineages.insert(
        2, "species", [";".join(dict.fromkeys(sp for _, sp in pairs)) for pairs in linked]
    )
    for seq_id in ids:
        if links.get(seq_id, seq_id) != seq_id:
            chosen = lineages["sequence_id"] == seq_id
            lineages = append_flag(lineages, chosen, f"linked_by_accession:{links[seq_id]}")
    return append_flag(lineages, lineages["sample_id"] == "", "no_sample")


def _unmatched_rows(
    typed: pd.DataFrame, by_sequence: Linked, links: dict, rejections: Sequence[Rejection]
) -> list[dict[str, object]]:
    """Sequences without a sample, rejected records, then samples without a sequence."""
    rows = [
        _unmatched(
            "sequence_without_sample", r.sequence_id, [], r.source_file, r.record, NO_SAMPLE_DETAIL
        )
        for r in typed.itertuples(index=False)
        if r.sequence_id not in links
    ]
    for r in rejections:
        linked = by_sequence.get(r.sequence_id, []) if r.sequence_id else []
        rows.append(
            _unmatched(
                "rejected_sequence", r.sequence_id, linked, r.source_file, r.record, r.reason
            )
        )
    done = set(links.values()) | {r.sequence_id for r in rejections if r.sequence_id}
    rows += [
        _unmatched("sample_without_sequence", key, linked, "", "", NO_SEQUENCE_DETAIL)
        for key, linked in by_sequence.items()
        if key not in done
    ]
    return rows


def link_samples(
    typed: pd.DataFrame, samples: pd.DataFrame, rejections: Sequence[Rejection] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach sample_id/species by ``sequence_id``; list every sequence or sample left unmatched.

    A sequence used by several samples lists them all (';'-separated). Returns the lineages
    table and the unmatched table (issue, sequence_id, sample_id, source_file, record, detail).
    """
    by_sequence = samples_by_sequence(samples)
    links = resolve_links(typed["sequence_id"].tolist(), by_sequence)
    lineages = _attach_samples(typed, by_sequence, links)
    unmatched = _unmatched_rows(typed, by_sequence, links, rejections)
    return lineages, pd.DataFrame(unmatched, columns=list(UNMATCHED_COLUMNS))
