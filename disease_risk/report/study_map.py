"""A map of the study area drawn offline (matplotlib only, no tiles, no network).

What a wildlife vet reads at a glance, in the network config's coordinate system (km east and
north of the study area's south-west corner):

- the study area rectangle;
- settlements (sites with dogs), marker area proportional to their dogs, labelled with the count;
- the release enclosure (a dog-free site named like ``release...``, or a site a release scenario
  uses);
- leopards and tigers as home-range circles (radius ``sqrt(area / pi)``) around the centres of
  the network's node table, animals placed from real detections (``origin == "location_table"``)
  drawn apart from simulated ones;
- sampling sites at the mean position of their samples, labelled with the apparent
  seroprevalence and the number tested per species (the serology summary's rows with
  ``year == "all"`` per site).

Samples without coordinates are left off the map and counted (:attr:`MapLayers.skipped`,
:meth:`MapLayers.notes`); a sampling site none of whose samples has coordinates is placed at the
settlement of the same name when there is one (and says so), otherwise listed as not mapped.

Pure: :func:`study_map_layers` takes tables already read; :func:`plot_study_map` writes one PNG
(byte-for-byte reproducible through :mod:`disease_risk.figures`), :func:`study_map_png` returns
its bytes for the report.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from disease_risk.figures import png_bytes, pyplot, save_png
from disease_risk.intake.registry import species_label
from disease_risk.transmission.contact_network import project

FELIDS = ("amur_leopard", "amur_tiger")
DETECTED_ORIGIN = "location_table"
# Species listed first in a sampling site's label; the rest follow by name.
LABEL_ORDER = ("domestic_dog", "amur_leopard", "amur_tiger")
SCALE_BAR_KM = 10
FIGSIZE = (10.0, 8.0)  # inches: A4 width, map on the left, legend and table on the right
COLOURS = {
    "amur_leopard": "#d95f02",
    "amur_tiger": "#7570b3",
    "settlement": "#8c510a",
    "release": "#1b9e77",
    "other_site": "#666666",
    "sampling": "#2166ac",
    "area_face": "#f4f8ef",
}
SITE_COLUMNS = ("name", "x", "y", "dogs", "kind")
FELID_COLUMNS = ("node", "species", "x", "y", "radius_km", "detected")
SAMPLING_COLUMNS = ("site", "x", "y", "samples", "located", "position", "label")
SITE_PREVALENCE_COLUMNS = (
    "site", "species", "n_tested", "n_positive", "apparent_prevalence", "true_prevalence_median",
)  # fmt: skip
SKIPPED_COLUMNS = ("site", "species", "samples")


@dataclass(frozen=True)
class MapLayers:
    """Everything the study map draws, in km east/north of the study area's south-west corner.

    - ``sites``: ``SITE_COLUMNS``; ``kind`` is ``settlement`` (dogs > 0), ``release`` (the
      release enclosure) or ``other``;
    - ``felids``: ``FELID_COLUMNS``, one home range per leopard or tiger; ``detected`` is True
      for animals placed from real detections;
    - ``sampling``: ``SAMPLING_COLUMNS``, one row per mapped sampling site; ``position`` is
      ``samples`` (mean of its located samples) or ``settlement`` (none had coordinates);
      ``samples``/``located``: its samples, and those with coordinates;
    - ``prevalence``: ``SITE_PREVALENCE_COLUMNS``, the per-site seroprevalence the labels show;
    - ``skipped``: ``SKIPPED_COLUMNS``, samples without coordinates per site and species;
    - ``unmapped_sites``: sampling sites with no position at all.
    """

    area_name: str
    width_km: float
    height_km: float
    origin_latitude: float
    origin_longitude: float
    sites: pd.DataFrame
    felids: pd.DataFrame
    sampling: pd.DataFrame
    prevalence: pd.DataFrame
    skipped: pd.DataFrame
    unmapped_sites: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def skipped_samples(self) -> int:
        """Samples left off the map for want of coordinates."""
        return int(self.skipped["samples"].sum()) if not self.skipped.empty else 0

    def notes(self) -> list[str]:
        """Plain sentences on what the map leaves out or places by proxy (never silent)."""
        notes = []
        if self.skipped_samples:
            by_site = self.skipped.groupby("site", sort=True)["samples"].sum()
            parts = ", ".join(f"{site} {int(n)}" for site, n in by_site.items())
            notes.append(
                f"{self.skipped_samples} samples without coordinates are not mapped ({parts})."
            )
        placed = self.sampling.loc[self.sampling["position"] == "settlement", "site"].tolist()
        if placed:
            notes.append(
                "Placed at the settlement of the same name (no sample coordinates): "
                + ", ".join(placed)
                + "."
            )
        if self.unmapped_sites:
            notes.append(
                "Sampling sites without any position, not on the map: "
                + ", ".join(self.unmapped_sites)
                + "."
            )
        return notes


def release_sites(scenarios: Mapping[str, Any] | None) -> list[str]:
    """The network sites release scenarios use (``scenarios: {name: {release: {site: ...}}}``
    of the main config), sorted and unique."""
    found = set()
    for spec in (scenarios or {}).values():
        release = (spec or {}).get("release") if isinstance(spec, Mapping) else None
        if isinstance(release, Mapping) and release.get("site"):
            found.add(str(release["site"]))
    return sorted(found)


def study_map_layers(
    network_config: Mapping[str, Any],
    nodes: pd.DataFrame,
    samples: pd.DataFrame,
    prevalence: pd.DataFrame,
    release: Iterable[str] = (),
    names: Mapping[str, str] | None = None,
) -> MapLayers:
    """The map's layers from the network config (``study_area``, ``sites``), the network's node
    table (``NODE_COLUMNS``), the samples (``SAMPLE_COLUMNS``) and the seroprevalence summary
    (``PREVALENCE_COLUMNS``). ``release``: sites used by release scenarios
    (:func:`release_sites`); ``names``: species key -> common name (registry ``labels()``)."""
    names = dict(names or {})
    area = network_config["study_area"]
    sites = _sites(network_config.get("sites") or [], set(release))
    site_prevalence = _site_prevalence(prevalence)
    sampling, skipped, unmapped = _sampling(samples, site_prevalence, sites, area, names)
    return MapLayers(
        area_name=str(area.get("name", "study area")),
        width_km=float(area["width_km"]),
        height_km=float(area["height_km"]),
        origin_latitude=float(area["origin_latitude"]),
        origin_longitude=float(area["origin_longitude"]),
        sites=sites,
        felids=_felids(nodes),
        sampling=sampling,
        prevalence=site_prevalence,
        skipped=skipped,
        unmapped_sites=unmapped,
        names=names,
    )


def _sites(sites: list[Mapping[str, Any]], release: set[str]) -> pd.DataFrame:
    rows = []
    for site in sites:
        name = str(site["name"])
        dogs = int(site.get("dogs", 0) or 0)
        if name in release or (dogs == 0 and "release" in name.lower()):
            kind = "release"
        elif dogs > 0:
            kind = "settlement"
        else:
            kind = "other"
        rows.append([name, float(site["x_km"]), float(site["y_km"]), dogs, kind])
    return pd.DataFrame(rows, columns=list(SITE_COLUMNS))


def _felids(nodes: pd.DataFrame) -> pd.DataFrame:
    felids = nodes[nodes["species"].astype(str).isin(FELIDS)]
    out = pd.DataFrame(
        {
            "node": felids["node"].astype(str).to_numpy(),
            "species": felids["species"].astype(str).to_numpy(),
            "x": felids["x"].to_numpy(float),
            "y": felids["y"].to_numpy(float),
            "radius_km": np.sqrt(felids["home_range_km2"].to_numpy(float) / math.pi),
            "detected": (felids["origin"].astype(str) == DETECTED_ORIGIN).to_numpy(),
        },
        columns=list(FELID_COLUMNS),
    )
    return out.sort_values(["species", "detected", "node"], kind="stable").reset_index(drop=True)


def _site_prevalence(prevalence: pd.DataFrame) -> pd.DataFrame:
    """The summary's per-site rows over all years (``year == "all"``, ``site != "all"``)."""
    if prevalence.empty:
        return pd.DataFrame(columns=list(SITE_PREVALENCE_COLUMNS))
    rows = prevalence[
        (prevalence["year"].astype(str) == "all")
        & (prevalence["site"].astype(str) != "all")
        & (pd.to_numeric(prevalence["n_tested"], errors="coerce") > 0)
    ]
    tested = pd.to_numeric(rows["n_tested"]).to_numpy(int)
    positive = pd.to_numeric(rows["n_positive"]).to_numpy(int)
    out = pd.DataFrame(
        {
            "site": rows["site"].astype(str).to_numpy(),
            "species": rows["species"].astype(str).to_numpy(),
            "n_tested": tested,
            "n_positive": positive,
            "apparent_prevalence": positive / tested,
            "true_prevalence_median": pd.to_numeric(
                rows["true_prevalence_median"], errors="coerce"
            ).to_numpy(float),
        },
        columns=list(SITE_PREVALENCE_COLUMNS),
    )
    return out.sort_values(["site", "species"], kind="stable").reset_index(drop=True)


