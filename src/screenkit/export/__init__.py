"""Hand-offs for people who do not open Python: the Excel workbook, the HTML report and
the SDTM IE-shaped CSV.

- :func:`export_excel` (``screenkit report INPUT -o summary.xlsx``)
- :func:`export_html` (``-o report.html``)
- :func:`export_ie` (``--ie ie.csv``)

All three refuse to write over the input file, replace an existing output only with
``overwrite=True`` (``--force``), and write to a temporary file renamed into place.
Privacy by default: aggregate counts only; see :mod:`screenkit.export.privacy`.
openpyxl is imported here; plotly only when an HTML report is written.
"""

from __future__ import annotations

from screenkit.export.content import Content, build_content
from screenkit.export.excel import SHEETS, export_excel
from screenkit.export.html import export_html
from screenkit.export.ie import export_ie, ie_frame
from screenkit.export.privacy import pseudonymise, suppress

__all__ = [
    "SHEETS",
    "Content",
    "build_content",
    "export_excel",
    "export_html",
    "export_ie",
    "ie_frame",
    "pseudonymise",
    "suppress",
]
