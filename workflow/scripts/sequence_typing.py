"""Snakemake rule sequence_typing: H sequences + samples.tsv -> lineages.tsv, unmatched.tsv."""

from disease_risk.logs import log_to
from disease_risk.sequences import typing_step

with log_to(snakemake.log[0]) as log:
    typing_step(
        samples=snakemake.input.samples,
        sequence_files=list(snakemake.input.sequences),
        panel_fasta=snakemake.input.panel,
        panel_table=snakemake.input.panel_table,
        settings=dict(snakemake.params.settings),
        strict=snakemake.params.strict,
        outputs=(snakemake.output.lineages, snakemake.output.unmatched, snakemake.output.aligned),
        log=log,
    )