def _normalised(name: str) -> str:
    return " ".join(str(name).replace("_", " ").casefold().split())


def _sampling(
    samples: pd.DataFrame,
    site_prevalence: pd.DataFrame,
    sites: pd.DataFrame,
    area: Mapping[str, Any],
    names: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    samples = samples.assign(
        site=samples["site"].astype(str),
        species=samples["species"].astype(str),
        latitude=pd.to_numeric(samples["latitude"], errors="coerce"),
        longitude=pd.to_numeric(samples["longitude"], errors="coerce"),
    )
    located = samples["latitude"].notna() & samples["longitude"].notna()
    skipped = (
        samples[~located]
        .groupby(["site", "species"], sort=True)
        .size()
        .rename("samples")
        .reset_index()
    )
    skipped = skipped.reindex(columns=list(SKIPPED_COLUMNS))
    x, y = project(samples["latitude"], samples["longitude"], dict(area))
    samples = samples.assign(x=x, y=y)
    settlements = {_normalised(r.name): (r.x, r.y) for r in sites.itertuples()}
    all_sites = sorted(set(samples["site"]) | set(site_prevalence["site"]))
    rows, unmapped = [], []
    for site in all_sites:
        at_site = samples[samples["site"] == site]
        with_xy = at_site[located[at_site.index]]
        label = sampling_label(site, site_prevalence[site_prevalence["site"] == site], names)
        if len(with_xy):
            rows.append(
                [site, float(with_xy["x"].mean()), float(with_xy["y"].mean()), len(at_site),
                 len(with_xy), "samples", label]
            )  # fmt: skip
        elif _normalised(site) in settlements:
            sx, sy = settlements[_normalised(site)]
            rows.append([site, sx, sy, len(at_site), 0, "settlement", label])
        else:
            unmapped.append(site)
    return pd.DataFrame(rows, columns=list(SAMPLING_COLUMNS)), skipped, tuple(unmapped)


def _species_order(species: str, names: Mapping[str, str]) -> tuple[int, str]:
    rank = LABEL_ORDER.index(species) if species in LABEL_ORDER else len(LABEL_ORDER)
    return rank, species_label(species, names)


def prevalence_lines(rows: pd.DataFrame, names: Mapping[str, str] | None = None) -> list[str]:
    """One line per species: ``"<species> 27% (n=120)"`` (apparent seroprevalence, positives
    over tested), dogs, leopards and tigers first, then the others by name."""
    names = names or {}
    ordered = sorted(rows.itertuples(), key=lambda r: _species_order(r.species, names))
    return [
        f"{species_label(r.species, names)} {100.0 * r.n_positive / r.n_tested:.0f}% "
        f"(n={r.n_tested})"
        for r in ordered
    ]


def sampling_label(site: str, rows: pd.DataFrame, names: Mapping[str, str] | None = None) -> str:
    """A sampling site's label on the map: its name, then the seroprevalence of dogs, leopards
    and tigers (``"domestic dog 27% (n=120)"``), else of its first two species; further species
    are counted (``"+ 5 more species"``) and listed in the figure's side table."""
    lines = prevalence_lines(rows, names)
    headline = [r for r in rows["species"] if r in LABEL_ORDER]
    shown = len(headline) if headline else min(2, len(lines))
    more = len(lines) - shown
    tail = [f"+ {more} more species" if more > 1 else "+ 1 more species"] if more else []
    return "\n".join([str(site), *lines[:shown], *tail])


# --- drawing ------------------------------------------------------------------------------------

# Label offsets (points) tried in turn around a marker: the first that stays inside the axes and
# clear of the labels and markers already drawn wins, else the one overlapping least. Sampling
# labels may also stand further off, joined to their marker by a leader line.
NEAR_OFFSETS = (
    (9, 0, "left", "center"), (8, -6, "left", "top"), (8, 6, "left", "bottom"),
    (-9, 0, "right", "center"), (-8, -6, "right", "top"), (-8, 6, "right", "bottom"),
    (0, 9, "center", "bottom"), (0, -9, "center", "top"),
)  # fmt: skip
FAR_OFFSETS = (
    *NEAR_OFFSETS,
    (28, 28, "left", "bottom"), (-28, 28, "right", "bottom"),
    (28, -28, "left", "top"), (-28, -28, "right", "top"),
    (0, 40, "center", "bottom"), (0, -40, "center", "top"),
    (45, 0, "left", "center"), (-45, 0, "right", "center"),
)  # fmt: skip
MARKER_WEIGHT = 0.5  # covering a marker costs half as much as covering another label


def plot_study_map(layers: MapLayers, path: str | Path) -> None:
    """Draw the study map to a PNG at ``path`` (reproducible byte for byte)."""
    save_png(_figure(layers), path)


def study_map_png(layers: MapLayers) -> bytes:
    """The study map as PNG bytes (for the report)."""
    return png_bytes(_figure(layers))


def seroprevalence_table(layers: MapLayers) -> str:
    """The side table: every sampling site with the seroprevalence of each species tested."""
    blocks = []
    mapped = set(layers.sampling["site"])
    for site, rows in layers.prevalence.groupby("site", sort=True):
        where = "" if site in mapped else " (not on the map)"
        lines = prevalence_lines(rows, layers.names)
        blocks.append("\n".join([f"{site}{where}", *(f"  {line}" for line in lines)]))
    return "\n".join(blocks)


def _figure(layers: MapLayers) -> Any:
    plt = pyplot()
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    fig, ax = plt.subplots(figsize=FIGSIZE)
    notes = [line for note in layers.notes() for line in textwrap.wrap(note, 150)]
    fig.subplots_adjust(left=0.07, right=0.64, top=0.93, bottom=0.07 + 0.018 * len(notes))
    ax.set_anchor("N")
    w, h = layers.width_km, layers.height_km
    ax.add_patch(
        Rectangle((0, 0), w, h, facecolor=COLOURS["area_face"], edgecolor="black", lw=1.2,
                  zorder=0)
    )  # fmt: skip
    x0, x1, y0, y1 = _extent(layers)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MultipleLocator(10))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
    ax.set_xlabel(f"km east of the south-west corner ({_degrees(layers)})")
    ax.set_ylabel("km north of the south-west corner")
    ax.set_title(
        f"Study area: {_place(layers.area_name)} ({w:.0f} x {h:.0f} km): settlements, release\n"
        "enclosure, leopard and tiger home ranges, CDV serology sampling sites",
        fontsize=11,
    )
    _draw_felids(ax, layers.felids)
    labels = _draw_sites(ax, layers.sites) + _draw_sampling(ax, layers.sampling)
    _place_labels(fig, ax, labels, _marker_points(layers))
    _scale_bar(ax, x0, x1, y0, y1)
    _north_arrow(ax)
    legend = ax.legend(handles=_legend_handles(layers), loc="upper left",
                       bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False,
                       borderaxespad=0.0)  # fmt: skip
    notes_top = 0.01 + (0.018 * len(notes) if notes else 0.0)
    _side_table(fig, legend, seroprevalence_table(layers), notes_top + 0.01)
    if notes:
        fig.text(0.01, 0.01, "\n".join(notes), fontsize=7.5, ha="left", va="bottom")
    return fig


