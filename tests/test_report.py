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

from disease_risk.report import REPORT_FIGURES, ReportData, plain_summary, write_report
from disease_risk.risk import (
    RiskSettings,
    build_hazards,
    build_risk_estimation,
    build_risk_management,
    latest_foi,
    read_tsv,
    species_prevalence,
)

REPO = Path(__file__).resolve().parents[1]
TABLES = ("estimation", "management", "hazards", "prevalence", "foi", "diagnostics", "lineages",
          "network", "transmission")


def report_data(unreliable: bool = False) -> tuple[ReportData, RiskSettings]:
    settings = RiskSettings.from_config(synth.risk_config())
    diagnostics = synth.diagnostics(unreliable)
    estimation = build_risk_estimation(
        hazards=synth.hazards(), settings=settings, transmission=synth.transmission_summary(),
        prevalence=species_prevalence(synth.prevalence_summary()),
        foi=latest_foi(synth.force_of_infection()), diagnostics=diagnostics,
        network_summary=synth.network_summary(),
    )
    management = build_risk_management(
        synth.transmission_summary(), settings,
        replicates={s: synth.replicates(s) for s in synth.SCENARIOS},
        network_summary=synth.network_summary(),
    )
    data = ReportData(
        hazards=build_hazards(synth.hazards()), estimation=estimation, management=management,
        prevalence=synth.prevalence_summary(), foi=synth.force_of_infection(),
        diagnostics=diagnostics, lineages=synth.lineages(), network=synth.network_summary(),
        transmission=synth.transmission_summary(),
    )
    return data, settings


def write_synthetic_report(root: Path, unreliable: bool = False) -> Path:
    data, _ = report_data(unreliable)
    paths = synth.write_upstream(root)
    from disease_risk.risk import write_tsv

    for name, table in (("estimation", data.estimation), ("management", data.management),
                        ("hazards", data.hazards)):
        paths[name] = root / f"results/risk/{name}.tsv"
        write_tsv(table, paths[name])
    if unreliable:
        write_tsv(synth.diagnostics(True), paths["diagnostics"])
    return write_report(
        out_html=root / "results/report/report.html",
        figures_dir=root / "results/report/figures",
        risk_config=synth.risk_config(),
        report_config={"title": "CDV risk (synthetic test data)"},
        config={"seed": 1, "hazards_file": "config/hazards.yaml"},
        tables={name: paths[name] for name in TABLES},
        extra_figures={"tree": paths["tree"]},
        provenance_files=[REPO / "config/hazards.yaml"],
    )


def test_summary_answers_the_four_questions_from_the_numbers():
    data, settings = report_data()
    answers = {item["question"]: item["answer"] for item in plain_summary(data, settings)}
    assert next(iter(answers)) == "How much CDV is there?"
    assert "village dogs: about 27%" in answers["How much CDV is there?"]
    assert "464 tested" in answers["How much CDV is there?"]
    likely = answers["How likely is CDV to reach the Far Eastern leopards?"]
    assert "is 40% (95% interval 33% to 47%)" in likely
    assert "about 6 or more in the worst 2.5%" in likely
    assert "most likely route is mesocarnivores" in likely  # 50+20 of 130 leopard contacts
    helps = answers["What helps most?"]
    assert helps.startswith("'leopard_vaccination_5' helps most")
    assert "from 40% to" in helps
    sure = answers["How sure are we?"]
    assert "All model fits passed" in sure
    assert "medium for dogs (serology 95% interval 0.9x its median)" in sure


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
    assert len(sources) == len(REPORT_FIGURES) + 1  # + the lineage tree
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


def test_report_renders_in_chromium(tmp_path):
    html = write_synthetic_report(tmp_path)
    checks = browser_check.assert_report_renders(html, tmp_path)
    assert len(checks["images"]) == len(REPORT_FIGURES) + 1


@pytest.mark.slow
def test_example_run_tables_complete_and_report_renders(example_run, tmp_path):
    """End to end on the example data (the shared session-wide pipeline run)."""
    risk_dir = example_run / "results/risk"
    estimation = read_tsv(risk_dir / "risk_estimation.tsv")
    cdv = estimation[estimation["basis"] == "quantified"]
    assert len(cdv) > 0
    numeric = [c for c in estimation.columns
               if c.endswith(("probability", "_lo95", "_hi95", "_median", "_share"))
               and not c.startswith("source_foi")]
    numeric += ["population_size", "source_n_tested"]
    empty = cdv[numeric].isna()
    assert not empty.any().any(), f"empty cells where numbers are due:\n{cdv[empty.any(axis=1)]}"
    words = cdv[["release_likelihood", "exposure_likelihood", "likelihood", "consequence",
                 "risk", "uncertainty"]]
    assert not words.isin(["", "not estimated"]).any().any()
    management = read_tsv(risk_dir / "risk_management.tsv")
    assert not management.isna().any().any(), management
    hazards = read_tsv(risk_dir / "hazards.tsv")
    assert len(hazards) >= 6
    import pandas as pd

    sheets = pd.read_excel(risk_dir / "dra_tables.xlsx", sheet_name=None)
    assert set(sheets) == {"hazards", "risk_estimation", "risk_management"}
    foi = read_tsv(example_run / "results/seroprevalence/force_of_infection.tsv")
    with_foi = cdv[cdv["serology_species"].isin(set(foi["species"]))]
    assert not with_foi.filter(like="source_foi").isna().any().any()
    browser_check.assert_report_renders(example_run / "results/report/report.html", tmp_path)


@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), ("", "skip")])
def test_missing_chromium_skips_with_reason_or_fails_on_ci(monkeypatch, ci, outcome):
    monkeypatch.setattr(browser_check.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser_check.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="chromium is not installed"):
        browser_check.chromium_or_skip()
