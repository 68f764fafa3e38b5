"""Entry points of the transmission stage: rules ``contact_network``, ``network_graphml``,
``calibration``, ``transmission_scenario``, ``transmission_summary`` and ``sensitivity``.

Each takes the rule's named ``inputs``, ``outputs`` and ``params`` (with ``threads`` and the
wildcards). The only file I/O of the stage happens here and in
:mod:`disease_risk.transmission.network_files`; tables go through :mod:`disease_risk.tables`, so
the same seed gives the same bytes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.intake.registry import load_species_registry
from disease_risk.seeds import stream_rng
from disease_risk.tables import read_table, write_table
from disease_risk.transmission.abundance import with_camera_densities
from disease_risk.transmission.contact_network import ContactNetwork, network_summary
from disease_risk.transmission.network_files import (
    config_locations,
    densities_from_config,
    load_network_config,
    network_from_config,
    network_from_settings,
    read_network,
    write_graphml,
    write_network,
)
from disease_risk.transmission.scenarios import (
    CalibrationPosterior,
    ScenarioPlan,
    plan_scenario,
    run_scenario,
    scenario_setup,
)
from disease_risk.transmission.seir import DAYS_PER_YEAR
from disease_risk.transmission.summary import (
    plot_outbreak_sizes,
    plot_target_risk,
    summarise,
)

log = logging.getLogger(__name__)
DEFAULT_LONG_HORIZON = {"years": 20, "replicates": 200}  # as the config schema's description


def contact_network(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> None:
    """Rule ``contact_network``: inputs network (its location table is read from it), species
    (the registry, for field data formats); outputs nodes, arcs, summary; params seed."""
    network = network_from_config(
        inputs["network"], params["seed"], load_species_registry(inputs["species"]),
        read_table(inputs["densities"], text_columns=["species", "used", "reason"]),
    )
    write_network(network, outputs["nodes"], outputs["arcs"])
    write_table(network_summary(network), outputs["summary"])
    log.info("contact network: %d animals, %d arcs", len(network.nodes), len(network.arcs))


def camera_trap_densities(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> None:
    """Rule ``camera_trap_densities``: inputs network (its Camtrap DP package is read), species;
    output table; params seed."""
    table = densities_from_config(
        load_network_config(inputs["network"]), load_species_registry(inputs["species"]),
        int(params["seed"]),
    )
    write_table(table, outputs["table"])


def network_graphml(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> None:
    """Rule ``network_graphml``: inputs network, nodes, arcs; output graphml."""
    study_area = load_network_config(inputs["network"])["study_area"]["name"]
    network = read_network(inputs["nodes"], inputs["arcs"], study_area)
    write_graphml(network, outputs["graphml"])


def calibration(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``calibration``: inputs nodes, arcs, network_config, foi (the force-of-infection
    posterior), species (registry, for labels); outputs posterior, parameters, fit, progress,
    figure; params settings (transmission), calibration, seed, threads."""
    from disease_risk.transmission import calibration as cal  # pyabc takes seconds to import

    settings = cal.CalibrationSettings.from_config(params["calibration"])
    network_config = load_network_config(inputs["network_config"])
    network = read_network(inputs["nodes"], inputs["arcs"])
    transmission = {**params["settings"], "scenarios": {"calibration": {}}}
    plan = plan_scenario(network, transmission, "calibration", network_config)
    species, years, draws = cal.load_foi_draws(inputs["foi"])
    targets = cal.foi_targets(draws, species, years, settings.target_years)
    simulator = cal.FoiSimulator.build(plan, species, settings)
    parameters = cal.calibration_parameters(
        network_config.get("contact_rules", []), transmission["disease"]
    )
    log.info(
        "calibrating %d parameters to the force of infection of %d species (%s) over %d-%d",
        len(parameters), len(species), ", ".join(species),
        targets["first_year"].iloc[0], targets["last_year"].iloc[0],
    )  # fmt: skip
    start = time.perf_counter()
    seed = int(params["seed"])
    result = cal.calibrate(simulator, targets, parameters, settings, seed, int(params["threads"]))
    log.info("calibration: %.1f s", time.perf_counter() - start)
    fit = cal.foi_fit(
        simulator,
        targets,
        CalibrationPosterior.from_table(result.posterior),
        settings.predictive_draws,
        stream_rng(seed, "transmission/calibration_fit"),
    )
    for row in fit.itertuples():
        log.info("%s: %s", row.species, row.verdict)
    write_table(result.posterior, outputs["posterior"])
    write_table(cal.parameter_table(parameters, result.posterior), outputs["parameters"])
    write_table(fit, outputs["fit"])
    write_table(result.progress, outputs["progress"])
    cal.plot_foi_fit(fit, outputs["figure"], load_species_registry(inputs["species"]).labels())
    return fit