def _side_table(fig: Any, legend: Any, table: str, floor: float) -> None:
    """The seroprevalence table under the legend, its font shrunk until it ends above
    ``floor`` (figure fraction)."""
    if not table:
        return
    renderer = fig.canvas.get_renderer()
    top = legend.get_window_extent(renderer).transformed(fig.transFigure.inverted()).y0 - 0.02
    heading = fig.text(0.655, top, "Observed seroprevalence by sampling site (n tested)",
                       fontsize=8, fontweight="bold", va="top")  # fmt: skip
    top = heading.get_window_extent(renderer).transformed(fig.transFigure.inverted()).y0 - 0.008
    for size in (7.0, 6.5, 6.0, 5.5, 5.0):
        text = fig.text(0.655, top, table, fontsize=size, va="top", linespacing=1.15)
        bottom = text.get_window_extent(renderer).transformed(fig.transFigure.inverted()).y0
        if bottom >= floor or size == 5.0:
            return
        text.remove()


def _draw_felids(ax: Any, felids: pd.DataFrame) -> None:
    """Home ranges: simulated animals faint and dotted, detected ones solid with a star."""
    from matplotlib.patches import Circle

    for r in felids.itertuples():
        colour = COLOURS[r.species]
        ax.add_patch(
            Circle(
                (r.x, r.y), r.radius_km, facecolor=colour, edgecolor=colour,
                alpha=0.35 if r.detected else 0.06, lw=1.6 if r.detected else 0.5,
                ls="-" if r.detected else ":", zorder=1,
            )
        )  # fmt: skip
    for species in FELIDS:
        det = felids[(felids["species"] == species) & felids["detected"]]
        if len(det):
            ax.scatter(det["x"], det["y"], marker="*", s=110, color=COLOURS[species],
                       edgecolor="black", lw=0.5, zorder=4)  # fmt: skip


