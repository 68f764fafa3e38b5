"""Rule sequence_typing: H sequences + samples.tsv -> lineages.tsv, unmatched.tsv, aligned.fasta."""

from disease_risk.logs import run_rule
from disease_risk.sequences.stage import sequence_typing

run_rule(sequence_typing, snakemake)
