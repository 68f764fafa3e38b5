"""Global sensitivity of the CDV model's answers to its assumptions: Morris screening (SALib).

Every configured value given as a ``{low, high}`` range is an assumption (disease periods, case
fatality, starting immunity, susceptibility, outside infection, annual survival, contact rules'
``p_transmission``), optionally with each contact rule's ``rate_per_year`` scaled by a factor
range. Morris' elementary effects (Morris 1991; ``mu_star`` of Campolongo et al. 2007) move one
assumption at a time by ``delta = levels / (2 (levels - 1))`` of its range along random
trajectories; an effect is the output's change per unit of the range, so ``mu_star`` of a linear
output ``a x`` is ``|a| (high - low)`` and an ignored assumption has ``mu_star`` 0.

Population sizes change the network itself, so they are varied one at a time instead
(:func:`one_at_a_time`): each population (``population_factor_<species>``; dogs: every
settlement's dogs) scaled by the ends of the config's ``population_factor`` range, every other
assumption at the middle of its range, the same runs' luck at both ends; the change across the
range is its ``mu`` (``mu_star`` its size), on the same scale as the Morris effects, without a
bootstrap interval or ``sigma`` (one effect, not a distribution of them).

Morris is a screening: it ranks assumptions, it does not split variance. On the Ishigami
function (Sobol' total indices x1 0.558 > x2 0.442 > x3 0.244) its ranking is x1 > x3 > x2 for
6 to 40 levels and x2 > x1 > x3 for 4, because ``delta`` is near half the range and x2 enters as
``sin(x2)^2``, whose period is half the range (tests).

The simulator enters only through the ``evaluate`` callable; everything else here is pure.
Random numbers come from the stream ``transmission/sensitivity``: the design, the model runs
(the same generator state at every point by default: common random numbers, so an elementary
effect is not blurred by Monte Carlo noise) and the bootstrap of ``mu_star_conf``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample

from disease_risk.figures import pyplot, save_png
from disease_risk.seeds import stream_rng, stream_seed
from disease_risk.tables import (
    REACTIVE_DETECTION,
    SENSITIVITY_COLUMNS,
    contact_rate_factor_column,
    outside_infection_column,
    p_transmission_column,
)

Evaluate = Callable[[dict[str, float], np.random.Generator], Mapping[str, float]]
Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]

# Splits of the stream; never 0, since a trailing 0 in a seed sequence's entropy is the design's.
_POINTS_COMMON = 1  # one generator state shared by every design point
_POINTS_EACH = 2  # ... or one per point: (2, point)
_BOOTSTRAP = 3  # resamples of mu_star_conf


@dataclass(frozen=True)
class Assumption:
    """A configured range the answer may depend on: name as in the replicate tables
    (``case_fatality_amur_leopard``, ``p_transmission_<rule>`` ...), its range and source."""

    name: str
    kind: str  # disease | outside infection | survival | contact rule | contact rate
    low: float
    high: float
    source: str
    label: str  # readable: "case fatality: amur leopard"


def _range(spec: Any) -> tuple[float, float] | None:
    """``(low, high)`` of a ``{low, high}`` mapping; None for a number (fixed, not varied)."""
    if not isinstance(spec, Mapping):
        return None
    return float(spec["low"]), float(spec["high"])


def _assumption(
    name: str, kind: str, spec: Mapping[str, Any], source: str, label: str
) -> Assumption | None:
    """The assumption of one range; None if it is a single value (``low == high``)."""
    low, high = float(spec["low"]), float(spec["high"])
    if low > high:
        raise ValueError(f"{name}: range low {low} is above high {high}")
    if low == high:
        return None
    return Assumption(name, kind, low, high, str(spec.get("source", source)), label)


def _label(key: str, subject: str) -> str:
    return f"{key.replace('_', ' ')}: {subject.replace('_', ' ')}"


def assumption_ranges(
    settings: Mapping[str, Any],
    network_config: Mapping[str, Any],
    contact_rate_factor: Mapping[str, Any] | None = None,
) -> list[Assumption]:
    """Every ``{low, high}`` range of the transmission settings (``disease``: any per-species
    value; ``demography``: annual survival) and of the contact rules' ``p_transmission``, in
    config order; numbers and ``low == high`` are fixed and left out. Species sharing a YAML
    anchor are separate entries; a value's own ``source`` wins over its block's.

    With ``contact_rate_factor`` (``{low, high}``), also ``contact_rate_factor_<rule>``: the
    rule's ``rate_per_year`` times that factor, for each rule whose ``p_transmission`` is a
    number. A rule acts only through rate x p, so where p is a range (calibrated, or varied
    itself) a factor would repeat it, and the calibration would undo a wrong rate."""
    out: list[Assumption | None] = []
    for species, block in (settings.get("disease") or {}).items():
        for key, spec in block.items():
            if key == "source" or _range(spec) is None:
                continue
            if key == "outside_infection":
                name, kind = outside_infection_column(species), "outside infection"
            else:
                name, kind = f"{key}_{species}", "disease"
            out.append(_assumption(name, kind, spec, block.get("source", ""), _label(key, species)))
    for species, block in (settings.get("demography") or {}).items():
        spec = block.get("annual_survival")
        if _range(spec) is not None:
            out.append(
                _assumption(
                    f"annual_survival_{species}", "survival", spec, block.get("source", ""),
                    _label("annual_survival", species),
                )
            )  # fmt: skip
    watched = {
        spec["reactive_vaccination"]["detect"]: spec["reactive_vaccination"]
        for spec in (settings.get("scenarios") or {}).values()
        if spec and spec.get("reactive_vaccination")
    }
    for species, reactive in list(watched.items())[:1]:  # one name: every such scenario uses it
        spec = reactive["detection_probability"]
        if _range(spec) is not None:
            out.append(
                _assumption(
                    REACTIVE_DETECTION, "detection", spec, "",
                    f"chance a {species.replace('_', ' ')} case is detected",
                )
            )  # fmt: skip
    for rule in network_config.get("contact_rules") or []:
        spec = rule["p_transmission"]
        if _range(spec) is not None:
            out.append(
                _assumption(
                    p_transmission_column(rule["name"]), "contact rule", spec,
                    rule.get("source", ""), _label("p_transmission", rule["name"]),
                )
            )  # fmt: skip
    if contact_rate_factor is not None:
        factor = contact_rate_factor.get("source", "assumption")
        for rule in network_config.get("contact_rules") or []:
            if _range(rule["p_transmission"]) is not None:
                continue
            source = f"{factor}, on {rule['rate_per_year']:g} a year; {rule.get('source', '')}"
            out.append(
                _assumption(
                    contact_rate_factor_column(rule["name"]), "contact rate",
                    {**contact_rate_factor, "source": source}, source,
                    _label("contact_rate_factor", rule["name"]),
                )
            )  # fmt: skip
    return [a for a in out if a is not None]


POPULATION_KIND = "population size"


def screened_scenarios(
    settings: Mapping[str, Any], names: Sequence[str] | None, baseline: str
) -> dict[str, Any]:
    """The transmission settings with only the baseline and the options ``names`` (all
    scenarios when None): the options whose effects the sensitivity analysis screens."""
    scenarios = settings["scenarios"]
    if names is None:
        return dict(settings)
    unknown = sorted(set(names) - set(scenarios))
    if unknown or baseline not in scenarios:
        raise ValueError(
            f"sensitivity.scenarios: {unknown or [baseline]} not among transmission.scenarios "
            f"({sorted(scenarios)}); name configured scenarios"
        )
    kept = dict.fromkeys([baseline, *names])
    return {**settings, "scenarios": {name: scenarios[name] for name in kept}}


def population_factor_column(species: str) -> str:
    """A population's size as a factor on its configured count or density."""
    return f"population_factor_{species}"