Label = tuple[str, float, float, dict, tuple]  # text, x, y, style, offsets to try


def _draw_sites(ax: Any, sites: pd.DataFrame) -> list[Label]:
    """Settlements, the release enclosure and other sites; their labels (text, x, y, style)."""
    labels = []
    settle = sites[sites["kind"] == "settlement"]
    ax.scatter(settle["x"], settle["y"], s=_dog_marker_area(settle["dogs"]), marker="s",
               color=COLOURS["settlement"], edgecolor="white", lw=0.8, zorder=5)  # fmt: skip
    style = {"fontsize": 8, "color": COLOURS["settlement"], "fontweight": "bold", "zorder": 7}
    for r in settle.itertuples():
        labels.append((f"{_place(r.name)}\n{r.dogs} dogs", r.x, r.y, style, NEAR_OFFSETS))
    release = sites[sites["kind"] == "release"]
    ax.scatter(release["x"], release["y"], s=180, marker="P", color=COLOURS["release"],
               edgecolor="black", lw=0.7, zorder=6)  # fmt: skip
    style = {"fontsize": 8.5, "color": COLOURS["release"], "fontweight": "bold", "zorder": 7}
    for r in release.itertuples():
        labels.append((_place(r.name), r.x, r.y, style, NEAR_OFFSETS))
    other = sites[sites["kind"] == "other"]
    ax.scatter(other["x"], other["y"], s=30, marker="o", color=COLOURS["other_site"], zorder=5)
    style = {"fontsize": 7.5, "color": COLOURS["other_site"], "zorder": 7}
    for r in other.itertuples():
        labels.append((_place(r.name), r.x, r.y, style, NEAR_OFFSETS))
    return labels


