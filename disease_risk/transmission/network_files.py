"""The contact network's files: its config and location table in, Parquet tables and GraphML out.

``config/network.yaml`` is validated against the shipped network schema; the optional location
table (camera-trap detections or collar fixes) is checked row by row. It may also be a Camtrap
DP package (identified animals' detections) or a Movebank GPS collar export (fixes), read and
checked by :mod:`disease_risk.intake`, with species mapped through the species registry. The
network is stored as two Parquet tables (``nodes``, ``arcs``; columns in
:mod:`disease_risk.tables`) and exported as streamed GraphML for network viewers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

from disease_risk.config import read_yaml
from disease_risk.intake.camtrap_dp import camera_trap_tables, is_camtrap_dp, read_camtrap_dp
from disease_risk.intake.field_common import FieldDataError, FieldProblem
from disease_risk.intake.movebank import collar_home_ranges, is_movebank_csv, read_movebank
from disease_risk.intake.registry import SpeciesRegistry
from disease_risk.seeds import stream_rng
from disease_risk.tables import ARC_COLUMNS, CAMERA_DENSITY_COLUMNS
from disease_risk.transmission.abundance import (
    DensitySettings,
    camera_trap_densities,
    with_camera_densities,
)
from disease_risk.transmission.contact_network import (
    DOG,
    MAX_CONTACT_RULES,
    ContactNetwork,
    NetworkInputError,
    build_contact_network,
    simulate_individuals,
)

LOCATION_COLUMNS = ("animal_id", "species", "latitude", "longitude", "date")
DEFAULT_MIN_FIXES = 30  # fixes or detections for an animal's own home range (network schema)
log = logging.getLogger(__name__)


def load_network_config(path: str | Path) -> dict:
    """Read ``config/network.yaml`` and check it against the network schema."""
    path = Path(path)
    config = read_yaml(path, "network.schema.yaml", NetworkInputError)
    _check_rules(config, path)
    return config


def network_species(config: dict) -> set[str]:
    """Species keys the network holds: its wildlife populations and village dogs."""
    return set(config["populations"]) | {DOG}


def _check_rules(config: dict, path: Path) -> None:
    """What the schema cannot say: rule count, species with a population, distance limits."""
    known = network_species(config)
    if len(config.get("contact_rules", [])) > MAX_CONTACT_RULES:
        raise NetworkInputError(
            f"{path}: key contact_rules: {len(config['contact_rules'])} rules; at most "
            f"{MAX_CONTACT_RULES} are supported (merge rules that share species and kind)"
        )
    for i, rule in enumerate(config.get("contact_rules", [])):
        for side in ("a", "b"):
            for species in rule[side]:
                if species not in known:
                    raise NetworkInputError(
                        f"{path}: contact_rules[{i}] ({rule['name']}) key {side}: species "
                        f"'{species}' has no population; add it under populations or fix the key"
                    )
        if rule["kind"] == "between_sites" and "max_distance_km" not in rule:
            raise NetworkInputError(
                f"{path}: contact_rules[{i}] ({rule['name']}): between_sites needs max_distance_km"
            )


def field_locations(
    path: Path, registry: SpeciesRegistry | None, known_species: Iterable[str],
    min_fixes: int = DEFAULT_MIN_FIXES,
) -> pd.DataFrame | None:
    """Location rows of identified animals from a Camtrap DP package (one per detection, at its
    camera) or a Movebank export (one per GPS fix); None for any other file. An animal with at
    least ``min_fixes`` fixes or detections also carries its own home-range area (MCP95,
    ``home_range_km2``); with fewer, an MCP says little and its species' default is used.

    A problem in the file stops the run naming its file, row, column, value and fix; animals
    of species outside the network are listed in the log with the reason, not used."""
    if not (is_camtrap_dp(path) or is_movebank_csv(path)):
        return None
    if registry is None:
        raise NetworkInputError(f"{path}: a field data file needs the species registry to map "
                                "its scientific names; pass it (rule input 'species')")
    if is_camtrap_dp(path):
        result = _checked(path, lambda: camera_trap_tables(read_camtrap_dp(path), registry))
        points, what = result.detections, "camera-trap detections of identified animals"
    else:
        result = _checked(
            path, lambda: collar_home_ranges(read_movebank(path), registry, str(path))
        )
        points, what = result.fixes, "GPS collar fixes"
    table = pd.DataFrame({
        "animal_id": points["individual_id"].astype(str),
        "species": points["species"].astype(str),
        "latitude": points["latitude"].map(lambda v: f"{float(v):.6f}"),
        "longitude": points["longitude"].map(lambda v: f"{float(v):.6f}"),
        "date": points["timestamp"].astype(str).str[:10],
    })
    ranges = result.home_ranges.set_index("individual_id")
    measured = ranges[(ranges["fixes"] >= min_fixes) & (ranges["area_km2"] > 0)]
    table["home_range_km2"] = table["animal_id"].map(measured["area_km2"]).astype(float)
    for animal, row in ranges.iterrows():
        own = animal in measured.index
        log.info("%s: %s: %s", path, animal,
                 f"own home range {row['area_km2']:.1f} km2 ({row['method']}, {row['fixes']} "
                 "fixes)" if own else f"species' default home range ({row['fixes']} fixes, "
                 f"fewer than {min_fixes} for its own)")
    outside = ~table["species"].isin(set(known_species))
    for (animal, species), rows in table[outside].groupby(["animal_id", "species"]):
        log.info("%s: %s (%s, %d rows) not used: species not among the network populations",
                 path, animal, species or "not in the species registry", len(rows))
    log.info("%s: %d %s place %d animals in the network", path, int((~outside).sum()), what,
             table.loc[~outside, "animal_id"].nunique())
    return table[~outside].reset_index(drop=True)


def _checked(path: Path, read: Callable[[], Any]) -> Any:
    """A field data reader's result; its problems stop the run, its notes go to the log."""
    try:
        result = read()
    except FieldDataError as err:
        raise NetworkInputError(str(err)) from err
    if result.problems:
        raise NetworkInputError(_problems_text(path, result.problems))
    for note in result.notes:
        log.info("%s", note)
    return result


