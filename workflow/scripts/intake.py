"""Rule intake: every sheet in samples_dir -> samples.tsv, rejected_rows.tsv, intake_summary.tsv."""

from disease_risk.intake.stage import intake
from disease_risk.logs import run_rule

run_rule(intake, snakemake)
