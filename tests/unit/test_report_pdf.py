"""The PDF report (WeasyPrint): no page cuts a table's columns, every column is printed, the
SIMULATED banner heads every page, nothing is fetched from the network, and the same HTML gives
the same bytes. The layout boxes of the pages are inspected (positions in CSS px)."""

from __future__ import annotations

import base64
import io
import re
import zlib
from html import unescape
from pathlib import Path

import jinja2
import pandas as pd
import pytest
import weasyprint
from PIL import Image
from test_report import render, write_synthetic_run
from weasyprint.formatting_structure import boxes
from weasyprint.urls import FatalURLFetchingError

from disease_risk.report.html import (
    PRINT_CELL_EM,
    PRINT_COLUMNS,
    PRINT_FONT_PT,
    PRINT_WIDTH_PT,
    print_column_widths,
    print_parts,
    table_html,
    text_em,
)
from disease_risk.report.pdf import cut_table_cells, layout_report
from disease_risk.report.provenance import read_provenance
from disease_risk.report.stage import write_report_pdf
from disease_risk.tables import write_table

A4_PX = (794, 1123)  # 210 x 297 mm at 96 px per inch
BANNER_HEAD = "SIMULATED DATA: not for decisions"


def _texts(box: boxes.Box) -> str:
    """The text below a layout box, without the zero-width spaces of <wbr>."""
    if isinstance(box, boxes.TextBox):
        return box.text.replace("\u200b", "")
    if isinstance(box, boxes.ParentBox):
        return "".join(_texts(child) for child in box.children)
    return ""


def _boxes(box: boxes.Box, kind: type) -> list[boxes.Box]:
    """Every box of ``kind`` at or below ``box``."""
    found = [box] if isinstance(box, kind) else []
    if isinstance(box, boxes.ParentBox):
        for child in box.children:
            found += _boxes(child, kind)
    return found


def printed_headers(document: weasyprint.Document) -> set[str]:
    """The text of every header cell on the pages."""
    return {
        re.sub(r"\s+", "", _texts(cell))
        for page in document.pages
        for cell in _boxes(page._page_box, boxes.TableCellBox)
        if cell.element_tag == "th"
    }


def page_heads(document: weasyprint.Document) -> list[str]:
    """The running heads and feet (margin boxes) of each page, as one text per page."""
    return [
        " | ".join(_texts(m) for m in page._page_box.children if isinstance(m, boxes.MarginBox))
        for page in document.pages
    ]


def report_css() -> str:
    """The report's own stylesheet (screen and print)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("disease_risk.report", "templates"))
    return env.get_template("report.css.j2").render()


def small_page(body: str, created: str = "2026-01-02T03:04:05Z") -> str:
    """An HTML page styled like the report, around ``body``."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
        f'<meta name="dcterms.created" content="{created}"><style>{report_css()}</style></head>'
        f"<body><h1>Small report</h1>{body}</body></html>"
    )


def wide_table(columns: int = 41, rows: int = 6) -> pd.DataFrame:
    """A table as wide as the risk estimation's, long names and numbers."""
    return pd.DataFrame({
        f"column_with_a_long_name_{i:02d}": [f"{0.000123456 * (i + 1) * (r + 1):.6g}"
                                            for r in range(rows)]
        for i in range(columns)
    })


@pytest.fixture(scope="module")
def synthetic_pdf(tmp_path_factory) -> tuple[str, weasyprint.Document]:
    """The synthetic run's report, one input marked simulated, and its pages."""
    root = tmp_path_factory.mktemp("pdf")
    inputs = write_synthetic_run(root)
    checksums_file = next(Path(p) for p in inputs["provenance"]
                          if Path(p).name == "input_checksums.tsv")
    checksums = read_provenance(inputs["provenance"]).checksums
    checksums.loc[len(checksums)] = ["config/samples/SIMULATED_dogs.csv", 12, "cd" * 32]
    write_table(checksums, checksums_file)
    html = render(root, inputs).read_text(encoding="utf-8")
    return html, layout_report(html)


