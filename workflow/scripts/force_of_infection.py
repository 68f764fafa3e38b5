"""Rule force_of_infection: samples.tsv -> catalytic-model fit, FOI table and figure."""

from disease_risk.logs import run_rule
from disease_risk.serology.stage import force_of_infection

run_rule(force_of_infection, snakemake)
