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
in the diagnostics instead of stopping the run); the summary gives every fit's reliability from
the diagnostics (the CDV fits' ``results/serology/diagnostics.tsv``, each other hazard's
``results/hazards/<pathogen>/*_diagnostics.tsv``): reliable or not, worst R-hat, smallest bulk
ESS, divergences, the blocks that failed, or why a model was not fitted.

Scaled inputs:
- samples: *independent animals*, not copies. Scale N's are the ``N`` example data sets of
  :func:`disease_risk.intake.examples.write_scaled_example_sheet` (seeds ``seed + j``, more sites
  and calendar years as well; the generator of the fits mode below), one clean sheet
  ``SIMULATED_scaled_x<N>_seed<seed>.csv`` put into the copy's sample drop folder
  (``samples_dir``) in place of the four example CDV sheets it reproduces (village dogs, big cats,
  mesocarnivores, prey); every other file there (the FPV/Toxoplasma sheet, the README) is kept as
  it is. 1x with the default seed is the example itself, the drop folder untouched (byte-identical
  to ``config/samples``, with its deliberate imperfections); with another ``--seed`` 1x is the
  generator's 1x sheet too. Only data set 0 carries ``sequence_id``s; with the default seed they
  are the example's, so the example sequences link as they are; with another seed the copy's
  sample sequences (``sequences_dir``) are simulated again for the sheet's ids
  (:mod:`disease_risk.sequences.examples`, the shipped panel's seed);
- network (``--landscape``): ``example`` (the default) keeps ``config/network.yaml``'s landscape:
  surveillance grows over the years, the ~120 leopards and their landscape do not, and the
  transmission stages (calibration, scenarios, sensitivity) then cost what they cost on the
  example. ``tiled`` also tiles the landscape N times side by side (study area N times wider,
  each settlement copied into every tile with its dogs, wildlife counts multiplied by N,
  densities unchanged), so nodes and contacts grow N-fold at the example's densities, and so
  does every transmission simulation on the stages' fixed budgets; copies go to
  ``scale_<N>x_tiled``. (Raising the densities in the same area instead would grow contacts
  with N squared.)

Usage: ``python bench/scale.py [--scales 1 10 100] [--seed N] [--landscape example|tiled]
[--timeout 7200] [--dry]``.
``--dry`` prepares the copies under ``bench/out/dry/`` and prints the planned inputs (sheets and
their data rows, sequences, network size, command) without running Snakemake.
Results: ``bench/out/scale_results.json`` and markdown tables on stdout (for bench/README.md).

**Serology fits alone** (``--fits [--scales 1 10 100] [--models prevalence force_of_infection]
[--seed N] [--threads 1]``): the scaled samples are *independent animals*, not copies: ``N``
example data sets simulated with seeds ``seed + j`` (more sites and calendar years as well,
:func:`disease_risk.intake.examples.write_scaled_example_sheet`), harmonised by the pipeline's
intake, CDV rows only. Each scale x model is fitted in a fresh process with
``config/config.yaml``'s serology settings, the rule's threads and its seed stream, as the stage
does; the compiled model is loaded (or compiled) first and timed apart. Recorded per fit: animals
(tests for the prevalence model), cells, parameters, wall and compile/load seconds, cores used,
worst R-hat and bulk ESS (and their blocks), divergences, mean leapfrog steps, reliable.
Results: ``bench/out/fits/fits.tsv`` (merged across runs) and markdown lines on stdout;
posteriors in ``bench/out/fits/x<N>_seed<seed>/``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
WORKFLOW_PARTS = ("Snakefile", "workflow", "config", "profiles")
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


def example_cdv_sheets() -> tuple[str, ...]:
    """The example sheets :func:`write_scaled_example_sheet` reproduces: those of the simulated
    CDV data set (dogs, big cats, mesocarnivores, prey), not the other hazards' sheet."""
    from disease_risk.intake.examples import SHEET_FILES

    cdv = SHEET_FILES[:4]  # write_example_sheets writes dogs, cats, meso, prey, then others
    assert not any("fpv" in name for name in cdv), SHEET_FILES
    return cdv


def scaled_samples(samples_dir: Path, factor: int, seed: int) -> Path | None:
    """Scale ``factor``'s samples in a copy's drop folder: the example's CDV sheets replaced by
    one sheet of ``factor`` independent example data sets (seed ``seed``); every other file kept.
    1x with the default seed keeps the example as it is (returns None)."""
    from disease_risk.intake.examples import write_scaled_example_sheet
    from disease_risk.seeds import DEFAULT_SEED

    if factor == 1 and seed == DEFAULT_SEED:
        return None
    replaced = [samples_dir / name for name in example_cdv_sheets()]
    missing = [p.name for p in replaced if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{samples_dir} lacks the example's CDV sheets {missing}")
    for path in replaced:
        path.unlink()
    return write_scaled_example_sheet(
        samples_dir / f"SIMULATED_scaled_x{factor}_seed{seed}.csv", factor, seed
    )


def fasta_ids(path: Path) -> set[str]:
    return {line[1:].split()[0] for line in path.read_text().splitlines() if line.startswith(">")}


def scaled_sequences(sheet: Path, sequences_dir: Path) -> str:
    """Make the copy's example sample sequences link to ``sheet``'s ``sequence_id``s.

    Kept as they are when the sheet names the same ids (the default seed's data set 0 is the
    example's animals); otherwise simulated again for the sheet's ids as the example's were
    (:func:`disease_risk.sequences.examples.simulate_samples`, the shipped panel's seed).
    Returns what was done, for the plan."""
    import pandas as pd

    from disease_risk.seeds import DEFAULT_SEED
    from disease_risk.sequences import examples as seq

    with open(sheet, newline="", encoding="utf-8") as handle:
        named = [(r["sequence_id"].strip(), r["species"].strip().replace(" ", "_"))
                 for r in csv.DictReader(handle) if r["sequence_id"].strip()]
    files = [sequences_dir / seq.SAMPLES_FASTA, sequences_dir / seq.PARTIAL_FASTA]
    shipped = set().union(*(fasta_ids(f) for f in files if f.exists())) - {seq.UNLINKED_ID}
    wanted = {seq_id for seq_id, _ in named}
    if wanted == shipped:
        return f"example sequences kept: all {len(wanted)} sheet sequence_ids link"
    full, partial = seq.simulate_samples(
        pd.DataFrame(named, columns=["sequence_id", "species"]), DEFAULT_SEED
    )
    seq.write_simulated(full, files[0])
    seq.write_simulated(partial, files[1])
    return (f"sample sequences simulated again for the sheet's {len(wanted)} sequence_ids "
            f"({len(full)} full, {len(partial)} partial, incl. {seq.UNLINKED_ID})")


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


def sheet_rows(path: Path) -> int:
    """Data rows of a drop-folder sheet (worksheets of a workbook summed)."""
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        return sum(max(sheet.max_row - 1, 0) for sheet in book.worksheets)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        delimiter = "\t" if path.suffix == ".tsv" else ","
        return sum(1 for _ in csv.reader(handle, delimiter=delimiter)) - 1


def prepare_scale(
    factor: int, seed: int, root: Path = OUT, landscape: str = "example"
) -> tuple[Path, list[str], dict]:
    """Copy the workflow to ``root/scale_<factor>x`` (``..._tiled`` with the landscape tiled)
    with scale ``factor``'s samples, sequences and network in place. Returns the copy, the
    Snakemake command and the planned inputs."""
    tiled = landscape == "tiled" and factor > 1
    workdir = copy_workflow(root / f"scale_{factor}x{'_tiled' if tiled else ''}")
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    samples_dir = workdir / config["samples_dir"]
    sheet = scaled_samples(samples_dir, factor, seed)
    sequences = (
        scaled_sequences(sheet, workdir / config["sequences"]["sequences_dir"])
        if sheet is not None
        else "example sequences as shipped"
    )
    overrides = []
    network_file = workdir / config["network_file"]
    if tiled:
        network_file = scaled_network(
            network_file, factor, workdir / "config" / "network_scaled.yaml"
        )
        overrides = ["--config", f"network_file={network_file.relative_to(workdir)}"]
    net = yaml.safe_load(network_file.read_text())
    plan = {
        "samples": f"scaled x{factor}, seed {seed}" if sheet else "example sheets as shipped",
        "sheets": {
            p.name: sheet_rows(p)
            for p in sorted(samples_dir.iterdir())
            if p.suffix in (".csv", ".tsv", ".xlsx")
        },
        "sequences": sequences,
        "network": {
            "file": str(network_file.relative_to(workdir)),
            "width_km": net["study_area"]["width_km"],
            "sites": len(net.get("sites", [])),
            "population_counts": {
                name: pop["count"] for name, pop in net.get("populations", {}).items()
                if "count" in pop
            },
        },
    }
    cmd = [SNAKEMAKE, "--workflow-profile", "profiles/default", *overrides]
    return workdir, cmd, plan


def fit_reliability(workdir: Path) -> list[dict]:
    """Every serology fit of a run with its reliability from its diagnostics: the CDV fits
    (``results/serology/diagnostics.tsv``) and each other hazard's
    (``results/hazards/<pathogen>/*_diagnostics.tsv``); a model not fitted says why."""
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    results = workdir / "results"
    parts = [(config.get("serology", {}).get("pathogen", "cdv"),
              results / "serology" / "diagnostics.tsv")]
    parts += [(p.parent.name, p) for p in sorted(results.glob("hazards/*/*_diagnostics.tsv"))]
    fits = []
    for pathogen, path in parts:
        if not path.exists():
            fits.append({"pathogen": pathogen, "model": path.stem, "reliable": "no diagnostics"})
            continue
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        for model in dict.fromkeys(r["model"] for r in rows if r["model"] != "all"):
            mine = [r for r in rows if r["model"] == model]
            blocks = [r for r in mine if r["section"] == "sampling"]
            status = [r["item"] for r in mine if r["section"] == "status"]
            fit: dict[str, Any] = {"pathogen": pathogen, "model": model}
            if not blocks:
                fit["reliable"] = "; ".join(status) or "no sampling diagnostics"
                fits.append(fit)
                continue

            def number(row: dict, key: str) -> float:
                return float(row[key]) if row.get(key) not in (None, "") else float("nan")

            fit.update(
                reliable="yes" if all(r["reliable"] == "yes" for r in blocks) else "no",
                rhat_max=round(max(number(r, "rhat_max") for r in blocks), 4),
                ess_bulk_min=round(min(number(r, "ess_bulk_min") for r in blocks)),
                divergences=int(max(number(r, "divergences") for r in blocks)),
                seconds=round(number(blocks[0], "seconds"), 1),
                unreliable_blocks=[r["item"] for r in blocks if r["reliable"] != "yes"],
            )
            fits.append(fit)
    return fits


def run_scale(factor: int, seed: int, timeout: float, landscape: str = "example") -> dict:
    workdir, cmd, plan = prepare_scale(factor, seed, landscape=landscape)
    result = {"scale": factor, "seed": seed, "landscape": landscape, "workdir": str(workdir),
              "inputs": plan}
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
    for key, table in (("samples", "samples/samples.tsv"),
                       ("rejected_rows", "qc/rejected_rows.tsv")):
        path = workdir / "results" / table
        result[key] = (
            len(path.read_text(encoding="utf-8").splitlines()) - 1 if path.exists() else None
        )
    result["fits"] = fit_reliability(workdir)
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
            + f"; {res['samples']} samples accepted, {res.get('rejected_rows')} rows in "
            "qc/rejected_rows.tsv"
        )
    lines += [
        "",
        "| scale | pathogen | model | reliable | R-hat max | bulk ESS min | divergences | "
        "fit s | unreliable blocks |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for fit in res.get("fits", []):
            lines.append(
                f"| {res['scale']}x | {fit['pathogen']} | {fit['model']} | {fit['reliable']} | "
                + " | ".join(
                    str(fit.get(k, "-"))
                    for k in ("rhat_max", "ess_bulk_min", "divergences", "seconds")
                )
                + f" | {', '.join(fit.get('unreliable_blocks', [])) or '-'} |"
            )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- serology fits

FITS_OUT = OUT / "fits"
FIT_MODELS = ("prevalence", "force_of_infection")
FIT_COLUMNS = (
    "scale", "model", "animals", "cells", "parameters", "seconds", "compile_seconds",
    "sample_seconds", "cores", "rhat_max", "rhat_worst", "ess_bulk_min", "ess_worst",
    "divergences", "mean_steps", "max_depth", "reliable",
)


def scaled_samples_table(factor: int, seed: int) -> Path:
    """Harmonised samples of ``factor`` independent example data sets (cached on disk).

    The sheet comes from :func:`disease_risk.intake.examples.write_scaled_example_sheet` and goes
    through the pipeline's intake (:func:`run_intake`, the config's registries and layouts).
    """
    from disease_risk.intake.examples import write_scaled_example_sheet
    from disease_risk.intake.harmonise import run_intake
    from disease_risk.tables import write_samples

    folder = FITS_OUT / f"x{factor}_seed{seed}"
    samples = folder / "samples.tsv"
    if samples.exists():
        return samples
    folder.mkdir(parents=True, exist_ok=True)
    sheet = write_scaled_example_sheet(folder / "sheet.csv", factor, seed)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    result = run_intake(
        [sheet], ROOT / config["species_file"], ROOT / config["assays_file"],
        ROOT / config["sheet_layouts_file"],
    )
    write_samples(result.samples, samples)
    return samples


def cdv_only(samples: Any) -> Any:
    """CDV rows (all rows when the table has no ``pathogen`` column)."""
    if "pathogen" not in samples:
        return samples
    return samples[samples["pathogen"].astype(str).str.upper() == "CDV"]


def fit_one(factor: int, model: str, seed: int, threads: int) -> dict:
    """One fit with the pipeline's settings (config/config.yaml, the rule's threads and seed
    stream), as the stage runs it; the compiled model is loaded or compiled first and timed
    apart. The posterior goes to ``bench/out/fits/`` for diagnosis."""
    from disease_risk.intake.registry import load_assays
    from disease_risk.seeds import stream_seed
    from disease_risk.serology import force_of_infection as foi
    from disease_risk.serology import prevalence as prev
    from disease_risk.serology.accuracy import assay_accuracy
    from disease_risk.serology.sampling import (
        SamplerSettings,
        compiled_nutpie_model,
        convergence_table,
        sampler_cores,
    )
    from disease_risk.serology.stage import _selection
    from disease_risk.tables import read_samples

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    section = config["serology"]
    samples = cdv_only(read_samples(scaled_samples_table(factor, seed)))
    accuracy = assay_accuracy(load_assays(ROOT / config["assays_file"]))
    settings = SamplerSettings.from_config(section, threads).for_model(section.get(model, {}))
    master = int(config["seed"])
    start = time.perf_counter()
    if model == "prevalence":
        data = prev.prevalence_data(samples, *_selection(section))
        priors = prev.PrevalencePriors.from_config(section.get("prevalence", {}))
        build = partial(prev.build_prevalence_model, data, accuracy, priors)
        animals, cells = int(data.cells["n_tested"].sum()), len(data.cells)
        run = lambda: prev.fit_prevalence(  # noqa: E731
            data, accuracy, priors, settings, stream_seed(master, "seroprevalence/prevalence")
        )
    else:
        foi_settings = foi.FoiSettings.from_config(section.get("force_of_infection", {}))
        data = foi.foi_data(samples, foi_settings, *_selection(section))
        build = partial(foi.build_foi_model, data, accuracy, foi_settings)
        animals, cells = len(data.animals), len(data.cells)
        run = lambda: foi.fit_foi(  # noqa: E731
            data, accuracy, foi_settings, settings,
            stream_seed(master, "seroprevalence/force_of_infection"),
        )
    compiled = compiled_nutpie_model(build(), build) if settings.sampler == "nutpie" else None
    compile_seconds = time.perf_counter() - start
    fit = run()
    seconds = time.perf_counter() - start
    table = convergence_table(fit, settings, model)
    worst_r = table.loc[table["rhat_max"].idxmax()]
    worst_e = table.loc[table["ess_bulk_min"].idxmin()]
    stats = fit.idata.sample_stats
    fit.idata.to_netcdf(FITS_OUT / f"x{factor}_seed{seed}" / f"{model}.nc")
    return {
        "scale": factor, "model": model, "animals": animals, "cells": cells,
        "parameters": compiled.n_dim if compiled is not None else "",
        "seconds": round(seconds, 1), "compile_seconds": round(compile_seconds, 1),
        "sample_seconds": round(seconds - compile_seconds, 1),
        "cores": sampler_cores(settings),
        "rhat_max": round(float(worst_r["rhat_max"]), 4), "rhat_worst": worst_r["item"],
        "ess_bulk_min": round(float(worst_e["ess_bulk_min"])), "ess_worst": worst_e["item"],
        "divergences": int(table["divergences"].iloc[0]),
        "mean_steps": round(float(stats["n_steps"].mean()), 1) if "n_steps" in stats else "",
        "max_depth": int(stats["depth"].max()) if "depth" in stats else "",
        "reliable": "yes" if (table["reliable"] == "yes").all() else "no",
    }


def fits_markdown(rows: list[dict]) -> str:
    lines = [
        "| scale | model | animals | cells | parameters | wall s (compile/load) | cores | "
        "R-hat max (block) | bulk ESS min (block) | divergences | mean leapfrog steps | reliable |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scale']}x | {r['model']} | {r['animals']:,} | {r['cells']:,} | "
            f"{r['parameters']} | {r['seconds']:.0f} ({r['compile_seconds']:.0f}) | {r['cores']} | "
            f"{r['rhat_max']:.3f} ({r['rhat_worst']}) | {r['ess_bulk_min']:.0f} "
            f"({r['ess_worst']}) | {r['divergences']} | {r['mean_steps']} | {r['reliable']} |"
        )
    return "\n".join(lines)


def run_fits(scales: list[int], models: list[str], seed: int, threads: int) -> None:
    """Each scale x model fit in a fresh process (as a pipeline job); rows merged into
    ``bench/out/fits/fits.tsv`` (keyed by scale, model and seed) and printed as markdown."""
    FITS_OUT.mkdir(parents=True, exist_ok=True)
    table = FITS_OUT / "fits.tsv"
    for factor in scales:
        scaled_samples_table(factor, seed)
        for model in models:
            command = [sys.executable, __file__, "--fit-child", str(factor), model,
                       "--seed", str(seed), "--threads", str(threads)]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row.update(seed=seed, date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
                       load=round(os.getloadavg()[0], 2))
            kept = []
            if table.exists():
                with open(table, newline="") as handle:
                    kept = [r for r in csv.DictReader(handle, delimiter="\t")
                            if (r["scale"], r["model"], r["seed"]) != (str(factor), model,
                                                                     str(seed))]
            with open(table, "w", newline="") as handle:
                writer = csv.DictWriter(handle, [*FIT_COLUMNS, "seed", "date", "load"],
                                        delimiter="\t", extrasaction="ignore")
                writer.writeheader()
                writer.writerows([*kept, row])
            print(fits_markdown([row]).splitlines()[-1], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per pipeline run")
    parser.add_argument("--fits", action="store_true",
                        help="serology fits alone on independent scaled animals")
    parser.add_argument("--models", nargs="+", choices=FIT_MODELS, default=list(FIT_MODELS))
    parser.add_argument("--seed", type=int, default=20261121,
                        help="seed of the scaled data (both modes; 1x with this default seed is "
                        "the example as shipped)")
    parser.add_argument("--dry", action="store_true",
                        help="pipeline mode: prepare the copies under bench/out/dry/ and print the "
                        "planned inputs, without running Snakemake")
    parser.add_argument("--threads", type=int, default=1, help="the fit rules' threads")
    parser.add_argument("--landscape", choices=("example", "tiled"), default="example",
                        help="pipeline mode: keep the example's landscape (surveillance grows, "
                        "the leopards do not) or tile it N times as well")
    parser.add_argument("--fit-child", nargs=2, metavar=("SCALE", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit_child:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        row = fit_one(int(args.fit_child[0]), args.fit_child[1], args.seed, args.threads)
        print(json.dumps(row, default=str))
        return
    if args.fits:
        run_fits(sorted(set(args.scales)), args.models, args.seed, args.threads)
        return
    scales = sorted(set(args.scales) | {1})
    if args.dry:
        for factor in scales:
            workdir, cmd, plan = prepare_scale(factor, args.seed, OUT / "dry", args.landscape)
            print(f"{factor}x: {workdir}\n  command: {' '.join(cmd)}")
            print("  " + json.dumps(plan, indent=2, ensure_ascii=False).replace("\n", "\n  "))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for factor in scales:
        res = run_scale(factor, args.seed, args.timeout, args.landscape)
        results.append(res)
        report = {"date": dt.date.today().isoformat(), "cpus": os.cpu_count(), "seed": args.seed,
                  "landscape": args.landscape, "results": results}
        (OUT / "scale_results.json").write_text(json.dumps(report, indent=2))
        if factor == 1 and res["run"]["returncode"] != 0:
            sys.exit(f"1x run failed: {res.get('failed')}")
    print(markdown(results))


if __name__ == "__main__":
    main()
