"""Snakemake script: write results/provenance/ (only run.yaml changes between reruns)."""

from pathlib import Path

from disease_risk.logs import log_to
from disease_risk.provenance import collect_provenance, write_provenance

with log_to(snakemake.log[0]) as log:
    record = collect_provenance(snakemake.input, snakemake.params.config)
    written = write_provenance(record, Path(snakemake.output[0]).parent)
    log.info("provenance of %d input files written to %s", len(record.checksums), written[0].parent)
