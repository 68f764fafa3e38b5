# Contact network and stochastic CDV transmission scenarios (one job per scenario); entry points
# in disease_risk/transmission/stage.py.
import yaml

from disease_risk.intake.camtrap_dp import package_files as camtrap_dp_files


TX = config.get("transmission", {})
SCENARIOS = sorted(TX.get("scenarios", {}))
# Species the risk assessment protects: each gets its panel in the target-risk figure.
TARGETS = config.get("risk", {}).get("targets", [])


# The optional real location table named in the network config is an input when set (a
# Camtrap DP package by its files).
with open(config["network_file"], encoding="utf-8") as _network_handle:
    NETWORK_LOCATIONS = camtrap_dp_files(
        (yaml.safe_load(_network_handle) or {}).get("locations_file")
    )


wildcard_constraints:
    scenario="[A-Za-z0-9_]+",


rule camera_trap_densities:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        network=config["network_file"],
        locations=NETWORK_LOCATIONS,
        species=config["species_file"],
    output:
        table=report(
            "results/network/camera_trap_densities.tsv",
            caption="../report/camera_trap_densities.rst",
            category="Transmission",
        ),
    params:
        seed=config["seed"],
    log:
        "results/logs/network/camera_trap_densities.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/camera_trap_densities.py"


rule contact_network:
    conda:
        "../envs/disease_risk.yaml"
    input:
        network=config["network_file"],
        locations=NETWORK_LOCATIONS,
        species=config["species_file"],
        densities=rules.camera_trap_densities.output.table,
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
        nodes=rules.contact_network.output.nodes,
        arcs=rules.contact_network.output.arcs,
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


rule calibration:
    priority: 10  # critical path, see force_of_infection
    conda:
        "../envs/disease_risk.yaml"
    input:
        nodes=rules.contact_network.output.nodes,
        arcs=rules.contact_network.output.arcs,
        network_config=config["network_file"],
        foi=rules.force_of_infection.output.idata,
        species=config["species_file"],
    output:
        posterior="results/calibration/posterior.tsv",
        parameters=report(
            "results/calibration/parameters.tsv",
            caption="../report/calibration_parameters.rst",
            category="Transmission",
        ),
        fit=report(
            "results/calibration/foi_fit.tsv",
            caption="../report/calibration_fit.rst",
            category="Transmission",
        ),
        progress="results/calibration/progress.tsv",
        figure=report(
            "results/calibration/foi_fit.png",
            caption="../report/calibration_fit.rst",
            category="Transmission",
        ),
    params:
        settings={
            key: value for key, value in TX.items() if key not in ("scenarios", "long_horizon")
        },
        calibration=config.get("calibration", {}),
        seed=config["seed"],
    log:
        "results/logs/transmission/calibration.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/calibration.py"


rule transmission_scenario:
    conda:
        "../envs/disease_risk.yaml"
    input:
        nodes=rules.contact_network.output.nodes,
        arcs=rules.contact_network.output.arcs,
        network_config=config["network_file"],
        posterior=rules.calibration.output.posterior,
    output:
        replicates="results/transmission/{scenario}/replicates.parquet",
        long_horizon="results/transmission/{scenario}/long_horizon.parquet",
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
        replicates=expand(rules.transmission_scenario.output.replicates, scenario=SCENARIOS),
        long_horizon=expand(
            rules.transmission_scenario.output.long_horizon, scenario=SCENARIOS
        ),
        species=config["species_file"],
    output:
        summary=report(
            "results/transmission/summary.tsv",
            caption="../report/transmission_summary.rst",
            category="Transmission",
        ),
        long_horizon=report(
            "results/transmission/summary_long_horizon.tsv",
            caption="../report/transmission_summary_long_horizon.rst",
            category="Transmission",
        ),
        sizes=report(
            "results/transmission/outbreak_sizes.png",
            caption="../report/outbreak_sizes.rst",
            category="Transmission",
        ),
        targets=report(
            "results/transmission/target_risk.png",
            caption="../report/target_risk.rst",
            category="Transmission",
        ),
    params:
        targets=TARGETS,
    log:
        "results/logs/transmission/summary.log",
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/transmission_summary.py"


rule sensitivity:
    conda:
        "../envs/disease_risk.yaml"
    input:
        nodes=rules.contact_network.output.nodes,
        arcs=rules.contact_network.output.arcs,
        network_config=config["network_file"],
        densities=rules.camera_trap_densities.output.table,
        parameters=rules.calibration.output.parameters,
        species=config["species_file"],
    output:
        indices=report(
            "results/sensitivity/indices.tsv",
            caption="../report/sensitivity.rst",
            category="Transmission",
        ),
        tornado=report(
            "results/sensitivity/tornado.png",
            caption="../report/sensitivity.rst",
            category="Transmission",
        ),
    params:
        settings=TX,
        sensitivity=config.get("sensitivity", {}),
        baseline=config.get("risk", {}).get("baseline_scenario", "baseline"),
        targets=TARGETS,
        seed=config["seed"],
    log:
        "results/logs/transmission/sensitivity.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/sensitivity.py"


FINAL_OUTPUTS += [
    *rules.sensitivity.output,
    rules.contact_network.output.summary,
    *rules.calibration.output,
    *rules.network_graphml.output,
    *rules.transmission_summary.output,
]
