"""The tables passed between pipeline stages: their columns, one writer and one reader.

Every TSV under ``results/`` is written by :func:`write_table` (tab-separated, UTF-8, ``\\n``,
floats to 6 significant digits, empty cell for a missing value), so the same inputs give the same
bytes, and read back by :func:`read_table` (empty cell -> missing; text codes such as ``all`` or
``constant`` stay text). The samples table carries types and is read by :func:`read_samples`.
Lab staff open these files in spreadsheets, so text that starts like a formula (``=cmd|...``
from a sheet or a config) is written with a leading ``'`` (:func:`as_text_cell`) and the
readers remove it again: the file shows text, the pipeline reads the value as written.
Column names live here and nowhere else; a stage that reads a table uses these names, not
aliases.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

FLOAT_FORMAT = ".6g"

# --- intake -----------------------------------------------------------------------------------
SAMPLE_COLUMNS = (
    "sample_id", "animal_id", "species", "species_role", "site", "collection_date", "year",
    "assay", "pathogen", "result_raw", "titre", "titre_qualifier", "result", "age_years",
    "birth_year", "sex", "latitude", "longitude", "lab", "vaccinated", "sample_type",
    "sequence_id", "notes", "source_file", "source_row",
)  # fmt: skip
SAMPLE_INT_COLUMNS = ("year", "birth_year", "source_row")
SAMPLE_FLOAT_COLUMNS = ("titre", "age_years", "latitude", "longitude")
COORDINATE_DECIMALS = 6  # latitude/longitude in samples.tsv: decimal degrees to 1e-6 (~0.1 m)
REJECTED_COLUMNS = ("file", "row", "column", "value", "reason")
INTAKE_SUMMARY_COLUMNS = ("grouping", "value", "rows", "accepted", "rejected", "duplicates")

# --- field data (intake/camtrap_dp.py, movebank.py, smart_patrol.py) --------------------------
# One row per identified animal, from camera traps or GPS collars: the estimator is in `method`.
HOME_RANGE_COLUMNS = (
    "individual_id", "species", "scientific_name", "source", "method", "fixes",
    "fixes_in_polygon", "first_fix", "last_fix", "centre_latitude", "centre_longitude",
    "area_km2", "note",
)  # fmt: skip
# One detection of an identified animal (a camera-trap observation with individualID).
DETECTION_COLUMNS = (
    "individual_id", "species", "scientific_name", "deployment_id", "latitude", "longitude",
    "timestamp", "observation_id",
)  # fmt: skip
# Unidentified camera-trap detections: per deployment and species, per 100 camera-days.
ENCOUNTER_RATE_COLUMNS = (
    "deployment_id", "location_name", "latitude", "longitude", "species", "scientific_name",
    "detections", "animals_counted", "camera_days", "detections_per_100_days",
)  # fmt: skip
# Wildlife densities from camera traps (random encounter model), one row per species.
CAMERA_DENSITY_COLUMNS = (
    "species", "cameras", "camera_days", "detections", "detections_per_100_days",
    "day_range_km", "density_per_km2", "density_lo95", "density_hi95",
    "configured_density_per_km2", "used", "reason",
)  # fmt: skip
# SMART patrols: every observation, then the two tables the category mapping fills.
PATROL_OBSERVATION_COLUMNS = (
    "patrol_id", "leg_id", "waypoint_id", "date", "time", "month", "x", "y", "place",
    "category", "event", "species", "species_item", "count", "source_file",
)  # fmt: skip
PASSIVE_SURVEILLANCE_COLUMNS = ("event", "species", "species_item", "place", "month",
                                "observations", "animals")
DOG_SIGHTING_COLUMNS = ("place", "month", "sightings", "dogs")
UNMAPPED_CATEGORY_COLUMNS = ("category", "observations", "reason")

# --- serology ---------------------------------------------------------------------------------
PREVALENCE_COLUMNS = (
    "species", "site", "year", "n_tested", "n_positive", "apparent_prevalence",
    "true_prevalence_median", "true_prevalence_lo95", "true_prevalence_hi95",
)  # fmt: skip
FOI_COLUMNS = ("species", "year", "foi_median", "foi_lo95", "foi_hi95")
# Every pathogen's species-level true seroprevalence (rule hazard_serology_summary; the risk stage
# reads it): one row per pathogen x species, or one row with the reason a pathogen has none.
HAZARD_SEROLOGY_COLUMNS = (
    "pathogen", "species", "n_tested", "n_positive", "apparent_prevalence",
    "true_prevalence_median", "true_prevalence_lo95", "true_prevalence_hi95", "fit_reliable",
    "note",
)  # fmt: skip
DIAGNOSTIC_COLUMNS = (
    "section", "model", "item", "rhat_max", "ess_bulk_min", "ess_tail_min", "divergences",
    "sampler", "target_accept", "seconds", "reliable", "count", "observed", "replicated_median",
    "replicated_lo95", "replicated_hi95", "ppp",
)  # fmt: skip
# Diagnostics row (section "settings") of the force-of-infection model's time grid: count = the
# grid used (months), observed = the configured one
FOI_TIME_GRID_ITEM = "time grid (months)"

# --- sequences --------------------------------------------------------------------------------
LINEAGE_COLUMNS = (
    "sequence_id", "sample_id", "species", "nearest_reference", "identity", "runner_up",
    "lineage",
)  # fmt: skip
LINEAGE_EXTRA_COLUMNS = (
    "qc_flags", "lineage_name", "nearest_lineage", "nearest_sublineage", "runner_up_identity",
    "runner_up_lineage", "sublineage_call", "call_basis", "lineage_distance", "spread_limit",
    "margin_ratio", "coverage", "covered_start", "covered_end", "length",
    "ambiguous_bases", "marker_flags", "source_file", "record",
)  # fmt: skip
UNMATCHED_COLUMNS = ("issue", "sequence_id", "sample_id", "source_file", "record", "detail")

# --- transmission -----------------------------------------------------------------------------
RELEASED_SUFFIX = "_released"  # species value of a released group in scenario tables
REACTIVE_DETECTION = "reactive_detection_probability"  # replicate column: a case detected
NODE_COLUMNS = ("node", "species", "site", "x", "y", "home_range_km2", "origin")
ARC_COLUMNS = ("source", "target", "weight", "transmission_rate", "rules")
NETWORK_SUMMARY_COLUMNS = ("metric", "species_a", "species_b", "value")
TRANSMISSION_SUMMARY_COLUMNS = (
    "scenario", "species", "replicates", "parameter_sets", "population",
    "p_any_infection", "p_any_infection_mcse", "p_any_infection_lo95", "p_any_infection_hi95",
    "infected_median", "infected_median_mcse",
    "infected_hi95", "infected_hi95_mcse", "deaths_median", "deaths_median_mcse",
    "deaths_hi95", "deaths_hi95_mcse",
    "p_any_death", "p_any_death_mcse", "p_any_death_lo95", "p_any_death_hi95",
    "days_to_first_case_median", "days_to_first_case_median_mcse",
    "background_deaths_median", "background_deaths_median_mcse",
    "births_median", "births_median_mcse",
    "main_source", "main_source_share", "main_origin", "main_origin_share",
)  # fmt: skip
# Replicate-table columns of who infected whom (one pair per target group and source/origin).
OUTSIDE_SOURCE = "outside"  # infection entering from beyond the modelled landscape (spillover)
INDEX_SOURCE = "index_case"  # animals a scenario infects at day 0


def source_column(target: str, source: str) -> str:
    """Infections of ``target`` caused directly by ``source`` (a species, outside, index case)."""
    return f"infections_{target}_from_{source}"


def origin_column(target: str, origin: str) -> str:
    """Infections of ``target`` in chains started by spillover into, or an index case of,
    species ``origin``."""
    return f"infections_{target}_origin_{origin}"


def p_transmission_column(rule: str) -> str:
    """A contact rule's transmission probability (replicate and calibration tables)."""
    return f"p_transmission_{rule}"


