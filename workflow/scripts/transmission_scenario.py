"""Rule transmission_scenario: every replicate of one scenario -> {scenario}/replicates.parquet."""

from disease_risk.logs import run_rule
from disease_risk.transmission.stage import transmission_scenario

run_rule(transmission_scenario, snakemake)
