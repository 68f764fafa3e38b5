"""Rule serology_diagnostics: both fits' diagnostics in one table, and the PPC figure."""

from disease_risk.logs import run_rule
from disease_risk.serology.stage import serology_diagnostics

run_rule(serology_diagnostics, snakemake)