def densities_from_config(
    config: dict, registry: SpeciesRegistry, seed: int
) -> pd.DataFrame:
    """Wildlife densities from the camera traps of ``locations_file`` (a Camtrap DP package)
    with the network config's ``camera_trap_densities`` settings; no rows, with the reason in
    the log, when either is missing. Bootstrap draws from the stream
    ``network/camera_trap_densities``."""
    section, loc_file = config.get("camera_trap_densities"), config.get("locations_file")
    if not section or not loc_file or not is_camtrap_dp(loc_file):
        log.info("no camera-trap densities: %s", "camera_trap_densities is not set in the "
                 "network config" if not section else "locations_file is not a Camtrap DP package")
        return pd.DataFrame(columns=list(CAMERA_DENSITY_COLUMNS))
    path = Path(loc_file)
    result = _checked(path, lambda: camera_trap_tables(read_camtrap_dp(path), registry))
    table = camera_trap_densities(
        result.encounter_rates[["deployment_id", "species", "detections"]],
        result.effort, config["populations"], DensitySettings.from_config(section),
        stream_rng(seed, "network/camera_trap_densities"),
    )
    for row in table.itertuples():
        log.info("%s: %s: %d detections in %.0f camera-days: %s%s", path, row.species,
                 row.detections, row.camera_days,
                 f"{row.density_per_km2:.3g} per km2 " if pd.notna(row.density_per_km2) else "",
                 f"used ({row.reason})" if row.used == "yes" else f"not used: {row.reason}")
    return table


def _problems_text(path: Path, problems: list[FieldProblem], shown: int = 5) -> str:
    """The first problems of a field data file, one a line, and where to see them all."""
    lines = [f"{p.file}: row {p.row}, column {p.column}, value {p.value!r}: {p.reason}"
             if p.row is not None else f"{p.file}: {p.column}: {p.reason}"
             for p in problems[:shown]]
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return (f"{path}: {len(problems)} problem(s){more} in the field data the network reads; "
            f"`disease-risk check {path}` lists them all:\n" + "\n".join(lines))


