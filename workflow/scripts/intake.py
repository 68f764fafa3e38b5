"""Snakemake rule intake: sheets -> samples.tsv, rejected_rows.tsv, intake_summary.tsv."""

from disease_risk.intake import intake_step
from disease_risk.logs import log_to

with log_to(snakemake.log[0]) as log:
    intake_step(
        sheets=list(snakemake.input.sheets),
        species_file=snakemake.input.species,
        assays_file=snakemake.input.assays,
        layouts_file=snakemake.input.layouts,
        strict=snakemake.params.strict,
        outputs=(snakemake.output.samples, snakemake.output.rejected, snakemake.output.summary),
        log=log,
    )
