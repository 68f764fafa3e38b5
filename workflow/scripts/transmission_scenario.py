"""Run every replicate of one transmission scenario."""

from disease_risk.logs import log_to

with log_to(snakemake.log[0]):
    from disease_risk import transmission as tx

    tx.run_scenario_files(
        nodes=snakemake.input.nodes,
        arcs=snakemake.input.arcs,
        network_config=snakemake.input.network_config,
        foi_file=snakemake.input.foi,
        settings=snakemake.params.settings,
        scenario=snakemake.wildcards.scenario,
        seed=snakemake.params.seed,
        out=snakemake.output.replicates,
    )
