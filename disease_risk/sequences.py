"""CDV haemagglutinin (H) typing: read and check sequence files, QC, lineage, markers, tree.

Every sequence is aligned (Biopython ``PairwiseAligner``, global with free end gaps, so partial
sequences and overhangs cost nothing) to a *frame reference*: a complete H coding sequence from the
reference panel. That alignment places the sequence in frame coordinates (the 1824-nt / 607-aa H
numbering), which gives the marker residues, a quick identity to every panel reference (to pick
candidates), and the columns used for the distance matrix. The few best candidates are then
re-aligned pairwise and the nearest reference is the one with the highest identity over the region
the sequence covers. A lineage is called only if the nearest reference is within
``max_divergence``; otherwise the call is ``unassigned`` (possible new lineage), and a sequence that
is not recognisably CDV H is ``untyped``. Nothing is forced and nothing is dropped: unusable records
are returned as :class:`Rejection` rows with the file, record number and reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from Bio import Phylo, SeqIO
from Bio.Align import Alignment, PairwiseAligner
from Bio.Phylo.BaseTree import Tree
from Bio.Phylo.TreeConstruction import DistanceMatrix, DistanceTreeConstructor
from Bio.Seq import Seq

FASTA_SUFFIXES = (".fasta", ".fa", ".fas", ".fna", ".ffn", ".fsa", ".fasta.txt")
GENBANK_SUFFIXES = (".gb", ".gbk", ".genbank", ".gbff")
UNAMBIGUOUS = "ACGT"
AMBIGUITY_CODES = "RYSWKMBDHVN"
GAP_CHARACTERS = "-.~"
AMINO_ACID_ONLY = set("EFIJLOPQZX*")  # letters that are not nucleotide codes
STOP_CODONS = ("TAA", "TAG", "TGA")
FRAMESHIFT_MIN_NT = 30

LINEAGE_COLUMNS = [
    "sequence_id",
    "sample_id",
    "species",
    "nearest_reference",
    "identity",
    "runner_up",
    "lineage",
]
EXTRA_COLUMNS = [
    "qc_flags",
    "lineage_name",
    "nearest_lineage",
    "nearest_sublineage",
    "runner_up_identity",
    "runner_up_lineage",
    "coverage",
    "covered_start",
    "covered_end",
    "length",
    "ambiguous_bases",
    "marker_flags",
    "source_file",
    "record",
]
UNMATCHED_COLUMNS = ["issue", "sequence_id", "sample_id", "source_file", "record", "detail"]
UNASSIGNED = "unassigned"
UNTYPED = "untyped"


class SequenceInputError(ValueError):
    """A sequence file or reference panel cannot be used; the message names file, record and fix."""


@dataclass(frozen=True)
class SequenceRecord:
    """One nucleotide sequence read from a file (upper case, gaps removed, U read as T)."""

    id: str
    seq: str
    source_file: str
    record: int
    description: str = ""


@dataclass(frozen=True)
class Rejection:
    """A record (or a whole file, ``record`` 0) that could not be used, and why."""

    source_file: str
    record: int
    sequence_id: str
    reason: str

    def message(self) -> str:
        where = f"{self.source_file}" + (f", record {self.record}" if self.record else "")
        who = f" ({self.sequence_id!r})" if self.sequence_id else ""
        return f"{where}{who}: {self.reason}"


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
        keys = {
            "max_divergence",
            "call_level",
            "min_h_identity",
            "min_length",
            "full_coverage",
            "min_margin",
            "candidates",
            "protein_length",
        }
        kwargs = {key: section[key] for key in keys if key in section}
        if "marker_positions" in section:
            kwargs["marker_positions"] = tuple(int(p) for p in section["marker_positions"])
        if "marker_flags" in section:
            kwargs["marker_flags"] = tuple(
                (int(flag["position"]), str(flag["residue"]).upper())
                for flag in section["marker_flags"]
            )
        return cls(**kwargs)


# --------------------------------------------------------------------------------------------
# Reading and checking sequence files


def sequence_format(path: str | Path) -> str | None:
    """'fasta' or 'genbank' from the file name, or None for files that are not sequence files."""
    name = Path(path).name.lower()
    if name.endswith(FASTA_SUFFIXES):
        return "fasta"
    if name.endswith(GENBANK_SUFFIXES):
        return "genbank"
    return None


def list_sequence_files(folder: str | Path) -> tuple[list[Path], list[Path]]:
    """Sequence files in ``folder`` (sorted) and the other files there (not read; READMEs and
    hidden files are not listed)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    used, ignored = [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.name.startswith((".", "~$")) or path.name.upper().startswith("README"):
            continue
        (used if sequence_format(path) else ignored).append(path)
    return used, ignored


def check_nucleotides(seq: str) -> str | None:
    """Why ``seq`` (upper case, gaps removed) is not a usable nucleotide sequence, or None."""
    if not seq:
        return "empty sequence; remove the record or add its bases"
    if all(c.isalpha() or c == "*" for c in seq):
        amino_only = sorted(set(seq) & AMINO_ACID_ONLY)
        if amino_only:
            return (
                f"looks like a protein (amino-acid) sequence (letters {', '.join(amino_only)}); "
                "supply the nucleotide sequence of the H gene"
            )
    bad = sorted(set(seq) - set(UNAMBIGUOUS + AMBIGUITY_CODES))
    if bad:
        first = min(seq.index(c) for c in bad) + 1
        shown = ", ".join(repr(c) for c in bad[:8])
        return (
            f"contains characters that are not nucleotide codes ({shown}; first at position "
            f"{first}); only A C G T, IUPAC ambiguity codes and gaps are allowed"
        )
    if not any(c in UNAMBIGUOUS for c in seq):
        return "contains no A/C/G/T bases (only ambiguity codes); nothing to type"
    return None


def clean_sequence(raw: str) -> str:
    """Upper case, gaps and whitespace removed, RNA U read as T."""
    text = re.sub(r"\s+", "", raw).upper().replace("U", "T")
    return text.translate(str.maketrans("", "", GAP_CHARACTERS))


def read_sequence_file(path: str | Path) -> tuple[list[SequenceRecord], list[Rejection]]:
    """Read one FASTA/GenBank file into checked records and rejections (file or record level)."""
    path = Path(path)
    name = str(path)
    fmt = sequence_format(path)
    if fmt is None:
        return [], [Rejection(name, 0, "", "not a sequence file name (.fasta/.fa/.gb ...)")]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return [], [Rejection(name, 0, "", "not a text file; save it as plain-text FASTA")]
    if not text.strip():
        return [], [Rejection(name, 0, "", "file is empty; add sequences or remove the file")]
    first_line = text.lstrip().splitlines()[0]
    if fmt == "fasta" and not first_line.startswith(">"):
        return [], [
            Rejection(
                name,
                0,
                "",
                f"not FASTA: the first line should start with '>' but is {first_line[:60]!r}",
            )
        ]
    try:
        with open(path, encoding="utf-8-sig") as handle:
            parsed = list(SeqIO.parse(handle, fmt))
    except ValueError as error:
        reason = str(error).splitlines()[0]
        return [], [Rejection(name, 0, "", f"cannot be read as {fmt}: {reason}")]
    if not parsed:
        return [], [Rejection(name, 0, "", f"no {fmt} records found; is this a {fmt} file?")]
    records, rejections = [], []
    for number, parsed_record in enumerate(parsed, start=1):
        seq_id = parsed_record.id
        try:
            raw = str(parsed_record.seq)
        except Exception:  # GenBank records without sequence data (e.g. CONTIG only)
            raw = ""
        seq = clean_sequence(raw)
        reason = "record has no id after '>'" if not seq_id else check_nucleotides(seq)
        if reason:
            rejections.append(Rejection(name, number, seq_id, reason))
        else:
            records.append(SequenceRecord(seq_id, seq, name, number, parsed_record.description))
    return records, rejections


def read_sequence_files(
    paths: Iterable[str | Path],
) -> tuple[list[SequenceRecord], list[Rejection]]:
    """Read several files; ids must be unique across all of them (every copy is rejected)."""
    records: list[SequenceRecord] = []
    rejections: list[Rejection] = []
    for path in paths:
        found, rejected = read_sequence_file(path)
        records.extend(found)
        rejections.extend(rejected)
    by_id: dict[str, list[SequenceRecord]] = {}
    for record in records:
        by_id.setdefault(record.id, []).append(record)
    kept = []
    for record in records:
        copies = by_id[record.id]
        if len(copies) == 1:
            kept.append(record)
            continue
        others = "; ".join(
            f"{other.source_file} record {other.record}" for other in copies if other is not record
        )
        rejections.append(
            Rejection(
                record.source_file,
                record.record,
                record.id,
                f"duplicate sequence id (also {others}); give each sequence its own id",
            )
        )
    return kept, rejections


def raise_for_rejections(rejections: Sequence[Rejection], what: str) -> None:
    """Raise one :class:`SequenceInputError` listing every rejection (no-op when empty)."""
    if rejections:
        lines = "\n".join(f"  - {r.message()}" for r in rejections)
        raise SequenceInputError(f"{what}: {len(rejections)} problem(s):\n{lines}")


# --------------------------------------------------------------------------------------------
# Reference panel

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
    for row_number, row in enumerate(table.itertuples(index=False), start=2):
        if not row.lineage:
            raise SequenceInputError(
                f"{path}, row {row_number} ({row.seq_id!r}): lineage is empty; fill in the "
                "lineage of every reference (e.g. L5)"
            )
    duplicated = table["seq_id"][table["seq_id"].duplicated()].tolist()
    if duplicated:
        raise SequenceInputError(f"{path}: seq_id listed more than once: {', '.join(duplicated)}")
    table.loc[table["sublineage"] == "", "sublineage"] = table["lineage"]
    return table.set_index("seq_id", drop=False)


def is_complete_cds(seq: str, protein_length: int) -> bool:
    """True for ATG ... stop with exactly ``protein_length`` sense codons and no internal stop."""
    if len(seq) != 3 * (protein_length + 1) or not seq.startswith("ATG"):
        return False
    if seq[-3:] not in STOP_CODONS or set(seq) - set(UNAMBIGUOUS):
        return False
    return "*" not in str(Seq(seq[:-3]).translate())


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

    def without(self, seq_id: str, protein_length: int = 607) -> ReferencePanel:
        """The panel minus one reference (for leave-one-out); re-framed only if it was the frame."""
        sequences = {k: v for k, v in self.sequences.items() if k != seq_id}
        table = self.table.drop(index=seq_id)
        if seq_id != self.frame_id:
            projections = {k: v for k, v in self.projections.items() if k != seq_id}
            return ReferencePanel(sequences, table, self.frame_id, projections, self.source)
        return build_panel(sequences, table, None, protein_length, self.source)


def build_panel(
    sequences: Mapping[str, str],
    table: pd.DataFrame,
    frame_reference: str | None = None,
    protein_length: int = 607,
    source: str = "reference panel",
) -> ReferencePanel:
    """Check the panel, choose the frame reference and project every reference onto it."""
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
    if frame_reference is not None:
        if frame_reference not in sequences:
            raise SequenceInputError(
                f"{source}: frame_reference {frame_reference!r} is not in the panel"
            )
        if not is_complete_cds(sequences[frame_reference], protein_length):
            raise SequenceInputError(
                f"{source}: frame_reference {frame_reference!r} is not a complete "
                f"{protein_length}-codon H coding sequence (ATG ... stop, no internal stop)"
            )
        frame_id = frame_reference
    else:
        complete = [k for k, s in sequences.items() if is_complete_cds(s, protein_length)]
        if not complete:
            raise SequenceInputError(
                f"{source}: no reference is a complete {protein_length}-codon H coding sequence "
                "(ATG ... stop); one is needed to number residues"
            )
        frame_id = complete[0]
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


# --------------------------------------------------------------------------------------------
# Alignment


@lru_cache(maxsize=1)
def _aligner() -> PairwiseAligner:
    aligner = PairwiseAligner(
        mode="global",
        match_score=2.0,
        mismatch_score=-3.0,
        gap_score=-8.0,
    )
    aligner.end_gap_score = 0.0
    aligner.wildcard = "N"
    return aligner


def align(reference: str, query: str) -> Alignment:
    """Best global alignment of ``query`` on ``reference`` with free end gaps (partials welcome)."""
    return _aligner().align(reference, query)[0]


def _blocks(alignment: Alignment) -> tuple[np.ndarray, np.ndarray]:
    target, query = alignment.aligned
    return np.asarray(target, dtype=int).reshape(-1, 2), np.asarray(query, dtype=int).reshape(-1, 2)


@dataclass(frozen=True)
class AlignmentSummary:
    """Identity over the covered region of the reference, plus what QC needs."""

    identity: float
    compared: int
    covered_start: int
    covered_end: int
    frameshift: bool

    @property
    def covered(self) -> int:
        return self.covered_end - self.covered_start


def summarise(alignment: Alignment, reference: str, query: str) -> AlignmentSummary:
    """Identity = identical / (compared aligned bases + internal gap columns), A/C/G/T only."""
    target_blocks, query_blocks = _blocks(alignment)
    if len(target_blocks) == 0:
        return AlignmentSummary(0.0, 0, 0, 0, False)
    ref = np.frombuffer(reference.encode(), dtype="S1")
    qry = np.frombuffer(query.encode(), dtype="S1")
    acgt = np.frombuffer(UNAMBIGUOUS.encode(), dtype="S1")
    matches = compared = 0
    for (ts, te), (qs, qe) in zip(target_blocks, query_blocks, strict=True):
        r, q = ref[ts:te], qry[qs:qe]
        usable = np.isin(q, acgt) & np.isin(r, acgt)
        compared += int(usable.sum())
        matches += int((usable & (r == q)).sum())
    gap_columns = 0
    for i in range(1, len(target_blocks)):
        gap_columns += int(target_blocks[i, 0] - target_blocks[i - 1, 1])
        gap_columns += int(query_blocks[i, 0] - query_blocks[i - 1, 1])
    # out of frame: aligned bases whose query-reference offset differs from the first block's
    # by a non-multiple of 3; a few (indels split or compensated nearby) are not a frameshift
    offsets = (query_blocks[:, 0] - target_blocks[:, 0]) - (
        query_blocks[0, 0] - target_blocks[0, 0]
    )
    lengths = target_blocks[:, 1] - target_blocks[:, 0]
    frameshift = int(lengths[offsets % 3 != 0].sum()) > FRAMESHIFT_MIN_NT
    denominator = compared + gap_columns
    identity = matches / denominator if denominator else 0.0
    return AlignmentSummary(
        identity,
        compared,
        int(target_blocks[0, 0]),
        int(target_blocks[-1, 1]),
        frameshift,
    )


def project(alignment: Alignment, reference_length: int, query: str) -> str:
    """``query`` in reference coordinates: aligned bases in place, '-' elsewhere."""
    out = np.full(reference_length, b"-", dtype="S1")
    qry = np.frombuffer(query.encode(), dtype="S1")
    for (ts, te), (qs, qe) in zip(*_blocks(alignment), strict=True):
        out[ts:te] = qry[qs:qe]
    return out.tobytes().decode()


def projected_identity(a: str, b: str) -> tuple[float, int]:
    """Identity and number of compared columns between two frame-coordinate sequences."""
    x = np.frombuffer(a.encode(), dtype="S1")
    y = np.frombuffer(b.encode(), dtype="S1")
    acgt = np.frombuffer(UNAMBIGUOUS.encode(), dtype="S1")
    usable = np.isin(x, acgt) & np.isin(y, acgt)
    n = int(usable.sum())
    return (float((x[usable] == y[usable]).sum()) / n if n else 0.0), n


def reverse_complement(seq: str) -> str:
    return str(Seq(seq).reverse_complement())


# --------------------------------------------------------------------------------------------
# Markers and reading frame


def residue_at(projection: str, position: int, covered: tuple[int, int]) -> str:
    """Amino acid at H ``position`` (1-based) from a frame projection.

    '' if the codon is not covered, '-' if deleted, 'X' if ambiguous beyond translation.
    """
    start = 3 * (position - 1)
    if start < covered[0] or start + 3 > covered[1]:
        return ""
    codon = projection[start : start + 3]
    if "-" in codon:
        return "-"
    return str(Seq(codon).translate())


def internal_stops(alignment: Alignment, frame_length: int, query: str) -> int:
    """Stop codons in ``query`` read in the frame reference's frame, before the H stop codon."""
    target_blocks, query_blocks = _blocks(alignment)
    if len(target_blocks) == 0:
        return 0
    (ts, te), (qs, _) = target_blocks[0], query_blocks[0]
    first_codon = ts + (-ts) % 3
    if first_codon >= te:
        return 0
    q_start = qs + (first_codon - ts)
    stop_start = frame_length - 3
    q_end = int(query_blocks[-1, 1])
    for (bs, be), (bqs, _) in zip(target_blocks, query_blocks, strict=True):
        if bs <= stop_start < be:
            q_end = bqs + (stop_start - bs)
            break
    coding = query[q_start:q_end]
    coding = coding[: len(coding) - len(coding) % 3]
    return str(Seq(coding).translate()).count("*")


# --------------------------------------------------------------------------------------------
# Typing


def _call(
    identity: float, covered: int, length: int, settings: TypingSettings, label: str
) -> tuple[str, list[str]]:
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


def type_sequence(
    record: SequenceRecord, panel: ReferencePanel, settings: TypingSettings
) -> tuple[dict, str]:
    """Type one sequence: the lineages.tsv row (without sample columns) and its projection."""
    level = settings.call_level
    frame = panel.frame
    seq, frame_alignment, frame_summary, flipped = place_in_frame(record.seq, panel, settings)
    flags = ["reverse_complement"] if flipped else []
    projection = project(frame_alignment, len(frame), seq)
    nearest, runner_up, summaries = nearest_references(
        seq, projection, frame_summary, panel, settings
    )
    nearest_summary = summaries[nearest]
    nearest_label = panel.label(nearest, level)

    lineage, call_flags = _call(
        nearest_summary.identity, nearest_summary.covered, len(seq), settings, nearest_label
    )
    covered = (frame_summary.covered_start, frame_summary.covered_end)
    coverage = frame_summary.covered / len(frame)
    ambiguous = sum(c not in UNAMBIGUOUS for c in seq)
    if lineage != UNTYPED:
        if coverage < settings.full_coverage:
            flags.append("partial")
        if ambiguous:
            flags.append(f"ambiguous_bases:{ambiguous}")
        if nearest_summary.frameshift:
            flags.append("frameshift")
        stops = internal_stops(frame_alignment, len(frame), seq)
        if stops:
            flags.append(f"internal_stop:{stops}")
    flags.extend(call_flags)
    runner_identity = summaries[runner_up].identity if runner_up else math.nan
    if lineage not in (UNTYPED, UNASSIGNED) and runner_up:
        margin = nearest_summary.identity - runner_identity
        if margin <= 1e-12:
            lineage = UNASSIGNED
            flags.append("tied_lineages")
        elif margin < settings.min_margin:
            flags.append("close_call")
    named = lineage not in (UNTYPED, UNASSIGNED)

    residues = {
        f"residue_{p}": (residue_at(projection, p, covered) if lineage != UNTYPED else "")
        for p in settings.marker_positions
    }
    marker_flags = [
        f"{p}{aa}"
        for p, aa in settings.marker_flags
        if lineage != UNTYPED and residue_at(projection, p, covered) == aa
    ]
    row = {
        "sequence_id": record.id,
        "nearest_reference": nearest,
        "identity": nearest_summary.identity,
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
        "marker_flags": ";".join(marker_flags),
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
    residue_columns = [f"residue_{p}" for p in settings.marker_positions]
    columns = [c for c in LINEAGE_COLUMNS if c not in ("sample_id", "species")]
    columns += residue_columns + EXTRA_COLUMNS
    return pd.DataFrame(rows, columns=columns), projections


# --------------------------------------------------------------------------------------------
# Linking to samples


def link_samples(
    typed: pd.DataFrame, samples: pd.DataFrame, rejections: Sequence[Rejection] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach sample_id/species by ``sequence_id``; list every sequence or sample left unmatched.

    A sequence used by several samples lists them all (';'-separated). Returns the lineages
    table and the unmatched table (issue, sequence_id, sample_id, source_file, record, detail).
    """
    wanted = samples.loc[samples["sequence_id"].astype(str).str.strip() != ""]
    by_sequence: dict[str, list[tuple[str, str]]] = {}
    for row in wanted.itertuples(index=False):
        key = str(row.sequence_id).strip()
        by_sequence.setdefault(key, []).append((str(row.sample_id), str(row.species)))
    lineages = typed.copy()
    sample_ids, species, unmatched = [], [], []
    for row in typed.itertuples(index=False):
        linked = by_sequence.get(row.sequence_id, [])
        sample_ids.append(";".join(s for s, _ in linked))
        species.append(";".join(dict.fromkeys(sp for _, sp in linked)))
        if not linked:
            unmatched.append(
                {
                    "issue": "sequence_without_sample",
                    "sequence_id": row.sequence_id,
                    "sample_id": "",
                    "source_file": row.source_file,
                    "record": row.record,
                    "detail": "no sample has this sequence_id; typed anyway (see lineages.tsv); "
                    "add the sequence_id to the sample's row in its sheet",
                }
            )
    lineages.insert(1, "sample_id", sample_ids)
    lineages.insert(2, "species", species)
    no_sample = lineages["sample_id"] == ""
    lineages.loc[no_sample, "qc_flags"] = [
        ";".join(filter(None, [flags, "no_sample"]))
        for flags in lineages.loc[no_sample, "qc_flags"]
    ]
    rejected_ids = {r.sequence_id for r in rejections if r.sequence_id}
    for r in rejections:
        linked = by_sequence.get(r.sequence_id, []) if r.sequence_id else []
        unmatched.append(
            {
                "issue": "rejected_sequence",
                "sequence_id": r.sequence_id,
                "sample_id": ";".join(s for s, _ in linked),
                "source_file": r.source_file,
                "record": r.record,
                "detail": r.reason,
            }
        )
    typed_ids = set(typed["sequence_id"])
    for key, linked in by_sequence.items():
        if key in typed_ids or key in rejected_ids:
            continue
        unmatched.append(
            {
                "issue": "sample_without_sequence",
                "sequence_id": key,
                "sample_id": ";".join(s for s, _ in linked),
                "source_file": "",
                "record": "",
                "detail": "no sequence with this id in the sequences folder; add its FASTA "
                "record or correct the sequence_id in the sheet",
            }
        )
    return lineages, pd.DataFrame(unmatched, columns=UNMATCHED_COLUMNS)


# --------------------------------------------------------------------------------------------
# Distances and tree

NUCLEOTIDE_CODES = np.full(256, -1, dtype=np.int8)
for _code, _base in enumerate(UNAMBIGUOUS):
    NUCLEOTIDE_CODES[ord(_base)] = _code


def jukes_cantor(p: float) -> float:
    """JC69 distance from a p-distance (capped at 3 substitutions/site when saturated)."""
    if p >= 0.74:
        return 3.0
    return -0.75 * math.log(1.0 - 4.0 * p / 3.0)


def distance_matrix(
    projections: Mapping[str, str], bridges: Iterable[str], min_overlap: int = 150
) -> DistanceMatrix:
    """JC69 distances over shared A/C/G/T columns of frame-coordinate sequences.

    Pairs sharing fewer than ``min_overlap`` columns (two partial sequences from different parts
    of H) get the shortest path through one of the ``bridges`` (full-length references):
    min over r of d(a, r) + d(r, b), an upper bound by the triangle inequality.
    """
    names = list(projections)
    codes = np.stack(
        [NUCLEOTIDE_CODES[np.frombuffer(projections[n].encode(), dtype=np.uint8)] for n in names]
    )
    usable = codes >= 0
    n = len(names)
    distance = np.full((n, n), np.nan)
    for i in range(n):
        shared = usable[i] & usable
        overlap = shared.sum(axis=1)
        differ = ((codes[i] != codes) & shared).sum(axis=1)
        for j in range(n):
            if i == j:
                distance[i, j] = 0.0
            elif overlap[j] >= min_overlap:
                distance[i, j] = jukes_cantor(differ[j] / overlap[j])
    bridge_index = [names.index(b) for b in bridges if b in projections]
    for i in range(n):
        for j in range(n):
            if np.isnan(distance[i, j]) and bridge_index:
                via = distance[i, bridge_index] + distance[bridge_index, j]
                distance[i, j] = np.nanmin(via) if not np.all(np.isnan(via)) else np.nan
    if np.isnan(distance).any():
        distance[np.isnan(distance)] = np.nanmax(distance)
    lower = [[float(distance[i, j]) for j in range(i + 1)] for i in range(n)]
    return DistanceMatrix(names, lower)


def neighbour_joining_tree(matrix: DistanceMatrix) -> Tree:
    """Neighbour-joining tree, midpoint-rooted and ladderized, inner nodes unnamed."""
    tree = DistanceTreeConstructor().nj(matrix)
    tree.root_at_midpoint()
    tree.ladderize()
    for clade in tree.get_nonterminals():
        clade.name = None
    return tree


HOST_GROUP_COLOURS = {
    "tiger / leopard / other big cat": "#d62728",
    "domestic dog": "#1f77b4",
    "other wild host": "#2ca02c",
    "unknown host": "#7f7f7f",
}
BIG_CATS = ("tiger", "leopard", "lion", "panthera", "puma", "cheetah", "jaguar", "lynx")


def host_group(host: str) -> str:
    """Colour group of a host name (registry key such as ``amur_tiger`` or a GenBank host)."""
    words = re.sub(r"[^a-z]+", " ", str(host).lower()).strip()
    if not words or words in ("unknown", "na", "nan"):
        return "unknown host"
    if words in ("dog", "domestic dog", "canis familiaris", "canis lupus familiaris"):
        return "domestic dog"
    if "leopard cat" not in words and any(cat in words for cat in BIG_CATS):
        return "tiger / leopard / other big cat"
    return "other wild host"


def draw_tree(tree: Tree, tips: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Draw ``tree`` to a PNG, tip labels coloured by host group, samples in bold.

    ``tips``: index = tip name, columns ``display``, ``host`` and ``kind``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    display = tips["display"].to_dict()
    colours = {display[name]: HOST_GROUP_COLOURS[host_group(h)] for name, h in tips["host"].items()}
    n_tips = max(len(tree.get_terminals()), 1)
    fig, ax = plt.subplots(figsize=(11, max(5.0, 0.24 * n_tips + 1.5)))
    Phylo.draw(
        tree,
        axes=ax,
        do_show=False,
        label_func=lambda clade: display.get(clade.name, "") if clade.is_terminal() else "",
        label_colors=colours,
    )
    samples = set(tips.loc[tips["kind"] != "reference", "display"])
    for text in ax.texts:
        if text.get_text().strip() in samples:
            text.set_fontweight("bold")
    used = sorted({host_group(h) for h in tips["host"]}, key=list(HOST_GROUP_COLOURS).index)
    ax.legend(
        handles=[Patch(color=HOST_GROUP_COLOURS[g], label=g) for g in used],
        loc="lower left",
        fontsize=8,
        title="host",
    )
    default_title = (
        "CDV H gene neighbour-joining tree (JC69 distances, midpoint-rooted)\n"
        "bold: sample sequences [lineage call]; 'ref': reference panel (sublineage, host)"
    )
    ax.set_title(title or default_title, fontsize=10)
    ax.set_xlabel("substitutions per site")
    ax.set_ylabel("")
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=130, metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# Thin readers and writers used by the workflow scripts


def _format_float(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return ""
    return f"{float(value):.6g}"


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """TSV with floats at 6 significant digits, so the same input gives identical bytes."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(_format_float)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep="\t", index=False, lineterminator="\n")


def read_samples(path: str | Path) -> pd.DataFrame:
    """The intake's samples.tsv as strings (sample_id, species, sequence_id are needed)."""
    samples = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = {"sample_id", "species", "sequence_id"} - set(samples.columns)
    if missing:
        raise SequenceInputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return samples


def _tag(value: object) -> str:
    return re.sub(r"\s+", "_", str(value)) or "unknown"


def write_aligned(
    path: str | Path, panel: ReferencePanel, lineages: pd.DataFrame, projections: Mapping[str, str]
) -> None:
    """FASTA of references and typed samples in H frame coordinates ('-' = not covered/deleted).

    Descriptions carry kind, host and lineage for the tree; untyped sequences are left out
    (they are flagged ``not_in_tree`` in lineages.tsv).
    """
    clash = sorted(set(projections) & set(panel.projections))
    if clash:
        raise SequenceInputError(
            f"sequence id(s) also used by the reference panel: {', '.join(clash)}; rename them"
        )
    lines = []
    for ref_id, projection in panel.projections.items():
        row = panel.table.loc[ref_id]
        lines.append(
            f">{ref_id} kind=reference host={_tag(row['host'])} lineage={_tag(row['sublineage'])}"
        )
        lines.append(projection)
    for row in lineages.itertuples(index=False):
        if row.lineage == UNTYPED:
            continue
        host = row.species or "unknown"
        lines.append(
            f">{row.sequence_id} kind=sample host={_tag(host)} lineage={_tag(row.lineage)}"
        )
        lines.append(projections[row.sequence_id])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_aligned(path: str | Path) -> tuple[dict[str, str], pd.DataFrame]:
    """Projections and tip table (kind, host, lineage, display) from :func:`write_aligned`."""
    projections, rows = {}, []
    with open(path, encoding="utf-8") as handle:
        for record in SeqIO.parse(handle, "fasta"):
            projections[record.id] = str(record.seq)
            tags = dict(
                part.split("=", 1) for part in record.description.split()[1:] if "=" in part
            )
            kind = tags.get("kind", "sample")
            if kind == "reference":
                display = f"ref {record.id.split('|')[0]}  {tags.get('lineage', '')} "
                display += f"{tags.get('host', '')}"
            else:
                display = f"{record.id}  {tags.get('host', '')}  [{tags.get('lineage', '')}]"
            rows.append(
                {
                    "tip": record.id,
                    "kind": kind,
                    "host": tags.get("host", "unknown"),
                    "lineage": tags.get("lineage", ""),
                    "display": display,
                }
            )
    return projections, pd.DataFrame(rows).set_index("tip")


def mark_not_in_tree(lineages: pd.DataFrame) -> pd.DataFrame:
    """Flag untyped sequences, which are kept out of the tree."""
    out = lineages.copy()
    untyped = out["lineage"] == UNTYPED
    out.loc[untyped, "qc_flags"] = [
        ";".join(filter(None, [flags, "not_in_tree"])) for flags in out.loc[untyped, "qc_flags"]
    ]
    return out


def run_typing(
    samples_path: str | Path,
    sequence_paths: Sequence[str | Path],
    panel: ReferencePanel,
    settings: TypingSettings,
    strict: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Read, type and link: lineages table, unmatched table and frame projections."""
    records, rejections = read_sequence_files(sequence_paths)
    if strict:
        raise_for_rejections(rejections, "sequence files (strict: true)")
    typed, projections = type_sequences(records, panel, settings)
    lineages, unmatched = link_samples(typed, read_samples(samples_path), rejections)
    return mark_not_in_tree(lineages), unmatched, projections


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


def typing_step(
    samples: str | Path,
    sequence_files: Sequence[str | Path],
    panel_fasta: str | Path,
    panel_table: str | Path,
    settings: Mapping,
    strict: bool,
    outputs: tuple[str | Path, str | Path, str | Path],
    log,
) -> None:
    """Workflow step: read panel and sequences, type, link, write the three outputs."""
    typing_settings = TypingSettings.from_config(settings)
    panel = read_reference_panel(
        panel_fasta,
        panel_table,
        settings.get("frame_reference"),
        typing_settings.protein_length,
    )
    log.info(
        "reference panel %s: %d references, frame %s",
        panel_fasta,
        len(panel.sequences),
        panel.frame_id,
    )
    folder = settings.get("sequences_dir", "")
    for ignored in list_sequence_files(folder)[1] if folder else []:
        log.warning("not a sequence file name, not read: %s", ignored)
    lineages, unmatched, projections = run_typing(
        samples, sequence_files, panel, typing_settings, strict
    )
    for row in unmatched.itertuples(index=False):
        log.warning("%s %s %s: %s", row.issue, row.sequence_id, row.sample_id, row.detail)
    for message in typing_messages(lineages):
        log.warning(message)
    counts = {k: int(v) for k, v in lineages["lineage"].value_counts().sort_index().items()}
    log.info("typed %d sequence(s): %s", len(lineages), counts)
    lineages_path, unmatched_path, aligned_path = outputs
    write_table(lineages, lineages_path)
    write_table(unmatched, unmatched_path)
    write_aligned(aligned_path, panel, lineages, projections)


def tree_step(
    aligned: str | Path,
    min_overlap: int,
    outputs: tuple[str | Path, str | Path, str | Path],
    log,
) -> None:
    """Workflow step: distances, neighbour-joining tree (Newick) and its PNG."""
    projections, tips = read_aligned(aligned)
    references = tips.index[tips["kind"] == "reference"].tolist()
    matrix = distance_matrix(projections, references, min_overlap)
    tree = neighbour_joining_tree(matrix)
    tree_path, distances_path, png_path = outputs
    Path(tree_path).parent.mkdir(parents=True, exist_ok=True)
    Phylo.write(tree, str(tree_path), "newick")
    names = list(matrix.names)
    square = pd.DataFrame(
        [[matrix[a, b] for b in names] for a in names], index=names, columns=names
    )
    write_table(square.rename_axis("sequence").reset_index(), distances_path)
    draw_tree(tree, tips, png_path)
    log.info("tree of %d tips (%d references) written", len(names), len(references))