def read_locations(
    path: str | Path, known_species: Iterable[str], registry: SpeciesRegistry | None = None,
    min_fixes: int = DEFAULT_MIN_FIXES,
) -> pd.DataFrame:
    """Read and check a location table (camera-trap detections or collar fixes), a Camtrap DP
    package or a Movebank export (:func:`field_locations`, which needs ``registry``).

    Every row is used; a bad value stops the run with the file, line, column and fix.
    """
    path = Path(path)
    known_species = list(known_species)
    converted = field_locations(path, registry, known_species, min_fixes)
    table = (converted if converted is not None
             else pd.read_csv(path, dtype=str, keep_default_na=False))
    missing = [c for c in LOCATION_COLUMNS if c not in table.columns]
    if missing:
        raise NetworkInputError(
            f"{path}: missing column(s) {missing}; the table needs {list(LOCATION_COLUMNS)}"
        )
    known = set(known_species)
    out = table.copy()
    for i, row in table.iterrows():
        line = i + 2
        if not row["animal_id"].strip():
            raise NetworkInputError(f"{path}: line {line}, column animal_id: empty; give an id")
        if row["species"] not in known:
            raise NetworkInputError(
                f"{path}: line {line}, column species: '{row['species']}' is not in the network "
                f"populations {sorted(known)}; use a canonical species key"
            )
        for column, limit in (("latitude", 90), ("longitude", 180)):
            try:
                value = float(row[column])
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or abs(value) > limit:
                raise NetworkInputError(
                    f"{path}: line {line}, column {column}: '{row[column]}' is not a decimal "
                    f"degree in [-{limit}, {limit}]; write e.g. 43.1"
                )
        if pd.isna(pd.to_datetime(row["date"], format="%Y-%m-%d", errors="coerce")):
            raise NetworkInputError(
                f"{path}: line {line}, column date: '{row['date']}' is not YYYY-MM-DD"
            )
    species_per_animal = out.groupby("animal_id")["species"].nunique()
    clash = species_per_animal[species_per_animal > 1]
    if len(clash):
        raise NetworkInputError(
            f"{path}: animal_id '{clash.index[0]}' appears with more than one species; "
            "one id must name one animal"
        )
    out["latitude"] = out["latitude"].astype(float)
    out["longitude"] = out["longitude"].astype(float)
    if "home_range_km2" in out:
        out["home_range_km2"] = pd.to_numeric(out["home_range_km2"], errors="coerce")
    return out


def network_from_config(
    config_path: str | Path, seed: int, registry: SpeciesRegistry | None = None,
    densities: pd.DataFrame | None = None,
) -> ContactNetwork:
    """Read the network config (and its location table, if any) and build the network, with
    the camera-trap ``densities`` marked used in place of the configured ones.

    Simulated home-range centres come from the random stream ``network/individuals``.
    """
    config = with_camera_densities(load_network_config(config_path), densities)
    return network_from_settings(config, seed, registry)


def config_locations(
    config: dict, registry: SpeciesRegistry | None = None
) -> pd.DataFrame | None:
    """The network config's location table, read and checked (:func:`read_locations`; field
    data formats map species through ``registry``); None when it names none."""
    loc_file = config.get("locations_file")
    if not loc_file:
        return None
    return read_locations(
        loc_file, network_species(config), registry,
        int(config.get("home_range_min_fixes", DEFAULT_MIN_FIXES)),
    )


def network_from_settings(
    config: dict, seed: int, registry: SpeciesRegistry | None = None,
    locations: pd.DataFrame | None = None,
) -> ContactNetwork:
    """The network of an already loaded (and possibly changed) network config, with its
    location table (``locations``: as :func:`config_locations` read it, given when the table
    is shared by several networks; read here otherwise); positions from the random stream
    ``network/individuals``."""
    if locations is None:
        locations = config_locations(config, registry)
    rng = stream_rng(seed, "network/individuals")
    return build_contact_network(simulate_individuals(config, rng, locations), config)


def write_network(network: ContactNetwork, nodes_path: str | Path, arcs_path: str | Path) -> None:
    """The network as two Parquet tables; arcs name their animals (``source``, ``target`` are
    dictionary-encoded animal ids, so the file is readable and small)."""
    Path(nodes_path).parent.mkdir(parents=True, exist_ok=True)
    network.nodes.to_parquet(nodes_path, index=False)
    ids = network.nodes["node"].astype(str)
    network.arcs.assign(
        source=pd.Categorical.from_codes(network.arcs["source"], categories=ids),
        target=pd.Categorical.from_codes(network.arcs["target"], categories=ids),
    ).to_parquet(arcs_path, index=False)


