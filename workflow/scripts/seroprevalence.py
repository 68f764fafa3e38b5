"""Rule seroprevalence: samples.tsv -> hierarchical true-prevalence fit, tables and figures."""

from disease_risk.logs import run_rule
from disease_risk.serology.stage import seroprevalence

run_rule(seroprevalence, snakemake)
