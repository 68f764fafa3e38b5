"""Sequences stage: CDV haemagglutinin (H) genes -> lineage calls, marker residues, QC and a tree.

Modules, in the order the data flows:

- :mod:`.reading`: sequence files -> checked records and named rejections; the FASTA writer.
- :mod:`.alignment`: alignment to the H frame, identity, frame projection, residues and stops.
- :mod:`.panel`: the labelled reference panel and its frame reference.
- :mod:`.lineage_typing`: nearest reference, lineage call, QC flags and markers per sequence.
- :mod:`.lineage_spread`: the per-lineage spread rule behind each call ("possible new lineage").
- :mod:`.calibration`: leave-one-out / leave-one-lineage-out runs that calibrate that rule.
- :mod:`.accessions`: GenBank accessions in ids (``X`` and ``X.1`` are one accession).
- :mod:`.linking`: calls linked to samples by ``sequence_id``; the unmatched table.
- :mod:`.aligned_io`: ``aligned.fasta``, the hand-over from typing to the tree.
- :mod:`.tree`: JC69 distances, the neighbour-joining tree and its drawing.
- :mod:`.stage`: entry points of the rules ``sequence_typing`` and ``sequence_tree``.
- :mod:`.references`: a reference panel from GenBank (``disease-risk fetch-references``).
- :mod:`.examples`: the SIMULATED example panel and sequences.
"""
