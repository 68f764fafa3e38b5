# Provenance of the run and the self-contained HTML report for wildlife vets.
import os

from disease_risk.provenance import PROVENANCE_FILES, config_input_files
from disease_risk.report import REPORT_FIGURES


# The config file(s) and every input file the config names (results/ excluded).
PROVENANCE_INPUTS = sorted(
    {os.path.relpath(c) if os.path.isabs(c) else c for c in workflow.configfiles}
    | set(config_input_files(config))
)


rule provenance:
    conda:
        "../envs/disease_risk.yaml"
    localrule: True
    input:
        PROVENANCE_INPUTS,
    output:
        expand("results/provenance/{name}", name=PROVENANCE_FILES),
    params:
        config=config,
    log:
        "results/logs/report/provenance.log",
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/provenance.py"


rule report_html:
    conda:
        "../envs/disease_risk.yaml"
    localrule: True
    input:
        estimation="results/risk/risk_estimation.tsv",
        management="results/risk/risk_management.tsv",
        hazards="results/risk/hazards.tsv",
        prevalence="results/seroprevalence/summary.tsv",
        foi="results/seroprevalence/force_of_infection.tsv",
        diagnostics="results/seroprevalence/diagnostics.tsv",
        posterior_predictive="results/seroprevalence/posterior_predictive.png",
        lineages="results/sequences/lineages.tsv",
        tree="results/sequences/tree.png",
        network="results/network/summary.tsv",
        transmission="results/transmission/summary.tsv",
        outbreak_sizes="results/transmission/outbreak_sizes.png",
        leopard_risk="results/transmission/leopard_risk.png",
        provenance=PROVENANCE_INPUTS,
        provenance_record=expand("results/provenance/{name}", name=PROVENANCE_FILES),
    output:
        html=report(
            "results/report/report.html",
            caption="../report/report_html.rst",
            category="Report",
        ),
        figures=report(
            expand("results/report/figures/{name}.png", name=REPORT_FIGURES),
            caption="../report/report_figure.rst",
            category="Report",
        ),
    params:
        risk=config["risk"],
        report=config["report"],
        config=config,
    log:
        "results/logs/report/report_html.log",
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/report_html.py"


FINAL_OUTPUTS += [
    "results/report/report.html",
    *expand("results/provenance/{name}", name=PROVENANCE_FILES),
]
