"""Rule report_html: DRA tables, conclusions, evidence and provenance -> the HTML report and PDF."""

from disease_risk.logs import run_rule
from disease_risk.report.stage import report_html

run_rule(report_html, snakemake)
