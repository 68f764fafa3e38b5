"""Snakemake script: the three DRA tables as TSV and as one workbook."""

from disease_risk.logs import log_to
from disease_risk.risk import assess_risk, write_tables

with log_to(snakemake.log[0]) as log:
    scenarios = snakemake.params.scenarios
    tables = assess_risk(
        risk_config=snakemake.params.risk,
        hazards_file=snakemake.input.hazards,
        hazards_schema=snakemake.input.hazards_schema,
        prevalence_file=snakemake.input.prevalence,
        foi_file=snakemake.input.foi,
        diagnostics_file=snakemake.input.diagnostics,
        transmission_file=snakemake.input.transmission,
        network_file=snakemake.input.network,
        replicate_files=dict(zip(scenarios, snakemake.input.replicates, strict=True)),
    )
    tsv_paths = {name: snakemake.output[name] for name in tables}
    write_tables(tables, tsv_paths, snakemake.output.workbook)
    for name, table in tables.items():
        log.info("%s: %d rows", name, len(table))
