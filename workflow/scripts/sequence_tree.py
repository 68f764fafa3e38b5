"""Rule sequence_tree: aligned.fasta -> distances.tsv, neighbour-joining tree.nwk, tree.png."""

from disease_risk.logs import run_rule
from disease_risk.sequences.stage import sequence_tree

run_rule(sequence_tree, snakemake)
