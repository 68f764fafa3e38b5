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
        help="validate sample sheets (or camera-trap, collar, patrol files) before using them",
        description="Run the pipeline's intake validation on SHEETs and list every problem "
        "(file, row, column, value, fix), every worksheet and every file of a folder that is "
        "not read. Exit status 0 when clean, 1 when there are problems.",
    )
    parser.add_argument("sheets", nargs="+", metavar="SHEET",
                        help=".csv, .tsv or .xlsx sheet (also in WDDS columns), or a folder of "
                        "them; or field data: a Camtrap DP package (folder or datapackage.json), "
                        "a Movebank GPS CSV, a SMART patrol XML or observation query CSV")
    parser.add_argument("--species-file", default=_config_default("species.yaml"))
    parser.add_argument("--assays-file", default=_config_default("assays.yaml"))
    parser.add_argument("--layouts-file", default=_config_default("sheet_layouts.yaml"),
                        help="sheet layouts for non-standard sheets ('' for none)")
    parser.add_argument("--smart-categories-file",
                        default=_config_default("smart_categories.yaml"),
                        help="SMART observation categories -> surveillance events")
    parser.add_argument("--camtrap-schemas", default=None,
                        help="folder with the Camtrap DP profile and table schemas (default: "
                        "config field_data: camtrap_dp_schemas, else the copies shipped in the "
                        "package; no internet needed)")
    parser.set_defaults(func=_run_check)