def population_assumptions(
    network_config: Mapping[str, Any], factor: Mapping[str, Any] | None
) -> list[Assumption]:
    """``population_factor_<species>`` for every wild population and for the settlements'
    dogs, over ``factor`` (``{low, high}``); none without a factor range."""
    if factor is None:
        return []
    note = factor.get("source", "assumption")
    out = []
    blocks = {**network_config.get("populations", {}), "domestic_dog": network_config["dogs"]}
    for species, block in blocks.items():
        if species == "domestic_dog":
            size = "dogs of every settlement"
        else:
            size = "count" if "count" in block else "density_per_km2"
        source = f"{note}, on the {size}; {block.get('source', '')}"
        out.append(_assumption(
            population_factor_column(species), POPULATION_KIND, {**factor, "source": source},
            source, _label("population_size", species),
        ))
    return [a for a in out if a is not None]


def scaled_population(
    network_config: Mapping[str, Any], species: str, factor: float
) -> dict[str, Any]:
    """A copy of the network config with one population's size times ``factor`` (wildlife:
    its count or density; dogs: every settlement's dogs), rounded to whole animals."""
    config = copy.deepcopy(dict(network_config))
    if species == "domestic_dog":
        for site in config["sites"]:
            site["dogs"] = round(int(site.get("dogs", 0)) * factor)
        return config
    block = config["populations"][species]
    if "count" in block:
        block["count"] = max(round(int(block["count"]) * factor), 0)
    else:
        block["density_per_km2"] = float(block["density_per_km2"]) * factor
    return config


