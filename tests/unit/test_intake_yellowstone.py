"""The real Yellowstone wolf and grizzly serology goes through the ordinary intake (config only)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from conftest import CONFIG_DIR

from disease_risk.intake.harmonise import load_yellowstone

CONFIG = CONFIG_DIR


@pytest.fixture(scope="module")
def yellowstone_csv(shared_dir) -> Path:
    return shared_dir / "data" / "yellowstone_cdv_serology" / "CDV_all.csv"


@pytest.fixture(scope="module")
def result(yellowstone_csv):
    return load_yellowstone(yellowstone_csv, CONFIG)


def test_every_row_accepted_or_rejected_and_counts_add_up(result, yellowstone_csv):
    with open(yellowstone_csv, encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle))
    assert len(raw) == 884 == result.rows_read
    assert result.accepted_rows + result.rejected_rows + result.duplicate_rows == 884
    assert result.rejected_rows == len(set(zip(result.rejected["file"], result.rejected["row"],
                                               strict=True)))
    assert (result.rejected["reason"] != "").all()
    total = result.summary[result.summary["grouping"] == "total"].iloc[0]
    assert (total["rows"], total["accepted"]) == (884, result.accepted_rows)
    species = result.summary[result.summary["grouping"] == "species"].set_index("value")
    assert species.loc["gray_wolf", "rows"] == 319
    assert species.loc["grizzly_bear", "rows"] == 565


def test_values_match_the_source_file(result, yellowstone_csv):
    with open(yellowstone_csv, encoding="utf-8", newline="") as handle:
        raw = {row[""]: row for row in csv.DictReader(handle)}
    samples = result.samples.set_index("sample_id")
    for number, row in list(raw.items())[::37]:
        got = samples.loc[f"GYE-{number}"]
        assert got["animal_id"] == row["UID"]
        assert got["collection_date"] == row["trap.date"]
        assert got["titre"] == float(row["titer"])
        assert got["result"] == ("positive" if float(row["titer"]) >= 16 else "negative")
        assert got["species"] == {"wolf": "gray_wolf", "bear": "grizzly_bear"}[row["spp"]]
        assert got["birth_year"] == int(row["birth.year"])
        assert got["age_years"] == float(row["age"])
        assert got["sex"] == row["sex"]
    assert set(samples["site"]) == {"Greater Yellowstone Ecosystem"}
    assert set(samples["assay"]) == {"VNT"}


def test_source_file_is_not_modified(yellowstone_csv):
    before = hashlib.sha256(yellowstone_csv.read_bytes()).hexdigest()
    load_yellowstone(yellowstone_csv, CONFIG)
    assert hashlib.sha256(yellowstone_csv.read_bytes()).hexdigest() == before
