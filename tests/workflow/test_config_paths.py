"""Config paths may be absolute (a cluster's data folder): the workflow starts and reads the
sheets from there."""

from __future__ import annotations

from conftest import copy_workflow


def test_dry_run_with_absolute_samples_dir(tmp_path):
    """`--config samples_dir=/absolute/path` starts (it stopped with a traceback before), and
    the intake and provenance jobs read the sheets from there."""
    import shutil

    from reproducibility import dryrun

    workdir = copy_workflow(tmp_path / "wf")
    samples = tmp_path / "cluster" / "samples"
    shutil.copytree(workdir / "config" / "samples", samples)
    shutil.rmtree(workdir / "config" / "samples")
    jobs = {job.rule: job for job in dryrun(workdir, "--config", f"samples_dir={samples}")}
    sheet = str(samples / "SIMULATED_field_team_prey_elisa.csv")
    assert sheet in jobs["intake"].inputs
    assert sheet in jobs["provenance"].inputs
    assert "config/config.yaml" in jobs["provenance"].inputs
