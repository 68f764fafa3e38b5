"""Rule network_graphml: the contact network's Parquet tables -> GraphML for network viewers."""

from disease_risk.logs import run_rule
from disease_risk.transmission.stage import network_graphml

run_rule(network_graphml, snakemake)
