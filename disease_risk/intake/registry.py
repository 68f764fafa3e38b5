"""Species registry, assay list and sheet layouts: the YAML files lab staff and analysts edit.

Each loader validates its file against the JSON schema in ``disease_risk/schemas/`` and raises
:class:`ConfigFileError` naming the file, the offending entry and what to change.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from disease_risk.config import ConfigFileError, read_yaml
from disease_risk.tables import RELEASED_SUFFIX

ROLES = ("target", "domestic", "reservoir", "prey")
_WHITESPACE = re.compile(r"\s+")


def normalise_name(value: str) -> str:
    """Key used to match names: NFC, case-folded, inner whitespace collapsed, ``_`` as space."""
    return _normalised_text(str(value))


@functools.lru_cache(maxsize=1 << 16)
def _normalised_text(text: str) -> str:
    """:func:`normalise_name` of a string, remembered: a sheet repeats a few names many times."""
    text = unicodedata.normalize("NFC", text).replace("_", " ").replace("\u00a0", " ")
    return _WHITESPACE.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class Species:
    """One registry entry."""

    key: str
    latin_name: str
    role: str
    common_name: str = ""
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpeciesRegistry:
    """Canonical species keyed by registry key, with a lookup from any accepted spelling."""

    species: dict[str, Species]
    lookup: dict[str, str] = field(repr=False)

    def resolve(self, name: str) -> Species | None:
        """The species a sheet's name refers to, or None if the registry does not know it."""
        key = self.lookup.get(normalise_name(name))
        return self.species[key] if key else None

    def keys(self) -> list[str]:
        return list(self.species)

    def roles(self) -> dict[str, str]:
        """Canonical key -> role."""
        return {k: s.role for k, s in self.species.items()}

    def labels(self) -> dict[str, str]:
        """Canonical key -> the name figures and reports show (common name, else the key
        spaced)."""
        return {k: s.common_name or k.replace("_", " ") for k, s in self.species.items()}


def species_label(species: str, labels: Mapping[str, str]) -> str:
    """A species value of a result table as readers know it (``labels`` from
    :meth:`SpeciesRegistry.labels`); a released group ``<key>_released`` says so."""
    species = str(species)
    if species in labels:
        return labels[species]
    base = species.removesuffix(RELEASED_SUFFIX)
    if base != species and base in labels:
        return f"{labels[base]} (released)"
    return species.replace("_", " ")


def load_species_registry(path: str | Path) -> SpeciesRegistry:
    """Read and validate ``config/species.yaml``; every spelling must point to one species."""
    data = read_yaml(path, "species.schema.yaml")
    species: dict[str, Species] = {}
    lookup: dict[str, str] = {}
    for key, entry in data["species"].items():
        item = Species(
            key=key,
            latin_name=entry["latin_name"],
            role=entry["role"],
            common_name=entry.get("common_name", ""),
            synonyms=tuple(entry.get("synonyms", [])),
        )
        species[key] = item
        for name in (key, item.latin_name, item.common_name, *item.synonyms):
            if not name:
                continue
            norm = normalise_name(name)
            if lookup.get(norm, key) != key:
                raise ConfigFileError(
                    f"{path}: the name {name!r} is listed for both {lookup[norm]!r} and {key!r};"
                    " remove it from one of them"
                )
            lookup[norm] = key
    return SpeciesRegistry(species=species, lookup=lookup)


@dataclass(frozen=True)
class BetaPrior:
    alpha: float
    beta: float
    source: str

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


@dataclass(frozen=True)
class Validation:
    """A panel of known positive and negative sera run on the assay."""

    positives_tested: int
    positives_detected: int
    negatives_tested: int
    negatives_negative: int
    source: str = ""


@dataclass(frozen=True)
class Assay:
    name: str
    kind: str
    sensitivity: BetaPrior
    specificity: BetaPrior
    positive_cutoff: float | None = None
    synonyms: tuple[str, ...] = ()
    validation: Validation | None = None
    pathogen: str = "cdv"  # hazard id of config/hazards.yaml whose antibodies the assay detects
    detection_targets: tuple[str, ...] = ()  # its WDDS names (hazards.yaml); the first is written


