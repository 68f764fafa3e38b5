"""Wildlife Disease Data Standard (issue 15): WDDS sheets read like any sheet; every accepted
sample exported as disease_data.csv + project_metadata.json valid against the WDDS schemas."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import CONFIG_DIR

from disease_risk.cli import main
from disease_risk.config import read_yaml
from disease_risk.intake.harmonise import read_sheets
from disease_risk.intake.registry import load_assays, load_species_registry
from disease_risk.share.stage import wdds_export
from disease_risk.share.wdds_export import (
    WddsExportError,
    csv_as_columns,
    detection_targets,
    disease_data,
    disease_data_errors,
    project_metadata_errors,
    write_wdds,
)
from disease_risk.tables import write_samples


@pytest.fixture(scope="module")
def registry():
    return load_species_registry(CONFIG_DIR / "species.yaml")


@pytest.fixture
def wdds_dir(shared_dir):
    return shared_dir / "data" / "wdds"


def test_validator_accepts_the_standards_own_examples(wdds_dir):
    example = json.loads((wdds_dir / "minimal_example.json").read_text(encoding="utf-8"))
    assert disease_data_errors(example["disease_data"]) == []
    assert project_metadata_errors(example["project_metadata"]) == []
    for name in ("minimal_example_disease_data.csv", "becker_demo_dataset.csv"):
        table = pd.read_csv(wdds_dir / name, dtype=str, keep_default_na=False,
                            encoding="utf-8-sig")
        assert disease_data_errors(csv_as_columns(table)) == []


def test_validator_rejects_what_the_standard_rejects():
    errors = disease_data_errors({"sampleID": ["a"], "latitude": [123.0]})
    assert any("term latitude, data row 1" in e for e in errors)
    assert any("'detectionOutcome' is a required property" in e for e in errors)
    # DataCite parts resolve offline too
    assert any("creators/0" in e for e in project_metadata_errors({"creators": [{}]}))


def test_a_bad_value_is_listed_for_every_row_holding_it():
    """Values are checked once each: a failure still names every row, and values equal in
    Python but of another JSON type (True == 1) are checked apart."""
    errors = disease_data_errors({"latitude": [123.0, 10, 123.0, True, 1, 10]})
    rows = sorted(e.split(":")[0] for e in errors if e.startswith("term latitude"))
    assert rows == ["term latitude, data row 1", "term latitude, data row 3",
                    "term latitude, data row 4"]


WDDS_SHEET = (
    "Sample ID,Animal ID,Latitude,Longitude,Collection day,Collection month,Collection year,"
    "Sample collection method,Sample material,Host identification,Organism sex,Live capture,"
    "Age,Age units,Detection target,Detection method,Detection outcome,Detection measurement,"
    "Detection measurement units,Parasite identification\n"
    "S1,L-1,43.11,131.52,14,3,2019,blood draw,serum,Panthera pardus orientalis,female,TRUE,"
    "30,months,canine distemper virus,virus neutralisation,positive,64,titre,CDV\n"
    "S2,D-9,43.2,131.6,2,4,2019,blood draw,serum,Canis lupus familiaris,male,TRUE,,,"
    "Canine distemper virus,ELISA,negative,,,\n"
    "S3,B-1,43.2,131.6,,4,2019,swab,,Meles leucurus,male,TRUE,,,Coronaviridae,RT-PCR,"
    "negative,,,\n"
)


def test_wdds_sheet_read_like_any_sheet(tmp_path, registry):
    path = tmp_path / "lab_wdds.csv"
    path.write_text(WDDS_SHEET, encoding="utf-8")
    result = read_sheets([path], registry, load_assays(CONFIG_DIR / "assays.yaml"))
    samples = result.samples.set_index("sample_id")
    leopard = samples.loc["S1"]
    assert (leopard["species"], leopard["collection_date"], leopard["assay"], leopard["titre"],
            leopard["result"], leopard["sex"], leopard["age_years"], leopard["site"]) == (
        "amur_leopard", "2019-03-14", "VNT", 64.0, "positive", "F", 2.5, "43.1N 131.5E")
    assert samples.loc["S2", "assay"] == "ELISA_IgG"
    assert samples.loc["S2", "wdds_livecapture"] == "TRUE"  # other WDDS columns kept
    assert set(samples["pathogen"]) == {"cdv"}
    # the coronavirus test and the missing day are rejected, with the reasons
    rejected = result.rejected[result.rejected["row"] == 4].set_index("column")
    assert set(rejected.index) == {"collection_date", "assay", "wdds_detectiontarget"}
    assert rejected.loc["wdds_detectiontarget", "value"] == "Coronaviridae"
    assert "no assay in config/assays.yaml tests for detection target 'Coronaviridae'" in (
        rejected.loc["wdds_detectiontarget", "reason"])


OTHER_PATHOGENS = (
    "Sample ID,Latitude,Longitude,Collection day,Collection month,Collection year,"
    "Host identification,Detection target,Detection method,Detection outcome,"
    "Detection measurement,Detection measurement units\n"
    "T1,43.1,131.5,5,6,2018,Panthera tigris altaica,Toxoplasma gondii,MAT,positive,50,titre\n"
    "T2,43.1,131.5,5,6,2018,Panthera tigris altaica,feline parvovirus,FPV HI,negative,10,titre\n"
    "T3,43.1,131.5,5,6,2018,Panthera tigris altaica,FIV,ELISA,negative,,\n"
    "T4,43.1,131.5,5,6,2018,Panthera tigris altaica,T. gondii,VNT,positive,64,titre\n"
)


def test_wdds_rows_of_other_pathogens_accepted_when_an_assay_tests_them(tmp_path, registry):
    """A target with an assay of its pathogen is read (pathogen column from the assay); a
    target no assay tests for, or a method that tests another pathogen, is rejected with the
    reason, never dropped silently."""
    path = tmp_path / "panel_wdds.csv"
    path.write_text(OTHER_PATHOGENS, encoding="utf-8")
    result = read_sheets([path], registry, load_assays(CONFIG_DIR / "assays.yaml"))
    samples = result.samples.set_index("sample_id")
    assert samples.loc["T1", ["assay", "pathogen", "result"]].tolist() == [
        "Toxo_MAT", "toxoplasma", "positive"]
    assert samples.loc["T2", ["assay", "pathogen", "result"]].tolist() == [
        "FPV_HI", "fpv", "negative"]
    assert set(samples.index) == {"T1", "T2"}
    rejected = result.rejected.set_index("row")
    assert rejected.loc[4, "column"] == "wdds_detectiontarget"
    assert "no assay in config/assays.yaml tests for detection target 'FIV'" in (
        rejected.loc[4, "reason"])
    assert rejected.loc[5, "column"] == "wdds_detectiontarget"
    assert "tested by assay(s) Toxo_MAT" in rejected.loc[5, "reason"]
    assert "tests cdv" in rejected.loc[5, "reason"]


def test_export_writes_each_rows_pathogen(tmp_path, registry):
    """The WDDS export names each row's own pathogen as Detection target (from the hazard
    list's first detection target), and the file is valid WDDS."""
    path = tmp_path / "panel_wdds.csv"
    path.write_text(OTHER_PATHOGENS, encoding="utf-8")
    assays = load_assays(CONFIG_DIR / "assays.yaml")
    samples = read_sheets([path], registry, assays).samples
    samples = pd.concat([samples, samples.iloc[[0]].assign(
        sample_id="C1", assay="VNT", pathogen="cdv")], ignore_index=True)
    data = disease_data(samples, registry, detection_targets(assays)).set_index("sampleID")
    assert data.loc["T1", "detectionTarget"] == "Toxoplasma gondii"
    assert data.loc["T1", "parasiteIdentification"] == "Toxoplasma gondii"
    assert data.loc["T2", "detectionTarget"] == "Protoparvovirus carnivoran1"
    assert data.loc["C1", "detectionTarget"] == "Morbillivirus canis"
    assert disease_data_errors(csv_as_columns(data.reset_index().astype(object))) == []
    with pytest.raises(WddsExportError, match=r"pathogen\(s\) \['fiv'\] have no assay"):
        disease_data(samples.assign(pathogen="fiv"), registry, detection_targets(assays))