def one_at_a_time(
    assumptions: Sequence[Assumption],
    evaluate_at: Callable[[tuple[Assumption, float]], Mapping[str, float]],
    mapper: Mapper = map,
) -> pd.DataFrame:
    """Each assumption's change across its range, others held: ``evaluate_at((a, value))``
    gives the outputs with ``a`` at ``value`` (the ends mapped with ``mapper``); rows as
    :func:`sensitivity_indices` (``rank`` 0: set when merged by :func:`merged_indices`)."""
    ends = [(a, value) for a in assumptions for value in (a.low, a.high)]
    results = list(mapper(evaluate_at, ends))
    rows = []
    for k, a in enumerate(assumptions):
        low, high = results[2 * k], results[2 * k + 1]
        for output in low:
            change = float(high[output]) - float(low[output])
            rows.append((output, a.name, a.label, a.kind, a.low, a.high, change, abs(change),
                         np.nan, np.nan, 0, a.source))
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))


def merged_indices(*tables: pd.DataFrame) -> pd.DataFrame:
    """Index tables of the same outputs as one, ranked again within each output by ``mu_star``
    (1 = largest) and sorted by output, rank and parameter."""
    parts = [t for t in tables if not t.empty]
    if not parts:
        return pd.DataFrame(columns=list(SENSITIVITY_COLUMNS))
    table = pd.concat(parts, ignore_index=True)
    table["rank"] = (
        table.groupby("output")["mu_star"].rank(method="min", ascending=False).astype(int)
    )
    order = {o: i for i, o in enumerate(dict.fromkeys(table["output"]))}
    return (
        table.assign(_order=table["output"].map(order))
        .sort_values(["_order", "rank", "parameter"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)[list(SENSITIVITY_COLUMNS)]
    )


def with_ranges(
    assumptions: Sequence[Assumption], ranges: Mapping[str, tuple[float, float]], note: str
) -> list[Assumption]:
    """The assumptions with some ranges replaced (e.g. calibrated parameters by their posterior
    90% interval), ``note`` appended to their source."""
    unknown = sorted(set(ranges) - {a.name for a in assumptions})
    if unknown:
        raise KeyError(f"no assumption named {unknown}")
    return [
        replace(a, low=float(ranges[a.name][0]), high=float(ranges[a.name][1]),
                source=f"{a.source}; {note}")
        if a.name in ranges else a
        for a in assumptions
    ]  # fmt: skip


# --- design ---------------------------------------------------------------------------------


def morris_problem(assumptions: Sequence[Assumption], levels: int = 4) -> dict[str, Any]:
    """The SALib problem (``num_vars``, ``names``, ``bounds``) plus ``num_levels`` of the Morris
    grid (even, >= 2) and each assumption's ``kinds``, ``labels`` and ``sources``."""
    if levels < 2 or levels % 2:
        raise ValueError(f"Morris levels must be even and >= 2, not {levels}")
    names = [a.name for a in assumptions]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"assumption names must be present and unique: {names}")
    for a in assumptions:
        if not a.low < a.high:
            raise ValueError(f"{a.name}: range [{a.low}, {a.high}] is empty")
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": [[a.low, a.high] for a in assumptions],
        "num_levels": int(levels),
        "kinds": [a.kind for a in assumptions],
        "labels": [a.label for a in assumptions],
        "sources": [a.source for a in assumptions],
    }


