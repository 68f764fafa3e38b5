"""GenBank -> reference panel, without network: records are made here, Entrez is replaced."""

from __future__ import annotations

import io
import urllib.error

import pytest
from Bio import Entrez, SeqIO
from Bio.Seq import Seq
from Bio.SeqFeature import FeatureLocation, SeqFeature
from Bio.SeqRecord import SeqRecord

from disease_risk import cli
from disease_risk.sequences.examples import simulate_panel
from disease_risk.sequences.lineage_typing import TypingSettings, type_sequences
from disease_risk.sequences.panel import read_reference_panel
from disease_risk.sequences.reading import SequenceRecord
from disease_risk.sequences.references import (
    ReferenceFetchError,
    fetch_references,
    genbank_to_panel,
    parse_accession_arguments,
)


def _genbank_text() -> str:
    """Two GenBank records: a 2,400-nt genome fragment with an annotated H CDS, and a bare gene."""
    panel, _, _ = simulate_panel()
    h1, h2 = panel[0].seq, panel[16].seq
    flank = "ACGTTGCA" * 40
    genome = SeqRecord(
        Seq(flank + h1 + flank[:256]),
        id="XX000001.1",
        name="XX000001",
        description="Canine distemper virus strain sim-1 genome fragment (SIMULATED)",
        annotations={"molecule_type": "RNA", "topology": "linear"},
    )
    genome.features = [
        SeqFeature(
            FeatureLocation(0, len(genome.seq)),
            type="source",
            qualifiers={
                "host": ["Panthera tigris altaica"],
                "country": ["Russia: Primorsky Krai"],
                "collection_date": ["12-May-2015"],
            },
        ),
        SeqFeature(
            FeatureLocation(10, 200), type="CDS", qualifiers={"gene": ["P"], "product": ["P"]}
        ),
        SeqFeature(
            FeatureLocation(len(flank), len(flank) + len(h1)),
            type="CDS",
            qualifiers={"product": ["hemagglutinin"]},
        ),
    ]
    gene = SeqRecord(
        Seq(h2),
        id="XX000002.1",
        name="XX000002",
        description="Canine distemper virus H gene (SIMULATED)",
        annotations={"molecule_type": "RNA"},
    )
    gene.features = [
        SeqFeature(FeatureLocation(0, len(h2)), type="source", qualifiers={"host": ["dog"]})
    ]
    handle = io.StringIO()
    SeqIO.write([genome, gene], handle, "genbank")
    return handle.getvalue()


def test_genbank_records_become_a_usable_panel(tmp_path):
    records = list(SeqIO.parse(io.StringIO(_genbank_text()), "genbank"))
    panel, _, _ = simulate_panel()
    sequences, table = genbank_to_panel(records, {"XX000001.1": ("L1", "L1.1")})
    assert sequences["XX000001.1"] == panel[0].seq  # the H CDS, not the whole fragment
    assert sequences["XX000002.1"] == panel[16].seq  # whole record when no CDS is annotated
    first = table.set_index("seq_id").loc["XX000001.1"]
    assert (first["lineage"], first["sublineage"], first["year"]) == ("L1", "L1.1", "2015")
    assert (first["country"], first["host"]) == ("Russia", "Panthera tigris altaica")
    assert "CDS" in first["source"]
    second = table.set_index("seq_id").loc["XX000002.1"]
    assert second["lineage"] == "" and second["host"] == "dog"


def test_fetch_references_writes_panel_that_types(tmp_path):
    calls = {}

    def fake_efetch(**kwargs):
        calls.update(kwargs)
        return io.StringIO(_genbank_text())

    fasta, table = tmp_path / "p.fasta", tmp_path / "p.tsv"
    rows = fetch_references(
        ["XX000001.1=L1.1", "XX000002.1=L5.2"], "vet@example.org", fasta, table, efetch=fake_efetch
    )
    assert calls["id"] == "XX000001.1,XX000002.1" and calls["rettype"] == "gb"
    assert rows["lineage"].tolist() == ["L1", "L5"]
    panel = read_reference_panel(fasta, table)
    assert panel.frame_id == "XX000001.1"
    sim, _, _ = simulate_panel()
    typed, _ = type_sequences(
        [SequenceRecord("q", sim[15].seq, "q.fasta", 1)], panel, TypingSettings()
    )
    assert typed.at[0, "lineage"] == "L5"  # simulated L5.2 gene is nearest the L5.2 reference
    with pytest.raises(ReferenceFetchError, match="exists"):
        fetch_references(["XX000001.1"], "vet@example.org", fasta, table, efetch=fake_efetch)


def test_offline_fails_plainly_and_writes_nothing(tmp_path):
    def offline(**kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    fasta, table = tmp_path / "p.fasta", tmp_path / "p.tsv"
    with pytest.raises(ReferenceFetchError, match="offline") as error:
        fetch_references(["KJ848781.1"], "vet@example.org", fasta, table, efetch=offline)
    assert "Nothing was written" in str(error.value)
    assert not fasta.exists() and not table.exists()
    assert Entrez.max_tries == 3  # module settings restored


def test_http_error_and_missing_records(tmp_path):
    def refused(**kwargs):
        raise urllib.error.HTTPError("url", 400, "Bad Request", None, None)

    with pytest.raises(ReferenceFetchError, match="HTTP 400"):
        fetch_references(["KJ848781.1"], "a@b.org", tmp_path / "a", tmp_path / "b", efetch=refused)
    with pytest.raises(ReferenceFetchError, match=r"no record for: KJ848781\.1"):
        fetch_references(
            ["XX000001.1", "KJ848781.1"],
            "a@b.org",
            tmp_path / "a",
            tmp_path / "b",
            efetch=lambda **_: io.StringIO(_genbank_text()),
        )


def test_arguments_are_checked():
    assert parse_accession_arguments(["KJ848781.1=L1.1", "Z47760"]) == {
        "KJ848781.1": ("L1", "L1.1"),
        "Z47760": ("", ""),
    }
    with pytest.raises(ReferenceFetchError, match="does not look like a GenBank accession"):
        parse_accession_arguments(["not an accession"])
    with pytest.raises(ReferenceFetchError, match="e-mail"):
        fetch_references(["KJ848781.1"], "", "a", "b")


def test_cli_offline_message(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(Entrez, "efetch", offline)
    status = cli.main(
        ["fetch-references", "KJ848781.1", "--email", "a@b.org", "--out", str(tmp_path / "p")]
    )
    assert status == 1
    err = capsys.readouterr().err
    assert "could not reach NCBI Entrez (no network)" in err
    assert not (tmp_path / "p.fasta").exists()
