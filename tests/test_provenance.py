"""Provenance: checksums against hashlib, input discovery, stable files vs the volatile run date."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pandas as pd
import yaml

from disease_risk.provenance import (
    PROVENANCE_FILES,
    code_version,
    collect_provenance,
    config_input_files,
    file_checksums,
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
    a = write_provenance(first, tmp_path / "prov_a")
    b = write_provenance(second, tmp_path / "prov_b")
    assert [p.name for p in a] == list(PROVENANCE_FILES)
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