def _salib(problem: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh SALib problem dict (SALib adds keys to the one it is given)."""
    return {
        "num_vars": problem["num_vars"],
        "names": list(problem["names"]),
        "bounds": [list(b) for b in problem["bounds"]],
    }


def morris_design(problem: Mapping[str, Any], trajectories: int, seed: int) -> np.ndarray:
    """Morris trajectories (points x assumptions, ``trajectories x (num_vars + 1)`` rows) in the
    assumptions' units, seeded from the master ``seed`` (stream ``transmission/sensitivity``)."""
    if trajectories < 2:
        raise ValueError(f"Morris needs at least 2 trajectories, not {trajectories}")
    return morris_sample.sample(
        _salib(problem),
        int(trajectories),
        num_levels=int(problem["num_levels"]),
        seed=stream_seed(seed, "transmission/sensitivity"),
    )


def point_rng(seed: int, point: int, common_random_numbers: bool = True) -> np.random.Generator:
    """The generator handed to ``evaluate`` at design point ``point``: the same state at every
    point (common random numbers) or one stream per point."""
    if common_random_numbers:
        return stream_rng(seed, "transmission/sensitivity", _POINTS_COMMON)
    return stream_rng(seed, "transmission/sensitivity", _POINTS_EACH, int(point))


def _checked_design(problem: Mapping[str, Any], X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, float)
    if X.ndim != 2 or X.shape[1] != problem["num_vars"]:
        raise ValueError(f"design has shape {X.shape}; expected (points, {problem['num_vars']})")
    return X


def _evaluate_point(
    evaluate: Evaluate, task: tuple[dict[str, float], np.random.Generator]
) -> Mapping[str, float]:
    values, rng = task
    return evaluate(values, rng)


def evaluate_design(
    problem: Mapping[str, Any],
    X: np.ndarray,
    evaluate: Evaluate,
    seed: int,
    common_random_numbers: bool = True,
    mapper: Mapper = map,
) -> dict[str, np.ndarray]:
    """Outputs at every design point: ``evaluate(values, rng)`` with ``values`` assumption name
    -> value and :func:`point_rng`; returns output name -> array over points. ``mapper``
    (``map``, a pool's ``map``) runs the points; every point must give the same outputs."""
    names = list(problem["names"])
    X = _checked_design(problem, X)
    tasks = [
        (dict(zip(names, map(float, row), strict=True)), point_rng(seed, i, common_random_numbers))
        for i, row in enumerate(X)
    ]
    results = list(mapper(functools.partial(_evaluate_point, evaluate), tasks))
    outputs = list(results[0]) if results else []
    for i, result in enumerate(results):
        if list(result) != outputs:
            raise ValueError(f"design point {i} gave outputs {list(result)}, point 0 {outputs}")
    return {o: np.array([float(r[o]) for r in results]) for o in outputs}


# --- indices ----------------------------------------------------------------------------------


def sensitivity_indices(
    problem: Mapping[str, Any],
    X: np.ndarray,
    Y: Mapping[str, np.ndarray],
    seed: int,
    conf_level: float = 0.95,
    resamples: int = 1000,
) -> pd.DataFrame:
    """Morris indices per output and assumption (columns ``SENSITIVITY_COLUMNS``): ``mu`` (mean
    elementary effect, its sign the direction), ``mu_star`` (mean absolute effect),
    ``mu_star_conf`` (half-width of its ``conf_level`` bootstrap interval), ``sigma``
    (interactions, non-linearity), ``rank`` (1 = largest ``mu_star`` in that output)."""
    X = _checked_design(problem, X)
    rows = []
    for output, values in Y.items():
        y = np.asarray(values, float)
        if y.shape != (X.shape[0],):
            raise ValueError(f"output {output}: {y.size} values for {X.shape[0]} points")
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ValueError(f"output {output}: not a finite number at design points {bad[:10]}")
        si = morris_analyze.analyze(
            _salib(problem),
            X,
            y,
            num_resamples=int(resamples),
            conf_level=conf_level,
            num_levels=int(problem["num_levels"]),
            seed=stream_rng(seed, "transmission/sensitivity", _BOOTSTRAP),
        )
        part = pd.DataFrame(
            {
                "output": output,
                "parameter": list(problem["names"]),
                "label": list(problem["labels"]),
                "kind": list(problem["kinds"]),
                "low": [b[0] for b in problem["bounds"]],
                "high": [b[1] for b in problem["bounds"]],
                "mu": _floats(si["mu"]),
                "mu_star": _floats(si["mu_star"]),
                "mu_star_conf": _floats(si["mu_star_conf"]),
                "sigma": _floats(si["sigma"]),
                "source": list(problem["sources"]),
            }
        )
        part["rank"] = part["mu_star"].rank(method="min", ascending=False).astype(int)
        rows.append(part.sort_values(["rank", "parameter"], kind="stable"))
    if not rows:
        return pd.DataFrame(columns=list(SENSITIVITY_COLUMNS))
    return pd.concat(rows, ignore_index=True)[list(SENSITIVITY_COLUMNS)]


def _floats(values: Any) -> np.ndarray:
    """SALib's (masked) arrays as plain floats."""
    return np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)


