"""Provenance: checksums against hashlib, input discovery (relative and absolute config paths),
stable files vs the volatile run date, the record read back as written, and a dry run of the
workflow with an absolute samples folder."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pandas as pd
import pytest
import yaml

from disease_risk.report.provenance import (
    PROVENANCE_FILES,
    code_version,
    collect_provenance,
    config_input_files,
    file_checksums,
    input_name,
    provenance_inputs,
    provenance_paths,
    read_provenance,
    sha256_file,
    write_provenance,
)


def make_inputs(root):
    (root / "config" / "samples").mkdir(parents=True)
    (root / "config" / "samples" / "a.csv").write_text("sample_id,species\nS1,amur_tiger\n")
    (root / "config" / "samples" / "b.tsv").write_bytes(bytes(range(256)) * 5000)  # > 1 chunk
    (root / "config" / "species.yaml").write_text("locations_file: config/locations.csv\n")
    (root / "config" / "locations.csv").write_text("animal_id,species\n")
    (root / "results" / "seroprevalence").mkdir(parents=True)
    (root / "results" / "seroprevalence" / "foi_idata.nc").write_text("output, not input")
    return {
        "samples_dir": "config/samples",
        "species_file": "config/species.yaml",
        "seed": 1,
        "transmission": {"foi_file": "results/seroprevalence/foi_idata.nc", "horizon_days": 10},
        "strict": False,
        "missing_file": "config/does_not_exist.yaml",
    }


def test_sha256_matches_hashlib(tmp_path):
    config = make_inputs(tmp_path)
    for rel in ("config/samples/a.csv", "config/samples/b.tsv", "config/species.yaml"):
        data = (tmp_path / rel).read_bytes()
        assert sha256_file(tmp_path / rel) == hashlib.sha256(data).hexdigest()
    table = file_checksums(config_input_files(config, tmp_path), tmp_path)
    expected = {
        rel: hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest()
        for rel in ("config/samples/a.csv", "config/samples/b.tsv", "config/species.yaml",
                    "config/locations.csv")
    }
    assert dict(zip(table["path"], table["sha256"], strict=True)) == expected
    assert table.set_index("path").loc["config/samples/b.tsv", "bytes"] == 256 * 5000


def test_config_inputs_exclude_results_and_missing_files(tmp_path):
    files = config_input_files(make_inputs(tmp_path), tmp_path)
    assert files == ["config/locations.csv", "config/samples/a.csv", "config/samples/b.tsv",
                     "config/species.yaml"]


def test_stable_files_identical_and_run_date_separate(tmp_path):
    config = make_inputs(tmp_path)
    files = config_input_files(config, tmp_path)
    first = collect_provenance(files, config, base_dir=tmp_path,
                               now=datetime(2026, 1, 1, tzinfo=UTC))
    second = collect_provenance(files, config, base_dir=tmp_path,
                                now=datetime(2026, 6, 1, 12, 30, tzinfo=UTC))
    a = write_provenance(first, provenance_paths(tmp_path / "prov_a"))
    b = write_provenance(second, provenance_paths(tmp_path / "prov_b"))
    assert [p.name for p in a] == list(PROVENANCE_FILES.values())
    for pa, pb in zip(a, b, strict=True):
        if pa.name == "run.yaml":
            assert pa.read_bytes() != pb.read_bytes()
            assert yaml.safe_load(pb.read_text())["run_date_utc"] == "2026-06-01T12:30:00Z"
        else:
            assert pa.read_bytes() == pb.read_bytes(), pa.name
    used = yaml.safe_load((tmp_path / "prov_a" / "config_used.yaml").read_text())
    assert used == config
    packages = pd.read_csv(tmp_path / "prov_a" / "packages.tsv", sep="\t", dtype=str)
    versions = dict(zip(packages["package"], packages["version"], strict=True))
    import pandas
    import snakemake

    assert versions["pandas"] == pandas.__version__
    assert versions["snakemake"] == snakemake.__version__
    assert "python" in versions


def test_code_version_inside_and_outside_git(tmp_path, repo_root):
    inside = code_version(repo_root)
    assert re.fullmatch(r"[0-9a-f]{40}", inside["git_commit"])
    assert inside["uncommitted_changes"] in {"yes", "no"}
    outside = code_version(tmp_path)
    assert outside["git_commit"].startswith("unknown")


def test_record_reads_back_as_written(tmp_path):
    config = make_inputs(tmp_path)
    files = config_input_files(config, tmp_path)
    record = collect_provenance(files, config, base_dir=tmp_path,
                                now=datetime(2026, 1, 1, tzinfo=UTC))
    written = write_provenance(record, provenance_paths(tmp_path / "prov"))
    back = read_provenance(reversed(written))  # found by file name, in any order
    pd.testing.assert_frame_equal(back.checksums, record.checksums)
    pd.testing.assert_frame_equal(back.packages.fillna(""), record.packages)
    assert back.config == config and back.code == record.code and back.run == record.run
    with pytest.raises(FileNotFoundError, match=r"run\.yaml"):
        read_provenance(written[:-1])


def test_config_inputs_with_absolute_paths(tmp_path):
    """An absolute folder elsewhere (a cluster's data folder) is listed by absolute path; an
    absolute path below the working directory as a relative one; results/ stays excluded."""
    work, data = tmp_path / "work", tmp_path / "cluster_data"
    config = make_inputs(work)
    (data / "sheets" / ".snapshot").mkdir(parents=True)
    sheet = "sample_id,species\nS9,amur_leopard\n"
    (data / "sheets" / "lab.csv").write_text(sheet)
    (data / "sheets" / ".snapshot" / "old.csv").write_text("hidden\n")
    config["samples_dir"] = str(data / "sheets")
    config["species_file"] = str(work / "config" / "species.yaml")
    config["transmission"]["foi_file"] = str(work / "results/seroprevalence/foi_idata.nc")
    files = config_input_files(config, work)
    assert files == sorted([str(data / "sheets" / "lab.csv"), "config/locations.csv",
                            "config/species.yaml"])
    table = file_checksums(files, work)
    assert table.set_index("path").loc[str(data / "sheets" / "lab.csv"), "bytes"] == len(sheet)
    assert input_name(work / "config.yaml", work) == "config.yaml"
    assert input_name(data / "config.yaml", work) == str(data / "config.yaml")
    assert input_name("config/config.yaml", work) == "config/config.yaml"
    assert provenance_inputs(config, [data / "run.yaml"], work) == sorted(
        [*files, str(data / "run.yaml")])


