"""Seeded generator of the SIMULATED example camera-trap package in ``config/field_data/``.

A Camtrap DP 1.0.2 package for the Land of the Leopard example: one camera per place where an
identified leopard or tiger was seen (the example network's known animals, given as
``animal_id, species, latitude, longitude, date`` rows), an event-level observation with its
``individualID`` per sighting, and unidentified detections of village dogs and wild
mesocarnivores at the same cameras (stream ``examples/camera_traps``). Nothing in it is real:
the package's title, description and every comment say SIMULATED.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd

from disease_risk.intake.camtrap_dp import DESCRIPTOR, default_schema_dir
from disease_risk.intake.registry import SpeciesRegistry
from disease_risk.seeds import DEFAULT_SEED, stream_rng

PROFILE_URL = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/camtrap-dp-profile.json"
SCHEMA_URL = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/{}-table-schema.json"
DEPLOYMENT_DAYS = ("2025-03-01", "2025-07-31")
# Unidentified visitors of the cameras: species key -> mean detections per camera in the season.
# Wildlife: what the random encounter model expects from config/network.yaml's densities, day
# ranges and detection zone over the 153-day season (density x day range x zone width x days,
# Rowcliffe et al. 2008), so the example's camera-trap densities agree with its assumptions;
# dogs straying into the forest are an assumption.
VISITORS = {"domestic_dog": 0.6, "raccoon_dog": 0.197, "asian_badger": 0.118, "sable": 0.197,
            "red_fox": 0.210, "leopard_cat": 0.158}
SIMULATED = "SIMULATED example data: not real camera-trap records"


def _csv(table: str, rows: list[dict]) -> str:
    """CSV text with every field of the standard's table schema, in its order (the validator
    matches header and schema by position); newline line ends, the same on every system."""
    schema = json.loads((default_schema_dir() / f"{table}-table-schema.json").read_text())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f["name"] for f in schema["fields"]],
                            restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def camtrap_example(
    sightings: pd.DataFrame, registry: SpeciesRegistry, seed: int = DEFAULT_SEED
) -> dict[str, str]:
    """The package's files (name -> text) from the sightings of identified animals."""
    rng = stream_rng(seed, "examples/camera_traps")
    latin = {key: entry.latin_name for key, entry in registry.species.items()}
    places = sightings[["latitude", "longitude"]].drop_duplicates().reset_index(drop=True)
    deployments, media, observations = [], [], []
    start, end = DEPLOYMENT_DAYS
    for i, place in places.iterrows():
        deployments.append({
            "deploymentID": f"LOL{i + 1:02d}", "locationID": f"loc{i + 1:02d}",
            "locationName": f"Land of the Leopard camera {i + 1:02d} (SIMULATED)",
            "latitude": f"{place.latitude:.5f}", "longitude": f"{place.longitude:.5f}",
            "deploymentStart": f"{start}T00:00:00+10:00", "deploymentEnd": f"{end}T23:59:59+10:00",
            "cameraModel": "SIMULATED", "featureType": "trailGame",
            "deploymentComments": SIMULATED,
        })
    camera = {(round(p.latitude, 5), round(p.longitude, 5)): f"LOL{i + 1:02d}"
              for i, p in places.iterrows()}

    def event(deployment: str, day: str, hour: int, name: str, individual: str) -> None:
        n = len(observations) + 1
        stamp = f"{day}T{hour:02d}:00:00+10:00"
        media.append({"mediaID": f"m{n:04d}", "deploymentID": deployment,
                      "captureMethod": "activityDetection", "timestamp": stamp,
                      "filePath": f"SIMULATED/m{n:04d}.jpg", "filePublic": "false",
                      "fileMediatype": "image/jpeg", "mediaComments": SIMULATED})
        observations.append({
            "observationID": f"o{n:04d}", "deploymentID": deployment, "mediaID": "",
            "eventID": f"e{n:04d}", "eventStart": stamp, "eventEnd": stamp,
            "observationLevel": "event", "observationType": "animal", "scientificName": name,
            "count": "1", "individualID": individual, "classificationMethod": "human",
            "observationComments": SIMULATED,
        })

    for row in sightings.itertuples():
        key = (round(row.latitude, 5), round(row.longitude, 5))
        event(camera[key], row.date, 22, latin[row.species], row.animal_id)
    season = pd.date_range(start, end).strftime("%Y-%m-%d").tolist()
    for deployment in camera.values():
        for species, mean in VISITORS.items():
            for _ in range(int(rng.poisson(mean))):
                event(deployment, season[int(rng.integers(len(season)))],
                      int(rng.integers(24)), latin[species], "")
    return {
        DESCRIPTOR: json.dumps(_descriptor(sightings, places, latin), indent=2) + "\n",
        "deployments.csv": _csv("deployments", deployments),
        "media.csv": _csv("media", media),
        "observations.csv": _csv("observations", observations),
    }


