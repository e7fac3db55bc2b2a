"""The descriptive parts of a report: the load report (Data issues), the protocol as
evaluated, the optional patient listing, and the Summary's metadata.

>>> from screenkit.protocol import get_protocol
>>> changed_parameters(get_protocol("NCT07103668").with_parameters(lesion_max_cm=7))
'lesion_max_cm: 5 -> 7 cm'
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenkit.export.tables import Table

if TYPE_CHECKING:
    from datetime import datetime

    from screenkit.evaluate import Evaluation
    from screenkit.export.privacy import Suppression
    from screenkit.funnel import Funnel

ISSUE_NAMES = {
    "unparsed": "value not understood (counts as missing)",
    "implausible": "implausible value",
    "censored": "censored value (bound kept)",
    "not done": "not done / not available",
}

#: Most actionable first: cells that became missing, then whole columns, rows, the rest.
ISSUE_ORDER = (
    ISSUE_NAMES["unparsed"],
    "column not used (header not recognised)",
    "criterion cannot be evaluated",
    "row skipped",
    ISSUE_NAMES["implausible"],
    ISSUE_NAMES["censored"],
    ISSUE_NAMES["not done"],
    "unit converted",
    "unit read from the header",
    "how the file was read",
)
NOTE = ISSUE_ORDER[-1]

__all__ = [
    "changed_parameters",
    "criterion_parameters",
    "file_sha256",
    "issues_table",
    "patients_table",
    "protocol_table",
    "report_meta",
]


def file_sha256(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes (hex), or ``None`` when it cannot be read.

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
    ...     _ = fh.write(b"abc")
    >>> file_sha256(fh.name)[:16]
    'ba7816bf8f01cfea'
    >>> os.unlink(fh.name)
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def criterion_parameters(protocol) -> dict[str, str]:
    if protocol is None:
        return {}
    frame = protocol.to_frame()
    return dict(zip(frame["criterion"], frame["parameters"], strict=True))


def issues_table(
    data: Any,
    evaluation: Evaluation | None,
    patients: bool,
    identified: bool,
    pseudo: dict | None,
    *,
    suppress_below: int | None = None,
) -> Table:
    """Unparsed cells, implausible values, unmapped headers, skipped rows, missing columns.

    With ``suppress_below`` (reports with small-count suppression, meant for wide sharing)
    cells are counted per issue and column and skipped rows per reason: no row numbers,
    no values, and counts under the threshold shown as ``<k``.
    """
    report = getattr(data, "report", None)
    rows = []
    patient_col = "Patient" if patients else None
    if report is not None:
        cells = report.cells
        one_by_one = cells[cells["kind"].isin(["unparsed", "implausible", "censored"])]
        for c in one_by_one.itertuples(index=False):
            pid = None if pd.isna(c.patient_id) else str(c.patient_id)
            rows.append(
                {
                    "Issue": ISSUE_NAMES.get(c.kind, str(c.kind)),
                    "Sheet": c.sheet,
                    "Row": c.row,
                    "Patient": pid if identified else (pseudo or {}).get(pid, pid and "?"),
                    "Column": c.column,
                    "Value": None if pd.isna(c.value) else str(c.value),
                    "Cells": 1,
                    "Detail": c.detail,
                }
            )
        # "not done" markers (ND, N/A, pending, blank) are routine: one row per column + spelling
        not_done = cells[cells["kind"] == "not done"]
        if len(not_done):
            grouped = not_done.groupby(["column", "value"], sort=True, dropna=False).size()
            for (column, value), count in grouped.items():
                rows.append(
                    {
                        "Issue": ISSUE_NAMES["not done"],
                        "Sheet": report.sheet,
                        "Column": column,
                        "Value": None if pd.isna(value) else str(value),
                        "Cells": int(count),
                        "Detail": "read as missing (not done / not available)",
                    }
                )
        for h in report.headers[report.headers["how"] == "unmapped"].itertuples(index=False):
            rows.append(
                {
                    "Issue": "column not used (header not recognised)",
                    "Sheet": report.sheet,
                    "Row": report.header_row,
                    "Column": h.header,
                    "Detail": "not mapped to any screenkit column; map it with --columns",
                }
            )
        for s in report.skipped_rows.itertuples(index=False):
            rows.append(
                {"Issue": "row skipped", "Sheet": s.sheet, "Row": s.row, "Detail": s.reason}
            )
        as_written = _headers_as_written(report)
        for cv in report.conversions.itertuples(index=False):
            before, after = str(cv.from_unit), str(cv.to_unit)
            same = _unit_key(before) == _unit_key(after)
            rows.append(
                {
                    "Issue": "unit read from the header" if same else "unit converted",
                    "Column": as_written.get(cv.column, cv.column),
                    "Cells": int(cv.cells),
                    "Detail": f"values already in {after}; read as written"
                    if same
                    else f"values in {before} converted to {after} (the protocol's unit)",
                }
            )
        for note in report.notes:
            rows.append({"Issue": NOTE, "Detail": _note_in_words(note)})
    if evaluation is not None:
        missing = evaluation.missing_inputs()
        for m in missing.itertuples(index=False):
            unknown = int(m.patients_unknown)
            shown = (
                f"<{suppress_below}"
                if suppress_below is not None and unknown < suppress_below
                else str(unknown)
            )
            rows.append(
                {
                    "Issue": "criterion cannot be evaluated",
                    "Column": f"{m.label} ({m.column})",
                    "Detail": f"the log has no column for {m.label}: criterion {m.criteria} "
                    f"cannot be decided without it and is unknown for {shown} patient(s); add "
                    "the column (or map a header to it with --columns)",
                }
            )
    columns = ["Issue", "Sheet", "Row", "Patient", "Column", "Value", "Cells", "Detail"]
    frame = pd.DataFrame(rows, columns=columns)
    priority = {name: i for i, name in enumerate(ISSUE_ORDER)}
    rank = frame["Issue"].map(lambda issue: priority.get(issue, len(priority)))
    frame = frame.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
    if patient_col is None:
        frame = frame.drop(columns="Patient")
    aggregate = suppress_below is not None
    if aggregate and len(frame):
        per_cell = frame["Issue"].isin(ISSUE_NAMES.values())
        skipped = frame["Issue"] == "row skipped"
        counted = (
            frame[per_cell]
            .assign(Cells=frame["Cells"].fillna(1).astype(int))
            .groupby(["Issue", "Column"], sort=False, dropna=False)["Cells"]
            .sum()
            .reset_index()
            .assign(Detail="counted per column")
        )
        rows_skipped = (
            frame[skipped]
            .groupby(["Issue", "Detail"], sort=False)
            .size()
            .reset_index(name="Cells")
            .assign(Detail=lambda t: t["Detail"] + " (rows counted per reason)")
        )
        rest = frame[~per_cell & ~skipped].drop(columns=["Value"])
        frame = pd.concat([counted, rows_skipped, rest], ignore_index=True)
        frame = frame.reindex(columns=[c for c in columns if c in frame.columns and c != "Value"])
        small = frame["Cells"].notna() & (frame["Cells"] < suppress_below)
        frame["Cells"] = frame["Cells"].astype(object).where(~small, f"<{suppress_below}")
    where = (
        f"{report.rows_read} rows read, {report.rows_loaded} loaded, "
        f"{len(report.skipped_rows)} skipped. "
        if report is not None
        else "No load report (the data were not loaded from a file by screenkit). "
    )
    return Table(
        "Data issues",
        "Load report: everything that was not read as given",
        where
        + (
            "Cells are counted per issue and column, without row numbers or values "
            "(small-count suppression is on)."
            if aggregate
            else "Row = the row number as the spreadsheet shows it; Cells = how many cells a "
            "line stands for (routine not-done markers such as ND or N/A are counted per "
            "column)."
        )
        + ("" if patients else " Patient IDs are left out (privacy by default)."),
        frame,
        {"Row": "int", "Cells": "count"},
        wrap=("Detail",),
    )


def _headers_as_written(report: Any) -> dict[str, str]:
    """Canonical column -> the header as the file spells it."""
    headers = getattr(report, "headers", None)
    if headers is None or not len(headers):
        return {}
    mapped = headers[headers["canonical"].notna()]
    return {str(c): str(h) for h, c in zip(mapped["header"], mapped["canonical"], strict=True)}


def _unit_key(unit: str) -> str:
    """``"x10^9/L"`` and ``"10^9/L (inferred)"`` -> ``"10^9/l"``: the same unit written
    two ways."""
    return unit.replace("(inferred)", "").replace("x10", "10").replace(" ", "").lower()


def _note_in_words(note: str) -> str:
    """A load note as a trial manager reads it (the loader's phrasing otherwise)."""
    match = re.fullmatch(r"header on row (\d+)", note)
    if match:
        return f"the column headers are on row {match[1]} (the rows above were skipped)"
    match = re.fullmatch(r"columns= names headers not in the file: (.*)", note)
    if match:
        return f"the column map names headers the file does not have: {match[1]}"
    return note


def protocol_table(protocol: Any, f: Funnel) -> Table:
    """Each criterion's rule and parameters exactly as evaluated, with its funnel step."""
    step = {c: i for i, c in enumerate(f.order, start=1)}
    left_out = {c.id for c in getattr(protocol, "criteria_off", ())}
    if protocol is not None:
        frame = (
            protocol.to_frame()
            .drop(columns="on")
            .rename(
                columns={
                    "criterion": "Criterion",
                    "kind": "Kind",
                    "label": "Label",
                    "rule": "Rule",
                    "parameters": "Parameters (as evaluated)",
                    "source": "Source",
                }
            )
        )
    else:
        frame = pd.DataFrame(
            {
                "Criterion": list(f.patterns.criteria),
                "Kind": list(f.patterns.kinds),
                "Label": list(f.patterns.labels),
            }
        )
    frame["Funnel step"] = [
        "left out (off by default)" if c in left_out else step.get(c, "switched off")
        for c in frame["Criterion"]
    ]
    note = "Each criterion's rule and parameter values exactly as evaluated for this report."
    if protocol is not None:
        note += f" Protocol {protocol.id}, version: {protocol.version}."
    if left_out:
        note += (
            f" Left out, as the protocol marks them off by default: {', '.join(sorted(left_out))}"
            " (not evaluated; switch them on with include= / --include)."
        )
    return Table(
        "Protocol",
        "Criteria as evaluated",
        note,
        frame,
        {"Funnel step": "count"},
        wrap=("Label", "Rule", "Parameters (as evaluated)", "Source"),
    )


def patients_table(
    evaluation: Evaluation, f: Funnel, identified: bool, pseudo: dict | None
) -> Table:
    """One row per patient: pseudonym (or ID), site, month (or date), status, criteria."""
    data = evaluation.data
    active = [c for c in evaluation.statuses.columns if c not in f.excluded]
    st = evaluation.statuses[active]
    fails = (~st).fillna(False).to_numpy(dtype=bool)
    unknown = st.isna().to_numpy()
    ids = np.array(active, dtype=object)
    status = np.where(
        fails.any(axis=1), "screen_failed", np.where(unknown.any(axis=1), "pending", "eligible")
    )
    pid = (
        data["patient_id"].astype(str)
        if "patient_id" in data
        else pd.Series([str(i) for i in data.index], index=data.index)
    )
    frame = pd.DataFrame(
        {
            "Patient": pid.tolist() if identified else [pseudo[p] for p in pid],
            "Site": data["site_id"].astype(str).tolist() if "site_id" in data else "",
        }
    )
    if "screening_date" in data:
        dates = pd.to_datetime(data["screening_date"])
        if identified:
            frame["Screening date"] = dates.dt.date.tolist()
        else:
            frame["Screening month"] = dates.dt.strftime("%Y-%m").fillna("").tolist()
    frame["Status"] = status
    frame["Criteria failed"] = ["; ".join(ids[r]) for r in fails]
    frame["Criteria unknown"] = ["; ".join(ids[r]) for r in unknown]
    if not identified:
        frame = frame.sort_values("Patient").reset_index(drop=True)
    return Table(
        "Patients",
        "Patient listing" + (" (real patient IDs)" if identified else " (pseudonymised)"),
        "One row per screened patient; criteria switched off are not listed. "
        + (
            "Contains real patient IDs: share only under the trial's data agreements."
            if identified
            else "Codes are random for this workbook: they cannot be turned back into patient "
            "IDs and differ in every export."
        ),
        frame,
        {},
        wrap=("Criteria failed", "Criteria unknown"),
    )


def report_meta(
    f: Funnel,
    protocol: Any,
    data: Any,
    now: datetime,
    sup: Suppression,
    patients: bool,
    identified: bool,
) -> list[tuple[str, Any]]:
    """The Summary's key-value block: protocol, data file + SHA-256, date, target, ..."""
    from screenkit import __version__

    meta: list[tuple[str, Any]] = []
    pid = f.patterns.protocol_id or (protocol.id if protocol else "")
    meta.append(("Protocol", f"{pid}: {protocol.title}" if protocol else pid))
    if protocol is not None:
        meta.append(("Protocol version", protocol.version))
    source = getattr(data, "source", None) or getattr(getattr(data, "report", None), "file", None)
    if source:
        meta.append(("Data file", Path(source).name))
        sheet = getattr(data, "sheet", None)
        if sheet:
            meta.append(("Sheet", sheet))
        meta.append(("Data file SHA-256", file_sha256(source) or "(file could not be read)"))
    else:
        meta.append(("Data file", "(data given in Python, no file)"))
    meta.append(("Report date", now.strftime("%Y-%m-%d %H:%M UTC")))
    if protocol is not None and protocol.target:
        meta.append(("Recruitment target", int(protocol.target)))
    changed = changed_parameters(protocol)
    meta.append(("Thresholds changed from the protocol", changed or "none"))
    meta.append(("Criteria switched off", ", ".join(f.excluded) or "none"))
    off = getattr(protocol, "criteria_off", ())
    meta.append(
        (
            "Criteria left out (off by default)",
            "; ".join(f"{c.id} {c.label}" for c in off) or "none",
        )
    )
    meta.append(("Small-count suppression", sup.legend()))
    meta.append(
        (
            "Patient listing",
            "not included (aggregate counts only)"
            if not patients
            else "included, real patient IDs"
            if identified
            else "included, pseudonymised IDs",
        )
    )
    meta.append(("screenkit version", __version__))
    return meta


def changed_parameters(protocol: Any) -> str:
    """Thresholds that differ from the protocol's own values, e.g. ``lesion_max_cm: 5 -> 7
    cm`` (from :meth:`Protocol.changed_parameters
    <screenkit.protocol.Protocol.changed_parameters>`)."""
    if protocol is None:
        return ""
    changes = []
    for name, (before, now) in protocol.changed_parameters().items():
        unit = protocol.parameters[name].unit
        changes.append(f"{name}: {before:g} -> {now:g}{' ' + unit if unit else ''}")
    return "; ".join(changes)