def test_export_round_trip_validates(tmp_path, registry):
    sheet = tmp_path / "lab_wdds.csv"
    sheet.write_text(WDDS_SHEET, encoding="utf-8")
    result = read_sheets([sheet], registry, load_assays(CONFIG_DIR / "assays.yaml"))
    samples_path = tmp_path / "samples.tsv"
    write_samples(result.samples, samples_path)
    config = read_yaml(CONFIG_DIR / "config.yaml", "config.schema.yaml")
    out = {"disease_data": tmp_path / "share" / "disease_data.csv",
           "project_metadata": tmp_path / "share" / "project_metadata.json"}
    wdds_export({"samples": samples_path, "species": CONFIG_DIR / "species.yaml",
                 "assays": CONFIG_DIR / "assays.yaml", "hazards": CONFIG_DIR / "hazards.yaml"},
                out, {"wdds": config["share"]["wdds"]})
    table = pd.read_csv(out["disease_data"], dtype=str, keep_default_na=False)
    assert disease_data_errors(csv_as_columns(table)) == []
    assert table.columns[0] == "Sample ID"
    row = table.set_index("Sample ID").loc["S1"]
    assert (row["Host identification"], row["Collection month"], row["Detection outcome"],
            row["Detection measurement"], row["Sample collection method"],
            row["Live capture"]) == (
        "Panthera pardus orientalis", "3", "positive", "64", "blood draw", "TRUE")
    metadata = json.loads(out["project_metadata"].read_text(encoding="utf-8"))
    assert project_metadata_errors(metadata) == []


