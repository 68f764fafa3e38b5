"""Helpers for the end-to-end reproducibility tests: bounded runs, result comparison, job lists.

Used by ``test_reruns.py``, ``test_slurm.py`` and the ``example_run`` fixture in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# The command `make run` uses (the default workflow profile is picked up by Snakemake itself).
MAKE_RUN = (SNAKEMAKE, "--workflow-profile", "profiles/default")

# Result files compared between runs, by suffix: bytes, or contents for binary containers whose
# bytes carry writer metadata (parquet footers, xlsx document properties).
BYTE_SUFFIXES = {".tsv", ".csv", ".txt", ".graphml", ".nwk", ".json", ".yaml", ".yml", ".fasta"}
CONTENT_SUFFIXES = {".parquet", ".xlsx", ".nc"}
# InferenceData groups compared for .nc files (sample_stats may hold sampler timings).
IDATA_GROUPS = ("posterior", "posterior_predictive", "prior", "observed_data", "constant_data")
# Not result tables: logs, timings, and renderings (html/png/pdf embed dates or renderer details).
SKIPPED_DIRS = {"logs", "benchmarks", "provenance", "report"}
# Columns that measure the run itself, masked when comparing tables: the sampler wall time in the
# serology diagnostics (issue 3 asks for it in the table).
VOLATILE_COLUMNS = {"seconds"}
GIT_STATE = re.compile(r"^(git_commit|uncommitted_changes):.*$", flags=re.MULTILINE)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?")


@dataclass
class Run:
    """One finished (or killed) Snakemake process."""

    returncode: int
    seconds: float
    output: str
    timed_out: bool = False
    interrupted: bool = False


def run_bounded(
    cmd: Iterable[str],
    cwd: Path,
    timeout: float,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    interrupt_when: Callable[[str], bool] | None = None,
    interrupt_signal: int = signal.SIGKILL,
    grace: float = 60,
) -> Run:
    """Run ``cmd`` in its own process group and SIGKILL the whole group on timeout.

    A hung Snakemake ignores SIGTERM (it waits for its jobs), so only SIGKILL of the group
    (Snakemake and every job it started) reliably ends it. ``interrupt_when`` is called with the
    output so far, about every half second; once true, ``interrupt_signal`` goes to the group
    (SIGINT is a terminal's Ctrl-C) and the group is SIGKILLed if still there after ``grace`` s.
    The command starts with SIGINT handled as in a terminal even when the tests themselves run
    in the background of a shell without job control, which ignores it (``cmd &`` in a script).
    """
    keep_log = log is not None
    if log is None:
        with tempfile.NamedTemporaryFile(prefix="snakemake_", suffix=".log", delete=False) as tmp:
            log = Path(tmp.name)
    start = time.monotonic()
    deadline = start + timeout
    timed_out = interrupted = False
    with open(log, "w") as out:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_terminal_sigint,
        )
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    timed_out = True
                    break
                if (
                    not interrupted
                    and interrupt_when is not None
                    and interrupt_when(log.read_text(errors="replace"))
                ):
                    interrupted = True
                    signal_group(proc.pid, interrupt_signal)
                    deadline = min(deadline, time.monotonic() + grace)
                time.sleep(0.5)
        finally:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
    output = log.read_text(errors="replace")
    if not keep_log:
        log.unlink()
    return Run(proc.returncode, time.monotonic() - start, output, timed_out, interrupted)


def _terminal_sigint() -> None:
    """In the child before exec: SIGINT back to its default (an ignored signal stays ignored
    across exec, so make and Snakemake would never see the Ctrl-C)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


FINISHED_JOB = re.compile(r"^Finished jobid: (\d+)", flags=re.MULTILINE)


def finished_jobs(output: str) -> int:
    """Number of jobs Snakemake reported finished in ``output``."""
    return len(FINISHED_JOB.findall(output))


def running_jobs(output: str) -> set[str]:
    """Jobs (other than the target rule ``all``) that Snakemake reported started in ``output``
    and not yet finished, as ``rule:jobid``."""
    started: dict[str, str] = {}
    rule = None
    for line in output.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line):
            rule = match.group(1)
        elif rule and (match := re.match(r"^\s+jobid: (\d+)$", line)):
            if rule != "all":
                started[match.group(1)] = rule
            rule = None
    finished = set(FINISHED_JOB.findall(output))
    return {f"{rule}:{jobid}" for jobid, rule in started.items() if jobid not in finished}


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --- result comparison ----------------------------------------------------------------------


def compared_files(results: Path) -> dict[str, str]:
    """Result files to compare, relative path -> how (``bytes`` or ``content``)."""
    found = {}
    for path in sorted(results.rglob("*")):
        rel = path.relative_to(results)
        if not path.is_file() or rel.parts[0] in SKIPPED_DIRS:
            continue
        suffix = path.suffix.lower()
        if suffix in BYTE_SUFFIXES:
            found[rel.as_posix()] = "bytes"
        elif suffix in CONTENT_SUFFIXES:
            found[rel.as_posix()] = "content"
    return found


def provenance_files(results: Path) -> list[str]:
    folder = results / "provenance"
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(results).as_posix() for p in folder.rglob("*") if p.is_file())


