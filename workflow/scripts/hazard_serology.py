"""Rule hazard_serology: one pathogen's rows of samples.tsv -> its true prevalence and, where
ages exist, force of infection (the CDV models, the pathogen's own random streams)."""

from disease_risk.logs import run_rule
from disease_risk.serology.stage import hazard_serology

run_rule(hazard_serology, snakemake)
