"""Build the multi-species contact network (two Parquet tables) and its summary."""

from disease_risk.logs import log_to

with log_to(snakemake.log[0]):
    from disease_risk import contact_network as cn

    network = cn.network_from_config(snakemake.input.network, snakemake.params.seed)
    cn.write_network(network, snakemake.output.nodes, snakemake.output.arcs)
    cn.write_summary(cn.network_summary(network), snakemake.output.summary)
