"""Render the HTML report in headless Debian chromium and measure what a reader would see.

No selenium or CDP client: a small script is appended to a copy of the report; chromium runs it
(``--dump-dom`` after a virtual-time budget) and the script writes its measurements (every image
decoded and laid out, every section and table visible, whether the page is wider than the
window) into the DOM as JSON. The report is checked on a desktop and a phone screen.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SECTIONS = (  # in the order of the OIE/IUCN Manual, then the appendices
    "summary", "problem", "hazards", "assessment", "estimation", "management", "implementation",
    "communication", "assumptions", "glossary", "serology", "foi", "calibration", "sensitivity",
    "lineages", "network", "scenarios", "diagnostics", "provenance",
)
MANUAL_TABLES = (  # sections of the Manual with at least one table
    "hazards", "assessment", "estimation", "management", "implementation", "communication",
    "assumptions",
)
WIDTHS = {"desktop": 1280, "phone": 390}  # window widths in CSS px the report must fit
MIN_WINDOW = 500  # headless chromium widens narrower windows: a phone is a frame this wide
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
)
PROBE = """
<script>
window.addEventListener("load", function () {
  function visible(el) {
    var r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.display !== "none" && s.visibility !== "hidden";
  }
  var out = {images: [], sections: {}, tables: [], summary_chars: 0};
  document.querySelectorAll("img").forEach(function (img) {
    var r = img.getBoundingClientRect();
    out.images.push({alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
                     naturalHeight: img.naturalHeight, width: r.width, height: r.height,
                     visible: visible(img)});
  });
  SECTIONS.forEach(function (id) {
    var el = document.getElementById(id);
    out.sections[id] = el ? {visible: visible(el), height: el.getBoundingClientRect().height,
                             top: el.getBoundingClientRect().top + window.scrollY}
                          : null;
  });
  document.querySelectorAll("table").forEach(function (t) {
    if (t.closest(".print-only")) return;  // the printed parts of a wide table
    out.tables.push({rows: t.querySelectorAll("tbody tr").length, visible: visible(t),
                     section: (t.closest("section") || {}).id || ""});
  });
  var summary = document.getElementById("summary");
  out.summary_chars = summary ? summary.innerText.length : 0;
  // Horizontal overflow of the page (tables and the config may scroll in their own box).
  var root = document.documentElement;
  out.window_width = root.clientWidth;
  out.overflow_px = root.scrollWidth - root.clientWidth;
  out.too_wide = [];
  document.querySelectorAll("body *").forEach(function (el) {
    if (el.closest(".table-wrap, pre") && !el.matches(".table-wrap, pre")) return;
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > root.clientWidth + 1 && out.too_wide.length < 5) {
      out.too_wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " +
                        Math.round(r.right) + " px: " + (el.textContent || "").slice(0, 60));
    }
  });
  if (window.parent !== window) {  // in FRAME: the window holding it writes the result
    window.parent.postMessage(JSON.stringify(out), "*");
    return;
  }
  var pre = document.createElement("pre");
  pre.id = "browser-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""
FRAME = """<!DOCTYPE html>
<html><body style="margin:0">
<iframe src="PAGE" style="width:WIDTHpx;height:2000px;border:0"></iframe>
<script>
window.addEventListener("message", function (event) {
  var pre = document.createElement("pre");
  pre.id = "browser-check";
  pre.textContent = event.data;
  document.body.appendChild(pre);
});
</script>
</body></html>
"""


