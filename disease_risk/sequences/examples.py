"""Seeded generator of the SIMULATED H reference panel and example sample sequences.

Real GenBank sequences may not be copied into the repository, so the example run uses invented
ones: a random 607-codon H-like open reading frame evolves down a lineage tree shaped like the
L1-L7 scheme (lineages ~8% apart, sublineages ~3-4%, references ~1%), with the marker residues set
to the published pattern (H 530: G in Asia-1/Europe, N in Arctic-like, E in Asia-2; 549H more often
in non-dog hosts). The sample sequences are one per ``sequence_id`` in the example sheets
(``config/samples``, read through the intake module): Arctic-like for the big cats,
mesocarnivores and some dogs, Asia-1/Asia-2 for other dogs, one divergent sequence that must come
out ``unassigned``, several partial (600-900 nt), one with ambiguous bases, plus one sequence that
no sample refers to. Every FASTA description says SIMULATED.

Regenerate with ``python -m disease_risk.sequences.examples`` (same seed, same bytes).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from disease_risk.seeds import DEFAULT_SEED
from disease_risk.sequences.reading import write_fasta
from disease_risk.tables import write_table

PROTEIN_LENGTH = 607
# kept as first shipped: the example FASTA descriptions carry it (changing it changes config data)
SIMULATED_NOTE = "SIMULATED (disease_risk.sequences.examples); not a real sequence"
PANEL_FASTA = "SIMULATED_cdv_h_panel.fasta"
PANEL_TABLE = "SIMULATED_cdv_h_panel.tsv"
SAMPLES_FASTA = "SIMULATED_H_sequences_full.fasta"
PARTIAL_FASTA = "SIMULATED_H_sequences_partial.fasta"
UNLINKED_ID = "CDVH-UNLINKED-FOX-2019"

LINEAGE_NAMES = {
    "L1": "Asia-1",
    "L2": "Europe",
    "L3": "Europe wildlife / America-2",
    "L4": "Southern Africa",
    "L5": "Arctic-like",
    "L6": "Caspian / South Asia",
    "L7": "Asia-2",
}
# residue 530 per lineage: published for L1/L2 (G), L5 (N), L7 (E); the others are invented
RESIDUE_530 = {"L1": "G", "L2": "G", "L3": "D", "L4": "N", "L5": "N", "L6": "S", "L7": "E"}
CODONS = {
    "G": ("GGC", "GGT", "GGA"),
    "N": ("AAC", "AAT"),
    "E": ("GAA", "GAG"),
    "D": ("GAC", "GAT"),
    "S": ("AGC", "TCT"),
    "Y": ("TAT", "TAC"),
    "H": ("CAT", "CAC"),
}
# (sublineage, country, year, host, residue 549): invented metadata in the shape of the scheme
PANEL = (
    ("L1.1", "CN", 2014, "raccoon dog", "Y"),
    ("L1.1", "CN", 2012, "red fox", "H"),
    ("L1.2", "JP", 1993, "dog", "Y"),
    ("L1.2", "CN", 2013, "Amur tiger", "Y"),
    ("L2.1", "DE", 1995, "dog", "Y"),
    ("L2.1", "DK", 2012, "red fox", "Y"),
    ("L2.2", "UY", 2008, "dog", "Y"),
    ("L3.1", "DE", 2007, "raccoon", "H"),
    ("L3.2", "TZ", 1994, "lion", "H"),
    ("L3.3", "US", 1976, "dog", "Y"),
    ("L4.1", "ZA", 2007, "dog", "Y"),
    ("L4.2", "ZA", 2008, "dog", "Y"),
    ("L5.1", "IT", 2013, "dog", "Y"),
    ("L5.1", "IT", 2015, "badger", "H"),
    ("L5.2", "US", 2004, "dog", "Y"),
    ("L5.2", "CN", 2005, "red fox", "Y"),
    ("L5.2", "RU", 2010, "Amur tiger", "H"),
    ("L5.3", "GL", 1988, "dog", "Y"),
    ("L6.1", "US", 1998, "raccoon", "Y"),
    ("L6.2", "KZ", 2007, "seal", "H"),
    ("L7.1", "JP", 1998, "dog", "Y"),
    ("L7.1", "KR", 1999, "marten", "Y"),
    ("L7.2", "CN", 2004, "dog", "Y"),
)
# p-distances added along the simulated tree
ROOT_TO_LINEAGE, LINEAGE_TO_SUBLINEAGE, SUBLINEAGE_TO_TIP = 0.035, 0.012, 0.006
REGIONAL_CLUSTER, SAMPLE_TIP, DIVERGENT_FROM_ROOT = 0.006, 0.004, 0.05
P_549H = {"domestic_dog": 0.10, "other": 0.45}


@dataclass(frozen=True)
class SimulatedSequence:
    seq_id: str
    seq: str
    description: str


def _random_orf(rng: np.random.Generator) -> str:
    sense = [
        a + b + c
        for a in "ACGT"
        for b in "ACGT"
        for c in "ACGT"
        if a + b + c not in ("TAA", "TAG", "TGA")
    ]
    codons = rng.choice(sense, size=PROTEIN_LENGTH - 1)
    return "ATG" + "".join(codons) + "TAA"


TRANSITIONS = {"A": "G", "G": "A", "C": "T", "T": "C"}


def mutate(seq: str, distance: float, rng: np.random.Generator) -> str:
    """Substitute ``distance`` x length sites (third codon positions 4x as often, transitions
    2x transversions), never touching the start/stop codon or creating a stop codon."""
    bases = list(seq)
    inner = np.arange(3, len(seq) - 3)
    weights = np.where(inner % 3 == 2, 4.0, 1.0)
    n = round(distance * len(seq))
    sites = rng.choice(inner, size=n, replace=False, p=weights / weights.sum())
    for site in sites:
        start = site - site % 3
        for _ in range(20):
            old = bases[site]
            if rng.random() < 2 / 3:
                new = TRANSITIONS[old]
            else:
                new = str(rng.choice([b for b in "ACGT" if b not in (old, TRANSITIONS[old])]))
            codon = "".join(bases[start : start + 3])
            codon = codon[: site - start] + new + codon[site - start + 1 :]
            if codon not in ("TAA", "TAG", "TGA"):
                bases[site] = new
                break
    return "".join(bases)


def set_residue(seq: str, position: int, amino_acid: str, rng: np.random.Generator) -> str:
    """Replace codon ``position`` (1-based) with a codon for ``amino_acid``."""
    start = 3 * (position - 1)
    codon = str(rng.choice(CODONS[amino_acid]))
    return seq[:start] + codon + seq[start + 3 :]


def simulate_panel(seed: int = DEFAULT_SEED) -> tuple[list[SimulatedSequence], pd.DataFrame, dict]:
    """The simulated reference panel, its lineage table, and the ancestors used for samples."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4, 0]))
    root = _random_orf(rng)
    lineages = sorted({sub.split(".")[0] for sub, *_ in PANEL})
    ancestors: dict[str, str] = {"root": root}
    for lineage in lineages:
        ancestors[lineage] = mutate(root, ROOT_TO_LINEAGE, rng)
    for sub in sorted({sub for sub, *_ in PANEL}):
        ancestors[sub] = mutate(ancestors[sub.split(".")[0]], LINEAGE_TO_SUBLINEAGE, rng)
    records, rows = [], []
    for number, (sub, country, year, host, r549) in enumerate(PANEL, start=1):
        lineage = sub.split(".")[0]
        seq = mutate(ancestors[sub], SUBLINEAGE_TO_TIP, rng)
        seq = set_residue(seq, 530, RESIDUE_530[lineage], rng)
        seq = set_residue(seq, 549, r549, rng)
        accession = f"SIM{number:04d}"
        host_tag = host.upper().replace(" ", ".")
        seq_id = f"{accession}|{lineage}|{sub}|{country}|{year}|{host_tag}"
        records.append(SimulatedSequence(seq_id, seq, f"{SIMULATED_NOTE}; lineage {sub} ({host})"))
        rows.append(
            {
                "seq_id": seq_id,
                "accession": accession,
                "lineage": lineage,
                "sublineage": sub,
                "name": LINEAGE_NAMES[lineage],
                "country": country,
                "year": year,
                "host": host,
                "note": "SIMULATED",
            }
        )
    return records, pd.DataFrame(rows), ancestors


