"""Sequence files: FASTA/GenBank -> checked records plus rejections, and the one FASTA writer.

Nothing is dropped silently: a file or record that cannot be used becomes a :class:`Rejection`
naming the file, the record number and the reason, so the lab can fix it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from Bio import SeqIO

FASTA_SUFFIXES = (".fasta", ".fa", ".fas", ".fna", ".ffn", ".fsa", ".fasta.txt")
GENBANK_SUFFIXES = (".gb", ".gbk", ".genbank", ".gbff")
UNAMBIGUOUS = "ACGT"
AMBIGUITY_CODES = "RYSWKMBDHVN"
GAP_CHARACTERS = "-.~"
AMINO_ACID_ONLY = set("EFIJLOPQZX*")  # letters that are not nucleotide codes


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


def _file_problem(path: Path, fmt: str | None) -> str | None:
    """Why the whole file cannot be parsed (name, encoding, empty, not FASTA), or None."""
    if fmt is None:
        return "not a sequence file name (.fasta/.fa/.gb ...)"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return "not a text file; save it as plain-text FASTA"
    if not text.strip():
        return "file is empty; add sequences or remove the file"
    first_line = text.lstrip().splitlines()[0]
    if fmt == "fasta" and not first_line.startswith(">"):
        return f"not FASTA: the first line should start with '>' but is {first_line[:60]!r}"
    return None


def _check_record(parsed_record, name: str, number: int) -> SequenceRecord | Rejection:
    """One parsed Biopython record as a checked :class:`SequenceRecord` or its rejection."""
    seq_id = parsed_record.id
    try:
        raw = str(parsed_record.seq)
    except Exception:  # GenBank records without sequence data (e.g. CONTIG only)
        raw = ""
    seq = clean_sequence(raw)
    reason = "record has no id after '>'" if not seq_id else check_nucleotides(seq)
    if reason:
        return Rejection(name, number, seq_id, reason)
    return SequenceRecord(seq_id, seq, name, number, parsed_record.description)


def read_sequence_file(path: str | Path) -> tuple[list[SequenceRecord], list[Rejection]]:
    """Read one FASTA/GenBank file into checked records and rejections (file or record level)."""
    path = Path(path)
    name = str(path)
    fmt = sequence_format(path)
    problem = _file_problem(path, fmt)
    if problem:
        return [], [Rejection(name, 0, "", problem)]
    try:
        with open(path, encoding="utf-8-sig") as handle:
            parsed = list(SeqIO.parse(handle, fmt))
    except ValueError as error:
        reason = str(error).splitlines()[0]
        return [], [Rejection(name, 0, "", f"cannot be read as {fmt}: {reason}")]
    if not parsed:
        return [], [Rejection(name, 0, "", f"no {fmt} records found; is this a {fmt} file?")]
    checked = [_check_record(r, name, n) for n, r in enumerate(parsed, start=1)]
    records = [c for c in checked if isinstance(c, SequenceRecord)]
    return records, [c for c in checked if isinstance(c, Rejection)]


def _duplicate_rejection(record: SequenceRecord, copies: Sequence[SequenceRecord]) -> Rejection:
    others = "; ".join(
        f"{other.source_file} record {other.record}" for other in copies if other is not record
    )
    return Rejection(
        record.source_file,
        record.record,
        record.id,
        f"duplicate sequence id (also {others}); give each sequence its own id",
    )


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
    kept = [r for r in records if len(by_id[r.id]) == 1]
    rejections.extend(_duplicate_rejection(r, by_id[r.id]) for r in records if len(by_id[r.id]) > 1)
    return kept, rejections


def fasta_text(entries: Iterable[tuple[str, str]], width: int | None = 70) -> str:
    """FASTA of ``(header, sequence)`` pairs, sequences wrapped at ``width`` (None: one line)."""
    lines = []
    for header, seq in entries:
        lines.append(f">{header}")
        if width:
            lines.extend(seq[i : i + width] for i in range(0, len(seq), width))
        else:
            lines.append(seq)
    return "\n".join(lines) + "\n"


def write_fasta(
    entries: Iterable[tuple[str, str]], path: str | Path, width: int | None = 70
) -> None:
    """Write :func:`fasta_text` to ``path`` (UTF-8, ``\\n``, parents created)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(fasta_text(entries, width), encoding="utf-8")


def raise_for_rejections(rejections: Sequence[Rejection], what: str) -> None:
    """Raise one :class:`SequenceInputError` listing every rejection (no-op when empty)."""
    if rejections:
        lines = "\n".join(f"  - {r.message()}" for r in rejections)
        raise SequenceInputError(f"{what}: {len(rejections)} problem(s):\n{lines}")
