"""Entry point of rule ``wdds_export``: samples.tsv -> WDDS disease_data.csv and
project_metadata.json (validated against the standard's schemas before anything is written)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from disease_risk.intake.registry import load_assays, load_species_registry
from disease_risk.share.wdds_export import detection_targets, disease_data, write_wdds
from disease_risk.tables import read_samples

log = logging.getLogger(__name__)


def wdds_export(inputs: Mapping[str, Any], outputs: Mapping[str, Any],
                params: Mapping[str, Any]) -> None:
    """``inputs``: samples, species, assays, hazards (each row's pathogen -> its WDDS detection
    target); ``outputs``: disease_data, project_metadata; ``params``: wdds (config
    ``share.wdds``: project_metadata)."""
    settings = params["wdds"]
    samples = read_samples(inputs["samples"],
                           required=("sample_id", "species", "assay", "pathogen"))
    targets = detection_targets(load_assays(inputs["assays"], inputs.get("hazards")))
    data = disease_data(samples, load_species_registry(inputs["species"]), targets)
    write_wdds(data, dict(settings["project_metadata"]), outputs["disease_data"],
               outputs["project_metadata"])
    log.info("%d accepted sample(s) written as WDDS to %s (valid against WDDS v1.0.6 "
             "disease_data.json and project_metadata.json)", len(data), outputs["disease_data"])
