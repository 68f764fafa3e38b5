"""Snakemake script: the self-contained HTML report (figures also written as PNG)."""

from pathlib import Path

from disease_risk.logs import log_to
from disease_risk.report import write_report

TABLES = ("estimation", "management", "hazards", "prevalence", "foi", "diagnostics", "lineages",
          "network", "transmission")

with log_to(snakemake.log[0]) as log:
    out = write_report(
        out_html=snakemake.output.html,
        figures_dir=Path(snakemake.output.figures[0]).parent,
        risk_config=snakemake.params.risk,
        report_config=snakemake.params.report,
        config=snakemake.params.config,
        tables={name: snakemake.input[name] for name in TABLES},
        extra_figures={
            "tree": snakemake.input.tree,
            "transmission_outbreak_sizes": snakemake.input.outbreak_sizes,
            "transmission_leopard_risk": snakemake.input.leopard_risk,
            "ppc_posterior_predictive": snakemake.input.posterior_predictive,
        },
        provenance_files=snakemake.input.provenance,
    )
    log.info("report written to %s", out)