def hazard_detection_targets(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Hazard id -> its WDDS detection-target names, from ``config/hazards.yaml`` (validated
    against its schema)."""
    data = read_yaml(path, "hazards.schema.yaml")
    return {h["id"]: tuple(h.get("detection_targets", ())) for h in data["hazards"]}


def default_hazards_file(assays_file: str | Path) -> Path:
    """The hazard list an assay list is checked against when none is named: ``hazards.yaml``
    beside it (``config/``)."""
    return Path(assays_file).with_name("hazards.yaml")


def load_assays(path: str | Path, hazards_file: str | Path | None = None) -> dict[str, Assay]:
    """Read and validate ``config/assays.yaml``; returns assays keyed by their canonical name.

    Every assay's ``pathogen`` must be a hazard id of ``hazards_file`` (default: ``hazards.yaml``
    beside the assay list), so each result is tied to a hazard the DRA assesses.
    """
    data = read_yaml(path, "assays.schema.yaml")
    hazards_file = Path(hazards_file) if hazards_file else default_hazards_file(path)
    if not hazards_file.is_file():
        raise ConfigFileError(
            f"{path}: the assays' pathogens are checked against the hazard list, but "
            f"{hazards_file} does not exist; put hazards.yaml beside the assay list or name it "
            "(config key hazards_file)"
        )
    targets = hazard_detection_targets(hazards_file)
    assays: dict[str, Assay] = {}
    for entry in data["assays"]:
        name = entry["name"]
        if name in assays:
            raise ConfigFileError(f"{path}: assay {name!r} is listed twice; keep one entry")
        if entry["pathogen"] not in targets:
            raise ConfigFileError(
                f"{path}: assay {name!r}: pathogen {entry['pathogen']!r} is not a hazard id of "
                f"{hazards_file}; use one of {sorted(targets)} or add the hazard there"
            )
        validation = entry.get("validation")
        if validation:
            for pos, neg in (("positives_detected", "positives_tested"),
                             ("negatives_negative", "negatives_tested")):
                if validation[pos] > validation[neg]:
                    raise ConfigFileError(
                        f"{path}: assay {name!r} validation: {pos} ({validation[pos]}) exceeds "
                        f"{neg} ({validation[neg]})"
                    )
        if not targets[entry["pathogen"]]:
            raise ConfigFileError(
                f"{hazards_file}: hazard {entry['pathogen']!r} has an assay ({name!r} in {path}) "
                "but no detection_targets; list its names as a WDDS Detection target there "
                "(the first is what the WDDS export writes)"
            )
        assays[name] = Assay(
            name=name,
            kind=entry["kind"],
            positive_cutoff=entry.get("positive_cutoff"),
            synonyms=tuple(entry.get("synonyms", [])),
            sensitivity=BetaPrior(**entry["sensitivity"]),
            specificity=BetaPrior(**entry["specificity"]),
            validation=Validation(**validation) if validation else None,
            pathogen=entry["pathogen"],
            detection_targets=targets[entry["pathogen"]],
        )
    seen: dict[str, str] = {}
    for assay in assays.values():
        for name in (assay.name, *assay.synonyms):
            norm = normalise_name(name)
            if seen.get(norm, assay.name) != assay.name:
                raise ConfigFileError(
                    f"{path}: the name {name!r} is listed for both assays {seen[norm]!r} and "
                    f"{assay.name!r}; remove it from one of them"
                )
            seen[norm] = assay.name
    return assays


def assay_pathogens(assays: Mapping[str, Assay]) -> list[str]:
    """The pathogens the assay list tests for (sorted)."""
    return sorted({a.pathogen for a in assays.values()})


def resolve_assay(assays: dict[str, Assay], name: str) -> Assay | None:
    """The assay a sheet's name or synonym refers to, or None."""
    norm = normalise_name(name)
    for assay in assays.values():
        if norm in {normalise_name(n) for n in (assay.name, *assay.synonyms)}:
            return assay
    return None


@dataclass(frozen=True)
class SheetLayout:
    """How to read a sheet whose columns are not named the standard way."""

    name: str
    files: tuple[str, ...]
    columns: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    sample_id_prefix: str = ""
    description: str = ""

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name.casefold(), p.casefold()) for p in self.files)


def load_sheet_layouts(path: str | Path | None) -> list[SheetLayout]:
    """Read and validate ``config/sheet_layouts.yaml`` (None: no layouts)."""
    if path is None:
        return []
    data = read_yaml(path, "sheet_layouts.schema.yaml")
    return [
        SheetLayout(
            name=entry["name"],
            files=tuple(entry["files"]),
            columns=dict(entry.get("columns", {})),
            defaults={k: str(v) for k, v in entry.get("defaults", {}).items()},
            sample_id_prefix=entry.get("sample_id_prefix", ""),
            description=entry.get("description", ""),
        )
        for entry in data["layouts"]
    ]


def layout_for(layouts: list[SheetLayout], file_name: str) -> SheetLayout | None:
    """The first layout whose file patterns match ``file_name``."""
    return next((layout for layout in layouts if layout.matches(file_name)), None)
