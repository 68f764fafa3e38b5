"""The corpus of bad sheets in tests/data/bad_sheets: each gives its exact, helpful message."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import BAD_SHEETS, CONFIG_DIR

from disease_risk.intake.harmonise import IntakeError, check, read_sheets
from disease_risk.intake.registry import load_assays, load_sheet_layouts, load_species_registry

BAD = BAD_SHEETS
CONFIG = CONFIG_DIR

# file -> (whole file unreadable?, row, column, substring the message must contain)
ROW_PROBLEMS = {
    "unknown_species.csv": [
        (2, "species", "unknown species (did you mean 'amur_tiger'?)"),
        (3, "species", "add this spelling to its synonyms"),
    ],
    "impossible_date.csv": [(2, "collection_date", "not a real calendar date")],
    "negative_titre.csv": [(2, "result", "a titre cannot be negative")],
    "garbled_titre.csv": [(2, "result", "cannot read the result; write a titre such as 32")],
    "qualitative_with_titre.csv": [(2, "result", "assay ELISA_IgG is qualitative")],
}
FILE_PROBLEMS = {
    "missing_column.csv": "missing required column(s) 'assay'",
    "empty.csv": "the file is empty",
    "semicolon.csv": "columns are separated by semicolons (';'), but a .csv file must use commas",
    "latin1.csv": "not UTF-8 text (byte 0xe8 on line 2",
    "extra_header_row.xlsx": "the column names are on row 2, not on the first row; delete the 1 "
    "row(s) above the header",
    "no_header.csv": "no header row found",
    "not_really_excel.xlsx": "not a readable .xlsx workbook",
}


@pytest.fixture(scope="module")
def config():
    return (load_species_registry(CONFIG / "species.yaml"), load_assays(CONFIG / "assays.yaml"),
            load_sheet_layouts(CONFIG / "sheet_layouts.yaml"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_is_complete():
    listed = set(ROW_PROBLEMS) | set(FILE_PROBLEMS) | {"dup_conflict_a.csv", "dup_conflict_b.tsv"}
    on_disk = {p.name for p in BAD.iterdir() if p.suffix in {".csv", ".tsv", ".xlsx"}}
    assert on_disk == listed


@pytest.mark.parametrize("name", sorted(ROW_PROBLEMS))
def test_row_problem_names_file_row_column_value_and_fix(name, config):
    path = BAD / name
    before = _digest(path)
    result = read_sheets([path], *config)
    assert _digest(path) == before
    got = {(r.row, r.column): r for r in result.rejected.itertuples(index=False)}
    for row, column, message in ROW_PROBLEMS[name]:
        problem = got[(row, column)]
        assert problem.file == str(path)
        assert message in problem.reason
        assert problem.value != ""
    assert result.rejected_rows == len({row for row, _, _ in ROW_PROBLEMS[name]})
    assert result.accepted_rows + result.rejected_rows + result.duplicate_rows == result.rows_read


def test_impossible_date_keeps_the_good_row(config):
    result = read_sheets([BAD / "impossible_date.csv"], *config)
    assert list(result.samples["sample_id"]) == ["ID-2"]
    assert result.rejected.iloc[0]["value"] == "2015-02-30"


@pytest.mark.parametrize("name", sorted(FILE_PROBLEMS))
def test_unreadable_file_fails_naming_the_file(name, config):
    path = BAD / name
    before = _digest(path)
    with pytest.raises(IntakeError) as err:
        read_sheets([path], *config)
    assert str(path) in str(err.value)
    assert FILE_PROBLEMS[name] in str(err.value)
    assert _digest(path) == before


def test_conflicting_duplicate_ids_across_two_files_name_both_places(config):
    a, b = BAD / "dup_conflict_a.csv", BAD / "dup_conflict_b.tsv"
    result = read_sheets([a, b], *config)
    assert result.accepted_rows == 0
    assert result.rejected_rows == 2
    by_file = {r.file: r.reason for r in result.rejected.itertuples(index=False)}
    assert f"sample_id also used at {b} row 2 (differs in collection_date, year)" in by_file[str(a)]
    assert f"sample_id also used at {a} row 2 (differs in collection_date, year)" in by_file[str(b)]


def test_check_reports_every_bad_sheet_and_exit_state():
    paths = sorted(p for p in BAD.iterdir() if p.suffix in {".csv", ".tsv", ".xlsx"})
    outcome = check(paths, CONFIG / "species.yaml", CONFIG / "assays.yaml",
                    CONFIG / "sheet_layouts.yaml")
    assert not outcome.clean
    for name, message in FILE_PROBLEMS.items():
        assert f"UNREADABLE {BAD / name}: " in outcome.text
        assert message in outcome.text
    for name, problems in ROW_PROBLEMS.items():
        assert f"PROBLEMS {BAD / name}" in outcome.text
        for row, column, _ in problems:
            assert f"  row {row}, column {column}, value " in outcome.text
