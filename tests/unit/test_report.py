"""The HTML report: summary generated from the numbers, warning banner, self-contained, and a real
headless-chromium check (summary, tables and every figure present and visible)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import browser_check
import dra_synthetic as synth
import pytest
from conftest import REPO_ROOT

from disease_risk.report.data import ReportData, SpeciesNames
from disease_risk.report.dra import scenario_labels
from disease_risk.report.figures import REPORT_FIGURES
from disease_risk.report.provenance import provenance_paths, read_provenance, simulated_inputs
from disease_risk.report.stage import provenance, report_html
from disease_risk.report.summary import plain_summary
from disease_risk.risk.conclusions import build_conclusions
from disease_risk.risk.estimation import build_risk_estimation
from disease_risk.risk.evidence import latest_foi, species_prevalence
from disease_risk.risk.hazards import build_hazards
from disease_risk.risk.management import build_risk_management
from disease_risk.risk.scales import RiskSettings
from disease_risk.risk.stage import risk_tables
from disease_risk.tables import read_table, write_table

REPO = REPO_ROOT
RISK_OUTPUTS = ("hazards", "risk_estimation", "risk_management", "risk_management_long_horizon",
                "losses", "conclusions")


def report_data(unreliable: bool = False, risk_config: dict | None = None
                ) -> tuple[ReportData, RiskSettings]:
    settings = RiskSettings.from_config(risk_config or synth.risk_config())
    diagnostics = synth.diagnostics(unreliable)
    estimation = build_risk_estimation(
        hazards=synth.hazards(), settings=settings, transmission=synth.transmission_summary(),
        replicates={s: synth.replicates(s) for s in synth.SCENARIOS},
        prevalence=species_prevalence(synth.prevalence_summary()),
        foi=latest_foi(synth.force_of_infection()), diagnostics=diagnostics,
        network_summary=synth.network_summary(), hazard_serology=synth.hazard_serology(),
    )
    management = build_risk_management(
        synth.transmission_summary(), settings,
        replicates={s: synth.replicates(s) for s in synth.SCENARIOS},
        network_summary=synth.network_summary(),
    )
    data = ReportData(
        hazards=build_hazards(synth.hazards(), synth.hazard_serology()), estimation=estimation,
        management=management,
        conclusions=build_conclusions(estimation, management, diagnostics, settings),
        prevalence=synth.prevalence_summary(), foi=synth.force_of_infection(),
        diagnostics=diagnostics, lineages=synth.lineages(), network=synth.network_summary(),
        transmission=synth.transmission_summary(), names=synth.species_names(),
        scenario_labels=scenario_labels(SCENARIO_SPECS, [], synth.species_names()),
    )
    return data, settings


def write_synthetic_run(root: Path, unreliable: bool = False) -> dict:
    """Synthetic upstream results, then the risk and provenance entry points as the pipeline
    runs them; returns the report rule's inputs."""
    inputs = synth.write_upstream(root, unreliable)
    risk_files = {name: root / f"results/risk/{name}.tsv" for name in RISK_OUTPUTS}
    risk_tables(  # its own assumptions register aside: the report shows the synthetic one
        {**inputs, "hazards": REPO / "config/hazards.yaml"},
        {**risk_files, "workbook": root / "results/risk/dra_tables.xlsx",
         "assumptions": root / "results/risk/assumptions_register_risk_stage.tsv",
         "surveillance": root / "results/risk/surveillance_plan.tsv"},
        {"risk": synth.risk_config(), "scenarios": list(synth.SCENARIOS), "threads": 1,
         "horizon_years": 3, "long_horizon_years": 20},
    )
    record = provenance_paths(root / "results/provenance")
    provenance({"files": [REPO / "config/hazards.yaml"]}, record,
               {"config": {"seed": 1, "hazards_file": "config/hazards.yaml"}, "threads": 1})
    return {
        **inputs, "hazards": risk_files["hazards"], "estimation": risk_files["risk_estimation"],
        "management": risk_files["risk_management"], "conclusions": risk_files["conclusions"],
        "management_long_horizon": risk_files["risk_management_long_horizon"],
        "losses": risk_files["losses"],
        "species": synth.species_file(), "provenance": list(record.values()),
        "dra": REPO / "config/dra.yaml", "hazard_list": REPO / "config/hazards.yaml",
        "surveillance": root / "results/risk/surveillance_plan.tsv",
    }


