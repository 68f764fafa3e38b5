# Disease Risk Assessment tables (OIE/IUCN 2014): hazards, risk estimation, risk management.
RISK_SCENARIOS = sorted(config.get("transmission", {}).get("scenarios", {}))
RISK_TABLES = ["hazards", "risk_estimation", "risk_management"]


rule risk_tables:
    conda:
        "../envs/disease_risk.yaml"
    localrule: True
    input:
        hazards=config["hazards_file"],
        # A path relative to the working directory (not workflow.source_path, whose cache path
        # changes on every invocation and made this rule rerun each time).
        hazards_schema="workflow/schemas/hazards.schema.yaml",
        prevalence="results/seroprevalence/summary.tsv",
        foi="results/seroprevalence/force_of_infection.tsv",
        diagnostics="results/seroprevalence/diagnostics.tsv",
        transmission="results/transmission/summary.tsv",
        network="results/network/summary.tsv",
        replicates=expand(
            "results/transmission/{scenario}/replicates.parquet", scenario=RISK_SCENARIOS
        ),
    output:
        hazards=report(
            "results/risk/hazards.tsv",
            caption="../report/risk_hazards.rst",
            category="Disease Risk Assessment",
        ),
        risk_estimation=report(
            "results/risk/risk_estimation.tsv",
            caption="../report/risk_estimation.rst",
            category="Disease Risk Assessment",
        ),
        risk_management=report(
            "results/risk/risk_management.tsv",
            caption="../report/risk_management.rst",
            category="Disease Risk Assessment",
        ),
        workbook="results/risk/dra_tables.xlsx",
    params:
        risk=config["risk"],
        scenarios=RISK_SCENARIOS,
    log:
        "results/logs/risk/risk_tables.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/risk_tables.py"


FINAL_OUTPUTS += [f"results/risk/{name}.tsv" for name in RISK_TABLES] + [
    "results/risk/dra_tables.xlsx"
]
