"""Distances and the neighbour-joining tree of references and samples, and its drawing.

JC69 distances over shared A/C/G/T columns of frame-coordinate sequences (from ``aligned.fasta``),
a midpoint-rooted neighbour-joining tree, and a PNG with tips coloured by host group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from Bio import Phylo
from Bio.Phylo.BaseTree import Tree
from Bio.Phylo.TreeConstruction import DistanceMatrix, DistanceTreeConstructor

from disease_risk.figures import pyplot, save_png
from disease_risk.sequences.reading import UNAMBIGUOUS

NUCLEOTIDE_CODES = np.full(256, -1, dtype=np.int8)
for _code, _base in enumerate(UNAMBIGUOUS):
    NUCLEOTIDE_CODES[ord(_base)] = _code

HOST_GROUP_COLOURS = {
    "tiger / leopard / other big cat": "#d62728",
    "domestic dog": "#1f77b4",
    "other wild host": "#2ca02c",
    "unknown host": "#7f7f7f",
}
BIG_CATS = ("tiger", "leopard", "lion", "panthera", "puma", "cheetah", "jaguar", "lynx")
DEFAULT_TITLE = (
    "CDV H gene neighbour-joining tree (JC69 distances, midpoint-rooted)\n"
    "bold: sample sequences [lineage call]; 'ref': reference panel (sublineage, host)"
)


def jukes_cantor(p: float | np.ndarray) -> float | np.ndarray:
    """JC69 distance from a p-distance (capped at 3 substitutions/site when saturated); a float
    for a float, an array for an array (the bootstrap trees of :mod:`.placement`)."""
    p = np.asarray(p, dtype=float)
    distance = np.where(p >= 0.74, 3.0, -0.75 * np.log(1.0 - 4.0 * np.minimum(p, 0.74) / 3.0))
    return float(distance) if distance.ndim == 0 else distance


def _direct_distances(codes: np.ndarray, min_overlap: int) -> np.ndarray:
    """JC69 distance of every pair sharing ``min_overlap`` A/C/G/T columns, NaN otherwise."""
    usable = codes >= 0
    n = len(codes)
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
    return distance


def _bridge_missing(distance: np.ndarray, bridge_index: list[int]) -> None:
    """Fill missing pairs (in place) with the shortest path through one bridge sequence."""
    n = len(distance)
    for i in range(n):
        for j in range(n):
            if np.isnan(distance[i, j]) and bridge_index:
                via = distance[i, bridge_index] + distance[bridge_index, j]
                distance[i, j] = np.nanmin(via) if not np.all(np.isnan(via)) else np.nan
    if np.isnan(distance).any():
        distance[np.isnan(distance)] = np.nanmax(distance)


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
    distance = _direct_distances(codes, min_overlap)
    _bridge_missing(distance, [names.index(b) for b in bridges if b in projections])
    lower = [[float(distance[i, j]) for j in range(i + 1)] for i in range(len(names))]
    return DistanceMatrix(names, lower)


def distance_table(matrix: DistanceMatrix) -> pd.DataFrame:
    """The square distance table of ``distances.tsv`` (first column ``sequence``)."""
    names = list(matrix.names)
    square = pd.DataFrame(
        [[matrix[a, b] for b in names] for a in names], index=names, columns=names
    )
    return square.rename_axis("sequence").reset_index()


def neighbour_joining_tree(matrix: DistanceMatrix) -> Tree:
    """Neighbour-joining tree, midpoint-rooted and ladderized, inner nodes unnamed."""
    tree = DistanceTreeConstructor().nj(matrix)
    tree.root_at_midpoint()
    tree.ladderize()
    for clade in tree.get_nonterminals():
        clade.name = None
    return tree


def write_newick(tree: Tree, path: str | Path) -> None:
    """Write ``tree`` as Newick (parents created)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Phylo.write(tree, str(path), "newick")


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


def _style_axes(ax, tips: pd.DataFrame, title: str) -> None:
    """Bold sample labels, host-group legend, title and a bare y axis."""
    from matplotlib.patches import Patch

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
    ax.set_title(title or DEFAULT_TITLE, fontsize=10)
    ax.set_xlabel("substitutions per site")
    ax.set_ylabel("")
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def draw_tree(tree: Tree, tips: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Draw ``tree`` to a PNG, tip labels coloured by host group, samples in bold.

    ``tips``: index = tip name, columns ``display``, ``host`` and ``kind``.
    """
    plt = pyplot()
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
    _style_axes(ax, tips, title)
    fig.tight_layout()
    save_png(fig, path, dpi=130)