def contact_rate_factor_column(rule: str) -> str:
    """A factor on a contact rule's ``rate_per_year`` (sensitivity analysis; 1 otherwise)."""
    return f"contact_rate_factor_{rule}"


def outside_infection_column(species: str) -> str:
    """A species' annual rate of infection from beyond the landscape (replicate and
    calibration tables)."""
    return f"outside_infection_{species}"


# --- calibration ------------------------------------------------------------------------------
CALIBRATION_PARAMETER_COLUMNS = (
    "parameter", "kind", "name", "prior_low", "prior_high", "posterior_median",
    "posterior_lo90", "posterior_hi90", "width_ratio", "identified", "source",
)  # fmt: skip
FOI_FIT_COLUMNS = (
    "species", "serology_foi_median", "serology_foi_lo95", "serology_foi_hi95",
    "simulated_foi_median", "simulated_foi_lo95", "simulated_foi_hi95", "agrees", "verdict",
)  # fmt: skip
CALIBRATION_PROGRESS_COLUMNS = (
    "generation", "tolerance", "simulations", "acceptance_rate", "ess",
)  # fmt: skip
# One row per model output and assumption: Morris screening (transmission/sensitivity.py).
SENSITIVITY_COLUMNS = (
    "output", "parameter", "label", "kind", "low", "high", "mu", "mu_star", "mu_star_conf",
    "sigma", "rank", "source",
)  # fmt: skip