def chromium_or_skip() -> str:
    """Path of chromium, installing Debian's package when root; otherwise skip with the reason
    (or fail when CI=true, where the browser check must never be skipped)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "chromium is not installed"
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run(
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium",
            shell=True, capture_output=True, text=True, timeout=900, env=env,
        )
        found = shutil.which("chromium")
        if found:
            return found
        reason += f" and apt-get failed: {done.stderr[-500:]}"
    else:
        reason += " and cannot be installed without root (run `make system-deps` as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: the browser check must run, but {reason}")
    pytest.skip(reason)


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def inspect_report(html: Path, workdir: Path, width: int = WIDTHS["desktop"]) -> dict:
    """Measurements of the report rendered in a window ``width`` CSS px wide (see ``PROBE``)."""
    chromium = chromium_or_skip()
    probe = PROBE.replace("SECTIONS", json.dumps(list(SECTIONS)))
    page = html.read_text(encoding="utf-8").replace("</body>", probe + "</body>")
    probed = workdir / f"probed_{width}.html"
    probed.write_text(page, encoding="utf-8")
    if width < MIN_WINDOW:  # the report in a frame of that width, in a window of the minimum
        frame = workdir / f"frame_{width}.html"
        frame.write_text(FRAME.replace("PAGE", probed.name).replace("WIDTH", str(width)))
        probed = frame
    result = _run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={workdir / 'profile-dom'}",
         f"--window-size={max(width, MIN_WINDOW)},2000", "--virtual-time-budget=15000",
         "--dump-dom", probed.as_uri()]
    )
    match = re.search(r'<pre id="browser-check">(.*?)</pre>', result.stdout, re.S)
    if not match:
        raise AssertionError(
            f"chromium gave no measurements (rc {result.returncode}):\n{result.stderr[-2000:]}"
        )
    import html as html_mod

    return json.loads(html_mod.unescape(match.group(1)))


def screenshot(html: Path, out: Path, workdir: Path, size: str = "1280,1800") -> Path:
    """A PNG screenshot of the top of the report."""
    chromium = chromium_or_skip()
    result = _run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={workdir / 'profile-shot'}",
         f"--window-size={size}", f"--screenshot={out}", html.resolve().as_uri()]
    )
    if not out.exists():
        raise AssertionError(f"no screenshot (rc {result.returncode}):\n{result.stderr[-2000:]}")
    return out


def assert_fits_width(checks: dict, name: str) -> None:
    """The page is no wider than the window (no sideways scrolling of the whole report)."""
    assert checks["overflow_px"] <= 0, (
        f"report wider than a {name} window ({checks['window_width']} px) by "
        f"{checks['overflow_px']} px; too wide: {checks['too_wide']}"
    )


def assert_report_renders(html: Path, workdir: Path) -> dict:
    """The checks a vet's browser must pass: summary, every section, tables and figures, on a
    desktop screen, and no page wider than the window on desktop and phone."""
    checks = inspect_report(html, workdir)
    assert_fits_width(checks, "desktop")
    phone = inspect_report(html, workdir, WIDTHS["phone"])
    assert phone["window_width"] <= WIDTHS["phone"], phone["window_width"]  # not widened
    assert_fits_width(phone, "phone")
    assert all(phone["sections"][s] and phone["sections"][s]["visible"] for s in SECTIONS)
    assert checks["summary_chars"] > 300, checks["summary_chars"]
    for section in SECTIONS:
        info = checks["sections"][section]
        assert info and info["visible"], f"section {section!r} missing or invisible: {info}"
    assert checks["images"], "no figures in the report"
    for img in checks["images"]:
        assert img["complete"] and img["naturalWidth"] > 0, f"figure not decoded: {img}"
        assert img["visible"] and img["width"] > 50 and img["height"] > 30, f"not shown: {img}"
    tops = [checks["sections"][s]["top"] for s in SECTIONS]
    order = dict(zip(SECTIONS, tops, strict=True))
    assert tops == sorted(tops), f"sections out of the Manual's order: {order}"
    for section in MANUAL_TABLES:
        shown = [t for t in checks["tables"] if t["section"] == section]
        assert shown and all(t["visible"] and t["rows"] > 0 for t in shown), (section, shown)
    shot = screenshot(html, workdir / "screenshot.png", workdir)
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size[0] >= 1000
        colours = image.convert("L").getextrema()
        assert colours[1] - colours[0] > 100, "screenshot is blank"
    return checks
