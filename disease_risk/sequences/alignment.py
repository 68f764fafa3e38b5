"""Pairwise alignment to the H frame: identity, frame projection, marker residues and stops.

Biopython ``PairwiseAligner``, global with free end gaps, so partial sequences and overhangs cost
nothing. Aligning a sequence to the *frame reference* (a complete H coding sequence) places it in
frame coordinates (the 1824-nt / 607-aa H numbering): that gives the marker residues, the reading
frame for stop codons, and the columns compared for identities and distances.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from Bio.Align import Alignment, PairwiseAligner
from Bio.Seq import Seq

from disease_risk.sequences.reading import UNAMBIGUOUS

STOP_CODONS = ("TAA", "TAG", "TGA")
FRAMESHIFT_MIN_NT = 30


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


@lru_cache(maxsize=2048)
def align(reference: str, query: str) -> Alignment:
    """Best global alignment of ``query`` on ``reference`` with free end gaps (partials welcome).

    Cached: leave-one-out runs align the same sequence to the same references again and again.
    """
    return _aligner().align(reference, query)[0]


def _blocks(alignment: Alignment) -> tuple[np.ndarray, np.ndarray]:
    target, query = alignment.aligned
    return np.asarray(target, dtype=int).reshape(-1, 2), np.asarray(query, dtype=int).reshape(-1, 2)


def _acgt_mask(*arrays: np.ndarray) -> np.ndarray:
    """Columns where every array holds an unambiguous base (A/C/G/T)."""
    acgt = np.frombuffer(UNAMBIGUOUS.encode(), dtype="S1")
    usable = np.isin(arrays[0], acgt)
    for array in arrays[1:]:
        usable &= np.isin(array, acgt)
    return usable


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


def _is_frameshifted(target_blocks: np.ndarray, query_blocks: np.ndarray) -> bool:
    """More than ``FRAMESHIFT_MIN_NT`` aligned bases out of the first block's frame.

    Out of frame: the query-reference offset differs from the first block's by a non-multiple of
    3; a few such bases (indels split or compensated nearby) are not a frameshift.
    """
    offsets = (query_blocks[:, 0] - target_blocks[:, 0]) - (
        query_blocks[0, 0] - target_blocks[0, 0]
    )
    lengths = target_blocks[:, 1] - target_blocks[:, 0]
    return int(lengths[offsets % 3 != 0].sum()) > FRAMESHIFT_MIN_NT


def summarise(alignment: Alignment, reference: str, query: str) -> AlignmentSummary:
    """Identity = identical / (compared aligned bases + internal gap columns), A/C/G/T only."""
    target_blocks, query_blocks = _blocks(alignment)
    if len(target_blocks) == 0:
        return AlignmentSummary(0.0, 0, 0, 0, False)
    ref = np.frombuffer(reference.encode(), dtype="S1")
    qry = np.frombuffer(query.encode(), dtype="S1")
    matches = compared = 0
    for (ts, te), (qs, qe) in zip(target_blocks, query_blocks, strict=True):
        r, q = ref[ts:te], qry[qs:qe]
        usable = _acgt_mask(q, r)
        compared += int(usable.sum())
        matches += int((usable & (r == q)).sum())
    gap_columns = 0
    for i in range(1, len(target_blocks)):
        gap_columns += int(target_blocks[i, 0] - target_blocks[i - 1, 1])
        gap_columns += int(query_blocks[i, 0] - query_blocks[i - 1, 1])
    denominator = compared + gap_columns
    identity = matches / denominator if denominator else 0.0
    return AlignmentSummary(
        identity,
        compared,
        int(target_blocks[0, 0]),
        int(target_blocks[-1, 1]),
        _is_frameshifted(target_blocks, query_blocks),
    )


def project(alignment: Alignment, reference_length: int, query: str) -> str:
    """``query`` in reference coordinates: aligned bases in place, '-' elsewhere."""
    out = np.full(reference_length, b"-", dtype="S1")
    qry = np.frombuffer(query.encode(), dtype="S1")
    for (ts, te), (qs, qe) in zip(*_blocks(alignment), strict=True):
        out[ts:te] = qry[qs:qe]
    return out.tobytes().decode()


def encode(projection: str) -> np.ndarray:
    """A frame projection one-hot encoded: columns x (A, C, G, T), all False where no base."""
    column = np.frombuffer(projection.encode(), dtype="S1")[:, None]
    return column == np.frombuffer(UNAMBIGUOUS.encode(), dtype="S1")[None, :]


def called_region(projection: str) -> tuple[int, int, int]:
    """0-based start and end of the frame columns holding A/C/G/T, and how many do.

    N padding and other ambiguity codes are not coverage: an N-padded 600-nt amplicon covers
    600 columns, not 1824. (0, 0, 0) if no column holds a base.
    """
    called = np.flatnonzero(encode(projection).any(axis=1))
    if called.size == 0:
        return 0, 0, 0
    return int(called[0]), int(called[-1]) + 1, int(called.size)


def trim_padding(seq: str) -> str:
    """``seq`` without leading and trailing ambiguity codes (N padding of partial sequences)."""
    bases = [i for i, c in enumerate(seq) if c in UNAMBIGUOUS]
    return seq[bases[0] : bases[-1] + 1] if bases else seq


def projected_identity(a: str, b: str) -> tuple[float, int]:
    """Identity and number of compared columns between two frame-coordinate sequences."""
    x = np.frombuffer(a.encode(), dtype="S1")
    y = np.frombuffer(b.encode(), dtype="S1")
    usable = _acgt_mask(x, y)
    n = int(usable.sum())
    return (float((x[usable] == y[usable]).sum()) / n if n else 0.0), n


def reverse_complement(seq: str) -> str:
    return str(Seq(seq).reverse_complement())


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


def is_complete_cds(seq: str, protein_length: int) -> bool:
    """True for ATG ... stop with exactly ``protein_length`` sense codons and no internal stop."""
    if len(seq) != 3 * (protein_length + 1) or not seq.startswith("ATG"):
        return False
    if seq[-3:] not in STOP_CODONS or set(seq) - set(UNAMBIGUOUS):
        return False
    return "*" not in str(Seq(seq[:-3]).translate())
