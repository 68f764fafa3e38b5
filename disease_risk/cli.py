"""The ``disease-risk`` console command.

Each subcommand is one ``_add_<name>(subparsers)`` function that registers its parser and sets
``func`` (called with the parsed arguments, returns the exit status). To add a subcommand, write
such a function and append it to :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from disease_risk.seeds import DEFAULT_SEED

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"


def _config_default(name: str) -> str:
    """``config/<name>`` in the working directory if present, else the repository's copy."""
    local = Path("config") / name
    return str(local if local.exists() else REPO_CONFIG / name)


# ----------------------------------------------------------------------------- check

def _add_check(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate sample sheets before dropping them into config/samples",
        description="Run the pipeline's intake validation on SHEETs and list every problem "
        "(file, row, column, value, fix), every worksheet and every file of a folder that is "
        "not read. Exit status 0 when clean, 1 when there are problems.",
    )
    parser.add_argument("sheets", nargs="+", metavar="SHEET",
                        help=".csv, .tsv or .xlsx sheet, or a folder of them")
    parser.add_argument("--species-file", default=_config_default("species.yaml"))
    parser.add_argument("--assays-file", default=_config_default("assays.yaml"))
    parser.add_argument("--layouts-file", default=_config_default("sheet_layouts.yaml"),
                        help="sheet layouts for non-standard sheets ('' for none)")
    parser.set_defaults(func=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from disease_risk.intake.check import check
    from disease_risk.intake.folder import scan_drop_folder
    from disease_risk.intake.harmonise import ConfigFileError
    from disease_risk.intake.sheets import SheetError

    sheets, not_read = [], []
    try:
        for given in args.sheets:
            if Path(given).is_dir():
                folder = scan_drop_folder(given)
                sheets += folder.sheets
                not_read += folder.not_read
            else:
                sheets.append(Path(given))
        outcome = check(sheets, args.species_file, args.assays_file, args.layouts_file or None,
                        not_read)
    except (ConfigFileError, SheetError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(outcome.text)
    return 0 if outcome.clean else 1


# ----------------------------------------------------------------------------- template

def _add_template(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "template",
        help="write an empty sample sheet with the right columns and an example row",
    )
    parser.add_argument("output", nargs="?", default="sample_sheet_template.csv",
                        help="file to write (.csv, .tsv or .xlsx; default %(default)s)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(func=_run_template)


def _run_template(args: argparse.Namespace) -> int:
    from disease_risk.intake.sheets import write_template

    path = Path(args.output)
    if path.exists() and not args.force:
        print(f"error: {path} exists; choose another name or add --force", file=sys.stderr)
        return 1
    try:
        write_template(path)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {path}: fill in one row per sample and delete the EXAMPLE row")
    return 0


# ----------------------------------------------------------------------------- example data

def _add_make_example_data(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "make-example-data",
        help="regenerate the simulated example sample sheets (seeded, reproducible)",
    )
    parser.add_argument("--out", default="config/samples", help="folder (default %(default)s)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: the package's fixed example seed)")
    parser.set_defaults(func=_run_make_example_data)


def _run_make_example_data(args: argparse.Namespace) -> int:
    from disease_risk.intake.examples import write_example_sheets

    paths = write_example_sheets(args.out, DEFAULT_SEED if args.seed is None else args.seed)
    for path in paths:
        print(f"wrote {path}")
    return 0


# ----------------------------------------------------------------------------- references

def _add_fetch_references(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fetch-references",
        help="download CDV H reference genes from GenBank into a labelled panel (needs internet)",
        description="Download GenBank records with Bio.Entrez and write OUT.fasta (H genes) and "
        "OUT.tsv (lineage table). Give lineages as ACCESSION=L5.2, or fill in the table's "
        "lineage column afterwards; then point sequences: reference_panel/reference_table in "
        "config/config.yaml at the two files.",
    )
    parser.add_argument("accessions", nargs="+", metavar="ACCESSION[=LINEAGE]",
                        help="GenBank accession, optionally with its lineage, e.g. KJ848781.1=L1.1")
    parser.add_argument("--email", default=os.environ.get("NCBI_EMAIL", ""),
                        help="contact e-mail NCBI asks for (default: $NCBI_EMAIL)")
    parser.add_argument("--api-key", default=os.environ.get("NCBI_API_KEY"),
                        help="NCBI API key (optional; default: $NCBI_API_KEY)")
    parser.add_argument("--out", default="config/references/genbank_panel",
                        help="output prefix; writes PREFIX.fasta and PREFIX.tsv "
                        "(default %(default)s)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(func=_run_fetch_references)


def _run_fetch_references(args: argparse.Namespace) -> int:
    from disease_risk.sequences.references import ReferenceFetchError, fetch_references

    fasta, table = f"{args.out}.fasta", f"{args.out}.tsv"
    try:
        rows = fetch_references(args.accessions, args.email, fasta, table,
                                api_key=args.api_key, overwrite=args.force)
    except ReferenceFetchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {fasta} and {table} ({len(rows)} references)")
    unlabelled = rows.loc[rows["lineage"] == "", "accession"].tolist()
    if unlabelled:
        print(f"fill in the lineage column of {table} for: {', '.join(unlabelled)}")
    return 0


# ----------------------------------------------------------------------------- network

def _add_network(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "network",
        help="check a contact-network config (and its location table) and print its summary",
        description="Build the contact network from NETWORK_FILE as the pipeline would and print "
        "nodes, edges, mean degree per species, edges between species and the share of leopards "
        "with a path to a dog. Exit status 2 on a bad config or location table.",
    )
    parser.add_argument("network_file", nargs="?", default=_config_default("network.yaml"))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default %(default)s")
    parser.add_argument("--graphml", default=None, help="also write the network to this file")
    parser.set_defaults(func=_run_network)


def _run_network(args: argparse.Namespace) -> int:
    from disease_risk.transmission.contact_network import NetworkInputError, network_summary
    from disease_risk.transmission.network_files import network_from_config, write_graphml

    try:
        network = network_from_config(args.network_file, args.seed)
    except NetworkInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(network_summary(network).to_string(index=False))
    if args.graphml:
        write_graphml(network, args.graphml)
        print(f"wrote {args.graphml}")
    return 0


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_check,
    _add_template,
    _add_make_example_data,
    _add_fetch_references,
    _add_network,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="disease-risk",
        description="Canine distemper risk to Amur leopards and tigers: helper commands. "
        "The pipeline itself runs with `make run` (Snakemake).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
