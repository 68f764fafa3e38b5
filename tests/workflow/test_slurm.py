"""The whole workflow through a real single-node SLURM cluster gives the local run's tables.

The fixture starts munged, slurmctld and slurmd (Debian's slurm-wlm and munge, installed here when
missing and running as root) with their state in a scratch directory, stops them by PID, and
restores ``/etc/slurm/slurm.conf``. Without root or the packages the test skips with the reason;
with ``CI=true`` it fails instead. See ../shared/docs/SLURM.md for the configuration and pitfalls.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import copy_workflow
from reproducibility import SNAKEMAKE, differences, parse_dryrun, run_bounded, tail

SLURM_RUN_TIMEOUT = 1800  # seconds for the whole example pipeline through the scheduler
PACKAGES = ("slurm-wlm", "munge")
COMMANDS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "sinfo", "scancel")
ETC_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by disease_risk tests/test_slurm.py"
LOCK = Path("/tmp/disease_risk_slurm_test.lock")
STALE_PIDS = Path("/tmp/disease_risk_slurm_test.pids")

SLURM_CONF = """{marker}
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={scratch}/state
SlurmdSpoolDir={scratch}/spool
SlurmctldPidFile={scratch}/slurmctld.pid
SlurmdPidFile={scratch}/slurmd.pid
SlurmctldLogFile={scratch}/slurmctld.log
SlurmdLogFile={scratch}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
DefMemPerCPU=2000
MinJobAge=300
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc={scratch}/jobcomp.txt
NodeName=localhost CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def unavailable(reason: str) -> None:
    """Skip with the reason, except under CI (``CI=true``), where a missing scheduler fails."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"SLURM test cannot run under CI=true: {reason}")
    pytest.skip(f"SLURM test skipped: {reason}")


def ensure_installed() -> None:
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        unavailable(f"not root, and {', '.join(missing)} missing (apt-get install slurm-wlm munge)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for cmd in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        ):
            subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as err:
        detail = getattr(err, "stderr", "") or ""
        unavailable(f"could not install {' '.join(PACKAGES)}: {err} {detail[-500:]}")
    still = [c for c in COMMANDS if shutil.which(c) is None]
    if still:
        unavailable(f"{', '.join(still)} still missing after installing {' '.join(PACKAGES)}")


def node_resources() -> tuple[int, int]:
    """CPUs and memory (MB) to declare: what the machine has, memory with head room."""
    total_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return os.cpu_count() or 1, max(1000, int(total_kb / 1024 * 0.8))


def stop_pid(pid: int, grace: float = 10) -> None:
    """SIGTERM one process by PID, then SIGKILL it if it outlives ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                return
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return True


def stop_stale_daemons() -> None:
    """Stop daemons an earlier, killed test session left behind (their PIDs were recorded)."""
    if not STALE_PIDS.exists():
        return
    for line in STALE_PIDS.read_text().split():
        pid = int(line)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "disease_risk_slurm" in cmdline or cmdline.startswith(("/usr/sbin/slurm", "slurm")):
            stop_pid(pid)
    STALE_PIDS.unlink()


def munge_works(env: dict[str, str]) -> bool:
    try:
        cred = subprocess.run(["munge", "-n"], capture_output=True, timeout=10, env=env)
        check = subprocess.run(["unmunge"], input=cred.stdout, capture_output=True, timeout=10)
    except (subprocess.SubprocessError, OSError):
        return False
    return cred.returncode == 0 and check.returncode == 0


@dataclass
class SlurmCluster:
    """A running single-node cluster: its config, environment, PIDs and log files."""

    scratch: Path
    conf: Path
    env: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str]) -> None:
        log = self.scratch / f"{name}.out"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        self.pids[name] = proc.pid
        self.logs[name] = log
        STALE_PIDS.write_text("\n".join(str(p) for p in self.pids.values()))

    def alive(self, name: str) -> bool:
        pid = self.pids[name]
        return Path(f"/proc/{pid}").exists() and not _is_zombie(pid)

    def daemon_logs(self) -> str:
        """Every daemon log, the end of each, for failure messages."""
        files = [
            *self.logs.values(),
            *sorted(self.scratch.glob("*.log")),
            self.scratch / "jobcomp.txt",
        ]
        parts = []
        for path in files:
            if path.exists():
                parts.append(f"--- {path.name} ---\n{tail(path.read_text(errors='replace'), 40)}")
        return "\n".join(parts)

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            for name in self.pids:
                if not self.alive(name):
                    pytest.fail(f"{name} exited while starting up\n{self.daemon_logs()}")
            probe = subprocess.run(
                ["sinfo", "-h", "-N", "-o", "%T"],
                capture_output=True,
                text=True,
                env=self.env,
                timeout=30,
            )
            state = probe.stdout.strip() + probe.stderr.strip()
            if probe.returncode == 0 and state.startswith("idle"):
                return
            time.sleep(1)
        pytest.fail(
            f"SLURM node not idle after {timeout} s (sinfo: {state!r})\n{self.daemon_logs()}"
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                ["scancel", "--full", "--user", "root"],
                env=self.env,
                timeout=30,
                capture_output=True,
            )
        for name in ("slurmd", "slurmctld", "munged"):
            if name in self.pids:
                stop_pid(self.pids[name])
        STALE_PIDS.unlink(missing_ok=True)