SCENARIO_SPECS = {  # the synthetic run's scenarios as config/config.yaml would give them
    "baseline": {}, "dog_vaccination_70": {"vaccination_coverage": {"domestic_dog": 0.7}},
    "leopard_vaccination_5": {"vaccinate_per_year": {"amur_leopard": 5}},
    "leopard_release": {"release": {"species": "amur_leopard", "n": 10,
                                    "site": "release_enclosure"}},
}


def render(root: Path, inputs: dict) -> Path:
    """The report entry point on ``inputs``; returns the written HTML."""
    outputs = {
        "html": root / "results/report/report.html",
        "figures": [root / f"results/report/figures/{name}.png" for name in REPORT_FIGURES],
    }
    params = {"risk": synth.risk_config(), "threads": 1, "horizon_days": None,
              "report": {"title": "CDV risk (synthetic test data)"}, "scenarios": SCENARIO_SPECS}
    return report_html(inputs, outputs, params)


def write_synthetic_report(root: Path, unreliable: bool = False) -> Path:
    return render(root, write_synthetic_run(root, unreliable))


def test_summary_answers_the_four_questions_from_the_numbers():
    data, settings = report_data()
    answers = {item["question"]: item["answer"] for item in plain_summary(data, settings)}
    assert next(iter(answers)) == "How much CDV is there?"
    assert "domestic dog: about 27%" in answers["How much CDV is there?"]
    assert "464 tested" in answers["How much CDV is there?"]
    likely = answers["How likely is CDV to reach the Far Eastern (Amur) leopard population?"]
    assert "at least one Far Eastern (Amur) leopard is infected" in likely
    assert "is 40% (95% interval over the plausible parameter values 33% to 47%)" in likely
    assert "about 6 or more in the worst 2.5%" in likely
    assert "most likely route is wild mesocarnivores" in likely  # 3/4 of the infection chains
    helps = answers["What helps most?"]
    assert helps.startswith("'vaccinate 5 Far Eastern (Amur) leopards a year' helps most")
    assert "from 40% to" in helps
    sure = answers["How sure are we?"]
    assert "All model fits passed" in sure
    assert "medium for village dogs (serology 95% interval 0.9x its median)" in sure


def test_species_names_come_from_the_registry_and_targets_from_config():
    names = synth.species_names()
    assert names("amur_tiger") == "Amur tiger"
    assert names("amur_leopard_released") == "Far Eastern (Amur) leopard (released)"
    assert names("snow_leopard") == "snow leopard"  # not in the registry: the key, readable
    cfg = synth.risk_config()
    cfg["targets"] = ["amur_tiger", "amur_leopard"]
    data, settings = report_data(risk_config=cfg)
    data.names = SpeciesNames({**names.common, "amur_tiger": "tigre de l'Amour"})
    questions = [item["question"] for item in plain_summary(data, settings)]
    assert questions[1] == "How likely is CDV to reach the tigre de l'Amour population?"


def test_summary_states_the_risk_stage_conclusions():
    """The report says what conclusions.tsv says (it does not recompute the verdicts)."""
    data, settings = report_data()
    changed = data.conclusions.copy()
    changed.loc[0, ["fits_reliable", "failed_fit_checks"]] = ["no", 3]
    changed.loc[0, ["overall_risk", "best_scenario"]] = ["high", ""]
    data.conclusions = changed
    answers = [item["answer"] for item in plain_summary(data, settings)]
    assert "Overall DRA risk level: high" in answers[1]
    assert "WARNING: 3 model fit check(s) failed" in answers[2]
    assert answers[3].startswith("No simulated intervention clearly lowered the chance of "
                                 "Far Eastern (Amur) leopard infection: the largest estimated "
                                 "drop, 'vaccinate 5 Far Eastern (Amur) leopards a year'")


def test_unreliable_fit_shows_warning(tmp_path):
    data, settings = report_data(unreliable=True)
    answers = plain_summary(data, settings)
    assert "WARNING: 1 model fit check(s) failed" in answers[2]["answer"]
    html = write_synthetic_report(tmp_path / "bad", unreliable=True).read_text()
    assert 'id="fit-warning"' in html and "Unreliable fit: 1 check(s) failed" in html
    good = write_synthetic_report(tmp_path / "good").read_text()
    assert 'id="fit-warning"' not in good and "All model fits passed" in good


