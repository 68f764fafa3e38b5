# Shared set-up: config validation, input discovery, the list of final outputs.
import os
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

# Each rules file appends the outputs that `rule all` must build.
FINAL_OUTPUTS = []


def sample_sheets(wildcards=None):
    """Every sheet in the drop folder (csv, tsv, xlsx), sorted so the job is stable."""
    folder = Path(config["samples_dir"])
    suffixes = {".csv", ".tsv", ".xlsx"}
    return sorted(
        str(p)
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(("~$", "."))
    )
