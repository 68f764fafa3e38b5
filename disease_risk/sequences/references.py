"""Build a labelled CDV H reference panel from GenBank records (Bio.Entrez + SeqIO).

``fetch_references`` downloads the records (needs internet; offline it fails with a plain
message and writes nothing), :func:`genbank_to_panel` turns records into the panel FASTA and
lineage table read by :func:`disease_risk.sequences.panel.read_reference_panel`. The H coding
sequence is taken from the record's CDS annotated ``gene=H`` or ``product=...hemagglutinin...``,
so whole genomes work too. Lineages are not in GenBank: give them as ``ACCESSION=L5.2`` or fill
in the table's ``lineage`` column before using the panel.
"""

from __future__ import annotations

import re
import socket
import urllib.error
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
from Bio import Entrez, SeqIO
from Bio.SeqFeature import SeqFeature
from Bio.SeqRecord import SeqRecord

from disease_risk.sequences.accessions import ACCESSION, find_accession
from disease_risk.sequences.reading import write_fasta
from disease_risk.tables import write_table

PANEL_COLUMNS = [
    "seq_id",
    "accession",
    "lineage",
    "sublineage",
    "name",
    "country",
    "year",
    "host",
    "source",
]
H_PRODUCT = re.compile(r"h(a)?emagglutinin|attachment (glyco)?protein", re.IGNORECASE)
MAX_UNANNOTATED_LENGTH = 2100


class ReferenceFetchError(RuntimeError):
    """The panel could not be fetched or built; the message says why and what to do."""


