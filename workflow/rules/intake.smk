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
        hazards=config["hazards_file"],
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


# SMART patrol exports (XML or observation query CSV) in the field data folder: what rangers
# found (carcasses, sick animals, samples; free-roaming dogs) for the report's surveillance part.
FIELD = config.get("field_data", {})
SMART_DIR = FIELD.get("smart_dir", "")
SMART_FILES = sorted(
    str(p)
    for p in (Path(SMART_DIR).glob("*") if SMART_DIR else [])
    if p.is_file() and not p.name.startswith(".")
)


rule passive_surveillance:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        patrols=SMART_FILES,
        species=config["species_file"],
        categories=FIELD.get("smart_categories_file", "config/smart_categories.yaml"),
    output:
        passive=report(
            "results/field/passive_surveillance.tsv",
            caption="../report/passive_surveillance.rst",
            category="Data intake",
        ),
        dogs="results/field/dog_sightings.tsv",
        not_used="results/field/patrol_categories_not_used.tsv",
        problems="results/field/patrol_problems.tsv",
    log:
        "results/logs/intake/passive_surveillance.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/passive_surveillance.py"


FINAL_OUTPUTS += [*rules.passive_surveillance.output]
