"""Snakemake rule seroprevalence: samples.tsv -> hierarchical true-prevalence fit and outputs."""

from disease_risk.intake import load_assays, read_samples_table
from disease_risk.logs import log_to
from disease_risk.serology_stage import prevalence_stage

with log_to(snakemake.log[0]):
    prevalence_stage(
        samples=read_samples_table(snakemake.input.samples),
        assays=load_assays(snakemake.input.assays),
        section=snakemake.params.section,
        seed=snakemake.params.seed,
        outputs=dict(snakemake.output.items()),
        threads=snakemake.threads,
    )
