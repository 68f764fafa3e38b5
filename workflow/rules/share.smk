# Sharing: every accepted sample in the Wildlife Disease Data Standard (WDDS v1.0.6), validated
# against the standard's JSON schemas (disease_risk/schemas/wdds/) before it is written.


rule wdds_export:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        samples=rules.intake.output.samples,
        species=config["species_file"],
        assays=config["assays_file"],
        hazards=config["hazards_file"],
    output:
        disease_data=report(
            "results/share/wdds/disease_data.csv",
            caption="../report/wdds_export.rst",
            category="Data sharing",
        ),
        project_metadata="results/share/wdds/project_metadata.json",
    params:
        wdds=config["share"]["wdds"],
    log:
        "results/logs/share/wdds_export.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/wdds_export.py"


FINAL_OUTPUTS += [*rules.wdds_export.output]
