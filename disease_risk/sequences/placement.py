"""Placement of a sequence on the panel's neighbour-joining tree, and its bootstrap support.

Issue 16's second, tree-based test of a lineage call: is the sequence *inside* the called
lineage on a tree of the references, and how often over resampled sites? Measured on the real
panel as a veto on the spread rule's call (:func:`disease_risk.sequences.calibration.
placement_grid`, ``bench/lineage_typing.py --placement``) and **not adopted**: it cannot bring
back held genes lost by distance (nt 1-600), and in nt 1225-1824 held and forced calls' supports
interleave, so its threshold would be set by single genes (README "Sequence typing").

- Tree: the references and the sequence, JC69 distances over the sequence's columns
  (:func:`~disease_risk.sequences.tree.jukes_cantor`), joined by neighbour joining (Saitou & Nei
  1987, Molecular Biology and Evolution 4:406-425), kept as its splits.
- Placement: rooted on the reference farthest from the sequence, the sequence's sister group. If
  it is all one lineage, that lineage (the sequence sits inside it or on its stem); otherwise the
  lineage with the smallest clade holding the sister group and all the lineage's members (so a
  paraphyletic lineage keeps what nests inside it: L3 around L2 on H); :data:`BACKBONE` if no
  lineage's clade holds it (a branch between lineages: a new lineage).
- Support: the share of bootstrap replicates (sites resampled with replacement; Felsenstein 1985,
  Evolution 39:783-791) with each placement: the distance-tree analogue of the likelihood weight
  ratio summed over a clade's edges in pplacer and EPA (Matsen et al. 2010, BMC Bioinformatics
  11:538; Berger et al. 2011, Systematic Biology 60:291-302), which need a maximum-likelihood
  reference tree and programs outside Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disease_risk.sequences.tree import jukes_cantor

BACKBONE = "backbone"  # placement outside every lineage's clade


@dataclass(frozen=True)
class SiteComparisons:
    """Per site of the sequence's columns: which references it matches and is compared with,
    and the same for every pair of references. Distances are weighted sums over sites, so a
    bootstrap replicate only reweights them."""

    query_same: np.ndarray  # references x sites, 0/1 as float (fast weighted sums)
    query_compared: np.ndarray
    pair_same: np.ndarray  # references x references x sites, 0/1 as float
    pair_compared: np.ndarray

    @property
    def sites(self) -> int:
        return self.query_same.shape[1]


def site_comparisons(query: np.ndarray, references: np.ndarray) -> SiteComparisons:
    """Comparisons of the one-hot ``query`` and ``references`` over the query's A/C/G/T columns."""
    columns = query.any(axis=1)
    q, r = query[columns], references[:, columns]
    called = r.any(axis=2).astype(float)
    bases = r.astype(float)
    return SiteComparisons(
        query_same=(r & q).any(axis=2).astype(float),
        query_compared=called,
        pair_same=np.einsum("ics,jcs->ijc", bases, bases),
        pair_compared=called[:, None, :] * called[None, :, :],
    )


def tree_distances(comparisons: SiteComparisons, weights: np.ndarray) -> np.ndarray:
    """JC69 distances between the references and the sequence (last row and column) over the
    sites weighted by ``weights`` (all 1: the data; bootstrap counts: a replicate)."""
    c, weights = comparisons, np.asarray(weights, dtype=float)
    query = 1.0 - (c.query_same @ weights) / np.maximum(c.query_compared @ weights, 1)
    pair = 1.0 - (c.pair_same @ weights) / np.maximum(c.pair_compared @ weights, 1)
    n = len(query)
    p = np.zeros((n + 1, n + 1))
    p[:n, :n], p[n, :n], p[:n, n] = pair, query, query
    np.fill_diagonal(p, 0.0)
    return jukes_cantor(p)


def neighbour_joining_splits(distance: np.ndarray) -> list[frozenset[int]]:
    """The tip sets neighbour joining joins on ``distance`` (and the last three clusters): one
    side of every split of the unrooted tree. Topology only, vectorised: the bootstrap needs
    thousands of trees (``tree.neighbour_joining_tree`` draws the one shown to people)."""
    d = np.asarray(distance, dtype=float).copy()
    clusters = [frozenset([i]) for i in range(len(d))]
    active = list(range(len(d)))
    splits = []
    while len(active) > 3:
        sub = d[np.ix_(active, active)]
        totals = sub.sum(axis=1)
        q = (len(active) - 2) * sub - totals[:, None] - totals[None, :]
        np.fill_diagonal(q, np.inf)
        i, j = np.unravel_index(int(np.argmin(q)), q.shape)
        a, b = active[i], active[j]
        joined = 0.5 * (d[a] + d[b] - d[a, b])
        d = np.block([[d, joined[:, None]], [joined[None, :], np.zeros((1, 1))]])
        clusters.append(clusters[a] | clusters[b])
        splits.append(clusters[-1])
        active = [k for k in active if k not in (a, b)] + [len(clusters) - 1]
    return splits + [clusters[k] for k in active]


def _rooted_clades(splits: list[frozenset[int]], outgroup: int, tips: int) -> list[frozenset[int]]:
    """The clades of the tree rooted on ``outgroup``: each split's side without it."""
    everything = frozenset(range(tips))
    return [side if outgroup not in side else everything - side for side in splits]


def _smallest_clade(clades: list[frozenset[int]], members: frozenset[int]) -> frozenset[int] | None:
    holding = [c for c in clades if members <= c]
    return min(holding, key=len) if holding else None


def placement_lineage(distance: np.ndarray, lineage: np.ndarray) -> str:
    """Lineage of the sequence's place on the neighbour-joining tree of ``distance`` (references
    labelled ``lineage``, the sequence last), or :data:`BACKBONE` (see the module docstring)."""
    query = len(lineage)
    outgroup = int(np.argmax(distance[query, :query]))
    clades = _rooted_clades(neighbour_joining_splits(distance), outgroup, query + 1)
    placed = _smallest_clade([c for c in clades if len(c) > 1], frozenset([query]))
    if placed is None:
        return BACKBONE
    sister = placed - {query}
    labels = sorted({str(lineage[i]) for i in sister})
    if len(labels) == 1:
        return labels[0]
    holding = []
    for label in labels:
        clade = _smallest_clade(clades, frozenset(np.flatnonzero(lineage == label).tolist()))
        if clade is not None and sister <= clade:
            holding.append((len(clade), label))
    return min(holding)[1] if holding else BACKBONE


def placement_support(
    query: np.ndarray,
    references: np.ndarray,
    lineage: np.ndarray,
    rng: np.random.Generator,
    replicates: int,
) -> dict[str, float]:
    """Share of ``replicates`` bootstrap trees (sites resampled) placing the one-hot ``query``
    in each lineage (or :data:`BACKBONE`)."""
    comparisons = site_comparisons(query, references)
    sites = comparisons.sites
    counts = rng.multinomial(sites, np.full(sites, 1.0 / sites), size=replicates)
    placed = [placement_lineage(tree_distances(comparisons, w), lineage) for w in counts]
    labels, times = np.unique(placed, return_counts=True)
    return {str(label): float(n / replicates) for label, n in zip(labels, times, strict=True)}
