# Seroprevalence: hierarchical true prevalence and force of infection (PyMC, nutpie, ArviZ).
# The two models are separate jobs so they can compile and sample side by side.


rule seroprevalence:
    conda:
        "../envs/disease_risk.yaml"
    input:
        samples="results/samples/samples.tsv",
        assays=config["assays_file"],
    output:
        idata="results/seroprevalence/idata.nc",
        summary=report(
            "results/seroprevalence/summary.tsv",
            caption="../report/seroprevalence_summary.rst",
            category="Seroprevalence",
        ),
        diagnostics="results/seroprevalence/diagnostics_prevalence.tsv",
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
        section=config["seroprevalence"],
        seed=config["seed"],
    threads: 1
    log:
        "results/logs/seroprevalence/prevalence.log",
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/seroprevalence_fit.py"


rule force_of_infection:
    conda:
        "../envs/disease_risk.yaml"
    input:
        samples="results/samples/samples.tsv",
        assays=config["assays_file"],
    output:
        idata="results/seroprevalence/foi_idata.nc",
        table=report(
            "results/seroprevalence/force_of_infection.tsv",
            caption="../report/force_of_infection_table.rst",
            category="Seroprevalence",
        ),
        diagnostics="results/seroprevalence/diagnostics_force_of_infection.tsv",
        plot=report(
            "results/seroprevalence/force_of_infection.png",
            caption="../report/force_of_infection_plot.rst",
            category="Seroprevalence",
        ),
    params:
        section=config["seroprevalence"],
        seed=config["seed"],
    threads: 1
    log:
        "results/logs/seroprevalence/force_of_infection.log",
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/force_of_infection_fit.py"


rule serology_diagnostics:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        "results/seroprevalence/diagnostics_prevalence.tsv",
        "results/seroprevalence/diagnostics_force_of_infection.tsv",
    output:
        table=report(
            "results/seroprevalence/diagnostics.tsv",
            caption="../report/serology_diagnostics.rst",
            category="Seroprevalence",
        ),
        ppc=report(
            "results/seroprevalence/posterior_predictive.png",
            caption="../report/serology_ppc.rst",
            category="Seroprevalence",
        ),
    log:
        "results/logs/seroprevalence/diagnostics.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/serology_diagnostics.py"


FINAL_OUTPUTS += [
    "results/seroprevalence/idata.nc",
    "results/seroprevalence/foi_idata.nc",
    "results/seroprevalence/summary.tsv",
    "results/seroprevalence/force_of_infection.tsv",
    "results/seroprevalence/diagnostics.tsv",
    "results/seroprevalence/prevalence_forest.png",
    "results/seroprevalence/prevalence_by_year.png",
    "results/seroprevalence/force_of_infection.png",
    "results/seroprevalence/posterior_predictive.png",
]
