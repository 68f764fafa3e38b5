"""Bad sequence input: every file or record that cannot be used is named, with its reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from disease_risk.sequences.linking import link_samples
from disease_risk.sequences.panel import read_lineage_table, read_reference_panel
from disease_risk.sequences.reading import (
    SequenceInputError,
    check_nucleotides,
    list_sequence_files,
    raise_for_rejections,
    read_sequence_file,
    read_sequence_files,
)

H_FRAGMENT = "ATGCTCTCCTACCAAGACAAGGTGGGTGCCTTCTACAAGGATAATGCAAGAGCCAATTCATCCAAGCTGTCC"
PROTEIN = "MLSYQDKVGAFYKDNARANSSKLSLVTEEQGGRRPPYLLFVLLILLVGIMALLAITGVRFHQVSTSNMEFSRLLKEDMEKSEAV"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _only_reason(path: Path) -> str:
    records, rejections = read_sequence_file(path)
    assert records == []
    assert len(rejections) == 1
    return rejections[0].message()


def test_empty_file(tmp_path):
    path = _write(tmp_path / "empty.fasta", "")
    message = _only_reason(path)
    assert str(path) in message and "empty" in message


def test_text_that_is_not_fasta(tmp_path):
    path = _write(tmp_path / "table.fasta", "sample,sequence\nA1,ACGT\n")
    message = _only_reason(path)
    assert "not FASTA" in message and "'sample,sequence'" in message


def test_genbank_suffix_without_records(tmp_path):
    path = _write(tmp_path / "x.gb", ">not genbank\nACGT\n")
    assert "no genbank records" in _only_reason(path)


def test_binary_file(tmp_path):
    path = tmp_path / "sheet.fasta"
    path.write_bytes(b"PK\x03\x04\xff\xfe\x00binary")
    assert "not a text file" in _only_reason(path)


def test_record_level_problems_name_file_and_record(tmp_path):
    path = _write(
        tmp_path / "run1.fasta",
        f">good one\n{H_FRAGMENT}\n"
        f">protein\n{PROTEIN}\n"
        ">digits\nACGT1234ACGT\n"
        ">empty\n\n"
        ">only_n\nNNNNNNNN\n"
        f">gapped\n{H_FRAGMENT[:30]}---{H_FRAGMENT[30:]}\n",
    )
    records, rejections = read_sequence_file(path)
    assert [r.id for r in records] == ["good", "gapped"]
    assert records[1].seq == H_FRAGMENT  # alignment gaps removed, bases kept
    reasons = {r.sequence_id: (r.record, r.reason) for r in rejections}
    assert reasons["protein"][0] == 2 and "protein" in reasons["protein"][1]
    assert reasons["digits"][0] == 3 and "'1'" in reasons["digits"][1]
    assert "position 5" in reasons["digits"][1]
    assert "empty sequence" in reasons["empty"][1]
    assert "no A/C/G/T" in reasons["only_n"][1]
    with pytest.raises(SequenceInputError) as error:
        raise_for_rejections(rejections, "sequence files")
    text = str(error.value)
    assert "4 problem(s)" in text
    assert f"{path}, record 2 ('protein')" in text


def test_rna_and_lower_case_are_read_as_dna(tmp_path):
    path = _write(tmp_path / "rna.fa", ">r\n" + H_FRAGMENT.lower().replace("t", "u") + "\n")
    records, rejections = read_sequence_file(path)
    assert rejections == [] and records[0].seq == H_FRAGMENT


def test_duplicate_ids_within_and_across_files_reject_every_copy(tmp_path):
    a = _write(tmp_path / "a.fasta", f">x\n{H_FRAGMENT}\n>y\n{H_FRAGMENT}\n>x\n{H_FRAGMENT}\n")
    b = _write(tmp_path / "b.fasta", f">y\n{H_FRAGMENT}\n>z\n{H_FRAGMENT}\n")
    records, rejections = read_sequence_files([a, b])
    assert [r.id for r in records] == ["z"]
    assert sorted((Path(r.source_file).name, r.record, r.sequence_id) for r in rejections) == [
        ("a.fasta", 1, "x"),
        ("a.fasta", 2, "y"),
        ("a.fasta", 3, "x"),
        ("b.fasta", 1, "y"),
    ]
    message = next(r.message() for r in rejections if r.sequence_id == "y" and r.record == 1)
    assert "duplicate sequence id" in message and f"{a} record 2" in message


def test_check_nucleotides_accepts_iupac_and_spots_protein():
    assert check_nucleotides("ACGTRYKMSWBDHVN") is None
    assert "protein" in check_nucleotides("MKVLAAGIVALLLAAGCSSEQ")
    assert check_nucleotides("") is not None


def test_list_sequence_files_separates_other_files(tmp_path):
    for name in ("b.fasta", "a.fa", "c.gbk", "notes.txt", "README.md", ".hidden.fasta"):
        _write(tmp_path / name, ">x\nACGT\n")
    used, ignored = list_sequence_files(tmp_path)
    assert [p.name for p in used] == ["a.fa", "b.fasta", "c.gbk"]
    assert [p.name for p in ignored] == ["notes.txt"]
    assert list_sequence_files(tmp_path / "missing") == ([], [])


def test_unmatched_lists_every_sequence_and_sample_left_over(tmp_path):
    path = _write(tmp_path / "s.fasta", f">CDVH-1\n{H_FRAGMENT}\n>bad\nHELLO-WORLD!\n")
    _, rejections = read_sequence_files([path])
    typed = pd.DataFrame(
        {
            "sequence_id": ["CDVH-1", "CDVH-ORPHAN"],
            "qc_flags": ["", "partial"],
            "source_file": [str(path), str(path)],
            "record": [1, 3],
        }
    )
    samples = pd.DataFrame(
        {
            "sample_id": ["S1", "S1b", "S2", "S3", "S4"],
            "species": ["amur_tiger", "amur_tiger", "domestic_dog", "red_fox", "sable"],
            "sequence_id": ["CDVH-1", "CDVH-1", "CDVH-MISSING", "bad", ""],
        }
    )
    lineages, unmatched = link_samples(typed, samples, rejections)
    assert lineages["sample_id"].tolist() == ["S1;S1b", ""]
    assert lineages["species"].tolist() == ["amur_tiger", ""]
    assert lineages["qc_flags"].tolist() == ["", "partial;no_sample"]
    issues = {(r.issue, r.sequence_id, r.sample_id) for r in unmatched.itertuples()}
    assert issues == {
        ("sequence_without_sample", "CDVH-ORPHAN", ""),
        ("rejected_sequence", "bad", "S3"),
        ("sample_without_sequence", "CDVH-MISSING", "S2"),
    }


def test_reference_panel_errors_name_the_problem(tmp_path, shared_dir):
    fasta = _write(tmp_path / "panel.fasta", f">r1\n{H_FRAGMENT}\n>r1\n{H_FRAGMENT}\n")
    table = _write(tmp_path / "panel.tsv", "seq_id\tlineage\nr1\tL1\n")
    with pytest.raises(SequenceInputError, match="duplicate sequence id"):
        read_reference_panel(fasta, table)
    fasta = _write(tmp_path / "panel.fasta", f">r1\n{H_FRAGMENT}\n>r2\n{H_FRAGMENT}\n")
    with pytest.raises(SequenceInputError, match="without a row in the lineage table: r2"):
        read_reference_panel(fasta, table)
    _write(table, "seq_id\tlineage\nr1\tL1\nr2\tL2\n")
    with pytest.raises(SequenceInputError, match="complete 607-codon"):
        read_reference_panel(fasta, table)
    _write(table, "seq_id\tlineage\nr1\tL1\nr2\t\n")
    with pytest.raises(SequenceInputError, match=r"row 3 \('r2'\): lineage is empty"):
        read_lineage_table(table)
    _write(table, "id\tclade\nr1\tL1\n")
    with pytest.raises(SequenceInputError, match="needs a 'seq_id' column"):
        read_lineage_table(table)
    real = shared_dir / "data" / "cdv_h_references"
    with pytest.raises(SequenceInputError, match="frame_reference 'nope' is not in the panel"):
        read_reference_panel(real / "references.fasta", real / "references.tsv", "nope")


def test_lineage_table_accepts_suffixed_column_names(shared_dir):
    table = read_lineage_table(shared_dir / "data" / "cdv_h_references" / "references.tsv")
    row = table.loc["Z47760.1|L5|L5.3|GL|1988|DOG"]
    assert (row["lineage"], row["sublineage"], row["host"]) == ("L5", "L5.3", "DOG")
    assert row["name"].startswith("Arctic-like")


def test_genbank_sample_file_is_read(tmp_path):
    from Bio import SeqIO
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    record = SeqRecord(Seq(H_FRAGMENT), id="CDVH-GB1", annotations={"molecule_type": "DNA"})
    path = tmp_path / "lab.gbk"
    SeqIO.write([record], path, "genbank")
    records, rejections = read_sequence_file(path)
    assert rejections == []
    assert [(r.id, r.seq, r.record) for r in records] == [("CDVH-GB1", H_FRAGMENT, 1)]


def test_strict_mode_stops_on_any_rejected_record(tmp_path, repo_root):
    from disease_risk.sequences.lineage_typing import TypingSettings
    from disease_risk.sequences.stage import run_typing

    panel_dir = repo_root / "config" / "references"
    panel = read_reference_panel(
        panel_dir / "SIMULATED_cdv_h_panel.fasta", panel_dir / "SIMULATED_cdv_h_panel.tsv"
    )
    fasta = _write(tmp_path / "s.fasta", f">ok\n{H_FRAGMENT * 4}\n>prot\n{PROTEIN}\n")
    samples = _write(tmp_path / "samples.tsv", "sample_id\tspecies\tsequence_id\nS1\tsable\tok\n")
    with pytest.raises(SequenceInputError, match=r"s\.fasta, record 2 \('prot'\): looks like a"):
        run_typing(samples, [fasta], panel, TypingSettings(), strict=True)
    lineages, unmatched, _ = run_typing(samples, [fasta], panel, TypingSettings(), strict=False)
    assert lineages["sequence_id"].tolist() == ["ok"]
    assert unmatched["issue"].tolist() == ["rejected_sequence"]