def transmission_scenario(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``transmission_scenario``: inputs nodes, arcs, network_config, posterior (the
    calibration's parameter sets); outputs replicates, long_horizon (the same scenario over
    ``long_horizon.years`` with its first ``long_horizon.replicates`` replicates); params
    settings, seed, scenario."""
    settings, scenario = params["settings"], params["scenario"]
    if scenario not in settings["scenarios"]:
        raise ValueError(
            f"scenario '{scenario}' is not under transmission.scenarios in the config "
            f"(known: {sorted(settings['scenarios'])})"
        )
    network_config = load_network_config(inputs["network_config"])
    network = scenario_setup(
        read_network(inputs["nodes"], inputs["arcs"]),
        settings["scenarios"][scenario] or {},
        network_config,
        params["seed"],
    )
    posterior = CalibrationPosterior.from_table(read_table(inputs["posterior"]))
    long = settings.get("long_horizon") or DEFAULT_LONG_HORIZON
    runs = {
        "replicates": (settings, None),
        "long_horizon": (
            {**settings, "horizon_days": float(long["years"]) * DAYS_PER_YEAR},
            int(long["replicates"]),
        ),
    }
    tables = {}
    for output, (run_settings, replicates) in runs.items():
        start = time.perf_counter()
        tables[output] = run_scenario(
            network, run_settings, scenario, posterior, params["seed"], replicates,
            network_config,
        )  # fmt: skip
        log.info(
            "scenario %s: %d replicates over %.0f days on %d nodes in %.1f s",
            scenario, len(tables[output]), run_settings["horizon_days"], len(network.nodes),
            time.perf_counter() - start,
        )  # fmt: skip
        Path(outputs[output]).parent.mkdir(parents=True, exist_ok=True)
        tables[output].to_parquet(outputs[output], index=False)
    return tables["replicates"]


def transmission_summary(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``transmission_summary``: inputs replicates and long_horizon (every scenario, in
    order), species (the registry, for labels); outputs summary, long_horizon (the summary of
    the long runs), sizes, targets; params targets (species)."""
    replicates = pd.concat([pd.read_parquet(f) for f in inputs["replicates"]], ignore_index=True)
    summary = summarise(replicates)
    write_table(summary, outputs["summary"])
    long = pd.concat([pd.read_parquet(f) for f in inputs["long_horizon"]], ignore_index=True)
    write_table(summarise(long), outputs["long_horizon"])
    names = load_species_registry(inputs["species"]).labels()
    plot_outbreak_sizes(replicates, outputs["sizes"], names)
    plot_target_risk(summary, outputs["targets"], list(params["targets"]), names)
    return summary


def scenario_plans(
    network: ContactNetwork, settings: Mapping[str, Any], network_config: dict, seed: int
) -> dict[str, ScenarioPlan]:
    """Every configured scenario's plan on ``network`` (released animals placed as configured)."""
    return {
        name: plan_scenario(
            scenario_setup(network, spec or {}, network_config, seed), settings, name,
            network_config,
        )
        for name, spec in settings["scenarios"].items()
    }  # fmt: skip


def sensitivity(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Rule ``sensitivity``: inputs nodes, arcs, network_config, parameters (the calibration's
    parameter table), species; outputs indices, tornado; params settings (transmission, every
    scenario), sensitivity (config section), baseline, targets, seed, threads.

    Morris screening over every configured range; calibrated parameters vary over their
    posterior 90% interval (what the serology leaves open), the others over their config range.
    """
    from disease_risk.transmission import sensitivity as sa  # SALib takes seconds to import

    settings, section, seed = params["settings"], params["sensitivity"], int(params["seed"])
    network_config = with_camera_densities(
        load_network_config(inputs["network_config"]),
        read_table(inputs["densities"], text_columns=["species", "used", "reason"]),
    )
    network = read_network(inputs["nodes"], inputs["arcs"])
    settings = sa.screened_scenarios(settings, section.get("scenarios"), params["baseline"])
    plans = scenario_plans(network, settings, network_config, seed)
    calibrated = read_table(inputs["parameters"])
    assumptions = sa.with_ranges(
        sa.assumption_ranges(settings, network_config, section.get("contact_rate_factor")),
        {
            row.parameter: (row.posterior_lo90, row.posterior_hi90)
            for row in calibrated.itertuples()
            if row.posterior_hi90 > row.posterior_lo90
        },
        "varied over its calibrated posterior 90% interval",
    )
    problem = sa.morris_problem(assumptions, int(section.get("levels", 4)))
    design = sa.morris_design(problem, int(section.get("trajectories", 4)), seed)
    targets = tuple(params["targets"])
    evaluate = sa.ScenarioOutputs(
        plans, params["baseline"], targets, int(section.get("replicates", 20))
    )
    log.info(
        "sensitivity: %d assumptions, %d design points x %d scenarios x %d replicates",
        problem["num_vars"], len(design), len(plans), evaluate.replicates,
    )  # fmt: skip
    start = time.perf_counter()
    values = sa.evaluate_in_processes(problem, design, evaluate, seed, int(params["threads"]))
    log.info("sensitivity: %.1f s", time.perf_counter() - start)
    populations = sa.population_assumptions(network_config, section.get("population_factor"))
    registry = load_species_registry(inputs["species"])
    held = {a.name: (a.low + a.high) / 2 for a in assumptions}
    population_runs = int(section.get("population_replicates", evaluate.replicates))
    locations = config_locations(network_config, registry)  # the same for every population size

    def outputs_at(end: tuple[sa.Assumption, float]) -> Mapping[str, float]:
        assumption, factor = end
        species = assumption.name.removeprefix("population_factor_")
        scaled = sa.scaled_population(network_config, species, factor)
        scaled_network = network_from_settings(scaled, seed, registry, locations)
        scaled_plans = scenario_plans(scaled_network, settings, scaled, seed)
        outputs = sa.ScenarioOutputs(scaled_plans, params["baseline"], targets, population_runs)
        return outputs(held, sa.point_rng(seed, 0))

    start = time.perf_counter()
    with sa.forked_mapper(outputs_at, int(params["threads"])) as (mapper, task):
        by_population = sa.one_at_a_time(populations, task, mapper)
    morris = sa.sensitivity_indices(problem, design, values, seed)
    indices = sa.merged_indices(morris, by_population)
    log.info(
        "sensitivity: %d population sizes one at a time, %d replicates, %.1f s",
        len(populations), population_runs, time.perf_counter() - start,
    )  # fmt: skip
    assumptions = [*assumptions, *populations]
    write_table(indices, outputs["indices"])
    names = load_species_registry(inputs["species"]).labels()
    target = targets[0]
    sa.plot_tornado(
        indices, f"p_infection_{target}", outputs["tornado"],
        labels={a.name: a.label for a in assumptions},
        title=f"What moves the chance of any {names.get(target, target)} infection",
    )  # fmt: skip
    return indices
