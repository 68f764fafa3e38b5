# Serology: hierarchical true prevalence and force of infection (PyMC, nutpie, ArviZ), then the
# two fits' diagnostics merged. The two models are separate jobs so they compile and sample side
# by side.


rule seroprevalence:
    # Beside the force of infection from the start: at scale it is as long, and the calibration
    # (2 threads) waits until both fits have left the cores.
    priority: 5
    conda:
        "../envs/disease_risk.yaml"
    input:
        samples=rules.intake.output.samples,
        assays=config["assays_file"],
        hazards=config["hazards_file"],
        species=config["species_file"],
    output:
        idata="results/seroprevalence/idata.nc",
        summary=report(
            "results/seroprevalence/summary.tsv",
            caption="../report/seroprevalence_summary.rst",
            category="Seroprevalence",
        ),
        diagnostics="results/seroprevalence/diagnostics.tsv",
        forest=report(
            "results/seroprevalence/prevalence_forest.png",
            caption="../report/seroprevalence_forest.rst",
            category="Seroprevalence",
        ),
        trend=report(
            "results/seroprevalence/prevalence_by_year.png",
            caption="../report/seroprevalence_trend.rst",
            category="Seroprevalence",
        ),
    params:
        section=config["serology"],
        seed=config["seed"],
    threads: 1
    log:
        "results/logs/seroprevalence/seroprevalence.log",
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/seroprevalence.py"


rule force_of_infection:
    # Critical path (force of infection -> calibration -> scenarios): started before the light
    # jobs that nothing waits for.
    priority: 10
    conda:
        "../envs/disease_risk.yaml"
    input:
        samples=rules.intake.output.samples,
        assays=config["assays_file"],
        hazards=config["hazards_file"],
        species=config["species_file"],
    output:
        idata="results/force_of_infection/idata.nc",
        table=report(
            "results/force_of_infection/force_of_infection.tsv",
            caption="../report/force_of_infection_table.rst",
            category="Force of infection",
        ),
        diagnostics="results/force_of_infection/diagnostics.tsv",
        plot=report(
            "results/force_of_infection/force_of_infection.png",
            caption="../report/force_of_infection_plot.rst",
            category="Force of infection",
        ),
    params:
        section=config["serology"],
        seed=config["seed"],
    threads: 1
    log:
        "results/logs/force_of_infection/force_of_infection.log",
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/force_of_infection.py"


rule serology_diagnostics:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        prevalence=rules.seroprevalence.output.diagnostics,
        force_of_infection=rules.force_of_infection.output.diagnostics,
    output:
        table=report(
            "results/serology/diagnostics.tsv",
            caption="../report/serology_diagnostics.rst",
            category="Serology diagnostics",
        ),
        ppc=report(
            "results/serology/posterior_predictive.png",
            caption="../report/serology_ppc.rst",
            category="Serology diagnostics",
        ),
    log:
        "results/logs/serology/diagnostics.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/serology_diagnostics.py"


# Every other pathogen with an assay (FPV, Toxoplasma ...): the same models on its rows, one job
# each; a pathogen without usable rows or ages writes empty tables with the reason.
rule hazard_serology:
    conda:
        "../envs/disease_risk.yaml"
    input:
        samples=rules.intake.output.samples,
        assays=config["assays_file"],
        hazards=config["hazards_file"],
    output:
        prevalence=report(
            "results/hazards/{pathogen}/prevalence.tsv",
            caption="../report/hazard_serology.rst",
            category="Other hazards",
            subcategory="{pathogen}",
        ),
        prevalence_diagnostics="results/hazards/{pathogen}/prevalence_diagnostics.tsv",
        foi="results/hazards/{pathogen}/force_of_infection.tsv",
        foi_diagnostics="results/hazards/{pathogen}/force_of_infection_diagnostics.tsv",
    wildcard_constraints:
        pathogen="[a-z][a-z0-9_]*",
    params:
        section=config["serology"],
        seed=config["seed"],
        pathogen="{pathogen}",
    threads: 1
    log:
        "results/logs/hazards/{pathogen}.log",
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/hazard_serology.py"


rule hazard_serology_summary:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        prevalence=rules.seroprevalence.output.summary,
        diagnostics=rules.seroprevalence.output.diagnostics,
        hazard_prevalence=expand(rules.hazard_serology.output.prevalence, pathogen=HAZARD_PATHOGENS),
        hazard_diagnostics=expand(
            rules.hazard_serology.output.prevalence_diagnostics, pathogen=HAZARD_PATHOGENS
        ),
    output:
        table=report(
            "results/hazards/serology.tsv",
            caption="../report/hazard_serology_summary.rst",
            category="Other hazards",
        ),
    params:
        pathogen=SEROLOGY_PATHOGEN,
        pathogens=HAZARD_PATHOGENS,
    log:
        "results/logs/hazards/serology_summary.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/hazard_serology_summary.py"


FINAL_OUTPUTS += [
    *rules.seroprevalence.output,
    *rules.force_of_infection.output,
    *rules.serology_diagnostics.output,
    *rules.hazard_serology_summary.output,
]
