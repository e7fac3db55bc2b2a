"""Hand-offs for people who do not open Python: the Excel workbook, the HTML report and
the SDTM IE-shaped CSV.

- :func:`export_excel` (``screenkit report INPUT -o summary.xlsx``)
- :func:`export_html` (``-o report.html``)
- :func:`export_ie` (``--ie ie.csv``)

All three refuse to write over the input file, replace an existing output only with
``overwrite=True`` (``--force``), and write to a temporary file renamed into place.
Privacy by default: aggregate counts only; see :mod:`screenkit.export.privacy`.
The names below load on first use (module ``__getattr__``): ``import screenkit.export``
and its light submodules (privacy, tables, content) do not import openpyxl, which loads
with :mod:`screenkit.export.excel`; plotly only when an HTML report is written.

>>> import screenkit.export as export
>>> export.export_excel.__module__
'screenkit.export.excel'
"""

from __future__ import annotations

from screenkit._lazy import lazy_names

_PUBLIC = {
    # name: submodule
    "Content": "content",
    "build_content": "content",
    "SHEETS": "excel",
    "export_excel": "excel",
    "export_html": "html",
    "export_ie": "ie",
    "ie_frame": "ie",
    "pseudonymise": "privacy",
    "suppress": "privacy",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
