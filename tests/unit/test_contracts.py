"""The contracts between stages: one table writer/reader, named random streams, shipped schemas."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT

from disease_risk import seeds, tables
from disease_risk.config import ConfigFileError, read_yaml, schema, schema_path

PACKAGE = REPO_ROOT / "disease_risk"


def test_write_table_has_one_float_rule_and_reads_back(tmp_path):
    frame = pd.DataFrame({
        "species": ["amur_leopard", "all"], "year": ["2015", "all"],
        "n": [3, 40], "p": [0.123456789, float("nan")], "big": [123456789.0, 1e-7],
    })
    path = tmp_path / "sub" / "t.tsv"
    tables.write_table(frame, path)
    assert path.read_bytes() == (
        b"species\tyear\tn\tp\tbig\n"
        b"amur_leopard\t2015\t3\t0.123457\t1.23457e+08\n"
        b"all\tall\t40\t\t1e-07\n"
    )
    back = tables.read_table(path, text_columns=["year"])
    assert back["year"].tolist() == ["2015", "all"]
    assert back["p"].isna().tolist() == [False, True]
    assert back["n"].tolist() == [3, 40]


def test_samples_table_round_trip_keeps_types(tmp_path):
    samples = pd.DataFrame({c: [""] for c in tables.SAMPLE_COLUMNS})
    samples = tables.typed_samples(samples.assign(
        sample_id="S1", year="2015", titre="32", age_years="2.5", latitude="43.1234567",
        longitude="131.5", source_row="2"))
    path = tmp_path / "samples.tsv"
    tables.write_samples(samples, path)
    back = tables.read_samples(path, required=("sample_id", "titre"))
    assert back.loc[0, "year"] == 2015 and str(back["year"].dtype) == "Int64"
    assert back.loc[0, "titre"] == 32.0 and back.loc[0, "latitude"] == 43.123457
    assert back.loc[0, "birth_year"] is pd.NA and back.loc[0, "sex"] == ""
    with pytest.raises(ValueError, match=r"missing column.*weight_kg"):
        tables.read_samples(path, required=("sample_id", "weight_kg"))


def test_named_streams_are_pinned_distinct_and_registered():
    # pinned: results of earlier runs (serology draws) stay reproducible from the same seed
    assert seeds.stream_seed(20261121, "seroprevalence/prevalence") == 3655377015
    assert seeds.stream_seed(20261121, "transmission/replicates") == 2817834751
    values = {seeds.stream_seed(20261121, s) for s in seeds.STREAMS}
    assert len(values) == len(seeds.STREAMS)
    streams = "network/individuals"
    assert seeds.stream_seed(1, streams) != seeds.stream_seed(2, streams)
    with pytest.raises(KeyError, match="register it"):
        seeds.stream_seed(1, "transmission/typo")
    a = seeds.stream_rng(7, "transmission/replicates", 3).random(4)
    assert np.array_equal(a, seeds.stream_rng(7, "transmission/replicates", 3).random(4))
    assert not np.array_equal(a, seeds.stream_rng(7, "transmission/replicates", 4).random(4))


def test_every_stochastic_pipeline_step_uses_a_registered_stream():
    """No bare seeds in pipeline code: every stream named in the code (package and benchmarks)
    is registered and used."""
    used = set()
    for path in [*PACKAGE.rglob("*.py"), *(REPO_ROOT / "bench").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"stream_(?:seed|rng)\([^)]*?\"([\w/]+)\"", text))
        if path.name in ("examples.py", "validation.py", "seeds.py") or path.parent.name == "tests":
            continue  # example-data generators and test references keep their own seeds
        assert "SeedSequence(" not in text, f"{path}: bare SeedSequence; use disease_risk.seeds"
    assert used == set(seeds.STREAMS)


def test_schemas_ship_in_the_package_and_validate(tmp_path):
    assert schema_path("config.schema.yaml").is_file()
    assert schema("species.schema.yaml")["type"] == "object"
    bad = tmp_path / "assays.yaml"
    bad.write_text("assays: []\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"assays\.yaml does not follow .*assays\.schema"):
        read_yaml(bad, "assays.schema.yaml")
    with pytest.raises(ConfigFileError, match="file not found"):
        read_yaml(tmp_path / "missing.yaml", "assays.schema.yaml")


def _open_objects(node, path=()):
    """Object schemas with named properties that accept any other key (conditions such as
    ``if`` only test a value, they define nothing)."""
    if isinstance(node, dict):
        if path[-1:] in (("if",), ("not",)):
            return
        if "properties" in node and "additionalProperties" not in node:
            yield "/".join(path) or "(top)"
        for key, value in node.items():
            yield from _open_objects(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _open_objects(value, (*path, str(i)))


@pytest.mark.parametrize("name", ["config", "network", "species", "assays", "sheet_layouts",
                                  "hazards"])
def test_every_config_level_rejects_unknown_keys(name):
    """A misspelt key anywhere in a config file is an error, never silently ignored (#18).
    (samples.schema.yaml stays open: extra sheet columns are kept in samples.tsv.)"""
    assert list(_open_objects(schema(f"{name}.schema.yaml"))) == []


def test_misspelt_config_key_is_named():
    import jsonschema
    import yaml

    config = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(config, schema("config.schema.yaml"))
    for where in (config, config["transmission"], config["risk"]["uncertainty"]["sample_size"]):
        where["strickt"] = True
        with pytest.raises(jsonschema.ValidationError, match="'strickt' was unexpected"):
            jsonschema.validate(config, schema("config.schema.yaml"))
        del where["strickt"]


def test_formula_like_text_is_written_as_text_and_read_back_as_written(tmp_path):
    """Spreadsheet injection (#18): a TSV never holds a cell a spreadsheet would run."""
    values = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "'quoted",
              "-", "+", "-12.5", "+4", "plain", "\tcmd"]
    table = pd.DataFrame({"value": values, "n": range(len(values))})
    path = tmp_path / "t.tsv"
    tables.write_table(table, path)
    cells = [line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    assert cells[0].startswith("\"'=HYPERLINK")  # quoted by the CSV writer (it holds quotes)
    assert cells[1:5] == ["'+1+1", "'-2+3", "'@SUM(A1)", "''quoted"]
    assert cells[5:10] == ["-", "+", "-12.5", "+4", "plain"]  # not formulas: as they are
    assert tables.read_table(path, text_columns=["value"])["value"].tolist() == values
    samples = tables.typed_samples(pd.DataFrame({c: [""] for c in tables.SAMPLE_COLUMNS}))
    samples.loc[0, ["sample_id", "notes"]] = ["S1", "=cmd|' /C calc'!A0"]
    tables.write_samples(samples, tmp_path / "samples.tsv")
    assert "\t'=cmd|" in (tmp_path / "samples.tsv").read_text(encoding="utf-8")
    assert tables.read_samples(tmp_path / "samples.tsv").loc[0, "notes"] == "=cmd|' /C calc'!A0"
