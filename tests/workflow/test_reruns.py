"""Reruns are deterministic and minimal (issue 7).

- A run killed mid-way resumes with `make run`'s command and ends with tables identical to an
  uninterrupted run (``example_run``). It starts where a run stopped after the simulations
  would be (the example run with the transmission summary and all that follows removed), so
  that only that last stage (summary, risk tables, report) runs, is interrupted and resumed;
  the SLURM test compares a whole second run from scratch with the example run.
- A second run with nothing changed runs no job.
- A new sample sheet reruns exactly the jobs downstream of the sheets; a changed scenario reruns
  exactly that scenario's jobs and what follows. "Downstream" is computed here from the full job
  graph of a ``--forceall`` dry run (inputs and outputs of every job), independently of
  Snakemake's rerun decision, which the plain dry run reports.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import yaml
from reproducibility import (
    MAKE_RUN,
    SNAKEMAKE,
    differences,
    downstream,
    dryrun,
    finished_jobs,
    run_bounded,
    running_jobs,
    tail,
)

RUN_TIMEOUT = 1800  # seconds per pipeline run (two run side by side under make test)
PROVENANCE_RULES = {"provenance"}  # rules recording the config used (rerun on any config change)
ALL_SCENARIO_RULES = {"sensitivity"}  # rules that run every scenario (its settings are params)
LAST_STAGE_RULES = {"transmission_summary"}  # the interrupted run redoes these and what follows


def copy_run(example_run: Path, dest: Path) -> Path:
    """A copy of a finished run (outputs, metadata and mtimes kept) to change things in."""
    shutil.copytree(example_run, dest, symlinks=True)
    return dest


def job_names(jobs) -> set[str]:
    return {job.name for job in jobs if job.rule != "all"}


@pytest.mark.slow
def test_second_run_with_nothing_changed_runs_no_job(example_run, tmp_path):
    workdir = copy_run(example_run, tmp_path / "wf")
    assert job_names(dryrun(workdir)) == set()
    run = run_bounded(MAKE_RUN, workdir, 300)
    assert run.returncode == 0, tail(run.output)
    assert finished_jobs(run.output) == 0, tail(run.output)
    assert "Nothing to be done" in run.output, tail(run.output)


@pytest.mark.slow
def test_new_sample_sheet_reruns_only_what_depends_on_it(example_run, tmp_path):
    workdir = copy_run(example_run, tmp_path / "wf")
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    samples_dir = workdir / config["samples_dir"]
    sheet = sorted(p for p in samples_dir.iterdir() if p.suffix in {".csv", ".tsv"})[0]
    new_sheet = samples_dir / f"new_lab_2026{sheet.suffix}"
    shutil.copyfile(sheet, new_sheet)
    new_rel = new_sheet.relative_to(workdir).as_posix()

    every_job = dryrun(workdir, "--forceall")
    readers = [job for job in every_job if new_rel in job.inputs]
    assert readers, f"no job reads the new sheet {new_rel}"
    expected = downstream(every_job, readers) - {"all"}
    rerun = job_names(dryrun(workdir))

    print("new sheet reruns:", sorted(rerun))
    assert rerun == expected, (
        f"reran but independent of the sheets: {sorted(rerun - expected)}; "
        f"depends on the sheets but not rerun: {sorted(expected - rerun)}"
    )
    untouched = job_names(every_job) - rerun
    assert untouched, "every job depends on the sample sheets: nothing to check"
    print("not rerun:", sorted(untouched))


def _bump_first_number(settings: dict) -> bool:
    """Change the first number in a (nested) scenario setting in place; False if there is none."""
    for key, value in settings.items():
        if isinstance(value, dict) and _bump_first_number(value):
            return True
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            settings[key] = value + 1
            return True
        if isinstance(value, float):
            settings[key] = round(value * 0.9, 6) if value else 0.1
            return True
    return False


@pytest.mark.slow
def test_changed_scenario_reruns_only_that_scenario_and_what_follows(example_run, tmp_path):
    workdir = copy_run(example_run, tmp_path / "wf")
    config_file = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    scenarios = config["transmission"]["scenarios"]
    changed = next(
        (name for name in sorted(scenarios) if _bump_first_number(scenarios[name])), None
    )
    assert changed, f"no scenario with a number to change in {sorted(scenarios)}"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    every_job = dryrun(workdir, "--forceall")
    own = [job for job in every_job if f"scenario={changed}" in job.wildcards.split(",")]
    assert own, f"no job has the wildcard scenario={changed}"
    # The provenance record holds the whole config, and the sensitivity analysis runs every
    # scenario, so they (and what embeds them) follow too.
    record = [job for job in every_job if job.rule in PROVENANCE_RULES | ALL_SCENARIO_RULES]
    expected = downstream(every_job, own + record) - {"all"}
    rerun = job_names(dryrun(workdir))

    print(f"scenario {changed} changed; reruns:", sorted(rerun))
    assert rerun == expected, (
        f"reran but not downstream of scenario {changed}: {sorted(rerun - expected)}; "
        f"downstream but not rerun: {sorted(expected - rerun)}"
    )
    others = {job.name for job in every_job if "scenario=" in job.wildcards} - expected
    assert others, "only one scenario: nothing to check"


@pytest.mark.slow
@pytest.mark.timeout(3 * RUN_TIMEOUT)
def test_interrupted_run_resumes_to_identical_tables(example_run, tmp_path):
    workdir = copy_run(example_run, tmp_path / "wf")
    every_job = dryrun(workdir, "--forceall")
    last = downstream(every_job, [j for j in every_job if j.rule in LAST_STAGE_RULES]) - {"all"}
    for path in (workdir / out for job in every_job if job.name in last for out in job.outputs):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    assert job_names(dryrun(workdir)) == last, "the removed outputs do not rerun exactly their jobs"
    total = len(last)
    assert total >= 3, f"only {total} jobs: nothing to interrupt"
    # Interrupt after a third of the jobs.
    third = max(1, total // 3)

    # Ctrl-C in a terminal: SIGINT to the whole process group; `make run` then resumes.
    first = run_bounded(
        MAKE_RUN,
        workdir,
        RUN_TIMEOUT,
        log=tmp_path / "1_interrupted.log",
        interrupt_when=lambda out: finished_jobs(out) >= third,
        interrupt_signal=signal.SIGINT,
    )
    assert first.interrupted and first.returncode != 0, "run ended before it could be interrupted"
    done_first = finished_jobs(first.output)
    # Snakemake lets a job that was already running at Ctrl-C finish, so count what is left.
    left = len(job_names(dryrun(workdir)))
    assert 0 < left < total, (total, left)

    # A hard kill (kill -9, node failure) while a job runs, after one has finished if more than
    # one is left: the lock stays and needs `snakemake --unlock`, the killed job is redone.
    second = run_bounded(
        MAKE_RUN,
        workdir,
        RUN_TIMEOUT,
        log=tmp_path / "2_killed.log",
        interrupt_when=lambda out: (
            finished_jobs(out) >= min(1, left - 1) and bool(running_jobs(out))
        ),
        interrupt_signal=signal.SIGKILL,
    )
    assert second.interrupted and second.returncode != 0, (
        f"resumed run ended before the kill{tail(second.output)}"
    )
    done_second = finished_jobs(second.output)
    remaining = len(job_names(dryrun(workdir, "--nolock")))
    assert 0 < remaining < total, (total, remaining)

    unlock = run_bounded([SNAKEMAKE, "--unlock"], workdir, 300)
    assert unlock.returncode == 0, tail(unlock.output)
    last = run_bounded(MAKE_RUN, workdir, RUN_TIMEOUT, log=tmp_path / "3_resumed.log")
    assert last.returncode == 0, f"resume failed:\n{tail(last.output)}"
    print(
        f"{total} jobs: {done_first} done before Ctrl-C, {done_second} before kill -9, "
        f"{finished_jobs(last.output)} in the resumed run ({last.seconds:.0f} s); "
        f"times {first.seconds:.0f} + {second.seconds:.0f} + {last.seconds:.0f} s"
    )
    assert job_names(dryrun(workdir)) == set()

    compared, diffs = differences(example_run, workdir)
    print("compared with an uninterrupted run:", *compared, sep="\n  ")
    assert compared, "no result tables to compare"
    assert not diffs, "interrupted-and-resumed run differs:\n" + "\n".join(diffs)
