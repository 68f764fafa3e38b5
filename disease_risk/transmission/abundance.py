"""Wildlife densities from camera traps: the random encounter model (REM).

Rowcliffe et al. 2008 (Journal of Applied Ecology 45:1228-1236): animals at density ``D`` that
travel ``v`` km a day past a camera whose detection zone is a sector of radius ``r`` and angle
``theta`` are detected at the rate ``y / t = D v w``, where ``w = r (2 + theta) / pi`` is the
zone's width averaged over the directions animals come from (its perimeter over pi, Cauchy's
formula for a convex shape). So ``D = (y / t) / (v w)``. The 95% interval comes from a bootstrap
over cameras, which Rowcliffe et al. use because encounter rates vary between camera places.

Unidentified detections are the encounters (an identified animal is placed in the network by its
own detections). A density is used only with at least ``min_detections`` detections: with ``y``
Poisson counts the coefficient of variation is at least ``1 / sqrt(y)`` (0.22 at 20), and an
absent or rare detection says little about an animal that avoids cameras.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from disease_risk.tables import CAMERA_DENSITY_COLUMNS
from disease_risk.transmission.contact_network import DOG

DEFAULT_MIN_DETECTIONS = 20
DEFAULT_BOOTSTRAP = 1000


def detection_zone_width(radius_km: float, angle_rad: float) -> float:
    """Mean width (km) of a sector-shaped detection zone across directions of travel."""
    return radius_km * (2 + angle_rad) / math.pi


def rem_density(
    detections: float, camera_days: float, day_range_km: float, radius_km: float,
    angle_rad: float,
) -> float:
    """Animals per km2 from ``detections`` in ``camera_days`` (Rowcliffe et al. 2008)."""
    return detections / camera_days / (day_range_km * detection_zone_width(radius_km, angle_rad))


@dataclass(frozen=True)
class DensitySettings:
    """``camera_trap_densities`` of config/network.yaml: detection zone and day ranges."""

    radius_km: float
    angle_deg: float
    day_range_km: Mapping[str, float]
    min_detections: int = DEFAULT_MIN_DETECTIONS
    bootstrap: int = DEFAULT_BOOTSTRAP
    source: str = ""

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> DensitySettings:
        return cls(
            radius_km=float(section["detection_radius_km"]),
            angle_deg=float(section["detection_angle_deg"]),
            day_range_km={k: float(v) for k, v in section["day_range_km"].items()},
            min_detections=int(section.get("min_detections", DEFAULT_MIN_DETECTIONS)),
            bootstrap=int(section.get("bootstrap", DEFAULT_BOOTSTRAP)),
            source=str(section.get("source", "")),
        )

    @property
    def angle_rad(self) -> float:
        return math.radians(self.angle_deg)


def _row(species: str, configured: Any, **values: Any) -> dict[str, Any]:
    empty = dict.fromkeys(CAMERA_DENSITY_COLUMNS, np.nan)
    return {**empty, "species": species, "configured_density_per_km2": configured, **values}


def _not_modelled(species: str) -> str:
    if species == DOG:
        return "dogs are placed by settlement (network.yaml sites), not by density"
    return "not a wildlife population of the network"


def camera_trap_densities(
    encounters: pd.DataFrame,
    effort: pd.Series,
    populations: Mapping[str, Mapping[str, Any]],
    settings: DensitySettings,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per species with a day range or with unidentified detections: the REM density,
    its bootstrap 95% interval over cameras, and whether the network uses it (and why not).

    ``encounters``: ``deployment_id, species, detections`` (unidentified detections);
    ``effort``: camera-days per deployment (every deployment, those without detections too);
    ``populations``: the network's wildlife populations (a density replaces their configured
    ``density_per_km2``; a population given as a ``count`` keeps it).
    """
    cameras = effort.index.to_numpy()
    days = effort.to_numpy(dtype=float)
    width = detection_zone_width(settings.radius_km, settings.angle_rad)
    draws = rng.integers(0, len(cameras), size=(settings.bootstrap, len(cameras)))
    species_seen = set(encounters["species"]) - {""}
    rows = []
    for species in sorted(species_seen | set(settings.day_range_km)):
        block = populations.get(species, {})
        configured = block.get("density_per_km2", np.nan)
        counts = (
            encounters[encounters["species"] == species]
            .groupby("deployment_id")["detections"].sum()
            .reindex(cameras, fill_value=0).to_numpy(dtype=float)
        )
        seen = {
            "cameras": len(cameras), "camera_days": days.sum(), "detections": int(counts.sum()),
            "detections_per_100_days": 100 * counts.sum() / days.sum(),
        }
        if species not in settings.day_range_km:
            reason = ("no day range in camera_trap_densities.day_range_km" if species in populations
                      else _not_modelled(species))
            rows.append(_row(species, configured, **seen, used="no", reason=reason))
            continue
        v = settings.day_range_km[species]
        density = counts.sum() / days.sum() / (v * width)
        boot = counts[draws].sum(axis=1) / days[draws].sum(axis=1) / (v * width)
        lo, hi = np.quantile(boot, [0.025, 0.975])
        if species not in populations:
            used, reason = "no", _not_modelled(species)
        elif "count" in block:
            used, reason = "no", "the population is given as a count in network.yaml"
        elif counts.sum() < settings.min_detections:
            used, reason = "no", (f"{int(counts.sum())} detection(s), fewer than "
                                  f"min_detections ({settings.min_detections}): the configured "
                                  "density is kept")
        else:
            used, reason = "yes", "random encounter model (Rowcliffe et al. 2008)"
        rows.append(_row(
            species, configured, **seen, day_range_km=v, density_per_km2=density,
            density_lo95=lo, density_hi95=hi, used=used, reason=reason,
        ))
    return pd.DataFrame(rows, columns=list(CAMERA_DENSITY_COLUMNS))


def with_camera_densities(
    network_config: Mapping[str, Any], densities: pd.DataFrame | None, what: str = ""
) -> dict[str, Any]:
    """A copy of the network config whose populations take the densities marked ``used``;
    their ``source`` says so (the sensitivity analysis scales these densities)."""
    config = copy.deepcopy(dict(network_config))
    if densities is None or densities.empty:
        return config
    for row in densities[densities["used"] == "yes"].itertuples():
        block = config["populations"][row.species]
        block["density_per_km2"] = float(row.density_per_km2)
        block["source"] = (
            f"camera traps{f' ({what})' if what else ''}: {row.detections} detections in "
            f"{row.camera_days:.0f} camera-days, random encounter model (Rowcliffe et al. 2008) "
            f"with a day range of {row.day_range_km:g} km; 95% interval "
            f"{row.density_lo95:.3g}-{row.density_hi95:.3g} per km2"
        )
    return config
