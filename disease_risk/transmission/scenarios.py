"""Transmission scenarios: the network a scenario runs on, parameter draws and its replicates.

A scenario is an intervention (vaccination at day 0, in yearly rounds or in response to a
detected case, a release of zoo-born animals) on the same network and disease settings.
Replicates come in parameter sets of ``runs_per_parameter_set``: replicate r belongs to set
``r // runs_per_parameter_set``, whose parameters (a calibration posterior draw, the assumptions
drawn from their ranges, starting immune shares) come from stream ``transmission/parameters``
and survival from ``transmission/demography``, both split by the set; the luck of the run
(which animals start immune, the kernel's events, index cases, who is vaccinated) comes from
``transmission/replicates`` split by r. Every scenario uses the same streams (common random
numbers), so scenarios differ only by the intervention, and runs of one set separate parameter
uncertainty from Monte Carlo error (:mod:`disease_risk.montecarlo`). Survival has its own
stream, so switching demography on or off leaves every other draw as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from disease_risk.seeds import stream_rng
from disease_risk.tables import (
    INDEX_SOURCE,
    OUTSIDE_SOURCE,
    REACTIVE_DETECTION,
    RELEASED_SUFFIX,
    contact_rate_factor_column,
    origin_column,
    outside_infection_column,
    p_transmission_column,
    source_column,
)
from disease_risk.transmission.contact_network import (
    ContactNetwork,
    add_individuals,
    released_individuals,
    rule_contact_rates,
)
from disease_risk.transmission.seir import (
    BACKGROUND_DEATHS,
    BIRTHS,
    CDV_DEATHS,
    DAYS_PER_YEAR,
    INDEX_CASE,
    INFECTED,
    NOT_INFECTED,
    OUTSIDE,
    VACCINATED,
    CompiledNetwork,
    KernelResult,
    R,
    V,
    compile_contact_network,
    simulate,
)

AS_GIVEN = "as_given"  # pseudo-rule of a network without its config: arcs' own rates, p = 1


def draw_value(spec, rng: np.random.Generator) -> float:
    """A number, or ``{low, high}`` drawn uniformly."""
    if isinstance(spec, dict):
        return float(rng.uniform(spec["low"], spec["high"]))
    return float(spec)


def pick_value(fixed: Mapping[str, float], name: str, spec, rng: np.random.Generator) -> float:
    """``fixed[name]`` if given, else :func:`draw_value`; the draw is made either way, so fixing
    one value leaves every other draw of the generator as it was."""
    value = draw_value(spec, rng)
    return float(fixed.get(name, value))


@dataclass(frozen=True)
class CalibrationPosterior:
    """Weighted parameter sets from the calibration: ``values`` (draw, parameter) with
    parameter names in ``names`` (``p_transmission_<rule>``, ``outside_infection_<species>``)."""

    names: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> CalibrationPosterior:
        """From the calibration's posterior table (columns ``draw``, ``weight``, parameters)."""
        names = tuple(c for c in table.columns if c not in ("draw", "weight"))
        weights = table["weight"].to_numpy(float)
        return cls(names, table[list(names)].to_numpy(float), weights / weights.sum())

    def draw(self, rng: np.random.Generator) -> tuple[int, dict[str, float]]:
        """One parameter set, chosen with its weight: (draw index, name -> value)."""
        i = int(rng.choice(self.weights.size, p=self.weights))
        return i, dict(zip(self.names, self.values[i].tolist(), strict=True))


def scenario_setup(
    network: ContactNetwork, scenario: dict, network_config: dict, seed: int
) -> ContactNetwork:
    """The network a scenario runs on: the base network, plus any released group.

    Released animals' positions come from the random stream ``transmission/scenario_setup``.
    """
    release = scenario.get("release")
    if not release:
        return network
    rng = stream_rng(seed, "transmission/scenario_setup")
    extra = released_individuals(
        network_config, release["species"], int(release["n"]), release["site"], rng
    )
    return add_individuals(network, extra, network_config)


