"""The report in the order of the OIE/IUCN Manual (Jakob-Hoff et al. 2014): sections in order,
the problem description and monitoring from config/dra.yaml, placeholder hazards flagged in
their rows, translocation release apart from destination hazards, the assumptions register
sorted with labels, scenario and number words a vet reads."""

from __future__ import annotations

import re
from html import unescape

import dra_synthetic as synth
import pytest
import yaml
from conftest import REPO_ROOT
from test_report import SCENARIO_SPECS, report_data, write_synthetic_report

from disease_risk.config import ConfigFileError
from disease_risk.report.dra import (
    PLACEHOLDER_ROW,
    assumptions_register,
    load_dra,
    placeholder_hazards,
    risk_assessment,
    scenario_label,
    scenario_labels,
)
from disease_risk.report.html import format_cell
from disease_risk.report.words import count, number, pct
from disease_risk.risk.hazards import load_hazards

MANUAL_HEADINGS = (
    "Summary in plain language", "1. Problem description", "2. Hazard identification",
    "3. Risk assessment", "4. Risk estimation", "5. Risk management",
    "6. Implementation and review", "7. Risk communication", "8. Assumptions register",
    "Appendix A. Glossary", "Appendix B. Serology", "Appendix C. Calibration",
    "Appendix D. Sensitivity", "Appendix E. CDV lineages", "Appendix F. Contact network",
    "Appendix G. Scenario comparison", "Appendix H. Model diagnostics", "Appendix I. Provenance",
)  # fmt: skip


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> str:
    return write_synthetic_report(tmp_path_factory.mktemp("dra")).read_text(encoding="utf-8")


def section(page: str, name: str) -> str:
    """The text of one ``<section id=name>`` (up to the next top-level section)."""
    start = page.index(f'<section id="{name}"')
    end = page.find("<section id=", start + 1)
    return page[start:end if end > 0 else None]


def rows(part: str) -> list[str]:
    """The screen table rows of an HTML part, as text with cells joined by ' | '."""
    part = re.sub(r'<div class="print-only">.*?</div></div>', "", part, flags=re.S)
    return [unescape(" | ".join(re.findall(r"<td[^>]*>(.*?)</td>", r)))
            for r in re.findall(r"<tr>(.*?)</tr>", part, re.S) if "<td" in r]


