"""Entry point of the intake stage (rule ``intake``): sheets in, the three intake tables out."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from disease_risk.config import ConfigFileError
from disease_risk.intake.harmonise import IntakeError, run_intake, validate_samples, write_intake

log = logging.getLogger(__name__)


def intake(inputs: Mapping[str, Any], outputs: Mapping[str, Any], params: Mapping[str, Any]):
    """Read every sheet, log warnings, write the tables or fail listing every problem.

    ``inputs``: sheets, species, assays, layouts; ``outputs``: samples, rejected, summary;
    ``params``: strict. A failure also goes to the terminal (the log captures stderr).
    """
    sheets = list(inputs["sheets"])
    try:
        if not sheets:
            raise IntakeError("no sample sheets (.csv, .tsv, .xlsx) in the folder named by the "
                              "config key samples_dir; drop at least one sheet there")
        result = run_intake(sheets, inputs["species"], inputs["assays"], inputs["layouts"],
                            strict=bool(params["strict"]))
    except (IntakeError, ConfigFileError) as err:
        print(f"intake failed:\n{err}", file=sys.__stderr__)
        raise
    for warning in result.warnings:
        log.warning(warning)
    if len(result.rejected):
        log.warning("rows not used (also in %s):\n%s", outputs["rejected"], result.problem_text())
    validate_samples(result.samples)
    write_intake(result, outputs["samples"], outputs["rejected"], outputs["summary"])
    log.info("%d rows read from %d sheet(s): %d accepted, %d rejected, %d exact duplicates",
             result.rows_read, len(sheets), result.accepted_rows, result.rejected_rows,
             result.duplicate_rows)
    return result