@dataclass(frozen=True)
class VaccinationRounds:
    """Vaccination events: day, species code and number of animals, one entry per round; a day
    of ``inf`` waits for a detected case (reactive vaccination)."""

    times: np.ndarray
    species: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class ScenarioPlan:
    """What stays the same in every replicate of a scenario: network arrays and settings."""

    name: str
    net: CompiledNetwork
    disease: dict[str, Any]
    horizon: float
    period_shape: int
    rules: tuple[dict, ...]  # contact rules of the network config (names, p_transmission)
    rule_rates: sparse.csr_matrix  # arcs (kernel's CSR order) x rules: contact rate where the
    # rule transmits
    coverage: dict[str, float]
    index_cases: dict[str, int]
    rounds: VaccinationRounds
    demography: dict[str, Any]  # species -> {annual_survival, source}; empty = closed populations
    released: np.ndarray  # mask of released animals
    released_label: str | None
    # Computed once rather than in every replicate: per species code its resident (not
    # released) animals; the species of each arc's target (kernel's CSR order).
    residents: tuple[np.ndarray, ...]
    target_species: np.ndarray
    release_vaccinated: bool = False  # released animals vaccinated before release
    reactive: dict | None = None  # reactive_vaccination: detect, detection_probability, delay_days


def plan_scenario(
    network: ContactNetwork,
    settings: dict,
    scenario_name: str,
    network_config: dict | None = None,
) -> ScenarioPlan:
    """Check a scenario against the network and compile what its replicates share.

    With the network config, every arc's transmission rate is rebuilt from its contact rules
    (each rule's ``p_transmission`` drawn or calibrated per replicate); without one (a network
    from elsewhere), the arcs' ``transmission_rate`` is used as it is."""
    scenario = settings["scenarios"][scenario_name] or {}
    net = compile_contact_network(network)
    _check_scenario(net.species_names, settings["disease"], scenario, scenario_name)
    demography = settings.get("demography") or {}
    _check_demography(net.species_names, demography)
    horizon = float(settings["horizon_days"])
    released = (network.nodes["origin"] == "released").to_numpy()
    if network_config is not None:
        rules = tuple(network_config.get("contact_rules", []))
        rule_rates = rule_contact_rates(network, network_config)
    else:
        rules = ({"name": AS_GIVEN, "p_transmission": 1.0},)
        rule_rates = sparse.csr_matrix(network.arcs["transmission_rate"].to_numpy(float)[:, None])
    released_label = (
        f"{network.nodes['species'][released].iloc[0]}{RELEASED_SUFFIX}" if released.any() else None
    )
    return ScenarioPlan(
        name=scenario_name,
        net=net,
        disease=settings["disease"],
        horizon=horizon,
        period_shape=int(settings.get("period_shape", 1)),
        rules=rules,
        rule_rates=rule_rates[net.arc_order],
        coverage=scenario.get("vaccination_coverage", {}),
        index_cases=scenario.get("index_cases", settings.get("index_cases", {})),
        rounds=vaccination_rounds(scenario, net.species_names, horizon),
        demography=demography,
        released=released,
        released_label=released_label,
        release_vaccinated=bool((scenario.get("release") or {}).get("vaccinated", False)),
        reactive=scenario.get("reactive_vaccination"),
        residents=tuple(
            np.flatnonzero((net.species == c) & ~released) for c in range(len(net.species_names))
        ),
        target_species=net.species[net.indices],
    )


def _check_scenario(
    names: tuple[str, ...], disease: dict, scenario: dict, scenario_name: str
) -> None:
    """Every network species has disease parameters; vaccination names network species."""
    missing = [s for s in names if s not in disease]
    if missing:
        raise ValueError(
            f"config transmission.disease has no parameters for {missing}; "
            "add latent_days, infectious_days, case_fatality, susceptibility"
        )
    reactive = scenario.get("reactive_vaccination") or {}
    for key, species in (
        ("vaccination_coverage", scenario.get("vaccination_coverage", {})),
        ("vaccinate_per_year", scenario.get("vaccinate_per_year", {})),
        ("reactive_vaccination.vaccinate", reactive.get("vaccinate", {})),
        ("reactive_vaccination.detect", [reactive["detect"]] if reactive else []),
    ):
        for sp in species:
            if sp not in names:
                raise ValueError(
                    f"scenario {scenario_name}: {key} names '{sp}', which is not in the "
                    f"network ({list(names)}); use one of those species keys"
                )