def uncertainty_drivers(
    indices: pd.DataFrame, output: str, top: int = 3, min_share: float = 0.0
) -> list[str]:
    """The assumptions that move ``output`` most: by rank, ``mu_star`` above 0 and at least
    ``min_share`` x the largest, at most ``top``."""
    rows = _output_rows(indices, output)
    largest = float(rows["mu_star"].max())
    keep = rows[(rows["mu_star"] > 0) & (rows["mu_star"] >= min_share * largest)]
    return keep["parameter"].head(int(top)).tolist()


def _output_rows(indices: pd.DataFrame, output: str) -> pd.DataFrame:
    rows = indices[indices["output"] == output]
    if rows.empty:
        raise KeyError(f"no sensitivity indices for output {output!r}")
    return rows.sort_values(["rank", "parameter"], kind="stable")


# --- figure -----------------------------------------------------------------------------------


def tornado_rows(
    indices: pd.DataFrame, output: str, labels: Mapping[str, str] | None = None, top: int = 12
) -> pd.DataFrame:
    """The bars of the tornado, largest first: ``parameter``, ``label`` (with the range),
    ``mu_star``, ``mu_star_conf``."""
    rows = _output_rows(indices, output).head(int(top))
    labels = labels or {}
    text = [
        f"{labels.get(p, p)} ({lo:.3g} to {hi:.3g})"
        for p, lo, hi in zip(rows["parameter"], rows["low"], rows["high"], strict=True)
    ]
    return pd.DataFrame(
        {
            "parameter": rows["parameter"].to_numpy(),
            "label": text,
            "mu_star": rows["mu_star"].to_numpy(float),
            "mu_star_conf": rows["mu_star_conf"].to_numpy(float),
        }
    )