def _camtrap_schemas_default() -> str:
    """``field_data: camtrap_dp_schemas`` of the config (``""``: the shipped schemas)."""
    import yaml

    try:
        config = yaml.safe_load(Path(_config_default("config.yaml")).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return ""
    return str(((config or {}).get("field_data") or {}).get("camtrap_dp_schemas") or "")


def _run_check(args: argparse.Namespace) -> int:
    from disease_risk.intake.check import check, check_field_file
    from disease_risk.intake.folder import scan_drop_folder
    from disease_risk.intake.harmonise import ConfigFileError
    from disease_risk.intake.sheets import SheetError

    sheets, not_read, field = [], [], []
    schemas = _camtrap_schemas_default() if args.camtrap_schemas is None else args.camtrap_schemas
    try:
        for given in args.sheets:
            found = check_field_file(given, args.species_file, args.smart_categories_file,
                                     schemas or None)
            if found is not None:
                field.append(found)
            elif Path(given).is_dir():
                folder = scan_drop_folder(given)
                sheets += folder.sheets
                not_read += folder.not_read
            else:
                sheets.append(Path(given))
        outcome = check(sheets, args.species_file, args.assays_file, args.layouts_file or None,
                        not_read) if sheets or not_read or not field else None
    except (ConfigFileError, SheetError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for found in field:
        print(found.text)
    if outcome is not None:
        print(outcome.text)
    elif all(f.clean for f in field):
        print("all field data files are clean")
    clean = all(f.clean for f in field) and (outcome is None or outcome.clean)
    return 0 if clean else 1


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
    parser.add_argument("--species", default=_config_default("species.yaml"),
                        help="species registry, to read a Camtrap DP or Movebank location file "
                        "(default %(default)s)")
    parser.set_defaults(func=_run_network)


def _run_network(args: argparse.Namespace) -> int:
    from disease_risk.intake.registry import load_species_registry
    from disease_risk.transmission.contact_network import NetworkInputError, network_summary
    from disease_risk.transmission.network_files import network_from_config, write_graphml

    try:
        network = network_from_config(
            args.network_file, args.seed, load_species_registry(args.species)
        )
    except NetworkInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(network_summary(network).to_string(index=False))
    if args.graphml:
        write_graphml(network, args.graphml)
        print(f"wrote {args.graphml}")
    return 0


# ----------------------------------------------------------------------------- sample size

def _proportion_arg(text: str) -> float:
    """A proportion as ``0.05`` or ``5%`` (range checks are the surveillance module's)."""
    try:
        return float(text[:-1]) / 100 if text.strip().endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a proportion such as 0.05 (or 5%); got {text!r}") from None


def _count_arg(text: str) -> int:
    """A whole number of animals."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of animals, e.g. 120; got {text!r}") from None


# Options each mode of ``sample-size`` uses (dest names); any other one given is an error.
_SAMPLE_SIZE_MODES: dict[str, tuple[set[str], set[str]]] = {  # mode: (required, optional)
    "freedom": ({"design_prevalence", "confidence"},
                {"sensitivity", "specificity", "population", "min_group_specificity"}),
    "precision": ({"precision", "expected_prevalence", "confidence"},
                  {"sensitivity", "specificity", "population"}),
    "screening": ({"negative_tests", "design_prevalence"},
                  {"sensitivity", "specificity", "population", "prior_infection"}),
}
_SAMPLE_SIZE_HINTS = {
    "design_prevalence": "the smallest prevalence to detect, e.g. 0.05",
    "confidence": "e.g. 0.95",
    "expected_prevalence": "your best guess of the true prevalence, e.g. 0.2",
}


def _add_sample_size(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample-size",
        help="surveillance design: animals to test for freedom from CDV or to estimate a "
        "prevalence; probability of freedom after negative tests",
        description="Three questions; the answer is on the last line. (1) Freedom: how many "
        "animals to test to detect CDV at --design-prevalence with --confidence (binomial for a "
        "large or unknown population; exact hypergeometric with --population; with "
        "--specificity below 1 the group is called infected at a cut-point number of positives "
        "keeping the group specificity >= --min-group-specificity, Cameron & Baldock 1998). "
        "(2) --precision D --expected-prevalence P: how many to estimate a true prevalence to "
        "+/- D with an imperfect test (Humphry et al. 2004; epiR epi.sssimpleestb). "
        "(3) --negative-tests N: after N animals all tested negative (pre-release screening), "
        "the confidence of freedom at --design-prevalence and the probability that the group is "
        "free given --prior-infection (Martin et al. 2007; RSurveillance pfree.1). Proportions "
        "may be written 0.05 or 5%.",
    )
    parser.add_argument("--design-prevalence", type=_proportion_arg, metavar="P",
                        help="prevalence to detect if CDV is present (freedom, screening)")
    parser.add_argument("--confidence", type=_proportion_arg, metavar="C",
                        help="wanted probability of detection (freedom) or confidence level of "
                        "the interval (precision), e.g. 0.95")
    parser.add_argument("--sensitivity", type=_proportion_arg, metavar="SE",
                        help="test sensitivity per animal (default 1)")
    parser.add_argument("--specificity", type=_proportion_arg, metavar="SP",
                        help="test specificity per animal (default 1)")
    parser.add_argument("--population", type=_count_arg, metavar="N",
                        help="animals in the population or group (default: large or unknown)")
    parser.add_argument("--min-group-specificity", type=_proportion_arg, metavar="SPH",
                        help="freedom with specificity < 1: lowest acceptable probability of "
                        "calling a free group free (default 0.95)")
    parser.add_argument("--precision", type=_proportion_arg, metavar="D",
                        help="estimate a prevalence to +/- D (absolute), e.g. 0.05")
    parser.add_argument("--expected-prevalence", type=_proportion_arg, metavar="P",
                        help="with --precision: the expected true prevalence")
    parser.add_argument("--negative-tests", type=_count_arg, metavar="N",
                        help="probability of freedom after N animals all tested negative")
    parser.add_argument("--prior-infection", type=_proportion_arg, metavar="Q",
                        help="with --negative-tests: probability, before testing, that the group "
                        "is infected at the design prevalence (default 0.5)")
    parser.set_defaults(func=_run_sample_size)


def _sample_size_usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of options given, or None."""
    if args.precision is not None and args.negative_tests is not None:
        return ("--precision and --negative-tests ask different questions; give one of them "
                "(or neither, for the freedom sample size)")
    mode = ("precision" if args.precision is not None
            else "screening" if args.negative_tests is not None else "freedom")
    required, optional = _SAMPLE_SIZE_MODES[mode]
    every = set().union(*(r | o for r, o in _SAMPLE_SIZE_MODES.values()))
    what = {"freedom": "the freedom sample size", "precision": "--precision",
            "screening": "--negative-tests"}[mode]
    for dest in sorted(every - required - optional):
        if getattr(args, dest) is not None:
            return f"--{dest.replace('_', '-')} is not used with {what}; leave it out"
    for dest in sorted(required):
        if getattr(args, dest) is None:
            hint = _SAMPLE_SIZE_HINTS.get(dest)
            return (f"--{dest.replace('_', '-')} is needed for {what}"
                    + (f" ({hint})" if hint else ""))
    return None


def _population_words(population: int | None, infected: int | None, method: str) -> str:
    if population is None:
        return f"population: large or unknown ({method})"
    return (f"population: {population} animals, {infected} of them infected at the design "
            f"prevalence ({method})")


def _run_sample_size(args: argparse.Namespace) -> int:
    from disease_risk.risk import surveillance as sv

    problem = _sample_size_usage_error(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    se = 1.0 if args.sensitivity is None else args.sensitivity
    sp = 1.0 if args.specificity is None else args.specificity
    test = f"test: sensitivity {se:g}, specificity {sp:g}"
    try:
        if args.precision is not None:
            n = sv.prevalence_sample_size(args.expected_prevalence, args.precision,
                                          args.confidence, se, sp, args.population)
            apparent = se * args.expected_prevalence + (1 - sp) * (1 - args.expected_prevalence)
            print(f"estimate the true prevalence to +/- {args.precision:g} with "
                  f"{args.confidence:g} confidence (Humphry et al. 2004, equation 2)")
            print(f"{test}; expected true prevalence {args.expected_prevalence:g}, apparent "
                  f"{apparent:.4g}")
            print("population: large or unknown" if args.population is None else
                  f"population: {args.population} animals (finite population correction)")
            print("animals to test:")
            print(n)
        elif args.negative_tests is not None:
            prior = 0.5 if args.prior_infection is None else args.prior_infection
            ev = sv.probability_of_freedom(args.negative_tests, args.design_prevalence, prior,
                                           se, sp, args.population)
            method = "binomial" if args.population is None else "exact hypergeometric"
            print(f"{args.negative_tests} animals tested, all negative; {test}")
            print(_population_words(args.population, ev.infected, method))
            print(f"confidence of freedom at design prevalence {args.design_prevalence:g} "
                  f"(probability of at least one positive had CDV been there): "
                  f"{ev.confidence:.4f}")
            print(f"prior probability of infection: {prior:g}"
                  + (" (default; set --prior-infection)" if args.prior_infection is None else ""))
            print("probability the group is free of CDV (Martin et al. 2007):")
            print(f"{ev.probability_free:.4f}")
        else:
            min_sph = 0.95 if args.min_group_specificity is None else args.min_group_specificity
            design = sv.freedom_sample_size(args.design_prevalence, args.confidence, se, sp,
                                            args.population, min_sph)
            method = "binomial" if args.population is None else "exact hypergeometric"
            print(f"freedom from CDV: detect it at design prevalence "
                  f"{args.design_prevalence:g} with {args.confidence:g} confidence; {test}")
            print(_population_words(args.population, design.infected, method))
            if sp < 1:
                print(f"call the group infected at {design.cut_point} or more positives "
                      f"(cut-point approach, Cameron & Baldock 1998); group specificity "
                      f"{design.group_specificity:.4f} (minimum {min_sph:g})")
            print(f"group sensitivity with {design.sample_size} animals: "
                  f"{design.group_sensitivity:.4f}")
            if args.population is not None and sp == 1:
                approx = sv.macdiarmid_sample_size(args.confidence, args.population,
                                                   design.infected or 1, se)
                print(f"(MacDiarmid 1988 approximation, as in Epitools and RSurveillance "
                      f"n.hypergeo: {approx if approx is not None else 'more than N'})")
            print("animals to test:")
            print(design.sample_size)
    except sv.SurveillanceInputError as err:
        print(f"error: --{err.parameter.replace('_', '-')} {err.problem}", file=sys.stderr)
        return 2
    return 0


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_check,
    _add_template,
    _add_make_example_data,
    _add_fetch_references,
    _add_network,
    _add_sample_size,
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
