"""Snakemake rule sequence_tree: aligned.fasta -> distances, neighbour-joining tree, PNG."""

from disease_risk.logs import log_to
from disease_risk.sequences import tree_step

with log_to(snakemake.log[0]) as log:
    tree_step(
        aligned=snakemake.input.aligned,
        min_overlap=snakemake.params.min_overlap,
        outputs=(snakemake.output.tree, snakemake.output.distances, snakemake.output.png),
        log=log,
    )