def plot_tornado(
    indices: pd.DataFrame,
    output: str,
    path: str | Path,
    labels: Mapping[str, str] | None = None,
    top: int = 12,
    title: str | None = None,
) -> None:
    """Horizontal bars of ``mu_star`` with its 95% interval for the ``top`` assumptions of
    ``output``, largest on top; ``labels`` maps assumption names to readable text."""
    bars = tornado_rows(indices, output, labels, top)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 1.0 + 0.34 * len(bars)))
    y = np.arange(len(bars))
    ax.barh(
        y, bars["mu_star"], xerr=np.nan_to_num(bars["mu_star_conf"]), color="#b5541b",
        ecolor="#333333", capsize=3,
    )  # fmt: skip
    ax.set_yticks(y, bars["label"])
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("mu*: mean absolute change of the output over a range (whisker: 95%)")
    ax.set_title(title or output)
    ax.grid(axis="x", alpha=0.3)
    save_png(fig, path, bbox_inches="tight")


# --- the transmission model's answers ----------------------------------------------------------


@dataclass(frozen=True)
class ScenarioOutputs:
    """``evaluate`` for the transmission model: at one point, ``replicates`` replicates of every
    scenario plan with the point's values fixed (the same replicate seeds in every scenario);
    outputs per target: ``p_infection_<target>`` and ``deaths_<target>`` (mean) in the
    baseline, and ``effect_<scenario>_<target>``: the baseline's chance of any infection
    minus the scenario's (positive: the option protects)."""

    plans: Mapping[str, Any]  # scenario name -> ScenarioPlan
    baseline: str
    targets: tuple[str, ...]
    replicates: int

    def __call__(self, values: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
        from disease_risk.transmission.scenarios import run_replicate

        seeds = rng.integers(2**63 - 1, size=(self.replicates, 2))
        infected = {}
        deaths = {}
        for name, plan in self.plans.items():
            rows = [
                run_replicate(
                    plan, None, r, np.random.default_rng(a), np.random.default_rng(b), values
                )
                for r, (a, b) in enumerate(seeds)
            ]
            infected[name] = {t: np.mean([row[f"infected_{t}"] > 0 for row in rows])
                              for t in self.targets}  # fmt: skip
            deaths[name] = {t: np.mean([row[f"deaths_{t}"] for row in rows]) for t in self.targets}
        out: dict[str, float] = {}
        for t in self.targets:
            out[f"p_infection_{t}"] = float(infected[self.baseline][t])
            out[f"deaths_{t}"] = float(deaths[self.baseline][t])
            base = infected[self.baseline][t]
            for name in self.plans:
                if name != self.baseline:
                    out[f"effect_{name}_{t}"] = float(base - infected[name][t])
        return out


_TASK: Callable[..., Any] | None = None  # set before worker processes fork (never pickled)


def _run_task(*args: Any) -> Any:
    return _TASK(*args)


@contextlib.contextmanager
def forked_mapper(task: Callable[..., Any], processes: int):
    """A ``map`` for ``task`` on ``processes`` forked workers that inherit it (its network
    arrays are not sent to them item by item); plain ``map`` on one process. Yields
    ``(mapper, function to map)``; results come back in order, the same on any process count."""
    import multiprocessing

    global _TASK
    _TASK = task
    try:
        if processes <= 1:
            yield map, _run_task
        else:
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                yield pool.map, _run_task
    finally:
        _TASK = None


def evaluate_in_processes(
    problem: Mapping[str, Any], X: np.ndarray, evaluate: Evaluate, seed: int, processes: int
) -> dict[str, np.ndarray]:
    """:func:`evaluate_design` on ``processes`` forked workers (:func:`forked_mapper`); same
    result as on one process."""
    with forked_mapper(evaluate, processes) as (mapper, task):
        return evaluate_design(problem, X, task, seed, mapper=mapper)


def design_size(problem: Mapping[str, Any], trajectories: int) -> int:
    """Model evaluations of a Morris design: ``trajectories x (num_vars + 1)``."""
    return int(trajectories) * (int(problem["num_vars"]) + 1)
