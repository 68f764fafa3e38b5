"""Entry points of the intake stage: rule ``intake`` (sheets in, the three intake tables out)
and rule ``passive_surveillance`` (SMART patrol exports in, what rangers found out)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from disease_risk.config import ConfigFileError
from disease_risk.intake.field_common import FieldProblem, problems_frame
from disease_risk.intake.folder import NotRead
from disease_risk.intake.harmonise import IntakeError, run_intake, validate_samples, write_intake
from disease_risk.intake.registry import load_species_registry
from disease_risk.intake.smart_patrol import (
    is_smart_csv,
    is_smart_xml,
    load_category_map,
    patrol_tables,
    read_smart_csv,
    read_smart_xml,
)
from disease_risk.tables import (
    DOG_SIGHTING_COLUMNS,
    PASSIVE_SURVEILLANCE_COLUMNS,
    UNMAPPED_CATEGORY_COLUMNS,
    write_table,
)

log = logging.getLogger(__name__)


def drop_folder_sheets(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """The sheets to read, sorted as the drop folder lists them: the tracked inputs plus those
    Snakemake cannot name as inputs (``params["drop_folder"]["untracked_sheets"]``)."""
    untracked = params.get("drop_folder", {}).get("untracked_sheets", {})
    return [str(p) for p in sorted({Path(s) for s in [*inputs["sheets"], *untracked]})]


def intake(inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]):
    """Read every sheet, log warnings, write the tables or fail listing every problem.

    ``inputs``: sheets, species, assays, layouts, optionally hazards (the hazard list the
    assays' pathogens are checked against; default hazards.yaml beside the assays);
    ``outputs``: samples, rejected, summary;
    ``params``: strict, and drop_folder (:meth:`~disease_risk.intake.folder.DropFolder.params`:
    sheets with braces in their names, files not read). A failure also goes to the terminal
    (the log captures stderr).
    """
    sheets = drop_folder_sheets(inputs, params)
    not_read = [NotRead.from_param(n) for n in params.get("drop_folder", {}).get("not_read", [])]
    try:
        if not sheets:
            raise IntakeError("no sample sheets (.csv, .tsv, .xlsx) in the folder named by the "
                              "config key samples_dir; drop at least one sheet there"
                              + "".join(f"\n{n.where}: {n.reason}" for n in not_read))
        result = run_intake(sheets, inputs["species"], inputs["assays"], inputs["layouts"],
                            strict=bool(params["strict"]), not_read=not_read,
                            hazards_file=inputs.get("hazards"))
    except (IntakeError, ConfigFileError) as err:
        print(f"intake failed:\n{err}", file=sys.__stderr__)
        raise
    for warning in result.warnings:
        log.warning(warning)
    for note in result.notes:
        log.info("note: %s", note)
    if len(result.rejected):
        log.warning("rows not used and files not read (also in %s):\n%s", outputs["rejected"],
                    result.problem_text())
    validate_samples(result.samples)
    write_intake(result, outputs["samples"], outputs["rejected"], outputs["summary"])
    log.info("%d rows read from %d sheet(s) in %d file(s): %d accepted, %d rejected, %d exact "
             "duplicates; %d file(s) or worksheet(s) not read", result.rows_read,
             len(result.sources), len(sheets), result.accepted_rows, result.rejected_rows,
             result.duplicate_rows, len(result.listed_not_read))
    return result


def passive_surveillance(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, pd.DataFrame]:
    """Rule ``passive_surveillance``: every SMART patrol export (XML or observation query CSV)
    in the field data folder -> carcasses, sick animals and samples by event, species, place and
    month; free-roaming dog sightings by place and month; the categories not used with their
    counts; the problems (file, row, column, value, reason). Files that are not SMART exports
    are listed as problems, never skipped silently.

    ``inputs``: patrols (files), species, categories; ``outputs``: passive, dogs, not_used,
    problems."""
    registry = load_species_registry(inputs["species"])
    mapping = load_category_map(inputs["categories"])
    parts: dict[str, list[pd.DataFrame]] = {"passive": [], "dogs": [], "not_used": []}
    problems: list[FieldProblem] = []
    for file in sorted(str(f) for f in inputs["patrols"]):
        if is_smart_xml(file):
            rows = read_smart_xml(file)
        elif is_smart_csv(file, mapping):
            rows = read_smart_csv(file, mapping)
        else:
            problems.append(FieldProblem(file, None, "(file)", "", "not a SMART patrol XML or "
                                         "observation query CSV; not read"))
            continue
        result = patrol_tables(rows, registry, mapping, file)
        parts["passive"].append(result.passive_surveillance)
        parts["dogs"].append(result.dog_sightings)
        parts["not_used"].append(result.unmapped.assign(source_file=file))
        problems += result.problems
        log.info("%s: %d patrol(s), %d observation(s)", file, result.patrols,
                 len(result.observations))
    columns = {"passive": PASSIVE_SURVEILLANCE_COLUMNS, "dogs": DOG_SIGHTING_COLUMNS,
               "not_used": (*UNMAPPED_CATEGORY_COLUMNS, "source_file")}
    tables = {name: merged(frames, columns[name], name) for name, frames in parts.items()}
    tables["problems"] = problems_frame(problems)
    for name, table in tables.items():
        write_table(table, outputs[name])
    for problem in problems:
        log.warning("%s", problem)
    return tables


def merged(frames: list[pd.DataFrame], columns: tuple[str, ...], name: str) -> pd.DataFrame:
    """The files' tables as one, counts summed over files for the same key."""
    if not frames:
        return pd.DataFrame(columns=list(columns))
    table = pd.concat(frames, ignore_index=True)
    if name == "not_used":
        return table[list(columns)]
    counts = [c for c in columns if c in ("observations", "animals", "sightings", "dogs")]
    keys = [c for c in columns if c not in counts]
    return table.groupby(keys, sort=True, dropna=False)[counts].sum().reset_index()[list(columns)]