def _draw_sampling(ax: Any, sampling: pd.DataFrame) -> list[Label]:
    """Sampling-site markers; their labels (text, x, y, style)."""
    for position, face in (("samples", COLOURS["sampling"]), ("settlement", "white")):
        part = sampling[sampling["position"] == position]
        ax.scatter(part["x"], part["y"], s=90, marker="^", facecolor=face,
                   edgecolor=COLOURS["sampling"], lw=1.5, zorder=6)  # fmt: skip
    style = {
        "fontsize": 7.5, "color": COLOURS["sampling"], "zorder": 8,
        "bbox": {"boxstyle": "round,pad=0.25", "fc": "white", "ec": COLOURS["sampling"],
                 "lw": 0.6, "alpha": 0.9},
    }  # fmt: skip
    style["arrowprops"] = {"arrowstyle": "-", "color": COLOURS["sampling"], "lw": 0.7,
                           "shrinkA": 0, "shrinkB": 5}  # fmt: skip
    return [(r.label, r.x, r.y, style, FAR_OFFSETS) for r in sampling.itertuples()]


def _place_labels(fig: Any, ax: Any, labels: list[Label], points: np.ndarray) -> None:
    """Each label at the first of its offsets inside the axes and clear of the
    labels placed before and of the marker ``points`` (km), else where it overlaps least."""
    ax.apply_aspect()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    markers = [_point_box(px, py, 7) for px, py in ax.transData.transform(points)]
    boxes: list[Any] = []
    for text, x, y, style, offsets in labels:
        best = None
        for dx, dy, ha, va in offsets:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                                ha=ha, va=va, **style)  # fmt: skip
            box = label.get_window_extent(renderer).padded(3)
            cost = sum(_overlap(box, other) for other in boxes)
            cost += MARKER_WEIGHT * sum(_overlap(box, m) for m in markers if not _at(m, x, y, ax))
            cost += 10 * (box.width * box.height - _overlap(box, frame))  # outside the axes
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, label, box)
            else:
                label.remove()
            if cost == 0:
                break
        boxes.append(best[2])


