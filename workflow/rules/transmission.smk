# Contact network and stochastic CDV transmission scenarios (one job per scenario).
import yaml


TX = config.get("transmission", {})
SCENARIOS = sorted(TX.get("scenarios", {}))


# The optional real location table named in the network config is an input when set.
with open(config["network_file"], encoding="utf-8") as _network_handle:
    NETWORK_LOCATIONS = [
        path
        for path in [(yaml.safe_load(_network_handle) or {}).get("locations_file")]
        if path
    ]


wildcard_constraints:
    scenario="[A-Za-z0-9_]+",


rule contact_network:
    conda:
        "../envs/disease_risk.yaml"
    input:
        network=config["network_file"],
        locations=NETWORK_LOCATIONS,
    output:
        nodes="results/network/nodes.parquet",
        arcs="results/network/arcs.parquet",
        summary=report(
            "results/network/summary.tsv",
            caption="../report/network_summary.rst",
            category="Transmission",
        ),
    params:
        seed=config["seed"],
    log:
        "results/logs/network/contact_network.log",
    resources:
        # 0.4 GB at the example's 1,601 animals, 2.2 GB at 160,100 (bench/README.md)
        mem_mb=3000,
        runtime=10,
    script:
        "../scripts/contact_network.py"


rule network_graphml:
    conda:
        "../envs/disease_risk.yaml"
    input:
        network=config["network_file"],
        nodes="results/network/nodes.parquet",
        arcs="results/network/arcs.parquet",
    output:
        graphml="results/network/contact_network.graphml",
    log:
        "results/logs/network/network_graphml.log",
    resources:
        # peak ~45x the Parquet tables (2.3 GB for the 51 MB of 100x the example)
        mem_mb=lambda wildcards, input: max(1000, int(60 * input.size_mb)),
        runtime=30,
    script:
        "../scripts/network_graphml.py"


rule transmission_scenario:
    conda:
        "../envs/disease_risk.yaml"
    input:
        nodes="results/network/nodes.parquet",
        arcs="results/network/arcs.parquet",
        network_config=config["network_file"],
        foi=TX.get("foi_file", "results/seroprevalence/foi_idata.nc"),
    output:
        replicates="results/transmission/{scenario}/replicates.parquet",
    params:
        # Shared settings plus this scenario's own entry only: changing one scenario reruns
        # that scenario's job, not the others.
        settings=lambda wildcards: {
            **{key: value for key, value in TX.items() if key != "scenarios"},
            "scenarios": {wildcards.scenario: TX["scenarios"][wildcards.scenario]},
        },
        seed=config["seed"],
    log:
        "results/logs/transmission/{scenario}.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/transmission_scenario.py"


rule transmission_summary:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        replicates=expand("results/transmission/{scenario}/replicates.parquet", scenario=SCENARIOS),
    output:
        summary=report(
            "results/transmission/summary.tsv",
            caption="../report/transmission_summary.rst",
            category="Transmission",
        ),
        sizes=report(
            "results/transmission/outbreak_sizes.png",
            caption="../report/outbreak_sizes.rst",
            category="Transmission",
        ),
        leopard=report(
            "results/transmission/leopard_risk.png",
            caption="../report/leopard_risk.rst",
            category="Transmission",
        ),
    log:
        "results/logs/transmission/summary.log",
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/transmission_summary.py"


FINAL_OUTPUTS += [
    "results/network/contact_network.graphml",
    "results/network/summary.tsv",
    "results/transmission/summary.tsv",
    "results/transmission/outbreak_sizes.png",
    "results/transmission/leopard_risk.png",
]
