"""The contact network as GraphML, for network viewers."""

from disease_risk.logs import log_to

with log_to(snakemake.log[0]):
    from disease_risk import contact_network as cn

    study_area = cn.load_network_config(snakemake.input.network)["study_area"]["name"]
    network = cn.read_network(snakemake.input.nodes, snakemake.input.arcs, study_area)
    cn.write_graphml(network, snakemake.output.graphml)
