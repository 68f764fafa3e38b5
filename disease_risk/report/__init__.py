"""Report: the run's provenance record and the self-contained HTML report for vets, and its PDF.

- :mod:`~disease_risk.report.provenance`: the provenance record (checksums, config, packages,
  code version, run date), written and read back;
- :mod:`~disease_risk.report.data`: what the report shows and readable species names;
- :mod:`~disease_risk.report.words`: numbers as a reader says them;
- :mod:`~disease_risk.report.summary`: the plain-language summary;
- :mod:`~disease_risk.report.figures`: the report's own figures;
- :mod:`~disease_risk.report.html`: rendering ``templates/report.html.j2`` (style, screen and
  print, in ``templates/report.css.j2``);
- :mod:`~disease_risk.report.pdf`: the same HTML as an A4 PDF (WeasyPrint);
- :mod:`~disease_risk.report.stage`: the entry points ``provenance`` and ``report_html``.
"""
