"""The corpus of bad sheets in tests/data/bad_sheets: each gives its exact, helpful message."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from conftest import BAD_SHEETS, CONFIG_DIR

from disease_risk.intake.check import check
from disease_risk.intake.folder import scan_drop_folder
from disease_risk.intake.harmonise import IntakeError, read_sheets
from disease_risk.intake.registry import load_assays, load_sheet_layouts, load_species_registry
from disease_risk.intake.sheets import SheetError, read_sheet

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
    "titre_thousands.csv": [
        (4, "result", "the comma in '1,02' is not a thousands separator (1,024 = 1024) and a "
                      "titre is not written with a decimal comma; write the titre without "
                      "separators (e.g. 1:1024 or 1024)"),
        (5, "result", "'1.024' is ambiguous: a point as thousands separator (1024) or a decimal "
                      "point (1.024); write the titre without separators"),
    ],
    "uncached_formulas.xlsx": [
        *[(3, column, "a formula without a saved value (the workbook was written by a program "
                      "that does not calculate formulas), so the cell reads as empty; open the "
                      "workbook in Excel or LibreOffice and save it")
          for column in ("sample_id", "species", "site", "collection_date", "assay", "result")],
        (4, "result", "a formula without a saved value"),
    ],
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
    "unbalanced_quote.csv": "row 3, column 'notes': the value opens a quote (\") that is never "
    "closed, so every later line would be read into this one cell (line 3: 'UQ-2,leopard,"
    "Kedrovaya Pad,2015-03-02,VNT,1:64,\"old collar, '); delete the stray quote, or, if the "
    "value really holds a quote, put the whole value in quotes and double each quote inside it",
    "quote_runs_over_rows.csv": "row 2, column 'notes': a quote (\") opens this value and runs "
    "over 3 lines (from line 3: 'QR-2,tiger,Kedrovaya Pad,2015-03-02,VNT,1:64,ok'), taking in "
    "what looks like another row: the value holds 12 comma(s) and its row 7 cells, for a header "
    "of 7; the quote is probably a stray one; delete the stray quote",
    "quote_mid_value.tsv": "row 2, column 'site': the value opens a quote (\") that closes "
    "before the value ends, so the text after the quote would be misread",
    "huge_cell.csv": "row 2, column 'notes': a value is longer than 131,072 characters, the "
    "most a sheet cell may hold; shorten it",
    "no_sample_worksheet.xlsx": "no_sample_worksheet.xlsx#Plan: missing required column(s) "
    "'sample_id'",
}
# Hostile but readable: each is read as the test of the same name says.
READ_AS_MEANT = {"datetime_cell.xlsx", "several_worksheets.xlsx", "name_with_{braces}.csv",
                 "tex_site_name.csv", "formula_text.csv"}


@pytest.fixture(scope="module")
def config():
    return (load_species_registry(CONFIG / "species.yaml"), load_assays(CONFIG / "assays.yaml"),
            load_sheet_layouts(CONFIG / "sheet_layouts.yaml"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_is_complete():
    listed = (set(ROW_PROBLEMS) | set(FILE_PROBLEMS) | READ_AS_MEANT
              | {"dup_conflict_a.csv", "dup_conflict_b.tsv"})
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
        assert f"UNREADABLE {BAD / name}" in outcome.text
        assert message in outcome.text
    for name, problems in ROW_PROBLEMS.items():
        assert f"PROBLEMS {BAD / name}" in outcome.text
        for row, column, _ in problems:
            assert f"  row {row}, column {column}, value " in outcome.text


def test_titres_with_thousands_separators_are_whole_titres(config):
    result = read_sheets([BAD / "titre_thousands.csv"], *config)
    samples = result.samples.set_index("sample_id")
    assert list(samples.index) == ["TH-1", "TH-2"]
    assert list(samples["titre"]) == [1024.0, 1024.0]
    assert list(samples["result"]) == ["positive", "positive"]
    assert list(samples["result_raw"]) == ["1:1,024", "1,024"]
    with pytest.raises(IntakeError, match=r"strict mode: 2 row\(s\) rejected(.|\n)*row 4, "
                                          r"column result, value '1:1,02': the comma in '1,02'"):
        read_sheets([BAD / "titre_thousands.csv"], *config, strict=True)


def test_excel_date_with_a_time_of_day_is_read_as_its_date(config):
    result = read_sheets([BAD / "datetime_cell.xlsx"], *config)
    assert result.rejected.empty
    assert list(result.samples["collection_date"]) == ["2015-05-31"]
    assert list(result.samples["year"]) == [2015]


def test_a_row_of_uncached_formulas_is_listed_not_lost(config):
    result = read_sheets([BAD / "uncached_formulas.xlsx"], *config)
    assert result.rows_read == 3
    assert list(result.samples["sample_id"]) == ["UF-1"]
    assert set(result.rejected["row"]) == {3, 4}
    assert set(result.rejected.loc[result.rejected["row"] == 3, "value"]) == {
        "=A2", "=B2", "=C2", "=D2+1", "=E2", "=F2"}


def test_every_worksheet_is_used_or_listed(config):
    path = BAD / "several_worksheets.xlsx"
    result = read_sheets([path], *config)
    assert result.sources == [f"{path}#tigers", f"{path}#leopards"]
    assert list(result.samples["source_file"]) == [f"{path}#tigers"] * 2 + [f"{path}#leopards"]
    assert list(result.samples["source_row"]) == [2, 3, 2]
    notes = result.rejected[result.rejected["file"] == f"{path}#Notes"].iloc[0]
    assert pd.isna(notes["row"]) and notes["column"] == "(whole worksheet)"
    assert notes["reason"].startswith("not read: worksheet 'Notes' has no header row naming the "
                                      "required columns (sample_id, species, site, "
                                      "collection_date, assay, result), so it is taken for notes")
    summary = result.summary.set_index(["grouping", "value"])
    assert list(summary.loc[("not_read", f"{path}#Notes")]) == [2, 0, 2, 0]
    assert summary.loc[("file", f"{path}#leopards"), "accepted"] == 1
    assert result.notes == [f"{path}#Empty: empty worksheet; nothing to read"]
    outcome = check([path], CONFIG / "species.yaml", CONFIG / "assays.yaml")
    assert not outcome.clean
    assert f"OK {path}#tigers: 2 rows, 2 accepted" in outcome.text
    assert f"NOT READ {path}#Notes (2 non-empty rows): worksheet 'Notes' has no header" \
        in outcome.text
    assert f"note: {path}#Empty: empty worksheet" in outcome.text
    assert "all sheets are clean" not in outcome.text
    assert outcome.text.endswith("problems found: 0 unreadable file(s), 0 rejected row(s), "
                                 "1 file(s) or worksheet(s) not read")
    with pytest.raises(IntakeError, match=r"strict mode: 1 file\(s\) or worksheet\(s\) not "
                                          r"read(.|\n)*several_worksheets.xlsx#Notes: not read"):
        read_sheets([path], *config, strict=True)


DROP_REASONS = {
    ".hidden.csv": "not read: hidden file (its name starts with '.')",
    "export.txt": "not read: .txt is not a sample-sheet type; if it is a tab-separated export, "
                  "rename it to .tsv",
    "old/archived.csv": "not read: it is in the sub-folder 'old', and only files directly in the "
                        "samples folder are read",
    "scan.pdf": "not read: '.pdf' files are not sample sheets (only .csv, .tsv and .xlsx are "
                "read)",
    "~$good.xlsx": "not read: lock file: a workbook in this folder is open in Excel or "
                   "LibreOffice",
}


def test_every_file_in_the_drop_folder_is_used_or_listed(config):
    folder = BAD / "drop_folder"
    found = scan_drop_folder(folder)
    assert found.sheets == [folder / "good.csv"]
    listed = {n.where: n for n in found.not_read if n.listed}
    assert set(listed) == {str(folder / name) for name in DROP_REASONS}
    for name, reason in DROP_REASONS.items():
        assert listed[str(folder / name)].reason.startswith(reason)
    assert [n.where for n in found.not_read if not n.listed] == [str(folder / "README.md")]
    result = read_sheets(found.sheets, *config, not_read=found.not_read)
    assert result.accepted_rows == 1
    whole = result.rejected[result.rejected["row"].isna()]
    assert set(whole["file"]) == set(listed) and set(whole["column"]) == {"(whole file)"}
    not_read = result.summary[result.summary["grouping"] == "not_read"].set_index("value")
    assert not_read.loc[str(folder / "export.txt"), "rows"] == 2
    assert not_read.loc[str(folder / "scan.pdf"), "rows"] == 0
    with pytest.raises(IntakeError, match=r"strict mode: 5 file\(s\) or worksheet\(s\) not "
                                          r"read(.|\n)*export\.txt: not read: \.txt is not"):
        read_sheets(found.sheets, *config, strict=True, not_read=found.not_read)


def test_a_stray_quote_past_the_field_limit_names_the_quote(tmp_path):
    path = tmp_path / "s.csv"
    row = "S{},dog,Barabash,2015-03-01,VNT,1:32,ok\n"
    path.write_text("sample_id,species,site,collection_date,assay,result,notes\n"
                    'S0,dog,Barabash,2015-03-01,VNT,1:32,"collar\n'
                    + "".join(row.format(i) for i in range(1, 5000)), encoding="utf-8")
    with pytest.raises(SheetError, match=r"s\.csv: row 2, column 'notes': a quote \(\"\) opens "
                                         r"this value and the cell grows past 131,072 characters"):
        read_sheet(path)


def test_a_sheet_name_with_braces_is_read(config):
    path = BAD / "name_with_{braces}.csv"
    result = read_sheets([path], *config)
    assert list(result.samples["source_file"]) == [str(path)]