def test_sections_follow_the_manuals_order(html):
    headings = [unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", html)]
    positions = [next(i for i, h in enumerate(headings) if h.startswith(want))
                 for want in MANUAL_HEADINGS]
    assert positions == sorted(positions), headings
    assert html.index('id="summary"') < html.index('id="problem"')  # the vet reads it first


def test_problem_description_and_monitoring_come_from_dra_yaml(html):
    dra = load_dra(REPO_ROOT / "config/dra.yaml")
    problem = unescape(section(html, "problem"))
    assert " ".join(dra["problem_description"]["question"].split()) in " ".join(problem.split())
    assert "Zoo-born Far Eastern leopards" in problem
    assert "<b>Far Eastern (Amur) leopard</b>: target" in problem  # registry names
    assert "Jakob-Hoff et al. 2014" in problem
    review = unescape(section(html, "implementation"))
    assert "within 20 km of the release enclosure" in review
    trigger = dra["implementation_and_review"]["triggers"][0]["action"]
    assert " ".join(trigger.split()) in " ".join(review.split())
    assert "District veterinary service" in unescape(section(html, "communication"))


def test_a_dra_file_that_breaks_its_schema_is_refused(tmp_path):
    broken = yaml.safe_load((REPO_ROOT / "config/dra.yaml").read_text())
    del broken["problem_description"]["question"]
    broken["risk_communication"]["audiences"][0]["when"] = ""
    path = tmp_path / "dra.yaml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(ConfigFileError, match=r"dra\.schema\.yaml") as err:
        load_dra(path)
    assert "question" in str(err.value) and "when" in str(err.value)


def test_placeholder_hazards_say_so_in_their_rows(html):
    placeholders = placeholder_hazards(load_hazards(REPO_ROOT / "config/hazards.yaml"))
    assert "fpv" in placeholders and "cdv" not in placeholders
    hazards = rows(section(html, "hazards"))
    fpv = next(r for r in hazards if r.startswith("Feline panleukopenia"))
    cdv = next(r for r in hazards if r.startswith("Canine distemper virus"))
    assert PLACEHOLDER_ROW in fpv and "PLACEHOLDER" not in cdv
    assessed = [r for r in rows(section(html, "assessment")) if "panleukopenia" in r]
    assert assessed and all("PLACEHOLDER ratings" in r for r in assessed)
    rated = [r for r in rows(section(html, "estimation")) if r.startswith("Rabies")]
    assert rated and all(r.endswith("PLACEHOLDER (not reviewed)") for r in rated)


def test_release_of_moved_animals_is_kept_apart_from_destination_hazards():
    data, settings = report_data()
    labels = scenario_labels(SCENARIO_SPECS, [], data.names)
    names = {"cdv": "CDV", "fpv": "FPV", "fiv": "FIV", "chlamydophila": "Chlamydophila"}
    moved = risk_assessment(data.estimation, settings, data.names, labels, {"fpv"}, True, names)
    there = risk_assessment(data.estimation, settings, data.names, labels, {"fpv"}, False, names)
    assert set(moved["hazard"]) == {"FPV", "FIV", "Chlamydophila"}  # carried by zoo leopards
    assert set(moved["pathway"]) == {"release of zoo-born leopards"}
    released = there[there["target"] == "Far Eastern (Amur) leopard (released)"].iloc[0]
    assert released["hazard"] == "CDV"  # the released group meets CDV at the destination
    assert released["chance of infection (95% interval)"] == (
        "moderate: 25% (19% to 31%); Monte Carlo error +/- 6.0 points")
    row = data.estimation[data.estimation["target_species"] == "amur_leopard_released"].iloc[0]
    assert released["consequence"] == (  # the risk stage's numbers, in words
        f"{row.consequence}: median {count(row.deaths_median)} deaths, up to "
        f"{count(row.deaths_hi95)} of {count(row.population_size)} ({pct(row.share_lost_hi95)}) "
        "in the worst 2.5%")
    assert "'release 10 zoo-born Far Eastern (Amur) leopards at the release enclosure'" in (
        released["evidence"])
    dogs = there[(there["hazard"] == "CDV") & (there["pathway"] == "village dogs")].iloc[0]
    assert dogs["release"] == "high: 100% (99% to 100%)"
    assert "domestic dog (464 tested, 27% (23% to 31%) have met CDV)" in dogs["evidence"]


def test_words_from_serology_are_marked_with_n_and_interval(html):
    """Section 3 shows which words come from data (median, 95% interval, n) and which are
    judgement; section 2 says the hazard is assessed partly from serology."""
    data, settings = report_data()
    labels = scenario_labels(SCENARIO_SPECS, [], data.names)
    there = risk_assessment(data.estimation, settings, data.names, labels, set(), False,
                            {"toxoplasma": "Toxoplasmosis"})
    toxo = there[there["hazard"] == "Toxoplasmosis"]
    tiger = toxo[toxo["target"] == "Amur tiger"].iloc[0]
    assert tiger["release"] == "moderate: 10% (0% to 20%) [from serology, median, n = 30]"
    assert tiger["exposure"] == "moderate: 32% (22% to 43%) [from serology, median, n = 40]"
    leopard = toxo[toxo["target"] == "Far Eastern (Amur) leopard"].iloc[0]
    assert leopard["exposure"] == "moderate [judgement (no serology)]"
    assert "Release and exposure from this run's serology" in leopard["evidence"]
    fpv = there[there["hazard"] == "fpv"].iloc[0]
    assert fpv["release"].endswith("[judgement (no serology)]")
    identified = [r for r in rows(section(html, "hazards")) if r.startswith("Toxoplasmosis")]
    assert identified and "from this run's serology where it exists" in identified[0]


def test_assumptions_register_is_sorted_by_the_first_target_and_shows_labels(html):
    register = synth.assumptions_register()
    shown = assumptions_register(register, ["amur_leopard", "amur_tiger"], synth.species_names())
    assert list(shown["assumption"]) == [
        "p transmission: felid predation mesocarnivores", "case fatality: red fox"]
    assert list(shown["range"]) == ["0.01 to 1", "0.3 to 0.7"]
    assert list(shown["serology"]) == ["not identified (prior)",
                                       "not informed (drawn from its range)"]
    assert list(shown["moves Far Eastern (Amur) leopard's chance of infection"]) == [
        "20.0 points", "5.0 points"]
    tiger_first = assumptions_register(register, ["amur_tiger"], synth.species_names())
    assert list(tiger_first.columns[-2:]) == ["moves Amur tiger's chance of infection",
                                              "moves Far Eastern (Amur) leopard's chance of "
                                              "infection"]
    in_html = rows(section(html, "assumptions"))
    assert in_html[0].startswith("p transmission: felid predation mesocarnivores | contact rule")
    assert in_html[1].startswith("case fatality: red fox | disease | 0.3 to 0.7")


def test_scenarios_read_as_labels_or_what_they_do(html):
    names = synth.species_names()
    assert scenario_label("leopard_vaccination_5_per_year",
                          {"vaccinate_per_year": {"amur_leopard": 5}}, names) == (
        "vaccinate 5 Far Eastern (Amur) leopards a year")
    assert scenario_label("dog_vaccination_30", {"vaccination_coverage": {"domestic_dog": 0.3}},
                          names) == "vaccinate 30% of domestic dogs"
    assert scenario_label("x", {"label": "Pre-release vaccination"}, names) == (
        "Pre-release vaccination")
    assert scenario_label("reactive_ring", {}, names) == "reactive ring"
    vaccinated = {"release": {"species": "amur_leopard", "n": 1, "site": "pen", "vaccinated": True}}
    assert scenario_label("r", vaccinated, names) == (
        "release 1 zoo-born Far Eastern (Amur) leopard at the pen, vaccinated before release")
    management = rows(section(html, "management"))
    assert any(r.startswith("1 | vaccinate 5 Far Eastern (Amur) leopards a year | Far Eastern")
               and "| -20.0 (-25.6 to -14.4) | +/- 5.6 |" in r for r in management)
    assert "leopard_vaccination_5" not in section(html, "summary")


@pytest.mark.parametrize(("value", "text"), [
    (3940.2, "3,940"), (-0.0, "0"), (0.0, "0"), (1e-12, "0"), (0.000123, "0.000123"),
    (0.0123456, "0.0123"), (12.345, "12.3"), (464.0, "464"), (2.0, "2"), (-0.5, "-0.5"),
])  # fmt: skip
def test_numbers_are_written_for_people(value, text):
    assert number(value) == text
    assert format_cell(value) == text
    assert "e+" not in format_cell(39400000.0) and format_cell(float("nan")) == ""
