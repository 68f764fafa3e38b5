"""The SIMULATED example panel and sequences: reproducible, typed to their simulated truth."""

from __future__ import annotations

import re
import shutil

import pytest
from Bio import SeqIO

from disease_risk.sequences.alignment import is_complete_cds
from disease_risk.sequences.examples import (
    PANEL_FASTA,
    PANEL_TABLE,
    PARTIAL_FASTA,
    SAMPLES_FASTA,
    UNLINKED_ID,
    read_example_samples,
    simulate_panel,
    write_example_sequences,
)
from disease_risk.sequences.lineage_typing import TypingSettings
from disease_risk.sequences.panel import read_reference_panel
from disease_risk.sequences.reading import list_sequence_files
from disease_risk.sequences.stage import run_typing
from disease_risk.tables import LINEAGE_COLUMNS

SHIPPED = [
    f"references/{PANEL_FASTA}",
    f"references/{PANEL_TABLE}",
    f"sequences/{SAMPLES_FASTA}",
    f"sequences/{PARTIAL_FASTA}",
]


@pytest.fixture(scope="module")
def example(repo_root, tmp_path_factory):
    """Example sequences typed against the shipped panel, plus the simulated truth."""
    config = repo_root / "config"
    samples = read_example_samples(config)
    samples_path = tmp_path_factory.mktemp("example") / "samples.tsv"
    samples.to_csv(samples_path, sep="\t", index=False)
    panel = read_reference_panel(
        config / "references" / PANEL_FASTA, config / "references" / PANEL_TABLE
    )
    files, _ = list_sequence_files(config / "sequences")
    lineages, unmatched, _ = run_typing(samples_path, files, panel, TypingSettings())
    truth = {}
    for path in files:
        for record in SeqIO.parse(path, "fasta"):
            assert "SIMULATED" in record.description
            truth[record.id] = re.search(r"simulated_lineage=(\S+?);?(\s|$)", record.description)[1]
    return samples, lineages.set_index("sequence_id"), unmatched, truth


def test_shipped_example_files_regenerate_identically(repo_root, tmp_path):
    shutil.copytree(repo_root / "config", tmp_path / "config")
    write_example_sequences(tmp_path / "config")
    for name in SHIPPED:
        fresh = (tmp_path / "config" / name).read_bytes()
        assert fresh == (repo_root / "config" / name).read_bytes(), (
            f"config/{name} is stale (sample sheets changed?): run "
            "`python -m disease_risk.sequences.examples`"
        )


def test_simulated_panel_shape():
    records, table, _ = simulate_panel()
    assert all(is_complete_cds(r.seq, 607) for r in records)
    assert sorted(set(table["lineage"])) == [f"L{i}" for i in range(1, 8)]
    assert (table["note"] == "SIMULATED").all()


def test_every_example_sequence_types_to_its_simulated_lineage(example):
    samples, lineages, unmatched, truth = example
    wanted = set(samples["sequence_id"].dropna()) - {""}
    assert 20 <= len(wanted) <= 30
    assert set(lineages.index) == wanted | {UNLINKED_ID}
    for seq_id, row in lineages.iterrows():
        assert row["lineage"] == truth[seq_id], (seq_id, row["lineage"], truth[seq_id])
    assert (lineages["lineage"] == "unassigned").sum() == 1
    assert (lineages["lineage"] == "L5").sum() >= 15
    big_cats = lineages["species"].isin(["amur_tiger", "amur_leopard"])
    assert set(lineages.loc[big_cats, "lineage"]) == {"L5"}
    assert set(lineages.loc[lineages["lineage"] == "L5", "residue_530"]) <= {"N", ""}
    assert lineages["qc_flags"].str.contains("partial").sum() == 5
    assert lineages["qc_flags"].str.contains("ambiguous_bases").sum() == 1
    assert list(lineages.reset_index().columns[: len(LINEAGE_COLUMNS)]) == list(LINEAGE_COLUMNS)
    assert unmatched[["issue", "sequence_id"]].values.tolist() == [
        ["sequence_without_sample", UNLINKED_ID]
    ]


