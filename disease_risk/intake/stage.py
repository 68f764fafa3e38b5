"""Entry point of the intake stage (rule ``intake``): sheets in, the three intake tables out."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from disease_risk.config import ConfigFileError
from disease_risk.intake.folder import NotRead
from disease_risk.intake.harmonise import IntakeError, run_intake, validate_samples, write_intake

log = logging.getLogger(__name__)


def drop_folder_sheets(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """The sheets to read, sorted as the drop folder lists them: the tracked inputs plus those
    Snakemake cannot name as inputs (``params["drop_folder"]["untracked_sheets"]``)."""
    untracked = params.get("drop_folder", {}).get("untracked_sheets", {})
    return [str(p) for p in sorted({Path(s) for s in [*inputs["sheets"], *untracked]})]


def intake(inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]):
    """Read every sheet, log warnings, write the tables or fail listing every problem.

    ``inputs``: sheets, species, assays, layouts; ``outputs``: samples, rejected, summary;
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
                            strict=bool(params["strict"]), not_read=not_read)
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
