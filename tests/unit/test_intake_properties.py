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


# ------------------------------------------------ workbooks, quotes, separators, formulas

tricky = st.sampled_from([
    "1:1,024", "1,024", "1.024", "2,5", ">=1:2,048", '"quoted"', 'a"b', '"', "x,y", "a;b",
    "2015-05-31 14:30", "42155.5", ",lead", "",
])
formula = st.sampled_from(["=A2", "=1+1", "=SUM(A1:A3)", '=CONCAT("a","b")', "=D2+1"])
notes_line = st.sampled_from(["Collected by the big cat team", "VNT at the regional lab", "",
                              "see the other worksheet", "контакт: лаборатория"])


@st.composite
def worksheets(draw, with_formulas: bool):
    """(kind, header, rows): a sheet of samples, a notes sheet or an empty one."""
    kind = draw(st.sampled_from(["samples", "samples", "notes", "empty"]))
    if kind == "empty":
        return kind, [], []
    if kind == "notes":
        return kind, [], [[draw(notes_line)] for _ in range(draw(st.integers(1, 4)))]
    header, rows, _ = draw(sheets())
    cell = st.one_of(tricky, free_text, *([formula] if with_formulas else []))
    for row in rows:
        for i in range(len(row)):
            if draw(st.integers(0, 4)) == 0:
                row[i] = draw(cell)
    return kind, header, rows


def _filled(rows: list[list[str]]) -> int:
    return sum(1 for r in rows if any(c.strip() for c in r))


def _write_workbook(path: Path, sheets_: list[tuple[str, list[str], list[list[str]]]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for i, (_, header, rows) in enumerate(sheets_):
        ws = book.create_sheet(f"sheet {i}")
        for row in [header, *rows] if header else rows:
            ws.append(row)
    book.save(path)


def _expected_workbook(path: Path, sheets_) -> tuple[dict[str, int], dict[str, int], set[str]]:
    """(rows per sheet read, rows per worksheet listed as not read, worksheets only noted)."""
    filled = [i for i, (kind, _, rows) in enumerate(sheets_) if kind != "empty" and (
        kind == "samples" or _filled(rows))]
    several = len(filled) > 1
    read, listed, noted = {}, {}, set()
    for i, (kind, _, rows) in enumerate(sheets_):
        label = f"{path}#sheet {i}" if several or i not in filled else str(path)
        if i not in filled:
            noted.add(label)
        elif kind == "samples":
            read[label] = _filled(rows)
        else:
            listed[label] = _filled(rows)
    return read, listed, noted


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(worksheets(with_formulas=True), min_size=1, max_size=4),
       st.lists(worksheets(with_formulas=False).filter(lambda s: s[0] == "samples"),
                min_size=0, max_size=2),
       st.booleans())
def test_random_workbooks_and_quoted_text_every_row_accounted_for(book, texts, strict):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.xlsx"
        _write_workbook(path, book)
        paths, (read, listed, noted) = [path], _expected_workbook(path, book)
        for i, (_, header, rows) in enumerate(texts):
            text = Path(tmp) / f"text{i}{'.csv' if i % 2 == 0 else '.tsv'}"
            _write(text, header, rows)
            paths.append(text)
            read[str(text)] = _filled(rows)
        before = _digest(paths)
        try:
            result = read_sheets(paths, REGISTRY, ASSAYS, strict=strict)
        except IntakeError as err:
            message = str(err)
            if "strict mode" in message:
                assert strict and (" row " in message or "not read" in message)
            else:
                assert "unreadable sample sheet" in message
                assert any(str(p) in message for p in paths)
            return
        finally:
            assert _digest(paths) == before
        _assert_accounted(result, read, listed, noted)
        assert not strict or (result.rejected_rows == 0 and not listed)


def _assert_accounted(result, read: dict[str, int], listed: dict[str, int], noted: set[str]):
    """Every sheet read counts its rows, every other worksheet is listed or noted."""
    files = result.summary[result.summary["grouping"] == "file"].set_index("value")["rows"]
    assert {k: v for k, v in read.items() if v} == files.to_dict()
    assert set(result.sources) == set(read)
    assert result.rows_read == sum(read.values())
    assert result.accepted_rows + result.rejected_rows + result.duplicate_rows == result.rows_read
    assert {n.where: n.rows for n in result.listed_not_read} == listed
    assert {n.where for n in result.not_read if not n.listed} == noted
    whole = result.rejected[result.rejected["row"].isna()]
    assert set(whole["file"]) == set(listed)
    not_read = result.summary[result.summary["grouping"] == "not_read"].set_index("value")
    assert not_read["rows"].to_dict() == listed
    rows = result.rejected[result.rejected["row"].notna()]
    keys = set(zip(rows["file"], rows["row"], strict=True))
    assert len(keys) == result.rejected_rows + result.duplicate_rows
    accepted = set(zip(result.samples["source_file"], result.samples["source_row"], strict=True))
    assert not accepted & keys
    assert set(result.samples["result"]) <= {"positive", "negative", "indeterminate"}
    formula_rows = rows[rows["reason"].str.startswith("a formula without a saved value")]
    assert formula_rows["value"].str.startswith("=").all()


@st.composite
def stray_quote_sheets(draw):
    """A .csv or .tsv with one value opened by a quote that is never meant (plausible values)."""
    columns = list(REQUIRED_COLUMNS) + draw(st.lists(st.sampled_from(["notes", "lab"]),
                                                     unique=True, max_size=2))
    rows = [[draw(plausible.get(c, st.sampled_from(["ok", "old collar", "1:1,024", ",x", "\tx"])))
             for c in columns] for _ in range(draw(st.integers(2, 6)))]
    target = (draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(columns) - 1)))
    return columns, rows, target, draw(st.sampled_from([",", "\t"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stray_quote_sheets())
def test_a_stray_quote_is_refused_or_loses_no_row(spec):
    columns, rows, (row, column), delimiter = spec
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for i, cells in enumerate(rows):
        line = io.StringIO()
        csv.writer(line, delimiter=delimiter, lineterminator="\n").writerow(cells)
        if i == row:  # a quote typed in front of one value, not escaped
            fields = line.getvalue().split(delimiter)
            fields[column] = '"' + fields[column]
            buffer.write(delimiter.join(fields))
        else:
            buffer.write(line.getvalue())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"stray{'.csv' if delimiter == ',' else '.tsv'}"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        try:
            result = read_sheets([path], REGISTRY, ASSAYS)
        except IntakeError as err:
            assert f"{path}: row {row + 2}" in str(err) and "quote" in str(err)
            return
        assert result.rows_read == _filled(rows)
