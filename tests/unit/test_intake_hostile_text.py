"""Hostile text that is valid data (#18): TeX-like names and formula-like values pass the intake
unchanged and never break a figure or turn into a formula downstream."""

from __future__ import annotations

import pandas as pd
from conftest import BAD_SHEETS, CONFIG_DIR

from disease_risk.intake.check import check
from disease_risk.intake.harmonise import run_intake, write_intake
from disease_risk.serology.plots import forest_plot
from disease_risk.tables import read_samples

REGISTRIES = (CONFIG_DIR / "species.yaml", CONFIG_DIR / "assays.yaml",
              CONFIG_DIR / "sheet_layouts.yaml")


def test_tex_like_site_passes_check_and_draws(tmp_path):
    sheet = BAD_SHEETS / "tex_site_name.csv"
    assert check([sheet], *REGISTRIES).clean
    samples = run_intake([sheet], *REGISTRIES).samples
    assert samples["site"].tolist() == [r"$\foo$ ridge", "Kedrovaya Pad"]
    rows = [{"species": "amur_leopard", "site": site, "year": "all", "n_tested": 1,
             "n_positive": 1, "apparent_prevalence": 1.0, "true_prevalence_median": 0.6,
             "true_prevalence_lo95": 0.2, "true_prevalence_hi95": 0.9}
            for site in [*samples["site"], "all"]]
    out = tmp_path / "forest.png"
    forest_plot(pd.DataFrame(rows), out)  # matplotlib would read $\foo$ as maths and fail
    assert out.stat().st_size > 0


def test_formula_like_values_are_text_in_the_tsv_and_exact_when_read(tmp_path):
    sheet = BAD_SHEETS / "formula_text.csv"
    result = run_intake([sheet], *REGISTRIES)
    assert result.rejected.empty
    paths = [tmp_path / n for n in ("samples.tsv", "rejected.tsv", "summary.tsv")]
    write_intake(result, *paths)
    lines = paths[0].read_text(encoding="utf-8").splitlines()
    assert not any(cell.startswith(("=", "+", "-", "@"))
                   for line in lines[1:] for cell in line.split("\t") if len(cell) > 1
                   and not cell.lstrip("+-").replace(".", "", 1).isdigit())
    back = read_samples(paths[0]).set_index("sample_id")
    assert back.loc["FX-1", "notes"] == "=cmd|' /C calc'!A0"
    assert back.loc["FX-1", "animal_id"] == "+1+1"
    assert back.loc["FX-2", "notes"] == "@SUM(A1)"
    assert back.loc["FX-2", "animal_id"] == "-2+3"