def parse_accession_arguments(arguments: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``['KJ848781.1=L1.1', 'AY964108.1']`` -> {accession: (lineage, sublineage)}, '' unknown."""
    parsed: dict[str, tuple[str, str]] = {}
    for argument in arguments:
        accession, _, label = argument.strip().partition("=")
        if not ACCESSION.match(accession):
            raise ReferenceFetchError(
                f"{accession!r} does not look like a GenBank accession (e.g. KJ848781.1)"
            )
        label = label.strip()
        parsed[accession] = (label.split(".")[0], label) if label else ("", "")
    return parsed


def _h_cds(record: SeqRecord) -> SeqFeature | None:
    for feature in record.features:
        if feature.type != "CDS":
            continue
        genes = [g.strip().upper() for g in feature.qualifiers.get("gene", [])]
        products = " ".join(feature.qualifiers.get("product", []))
        if "H" in genes or H_PRODUCT.search(products):
            return feature
    return None


def _source_qualifier(record: SeqRecord, key: str) -> str:
    for feature in record.features:
        if feature.type == "source" and key in feature.qualifiers:
            return str(feature.qualifiers[key][0])
    return ""


def genbank_record_to_reference(
    record: SeqRecord, lineage: str = "", sublineage: str = ""
) -> tuple[str, dict[str, str]]:
    """H gene sequence and table row of one GenBank record (raises if no H gene is found)."""
    feature = _h_cds(record)
    if feature is not None:
        seq = str(feature.extract(record.seq)).upper()
        where = f"CDS {feature.location}"
    elif len(record.seq) <= MAX_UNANNOTATED_LENGTH:
        seq = str(record.seq).upper()
        where = "whole record (no H CDS annotated)"
    else:
        raise ReferenceFetchError(
            f"{record.id}: no CDS annotated gene=H or product hemagglutinin in a "
            f"{len(record.seq)}-nt record; choose an H gene record instead"
        )
    dates = re.findall(r"(1[89]\d\d|20\d\d)", _source_qualifier(record, "collection_date"))
    row = {
        "seq_id": record.id,
        "accession": record.id,
        "lineage": lineage,
        "sublineage": sublineage or lineage,
        "name": "",
        "country": _source_qualifier(record, "country").split(":")[0].strip(),
        "year": dates[-1] if dates else "",
        "host": _source_qualifier(record, "host"),
        "source": f"GenBank {record.id} {where}: {record.description}",
    }
    return seq, row


def genbank_to_panel(
    records: Iterable[SeqRecord], lineages: Mapping[str, tuple[str, str]] | None = None
) -> tuple[dict[str, str], pd.DataFrame]:
    """Panel sequences {seq_id: H gene} and lineage table from GenBank records."""
    lineages = lineages or {}
    sequences: dict[str, str] = {}
    rows = []
    for record in records:
        asked = find_accession(record.id, lineages)  # KJ848781 asked, KJ848781.1 returned
        label = lineages[asked] if asked is not None else ("", "")
        seq, row = genbank_record_to_reference(record, *label)
        sequences[row["seq_id"]] = seq
        rows.append(row)
    return sequences, pd.DataFrame(rows, columns=PANEL_COLUMNS)


def write_panel(
    sequences: Mapping[str, str], table: pd.DataFrame, fasta: str | Path, table_path: str | Path
) -> None:
    """Write the panel FASTA (70 nt per line) and its TSV lineage table."""
    write_fasta(sequences.items(), fasta)
    write_table(table, table_path)


def _download(
    accessions: Sequence[str],
    email: str,
    api_key: str | None,
    timeout: float,
    efetch: Callable | None,
) -> list[SeqRecord]:
    Entrez.email = email
    Entrez.api_key = api_key
    old_tries, old_timeout = Entrez.max_tries, socket.getdefaulttimeout()
    Entrez.max_tries = 1
    socket.setdefaulttimeout(timeout)
    try:
        handle = (efetch or Entrez.efetch)(
            db="nucleotide", id=",".join(accessions), rettype="gb", retmode="text"
        )
        with handle:
            return list(SeqIO.parse(handle, "genbank"))
    except urllib.error.HTTPError as error:
        raise ReferenceFetchError(
            f"NCBI refused the request (HTTP {error.code}: {error.reason}); check the accession "
            f"numbers ({', '.join(accessions)}). Nothing was written."
        ) from error
    except (OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise ReferenceFetchError(
            f"could not reach NCBI Entrez ({reason}): this computer seems to be offline or NCBI "
            "is unreachable. Nothing was written. Run the command again with internet access, "
            "or write the panel FASTA and lineage table by hand (README, Sequence typing)."
        ) from error
    finally:
        Entrez.max_tries = old_tries
        socket.setdefaulttimeout(old_timeout)


def fetch_references(
    accessions: Iterable[str],
    email: str,
    fasta: str | Path,
    table_path: str | Path,
    *,
    api_key: str | None = None,
    overwrite: bool = False,
    timeout: float = 60.0,
    efetch: Callable | None = None,
) -> pd.DataFrame:
    """Download GenBank records and write a labelled panel; returns the lineage table.

    ``accessions`` may carry lineages (``KJ848781.1=L1.1``). NCBI asks for a contact ``email``.
    ``efetch`` replaces ``Bio.Entrez.efetch`` (tests).
    """
    labels = parse_accession_arguments(accessions)
    if not labels:
        raise ReferenceFetchError("give at least one GenBank accession")
    if not email or "@" not in email:
        raise ReferenceFetchError(
            "NCBI needs a contact e-mail address: pass --email you@example.org"
        )
    for path in (fasta, table_path):
        if Path(path).exists() and not overwrite:
            raise ReferenceFetchError(f"{path} exists; choose another --out or add --force")
    records = _download(list(labels), email, api_key, timeout, efetch)
    returned = [r.id for r in records]
    missing = [a for a in labels if find_accession(a, returned) is None]  # X.2 is not X.1
    if missing:
        raise ReferenceFetchError(
            f"NCBI returned no record for: {', '.join(missing)}; check these accessions. "
            "Nothing was written."
        )
    sequences, table = genbank_to_panel(records, labels)
    write_panel(sequences, table, fasta, table_path)
    return table