def test_report_is_self_contained_with_decodable_figures(tmp_path):
    from PIL import Image

    html = write_synthetic_report(tmp_path).read_text()
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html), "external resource"
    assert "<link" not in html and "<script" not in html
    sources = re.findall(r'<img alt="[^"]*" src="([^"]+)"', html)
    # + the lineage tree, - the study map (the synthetic run has no network or samples)
    assert len(sources) == len(REPORT_FIGURES)
    assert 'alt="Map of the study area"' not in html
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            assert image.size[0] > 100
    for name in REPORT_FIGURES:
        assert (tmp_path / f"results/report/figures/{name}.png").stat().st_size > 1000
    for section in browser_check.SECTIONS:
        assert f'<section id="{section}"' in html
    assert "SHA-256" in html and "hazards.yaml" in html
    assert "Posterior predictive checks: 1 of 1 observed counts" in html


def test_report_says_where_to_sample_next_season(tmp_path):
    html = write_synthetic_report(tmp_path).read_text()
    start = html.index('<section id="implementation"')
    section = html[start:html.index('<section id="communication"')]
    assert "Where to sample next season" in section
    plan = read_table(tmp_path / "results/risk/surveillance_plan.tsv", text_columns=["site"])
    assert len(plan) == 18  # 6 species x (2 sites + all sites), over all years
    assert "more to test" in section
    for species in plan["species"]:
        assert synth.species_names()(species) in section


def test_report_reads_the_provenance_record(tmp_path):
    """Checksums, config and run date come from results/provenance/, not recomputed."""
    inputs = write_synthetic_run(tmp_path)
    files = {Path(p).name: Path(p) for p in inputs["provenance"]}
    record = read_provenance(inputs["provenance"])
    checksums = record.checksums.copy()
    checksums.loc[len(checksums)] = ["config/recorded_only.csv", 12, "ab" * 32]
    write_table(checksums, files["input_checksums.tsv"])
    run = files["run.yaml"]
    run.write_text(run.read_text().replace(record.run["run_date_utc"], "1999-12-31T23:59:59Z"))
    html = render(tmp_path, inputs).read_text()
    assert "config/recorded_only.csv" in html and "ab" * 32 in html
    assert "Run 1999-12-31T23:59:59Z" in html


def test_simulated_inputs_are_marked_by_file_or_folder_name():
    paths = [
        "config/samples/SIMULATED_village_dogs.csv", "config/samples/lab_2026.csv",
        "data/simulated_2025/tigers.tsv", "/data/refs/SIMULATED_panel.fasta",
        "config/sequences/README.md", "config/samples/not_SIMULATED_yet.csv",
    ]
    assert simulated_inputs(paths) == [
        "/data/refs/SIMULATED_panel.fasta", "config/samples/SIMULATED_village_dogs.csv",
        "data/simulated_2025/tigers.tsv",
    ]


def test_simulated_banner_names_the_simulated_inputs_and_only_then(tmp_path):
    inputs = write_synthetic_run(tmp_path)
    real = render(tmp_path, inputs).read_text()
    assert 'id="simulated-banner"' not in real and '<div class="banner simulated"' not in real
    checksums_file = next(p for p in inputs["provenance"] if Path(p).name ==
                          "input_checksums.tsv")
    checksums = read_provenance(inputs["provenance"]).checksums
    checksums.loc[len(checksums)] = ["config/samples/SIMULATED_dogs.csv", 12, "ab" * 32]
    write_table(checksums, checksums_file)
    marked = render(tmp_path, inputs).read_text()
    banner = re.search(r'<div class="banner simulated" id="simulated-banner">(.*?)</div>',
                       marked, re.S)
    assert banner, "no SIMULATED banner"
    assert marked.index('id="simulated-banner"') < marked.index('id="summary"')  # at the top
    text = banner.group(1)
    assert "not for decisions" in text and "1 input file(s) are marked simulated" in text
    assert "<code>config/samples/SIMULATED_dogs.csv</code>" in text
    assert "hazards.yaml" not in text


def test_report_renders_in_chromium(tmp_path):
    html = write_synthetic_report(tmp_path)
    checks = browser_check.assert_report_renders(html, tmp_path)
    assert len(checks["images"]) == len(REPORT_FIGURES)  # + tree, - map (no network here)




@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), ("", "skip")])
def test_missing_chromium_skips_with_reason_or_fails_on_ci(monkeypatch, ci, outcome):
    monkeypatch.setattr(browser_check.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser_check.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="chromium is not installed"):
        browser_check.chromium_or_skip()
