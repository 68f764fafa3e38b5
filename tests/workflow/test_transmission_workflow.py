"""End to end: network + scenario jobs + summary through Snakemake in a workflow copy.

The serology fits are not run: a synthetic force-of-infection posterior is written where rule
force_of_infection puts it (``results/force_of_infection/idata.nc``), after the config files, so
Snakemake finds that job's output up to date and does not rebuild its missing inputs (intake).
The DAG link from force_of_infection to the scenarios stays; the test checks the job did not run.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_snakemake

from disease_risk.tables import TRANSMISSION_SUMMARY_COLUMNS

TARGETS = [
    "results/network/summary.tsv",
    "results/transmission/summary.tsv",
    "results/network/contact_network.graphml",
]
FOI_POSTERIOR = "results/force_of_infection/idata.nc"


@pytest.mark.slow
def test_network_and_scenarios_run_as_jobs(workflow_dir):
    import arviz as az

    config_path = workflow_dir / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    tx = config["transmission"]
    tx.update(replicates=15)
    config["calibration"] = {  # a small calibration: this test checks the jobs, not the fit
        "burn_in_years": 2, "window_years": 3, "population_size": 30, "max_generations": 2,
        "max_simulations": 300, "predictive_draws": 20,
    }  # fmt: skip
    tx["scenarios"] = {
        k: tx["scenarios"][k] for k in ("baseline", "dog_vaccination_70", "leopard_release")
    }
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    foi = np.random.default_rng(0).gamma(20.0, 0.005, size=(2, 40, 3))
    foi_file = workflow_dir / FOI_POSTERIOR
    foi_file.parent.mkdir(parents=True)
    az.from_dict(
        posterior={"force_of_infection": foi},
        coords={"species": ["domestic_dog", "raccoon_dog", "red_fox"]},
        dims={"force_of_infection": ["species"]},
    ).to_netcdf(str(foi_file))
    foi_bytes = foi_file.read_bytes()

    done = run_snakemake(workflow_dir, *TARGETS, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # only the network and scenario jobs ran: no intake, no serology fit
    assert foi_file.read_bytes() == foi_bytes
    assert not (workflow_dir / "results/samples").exists()
    summary = pd.read_csv(workflow_dir / TARGETS[1], sep="\t")
    assert list(summary.columns) == list(TRANSMISSION_SUMMARY_COLUMNS)
    assert set(summary["scenario"]) == {"baseline", "dog_vaccination_70", "leopard_release"}
    assert "amur_leopard_released" in set(summary["species"])
    assert (summary["replicates"] == 15).all()
    assert summary["p_any_infection"].between(0, 1).all()
    network = pd.read_csv(workflow_dir / TARGETS[0], sep="\t", keep_default_na=False)
    nodes = network[network.metric == "nodes"].set_index("species_a")["value"]
    assert nodes["amur_leopard"] == 120
    arcs = pd.read_parquet(workflow_dir / "results/network/arcs.parquet")
    graph = nx.read_graphml(workflow_dir / TARGETS[2])
    assert graph.number_of_nodes() == nodes.sum()
    assert graph.number_of_edges() == len(arcs)
    first = arcs.iloc[0]
    assert graph.edges[str(first.source), str(first.target)]["weight"] == first.weight
    for png in ("outbreak_sizes.png", "target_risk.png"):
        assert (workflow_dir / "results/transmission" / png).stat().st_size > 1000
    reps = pd.read_parquet(
        workflow_dir / "results/transmission/dog_vaccination_70/replicates.parquet"
    )
    assert len(reps) == 15
    assert (reps["vaccinated_domestic_dog"] == round(0.7 * reps["population_domestic_dog"])).all()

    # rerunning one scenario job alone gives the same replicates (seeded per replicate)
    target = "results/transmission/baseline/replicates.parquet"
    before = pd.read_parquet(workflow_dir / target)
    again = run_snakemake(workflow_dir, "--force", target, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    pd.testing.assert_frame_equal(pd.read_parquet(workflow_dir / target), before)