def _check_demography(names: tuple[str, ...], demography: dict) -> None:
    """With a ``demography`` block, every network species has its annual survival."""
    missing = [s for s in names if demography and s not in demography]
    if missing:
        raise ValueError(
            f"config transmission.demography has no annual_survival for {missing}; add it "
            "(1.0 keeps that species a closed population) or remove the demography block"
        )


def vaccination_rounds(scenario: dict, names: tuple[str, ...], horizon: float) -> VaccinationRounds:
    """``vaccinate_per_year`` as rounds every year from ``vaccination_day`` up to the horizon;
    ``reactive_vaccination.vaccinate`` as one waiting round per species (day ``inf``)."""
    times, species, counts = [], [], []
    for sp, count in sorted(scenario.get("vaccinate_per_year", {}).items()):
        for day in np.arange(float(scenario.get("vaccination_day", 0)), horizon, DAYS_PER_YEAR):
            times.append(day)
            species.append(names.index(sp))
            counts.append(int(count))
    reactive = scenario.get("reactive_vaccination") or {}
    for sp, count in sorted(reactive.get("vaccinate", {}).items()):
        times.append(np.inf)
        species.append(names.index(sp))
        counts.append(int(count))
    return VaccinationRounds(
        np.asarray(times, float), np.asarray(species, np.int64), np.asarray(counts, np.int64)
    )