def _at(box: Any, x: float, y: float, ax: Any) -> bool:
    """Whether a marker box is the one of the point (x, y) a label belongs to."""
    px, py = ax.transData.transform((x, y))
    return bool(abs((box.x0 + box.x1) / 2 - px) < 1e-6 and abs((box.y0 + box.y1) / 2 - py) < 1e-6)


def _marker_points(layers: MapLayers) -> np.ndarray:
    """Where markers stand (km): sites, sampling sites and animals placed from detections."""
    felids = layers.felids[layers.felids["detected"]]
    parts = [layers.sites[["x", "y"]], layers.sampling[["x", "y"]], felids[["x", "y"]]]
    return np.concatenate([p.to_numpy(float).reshape(-1, 2) for p in parts])


def _point_box(px: float, py: float, half: float) -> Any:
    from matplotlib.transforms import Bbox

    return Bbox.from_extents(px - half, py - half, px + half, py + half)


def _overlap(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def _legend_handles(layers: MapLayers) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=COLOURS["area_face"], edgecolor="black",
              label=f"study area ({_place(layers.area_name)})"),
        Line2D([], [], ls="", marker="s", ms=9, color=COLOURS["settlement"],
               label="settlement (marker area ~ dogs)"),
    ]  # fmt: skip
    if (layers.sites["kind"] == "release").any():
        handles.append(Line2D([], [], ls="", marker="P", ms=10, color=COLOURS["release"],
                              markeredgecolor="black", label="release enclosure"))  # fmt: skip
    for species in FELIDS:
        rows = layers.felids[layers.felids["species"] == species]
        if rows.empty:
            continue
        name = species_label(species, layers.names)
        radius = float(rows["radius_km"].median())
        n_det = int(rows["detected"].sum())
        n_sim = len(rows) - n_det
        texts = [f"{name}: {n_det} placed from detections", f"{name}: {n_sim} simulated"]
        first = 0 if n_det else 1
        texts[first] += f" (home range radius {radius:.0f} km)"
        if n_det:
            handles.append(
                Line2D([], [], ls="", marker="*", ms=11, color=COLOURS[species],
                       markeredgecolor="black", label=_wrap(texts[0]))
            )  # fmt: skip
        if n_sim:
            handles.append(
                Patch(facecolor=COLOURS[species], alpha=0.3, edgecolor=COLOURS[species],
                      ls=":", label=_wrap(texts[1]))
            )  # fmt: skip
    sampling = layers.sampling
    if len(sampling):
        handles.append(
            Line2D([], [], ls="", marker="^", ms=9, color=COLOURS["sampling"],
                   label=_wrap("sampling site at the mean of its samples: observed "
                               "seroprevalence (n tested)"))
        )  # fmt: skip
    if (sampling["position"] == "settlement").any():
        handles.append(
            Line2D([], [], ls="", marker="^", ms=9, markerfacecolor="white",
                   markeredgecolor=COLOURS["sampling"], markeredgewidth=1.5,
                   label=_wrap("sampling site placed at its settlement (samples without "
                               "coordinates)"))
        )  # fmt: skip
    return handles


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width))


