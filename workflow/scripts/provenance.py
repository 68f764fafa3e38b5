"""Rule provenance: write results/provenance/ (only run.yaml changes between reruns)."""

from disease_risk.logs import run_rule
from disease_risk.report.stage import provenance

run_rule(provenance, snakemake)
