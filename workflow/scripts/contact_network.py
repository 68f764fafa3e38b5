"""Build the multi-species contact network and its summary."""

from disease_risk.logs import log_to

with log_to(snakemake.log[0]):
    from disease_risk import contact_network as cn

    graph, _ = cn.network_from_config(snakemake.input.network, snakemake.params.seed)
    cn.write_network(
        graph,
        snakemake.output.graphml,
        cn.network_summary(graph),
        snakemake.output.summary,
        snakemake.output.nodes,
        snakemake.output.arcs,
    )
