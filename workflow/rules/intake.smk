# Intake: every sample sheet in samples_dir -> harmonised samples table + QC tables; every other
# file in samples_dir is listed there with the reason it is not read.


rule intake:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        sheets=sample_sheets,
        species=config["species_file"],
        assays=config["assays_file"],
        layouts=config["sheet_layouts_file"],
    output:
        samples="results/samples/samples.tsv",
        rejected=report(
            "results/qc/rejected_rows.tsv",
            caption="../report/rejected_rows.rst",
            category="Data intake",
        ),
        summary=report(
            "results/qc/intake_summary.tsv",
            caption="../report/intake_summary.rst",
            category="Data intake",
        ),
    params:
        strict=STRICT,
        drop_folder=drop_folder,
    log:
        "results/logs/intake/intake.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/intake.py"


FINAL_OUTPUTS += [*rules.intake.output]