def test_no_pdf_page_cuts_a_tables_columns(synthetic_pdf):
    html, document = synthetic_pdf
    assert cut_table_cells(document) == []
    assert {(round(p.width), round(p.height)) for p in document.pages} == {A4_PX}
    assert "Part 1 of" in html, "no table wide enough to be printed in parts"
    in_html = {re.sub(r"<wbr>|\s+", "", unescape(h)) for h in re.findall(r"<th>(.*?)</th>", html)}
    missing = in_html - printed_headers(document)
    assert not missing, f"columns not printed: {sorted(missing)}"


def test_simulated_banner_heads_every_printed_page(synthetic_pdf):
    _, document = synthetic_pdf
    first = _texts(document.pages[0]._page_box)
    assert "SIMULATED DATA: the numbers in this report are not for decisions" in first
    assert "config/samples/SIMULATED_dogs.csv" in first
    heads = page_heads(document)
    assert all(BANNER_HEAD in head and "page " in head for head in heads), heads[:2]
    assert f"page {len(heads)} of {len(heads)}" in heads[-1]
    plain = layout_report(small_page("<p>Real data only.</p>"))
    assert BANNER_HEAD not in page_heads(plain)[0]


def test_a_table_wider_than_the_page_is_reported():
    """The check can fail: a table forced wider than A4, and a wide table not split."""
    forced = small_page('<table style="width: 250mm"><tr><td>a</td><td>b</td></tr></table>')
    assert cut_table_cells(layout_report(forced))
    unsplit = table_html(wide_table()).split('<div class="print-only">')[0]  # screen's table
    nowrap = ("<style>@media print { .screen-only { display: block } "
              "th, td { white-space: nowrap } }</style>")
    assert cut_table_cells(layout_report(small_page(nowrap + unsplit)))
    assert cut_table_cells(layout_report(small_page(table_html(wide_table())))) == []


def test_wide_tables_print_in_parts_repeating_the_row_keys():
    table = wide_table()
    table.insert(0, "target", ["leopard", "leopard", "tiger", "tiger", "tiger", "tiger"])
    table.insert(1, "pathway", ["dogs", "foxes", "dogs", "foxes", "cats", "own"])
    keys, parts = print_parts(table)
    assert keys == 2  # target alone repeats; target and pathway name each row
    assert all(list(p.columns[:2]) == ["target", "pathway"] for p in parts)
    assert all(len(p.columns) <= PRINT_COLUMNS for p in parts)
    rest = [c for p in parts for c in p.columns[2:]]
    assert rest == list(table.columns[2:])
    narrow = table.iloc[:, :PRINT_COLUMNS]
    keys, parts = print_parts(narrow)
    assert keys == 0 and len(parts) == 1 and parts[0] is narrow


def test_column_widths_follow_the_automatic_table_layout():
    """Exact cases of CSS's automatic layout: texts that fit keep their widths; the page left
    over goes in proportion to what each column could still use; when not even the longest
    words fit, only the widest columns narrow, to one width."""
    font = PRINT_FONT_PT[""]
    page = PRINT_WIDTH_PT / font
    pad = PRINT_CELL_EM
    fits, shares = print_column_widths(["a", "b"], [[("xx", False)], [("xxxx", False)]], font)
    a, b = text_em("xx") + pad, text_em("xxxx") + pad
    assert fits == pytest.approx(100 * (a + b) / page)
    assert shares == pytest.approx([100 * a / (a + b), 100 * b / (a + b)])
    assert print_column_widths(["a", "b"], [[("xx", False)], [("xxxx", False)]], font,
                               fill=True)[0] == 100

    word, sentence = "word", " ".join(["words"] * 60)
    full, shares = print_column_widths(["a", "b"], [[(word, False)], [(sentence, False)]], font)
    lo = [text_em(word) + pad, text_em("words") + pad]
    hi = [text_em(word) + pad, text_em(sentence) + pad]
    spare = (page - sum(lo)) / (sum(hi) - sum(lo))
    expected = [x + (y - x) * spare for x, y in zip(lo, hi, strict=True)]
    assert full == 100 and shares == pytest.approx([100 * w / page for w in expected])

    longest = "w" * 60
    _, shares = print_column_widths(["a", "b", "c"],
                                    [[("x", False)], [(longest, False)], [(longest, False)]],
                                    font)
    narrow = max(text_em("a", bold=True), text_em("x")) + pad
    assert shares[0] == pytest.approx(100 * narrow / page)
    assert shares[1] == shares[2] == pytest.approx(100 * (page - narrow) / 2 / page)


