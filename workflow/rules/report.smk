# Provenance of the run and the self-contained HTML report for wildlife vets (and its PDF), in the
# order of the OIE/IUCN Manual (problem description from config/dra.yaml ... assumptions register).
from disease_risk.report.figures import REPORT_FIGURES
from disease_risk.report.provenance import provenance_paths


rule provenance:
    conda:
        "../envs/disease_risk.yaml"
    localrule: True
    input:
        files=[f for f in PROVENANCE_INPUTS if snakemake_can_name(f)],
    output:
        **provenance_paths("results/provenance"),
    params:
        config=config,
        unnamed_files=provenance_unnamed_inputs,
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
        hazards=rules.risk_tables.output.hazards,
        estimation=rules.risk_tables.output.risk_estimation,
        management=rules.risk_tables.output.risk_management,
        management_long_horizon=rules.risk_tables.output.risk_management_long_horizon,
        losses=rules.risk_tables.output.losses,
        passive_surveillance=rules.passive_surveillance.output.passive,
        camera_trap_densities=rules.camera_trap_densities.output.table,
        conclusions=rules.risk_tables.output.conclusions,
        assumptions=rules.risk_tables.output.assumptions,
        surveillance=rules.risk_tables.output.surveillance,
        dra=config["dra_file"],
        hazard_list=config["hazards_file"],
        prevalence=rules.seroprevalence.output.summary,
        foi=rules.force_of_infection.output.table,
        diagnostics=rules.serology_diagnostics.output.table,
        posterior_predictive=rules.serology_diagnostics.output.ppc,
        lineages=rules.sequence_typing.output.lineages,
        tree=rules.sequence_tree.output.png,
        network=rules.contact_network.output.summary,
        transmission=rules.transmission_summary.output.summary,
        outbreak_sizes=rules.transmission_summary.output.sizes,
        target_risk=rules.transmission_summary.output.targets,
        calibration_fit=rules.calibration.output.fit,
        calibration_parameters=rules.calibration.output.parameters,
        calibration_figure=rules.calibration.output.figure,
        sensitivity=rules.sensitivity.output.indices,
        sensitivity_tornado=rules.sensitivity.output.tornado,
        species=config["species_file"],
        network_config=config["network_file"],
        nodes=rules.contact_network.output.nodes,
        samples=rules.intake.output.samples,
        provenance=rules.provenance.output,
    output:
        html=report(
            "results/report/report.html",
            caption="../report/report_html.rst",
            category="Report",
        ),
        pdf=report(
            "results/report/report.pdf",
            caption="../report/report_pdf.rst",
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
        horizon_days=config.get("transmission", {}).get("horizon_days"),
        scenarios=config.get("transmission", {}).get("scenarios", {}),
    log:
        "results/logs/report/report_html.log",
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/report_html.py"


FINAL_OUTPUTS += [
    rules.report_html.output.html,
    rules.report_html.output.pdf,
    *rules.provenance.output,
]