# --- risk -------------------------------------------------------------------------------------
HAZARD_COLUMNS = (
    "hazard", "name", "agent", "kind", "assessment", "affected_species", "pathways",
    "why_included", "sources",
)  # fmt: skip
ESTIMATION_COLUMNS = (
    "hazard", "target_species", "pathway", "basis", "scenario", "source_species",
    "release_probability", "release_lo95", "release_hi95", "release_likelihood",
    "release_basis", "exposure_probability", "exposure_lo95", "exposure_hi95",
    "exposure_likelihood", "exposure_basis",
    "infection_probability", "infection_lo95", "infection_hi95", "infection_mcse",
    "likelihood", "target_p_any_infection", "infection_share",
    "infection_by_source", "infection_by_source_lo95", "infection_by_source_hi95",
    "infection_by_origin", "infection_by_origin_lo95", "infection_by_origin_hi95",
    "deaths_median", "deaths_hi95", "population_size", "share_lost_hi95", "consequence",
    "consequence_basis", "risk", "uncertainty", "uncertainty_reasons",
    "serology_species", "target_n_tested", "source_n_tested", "source_prevalence_median",
    "source_prevalence_lo95", "source_prevalence_hi95", "source_foi_median", "source_foi_lo95",
    "source_foi_hi95", "method",
)  # fmt: skip
# One row per assumption (configured range): the DRA's assumptions register; then one column
# ``moves_infection_<target>`` per target species (Morris mu_star of its chance of infection).
ASSUMPTION_REGISTER_COLUMNS = (
    "assumption", "label", "kind", "low", "high", "where_it_enters", "serology", "source",
)  # fmt: skip


# Where to sample next season (risk/surveillance.py), ranked by what drives the risk.
SURVEILLANCE_PLAN_COLUMNS = (
    "rank", "species", "site", "n_tested", "true_prevalence_median", "true_prevalence_lo95",
    "true_prevalence_hi95", "samples_for_precision", "more_samples", "driving_assumption",
    "moves_infection",
)  # fmt: skip


def moves_infection_column(target: str) -> str:
    """How far an assumption moves ``target``'s chance of infection across its range."""
    return f"moves_infection_{target}"


MANAGEMENT_COLUMNS = (
    "scenario", "target_species", "compared_with", "option",
    "p_any_infection", "p_any_infection_lo95", "p_any_infection_hi95",
    "baseline_p_any_infection", "change_p_any_infection", "change_p_lo95", "change_p_hi95",
    "change_p_mcse",
    "days_to_first_case_median", "deaths_median", "deaths_hi95", "baseline_deaths_median",
    "change_deaths_mean", "change_deaths_lo95", "change_deaths_hi95", "change_deaths_mcse",
    "paired_replicates", "doses_mean", "deaths_averted_per_100_doses",
    "deaths_averted_per_100_doses_lo95", "deaths_averted_per_100_doses_hi95",
    "cost_mean", "cost_per_death_averted",
    "likelihood", "consequence", "risk", "baseline_risk", "rank",
)  # fmt: skip

# Chance of losing at least `animals` of a target species (the share of its population at which
# each consequence word starts), per scenario and horizon, with its interval over parameter sets.
LOSS_COLUMNS = (
    "horizon_years", "scenario", "target_species", "consequence", "share_of_population",
    "animals", "p_lose_at_least", "p_lose_lo95", "p_lose_hi95", "p_lose_mcse",
)  # fmt: skip

