"""The sequence rules on the example data: typing and the tree through Snakemake."""

from __future__ import annotations

import pandas as pd
import pytest
from Bio import Phylo
from conftest import run_snakemake

from disease_risk.sequences.examples import (
    UNLINKED_ID,
    simulate_panel,
)


@pytest.mark.slow
def test_workflow_types_example_and_draws_tree(workflow_dir):
    targets = ["results/sequences/lineages.tsv", "results/sequences/tree.png"]
    result = run_snakemake(workflow_dir, *targets, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = workflow_dir / "results" / "sequences"
    lineages = pd.read_csv(out / "lineages.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(lineages.columns[:10]) == [
        "sequence_id",
        "sample_id",
        "species",
        "nearest_reference",
        "identity",
        "runner_up",
        "lineage",
        "residue_530",
        "residue_549",
        "qc_flags",
    ]
    assert (lineages["lineage"] == "unassigned").sum() == 1
    assert lineages.loc[lineages["sequence_id"] == UNLINKED_ID, "sample_id"].tolist() == [""]
    tree = Phylo.read(out / "tree.nwk", "newick")
    tips = {t.name for t in tree.get_terminals()}
    assert set(lineages["sequence_id"]) <= tips
    assert len(tips) == len(lineages) + len(simulate_panel()[0])
    assert (out / "tree.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    unmatched = pd.read_csv(out / "unmatched.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert unmatched["sequence_id"].tolist() == [UNLINKED_ID]
    log = (workflow_dir / "results/logs/sequences/sequence_typing.log").read_text()
    assert "unassigned, nearest reference" in log
