"""The package works when installed from a wheel, outside the checkout (issue 12).

Schemas and the report template are package data read through ``importlib.resources``; before
they were looked up next to the source tree, so an installed wheel could not validate a sheet.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

REPO = REPO_ROOT


@pytest.mark.slow
def test_wheel_in_fresh_venv_checks_sheets_and_renders(tmp_path):
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip("uv is not in the venv (make installs it)")
    source = tmp_path / "src"  # build from a copy: setuptools writes build/ next to the source
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "results", ".snakemake", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q",
                    "-w", str(tmp_path / "dist")], check=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("disease_risk-*.whl"))
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([str(uv), "pip", "install", "-q", "--python", str(python), "-r",
                    str(REPO / "requirements.lock")], check=True, timeout=900)
    subprocess.run([str(uv), "pip", "install", "-q", "--python", str(python), "--no-deps",
                    str(wheel)], check=True, timeout=300)
    config = REPO / "config"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = subprocess.run(
        [str(venv / "bin" / "disease-risk"), "check", str(config / "samples"),
         "--species-file", str(config / "species.yaml"),
         "--assays-file", str(config / "assays.yaml"),
         "--layouts-file", str(config / "sheet_layouts.yaml")],
        cwd=elsewhere, capture_output=True, text=True, timeout=300,
    )
    # exit 1: the example sheets hold their deliberate errors, reported, not crashed on
    assert check.returncode == 1, check.stderr
    assert "value '31.02.2012': not a real calendar date" in check.stdout
    assert "problems found: 0 unreadable file(s), 2 rejected row(s)" in check.stdout
    probe = subprocess.run(
        [str(python), "-c",
         "import disease_risk, disease_risk.config as c, jinja2\n"
         "assert 'site-packages' in disease_risk.__file__, disease_risk.__file__\n"
         "assert c.schema('config.schema.yaml')['type'] == 'object'\n"
         "env = jinja2.Environment(loader=jinja2.PackageLoader('disease_risk.report'))\n"
         "print(env.get_template('report.html.j2').name)"],
        cwd=elsewhere, capture_output=True, text=True, timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "report.html.j2"