# One row per target species: what the report states (it never recomputes these).
CONCLUSION_COLUMNS = (
    "target_species", "overall_risk", "overall_likelihood", "overall_consequence",
    "overall_pathway", "main_pathway", "main_pathway_probability",
    "fits_reliable", "failed_fit_checks",
    "largest_drop_scenario", "largest_drop_change_p", "largest_drop_change_p_lo95",
    "largest_drop_change_p_hi95", "largest_drop_change_p_mcse", "best_scenario",
)  # fmt: skip
CONCLUSION_TEXT_COLUMNS = (
    "target_species", "overall_risk", "overall_likelihood", "overall_consequence",
    "overall_pathway", "main_pathway", "fits_reliable", "largest_drop_scenario", "best_scenario",
)  # fmt: skip


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def as_text_cell(value: str) -> str:
    """A text value as a TSV cell that a spreadsheet shows as text, never runs as a formula.

    Text starting like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return; longer than
    one character and not a number) gets a leading ``'``, the spreadsheets' own mark for
    "this is text"; so does text already starting with ``'``, so :func:`text_from_cell` gives
    back exactly what was written.
    """
    if value.startswith(TEXT_MARK):
        return TEXT_MARK + value
    if len(value) > 1 and value.startswith(FORMULA_STARTS):
        try:
            float(value)
        except ValueError:
            return TEXT_MARK + value
    return value


def text_from_cell(value: str) -> str:
    """The text a cell written by :func:`as_text_cell` holds."""
    return value[1:] if value.startswith(TEXT_MARK) else value


def format_float(value: object) -> str:
    """The one float rule of every result table: 6 significant digits, empty when missing."""
    if value is None or value == "" or pd.isna(value):
        return ""
    return format(float(value), FLOAT_FORMAT)


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write ``table`` as a result TSV (floats by :func:`format_float`, text by
    :func:`as_text_cell`; parents created)."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = [format_float(v) for v in out[column].tolist()]
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = [as_text_cell(v) if isinstance(v, str) else v
                           for v in out[column].tolist()]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep="\t", index=False, lineterminator="\n", encoding="utf-8")


def read_table(path: str | Path, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read a result TSV: empty cells are missing, ``text_columns`` stay strings, text cells
    marked by :func:`as_text_cell` come back as written."""
    table = pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        na_values=[""],
        dtype={c: str for c in text_columns},
        encoding="utf-8",
    )
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = [text_from_cell(v) if isinstance(v, str) else v
                             for v in table[column].tolist()]
    return table


def typed_samples(frame: pd.DataFrame) -> pd.DataFrame:
    """Samples with their types: Int64 years and rows, float titres/ages/coordinates, text."""
    frame = frame.copy()
    for column in frame.columns:
        if column in SAMPLE_INT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column]).astype("Int64")
        elif column in SAMPLE_FLOAT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
        else:
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), "").astype(str)
    return frame


def samples_as_text(samples: pd.DataFrame) -> pd.DataFrame:
    """The samples table as written: titre and age by the float rule, coordinates to 1e-6."""
    out = samples.copy()
    for column in ("titre", "age_years"):
        out[column] = [format_float(v) for v in out[column].tolist()]
    for column in ("latitude", "longitude"):
        out[column] = [
            "" if pd.isna(v) else format(round(float(v), COORDINATE_DECIMALS), ".10g")
            for v in out[column].tolist()
        ]
    for column in SAMPLE_INT_COLUMNS:
        out[column] = ["" if pd.isna(v) else str(int(v)) for v in out[column].tolist()]
    return out


def write_samples(samples: pd.DataFrame, path: str | Path) -> None:
    """Write ``results/samples/samples.tsv``."""
    write_table(samples_as_text(samples), path)


def read_samples(path: str | Path, required: Iterable[str] = ()) -> pd.DataFrame:
    """Read ``results/samples/samples.tsv`` with its types; a missing column is an error."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8")
    frame = frame.map(text_from_cell)
    missing = sorted(set(required) - set(frame.columns))
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return typed_samples(frame.replace("", None))
