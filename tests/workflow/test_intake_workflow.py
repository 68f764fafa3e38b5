"""End to end: the Snakemake intake target on the example data in a temporary copy."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from conftest import BAD_SHEETS, REPO_ROOT, run_snakemake

TARGETS = ("results/samples/samples.tsv", "results/qc/rejected_rows.tsv",
           "results/qc/intake_summary.tsv")
BAD = BAD_SHEETS
NEW_SHEET = ("sample_id,species,site,collection_date,assay,result,age_years\n"
             "NEW-1,leo,Kedrovaya Pad,2021-06-01,VNT,1:64,3\n"
             "NEW-2,tiger,Kedrovaya Pad,2021-06-02,VNT,<1:4,5\n")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.mark.slow
def test_intake_target_reruns_only_on_change_and_explains_problems(workflow_dir):
    samples_dir = workflow_dir / "config" / "samples"
    inputs_before = _digests(samples_dir)

    first = run_snakemake(workflow_dir, *TARGETS, timeout=300)
    assert first.returncode == 0, first.stderr
    samples = (workflow_dir / TARGETS[0]).read_text(encoding="utf-8").splitlines()
    rejected = (workflow_dir / TARGETS[1]).read_text(encoding="utf-8").splitlines()
    assert 1800 < len(samples) - 1 < 2200
    assert len(rejected) == 1 + 3  # impossible date, garbled titre, exact duplicate
    assert "Барабаш" in "\n".join(samples)
    log = (workflow_dir / "results/logs/intake/intake.log").read_text(encoding="utf-8")
    assert "rows not used" in log and "31.02.2012" in log
    assert _digests(samples_dir) == inputs_before  # input files never written to

    second = run_snakemake(workflow_dir, *TARGETS, timeout=300)
    assert second.returncode == 0
    assert "Nothing to be done" in second.stdout + second.stderr

    (samples_dir / "new_lab_2021.csv").write_text(NEW_SHEET, encoding="utf-8")
    shutil.copy(BAD / "impossible_date.csv", samples_dir / "lab_with_a_typo.csv")
    third = run_snakemake(workflow_dir, *TARGETS, timeout=300)
    assert third.returncode == 0, third.stderr
    updated = (workflow_dir / TARGETS[0]).read_text(encoding="utf-8").splitlines()
    assert len(updated) == len(samples) + 3  # NEW-1, NEW-2 and the good row ID-2
    assert any(line.startswith("NEW-1\t") for line in updated)
    account = (workflow_dir / TARGETS[1]).read_text(encoding="utf-8")
    assert ("config/samples/lab_with_a_typo.csv\t2\tcollection_date\t2015-02-30\t"
            "not a real calendar date") in account
    summary = (workflow_dir / TARGETS[2]).read_text(encoding="utf-8")
    assert "file\tconfig/samples/lab_with_a_typo.csv\t2\t1\t1\t0" in summary


def _run_step(tmp_path: Path, sheets: list[str], strict: bool,
              **params: object) -> tuple[str, tuple[str, ...]]:
    """Rule intake's script, run in-process (the same code, no Snakemake start-up)."""
    from disease_risk.intake.harmonise import IntakeError
    from disease_risk.intake.stage import intake
    from disease_risk.logs import log_to

    repo = REPO_ROOT
    log_path = tmp_path / "intake.log"
    outputs = {k: str(tmp_path / n) for k, n in
               (("samples", "s.tsv"), ("rejected", "r.tsv"), ("summary", "q.tsv"))}
    inputs = {"sheets": sheets, "species": str(repo / "config/species.yaml"),
              "assays": str(repo / "config/assays.yaml"),
              "layouts": str(repo / "config/sheet_layouts.yaml")}
    with pytest.raises(IntakeError), log_to(log_path):
        intake(inputs, outputs, {"strict": strict, **params})
    return log_path.read_text(encoding="utf-8"), tuple(outputs.values())


