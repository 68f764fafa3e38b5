"""Summarise all scenarios: risk table and plots."""

from disease_risk.logs import log_to

with log_to(snakemake.log[0]):
    from disease_risk import transmission as tx

    tx.summarise_files(
        snakemake.input.replicates,
        snakemake.output.summary,
        snakemake.output.sizes,
        snakemake.output.leopard,
    )
