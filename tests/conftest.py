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
EXAMPLE_RUN_TIMEOUT = 1200  # seconds


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> Path:
    """A workflow copy in which `make run`'s command finished on the example data.

    Read-only for tests: copy it (``shutil.copytree``) before changing anything. The run's
    output is in ``<dir>/example_run.log`` and its wall time in ``<dir>/example_run.seconds``.
    """
    from reproducibility import MAKE_RUN, run_bounded, tail

    workdir = copy_workflow(tmp_path_factory.mktemp("example_run") / "wf")
    run = run_bounded(
        MAKE_RUN, workdir, EXAMPLE_RUN_TIMEOUT, log=workdir.parent / "example_run.log"
    )
    (workdir.parent / "example_run.seconds").write_text(f"{run.seconds:.1f}\n")
    if run.timed_out or run.returncode != 0:
        pytest.fail(
            f"example pipeline run failed (return code {run.returncode}, "
            f"{'timed out, ' if run.timed_out else ''}{run.seconds:.0f} s):\n{tail(run.output)}"
        )
    return workdir


def pytest_collection_modifyitems(items):
    """Tests under tests/workflow/ run Snakemake, build packages or start services: marked
    ``workflow`` (``-m "not workflow"`` runs the in-process tests only)."""
    for item in items:
        if item.path.parent.name == "workflow":
            item.add_marker(pytest.mark.workflow)
