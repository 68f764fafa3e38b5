"""The simulated example data set: reproducible, committed as generated, shaped as specified."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT

from disease_risk.intake.examples import (
    DEFAULT_SEED,
    SHEET_FILES,
    true_force_of_infection,
    write_example_sheets,
)
from disease_risk.intake.harmonise import run_intake

REPO = REPO_ROOT
CONFIG = REPO / "config"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("example")
    write_example_sheets(out, DEFAULT_SEED)
    return out


@pytest.fixture(scope="module")
def intake(generated):
    return run_intake([generated / n for n in SHEET_FILES], CONFIG / "species.yaml",
                      CONFIG / "assays.yaml", CONFIG / "sheet_layouts.yaml")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_committed_example_equals_generator_output(generated):
    for name in (*SHEET_FILES, "README.md"):
        assert _digest(CONFIG / "samples" / name) == _digest(generated / name), (
            f"config/samples/{name} differs from the generator: run disease-risk "
            "make-example-data")


def test_same_seed_same_bytes_other_seed_other_data(generated, tmp_path):
    write_example_sheets(tmp_path / "again", DEFAULT_SEED)
    write_example_sheets(tmp_path / "other", DEFAULT_SEED + 1)
    for name in SHEET_FILES:
        assert _digest(tmp_path / "again" / name) == _digest(generated / name)
    assert _digest(tmp_path / "other" / SHEET_FILES[0]) != _digest(generated / SHEET_FILES[0])


def test_formats_and_quirks(generated):
    dogs = (generated / SHEET_FILES[0]).read_bytes()
    assert dogs.startswith(b"\xef\xbb\xbf")
    assert "Барабаш".encode() in dogs
    assert b"31.02.2012" in dogs
    assert {p.suffix for p in generated.iterdir()} >= {".csv", ".tsv", ".xlsx"}
    assert "SIMULATED" in (generated / "README.md").read_text(encoding="utf-8")
    assert all(name.startswith("SIMULATED_") for name in SHEET_FILES)


def test_example_goes_through_intake_with_the_intended_rejections(intake):
    assert 1800 <= intake.rows_read <= 2300
    assert intake.rejected_rows == 2 and intake.duplicate_rows == 1
    assert set(intake.rejected["column"]) == {"collection_date", "result", "sample_id"}


def test_composition_matches_the_brief(intake):
    s = intake.samples[intake.samples["pathogen"] == "cdv"]
    counts = s["species"].value_counts()
    assert 30 <= counts["amur_leopard"] <= 40
    assert 80 <= counts["amur_tiger"] <= 100
    assert 850 <= counts["domestic_dog"] <= 1000
    meso = ["raccoon_dog", "asian_badger", "sable", "red_fox", "leopard_cat"]
    assert 350 <= counts[meso].sum() <= 550
    assert 250 <= counts[["siberian_roe_deer", "sika_deer", "wild_boar"]].sum() <= 400
    assert 5 <= s["site"].nunique() <= 6 and "Барабаш" in set(s["site"])
    assert s["year"].min() == 2000 and s["year"].max() == 2020
    assert set(s["assay"]) == {"VNT", "ELISA_IgG"}
    assert s.duplicated("animal_id", keep=False)[s["animal_id"] != ""].sum() > 20
    has_age = s["age_years"].notna() | s["birth_year"].notna()
    assert 0.75 < has_age.mean() < 0.97
    sequenced = s[s["sequence_id"] != ""]
    assert 22 <= len(sequenced) <= 28
    assert (sequenced["result"] == "positive").all()
    assert (sequenced["sequence_id"] == "CDVH-" + sequenced["sample_id"]).all()
    assert {"amur_tiger", "amur_leopard", "domestic_dog", "raccoon_dog", "asian_badger",
            "red_fox"} <= set(sequenced["species"])
    assert (s.loc[s["species"] == "domestic_dog", "vaccinated"] == "yes").mean() > 0.1


def test_seroprevalence_follows_the_published_surveys(intake):
    s = intake.samples
    positive = s["result"] == "positive"
    dogs = (s["species"] == "domestic_dog") & (s["vaccinated"] == "no")
    assert 0.20 < positive[dogs].mean() < 0.35  # 27.2% of 464 (Gilbert et al. 2016)
    meso = s["species_role"] == "reservoir"
    assert 0.18 < positive[meso].mean() < 0.32  # 24.7% of 101
    tigers = s["species"] == "amur_tiger"
    assert 0.10 < positive[tigers].mean() < 0.40  # 15% (2000s) to 35.7% (after 2000)
    prey = s["species_role"] == "prey"
    assert positive[prey].mean() < 0.10  # false positives only


def test_force_of_infection_truth():
    assert true_force_of_infection("domestic_dog", 2010) == pytest.approx(0.10)
    assert true_force_of_infection("amur_tiger", 1995) == pytest.approx(0.02)
    assert true_force_of_infection("amur_tiger", 2020) == pytest.approx(0.07)
    assert true_force_of_infection("wild_boar", 2010) == 0.0


def test_catalytic_model_is_recoverable_from_dog_ages(intake):
    """Grid maximum likelihood of a constant force of infection with known Se/Sp hits the truth."""
    s = intake.samples
    dogs = s[(s["species"] == "domestic_dog") & (s["vaccinated"] == "no")
             & s["age_years"].notna()]
    age = dogs["age_years"].to_numpy()
    y = (dogs["result"] == "positive").to_numpy()
    grid = np.linspace(0.01, 0.3, 300)
    prevalence = 1 - np.exp(-np.outer(grid, age))
    p = 0.92 * prevalence + (1 - 0.985) * (1 - prevalence)
    loglik = (np.log(p) * y + np.log1p(-p) * ~y).sum(axis=1)
    assert abs(grid[loglik.argmax()] - 0.10) < 0.025


def test_other_hazards_rows_follow_the_cited_rates(intake):
    """FPV and Toxoplasma results of 30 tigers' and 15 leopards' first captures, no ages, each
    animal a CDV-tested one; apparent prevalence near the cited rates (tigers FPV 68%, T.
    gondii 42%: Goodrich et al. 2012; leopards FPV 45%: Naidenko et al. 2018)."""
    s = intake.samples
    other = s[s["pathogen"] != "cdv"]
    assert set(other["assay"]) == {"FPV_HI", "Toxo_MAT"}
    assert dict(other.groupby(["pathogen", "species"]).size()) == {
        ("fpv", "amur_leopard"): 15, ("fpv", "amur_tiger"): 30,
        ("toxoplasma", "amur_leopard"): 15, ("toxoplasma", "amur_tiger"): 30}
    assert other["age_years"].isna().all() and other["birth_year"].isna().all()
    assert set(other["animal_id"]) <= set(s.loc[s["pathogen"] == "cdv", "animal_id"])
    share = other.assign(pos=other["result"] == "positive").groupby(
        ["pathogen", "species"])["pos"].mean()
    assert 0.45 <= share[("fpv", "amur_tiger")] <= 0.85
    assert 0.2 <= share[("toxoplasma", "amur_tiger")] <= 0.65


def _row_by_row(samples) -> str | None:
    """The reference: every written row against the whole samples schema, in row order."""
    import jsonschema

    from disease_risk.config import schema
    from disease_risk.intake.harmonise import _schema_records
    from disease_risk.tables import samples_as_text

    validator = jsonschema.Draft202012Validator(schema("samples.schema.yaml"))
    text = samples_as_text(samples)
    for row, record in enumerate(_schema_records(text)):
        for error in validator.iter_errors(record):
            return f"sample {text['sample_id'].iloc[row]!r}: {error.message}"
    return None


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda s: s,
        lambda s: s.assign(species=s["species"].where(s.index != 700, "Amur Leopard")),
        lambda s: s.assign(age_years=s["age_years"].where(s.index != 5, -1.0)),
        lambda s: s.assign(result=s["result"].where(s.index % 400 != 399, "pos")),
        # two columns wrong, the later column in an earlier row: that row is named
        lambda s: s.assign(sex=s["sex"].where(s.index != 90, "X"),
                           site=s["site"].where(s.index != 30, "")),
        lambda s: s.assign(latitude=s["latitude"].where(s.index != 12, 123.0)),
        lambda s: s.drop(columns="lab"),
    ],
    ids=["valid", "species", "age", "result", "two_columns", "latitude", "missing_column"],
)
def test_samples_guard_names_the_same_sample_and_message_as_row_by_row(intake, corrupt):
    """validate_samples checks each column's distinct values once: the verdict, the sample
    named and the message equal a row-by-row check of every record against the schema."""
    from disease_risk.intake.harmonise import validate_samples

    samples = corrupt(intake.samples.copy())
    expected = _row_by_row(samples)
    if expected is None:
        validate_samples(samples)
        assert len(samples) > 1_000
        return
    with pytest.raises(ValueError) as raised:
        validate_samples(samples)
    assert str(raised.value) == expected