def _sample_plan(samples: pd.DataFrame, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """(sequence_id, species, source) for every distinct sequence_id; dogs split across lineages."""
    linked = samples.loc[samples["sequence_id"].fillna("").astype(str) != ""]
    first = linked.drop_duplicates("sequence_id").sort_values("sequence_id")
    plan = []
    dog_sources = ["L5.2", "L1.2", "L7.1", "L5.2", "L1.1", "L5.2", "L7.1", "L1.2"]
    dogs = 0
    for row in first.itertuples(index=False):
        if row.species == "domestic_dog":
            source = dog_sources[dogs % len(dog_sources)]
            dogs += 1
        else:
            source = "regional"
        plan.append((str(row.sequence_id), str(row.species), source))
    # one non-dog sample is a divergent virus (possible new lineage)
    wild = [i for i, (_, species, _) in enumerate(plan) if species == "raccoon_dog"] or [
        i for i, (_, species, _) in enumerate(plan) if species != "domestic_dog"
    ]
    if wild:
        i = wild[int(rng.integers(len(wild)))]
        plan[i] = (plan[i][0], plan[i][1], "divergent")
    return plan


def simulate_samples(
    samples: pd.DataFrame, seed: int = DEFAULT_SEED
) -> tuple[list[SimulatedSequence], list[SimulatedSequence]]:
    """Full-length and partial simulated H sequences for the sheets' ``sequence_id`` values."""
    _, _, ancestors = simulate_panel(seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4, 1]))
    regional = mutate(ancestors["L5.2"], REGIONAL_CLUSTER, rng)
    plan = _sample_plan(samples, rng)
    plan.append((UNLINKED_ID, "red_fox", "regional"))
    eligible = [i for i, (_, _, source) in enumerate(plan[:-1]) if source != "divergent"]
    order = rng.permutation(eligible)
    partial_order = [plan[i][0] for i in order[:5]]
    partial = set(partial_order)
    ambiguous = plan[order[5]][0]
    full_records, partial_records = [], []
    for seq_id, species, source in plan:
        if source == "divergent":
            seq = mutate(ancestors["root"], DIVERGENT_FROM_ROOT, rng)
            lineage = "unassigned (divergent)"
        elif source == "regional":
            seq, lineage = mutate(regional, SAMPLE_TIP, rng), "L5 Arctic-like"
        else:
            lineage = f"{source.split('.')[0]} {LINEAGE_NAMES[source.split('.')[0]]}"
            seq = mutate(ancestors[source], SUBLINEAGE_TO_TIP + SAMPLE_TIP, rng)
        if source != "divergent":
            seq = set_residue(seq, 530, RESIDUE_530[lineage.split()[0]], rng)
        p_h = P_549H["domestic_dog" if species == "domestic_dog" else "other"]
        seq = set_residue(seq, 549, "H" if rng.random() < p_h else "Y", rng)
        notes = [f"host={species}", f"simulated_lineage={lineage.split()[0]}"]
        if seq_id == ambiguous:
            bases = list(seq)
            for site in rng.choice(np.arange(30, len(seq) - 30), size=7, replace=False):
                bases[site] = str(rng.choice(["N", "R", "Y"]))
            seq = "".join(bases)
            notes.append("ambiguous bases")
        if seq_id in partial:
            length = int(rng.integers(600, 901))
            # every other partial covers the SLAM-binding region (residues 530-549)
            lowest = 549 * 3 - length if partial_order.index(seq_id) % 2 else 0
            start = int(rng.integers(max(lowest, 0), len(seq) - length))
            seq = seq[start : start + length]
            notes.append(f"partial nt {start + 1}-{start + length}")
        description = f"{SIMULATED_NOTE}; " + "; ".join(notes)
        record = SimulatedSequence(seq_id, seq, description)
        (partial_records if seq_id in partial else full_records).append(record)
    return full_records, partial_records