def test_export_refuses_invalid_metadata(tmp_path, registry):
    samples = pd.DataFrame({"sample_id": ["a"], "species": ["amur_tiger"], "assay": ["VNT"],
                            "pathogen": ["cdv"], "collection_date": ["2019-01-02"],
                            "result": ["negative"]})
    data = disease_data(samples, registry, {"cdv": "Morbillivirus canis"})
    with pytest.raises(WddsExportError, match="publicationYear"):
        write_wdds(data, {"creators": [{"name": "X"}]}, tmp_path / "d.csv", tmp_path / "m.json")
    assert not (tmp_path / "d.csv").exists()


def test_check_on_the_shared_wdds_examples(wdds_dir, capsys):
    assert main(["check", str(wdds_dir / "becker_demo_dataset.csv")]) == 1
    out = capsys.readouterr().out
    assert "read as a WDDS sheet" in out and "no assay in config/assays.yaml tests for" in out


def test_censored_titre_is_no_measurement(registry):
    samples = pd.DataFrame({
        "sample_id": ["a", "b"], "species": ["amur_tiger", "domestic_dog"],
        "assay": ["VNT", "VNT"], "pathogen": ["cdv", "cdv"],
        "collection_date": ["2019-01-02", "2019-01-03"],
        "result": ["negative", "positive"], "titre": [4.0, 64.0], "titre_qualifier": ["<", ""]})
    data = disease_data(samples, registry, {"cdv": "Morbillivirus canis"})
    assert pd.isna(data.loc[0, "detectionMeasurement"])
    assert data.loc[1, "detectionMeasurement"] == 64
    def values(term):
        return [None if pd.isna(v) else v for v in data[term]]

    assert values("detectionMeasurementUnits") == [None, "reciprocal titre"]
    assert values("parasiteIdentification") == [None, "Morbillivirus canis"]
    assert disease_data_errors(csv_as_columns(data.astype(object))) == []
