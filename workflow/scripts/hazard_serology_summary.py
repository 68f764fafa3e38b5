"""Rule hazard_serology_summary: every pathogen's species-level true prevalence in one table."""

from disease_risk.logs import run_rule
from disease_risk.serology.stage import hazard_serology_summary

run_rule(hazard_serology_summary, snakemake)
