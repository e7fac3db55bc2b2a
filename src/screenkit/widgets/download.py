"""The explorer's Download button: the workbook for the thresholds on screen.

The workbook is written by :func:`screenkit.export.export_excel` (aggregate counts only,
no patient listing; cell text is never written as a formula) into a private temporary
folder, with fixed timestamps (:func:`screenkit.outputs.fix_xlsx`), and offered to the
browser as a download link; nothing is written next to the user's files.

>>> import pandas as pd
>>> from screenkit.widgets.model import ExplorerModel
>>> frame = pd.DataFrame({"patient_id": ["A", "B"], "site_id": ["S1", "S2"],
...     "largest_lesion_cm": pd.array([3.0, 6.0], dtype="Float64")})
>>> model = ExplorerModel(frame)
>>> model.set_parameter("lesion_max_cm", 7)
>>> name, content = workbook_bytes(model)
>>> name, content[:2]
('NCT07103668_lesion_max_cm-7.xlsx', b'PK')
"""

from __future__ import annotations

import base64
import html
import re
import tempfile
from pathlib import Path

import ipywidgets as w

from screenkit.funnel import Funnel, funnel
from screenkit.widgets.model import ExplorerModel

__all__ = ["DownloadPanel", "workbook_bytes", "workbook_funnel"]

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_funnel(model: ExplorerModel) -> Funnel:
    """The funnel the workbook reports: every screened patient (the site and date
    filters are a view, not a selection), with the thresholds, order and criteria
    switched off on screen."""
    return funnel(model.evaluation, order=model.state.order, exclude=model.state.excluded)


def workbook_name(model: ExplorerModel) -> str:
    """``NCT07103668_lesion_max_cm-7.xlsx``: the protocol and the thresholds changed."""
    parts = [model.protocol.id] + [f"{n}-{v:g}" for n, v in model.changed_parameters().items()]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(parts))[:120] + ".xlsx"


def workbook_bytes(model: ExplorerModel) -> tuple[str, bytes]:
    """``(file name, workbook bytes)`` for the model's current state."""
    from screenkit.export import export_excel
    from screenkit.outputs import fix_xlsx

    data = model.data if hasattr(model.data, "report") else None
    name = workbook_name(model)
    with tempfile.TemporaryDirectory(prefix="screenkit-download-") as folder:
        path = export_excel(
            workbook_funnel(model), Path(folder) / name, evaluation=model.evaluation, data=data
        )
        fix_xlsx(path)
        return name, path.read_bytes()


class DownloadPanel:
    """A "Workbook (.xlsx)" button (class ``screenkit-download``) and, once clicked, a
    download link (class ``screenkit-download-link``) for the state on screen; any
    later change removes the link, so a link never offers other thresholds than the
    headline's."""

    def __init__(self, model: ExplorerModel) -> None:
        self.model = model
        self.button = w.Button(
            description="Workbook (.xlsx)",
            icon="download",
            tooltip="write the Excel workbook for the thresholds, order and criteria on "
            "screen (all sites and dates; aggregate counts only)",
            layout=w.Layout(width="auto"),
        )
        self.button.add_class("screenkit-download")
        self.link = w.HTML()
        self.button.on_click(lambda _: self.prepare())
        self.widget = w.HBox([self.button, self.link])
        model.subscribe(lambda event, cause: self.clear())

    def prepare(self) -> None:
        """Write the workbook and show its download link."""
        self.button.disabled = True
        try:
            name, content = workbook_bytes(self.model)
        finally:
            self.button.disabled = False
        data = base64.b64encode(content).decode("ascii")
        filters = (
            " (all sites and dates)" if self.model.state.sites or self.model.state.months else ""
        )
        self.link.value = (
            f'<a class="screenkit-download-link" download="{html.escape(name)}" '
            f'href="data:{XLSX_MIME};base64,{data}">Save {html.escape(name)}</a> '
            f"<small>{len(content) / 1024:.0f} KB{filters}</small>"
        )

    def clear(self) -> None:
        self.link.value = ""