def _dog_marker_area(dogs: pd.Series) -> np.ndarray:
    return 20.0 + 2.0 * dogs.to_numpy(float)


def _place(name: str) -> str:
    return str(name).replace("_", " ")


def _degrees(layers: MapLayers) -> str:
    lat, lon = layers.origin_latitude, layers.origin_longitude
    return f"{abs(lat):.2f}°{'N' if lat >= 0 else 'S'}, {abs(lon):.2f}°{'E' if lon >= 0 else 'W'}"


def _extent(layers: MapLayers) -> tuple[float, float, float, float]:
    """Axis limits on whole multiples of 5 km: the study area plus anything drawn outside it."""
    xs = [0.0, layers.width_km, *layers.sites["x"], *layers.sampling["x"]]
    ys = [0.0, layers.height_km, *layers.sites["y"], *layers.sampling["y"]]
    f = layers.felids
    if len(f):
        xs += [*(f["x"] - f["radius_km"]), *(f["x"] + f["radius_km"])]
        ys += [*(f["y"] - f["radius_km"]), *(f["y"] + f["radius_km"])]
    x0, x1 = min(xs) - 3, max(xs) + 3
    y0, y1 = min(ys) - 3, max(ys) + 3
    return (5 * math.floor(x0 / 5), 5 * math.ceil(x1 / 5), 5 * math.floor(y0 / 5),
            5 * math.ceil(y1 / 5))  # fmt: skip


def _scale_bar(ax: Any, x0: float, x1: float, y0: float, y1: float) -> None:
    bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([bx, bx + SCALE_BAR_KM], [by, by], color="black", lw=3, solid_capstyle="butt",
            zorder=9)  # fmt: skip
    ax.text(bx + SCALE_BAR_KM / 2, by + 0.012 * (y1 - y0), f"{SCALE_BAR_KM} km", ha="center",
            va="bottom", fontsize=8, zorder=9)  # fmt: skip


def _north_arrow(ax: Any) -> None:
    ax.annotate("N", xy=(0.96, 0.97), xytext=(0.96, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=10, fontweight="bold", zorder=9,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5})  # fmt: skip
