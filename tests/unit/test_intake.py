"""Parsing and harmonisation rules of the intake, one behaviour per test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jsonschema
import openpyxl
import pytest
from conftest import CONFIG_DIR

from disease_risk.config import schema as config_schema
from disease_risk.intake.cells import parse_date, parse_result
from disease_risk.intake.harmonise import (
    IntakeError,
    read_sheets,
    run_intake,
    write_intake,
)
from disease_risk.intake.registry import (
    ConfigFileError,
    load_assays,
    load_sheet_layouts,
    load_species_registry,
)
from disease_risk.intake.sheets import column_key
from disease_risk.tables import SAMPLE_COLUMNS, read_samples

CONFIG = CONFIG_DIR
TODAY = dt.date(2026, 11, 21)
HEADER = "sample_id,species,site,collection_date,assay,result"


@pytest.fixture(scope="module")
def registry():
    return load_species_registry(CONFIG / "species.yaml")


@pytest.fixture(scope="module")
def assays():
    return load_assays(CONFIG / "assays.yaml")


def sheet(tmp_path: Path, text: str, name: str = "s.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def intake(paths, registry, assays, **kw):
    return read_sheets(paths, registry, assays, today=TODAY, **kw)


# ---------------------------------------------------------------- registry and assays

def test_registry_resolves_synonyms_in_all_languages(registry):
    for name, key in [("leo", "amur_leopard"), (" Panthera pardus orientalis ", "amur_leopard"),
                      ("ЛЕОПАРД", "amur_leopard"), ("dog", "domestic_dog"),
                      ("собака", "domestic_dog"), ("Raccoon_Dog", "raccoon_dog"),
                      ("Amur  tiger", "amur_tiger"), ("wolf", "gray_wolf")]:
        assert registry.resolve(name).key == key, name
    assert registry.resolve("snow leopard") is None
    roles = registry.roles()
    assert roles["amur_leopard"] == roles["amur_tiger"] == "target"
    assert roles["domestic_dog"] == "domestic"
    assert {roles[k] for k in ("raccoon_dog", "asian_badger", "sable", "red_fox",
                               "leopard_cat")} == {"reservoir"}
    assert {roles[k] for k in ("siberian_roe_deer", "sika_deer", "wild_boar")} == {"prey"}


def test_registry_schema_error_names_file_and_entry(tmp_path):
    path = tmp_path / "species.yaml"
    path.write_text("species:\n  snow_leopard:\n    latin_name: Panthera uncia\n    role: top\n")
    with pytest.raises(ConfigFileError, match=r"species.yaml.*\n.*species/snow_leopard/role"):
        load_species_registry(path)


def test_registry_rejects_a_synonym_shared_by_two_species(tmp_path):
    path = tmp_path / "species.yaml"
    path.write_text("species:\n  a_cat: {latin_name: A, role: prey, synonyms: [cat]}\n"
                    "  b_cat: {latin_name: B, role: prey, synonyms: [Cat]}\n")
    with pytest.raises(ConfigFileError, match="'Cat' is listed for both 'a_cat' and 'b_cat'"):
        load_species_registry(path)


def test_missing_registry_file_is_named(tmp_path):
    with pytest.raises(ConfigFileError, match=r"nope\.yaml: file not found"):
        load_species_registry(tmp_path / "nope.yaml")


def test_assays_carry_priors_cutoff_and_validation(assays):
    vnt, elisa = assays["VNT"], assays["ELISA_IgG"]
    assert vnt.kind == "titre" and vnt.positive_cutoff == 16
    assert elisa.kind == "qualitative" and elisa.positive_cutoff is None
    assert 0.85 < vnt.sensitivity.mean < 0.95 and vnt.specificity.source
    assert vnt.validation.positives_detected <= vnt.validation.positives_tested


def test_titre_assay_without_cutoff_breaks_schema(tmp_path):
    path = tmp_path / "assays.yaml"
    prior = "{alpha: 1, beta: 1, source: x}"
    path.write_text(f"assays:\n  - name: HI\n    pathogen: fpv\n    kind: titre\n"
                    f"    sensitivity: {prior}\n    specificity: {prior}\n")
    with pytest.raises(ConfigFileError, match="'positive_cutoff' is a required property"):
        load_assays(path, CONFIG / "hazards.yaml")


def test_assay_validation_panel_must_be_consistent(tmp_path):
    path = tmp_path / "assays.yaml"
    prior = "{alpha: 1, beta: 1, source: x}"
    path.write_text(
        f"assays:\n  - name: E\n    pathogen: cdv\n    kind: qualitative\n"
        f"    sensitivity: {prior}\n"
        f"    specificity: {prior}\n    validation: {{positives_tested: 5, positives_detected: 6,"
        " negatives_tested: 5, negatives_negative: 5, source: y}\n")
    with pytest.raises(ConfigFileError, match=r"positives_detected \(6\) exceeds"):
        load_assays(path, CONFIG / "hazards.yaml")


def test_assay_pathogen_must_be_a_hazard_id(tmp_path):
    """An assay naming a pathogen the hazard list lacks stops the run naming the file, the
    assay, the value and the fix; a missing pathogen breaks the schema."""
    path = tmp_path / "assays.yaml"
    prior = "{alpha: 1, beta: 1, source: x}"
    path.write_text(f"assays:\n  - name: PCR_X\n    pathogen: ebola\n    kind: qualitative\n"
                    f"    sensitivity: {prior}\n    specificity: {prior}\n")
    with pytest.raises(ConfigFileError) as err:
        load_assays(path, CONFIG / "hazards.yaml")
    message = str(err.value)
    assert str(path) in message and "'PCR_X'" in message and "'ebola'" in message
    assert "hazards.yaml" in message and "'toxoplasma'" in message and "add the hazard" in message
    with pytest.raises(ConfigFileError, match=r"put hazards\.yaml beside the assay list"):
        load_assays(path)  # no hazard list named, none beside the assays
    path.write_text(f"assays:\n  - name: PCR_X\n    kind: qualitative\n"
                    f"    sensitivity: {prior}\n    specificity: {prior}\n")
    with pytest.raises(ConfigFileError, match="'pathogen' is a required property"):
        load_assays(path, CONFIG / "hazards.yaml")


def test_shipped_assays_name_their_pathogens():
    """Each shipped assay is tied to a hazard; the example adds FPV, Toxoplasma and Aujeszky
    assays whose accuracy sources say they are assumptions to replace."""
    assays = load_assays(CONFIG / "assays.yaml")
    assert {a.name: a.pathogen for a in assays.values()} == {
        "VNT": "cdv", "ELISA_IgG": "cdv", "FPV_HI": "fpv", "Toxo_MAT": "toxoplasma",
        "ADV_gB_ELISA": "aujeszky"}
    assert assays["Toxo_MAT"].positive_cutoff == 25
    assert assays["VNT"].detection_targets[0] == "Morbillivirus canis"
    for name in ("FPV_HI", "Toxo_MAT", "ADV_gB_ELISA"):
        for prior in (assays[name].sensitivity, assays[name].specificity):
            assert "ASSUMPTION to replace with the laboratory's validation" in prior.source


def test_layout_targets_must_be_standard_columns(tmp_path):
    path = tmp_path / "layouts.yaml"
    path.write_text("layouts:\n  - name: x\n    files: ['*.csv']\n    columns: {spp: specie}\n")
    with pytest.raises(ConfigFileError, match="layouts/0/columns/spp"):
        load_sheet_layouts(path)


# ---------------------------------------------------------------- cell parsers

@pytest.mark.parametrize("text,expected", [
    ("2015-05-31", dt.date(2015, 5, 31)),
    ("2015-5-3", dt.date(2015, 5, 3)),
    ("2015/05/31", dt.date(2015, 5, 31)),
    ("2015-05-31 00:00:00", dt.date(2015, 5, 31)),
    ("31.05.2015", dt.date(2015, 5, 31)),
    ("3.5.2015", dt.date(2015, 5, 3)),
    ("31/05/2015", dt.date(2015, 5, 31)),
    ("05/31/2015", dt.date(2015, 5, 31)),
    ("42155", dt.date(2015, 5, 31)),  # Excel serial
    ("42155.0", dt.date(2015, 5, 31)),
    ("2015-05-31 14:30", dt.date(2015, 5, 31)),  # a time of day is dropped
    ("2015-05-31 14:30:00", dt.date(2015, 5, 31)),  # an Excel date-time cell's text
    ("2015-05-31T23:59:59.5", dt.date(2015, 5, 31)),
    ("31.05.2015 09:15", dt.date(2015, 5, 31)),
    ("42155.6041", dt.date(2015, 5, 31)),  # a serial with the time as a fraction
])
def test_dates_in_lab_formats(text, expected):
    assert parse_date(text, TODAY) == (expected, "")


@pytest.mark.parametrize("text,reason", [
    ("2015-02-29", "not a real calendar date"),
    ("31.02.2012", "not a real calendar date"),
    ("03/04/2015", "ambiguous date"),
    ("2027-01-01", "in the future"),
    ("1850-01-01", "implausible"),
    ("99999", "not a plausible Excel date serial"),
    ("May 2015", "not a date the intake understands"),
    ("2015", "only a year; the full date is needed"),
    ("2015-05-31 25:00", "not a date the intake understands"),
    ("", "collection date is empty"),
])
def test_bad_dates_say_why_and_how_to_fix(text, reason):
    date, why = parse_date(text, TODAY)
    assert date is None
    assert reason in why
    assert "YYYY-MM-DD" in why or reason == "implausible"


@pytest.mark.parametrize("text,expected", [
    ("32", (32.0, "", "positive")),
    ("1:32", (32.0, "", "positive")),
    ("1/16", (16.0, "", "positive")),
    ("8", (8.0, "", "negative")),
    ("<1:4", (4.0, "<", "negative")),
    ("< 4", (4.0, "<", "negative")),
    ("<1:16", (16.0, "<", "negative")),
    ("<1:32", (32.0, "<", "indeterminate")),
    ("<=1:16", (16.0, "<=", "indeterminate")),
    (">=1:512", (512.0, ">=", "positive")),
    ("≥1:512", (512.0, ">=", "positive")),
    (">1:8", (8.0, ">", "indeterminate")),
    ("positive", (None, "", "positive")),
    ("NEG", (None, "", "negative")),
    ("+", (None, "", "positive")),
    ("equivocal", (None, "", "indeterminate")),
    ("отрицательно", (None, "", "negative")),
    ("1:1,024", (1024.0, "", "positive")),  # a thousands separator, not a decimal comma
    ("1,024", (1024.0, "", "positive")),
    (">=1:2,048", (2048.0, ">=", "positive")),
    ("1:1 024", (1024.0, "", "positive")),
    ("1:1\u202f024", (1024.0, "", "positive")),
    ("22.6", (22.6, "", "positive")),
])
def test_titres_and_calls_by_the_assay_cutoff(text, expected, assays):
    assert parse_result(text, assays["VNT"]) == (expected, "")


@pytest.mark.parametrize("text,reason", [
    ("-32", "cannot be negative"),
    ("1:-32", "cannot read the result"),
    ("0", "a titre of 0 is not a reciprocal titre"),
    ("1:3x2", "cannot read the result"),
    ("1,5", "the comma in '1,5' is not a thousands separator"),
    ("1:1,02", "the comma in '1,02' is not a thousands separator"),
    ("1:32,5", "write the titre without separators (e.g. 1:1024 or 1024)"),
    ("1.024", "'1.024' is ambiguous: a point as thousands separator (1024) or a decimal point"),
    ("1:1.024.000", "has more than one point"),
    ("", "result is empty"),
])
def test_bad_titres(text, reason, assays):
    parsed, why = parse_result(text, assays["VNT"])
    assert parsed is None and reason in why


def test_qualitative_assay_refuses_titres(assays):
    assert parse_result("pos", assays["ELISA_IgG"]) == ((None, "", "positive"), "")
    parsed, why = parse_result("1:64", assays["ELISA_IgG"])
    assert parsed is None and "qualitative" in why


def test_column_names_case_and_space_insensitive():
    assert column_key("  Sample ID ") == "sample_id"
    assert column_key("\ufeffCollection-Date") == "collection_date"
    assert column_key("AGE_YEARS") == "age_years"


# ---------------------------------------------------------------- sheets

def test_bom_cyrillic_site_and_synonyms_harmonised(tmp_path, registry, assays):
    path = sheet(tmp_path, " Sample_ID , SPECIES ,Site,Collection date,Assay,Result,Sex,"
                 "Vaccinated\nA1,собака,  Барабаш ,31.05.2015,virus neutralisation,1:64,ж,да\n",
                 bom=True)
    result = intake([path], registry, assays)
    assert result.rejected.empty
    row = result.samples.iloc[0]
    assert (row["species"], row["species_role"], row["site"]) == ("domestic_dog", "domestic",
                                                                  "Барабаш")
    assert (row["collection_date"], row["year"], row["assay"]) == ("2015-05-31", 2015, "VNT")
    assert (row["titre"], row["result"], row["sex"], row["vaccinated"]) == (64.0, "positive",
                                                                            "F", "yes")
    assert (row["source_file"], row["source_row"]) == (str(path), 2)


def test_xlsx_dates_as_cells_serials_and_text(tmp_path, registry, assays):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append([*HEADER.split(","), "age_years"])
    ws.append(["X1", "tiger", "Kedrovaya Pad", dt.datetime(2011, 4, 5), "VNT", 32, 4])
    ws.append(["X2", "tiger", "Kedrovaya Pad", 40638, "VNT", "<1:4", 3.5])
    ws.append(["X3", "tiger", "Kedrovaya Pad", "05.04.2011", "ELISA", "neg", None])
    ws.append([None] * 7)  # blank rows are not samples
    path = tmp_path / "cats.xlsx"
    book.save(path)
    result = intake([path], registry, assays)
    assert result.rejected.empty
    assert list(result.samples["collection_date"]) == ["2011-04-05"] * 3
    assert list(result.samples["source_row"]) == [2, 3, 4]
    assert list(result.samples["result"]) == ["positive", "negative", "negative"]
    assert result.samples["age_years"].iloc[1] == 3.5


def test_every_problem_of_a_row_is_listed(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + ",sex,age_years,birth_year,latitude,longitude,vaccinated\n"
                 "B1,dog,X,2015-01-01,VNT,32,x,-1,2020,91,,maybe\n")
    result = intake([path], registry, assays)
    assert result.rejected_rows == 1 and result.accepted_rows == 0
    assert set(result.rejected["column"]) == {"sex", "age_years", "birth_year", "latitude",
                                              "longitude", "vaccinated"}
    reasons = dict(zip(result.rejected["column"], result.rejected["reason"], strict=True))
    assert "born after the collection year 2015" in reasons["birth_year"]
    assert "give both or neither" in reasons["longitude"]


def test_empty_required_cells_and_unknown_assay(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + "\n,dog,,2015-01-01,PCR,32\n")
    result = intake([path], registry, assays)
    reasons = dict(zip(result.rejected["column"], result.rejected["reason"], strict=True))
    assert "sample_id is empty" in reasons["sample_id"]
    assert "site is empty" in reasons["site"]
    assert "unknown assay; use one of VNT, ELISA_IgG" in reasons["assay"]


def test_exact_duplicate_reported_once_and_kept_once(tmp_path, registry, assays):
    row = "D1,dog,Slavyanka,2015-01-01,VNT,32\n"
    a = sheet(tmp_path, HEADER + "\n" + row, "a.csv")
    b = sheet(tmp_path, HEADER.replace(",", "\t") + "\n" + row.replace(",", "\t"), "b.tsv")
    result = intake([a, b], registry, assays, strict=True)
    assert list(result.samples["sample_id"]) == ["D1"]
    assert result.duplicate_rows == 1 and result.rejected_rows == 0
    assert len(result.rejected) == 1
    assert result.rejected.iloc[0]["reason"].startswith(f"exact duplicate of {a} row 2")


def test_extra_columns_kept_and_warned(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + ",Weight kg,specis\nE1,dog,S,2015-01-01,VNT,32,12.5,x\n")
    result = intake([path], registry, assays)
    assert list(result.samples.columns[: len(SAMPLE_COLUMNS)]) == list(SAMPLE_COLUMNS)
    assert list(result.samples.columns[len(SAMPLE_COLUMNS):]) == ["weight_kg", "specis"]
    assert result.samples["weight_kg"].iloc[0] == "12.5"
    assert any("'specis' is not a standard column" in w and "did you mean 'species'" in w
               for w in result.warnings)


def test_overflowing_row_rejected(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + "\nO1,dog,Slavyanka, Barabash,2015-01-01,VNT,32\n")
    result = intake([path], registry, assays)
    assert "unquoted delimiter" in result.rejected["reason"].iloc[0]


def test_template_example_row_is_not_a_sample(tmp_path, registry, assays):
    from disease_risk.intake.sheets import write_template

    path = write_template(tmp_path / "t.xlsx")
    result = intake([path], registry, assays)
    assert result.accepted_rows == 0
    assert "example row from `disease-risk template`" in result.rejected["reason"].iloc[0]


def test_strict_mode_fails_with_every_problem(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + "\nS1,dog,X,2015-02-30,VNT,32\nS2,yeti,X,2015-02-01,VNT,32\n")
    with pytest.raises(IntakeError) as err:
        intake([path], registry, assays, strict=True)
    text = str(err.value)
    assert "strict mode: 2 row(s) rejected" in text
    assert f"{path} row 2, column collection_date, value '2015-02-30'" in text
    assert f"{path} row 3, column species, value 'yeti'" in text


def test_layout_maps_columns_fills_defaults_and_prefixes_ids(tmp_path, registry, assays):
    layouts = tmp_path / "layouts.yaml"
    layouts.write_text("layouts:\n  - name: other\n    files: ['their_*.csv']\n"
                       "    columns: {ID: sample_id, Spp: species, Date: collection_date,"
                       " Titer: result}\n    defaults: {site: Camp 1, assay: VNT}\n"
                       "    sample_id_prefix: 'P-'\n")
    path = sheet(tmp_path, "ID,Spp,Date,Titer,site\n7,wolf,2010-01-02,64,\n8,bear,2010-01-03,4,"
                 "Camp 2\n", "their_data.csv")
    result = read_sheets([path], registry, assays, load_sheet_layouts(layouts), today=TODAY)
    assert result.rejected.empty
    assert list(result.samples["sample_id"]) == ["P-7", "P-8"]
    assert list(result.samples["site"]) == ["Camp 1", "Camp 2"]
    assert list(result.samples["species"]) == ["gray_wolf", "grizzly_bear"]
    other = sheet(tmp_path, "ID,Spp,Date,Titer\n7,wolf,2010-01-02,64\n", "mine.csv")
    with pytest.raises(IntakeError, match="missing required column"):
        read_sheets([other], registry, assays, load_sheet_layouts(layouts), today=TODAY)


def test_animal_with_two_species_is_warned(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + ",animal_id\nW1,tiger,X,2015-01-01,VNT,32,T1\n"
                 "W2,leopard,X,2016-01-01,VNT,32,T1\n")
    result = intake([path], registry, assays)
    assert any("animal_id 'T1' has more than one species" in w for w in result.warnings)


def test_tables_written_and_read_back_typed_and_schema_valid(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + ",age_years,latitude,longitude,birth_year\n"
                 "R1,leo,Kedrovaya Pad,2015-01-01,VNT,<1:4,2.25,43.123456789,131.5,2012\n"
                 "R2,leo,Kedrovaya Pad,2015-01-01,VNT,1:3x,,,,\n")
    out = [tmp_path / "samples.tsv", tmp_path / "rejected.tsv", tmp_path / "summary.tsv"]
    result = run_intake([path], CONFIG / "species.yaml", CONFIG / "assays.yaml")
    write_intake(result, *out)
    lines = out[0].read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == list(SAMPLE_COLUMNS)
    fields = dict(zip(SAMPLE_COLUMNS, lines[1].split("\t"), strict=True))
    assert fields["titre"] == "4" and fields["titre_qualifier"] == "<"
    assert fields["latitude"] == "43.123457" and fields["year"] == "2015"
    back = read_samples(out[0])
    assert back["year"].dtype == "Int64" and back["titre"].iloc[0] == 4.0
    assert back["birth_year"].iloc[0] == 2012
    schema = config_schema("samples.schema.yaml")
    record = {k: (None if v == "" else v) for k, v in fields.items()}
    for key in ("year", "birth_year", "source_row"):
        record[key] = int(record[key])
    for key in ("titre", "age_years", "latitude", "longitude"):
        record[key] = float(record[key])
    jsonschema.validate(record, schema)
    rejected = out[1].read_text(encoding="utf-8").splitlines()
    assert rejected[0] == "file\trow\tcolumn\tvalue\treason"
    assert rejected[1].startswith(f"{path}\t3\tresult\t1:3x\tcannot read the result")
    summary = out[2].read_text(encoding="utf-8").splitlines()
    assert summary[:2] == ["grouping\tvalue\trows\taccepted\trejected\tduplicates",
                           "total\tall\t2\t1\t1\t0"]


def test_sheet_column_named_like_a_computed_one_is_kept_aside(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + ",Year,titre\nY1,dog,S,2015-01-01,VNT,32,2014,1:32\n")
    result = intake([path], registry, assays)
    row = result.samples.iloc[0]
    assert (row["year"], row["sheet_year"], row["sheet_titre"]) == (2015, "2014", "1:32")
    assert any("'year' is computed by the intake" in w for w in result.warnings)


def test_missing_result_column_hints_at_the_titre_column(tmp_path, registry, assays):
    path = sheet(tmp_path, "sample_id,species,site,collection_date,assay,Titer\n"
                 "H1,dog,S,2015-01-01,VNT,32\n")
    with pytest.raises(IntakeError, match=r"missing required column\(s\) 'result' "
                                          r"\(is 'titer' meant to be it\?\)"):
        intake([path], registry, assays)


def test_unsupported_spreadsheets_in_the_drop_folder_fail_loudly(tmp_path, registry, assays):
    from disease_risk.intake.sheets import SheetError, find_sheets

    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "~$lock.xlsx").write_bytes(b"")
    good = sheet(tmp_path, HEADER + "\nG1,dog,S,2015-01-01,VNT,32\n")
    found = find_sheets(tmp_path)
    assert found == [tmp_path / "old.xls", good]
    with pytest.raises(IntakeError, match=r"old\.xls: unsupported file type '\.xls'; save"):
        intake(found, registry, assays)
    with pytest.raises(SheetError, match="is not a folder"):
        find_sheets(tmp_path / "missing")


def test_decomposed_unicode_site_names_match_composed_ones(tmp_path, registry, assays):
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Зарубино й")
    path = sheet(tmp_path, HEADER + f"\nU1,dog,{nfd},2015-01-01,VNT,32\n"
                 "U2,dog,Зарубино й,2015-01-01,VNT,32\n")
    result = intake([path], registry, assays)
    assert result.samples["site"].nunique() == 1


def test_values_under_an_empty_header_cell_are_kept(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + ",,notes\nV1,dog,S,2015-01-01,VNT,32,abc,n\n")
    result = intake([path], registry, assays)
    assert result.samples["unnamed_7"].iloc[0] == "abc"
    assert result.samples["notes"].iloc[0] == "n"
    assert any("column 7 has values but no name" in w for w in result.warnings)


def test_a_note_written_on_two_lines_is_read(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + ',notes\nN1,dog,S,2015-01-01,VNT,32,"found dead,\nnear the '
                 'road"\nN2,dog,S,2015-01-02,VNT,32,ok\n')
    result = intake([path], registry, assays)
    assert list(result.samples["sample_id"]) == ["N1", "N2"]
    assert result.samples["notes"].iloc[0] == "found dead,\nnear the road"
    assert list(result.samples["source_row"]) == [2, 3]


def test_a_line_break_in_an_id_rejects_the_row(tmp_path, registry, assays):
    path = sheet(tmp_path, HEADER + ',animal_id\n"L1\nL2",dog,S,2015-01-01,VNT,32,A\n')
    result = intake([path], registry, assays)
    assert result.accepted_rows == 0
    problem = result.rejected.iloc[0]
    assert (problem["column"], problem["value"]) == ("sample_id", "L1\nL2")
    assert "the value has a line break (Alt+Enter in Excel" in problem["reason"]


def test_a_workbook_with_only_notes_sheets_is_unreadable(tmp_path, registry, assays):
    book = openpyxl.Workbook()
    book.active.append(["plan"])
    book.create_sheet("more").append(["notes"])
    path = tmp_path / "notes.xlsx"
    book.save(path)
    with pytest.raises(IntakeError, match=r"notes\.xlsx#Sheet: missing required column(.|\n)*"
                                          r"no worksheet of .*notes\.xlsx has a header row"):
        intake([path], registry, assays)


def test_a_broken_sample_worksheet_stops_the_run_with_the_others_read(tmp_path, registry,
                                                                      assays):
    book = openpyxl.Workbook()
    book.active.append(HEADER.split(","))
    book.active.append(["W1", "dog", "S", "2015-01-01", "VNT", "32"])
    broken = book.create_sheet("broken")
    broken.append(["sample_id", "species", "site"])  # looks like samples, misses columns
    path = tmp_path / "two.xlsx"
    book.save(path)
    with pytest.raises(IntakeError, match=r"two\.xlsx#broken: missing required column\(s\) "
                                          r"'collection_date'"):
        intake([path], registry, assays)
