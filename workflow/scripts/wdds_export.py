"""Rule wdds_export: samples.tsv -> WDDS disease_data.csv and project_metadata.json (validated)."""

from disease_risk.logs import run_rule
from disease_risk.share.stage import wdds_export

run_rule(wdds_export, snakemake)
