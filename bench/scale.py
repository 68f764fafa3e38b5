"""The whole pipeline at 1x, 10x and 100x the example's samples and contact-network size.

Peer: the same pipeline on the example data (1x), run first in the same invocation; every
figure is also given as a ratio to it. For each scale the workflow is copied to
``bench/out/scale_<N>x/`` and run whole (`make run`'s command, 2 cores), recording the wall time
and the peak memory (largest resident set of any process, from ``wait4``) of the run, and per job
Snakemake's ``benchmark:`` record (wall time, max RSS sampled every 0.5 s for 15 s, then every
30 s), added to every rule of the copy. Stages are the rules files (``workflow/rules/<stage>.smk``);
a stage's time is the sum of its jobs' wall times (jobs run two at a time, so stage times add up
to more than the run's wall time), its memory the largest of its jobs'. (Stage-by-stage runs with
``--until`` hit Snakemake's "Out of jobs ready to be started" bug, issue 823.)

The copy's config sets ``serology.fail_on_unreliable: false`` (an unreliable fit is flagged
in the diagnostics, which are summarised here, instead of stopping the run).

Scaled inputs:
- samples: the 1x run's harmonised table (``results/samples/samples.tsv``) repeated N times as
  one CSV sheet in the drop-folder format, copies k >= 1 with ids prefixed ``x<k>-`` (and no
  sequence ids, so only the originals link to sequences);
- network: ``config/network.yaml``'s landscape tiled N times side by side (study area N times
  wider, each settlement copied into every tile with its dogs, wildlife counts multiplied by N,
  densities unchanged), so nodes and contacts grow N-fold at the example's densities. (Raising
  the densities in the same area instead would grow contacts with N squared.)

Usage: ``python bench/scale.py [--scales 1 10 100] [--timeout 7200]``.
Results: ``bench/out/scale_results.json`` and a markdown table on stdout (for bench/README.md).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
WORKFLOW_PARTS = ("Snakefile", "workflow", "config", "profiles")
SHEET_COLUMNS = (
    "sample_id",
    "animal_id",
    "species",
    "site",
    "collection_date",
    "assay",
    "result",
    "sex",
    "age_years",
    "birth_year",
    "latitude",
    "longitude",
    "lab",
    "vaccinated",
    "sample_type",
    "sequence_id",
    "notes",
)
BENCHMARK_HOOK = """

# --- added by bench/scale.py: a benchmark record for every rule ---
for _rule in workflow.rules:
    if _rule.name != "all" and not _rule.benchmark:
        _rule.benchmark_modifier = _rule.log_modifier
        _rule.benchmark = (
            "results/benchmarks/" + _rule.name
            + "".join("/{%s}" % w for w in sorted(_rule.wildcard_names)) + ".tsv"
        )
