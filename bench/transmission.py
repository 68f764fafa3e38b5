"""Benchmark: disease_risk's event-driven simulator vs EoN 2.0 ``fast_SIR`` in the same run.

Same graphs (5,000 nodes: configuration model with Poisson mean degree 8; random geometric graph
with mean degree ~8), same rates (tau per edge, gamma recovery), random index case per replicate.
Prints replicates per second for each and their ratio, the final-size distributions side by side
with a two-sample KS test, and how the cost grows from 1,000 to 100,000 nodes. Ours runs the full
kernel: it records who infected whom (per-species counts, each node's infector) and carries the
demography machinery (off here: EoN's SIR has no births), as the pipeline does.

Run: .venv/bin/python bench/transmission.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import EoN
import networkx as nx
import numpy as np
from scipy import stats

from disease_risk.transmission.validation import (
    compile_network,
    configuration_model,
    percolation_theory,
    sir_final_sizes,
)

GAMMA = 1.0


def geometric(n: int, mean_degree: float, seed: int) -> nx.Graph:
    return nx.random_geometric_graph(n, math.sqrt(mean_degree / (math.pi * n)), seed=seed)


def run_ours(graph: nx.Graph, tau: float, reps: int, seed: int) -> tuple[np.ndarray, float, float]:
    t0 = time.perf_counter()
    net = compile_network(graph, rate_attr=None, rate_scale=1.0)
    convert = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    starts, seeds = rng.integers(net.n, size=reps), rng.integers(2**31 - 1, size=reps)
    t0 = time.perf_counter()
    sizes = sir_final_sizes(net, tau, GAMMA, starts, seeds)
    return sizes, time.perf_counter() - t0, convert


def run_eon(graph: nx.Graph, tau: float, reps: int, seed: int) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(seed)
    nodes = list(graph)
    t0 = time.perf_counter()
    sizes = []
    for _ in range(reps):
        _, _, _, r = EoN.fast_SIR(
            graph, tau, GAMMA, initial_infecteds=[nodes[rng.integers(len(nodes))]], rng=rng
        )
        sizes.append(int(r[-1]))
    return np.array(sizes), time.perf_counter() - t0


def describe(sizes: np.ndarray, n: int) -> dict[str, float]:
    major = sizes > 0.01 * n
    return {
        "p_major": major.mean(),
        "mean_major_size": sizes[major].mean() if major.any() else 0.0,
        "q10": np.quantile(sizes, 0.1),
        "q50": np.quantile(sizes, 0.5),
        "q90": np.quantile(sizes, 0.9),
        "mean": sizes.mean(),
    }


def compare(name: str, graph: nx.Graph, tau: float, reps_ours: int, reps_eon: int) -> None:
    n = graph.number_of_nodes()
    ours, t_ours, convert = run_ours(graph, tau, reps_ours, seed=1)
    eon, t_eon = run_eon(graph, tau, reps_eon, seed=2)
    r_ours, r_eon = reps_ours / t_ours, reps_eon / t_eon
    mean_deg = 2 * graph.number_of_edges() / n
    print(f"\n## {name}: {n} nodes, mean degree {mean_deg:.2f}, tau {tau}, gamma {GAMMA}")
    print(
        f"disease_risk: {reps_ours} replicates in {t_ours:.2f} s = {r_ours:,.0f} rep/s "
        f"(+ {convert:.2f} s one-off graph conversion)"
    )
    print(f"EoN fast_SIR: {reps_eon} replicates in {t_eon:.2f} s = {r_eon:,.1f} rep/s")
    print(f"ratio (disease_risk / EoN replicates per second): {r_ours / r_eon:.1f}x")
    a, b = describe(ours, n), describe(eon, n)
    print(f"{'final size':<16}{'disease_risk':>14}{'EoN':>14}")
    for key in a:
        print(f"{key:<16}{a[key]:>14.3f}{b[key]:>14.3f}")
    ks = stats.ks_2samp(ours, eon)
    print(f"two-sample KS on final sizes: D = {ks.statistic:.3f}, p = {ks.pvalue:.3f}")


def scaling(sizes: list[int], reps: dict[int, int]) -> None:
    print("\n## cost vs size (configuration model, mean degree 8, tau 0.25)")
    print(
        f"{'nodes':>8}{'ours s/rep':>12}{'EoN s/rep':>12}{'ratio':>8}{'ours s/rep/node (us)':>22}"
    )
    for n in sizes:
        graph = configuration_model(n, 8, seed=n)
        _, t_ours, _ = run_ours(graph, 0.25, reps[n] * 10, seed=3)
        _, t_eon = run_eon(graph, 0.25, reps[n], seed=4)
        per_ours, per_eon = t_ours / (reps[n] * 10), t_eon / reps[n]
        print(
            f"{n:>8}{per_ours:>12.5f}{per_eon:>12.4f}{per_eon / per_ours:>8.1f}"
            f"{1e6 * per_ours / n:>22.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer replicates (smoke run)")
    args = parser.parse_args()
    k = 0.2 if args.quick else 1.0
    warm = configuration_model(200, 8, seed=0)
    run_ours(warm, 0.25, 5, seed=0)  # compile (numba cache) outside the timings
    print(f"benchmark run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    cm = configuration_model(5000, 8, seed=5)
    compare("configuration model", cm, 0.25, int(3000 * k), int(600 * k))
    degrees = np.array([d for _, d in cm.degree()])
    p_major, attack = percolation_theory(degrees, 0.25, GAMMA)
    print(
        f"theory (generating functions): p_major {p_major:.3f}, attack rate {attack:.3f} "
        f"(mean major size {attack * cm.number_of_nodes():.0f})"
    )
    compare("random geometric graph", geometric(5000, 8, seed=6), 0.6, int(3000 * k), int(600 * k))
    sizes = [1000, 10000, 100000]
    scaling(
        sizes, {1000: max(int(200 * k), 10), 10000: max(int(40 * k), 5), 100000: max(int(8 * k), 3)}
    )


if __name__ == "__main__":
    main()
