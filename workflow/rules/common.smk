# Shared set-up: config validation, input discovery, the list of final outputs.
import os
from pathlib import Path

from snakemake.utils import validate

from disease_risk.config import schema_path

from disease_risk.intake.folder import scan_drop_folder, snakemake_can_name
from disease_risk.intake.registry import assay_pathogens, load_assays
from disease_risk.report.provenance import provenance_inputs, simulated_inputs

validate(config, schema=str(schema_path("config.schema.yaml")))

# The assay list, its pathogens checked against the hazard list at start-up (an unknown pathogen
# stops the run naming the file, assay and value). The transmission pathogen (serology.pathogen)
# is fitted by rules seroprevalence and force_of_infection; every other pathogen with an assay
# gets one hazard_serology job.
SEROLOGY_PATHOGEN = config["serology"].get("pathogen", "cdv")
HAZARD_PATHOGENS = [
    p
    for p in assay_pathogens(load_assays(config["assays_file"], config["hazards_file"]))
    if p != SEROLOGY_PATHOGEN
]

# Each rules file appends the outputs that `rule all` must build.
FINAL_OUTPUTS = []

# `--config strict=false` arrives as text: read it as a yes/no.
STRICT = str(config["strict"]).lower() in ("true", "yes")


def sample_sheets(wildcards=None):
    """Every sheet in the drop folder (csv, tsv, xlsx) that Snakemake can name as an input,
    sorted so the job is stable. A name with braces would read as a wildcard: such sheets go
    to the intake through drop_folder() instead."""
    return [str(p) for p in scan_drop_folder(config["samples_dir"]).sheets
            if snakemake_can_name(p)]


def drop_folder(wildcards=None):
    """Sheets with braces in their names (with size and time, so editing one reruns the intake)
    and every file not read with its reason (so adding one reruns the intake), as plain data.
    Given as a function, so Snakemake does not read braces in it as wildcards."""
    return scan_drop_folder(config["samples_dir"]).params()


# The config file(s) and every input file the config names (results/ excluded); paths below the
# working directory are relative, others (an absolute data folder) absolute. Names with braces
# would read as wildcards: those files reach the provenance rule as params, checksummed all the
# same.
PROVENANCE_INPUTS = provenance_inputs(config, workflow.configfiles)
# Inputs whose file or folder name marks them simulated (the example data): the DRA workbook and
# the report carry a warning.
SIMULATED_INPUTS = simulated_inputs(PROVENANCE_INPUTS)


def provenance_unnamed_inputs(wildcards=None):
    """Inputs whose names Snakemake cannot take (braces), as plain data."""
    return [f for f in PROVENANCE_INPUTS if not snakemake_can_name(f)]
