"""Wildlife densities from camera traps (random encounter model, issue 15).

The model's detection rate is checked against animals simulated walking past a camera, with
the exact expected count from integral geometry; the table's choices (used or not, and why) on
synthetic encounters; and the whole path on the shared Camtrap DP example.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from disease_risk.transmission.abundance import (
    DensitySettings,
    camera_trap_densities,
    detection_zone_width,
    rem_density,
    with_camera_densities,
)
from disease_risk.transmission.contact_network import population_sizes


def _sector_polygon(radius: float, angle: float, points: int = 2000) -> np.ndarray:
    arc = np.linspace(-angle / 2, angle / 2, points)
    return np.vstack([[0.0, 0.0], np.c_[radius * np.cos(arc), radius * np.sin(arc)]])


@pytest.mark.parametrize("angle_deg", [20, 40, 90, 180])
def test_zone_width_is_the_sectors_mean_projected_width(angle_deg):
    """Averaged over directions, a sector's width is r (2 + theta) / pi (REM's profile)."""
    radius, angle = 0.01, math.radians(angle_deg)
    corners = _sector_polygon(radius, angle)
    directions = np.linspace(0, np.pi, 20000, endpoint=False)
    unit = np.c_[np.cos(directions), np.sin(directions)]
    projected = corners @ unit.T
    mean_width = float((projected.max(axis=0) - projected.min(axis=0)).mean())
    assert mean_width == pytest.approx(detection_zone_width(radius, angle), rel=1e-4)
    assert mean_width != pytest.approx(2 * radius / math.pi, rel=0.05)  # the angle matters


def _paths_detected(starts, headings, length, radius, angle, step):
    """Which straight paths pass through the sector (apex at the origin, facing +x)."""
    ends = starts + length * np.c_[np.cos(headings), np.sin(headings)]
    seg = ends - starts
    t = np.clip(-(starts * seg).sum(axis=1) / (seg * seg).sum(axis=1), 0, 1)
    closest = starts + t[:, None] * seg
    near = np.flatnonzero(np.hypot(*closest.T) <= radius)  # may reach the zone
    hit = np.zeros(len(starts), dtype=bool)
    s = np.arange(0, length + step, step) / length
    for i in near:
        pts = starts[i] + np.minimum(s, 1)[:, None] * seg[i]
        bearing = np.abs(np.arctan2(pts[:, 1], pts[:, 0]))
        inside = (np.hypot(*pts.T) <= radius) & (bearing <= angle / 2)
        hit[i] = inside.any()
    return hit


def test_random_encounter_model_recovers_simulated_density():
    """Animals walking straight lines past one camera: their detections match the exact
    expectation (Steiner: zone area + path length x mean width, over the area), and the REM
    estimate from them is the true density within Poisson error."""
    rng = np.random.default_rng(20261205)
    side, radius, angle = 1.0, 0.02, math.radians(40)
    day_range, days = 0.3, 1.0  # each path is one day's straight walk
    n = 200_000
    starts = rng.uniform(-side / 2, side / 2, size=(n, 2))
    headings = rng.uniform(0, 2 * np.pi, n)
    hit = _paths_detected(starts, headings, day_range * days, radius, angle, radius / 400)
    zone_area = angle / 2 * radius**2
    p = (zone_area + day_range * days * detection_zone_width(radius, angle)) / side**2
    detected = int(hit.sum())
    assert stats.binomtest(detected, n, p).pvalue > 0.001, (detected, n * p)
    density = n / side**2
    estimate = rem_density(detected, days, day_range, radius, angle)
    assert estimate == pytest.approx(density, rel=4 / math.sqrt(n * p) + zone_area / (p * side**2))
    # Without the angle term (a zone 2r wide) the same detections would be 35% too many.
    assert stats.binomtest(detected, n, day_range * 2 * radius / math.pi).pvalue < 1e-6


SETTINGS = DensitySettings(
    radius_km=0.01, angle_deg=40, day_range_km={"raccoon_dog": 3.0, "sable": 5.0,
                                                "red_fox": 8.0, "amur_leopard": 10.0},
    min_detections=20, bootstrap=500,
)
POPULATIONS = {
    "raccoon_dog": {"density_per_km2": 0.05, "home_range_km2": 5},
    "sable": {"density_per_km2": 0.03, "home_range_km2": 10},
    "amur_leopard": {"count": 120, "home_range_km2": 80},
}


def _encounters() -> tuple[pd.DataFrame, pd.Series]:
    effort = pd.Series([100.0, 100.0, 50.0, 50.0], index=["c1", "c2", "c3", "c4"])
    encounters = pd.DataFrame({
        "deployment_id": ["c1", "c2", "c3", "c1", "c2", "c1"],
        "species": ["raccoon_dog", "raccoon_dog", "raccoon_dog", "sable", "domestic_dog",
                    "amur_leopard"],
        "detections": [10, 14, 6, 5, 9, 30],
    })
    return encounters, effort


def test_density_table_uses_only_what_the_data_support():
    encounters, effort = _encounters()
    table = camera_trap_densities(
        encounters, effort, POPULATIONS, SETTINGS, np.random.default_rng(1)
    ).set_index("species")
    width = detection_zone_width(0.01, math.radians(40))
    raccoon = table.loc["raccoon_dog"]
    # 30 detections over all 300 camera-days (c4 saw none and still counts).
    assert raccoon["camera_days"] == 300 and raccoon["detections"] == 30
    assert raccoon["density_per_km2"] == pytest.approx(30 / 300 / (3.0 * width))
    assert raccoon["density_lo95"] < raccoon["density_per_km2"] < raccoon["density_hi95"]
    assert raccoon["used"] == "yes"
    assert table.loc["sable", "used"] == "no" and "fewer than min_detections" in table.loc[
        "sable", "reason"]
    assert table.loc["amur_leopard", "used"] == "no" and "count" in table.loc[
        "amur_leopard", "reason"]
    assert table.loc["domestic_dog", "used"] == "no" and "settlement" in table.loc[
        "domestic_dog", "reason"]
    assert table.loc["red_fox", "detections"] == 0  # a day range but never seen: listed
    assert table.loc["red_fox", "density_per_km2"] == 0 and table.loc["red_fox", "used"] == "no"
    again = camera_trap_densities(encounters, effort, POPULATIONS, SETTINGS,
                                  np.random.default_rng(1)).set_index("species")
    pd.testing.assert_frame_equal(table, again)


def test_used_densities_change_the_networks_population():
    encounters, effort = _encounters()
    table = camera_trap_densities(encounters, effort, POPULATIONS, SETTINGS,
                                  np.random.default_rng(1))
    config = {"study_area": {"width_km": 10, "height_km": 10}, "sites": [],
              "populations": POPULATIONS}
    changed = with_camera_densities(config, table, "test package")
    raccoon = table.set_index("species").loc["raccoon_dog", "density_per_km2"]
    assert population_sizes(changed)["raccoon_dog"] == round(raccoon * 100) != round(0.05 * 100)
    assert population_sizes(changed)["sable"] == population_sizes(config)["sable"]
    assert "camera traps (test package): 30 detections" in changed["populations"][
        "raccoon_dog"]["source"]
    assert config["populations"]["raccoon_dog"]["density_per_km2"] == 0.05  # not modified


def test_shared_camtrap_example_gives_the_hand_computed_fox_density(shared_dir, repo_root):
    """The shared Camtrap DP example: one event-level red fox detection over its four
    deployments' days; too few to use at the default threshold, exact at a threshold of 1."""
    from disease_risk.intake.registry import load_species_registry
    from disease_risk.transmission.network_files import densities_from_config

    package = shared_dir / "data" / "camtrap_dp_example"
    registry = load_species_registry(repo_root / "config" / "species.yaml")
    deployments = pd.read_csv(package / "deployments.csv")
    start = pd.to_datetime(deployments["deploymentStart"], utc=True, format="ISO8601")
    end = pd.to_datetime(deployments["deploymentEnd"], utc=True, format="ISO8601")
    camera_days = float(((end - start).dt.total_seconds() / 86400).sum())
    config = {
        "locations_file": str(package),
        "populations": {"red_fox": {"density_per_km2": 0.02, "home_range_km2": 10}},
        "camera_trap_densities": {"detection_radius_km": 0.01, "detection_angle_deg": 40,
                                  "day_range_km": {"red_fox": 8.0}},
    }
    fox = densities_from_config(config, registry, 7).set_index("species").loc["red_fox"]
    assert fox["detections"] == 1 and fox["camera_days"] == pytest.approx(camera_days)
    assert fox["used"] == "no"
    config["camera_trap_densities"]["min_detections"] = 1
    fox = densities_from_config(config, registry, 7).set_index("species").loc["red_fox"]
    assert fox["used"] == "yes"
    assert fox["density_per_km2"] == pytest.approx(
        1 / camera_days / (8.0 * 0.01 * (2 + math.radians(40)) / math.pi))


def test_example_network_keeps_its_configured_densities(repo_root):
    """The SIMULATED example's 18 cameras see each wild species too rarely to estimate its
    density, so the table says so and the example network is built from network.yaml."""
    from disease_risk.intake.registry import load_species_registry
    from disease_risk.transmission.network_files import densities_from_config, load_network_config

    config = load_network_config(repo_root / "config" / "network.yaml")
    registry = load_species_registry(repo_root / "config" / "species.yaml")
    table = densities_from_config(config, registry, 20261121)
    wild = table[table["species"].isin(config["camera_trap_densities"]["day_range_km"])]
    assert len(wild) == 5 and (wild["used"] == "no").all()
    assert (wild["detections"] < 20).all()
    assert with_camera_densities(config, table) == config
