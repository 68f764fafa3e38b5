"""Property-based tests: random sheets never crash the intake and no row is lost."""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from pathlib import Path

import openpyxl
from conftest import CONFIG_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disease_risk.intake.harmonise import IntakeError, read_sheets
from disease_risk.intake.registry import load_assays, load_species_registry
from disease_risk.intake.sheets import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

CONFIG = CONFIG_DIR
REGISTRY = load_species_registry(CONFIG / "species.yaml")
ASSAYS = load_assays(CONFIG / "assays.yaml")

plausible = {
    "sample_id": st.sampled_from(["S1", "S2", "S3", "EXAMPLE-1", " S1 ", ""]),
    "species": st.sampled_from(["leo", "tiger", "dog", "собака", "yeti", "", "Raccoon dog"]),
    "site": st.sampled_from(["Барабаш", "Kedrovaya Pad", "", " x "]),
    "collection_date": st.sampled_from(["2015-01-02", "31.02.2012", "42000", "03/04/2015",
                                        "2030-01-01", "", "13/01/2010"]),
    "assay": st.sampled_from(["VNT", "elisa", "PCR", ""]),
    "result": st.sampled_from(["1:32", "<1:4", ">=1:512", "pos", "neg", "-8", "0", "1;64", ""]),
    "sex": st.sampled_from(["F", "m", "самка", "?", "x", ""]),
    "age_years": st.sampled_from(["2", "2,5", "-1", "abc", "", "70"]),
    "birth_year": st.sampled_from(["2010", "2030", "10.5", ""]),
    "latitude": st.sampled_from(["43.1", "95", ""]),
    "longitude": st.sampled_from(["131.5", "x", ""]),
    "vaccinated": st.sampled_from(["yes", "no", "maybe", ""]),
}
free_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"),
    max_size=12,
)


@st.composite
def sheets(draw):
    optional = draw(st.lists(st.sampled_from(OPTIONAL_COLUMNS), unique=True, max_size=6))
    extras = draw(st.lists(st.sampled_from(["weight", "Comment ", "year", "Titre"]), unique=True,
                           max_size=2))
    columns = draw(st.permutations(list(REQUIRED_COLUMNS) + optional + extras))
    header = [draw(st.sampled_from([c, c.upper(), f" {c} "])) for c in columns]
    n_rows = draw(st.integers(0, 8))
    rows = []
    for _ in range(n_rows):
        row = []
        for column in columns:
            choices = [free_text]
            if column in plausible:
                choices.insert(0, plausible[column])
            row.append(draw(st.one_of(*choices)))
        rows.append(row)
    suffix = draw(st.sampled_from([".csv", ".tsv", ".xlsx"]))
    return header, rows, suffix


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        for row in [header, *rows]:
            book.active.append(row)
        book.save(path)
        return
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="," if path.suffix == ".csv" else "\t").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sheets(), min_size=1, max_size=3), st.booleans())
def test_random_sheets_every_row_accounted_for(specs, strict):
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        expected_rows = 0
        for i, (header, rows, suffix) in enumerate(specs):
            path = Path(tmp) / f"sheet{i}{suffix}"
            _write(path, header, rows)
            paths.append(path)
            expected_rows += sum(1 for r in rows if any(c.strip() for c in r))
        before = _digest(paths)
        try:
            result = read_sheets(paths, REGISTRY, ASSAYS, strict=strict)
        except IntakeError as err:
            message = str(err)
            assert "unreadable sample sheet" in message or "strict mode" in message
            if "strict mode" in message:
                assert strict and " row " in message and "column" in message
            else:
                assert any(str(p) in message for p in paths)
            return
        finally:
            assert _digest(paths) == before
        assert result.rows_read == expected_rows
        assert result.accepted_rows + result.rejected_rows + result.duplicate_rows == expected_rows
        assert not strict or result.rejected_rows == 0
        rejected_keys = set(zip(result.rejected["file"], result.rejected["row"], strict=True))
        assert len(rejected_keys) == result.rejected_rows + result.duplicate_rows
        assert (result.rejected["reason"].str.len() > 0).all()
        accepted_keys = set(zip(result.samples["source_file"], result.samples["source_row"],
                                strict=True))
        assert not accepted_keys & rejected_keys
        assert result.samples["sample_id"].is_unique
        assert set(result.samples["result"]) <= {"positive", "negative", "indeterminate"}
        total = result.summary[result.summary["grouping"] == "total"].iloc[0]
        assert total["rows"] == expected_rows
        for grouping in ("file", "species", "site", "year"):
            part = result.summary[result.summary["grouping"] == grouping]
            assert part["rows"].sum() == expected_rows
            assert (part["rows"] == part["accepted"] + part["rejected"] + part["duplicates"]).all()
