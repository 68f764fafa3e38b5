"""What the report shows: this run's tables, upstream figures and readable species names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from disease_risk.intake.registry import SpeciesRegistry, species_label


@dataclass(frozen=True)
class SpeciesNames:
    """Species key -> the name a reader knows, from the registry's ``common_name``
    (``config/species.yaml``). A released group ``<species>_released`` reads
    ``<common name> (released)``; a species without a common name reads as its key with
    spaces."""

    common: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_registry(cls, registry: SpeciesRegistry) -> SpeciesNames:
        """The names of a loaded species registry."""
        return cls(registry.labels())

    def __call__(self, species: str) -> str:
        return species_label(species, self.common)


@dataclass
class ReportData:
    """Everything the report shows; an evidence table may be None when its stage produced
    nothing. ``conclusions`` is the risk stage's verdict per target (overall risk, fit
    reliability, best option), which the report states rather than recomputes. ``dra`` is
    ``config/dra.yaml`` (problem description, implementation and review, communication);
    ``assumptions`` the risk stage's assumptions register; ``placeholder_hazards`` the hazards
    whose qualitative ratings are placeholders; ``scenario_labels`` scenario key -> name."""

    hazards: pd.DataFrame
    estimation: pd.DataFrame
    management: pd.DataFrame
    conclusions: pd.DataFrame
    prevalence: pd.DataFrame | None = None
    foi: pd.DataFrame | None = None
    diagnostics: pd.DataFrame | None = None
    lineages: pd.DataFrame | None = None
    network: pd.DataFrame | None = None
    transmission: pd.DataFrame | None = None
    calibration_fit: pd.DataFrame | None = None
    calibration_parameters: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    assumptions: pd.DataFrame | None = None
    surveillance: pd.DataFrame | None = None
    management_long_horizon: pd.DataFrame | None = None
    losses: pd.DataFrame | None = None
    passive_surveillance: pd.DataFrame | None = None
    camera_trap_densities: pd.DataFrame | None = None
    names: SpeciesNames = field(default_factory=SpeciesNames)
    dra: Mapping[str, Any] = field(default_factory=dict)
    placeholder_hazards: frozenset[str] = frozenset()
    scenario_labels: Mapping[str, str] = field(default_factory=dict)
    extra_figures: Mapping[str, bytes] = field(default_factory=dict)
    horizon_days: float | None = None
    study_map: Any = None  # disease_risk.report.study_map.MapLayers, when the run gives one

    def scenario(self, key: str) -> str:
        """A scenario's readable name (``scenario_labels``, else its key with spaces)."""
        return self.scenario_labels.get(str(key), str(key).replace("_", " "))