def test_print_figures_are_those_of_the_print_css():
    """The widths are computed from the print CSS's page width, table fonts and cell padding,
    written again in html.py: laid out by WeasyPrint, they must be what the CSS gives."""
    table = pd.DataFrame({"a": ["x"], "b": ["y"]})
    for css, font in (("full", PRINT_FONT_PT[""]), ("glance", PRINT_FONT_PT["glance"])):
        page = layout_report(small_page(table_html(table, css=css))).pages[0]._page_box
        assert page.width == pytest.approx(PRINT_WIDTH_PT * 96 / 72, abs=0.5)
        cell = next(c for c in _boxes(page, boxes.TableCellBox) if c.element_tag == "td")
        assert cell.style["font_size"] == pytest.approx(font * 96 / 72, abs=0.01), css
        padding = (cell.padding_left + cell.padding_right) / cell.style["font_size"]
        assert padding < PRINT_CELL_EM, css


def test_printed_tables_break_no_word_that_fits():
    """Laid out by WeasyPrint at the computed widths, every word of a crowded table (a long
    sentence beside short columns, risk words that do not wrap) stays whole on its line, but
    for a link longer than the page, which breaks in the widest column, the only one narrowed
    (the other columns are then exactly as wide as their longest word)."""
    evidence_words = ["Eastern", "mesocarnivores", "leopard", "immunodeficiency", "(95%",
                      "moderate"]
    link = "https://doi.org/10.1371/" + "supplementary-table-" * 8
    table = pd.DataFrame({
        "hazard": ["Feline immunodeficiency virus"] * 3,
        "target": ["Far Eastern (Amur) leopard"] * 3,
        "pathway": ["wild mesocarnivores"] * 3,
        "likelihood": ["moderate", "very low", "high"],
        "chance_of_infection": ["high: 74% (57% to 88%); Monte Carlo error +/- 2.3 points"] * 3,
        "evidence": [" ".join(evidence_words * 12), link, "see above"],
    })
    for css in ("full", "glance", "glance last-wide"):
        document = layout_report(small_page(table_html(table, css=css)))
        printed = {word for page in document.pages
                   for cell in _boxes(page._page_box, boxes.TableCellBox)
                   if cell.element_tag == "td"
                   for line in _boxes(cell, boxes.LineBox) for word in _texts(line).split()}
        words = {w for value in table.astype(str).to_numpy().ravel() for w in value.split()}
        broken = {w for w in printed - words if w not in link}
        assert not broken, (css, sorted(broken))
        assert cut_table_cells(document) == []


def test_pdf_bytes_repeat_and_carry_the_run_date_only(tmp_path):
    figure = f'<figure><img alt="f" src="data:image/png;base64,{_tiny_png()}"></figure>'
    body = table_html(wide_table(12, 3)) + figure
    page = small_page(body)
    first = write_report_pdf(page, tmp_path / "a.pdf").read_bytes()
    second = write_report_pdf(page, tmp_path / "b.pdf").read_bytes()
    assert first == second
    assert first.startswith(b"%PDF-")
    objects = pdf_objects(first)
    assert re.findall(rb"/CreationDate \(D:[0-9Z]+\)", objects) == [
        b"/CreationDate (D:20260102030405Z)"]  # the run date, from the HTML
    assert b"/ModDate" not in objects and b"/ID" not in first  # no clock, no random id
    later = write_report_pdf(small_page(body, "2026-01-03T00:00:00Z"), tmp_path / "c.pdf")
    assert later.read_bytes() != first


def test_pdf_fetches_nothing_from_the_network():
    page = small_page('<img alt="remote" src="https://example.org/figure.png">')
    with pytest.raises(FatalURLFetchingError):
        layout_report(page)


def pdf_objects(pdf: bytes) -> bytes:
    """A PDF's bytes followed by its deflated streams (WeasyPrint compresses the info dict)."""
    streams = re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S)
    return pdf + b"".join(zlib.decompress(s) for s in streams)


def _tiny_png() -> str:
    """A 4 x 4 PNG, base64."""
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")
