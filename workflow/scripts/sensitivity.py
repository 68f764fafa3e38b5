"""Rule sensitivity: Morris screening of every configured assumption (SALib)."""

from disease_risk.logs import run_rule
from disease_risk.transmission.stage import sensitivity

run_rule(sensitivity, snakemake)