def test_strict_step_fails_with_the_problems_in_log_and_on_stderr(tmp_path, capfd):
    repo = REPO_ROOT
    sheets = sorted(str(p) for p in (repo / "config" / "samples").glob("*.*sv"))
    logged, outputs = _run_step(tmp_path, sheets, strict=True)
    err = capfd.readouterr().err
    for text in ("strict mode: 2 row(s) rejected",
                 "value '31.02.2012': not a real calendar date", "value '1;64': cannot read"):
        assert text in err and text in logged
    assert not any(Path(o).exists() for o in outputs)


def test_unreadable_sheet_fails_the_step_naming_the_file(tmp_path, capfd):
    sheets = [str(BAD / "semicolon.csv"), str(BAD / "impossible_date.csv")]
    logged, outputs = _run_step(tmp_path, sheets, strict=False)
    text = f"{BAD / 'semicolon.csv'}: columns are separated by semicolons"
    assert text in capfd.readouterr().err and text in logged
    assert not any(Path(o).exists() for o in outputs)


def test_empty_drop_folder_fails_the_step(tmp_path, capfd):
    logged, _ = _run_step(tmp_path, [], strict=False)
    assert "no sample sheets (.csv, .tsv, .xlsx)" in logged


def test_strict_step_fails_on_files_not_read(tmp_path, capfd):
    from disease_risk.intake.folder import scan_drop_folder

    folder = BAD / "drop_folder"
    logged, outputs = _run_step(tmp_path, [str(folder / "good.csv")], strict=True,
                                drop_folder=scan_drop_folder(folder).params())
    err = capfd.readouterr().err
    for text in ("strict mode: 5 file(s) or worksheet(s) not read",
                 f"{folder / 'export.txt'}: not read: .txt is not a sample-sheet type",
                 f"{folder / 'old' / 'archived.csv'}: not read: it is in the sub-folder 'old'"):
        assert text in err and text in logged
    assert "README.md" not in err  # documentation is a note, not a problem
    assert not any(Path(o).exists() for o in outputs)


@pytest.mark.slow
def test_sheet_names_with_braces_and_files_not_read_do_not_stop_the_run(workflow_dir):
    samples_dir = workflow_dir / "config" / "samples"
    shutil.copy(BAD / "name_with_{braces}.csv", samples_dir / "lab_{x}.csv")
    (samples_dir / "export.txt").write_text("sample_id\tspecies\n", encoding="utf-8")
    dry = run_snakemake(workflow_dir, "-n", timeout=300)  # the whole pipeline plans
    assert dry.returncode == 0, dry.stderr
    assert "WildcardError" not in dry.stdout + dry.stderr
    record = run_snakemake(workflow_dir, "results/provenance/input_checksums.tsv", timeout=300)
    assert record.returncode == 0, record.stderr
    checksums = (workflow_dir / "results/provenance/input_checksums.tsv").read_text()
    assert "config/samples/lab_{x}.csv\t" in checksums  # read, so an input ...
    assert "export.txt" not in checksums  # ... and a file the intake does not read is not

    run = run_snakemake(workflow_dir, *TARGETS, timeout=300)
    assert run.returncode == 0, run.stderr
    samples = (workflow_dir / TARGETS[0]).read_text(encoding="utf-8")
    assert "\tconfig/samples/lab_{x}.csv\t2" in samples
    rejected = (workflow_dir / TARGETS[1]).read_text(encoding="utf-8")
    assert ("config/samples/export.txt\t\t(whole file)\texport.txt\tnot read: .txt is not a "
            "sample-sheet type") in rejected
    summary = (workflow_dir / TARGETS[2]).read_text(encoding="utf-8")
    assert "not_read\tconfig/samples/export.txt\t1\t0\t1\t0" in summary

    (samples_dir / "lab_{x}.csv").write_text(  # editing a sheet Snakemake cannot track ...
        (BAD / "name_with_{braces}.csv").read_text(encoding="utf-8").replace("1:32", "1:64"),
        encoding="utf-8")
    again = run_snakemake(workflow_dir, "-n", *TARGETS, timeout=300)
    assert again.returncode == 0 and "rule intake" in again.stdout  # ... still reruns it
