"""Benchmark: laying out the report as PDF with column widths computed once
(``disease_risk.report.html.print_column_widths``, printed with ``table-layout: fixed``)
against WeasyPrint's own automatic table layout (the peer), on the same HTML in one run.

WeasyPrint's automatic layout measures every word of every cell, and redoes it for each page a
table spans. The peer is the same page with the ``table.sized`` print rules switched off, which
is how the report printed before. Both are laid out in this process, one after the other, each
``--repeats`` times; the report's HTML comes from a pipeline run (by default the 1x run that
``bench/scale.py`` leaves in ``bench/out/scale_1x``).

    .venv/bin/python bench/report_pdf.py [--html results/report/report.html] [--repeats 2]

Prints seconds, pages and table cells a page cuts for each layout, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from disease_risk.report.pdf import cut_table_cells, layout_report

SIZED = "table.sized"  # the print rules' selector; renamed, they match nothing


def lay_out(page: str, repeats: int) -> dict:
    """Median seconds over ``repeats`` layouts of ``page``, its pages and cut cells."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        document = layout_report(page)
        seconds.append(time.perf_counter() - start)
    return {"seconds": round(statistics.median(seconds), 1), "pages": len(document.pages),
            "cut_cells": len(cut_table_cells(document))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path,
                        default=Path("bench/out/scale_1x/results/report/report.html"))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    page = args.html.read_text(encoding="utf-8")
    if SIZED not in page:
        raise SystemExit(f"{args.html} has no sized tables: make it with this version's report")
    auto = lay_out(page.replace(SIZED, "table.unsized"), args.repeats)
    sized = lay_out(page, args.repeats)
    result = {"html": str(args.html), "weasyprint_auto": auto, "sized_columns": sized,
              "speed_ratio": round(auto["seconds"] / sized["seconds"], 2)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