def read_network(
    nodes_path: str | Path, arcs_path: str | Path, study_area: str = ""
) -> ContactNetwork:
    """Inverse of :func:`write_network`; an arc naming an animal missing from the nodes is an
    error."""
    nodes = pd.read_parquet(nodes_path)
    arcs = pd.read_parquet(arcs_path)
    ids = pd.Index(nodes["node"].astype(str))
    for column in ("source", "target"):
        named = arcs[column].astype(str).astype("category")
        codes = named.cat.codes.to_numpy()
        index = ids.get_indexer(named.cat.categories)[codes]
        if (index < 0).any():
            bad = named[index < 0].iloc[0]
            raise NetworkInputError(
                f"{arcs_path}: column {column}: animal '{bad}' is not in {nodes_path}; "
                "rebuild the network (rule contact_network)"
            )
        arcs[column] = index.astype(np.int64)
    arcs["rules"] = arcs["rules"].astype("category")
    return ContactNetwork(nodes, arcs[list(ARC_COLUMNS)], study_area)


GRAPHML_NODE_ATTRIBUTES = {
    "species": "string",
    "site": "string",
    "x": "double",
    "y": "double",
    "home_range_km2": "double",
    "origin": "string",
}
GRAPHML_ARC_ATTRIBUTES = {"weight": "double", "transmission_rate": "double", "rules": "string"}
GRAPHML_HEADER = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
)


def write_graphml(network: ContactNetwork, path: str | Path, chunk: int = 500_000) -> None:
    """GraphML for network viewers (Gephi, Cytoscape) with the tables' node and arc attributes.

    Written from the tables ``chunk`` rows at a time: networkx's writer first builds the whole
    XML tree (~3 KB per arc, 24 GB for the 9 M arcs of 100x the example). networkx's GraphML
    reader reads the file back to the same graph as :meth:`ContactNetwork.to_graph`.
    """
    keys = [("node", name, kind) for name, kind in GRAPHML_NODE_ATTRIBUTES.items()]
    keys += [("edge", name, kind) for name, kind in GRAPHML_ARC_ATTRIBUTES.items()]
    key_id = {(scope, name): f"d{k}" for k, (scope, name, _) in enumerate(keys)}
    ids = np.array([quoteattr(str(n)) for n in network.nodes["node"]], dtype=object)

    def data_cells(table: pd.DataFrame, scope: str, attributes: dict[str, str]) -> pd.Series:
        cells = pd.Series("", index=table.index, dtype=object)
        for name, kind in attributes.items():
            column = table[name]
            if kind == "string":
                text = column.astype(str).astype("category")
                text = text.cat.rename_categories([escape(c) for c in text.cat.categories])
            else:
                text = column.astype(float)
            cells += f'<data key="{key_id[(scope, name)]}">' + text.astype(str) + "</data>"
        return cells

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(GRAPHML_HEADER)
        for scope, name, kind in keys:
            out.write(
                f'  <key id="{key_id[(scope, name)]}" for="{scope}" attr.name="{name}" '
                f'attr.type="{kind}" />\n'
            )
        out.write('  <key id="g0" for="graph" attr.name="study_area" attr.type="string" />\n')
        out.write('  <graph edgedefault="directed">\n')
        out.write(f'    <data key="g0">{escape(network.study_area)}</data>\n')
        for first in range(0, len(network.nodes), chunk):
            part = network.nodes.iloc[first : first + chunk]
            cells = data_cells(part, "node", GRAPHML_NODE_ATTRIBUTES)
            lines = "    <node id=" + ids[first : first + len(part)] + ">" + cells + "</node>\n"
            out.writelines(lines)
        for first in range(0, len(network.arcs), chunk):
            part = network.arcs.iloc[first : first + chunk]
            cells = data_cells(part, "edge", GRAPHML_ARC_ATTRIBUTES)
            lines = (
                "    <edge source="
                + ids[part["source"].to_numpy()]
                + " target="
                + ids[part["target"].to_numpy()]
                + ">"
                + cells
                + "</edge>\n"
            )
            out.writelines(lines)
        out.write("  </graph>\n</graphml>\n")