def _descriptor(sightings: pd.DataFrame, places: pd.DataFrame, latin: dict[str, str]) -> dict:
    """The Camtrap DP descriptor: resources with the standard's schema URLs (read offline from
    the shipped copies) and the package metadata the profile requires."""
    names = sorted({latin[s] for s in [*sightings["species"], *VISITORS]})
    west, east = float(places["longitude"].min()), float(places["longitude"].max())
    south, north = float(places["latitude"].min()), float(places["latitude"].max())
    return {
        "profile": PROFILE_URL,
        "name": "simulated-land-of-the-leopard-camera-traps",
        "title": "SIMULATED camera traps of the Land of the Leopard example",
        "description": f"{SIMULATED}. Made by disease_risk.intake.field_examples for the "
        "example pipeline: cameras where the example's known leopards and tigers were seen, "
        "and unidentified visits of dogs and wild mesocarnivores.",
        "created": "2026-12-05T00:00:00Z",
        "contributors": [{"title": "disease_risk example generator (SIMULATED)",
                          "role": "publisher"}],
        "licenses": [{"name": "CC0-1.0", "scope": "data"}],
        "project": {"title": "SIMULATED example", "samplingDesign": "targeted",
                    "captureMethod": ["activityDetection"], "individualAnimals": True,
                    "observationLevel": ["event"]},
        "spatial": {"type": "Polygon", "coordinates": [[
            [west, south], [east, south], [east, north], [west, north], [west, south]]]},
        "temporal": {"start": DEPLOYMENT_DAYS[0], "end": DEPLOYMENT_DAYS[1]},
        "taxonomic": [{"scientificName": n} for n in names],
        "resources": [
            {"name": t, "path": f"{t}.csv", "profile": "tabular-data-resource",
             "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
             "schema": SCHEMA_URL.format(t)}
            for t in ("deployments", "media", "observations")
        ],
    }


def write_camtrap_example(
    sightings: pd.DataFrame, registry: SpeciesRegistry, out_dir: str | Path,
    seed: int = DEFAULT_SEED,
) -> list[Path]:
    """Write the package's files into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in camtrap_example(sightings, registry, seed).items():
        (out / name).write_text(text, encoding="utf-8")
        paths.append(out / name)
    return paths


# SMART patrols: (category key, species item or "", chance per patrol day) of what rangers
# record. Carcasses and sick animals feed passive surveillance, dogs the dog sightings; track
# counts are recorded but carry nothing for CDV (listed as unmapped by the category map).
PATROL_RECORDS = (
    ("animals.carcass.", "nyctereutesprocyonoides", 0.10),
    ("animals.carcass.", "melesleucurus", 0.05),
    ("animals.sickanimal.", "nyctereutesprocyonoides", 0.06),
    ("animals.sickanimal.", "vulpesvulpes", 0.03),
    ("animals.feraldomesticdog.", "", 0.35),
    ("animals.tracks.", "pantherapardusorientalis", 0.50),
)
SMART_NAMESPACE = "http://www.smartconservationsoftware.org/xml/1.3/patrol"


def smart_patrol_example(
    patrol_id: str, month: int, area: tuple[float, float, float, float], seed: int = DEFAULT_SEED
) -> str:
    """One SIMULATED SMART patrol export (XML, patrol namespace 1.3): eight patrol days in
    ``month`` of 2025 with waypoints in ``area`` (south, west, north, east) and the records of
    :data:`PATROL_RECORDS` drawn at their daily chances (stream ``examples/smart_patrols``)."""
    from xml.sax.saxutils import quoteattr

    rng = stream_rng(seed, "examples/smart_patrols", month)
    south, west, north, east = area
    days, n = [], 0
    for day in range(1, 9):
        points = []
        for category, item, chance in PATROL_RECORDS:
            if rng.random() >= chance:
                continue
            n += 1
            y, x = rng.uniform(south, north), rng.uniform(west, east)
            species = ("" if not item else
                       f'<ns2:attributes attributeKey="species"><ns2:itemKey>{item}'
                       "</ns2:itemKey></ns2:attributes>")
            count = int(rng.integers(1, 4)) if "dog" in category else 1
            points.append(
                f'      <ns2:waypoints id="wp{n:03d}" x="{x:.5f}" y="{y:.5f}" '
                f'time="{int(rng.integers(7, 18)):02d}:00:00"><ns2:groups>'
                f"<ns2:observations categoryKey={quoteattr(category)}>{species}"
                f'<ns2:attributes attributeKey="count"><ns2:dValue>{count}</ns2:dValue>'
                "</ns2:attributes></ns2:observations></ns2:groups></ns2:waypoints>")
        days.append(f'    <ns2:days date="2025-{month:02d}-{day:02d}" startTime="08:00:00" '
                    'endTime="17:00:00">\n' + "\n".join(points) + "\n    </ns2:days>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<patrol xmlns:ns2="{SMART_NAMESPACE}" id="{patrol_id}" patrolType="ground" '
        f'startDate="2025-{month:02d}-01" endDate="2025-{month:02d}-08" isArmed="false">\n'
        f"  <ns2:comment>{SIMULATED}</ns2:comment>\n"
        f'  <ns2:legs id="{patrol_id}-leg1">\n' + "\n".join(days) + "\n  </ns2:legs>\n"
        "</patrol>\n"
    )
