# Sequence typing: CDV H sequences in sequences_dir -> lineage, markers, QC; tree with references.
# Sequence files are the FASTA/GenBank files of sequences_dir (others are listed in the log).
# Entry points: disease_risk/sequences/stage.py.
from disease_risk.sequences.reading import list_sequence_files


rule sequence_typing:
    conda:
        "../envs/disease_risk.yaml"
    input:
        samples=rules.intake.output.samples,
        sequences=lambda wildcards: [
            str(p) for p in list_sequence_files(config["sequences"]["sequences_dir"])[0]
        ],
        panel=config["sequences"]["reference_panel"],
        panel_table=config["sequences"]["reference_table"],
    output:
        lineages=report(
            "results/sequences/lineages.tsv",
            caption="../report/lineages.rst",
            category="Sequence typing",
        ),
        unmatched=report(
            "results/sequences/unmatched.tsv",
            caption="../report/sequences_unmatched.rst",
            category="Sequence typing",
        ),
        aligned="results/sequences/aligned.fasta",
    params:
        settings=config["sequences"],
        strict=STRICT,
    log:
        "results/logs/sequences/sequence_typing.log",
    resources:
        mem_mb=1000,
        runtime=15,
    script:
        "../scripts/sequence_typing.py"


rule sequence_tree:
    localrule: True
    conda:
        "../envs/disease_risk.yaml"
    input:
        aligned=rules.sequence_typing.output.aligned,
    output:
        tree="results/sequences/tree.nwk",
        distances="results/sequences/distances.tsv",
        png=report(
            "results/sequences/tree.png",
            caption="../report/sequence_tree.rst",
            category="Sequence typing",
        ),
    params:
        min_overlap=config["sequences"].get("min_tree_overlap", 150),
    log:
        "results/logs/sequences/sequence_tree.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/sequence_tree.py"


FINAL_OUTPUTS += [
    rules.sequence_typing.output.lineages,
    rules.sequence_typing.output.unmatched,
    rules.sequence_tree.output.tree,
    rules.sequence_tree.output.png,
]