"""


def copy_workflow(dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / part)
    with open(dest / "Snakefile", "a") as snakefile:
        snakefile.write(BENCHMARK_HOOK)
    # A fit the diagnostics call unreliable is flagged, not fatal: the later stages still run.
    config_file = dest / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config.setdefault("serology", {})["fail_on_unreliable"] = False
    config_file.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return dest


def stage_of_rule(workdir: Path) -> dict[str, str]:
    """Rule name -> the rules file (stage) that defines it."""
    found = {}
    for smk in sorted((workdir / "workflow" / "rules").glob("*.smk")):
        for rule in re.findall(r"^(?:rule|checkpoint) (\w+):", smk.read_text(), flags=re.MULTILINE):
            found[rule] = smk.stem
    return found


def scaled_samples(samples_tsv: Path, factor: int, dest_dir: Path) -> Path:
    """``factor`` copies of the harmonised samples as one drop-folder sheet."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    sheet = dest_dir / f"scaled_x{factor}.csv"
    with open(samples_tsv, newline="", encoding="utf-8") as src:
        rows = list(csv.DictReader(src, delimiter="\t"))
    with open(sheet, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(SHEET_COLUMNS)
        for copy in range(factor):
            prefix = f"x{copy}-" if copy else ""
            for row in rows:
                record = {c: row.get(c, "") for c in SHEET_COLUMNS}
                record["result"] = row["result_raw"]
                record["sample_id"] = prefix + row["sample_id"]
                if row.get("animal_id"):
                    record["animal_id"] = prefix + row["animal_id"]
                if copy:
                    record["sequence_id"] = ""
                writer.writerow([record[c] for c in SHEET_COLUMNS])
    return sheet


def scaled_network(network_yaml: Path, factor: int, dest: Path) -> Path:
    """The network config's landscape tiled ``factor`` times along x (same densities)."""
    net = yaml.safe_load(network_yaml.read_text())
    width = float(net["study_area"]["width_km"])
    net["study_area"]["width_km"] = width * factor
    tiles = []
    for k in range(1, factor):
        for site in net.get("sites", []):
            tiles.append({**site, "name": f"{site['name']}_tile{k}",
                          "x_km": float(site["x_km"]) + k * width})
    net["sites"] = net.get("sites", []) + tiles
    for pop in net.get("populations", {}).values():
        if "count" in pop:
            pop["count"] = int(pop["count"]) * factor
    dest.write_text(yaml.safe_dump(net, sort_keys=False, allow_unicode=True))
    return dest


def timed(cmd: list[str], cwd: Path, log: Path, timeout: float) -> dict:
    """Wall seconds, peak RSS (MB, any process of the tree) and return code of one command."""
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.5)
    code = os.waitstatus_to_exitcode(status)
    return {
        "seconds": round(time.monotonic() - start, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "returncode": code,
    }


def job_benchmarks(workdir: Path) -> list[dict]:
    rows = []
    for path in sorted((workdir / "results" / "benchmarks").rglob("*.tsv")):
        with open(path) as handle:
            record = next(csv.DictReader(handle, delimiter="\t"))
        rows.append(
            {
                "job": path.relative_to(workdir / "results" / "benchmarks")
                .with_suffix("")
                .as_posix(),
                "seconds": float(record["s"]),
                "max_rss_mb": float(record["max_rss"]),
            }
        )
    return rows


def run_scale(factor: int, samples_1x: Path | None, timeout: float) -> dict:
    workdir = copy_workflow(OUT / f"scale_{factor}x")
    overrides = []
    if factor > 1:
        assert samples_1x is not None
        scaled_samples(samples_1x, factor, workdir / "config" / "samples_scaled")
        scaled_network(
            workdir / "config" / "network.yaml", factor, workdir / "config" / "network_scaled.yaml"
        )
        overrides = [
            "--config",
            "samples_dir=config/samples_scaled",
            "network_file=config/network_scaled.yaml",
        ]
    cmd = [SNAKEMAKE, "--workflow-profile", "profiles/default", *overrides]
    result = {"scale": factor, "workdir": str(workdir)}
    result["run"] = timed(cmd, workdir, workdir / "run.log", timeout)
    print(f"{factor}x run: {result['run']}", flush=True)
    if result["run"]["returncode"] != 0:
        result["failed"] = f"see {workdir / 'run.log'}"
    stage = stage_of_rule(workdir)
    result["jobs"] = job_benchmarks(workdir)
    stages: dict[str, dict] = {}
    for job in result["jobs"]:
        name = stage.get(job["job"].split("/")[0], "?")
        entry = stages.setdefault(
            name, {"stage": name, "seconds": 0.0, "max_rss_mb": 0.0, "jobs": 0}
        )
        entry["seconds"] = round(entry["seconds"] + job["seconds"], 1)
        entry["max_rss_mb"] = max(entry["max_rss_mb"], job["max_rss_mb"])
        entry["jobs"] += 1
    result["stages"] = sorted(stages.values(), key=lambda e: -e["seconds"])
    samples = workdir / "results" / "samples" / "samples.tsv"
    result["samples"] = (
        len(samples.read_text(encoding="utf-8").splitlines()) - 1 if samples.exists() else None
    )
    diagnostics = workdir / "results" / "serology" / "diagnostics.tsv"
    if diagnostics.exists():
        with open(diagnostics, encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["section"] == "sampling"]
        result["unreliable_fit_blocks"] = sorted(
            f"{r['model']}:{r['item']}" for r in rows if r["reliable"] != "yes"
        )
    network = workdir / "results" / "network"
    if (network / "arcs.parquet").exists():
        import pyarrow.parquet as pq

        result["network_nodes"] = pq.ParquetFile(network / "nodes.parquet").metadata.num_rows
        result["network_arcs"] = pq.ParquetFile(network / "arcs.parquet").metadata.num_rows
    return result


def markdown(results: list[dict]) -> str:
    base = {s["stage"]: s for s in results[0]["stages"]}
    lines = [
        "| scale | samples | network nodes / arcs | stage | job-seconds | x 1x | max RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for res in results:
        size = f"{res.get('network_nodes', '?')} / {res.get('network_arcs', '?')}"
        for st in res["stages"]:
            ratio = st["seconds"] / base[st["stage"]]["seconds"] if st["stage"] in base else None
            lines.append(
                f"| {res['scale']}x | {res['samples']} | {size} | {st['stage']} | "
                f"{st['seconds']:.0f} | {f'{ratio:.1f}' if ratio else '-'} | "
                f"{st['max_rss_mb']:.0f} |"
            )
    lines.append("")
    for res in results:
        run = res["run"]
        total = sum(s["seconds"] for s in res["stages"]) or 1
        top = res["stages"][0] if res["stages"] else {"stage": "-", "seconds": 0}
        slow = sorted(res["jobs"], key=lambda j: -j["seconds"])[:3]
        lines.append(
            f"- {res['scale']}x: run wall {run['seconds']:.0f} s "
            f"({run['seconds'] / results[0]['run']['seconds']:.1f}x the 1x run), peak RSS "
            f"{run['peak_rss_mb']:.0f} MB, return code {run['returncode']}; dominant stage "
            f"{top['stage']} ({100 * top['seconds'] / total:.0f}% of job-seconds); slowest jobs "
            + ", ".join(f"{j['job']} {j['seconds']:.0f} s" for j in slow)
            + (
                f"; unreliable fit blocks: {res['unreliable_fit_blocks']}"
                if res.get("unreliable_fit_blocks")
                else ""
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per pipeline run")
    args = parser.parse_args()
    scales = sorted(set(args.scales) | {1})
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    samples_1x = None
    for factor in scales:
        res = run_scale(factor, samples_1x, args.timeout)
        if factor == 1:
            samples_1x = OUT / "scale_1x" / "results" / "samples" / "samples.tsv"
            if not samples_1x.exists():
                sys.exit(f"1x run failed: {res.get('failed')}")
        results.append(res)
        report = {"date": dt.date.today().isoformat(), "cpus": os.cpu_count(), "results": results}
        (OUT / "scale_results.json").write_text(json.dumps(report, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
