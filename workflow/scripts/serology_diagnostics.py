"""Snakemake rule serology_diagnostics: merge both models' diagnostics, draw the PPC figure."""

from disease_risk.logs import log_to
from disease_risk.serology_stage import combine_diagnostics

with log_to(snakemake.log[0]):
    combine_diagnostics(list(snakemake.input), snakemake.output.table, snakemake.output.ppc)
