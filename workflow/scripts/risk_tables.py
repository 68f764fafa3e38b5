"""Rule risk_tables: serology, network and scenario results -> DRA tables, workbook, conclusions."""

from disease_risk.logs import run_rule
from disease_risk.risk.stage import risk_tables

run_rule(risk_tables, snakemake)
