"""Rule contact_network: network config (+ location table) -> nodes, arcs, network summary."""

from disease_risk.logs import run_rule
from disease_risk.transmission.stage import contact_network

run_rule(contact_network, snakemake)
