# Disease Risk Assessment tables (OIE/IUCN 2014): hazards, risk estimation, risk management, and
# the conclusions per target species (overall risk, fit reliability, best option) the report states.
RISK_SCENARIOS = sorted(config.get("transmission", {}).get("scenarios", {}))
# Scenarios compared with another than the baseline (e.g. a vaccinated release with the release).
COMPARED_WITH = {
    name: spec["compare_with"]
    for name, spec in config.get("transmission", {}).get("scenarios", {}).items()
    if spec and "compare_with" in spec
}
# Scenarios that are hazard pathways (the release itself), not management options.
NOT_OPTIONS = sorted(
    name
    for name, spec in config.get("transmission", {}).get("scenarios", {}).items()
    if spec and spec.get("option") is False
)


rule risk_tables:
    conda:
        "../envs/disease_risk.yaml"
    localrule: True
    input:
        hazards=config["hazards_file"],
        prevalence=rules.seroprevalence.output.summary,
        foi=rules.force_of_infection.output.table,
        diagnostics=rules.serology_diagnostics.output.table,
        hazard_serology=rules.hazard_serology_summary.output.table,
        transmission=rules.transmission_summary.output.summary,
        long_horizon=rules.transmission_summary.output.long_horizon,
        network=rules.contact_network.output.summary,
        sensitivity=rules.sensitivity.output.indices,
        calibration=rules.calibration.output.parameters,
        replicates=expand(rules.transmission_scenario.output.replicates, scenario=RISK_SCENARIOS),
        long_replicates=expand(
            rules.transmission_scenario.output.long_horizon, scenario=RISK_SCENARIOS
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
        risk_management_long_horizon=report(
            "results/risk/risk_management_long_horizon.tsv",
            caption="../report/risk_management_long_horizon.rst",
            category="Disease Risk Assessment",
        ),
        losses=report(
            "results/risk/losses.tsv",
            caption="../report/risk_losses.rst",
            category="Disease Risk Assessment",
        ),
        conclusions=report(
            "results/risk/conclusions.tsv",
            caption="../report/risk_conclusions.rst",
            category="Disease Risk Assessment",
        ),
        surveillance=report(
            "results/risk/surveillance_plan.tsv",
            caption="../report/risk_surveillance.rst",
            category="Disease Risk Assessment",
        ),
        assumptions=report(
            "results/risk/assumptions_register.tsv",
            caption="../report/risk_assumptions.rst",
            category="Disease Risk Assessment",
        ),
        workbook="results/risk/dra_tables.xlsx",
    params:
        risk=config["risk"],
        scenarios=RISK_SCENARIOS,
        compared_with=COMPARED_WITH,
        not_options=NOT_OPTIONS,
        horizon_years=round(config["transmission"]["horizon_days"] / 365.25, 1),
        long_horizon_years=config["transmission"].get("long_horizon", {"years": 20})["years"],
        title=config.get("report", {}).get("title", "Disease Risk Assessment"),
        simulated=SIMULATED_INPUTS,
    log:
        "results/logs/risk/risk_tables.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/risk_tables.py"


FINAL_OUTPUTS += [*rules.risk_tables.output]
