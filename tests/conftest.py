"""Shared test fixtures: where the repository and the read-only ../shared data live, workflow
copies, and one whole example pipeline run shared by the end-to-end tests.

Tests are in two folders: ``unit/`` (in-process, fast) and ``workflow/`` (Snakemake runs, the
wheel, SLURM). ``make test`` runs both; ``make unit`` only the first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
BAD_SHEETS = REPO_ROOT / "tests" / "data" / "bad_sheets"
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"../shared is missing beside the repository (looked in {SHARED_DIR})")
    return SHARED_DIR

WORKFLOW_PARTS = ("Snakefile", "workflow", "config", "profiles")


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow (Snakefile, rules, config, example data, profiles) into ``dest``.

    End-to-end tests run there so they never touch the checkout's own ``results/``.
    """
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = REPO_ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / part)
    return dest


def run_snakemake(workdir: Path, *args: str, timeout: float = 900):
    """Run the venv's snakemake in ``workdir``; return the CompletedProcess (never hangs)."""
    import subprocess
    import sys

    snakemake = Path(sys.executable).with_name("snakemake")
    return subprocess.run(
        [str(snakemake), "--workflow-profile", "profiles/default", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def workflow_dir(tmp_path: Path) -> Path:
    """A fresh copy of the workflow in a temporary directory."""
    return copy_workflow(tmp_path / "wf")


# --- One whole local pipeline run on the example data, shared by end-to-end tests (issue 7) ---
EXAMPLE_RUN_TIMEOUT = 1800  # seconds: ~700 beside the SLURM run on 2 cores, ~330 alone


def _run_example(workdir: Path) -> str | None:
    """Run `make run`'s command in a fresh workflow copy; the failure text, or None."""
    from reproducibility import MAKE_RUN, run_bounded, tail

    copy_workflow(workdir)
    run = run_bounded(
        MAKE_RUN, workdir, EXAMPLE_RUN_TIMEOUT, log=workdir.parent / "example_run.log"
    )
    (workdir.parent / "example_run.seconds").write_text(f"{run.seconds:.1f}\n")
    if run.timed_out or run.returncode != 0:
        return (
            f"example pipeline run failed (return code {run.returncode}, "
            f"{'timed out, ' if run.timed_out else ''}{run.seconds:.0f} s):\n{tail(run.output)}"
        )
    return None


@pytest.fixture(scope="session")
def example_run(tmp_path_factory, worker_id) -> Path:
    """A workflow copy in which `make run`'s command finished on the example data.

    Read-only for tests: copy it (``shutil.copytree``) before changing anything. The run's
    output is in ``<dir>/example_run.log`` and its wall time in ``<dir>/example_run.seconds``.
    Under pytest-xdist (``make test`` runs two workers) the run is made once, by the first
    worker that asks, under a file lock in the session's shared temporary directory; the other
    worker waits for it and reuses it (or its failure).
    """
    from filelock import FileLock

    if worker_id == "master":
        root = tmp_path_factory.mktemp("example_run")
    else:
        root = tmp_path_factory.getbasetemp().parent / "example_run"
    workdir, outcome = root / "wf", root / "example_run.outcome"
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / "example_run.lock")):
        if not outcome.exists():
            outcome.write_text(_run_example(workdir) or "ok")
    failure = outcome.read_text()
    if failure != "ok":
        pytest.fail(failure)
    return workdir


# Tests that run whole pipelines, by pytest-xdist group (``make test``: ``-n 2 --dist
# loadgroup``). Each group stays on one worker and the groups are collected first, so the two
# long chains start at once on the two workers and the short tests fill in behind them.
LONG_GROUPS = {
    "slurm": lambda item: "slurm_cluster" in getattr(item, "fixturenames", ()),
    "example_run": lambda item: "example_run" in getattr(item, "fixturenames", ()),
}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """Tests under tests/workflow/ run Snakemake, build packages or start services: marked
    ``workflow`` (``-m "not workflow"`` runs the in-process tests only). Whole-pipeline tests
    get their xdist group (:data:`LONG_GROUPS`) and go to the front of the collection."""
    grouped: dict[str, list[pytest.Item]] = {name: [] for name in LONG_GROUPS}
    rest = []
    for item in items:
        if item.path.parent.name == "workflow":
            item.add_marker(pytest.mark.workflow)
        group = next((name for name, test in LONG_GROUPS.items() if test(item)), None)
        if group is None:
            rest.append(item)
        else:
            item.add_marker(pytest.mark.xdist_group(group))
            if group == "example_run" and item.get_closest_marker("timeout") is None:
                # whichever of them runs first also makes the example run
                item.add_marker(pytest.mark.timeout(EXAMPLE_RUN_TIMEOUT + 600))
            grouped[group].append(item)
    items[:] = [item for group in grouped.values() for item in group] + rest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Fail a grouped test, before its fixtures, when pytest-xdist ignores its group under
    ``--dist loadgroup``: xdist marks a group by appending ``@group`` to the node id, which
    pytest 9.2 no longer lets it change (pytest-xdist#1386), and it reads the marks in its own
    collection hook (a mark added after that is ignored); the groups would otherwise be spread
    silently over both workers."""
    if (
        getattr(item.config.option, "loadgroup", False)
        and item.get_closest_marker("xdist_group")
        and "@" not in item.nodeid.rpartition("]")[2]
    ):
        pytest.fail(
            "pytest-xdist ignored this test's xdist_group: this pair of pytest and pytest-xdist "
            "does not keep a group on one worker (pytest-xdist#1386; install the versions in "
            "requirements.lock), or the mark was added after pytest-xdist read the marks (add it "
            "in a tryfirst pytest_collection_modifyitems)",
            pytrace=False,
        )
