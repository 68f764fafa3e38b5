# disease_risk: canine distemper virus risk to Amur leopards and tigers.
# Every rule lives in workflow/rules/; the logic lives in the disease_risk package.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/intake.smk"
include: "workflow/rules/serology.smk"
include: "workflow/rules/sequences.smk"
include: "workflow/rules/transmission.smk"
include: "workflow/rules/risk.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/share.smk"


rule all:
    default_target: True
    input:
        FINAL_OUTPUTS,
