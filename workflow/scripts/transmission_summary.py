"""Rule transmission_summary: all scenarios' replicates -> summary.tsv and figures."""

from disease_risk.logs import run_rule
from disease_risk.transmission.stage import transmission_summary

run_rule(transmission_summary, snakemake)