@contextlib.contextmanager
def installed_conf(text: str, backup: Path) -> Iterator[None]:
    """Put ``text`` at /etc/slurm/slurm.conf (the job steps read it there) and restore after."""
    original = None
    if ETC_CONF.exists() and not ETC_CONF.read_text(errors="replace").startswith(MARKER):
        original = ETC_CONF.read_bytes()
        backup.write_bytes(original)
    ETC_CONF.parent.mkdir(parents=True, exist_ok=True)
    ETC_CONF.write_text(text)
    try:
        yield
    finally:
        if original is None:
            ETC_CONF.unlink(missing_ok=True)
        else:
            ETC_CONF.write_bytes(original)


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory) -> Iterator[SlurmCluster]:
    if os.geteuid() != 0:
        unavailable("needs root to start slurmctld, slurmd and munged")
    ensure_installed()
    scratch = tmp_path_factory.mktemp("disease_risk_slurm")
    for sub in ("state", "spool"):
        (scratch / sub).mkdir()
    cpus, memory = node_resources()
    text = SLURM_CONF.format(marker=MARKER, scratch=scratch, cpus=cpus, memory=memory)
    conf = scratch / "slurm.conf"
    conf.write_text(text)
    env = {**os.environ, "SLURM_CONF": str(conf)}

    # One SLURM test at a time on this machine: /etc/slurm/slurm.conf and the ports are global.
    with open(LOCK, "w") as lock_file:
        deadline = time.monotonic() + 1800
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another SLURM test held {LOCK} for 30 min")
                time.sleep(2)
        stop_stale_daemons()
        cluster = SlurmCluster(scratch, conf, env)
        with installed_conf(text, scratch / "slurm.conf.orig"):
            try:
                if not munge_works(env):
                    run_dir = Path("/run/munge")
                    run_dir.mkdir(parents=True, exist_ok=True)
                    shutil.chown(run_dir, "munge", "munge")
                    cluster.start("munged", ["runuser", "-u", "munge", "--", "munged", "-F"])
                    deadline = time.monotonic() + 30
                    while not munge_works(env):
                        if time.monotonic() > deadline or not cluster.alive("munged"):
                            pytest.fail(f"munged did not come up\n{cluster.daemon_logs()}")
                        time.sleep(0.5)
                cluster.start("slurmctld", ["slurmctld", "-D", "-i", "-f", str(conf)])
                cluster.start("slurmd", ["slurmd", "-D", "-f", str(conf), "-N", "localhost"])
                cluster.wait_idle()
                yield cluster
            finally:
                cluster.stop()


def submitted_jobs(jobcomp: Path) -> list[str]:
    """States of the SLURM jobs the job-completion log recorded."""
    if not jobcomp.exists():
        return []
    return [
        field.split("=", 1)[1]
        for line in jobcomp.read_text().splitlines()
        for field in line.split()
        if field.startswith("JobState=")
    ]


@pytest.mark.slow
@pytest.mark.timeout(SLURM_RUN_TIMEOUT + 600)
def test_whole_workflow_through_slurm_equals_local_run(slurm_cluster, request, tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    run = run_bounded(
        [SNAKEMAKE, "--workflow-profile", "profiles/slurm"],
        cwd=workdir,
        timeout=SLURM_RUN_TIMEOUT,
        log=tmp_path / "snakemake_slurm.log",
        env=slurm_cluster.env,
    )
    print(f"SLURM run: {run.seconds:.0f} s, return code {run.returncode}")
    slurm_logs = "\n".join(
        f"--- {p.relative_to(workdir)} ---\n{tail(p.read_text(errors='replace'), 30)}"
        for p in sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    )
    context = (
        f"\n--- snakemake (end) ---\n{tail(run.output, 80)}\n{slurm_logs}\n"
        f"{slurm_cluster.daemon_logs()}"
    )
    assert not run.timed_out, f"SLURM run killed after {SLURM_RUN_TIMEOUT} s{context}"
    assert run.returncode == 0, f"SLURM run failed{context}"

    # Every job the run reported as a (non-local) rule went through the scheduler and completed.
    jobs = parse_dryrun(run.output)
    remote = [job.name for job in jobs if not job.local]
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", run.output)
    states = submitted_jobs(slurm_cluster.scratch / "jobcomp.txt")
    print(f"{len(jobs)} jobs, {len(remote)} through SLURM: {sorted(remote)}")
    assert remote, f"no job went through SLURM{context}"
    assert len(submitted) == len(remote) == len(states), (
        f"{len(remote)} remote jobs, {len(submitted)} submissions, {len(states)} in the "
        f"SLURM job log{context}"
    )
    assert all(s == "COMPLETED" for s in states), f"SLURM job states {states}{context}"

    # Asked for only now, so that under pytest-xdist the local run (made by the other worker)
    # and this one go side by side.
    example_run = request.getfixturevalue("example_run")
    compared, diffs = differences(example_run, workdir)
    print("compared with the local run:", *compared, sep="\n  ")
    assert compared, "no result tables to compare"
    assert not diffs, "SLURM run differs from the local run:\n" + "\n".join(diffs)


def test_slurm_profile_names_only_existing_rules(workflow_dir):
    """Snakemake ignores unknown rule names in set-resources/set-threads: a typo would go unseen."""
    import yaml

    profile = yaml.safe_load((workflow_dir / "profiles" / "slurm" / "config.yaml").read_text())
    named = set(profile.get("set-resources", {})) | set(profile.get("set-threads", {}))
    listed = run_bounded([SNAKEMAKE, "--list-rules"], workflow_dir, 300)
    assert listed.returncode == 0, tail(listed.output)
    rules = {line.strip() for line in listed.output.splitlines() if line.strip().isidentifier()}
    assert named, "the SLURM profile sets no per-rule resources"
    assert named <= rules, f"profile names unknown rules: {sorted(named - rules)}"
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"
