"""Rule calibration: ABC-SMC of the transmission parameters to the serology force of infection."""

from disease_risk.logs import run_rule
from disease_risk.transmission.stage import calibration

run_rule(calibration, snakemake)
