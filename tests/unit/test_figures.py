"""Figure labels are plain text: a site or species named like TeX never breaks a figure (#18)."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from disease_risk.figures import png_bytes, pyplot
from disease_risk.serology.plots import forest_plot

TEX = r"$\foo$ Барабаш"


def test_maths_parsing_would_fail_on_such_a_label():
    """The hazard is real: with maths parsing on, matplotlib cannot draw the label."""
    plt = pyplot()
    with matplotlib.rc_context({"text.parse_math": True}):
        fig, ax = plt.subplots()
        ax.set_title(TEX)
        with pytest.raises(ValueError):
            png_bytes(fig)


def test_serology_figure_draws_a_tex_like_site_name(tmp_path):
    summary = pd.DataFrame({
        "species": ["amur_leopard", "amur_leopard"], "site": [TEX, "all"], "year": ["all", "all"],
        "n_tested": [5, 5], "n_positive": [1, 1], "apparent_prevalence": [0.2, 0.2],
        "true_prevalence_median": [0.2, 0.2], "true_prevalence_lo95": [0.05, 0.05],
        "true_prevalence_hi95": [0.5, 0.5],
    })
    out = tmp_path / "forest.png"
    forest_plot(summary, out, {"amur_leopard": r"$\bar$ leopard"})
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sequence_tree_draws_tex_like_fasta_ids(tmp_path):
    import io

    from Bio import Phylo

    from disease_risk.sequences.tree import draw_tree

    tree = Phylo.read(io.StringIO("(A:0.1,B:0.2,C:0.05);"), "newick")
    tips = pd.DataFrame({"display": [r"$\foo$", "B_{x}", "C"], "host": ["dog", "tiger", "fox"],
                         "kind": ["sample", "reference", "reference"]}, index=["A", "B", "C"])
    out = tmp_path / "tree.png"
    draw_tree(tree, tips, out, title=r"$\bar$")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
