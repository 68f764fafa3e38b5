"""GenBank accessions with and without a version: ``X`` and ``X.1`` are one accession wherever a
sequence id is matched (samples, GenBank downloads, the panel), ``X.1`` and ``X.2`` are not."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from Bio import SeqIO
from Bio.Seq import Seq
from Bio.SeqRecord import SeqRecord

from disease_risk.sequences.accessions import find_accession, parse_accession, same_accession
from disease_risk.sequences.lineage_typing import TypingSettings, type_sequence
from disease_risk.sequences.linking import link_samples
from disease_risk.sequences.panel import read_reference_panel
from disease_risk.sequences.reading import SequenceRecord
from disease_risk.sequences.references import ReferenceFetchError, fetch_references


def test_versions_of_one_accession_match_and_other_ids_only_themselves():
    assert parse_accession("KJ848781.1|L1|L1.1|CN|2014|RACOON") == ("KJ848781", 1)
    assert parse_accession("JN812975") == ("JN812975", None)
    assert parse_accession("NC_001921.1 Canine distemper virus") == ("NC_001921", 1)
    assert parse_accession("CDVH-BCT-0007") is None
    assert same_accession("JN812975", "JN812975.1")
    assert same_accession("kj848781.1", "KJ848781.1|L1|L1.1|CN|2014|RACOON")
    assert not same_accession("KJ848781.1", "KJ848781.2")
    assert not same_accession("KJ848781", "KJ848782")
    assert not same_accession("CDVH-1", "CDVH-1.1")
    assert find_accession("JN812975.1", ["Z47760.1", "JN812975"]) == "JN812975"
    assert find_accession("KJ848781", ["KJ848781.1", "KJ848781.2"]) is None  # ambiguous
    assert find_accession("CDVH-1", ["CDVH-1", "CDVH-2"]) == "CDVH-1"


def test_samples_link_to_versioned_sequence_ids():
    typed = pd.DataFrame(
        {
            "sequence_id": ["KJ848781.1", "AY964108.2", "CDVH-1"],
            "qc_flags": ["", "", ""],
            "source_file": ["a.fasta"] * 3,
            "record": [1, 2, 3],
        }
    )
    samples = pd.DataFrame(
        {
            "sample_id": ["S1", "S2", "S3"],
            "species": ["amur_tiger", "domestic_dog", "red_fox"],
            "sequence_id": ["KJ848781", "AY964108.1", "CDVH-1"],
        }
    )
    lineages, unmatched = link_samples(typed, samples)
    assert lineages["sample_id"].tolist() == ["S1", "", "S3"]
    assert lineages.at[0, "qc_flags"] == "linked_by_accession:KJ848781"
    assert lineages.at[1, "qc_flags"] == "no_sample"  # version 2 is not version 1
    issues = set(zip(unmatched["issue"], unmatched["sequence_id"], strict=True))
    assert issues == {
        ("sequence_without_sample", "AY964108.2"),
        ("sample_without_sequence", "AY964108.1"),
    }


def _genbank(accession: str, seq: str) -> str:
    record = SeqRecord(Seq(seq), id=accession, name=accession.split(".")[0], description="H")
    record.annotations["molecule_type"] = "RNA"
    handle = io.StringIO()
    SeqIO.write([record], handle, "genbank")
    return handle.getvalue()


def test_fetch_matches_unversioned_requests_but_not_other_versions(tmp_path, shared_dir):
    panel_dir = shared_dir / "data" / "cdv_h_references"
    seq = str(next(SeqIO.parse(panel_dir / "references.fasta", "fasta")).seq)
    text = _genbank("KJ848781.1", seq)
    table = fetch_references(["KJ848781=L1.1"], "vet@example.org", tmp_path / "a.fasta",
                             tmp_path / "a.tsv", efetch=lambda **_: io.StringIO(text))  # fmt: skip
    assert table[["accession", "lineage", "sublineage"]].values.tolist() == [
        ["KJ848781.1", "L1", "L1.1"]
    ]
    with pytest.raises(ReferenceFetchError, match=r"no record for: KJ848781\.2"):
        fetch_references(["KJ848781.2"], "vet@example.org", tmp_path / "b.fasta",
                         tmp_path / "b.tsv", efetch=lambda **_: io.StringIO(text))  # fmt: skip


def test_a_panel_gene_typed_again_is_flagged_as_panel_reference(shared_dir):
    folder = shared_dir / "data" / "cdv_h_references"
    panel = read_reference_panel(folder / "references.fasta", folder / "references.tsv")
    panel_id = "JN812975|L3|L3.2|TZ|1994|AFRICAN.LION"  # stored without a version
    record = SequenceRecord("JN812975.1", panel.sequences[panel_id], "genbank.fasta", 1)
    row, _ = type_sequence(record, panel, TypingSettings())
    assert f"panel_reference:{panel_id}" in row["qc_flags"].split(";")
    assert row["identity"] == pytest.approx(1.0)
    other = SequenceRecord("CDVH-1", panel.sequences[panel_id], "lab.fasta", 1)
    assert "panel_reference" not in type_sequence(other, panel, TypingSettings())[0]["qc_flags"]
