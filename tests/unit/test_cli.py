"""The disease-risk console command: check, template, make-example-data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BAD_SHEETS

from disease_risk.cli import SUBCOMMANDS, build_parser, main

BAD = BAD_SHEETS
GOOD = ("sample_id,species,site,collection_date,assay,result\n"
        "G1,leo,Kedrovaya Pad,2015-03-01,VNT,1:32\n")


def test_check_clean_sheet_exits_0(tmp_path, capsys):
    path = tmp_path / "good.csv"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"OK {path}: 1 rows, 1 accepted, 0 rejected" in out
    assert out.rstrip().endswith("all sheets are clean")


def test_check_bad_sheets_exit_1_with_readable_list(capsys):
    code = main(["check", str(BAD / "impossible_date.csv"), str(BAD / "semicolon.csv")])
    assert code == 1
    out = capsys.readouterr().out
    assert f"PROBLEMS {BAD / 'impossible_date.csv'}: 2 rows, 1 accepted, 1 rejected" in out
    assert "  row 2, column collection_date, value '2015-02-30': not a real calendar date" in out
    assert f"UNREADABLE {BAD / 'semicolon.csv'}: columns are separated by semicolons" in out
    assert "problems found: 1 unreadable file(s), 1 rejected row(s)" in out


def test_check_reports_a_broken_registry(tmp_path, capsys):
    registry = tmp_path / "species.yaml"
    registry.write_text("species: []\n")
    path = tmp_path / "good.csv"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["check", str(path), "--species-file", str(registry)]) == 2
    assert "species.yaml does not follow disease_risk/schemas/species.schema.yaml" in \
        capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
def test_template_has_the_columns_and_an_example_row(tmp_path, suffix, capsys):
    path = tmp_path / f"template{suffix}"
    assert main(["template", str(path)]) == 0
    assert main(["template", str(path)]) == 1  # refuses to overwrite
    assert "exists" in capsys.readouterr().err
    assert main(["template", str(path), "--force"]) == 0
    from disease_risk.intake.sheets import STANDARD_COLUMNS, read_sheet

    sheet = read_sheet(path)
    assert sheet.columns == list(STANDARD_COLUMNS)
    assert len(sheet.rows) == 1 and sheet.rows[0][1]["sample_id"] == "EXAMPLE-0001"
    assert main(["check", str(path)]) == 1  # the example row must be replaced


def test_make_example_data_writes_the_sheets(tmp_path, capsys):
    assert main(["make-example-data", "--out", str(tmp_path), "--seed", "3"]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(["README.md", "SIMULATED_big_cat_team_tigers_leopards.xlsx",
                              "SIMULATED_big_cat_team_fpv_toxoplasma.csv",
                              "SIMULATED_field_team_prey_elisa.csv",
                              "SIMULATED_regional_vet_lab_village_dogs.csv",
                              "SIMULATED_wildlife_lab_mesocarnivores.tsv"])
    assert capsys.readouterr().out.count("wrote ") == 5


def test_subcommands_are_pluggable():
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices
    assert {"check", "template", "make-example-data"} <= set(choices)
    assert len(choices) == len(SUBCOMMANDS)


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).with_name("disease-risk")
    path = tmp_path / "bad.csv"
    path.write_text(GOOD.replace("1:32", "1:3x2"), encoding="utf-8")
    done = subprocess.run([str(script), "check", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "column result, value '1:3x2': cannot read the result" in done.stdout


def test_check_a_folder_checks_every_sheet_in_it(tmp_path, capsys):
    (tmp_path / "a.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.tsv").write_text(GOOD.replace(",", "\t").replace("G1", "G2"), encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"OK {tmp_path / 'a.csv'}" in out and f"OK {tmp_path / 'b.tsv'}" in out


def test_check_a_folder_lists_every_file_not_read(capsys):
    folder = BAD / "drop_folder"
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"OK {folder / 'good.csv'}: 1 rows, 1 accepted" in out
    assert (f"NOT READ {folder / 'export.txt'} (2 non-empty rows): .txt is not a sample-sheet "
            "type; if it is a tab-separated export, rename it to .tsv") in out
    assert f"NOT READ {folder / 'old' / 'archived.csv'} (2 non-empty rows): it is in the " \
        "sub-folder 'old'" in out
    assert f"note: {folder / 'README.md'}: documentation (README or Markdown)" in out
    assert "all sheets are clean" not in out
    assert out.rstrip().endswith("problems found: 0 unreadable file(s), 0 rejected row(s), "
                                 "5 file(s) or worksheet(s) not read")


def test_check_a_clean_folder_names_what_it_only_noted(tmp_path, capsys):
    (tmp_path / "a.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "README.md").write_text("where the sheets come from", encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(
        "all sheets are clean (1 empty worksheet(s) or documentation file(s) not read; see the "
        "notes)")


def test_check_sees_a_titre_comma_that_is_no_thousands_separator(tmp_path, capsys):
    path = tmp_path / "comma.csv"
    path.write_text(GOOD.replace("1:32", '"1:3,2"'), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    assert ("row 2, column result, value '1:3,2': the comma in '3,2' is not a thousands "
            "separator") in capsys.readouterr().out


def test_check_a_workbook_names_each_worksheet(capsys):
    path = BAD / "several_worksheets.xlsx"
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"OK {path}#tigers: 2 rows, 2 accepted" in out
    assert f"OK {path}#leopards: 1 rows, 1 accepted" in out
    assert f"NOT READ {path}#Notes (2 non-empty rows): worksheet 'Notes'" in out