def run_scenario(
    network: ContactNetwork,
    settings: dict,
    scenario_name: str,
    posterior: CalibrationPosterior | None,
    seed: int,
    replicates: int | None = None,
    network_config: dict | None = None,
) -> pd.DataFrame:
    """All replicates of one scenario: one row per replicate with counts, timings and draws.

    Replicate r runs parameter set ``r // runs_per_parameter_set`` (streams
    ``transmission/parameters`` and ``transmission/demography`` split by the set) with its own
    luck (``transmission/replicates`` split by r), the same in every scenario (common random
    numbers), so scenario differences are not blurred by different draws.
    """
    plan = plan_scenario(network, settings, scenario_name, network_config)
    n_rep = int(replicates if replicates is not None else settings["replicates"])
    runs = int(settings.get("runs_per_parameter_set", 1))
    rows = [
        run_replicate(
            plan,
            posterior,
            rep,
            stream_rng(seed, "transmission/replicates", rep),
            stream_rng(seed, "transmission/demography", rep // runs),
            parameter_rng=stream_rng(seed, "transmission/parameters", rep // runs),
            parameter_set=rep // runs,
        )
        for rep in range(n_rep)
    ]
    return pd.DataFrame(rows)


def run_replicate(
    plan: ScenarioPlan,
    posterior: CalibrationPosterior | None,
    rep: int,
    rng: np.random.Generator,
    demography_rng: np.random.Generator,
    fixed: Mapping[str, float] | None = None,
    parameter_rng: np.random.Generator | None = None,
    parameter_set: int | None = None,
) -> dict[str, Any]:
    """One replicate: draw its parameters and starting states, run the kernel, count outcomes.

    Parameters (calibration parameter set, disease parameters, starting immune shares) come
    from ``parameter_rng`` (default ``rng``), survival from ``demography_rng``; then, in a fixed
    order from ``rng``, immune animals, kernel seed, index cases and the scenario's own day-0
    vaccination last, so replicate r matches across scenarios. ``fixed`` (assumption name ->
    value, as in the replicate table) overrides drawn and calibrated values.
    """
    parameter_rng = rng if parameter_rng is None else parameter_rng
    draw, calibrated = posterior.draw(parameter_rng) if posterior is not None else (-1, {})
    fixed = {**calibrated, **(fixed or {})}
    params, drawn = draw_parameters(plan, parameter_rng, fixed)
    survival, drawn_survival = draw_survival(plan, demography_rng, fixed)
    shares = immune_shares(plan, parameter_rng, fixed)
    reactive = reactive_detection(plan, parameter_rng, fixed)
    state0 = initial_immunity(plan, rng, {**fixed, **shares})
    if plan.release_vaccinated:
        state0[plan.released] = V
    kernel_seed = int(rng.integers(2**31 - 1))
    index_cases = []
    for sp, count in sorted(plan.index_cases.items()):
        index_cases += list(rng.choice(plan.net.members(sp), int(count), replace=False))
    for sp, cov in sorted(plan.coverage.items()):  # last: scenario-specific draws
        members = plan.net.members(sp)
        state0[rng.choice(members, round(cov * members.size), replace=False)] = V
    result = run_kernel(
        plan, params, survival, state0, np.asarray(index_cases, np.int64), kernel_seed,
        detection=reactive.get(REACTIVE_DETECTION, 0.0),
    )
    return {
        "scenario": plan.name,
        "replicate": rep,
        "parameter_set": rep if parameter_set is None else parameter_set,
        "calibration_draw": draw,
        **drawn,
        **drawn_survival,
        **reactive,
        **outcome_counts(plan, result),
    }


def reactive_detection(
    plan: ScenarioPlan, rng: np.random.Generator, fixed: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The chance that an infectious animal of the watched species is detected (seen sick or
    found dead), drawn from its range for a reactive-vaccination scenario (``fixed``: by name
    ``reactive_detection_probability``); empty for other scenarios, which draw nothing, so
    their draws are unchanged."""
    if not plan.reactive:
        return {}
    spec = plan.reactive["detection_probability"]
    return {REACTIVE_DETECTION: pick_value(fixed or {}, REACTIVE_DETECTION, spec, rng)}


def run_kernel(
    plan: ScenarioPlan,
    params: ReplicateParameters,
    survival: np.ndarray,
    state0: np.ndarray,
    index_cases: np.ndarray,
    kernel_seed: int,
    horizon: float | None = None,
    window_start: float = 0.0,
    detection: float = 0.0,
) -> KernelResult:
    """The kernel on the plan's network with one replicate's parameters (``horizon`` in days,
    default the plan's; infections and susceptible days tallied from ``window_start``;
    ``detection``: chance a case of the plan's watched species is detected, which starts its
    reactive vaccination)."""
    net = plan.net
    k = len(net.species_names)
    reactive = plan.reactive or {}
    watched = net.species_names.index(reactive["detect"]) if reactive else -1
    shape = np.full(k, plan.period_shape, np.int64)
    return simulate(
        net.indptr,
        net.indices,
        params.arc_rates * params.susceptibility[plan.target_species],
        net.species,
        params.latent,
        shape,
        params.infectious,
        shape,
        params.case_fatality,
        params.outside / DAYS_PER_YEAR,
        -np.log(survival) / DAYS_PER_YEAR,
        state0,
        index_cases,
        float(plan.horizon if horizon is None else horizon),
        plan.rounds.times,
        plan.rounds.species,
        plan.rounds.counts,
        kernel_seed,
        float(window_start),
        watched,
        float(detection),
        float(reactive.get("delay_days", 0.0)),
        net.reverse,
    )


@dataclass(frozen=True)
class ReplicateParameters:
    """Per-species disease parameters of one replicate (indexed by species code) and its
    per-arc transmission rates (per day, in the kernel's CSR arc order, before susceptibility)."""

    latent: np.ndarray
    infectious: np.ndarray
    case_fatality: np.ndarray
    susceptibility: np.ndarray
    outside: np.ndarray  # annual rate of infection from beyond the landscape
    arc_rates: np.ndarray


def draw_parameters(
    plan: ScenarioPlan, rng: np.random.Generator, fixed: Mapping[str, float] | None = None
) -> tuple[ReplicateParameters, dict[str, Any]]:
    """Draw one replicate's parameters; also as the replicate table's columns (each species'
    outside infection and case fatality, each contact rule's transmission probability).

    ``fixed`` (name -> value: a calibration parameter set ``p_transmission_<rule>``,
    ``outside_infection_<species>``, or any assumption of the sensitivity analysis such as
    ``case_fatality_<species>``, ``latent_days_<species>``, ``contact_rate_factor_<rule>``)
    gives those values; every other value is the config's number or a uniform draw from its
    ``{low, high}`` (drawn even when fixed, so the other draws stay the same).
    """
    fixed = fixed or {}
    names = plan.net.species_names
    k = len(names)
    lat, inf, cfr, sus, ext = (np.zeros(k) for _ in range(5))
    row: dict[str, Any] = {}
    for c, sp in enumerate(names):
        p = plan.disease[sp]
        lat[c] = pick_value(fixed, f"latent_days_{sp}", p["latent_days"], rng)
        inf[c] = pick_value(fixed, f"infectious_days_{sp}", p["infectious_days"], rng)
        cfr[c] = pick_value(fixed, f"case_fatality_{sp}", p["case_fatality"], rng)
        sus[c] = pick_value(fixed, f"susceptibility_{sp}", p.get("susceptibility", 1.0), rng)
        ext[c] = pick_value(
            fixed, outside_infection_column(sp), p.get("outside_infection", 0.0), rng
        )
        row[outside_infection_column(sp)] = ext[c]
        row[f"case_fatality_{sp}"] = cfr[c]
    probability = np.zeros(len(plan.rules))
    for r, rule in enumerate(plan.rules):
        column = p_transmission_column(rule["name"])
        probability[r] = pick_value(fixed, column, rule["p_transmission"], rng)
        probability[r] *= fixed.get(contact_rate_factor_column(rule["name"]), 1.0)
        row[column] = probability[r]
    arc_rates = plan.rule_rates @ probability / DAYS_PER_YEAR
    return ReplicateParameters(lat, inf, cfr, sus, ext, arc_rates), row


def draw_survival(
    plan: ScenarioPlan, rng: np.random.Generator, fixed: Mapping[str, float] | None = None
) -> tuple[np.ndarray, dict[str, float]]:
    """Annual survival per species code for one replicate (``fixed``: by name
    ``annual_survival_<species>``), and as those columns; 1 everywhere (closed populations)
    without demography."""
    names = plan.net.species_names
    survival = np.ones(len(names))
    if plan.demography:
        for c, sp in enumerate(names):
            survival[c] = pick_value(
                fixed or {}, f"annual_survival_{sp}", plan.demography[sp]["annual_survival"], rng
            )
    return survival, {f"annual_survival_{sp}": float(survival[c]) for c, sp in enumerate(names)}


def immune_shares(
    plan: ScenarioPlan, rng: np.random.Generator, fixed: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Each species' starting immune share (``initial_immune_<sp>``): ``fixed``, the config's
    number or a uniform draw from its range."""
    return {
        f"initial_immune_{sp}": pick_value(
            fixed or {}, f"initial_immune_{sp}", plan.disease[sp].get("initial_immune", 0.0), rng
        )
        for sp in plan.net.species_names
    }


def initial_immunity(
    plan: ScenarioPlan, rng: np.random.Generator, fixed: Mapping[str, float] | None = None
) -> np.ndarray:
    """Starting states: a drawn share ``initial_immune`` of each species' resident animals
    immune (released animals start susceptible; ``fixed``: by name ``initial_immune_<sp>``),
    everyone else susceptible."""
    net = plan.net
    state0 = np.zeros(net.n, np.int8)
    for sp, members in zip(net.species_names, plan.residents, strict=True):
        share = pick_value(
            fixed or {}, f"initial_immune_{sp}", plan.disease[sp].get("initial_immune", 0.0), rng
        )
        immune = rng.choice(members, round(share * members.size), replace=False)
        state0[immune] = R
    return state0


def outcome_counts(plan: ScenarioPlan, result: KernelResult) -> dict[str, Any]:
    """Per species (every animal, newborns included) and for the released group (the released
    animals only): population (census), infected, CDV deaths, vaccinated, first case day,
    background deaths and births (species only) within the horizon; then per group its
    infections by direct source and by chain origin (:func:`chain_counts`)."""
    net = plan.net
    names = net.species_names
    counts: dict[str, Any] = {}
    for c, sp in enumerate(names):
        tally = result.tallies[c]
        first = result.first_case[c]
        counts[f"population_{sp}"] = int(net.members(sp).size)
        counts[f"infected_{sp}"] = int(tally[INFECTED])
        counts[f"deaths_{sp}"] = int(tally[CDV_DEATHS])
        counts[f"vaccinated_{sp}"] = int(tally[VACCINATED])
        counts[f"first_case_day_{sp}"] = float(first) if np.isfinite(first) else np.nan
    if plan.released_label is not None:
        counts.update(released_counts(plan.released_label, plan.released, result))
    if plan.reactive:
        day = float(result.detection_day[0])
        counts["detection_day"] = day if np.isfinite(day) else np.nan
    for c, sp in enumerate(names):
        counts[f"background_deaths_{sp}"] = int(result.tallies[c, BACKGROUND_DEATHS])
        counts[f"births_{sp}"] = int(result.tallies[c, BIRTHS])
    for c, sp in enumerate(names):
        counts.update(chain_counts(sp, names, result.by_source[c], result.by_origin[c]))
    if plan.released_label is not None:
        by_source, by_origin = released_chains(net, plan.released, result)
        counts.update(chain_counts(plan.released_label, names, by_source, by_origin))
    return counts


def released_counts(label: str, mask: np.ndarray, result: KernelResult) -> dict[str, Any]:
    """Outcomes of the released animals themselves (their nodes' first animals)."""
    exposed = result.t_exposed[mask]
    return {
        f"population_{label}": int(mask.sum()),
        f"infected_{label}": int(np.isfinite(exposed).sum()),
        f"deaths_{label}": int(np.isfinite(result.t_death[mask]).sum()),
        f"vaccinated_{label}": int(np.isfinite(result.t_vacc[mask]).sum()),
        f"first_case_day_{label}": float(exposed.min()) if np.isfinite(exposed).any() else np.nan,
        f"background_deaths_{label}": int(np.isfinite(result.t_removed[mask]).sum()),
    }


def released_chains(
    net: CompiledNetwork, mask: np.ndarray, result: KernelResult
) -> tuple[np.ndarray, np.ndarray]:
    """Infections of the released animals by source (species codes, then outside, index case)
    and by chain origin, from their nodes' infector and origin records."""
    k = len(net.species_names)
    infector = result.infector[mask]
    infected = infector != NOT_INFECTED
    code = np.where(infector >= 0, net.species[np.maximum(infector, 0)], 0)
    code = np.where(infector == OUTSIDE, k, np.where(infector == INDEX_CASE, k + 1, code))
    by_source = np.bincount(code[infected], minlength=k + 2)
    by_origin = np.bincount(result.origin[mask][infected], minlength=k)
    return by_source, by_origin


def chain_counts(
    target: str, names: tuple[str, ...], by_source: np.ndarray, by_origin: np.ndarray
) -> dict[str, int]:
    """Columns ``infections_<target>_from_<source>`` (each species, ``outside``: spillover from
    beyond the landscape, ``index_case``) and ``infections_<target>_origin_<species>`` (the
    species whose spillover or index case started the chain)."""
    sources = (*names, OUTSIDE_SOURCE, INDEX_SOURCE)
    counts = {source_column(target, s): int(by_source[i]) for i, s in enumerate(sources)}
    counts.update({origin_column(target, s): int(by_origin[i]) for i, s in enumerate(names)})
    return counts
