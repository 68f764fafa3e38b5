"""Transmission stage: the multi-species contact network, the event-driven SEIR simulator,
scenarios (vaccination, release), their summaries and figures.

- :mod:`~disease_risk.transmission.contact_network`: animals, contact rules, arcs, summary
- :mod:`~disease_risk.transmission.network_files`: network config, location table, Parquet, GraphML
- :mod:`~disease_risk.transmission.seir`: the numba SEIR kernel and the network as arrays
- :mod:`~disease_risk.transmission.scenarios`: FOI posterior, parameter draws, replicates
- :mod:`~disease_risk.transmission.summary`: Monte Carlo summary table and figures
- :mod:`~disease_risk.transmission.stage`: the entry points of the four Snakemake rules
- :mod:`~disease_risk.transmission.validation`: reference computations for tests and benchmarks
"""