def _content(path: Path) -> dict:
    """Named parts of a binary result file, each comparable with ``.equals``."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return {"table": pq.read_table(path)}
    if path.suffix == ".nc":
        import arviz as az

        idata = az.from_netcdf(path)
        return {g: getattr(idata, g).load() for g in IDATA_GROUPS if g in idata.groups()}
    import pandas as pd

    return pd.read_excel(path, sheet_name=None)


def _same_content(a: Path, b: Path) -> bool:
    left, right = _content(a), _content(b)
    return left.keys() == right.keys() and all(left[k].equals(right[k]) for k in left)


def _volatile_columns(path: Path) -> list[str]:
    if path.suffix not in {".tsv", ".csv"}:
        return []
    with open(path, encoding="utf-8", errors="replace") as handle:
        header = handle.readline().rstrip("\r\n").split("\t" if path.suffix == ".tsv" else ",")
    return [c for c in header if c in VOLATILE_COLUMNS]


def _without_columns(path: Path, columns: list[str]) -> list[list[str]]:
    """The table's cells as text, with ``columns`` blanked (no parsing: a byte-level check)."""
    sep = "\t" if path.suffix == ".tsv" else ","
    rows = [line.split(sep) for line in path.read_text(encoding="utf-8").splitlines()]
    drop = {i for i, name in enumerate(rows[0]) if name in columns} if rows else set()
    return [[cell if i not in drop else "" for i, cell in enumerate(row)] for row in rows]


def _changed_lines(text_a: str, text_b: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(text_a.splitlines(), text_b.splitlines(), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def strip_volatile(text: str, roots: Iterable[Path] = ()) -> str:
    """Provenance text without what legitimately differs between runs: timestamps, run dirs."""
    for root in roots:
        text = text.replace(str(root), "<workdir>")
    return TIMESTAMP.sub("<timestamp>", text)


def differences(run_a: Path, run_b: Path) -> tuple[list[str], list[str]]:
    """Compare the result tables of two workflow directories.

    Returns (the files compared, the differences found). Provenance files are compared with
    timestamps and the run directories masked; a file present in one run only is a difference.
    """
    res_a, res_b = run_a / "results", run_b / "results"
    files_a, files_b = compared_files(res_a), compared_files(res_b)
    diffs = [f"only in {run_a.name}: {f}" for f in sorted(files_a.keys() - files_b.keys())]
    diffs += [f"only in {run_b.name}: {f}" for f in sorted(files_b.keys() - files_a.keys())]
    compared = []
    for rel, how in files_a.items():
        if rel not in files_b:
            continue
        compared.append(rel)
        a, b = res_a / rel, res_b / rel
        same = a.read_bytes() == b.read_bytes() if how == "bytes" else _same_content(a, b)
        masked = _volatile_columns(a)
        if not same and masked:
            same = _without_columns(a, masked) == _without_columns(b, masked)
            compared[-1] = f"{rel} (bytes, column {', '.join(masked)} masked)"
        if not same:
            diffs.append(f"differs ({how}): {rel}")
    prov_a, prov_b = provenance_files(res_a), provenance_files(res_b)
    if prov_a != prov_b:
        diffs.append(f"provenance file lists differ: {prov_a} vs {prov_b}")
    for rel in sorted(set(prov_a) & set(prov_b)):
        text_a = strip_volatile((res_a / rel).read_text(errors="replace"), [run_a])
        text_b = strip_volatile((res_b / rel).read_text(errors="replace"), [run_b])
        note = "timestamps masked"
        if rel.endswith("code_version.yaml") and text_a != text_b:
            # The checkout was committed between the runs (the code files are the same working
            # tree): noted, not a result difference.
            note += f"; git commit changed between the runs: {_changed_lines(text_a, text_b)}"
            text_a, text_b = GIT_STATE.sub("<git>", text_a), GIT_STATE.sub("<git>", text_b)
        compared.append(f"{rel} ({note})")
        if text_a != text_b:
            diffs.append(f"differs beyond timestamps: {rel}: {_changed_lines(text_a, text_b)[:6]}")
    return compared, diffs


# --- dry-run job lists ----------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """A job as a dry run lists it."""

    rule: str
    wildcards: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    local: bool = False

    @property
    def name(self) -> str:
        return f"{self.rule}[{self.wildcards}]" if self.wildcards else self.rule


_BLOCK = re.compile(r"^(local)?(?:rule|checkpoint) (\w+):$")
_FIELD = re.compile(r"^\s+(input|output|wildcards): (.*)$")


def parse_dryrun(output: str) -> list[Job]:
    """The jobs in a ``snakemake -n`` listing (the target rule ``all`` included)."""
    jobs: list[Job] = []
    current: dict | None = None

    def close():
        if current is not None:
            jobs.append(
                Job(
                    current["rule"],
                    current.get("wildcards", ""),
                    tuple(current.get("input", ())),
                    tuple(current.get("output", ())),
                    current["local"],
                )
            )

    for line in output.splitlines():
        if m := _BLOCK.match(line):
            close()
            current = {"rule": m.group(2), "local": bool(m.group(1))}
        elif current is not None and (m := _FIELD.match(line)):
            key, value = m.groups()
            current[key] = value if key == "wildcards" else [v for v in value.split(", ") if v]
        elif current is not None and not line.startswith((" ", "\t")) and line.strip():
            close()
            current = None
    close()
    return jobs


def downstream(jobs: list[Job], roots: Iterable[Job]) -> set[str]:
    """Names of ``roots`` and every job that (transitively) consumes their outputs."""
    producer_of = {out: job for job in jobs for out in job.outputs}
    children: dict[str, set[str]] = {job.name: set() for job in jobs}
    for job in jobs:
        for path in job.inputs:
            if path in producer_of:
                children[producer_of[path].name].add(job.name)
    seen: set[str] = set()
    todo = [job.name for job in roots]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(children[name])
    return seen


def dryrun(workdir: Path, *args: str, timeout: float = 300) -> list[Job]:
    """The jobs ``make run`` would execute in ``workdir`` (plus ``args``), from a dry run."""
    run = run_bounded([*MAKE_RUN, "-n", *args], cwd=workdir, timeout=timeout)
    if run.returncode != 0:
        raise AssertionError(f"dry run failed in {workdir}:\n{tail(run.output)}")
    return parse_dryrun(run.output)
