# Shared set-up: config validation, input discovery, the list of final outputs.
import os
from pathlib import Path

from snakemake.utils import validate

from disease_risk.config import schema_path

from disease_risk.intake.sheets import find_sheets

validate(config, schema=str(schema_path("config.schema.yaml")))

# Each rules file appends the outputs that `rule all` must build.
FINAL_OUTPUTS = []

# `--config strict=false` arrives as text: read it as a yes/no.
STRICT = str(config["strict"]).lower() in ("true", "yes")


def sample_sheets(wildcards=None):
    """Every sheet in the drop folder (csv, tsv, xlsx), sorted so the job is stable."""
    return [str(p) for p in find_sheets(config["samples_dir"])]