def write_simulated(records: list[SimulatedSequence], path: str | Path) -> None:
    """FASTA of simulated sequences, each description saying SIMULATED."""
    write_fasta([(f"{r.seq_id} {r.description}", r.seq) for r in records], path)


def read_example_samples(config_dir: str | Path = "config") -> pd.DataFrame:
    """The example sheets in ``config_dir/samples`` after intake (sample_id, species, ...)."""
    from disease_risk.intake.harmonise import run_intake
    from disease_risk.intake.sheets import find_sheets

    config_dir = Path(config_dir)
    sheets = find_sheets(config_dir / "samples")
    layouts = config_dir / "sheet_layouts.yaml"
    result = run_intake(
        sheets,
        config_dir / "species.yaml",
        config_dir / "assays.yaml",
        layouts if layouts.exists() else None,
    )
    return result.samples


def write_example_sequences(
    config_dir: str | Path = "config", seed: int = DEFAULT_SEED
) -> list[Path]:
    """Write the simulated panel (config/references) and sample sequences (config/sequences)."""
    config_dir = Path(config_dir)
    panel, table, _ = simulate_panel(seed)
    full, partial = simulate_samples(read_example_samples(config_dir), seed)
    paths = [
        config_dir / "references" / PANEL_FASTA,
        config_dir / "references" / PANEL_TABLE,
        config_dir / "sequences" / SAMPLES_FASTA,
        config_dir / "sequences" / PARTIAL_FASTA,
    ]
    write_simulated(panel, paths[0])
    write_table(table, paths[1])
    write_simulated(full, paths[2])
    write_simulated(partial, paths[3])
    for folder, text in (("references", PANEL_README), ("sequences", SEQUENCES_README)):
        paths.append(config_dir / folder / "README.md")
        paths[-1].write_text(text, encoding="utf-8")
    return paths


PANEL_README = f"""# SIMULATED CDV H reference panel

`{PANEL_FASTA}` and `{PANEL_TABLE}` are **simulated** by `disease_risk/sequences/examples.py`
(`python -m disease_risk.sequences.examples`): invented 1824-nt H genes evolved along a tree shaped
like the L1-L7 lineage scheme, with residue 530 set to the published lineage pattern. They are not
real GenBank sequences and must not be used to type real samples. For real work, build a panel
from GenBank with `disease-risk fetch-references ACCESSION... --email you@example.org` and point
`sequences: reference_panel / reference_table` in `config/config.yaml` at it.
"""

SEQUENCES_README = """# SIMULATED example H sequences

The FASTA files here are **simulated** by `disease_risk/sequences/examples.py` (one sequence per
`sequence_id` in the example sheets of `config/samples/`, plus one that no sample refers to). They
are not real virus sequences. Drop real FASTA (.fasta .fa .fas .fna) or GenBank (.gb .gbk) files of
CDV H genes here; each record id must equal the `sequence_id` in the sample sheet.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", default="config")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    for path in write_example_sequences(args.config_dir, args.seed):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
