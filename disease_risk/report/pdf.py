"""The report as PDF: the same HTML laid out on A4 by its print CSS (WeasyPrint).

Offline and reproducible: only ``data:`` URIs are fetched (the figures are embedded), and the
PDF carries no timestamp of its own (its creation date is the run date the HTML names in
``dcterms.created``) and no random file identifier, so the same HTML gives the same bytes.
:func:`cut_table_cells` finds table cells a page cuts off (the print CSS should leave none).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import weasyprint
from weasyprint.formatting_structure import boxes

TOLERANCE_PX = 0.5  # rounding in the layout, in CSS px (1/96 inch)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per page otherwise


def layout_report(html: str) -> weasyprint.Document:
    """The report laid out in pages (print media), fetching nothing but ``data:`` URIs."""
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return weasyprint.HTML(string=html, url_fetcher=fetcher, media_type="print").render()


def pdf_bytes(document: weasyprint.Document) -> bytes:
    """The laid-out report as PDF bytes, with no file identifier (nothing in it varies)."""
    return document.write_pdf(pdf_identifier=False)


def _descendants(box: boxes.Box) -> Iterator[boxes.Box]:
    """``box`` and every box below it."""
    yield box
    if isinstance(box, boxes.ParentBox):
        for child in box.children:
            yield from _descendants(child)


def cut_table_cells(document: weasyprint.Document) -> list[str]:
    """Table cells, or text in them, reaching beyond their page's content width: one line per
    cell (page number and its text), none when every table is whole on its pages."""
    cut = []
    for number, page in enumerate(document.pages, start=1):
        page_box = page._page_box
        left = page_box.content_box_x() - TOLERANCE_PX
        right = page_box.content_box_x() + page_box.width + TOLERANCE_PX
        flow = [child for child in page_box.children if not isinstance(child, boxes.MarginBox)]
        for root in flow:
            for cell in _descendants(root):
                if not isinstance(cell, boxes.TableCellBox):
                    continue
                inside = list(_descendants(cell))
                if any(b.border_box_x() < left or b.border_box_x() + b.border_width() > right
                       for b in inside):
                    text = " ".join(b.text for b in inside if isinstance(b, boxes.TextBox))
                    cut.append(f"page {number}: {text[:60]!r}")
    return cut
