"""What a report says, independent of the file format: one :class:`Content` per export.

:func:`build_content` turns a funnel (and optionally its evaluation and loaded data) into
display tables with human column names, with privacy applied (suppressed counts read
``<k`` / ``hidden``; patient IDs pseudonymised). The Excel workbook and the HTML report
are two renderings of the same :class:`Content`, so they never disagree.

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> from screenkit.funnel import funnel
>>> frame = pd.DataFrame({"patient_id": ["P1", "P2", "P3"],
...                       "spo2": pd.array([99, 95, 94], dtype="Float64")})
>>> result = evaluate(frame, "NCT07103668")
>>> content = build_content(funnel(result), evaluation=result)
>>> content.headline[["Status", "Patients"]]
          Status  Patients
0       Screened         3
1       Eligible         0
2  Screen-failed         2
3        Pending         1
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenkit.errors import ScreenkitError
from screenkit.export.privacy import HIDDEN, Suppression, check_k, pseudonymise, suppress
from screenkit.stats import wilson_interval

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation
    from screenkit.funnel import Funnel

__all__ = ["Content", "Table", "build_content", "file_sha256"]

STATUS_NAMES = {
    "screened": "Screened",
    "eligible": "Eligible",
    "screen_failed": "Screen-failed",
    "pending": "Pending",
}
COUNTS = ("screened", "eligible", "screen_failed", "pending")


@dataclass
class Table:
    """A display table: ``frame`` plus how to format each column.

    ``formats`` maps a column to ``count``, ``pct`` (a fraction shown as a percentage),
    ``decimal`` or ``text`` (default). ``total`` is an optional last row (a dict) that
    is not part of the filterable table.
    """

    name: str
    title: str
    note: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    total: dict[str, Any] | None = None
    wrap: tuple[str, ...] = ()


@dataclass
class Content:
    """Everything a report shows; see :func:`build_content`."""

    protocol_id: str
    title: str
    meta: list[tuple[str, Any]]
    headline: pd.DataFrame
    headline_text: str
    reasons: pd.DataFrame
    tables: dict[str, Table]
    suppression: Suppression
    funnel: Funnel
    patient_listing: str


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


def _pct_text(x: Any) -> str:
    return f"{100 * x:.1f}%" if isinstance(x, float | int) and not pd.isna(x) else str(x)


# ---------------------------------------------------------------- suppression model
def _suppression(f: Funnel, k: int | None, combos: pd.DataFrame) -> Suppression:
    """One linear system for every count the report shows (shared quantities share keys)."""
    if k is None:
        return Suppression()
    values: dict[Hashable, int] = {}
    eqs: list[dict[Hashable, float]] = []
    head = f.headline()
    for name in COUNTS:
        values[("headline", name)] = head[name]
    eqs.append({("headline", n): 1 for n in COUNTS[1:]} | {("headline", "screened"): -1})
    for group, table in (("site", f.by_site()), ("month", f.by_month())):
        label = table.columns[0]
        for row in table.itertuples(index=False):
            g = getattr(row, label)
            for name in COUNTS:
                values[(group, g, name)] = int(getattr(row, name))
            eqs.append({(group, g, n): 1 for n in COUNTS[1:]} | {(group, g, "screened"): -1})
        for name in COUNTS:
            eqs.append({(group, g, name): 1 for g in table[label]} | {("headline", name): -1})
    crit = f.criteria.set_index("criterion")
    for cid, row in crit.iterrows():
        for name in ("fails", "unknown", "fails_only"):
            values[("criterion", cid, name)] = int(row[name])
    previous = ("headline", "screened")
    for step in f.steps.itertuples(index=False):
        excluded = (
            ("criterion", step.criterion, "fails") if step.step == 1 else ("step", step.step, "x")
        )
        remaining = ("step", step.step, "remaining")
        values[excluded] = int(step.excluded)
        values[remaining] = int(step.remaining)
        eqs.append({previous: 1, excluded: -1, remaining: -1})
        previous = remaining
    eqs.append({previous: 1, ("headline", "eligible"): -1, ("headline", "pending"): -1})
    for row in combos.itertuples(index=False):
        values[_combo_key(row.criteria)] = int(row.patients)
    totals = {("headline", name) for name in COUNTS}
    return suppress(values, eqs, k, keep_shown=totals)


def _combo_key(criteria: str) -> tuple:
    ids = criteria.split("; ")
    return ("criterion", ids[0], "fails_only") if len(ids) == 1 else ("combination", criteria)


def _step_keys(step: int, criterion: str) -> tuple[tuple, tuple]:
    excluded = ("criterion", criterion, "fails") if step == 1 else ("step", step, "x")
    return excluded, ("step", step, "remaining")


# ---------------------------------------------------------------- building
def build_content(
    funnel: Funnel,
    *,
    evaluation: Evaluation | None = None,
    data: Any = None,
    patients: bool = False,
    identified: bool = False,
    suppress_below: int | None = None,
    top_combinations: int = 20,
    top_reasons: int = 5,
    now: datetime | None = None,
) -> Content:
    """Build the display tables of a report (see the module docstring)."""
    k = check_k(suppress_below)
    patients = patients or identified
    if k is not None and patients:
        raise ScreenkitError(
            "Small-count suppression and a patient listing cannot go together: every "
            "hidden count could be recounted from the listing",
            hint="drop --patients / --identified, or drop --suppress-below",
        )
    f = funnel
    protocol = evaluation.protocol if evaluation is not None else None
    combos = f.combinations(top_combinations)
    sup = _suppression(f, k, combos)
    now = now or datetime.now(UTC)

    def show(key, value):
        return sup.show(key, value)

    # ------------------------------------------------ headline
    head = f.headline()
    n = head["screened"]
    hidden_n = sup.is_hidden(("headline", "screened"))
    rows = []
    for name in COUNTS:
        key = ("headline", name)
        low, high = wilson_interval(head[name], n)
        masked = sup.is_hidden(key) or hidden_n
        rows.append(
            {
                "Status": STATUS_NAMES[name],
                "Patients": show(key, head[name]),
                "% of screened": HIDDEN if masked else (head[name] / n if n else None),
                "95% CI low": HIDDEN if masked or name == "screened" else low,
                "95% CI high": HIDDEN if masked or name == "screened" else high,
            }
        )
    headline = pd.DataFrame(rows)
    headline.loc[0, ["95% CI low", "95% CI high"]] = None
    headline_text = _headline_sentence(headline)

    # ------------------------------------------------ criteria
    params = _criterion_parameters(protocol)
    crit = f.criteria.copy()
    attribution_hidden = {
        cid for cid in crit["criterion"] if sup.is_hidden(("criterion", cid, "fails"))
    }
    if len(attribution_hidden) == 1 and not sup.is_hidden(("headline", "screen_failed")):
        shown_active = crit[crit["active"] & ~crit["criterion"].isin(attribution_hidden)]
        if len(shown_active):
            attribution_hidden.add(shown_active.sort_values("attribution")["criterion"].iloc[0])
    crit_rows = []
    for row in crit.itertuples(index=False):
        cid = row.criterion
        fails_key = ("criterion", cid, "fails")
        rate_hidden = sup.is_hidden(fails_key) or hidden_n
        crit_rows.append(
            {
                "Criterion": cid,
                "Kind": row.kind,
                "Label": row.label,
                "Parameters used": params.get(cid, ""),
                "In funnel": "yes" if row.active else "switched off",
                "Fails": show(fails_key, int(row.fails)),
                "Unknown": show(("criterion", cid, "unknown"), int(row.unknown)),
                "Fails only this": show(("criterion", cid, "fails_only"), int(row.fails_only)),
                "Share of screen failures": HIDDEN
                if cid in attribution_hidden
                else float(row.attribution),
                "Fail rate": HIDDEN if rate_hidden else row.fail_rate,
                "95% CI low": HIDDEN if rate_hidden else row.fail_rate_ci_low,
                "95% CI high": HIDDEN if rate_hidden else row.fail_rate_ci_high,
            }
        )
    criteria_frame = pd.DataFrame(crit_rows)

    # ------------------------------------------------ top reasons
    reasons = _reasons(f, criteria_frame, top_reasons, n, hidden_n)

    # ------------------------------------------------ funnel
    steps_rows = [
        {
            "Step": 0,
            "Criterion": "Screened",
            "Label": "All screened patients",
            "Kind": "",
            "Excluded at this step": None,
            "Remaining": show(("headline", "screened"), n),
            "Remaining % of screened": HIDDEN if hidden_n else (1.0 if n else None),
        }
    ]
    for step in f.steps.itertuples(index=False):
        x_key, r_key = _step_keys(step.step, step.criterion)
        r_hidden = sup.is_hidden(r_key) or hidden_n
        steps_rows.append(
            {
                "Step": int(step.step),
                "Criterion": step.criterion,
                "Label": step.label,
                "Kind": step.kind,
                "Excluded at this step": show(x_key, int(step.excluded)),
                "Remaining": show(r_key, int(step.remaining)),
                "Remaining % of screened": HIDDEN
                if r_hidden
                else (step.remaining / n if n else None),
            }
        )
    order_note = (
        "protocol order"
        if list(f.order) == [c for c in f.patterns.criteria if c not in f.excluded]
        else "the order chosen for this report"
    )
    tables: dict[str, Table] = {}
    tables["Funnel"] = Table(
        "Funnel",
        "Sequential attrition",
        f"Criteria applied one after another in {order_note}; each patient is counted once, "
        "at the first criterion they fail. Patients who pass every criterion but have "
        "unknown values remain (pending)."
        + (f" Switched off: {', '.join(f.excluded)}." if f.excluded else ""),
        pd.DataFrame(steps_rows),
        {
            "Step": "count",
            "Excluded at this step": "count",
            "Remaining": "count",
            "Remaining % of screened": "pct",
        },
        wrap=("Label",),
    )
    tables["Criteria"] = Table(
        "Criteria",
        "Per criterion",
        "Fails = patients failing this criterion (whatever else they fail); Unknown = a "
        "value needed is missing; Fails only this = patients who would become eligible or "
        "pending if this criterion were dropped; Share of screen failures = each "
        "screen-failed patient shared equally among the criteria they fail (the column "
        "adds up to the screen-failed total). Fail rate = fails / screened with a 95% "
        "Wilson interval.",
        criteria_frame,
        {
            "Fails": "count",
            "Unknown": "count",
            "Fails only this": "count",
            "Share of screen failures": "decimal",
            "Fail rate": "pct",
            "95% CI low": "pct",
            "95% CI high": "pct",
        },
        total={
            "Criterion": "Total",
            "Share of screen failures": show(("headline", "screen_failed"), f.screen_failed),
        },
        wrap=("Label", "Parameters used"),
    )

    # ------------------------------------------------ combinations
    labels = dict(zip(crit["criterion"], crit["label"], strict=True))
    combo_rows = []
    hidden_failed = sup.is_hidden(("headline", "screen_failed"))
    for i, row in enumerate(combos.itertuples(index=False), start=1):
        key = _combo_key(row.criteria)
        combo_rows.append(
            {
                "Rank": i,
                "Criteria failed": row.criteria,
                "Labels": "; ".join(labels.get(c, c) for c in row.criteria.split("; ")),
                "Number of criteria": int(row.n_criteria),
                "Patients": show(key, int(row.patients)),
                "% of screen-failed": HIDDEN
                if sup.is_hidden(key) or hidden_failed
                else row.pct_of_failed / 100,
            }
        )
    tables["Combinations"] = Table(
        "Combinations",
        f"Most frequent sets of failed criteria (top {top_combinations})",
        "Each screen-failed patient is counted once, under the exact set of criteria they "
        "fail (among criteria in the funnel).",
        pd.DataFrame(
            combo_rows,
            columns=[
                "Rank",
                "Criteria failed",
                "Labels",
                "Number of criteria",
                "Patients",
                "% of screen-failed",
            ],
        ),
        {
            "Rank": "count",
            "Number of criteria": "count",
            "Patients": "count",
            "% of screen-failed": "pct",
        },
        wrap=("Labels",),
    )

    # ------------------------------------------------ by site / month
    for name, group, table, label in (
        ("By site", "site", f.by_site(), "Site"),
        ("By month", "month", f.by_month(), "Month"),
    ):
        tables[name] = _group_table(name, group, table, label, sup, head)

    # ------------------------------------------------ data issues, protocol, patients
    pseudo = None
    if evaluation is not None and patients and not identified and "patient_id" in evaluation.data:
        ids = evaluation.data["patient_id"].astype(str).tolist()
        pseudo = dict(zip(ids, pseudonymise(ids), strict=True))
    tables["Data issues"] = _issues_table(data, evaluation, patients, identified, pseudo)
    tables["Protocol"] = _protocol_table(protocol, f)
    if patients and evaluation is not None:
        tables["Patients"] = _patients_table(evaluation, f, identified, pseudo)

    # ------------------------------------------------ meta
    meta = _meta(f, protocol, data, evaluation, now, sup, patients, identified)
    listing = (
        "none (aggregate counts only)"
        if not patients
        else "real patient IDs"
        if identified
        else "pseudonymised IDs"
    )
    title = f"Screening report: {f.patterns.protocol_id or 'protocol'}"
    return Content(
        protocol_id=f.patterns.protocol_id,
        title=title,
        meta=meta,
        headline=headline,
        headline_text=headline_text,
        reasons=reasons,
        tables=tables,
        suppression=sup,
        funnel=f,
        patient_listing=listing,
    )


def _headline_sentence(headline: pd.DataFrame) -> str:
    parts = []
    for row in headline.itertuples(index=False):
        count, pct = row[1], row[2]
        text = f"{count} {row[0].lower()}"
        if row[0] != "Screened" and isinstance(pct, float) and not pd.isna(pct):
            text += f" ({100 * pct:.1f}%)"
        parts.append(text)
    return f"{parts[0]}: " + ", ".join(parts[1:])


def _criterion_parameters(protocol) -> dict[str, str]:
    if protocol is None:
        return {}
    frame = protocol.to_frame()
    return dict(zip(frame["criterion"], frame["parameters"], strict=True))


def _reasons(f: Funnel, criteria: pd.DataFrame, top: int, n: int, hidden_n: bool):
    """Top criteria by equal-share attribution, each with one sentence."""
    crit = f.criteria[f.criteria["active"] & (f.criteria["fails"] > 0)]
    crit = crit.sort_values(["attribution", "fails"], ascending=False).head(top)
    shown = criteria.set_index("Criterion")
    rows = []
    for rank, row in enumerate(crit.itertuples(index=False), start=1):
        d = shown.loc[row.criterion]
        fails, only, share = d["Fails"], d["Fails only this"], d["Share of screen failures"]
        if any(x == HIDDEN or str(x).startswith("<") for x in (fails, share)):
            continue
        rate = d["Fail rate"]
        rate_text = (
            f" ({_pct_text(rate)} of screened, 95% CI {_pct_text(d['95% CI low'])} to "
            f"{_pct_text(d['95% CI high'])})"
            if rate != HIDDEN
            else ""
        )
        sentence = (
            f"{row.criterion} ({row.label}): {fails} patients fail it{rate_text}; "
            f"{only} fail nothing else and would no longer be screen failures if it were "
            f"dropped; it accounts for {share:.1f} of the {f.screen_failed} screen failures "
            "when each failure is shared equally among the criteria failed."
        )
        rows.append(
            {
                "Rank": rank,
                "Criterion": row.criterion,
                "Label": row.label,
                "Fails": fails,
                "Fails only this": only,
                "Share of screen failures": share,
                "Fail rate": rate,
                "In one sentence": sentence,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "Rank",
            "Criterion",
            "Label",
            "Fails",
            "Fails only this",
            "Share of screen failures",
            "Fail rate",
            "In one sentence",
        ],
    )


def _group_table(name, group, table, label, sup: Suppression, head) -> Table:
    rows = []
    first = table.columns[0]
    for row in table.itertuples(index=False):
        g = getattr(row, first)
        keys = {c: (group, g, c) for c in COUNTS}
        masked = sup.is_hidden(keys["screened"]) or sup.is_hidden(keys["screen_failed"])
        rows.append(
            {
                label: str(g),
                **{STATUS_NAMES[c]: sup.show(keys[c], int(getattr(row, c))) for c in COUNTS},
                "Screen-fail rate": HIDDEN if masked else row.screen_fail_rate,
                "95% CI low": HIDDEN if masked else row.ci_low,
                "95% CI high": HIDDEN if masked else row.ci_high,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            label,
            *STATUS_NAMES.values(),
            "Screen-fail rate",
            "95% CI low",
            "95% CI high",
        ],
    )
    n, failed = head["screened"], head["screen_failed"]
    masked = sup.is_hidden(("headline", "screened")) or sup.is_hidden(("headline", "screen_failed"))
    low, high = wilson_interval(failed, n)
    total = {
        label: "All",
        **{STATUS_NAMES[c]: sup.show(("headline", c), head[c]) for c in COUNTS},
        "Screen-fail rate": HIDDEN if masked else (failed / n if n else None),
        "95% CI low": HIDDEN if masked else low,
        "95% CI high": HIDDEN if masked else high,
    }
    what = "site" if group == "site" else "month of screening"
    return Table(
        name,
        f"Screening outcome by {what}",
        f"Screened = eligible + screen-failed + pending in every row; the All row is the "
        f"whole log. Screen-fail rate with a 95% Wilson interval per {what}.",
        frame,
        {
            **{STATUS_NAMES[c]: "count" for c in COUNTS},
            "Screen-fail rate": "pct",
            "95% CI low": "pct",
            "95% CI high": "pct",
        },
        total=total,
    )


def _issues_table(data, evaluation, patients, identified, pseudo) -> Table:
    """Unparsed cells, implausible values, unmapped headers, skipped rows, missing columns."""
    report = getattr(data, "report", None)
    rows = []
    patient_col = "Patient" if patients else None
    if report is not None:
        cells = report.cells
        cells = cells[~cells["kind"].isin(["converted", "parsed"])]
        for c in cells.itertuples(index=False):
            pid = None if pd.isna(c.patient_id) else str(c.patient_id)
            rows.append(
                {
                    "Issue": {"unparsed": "value not understood (counts as missing)"}.get(
                        c.kind, str(c.kind)
                    ),
                    "Sheet": c.sheet,
                    "Row": c.row,
                    "Patient": pid if identified else (pseudo or {}).get(pid, pid and "?"),
                    "Column": c.column,
                    "Value": None if pd.isna(c.value) else str(c.value),
                    "Detail": c.detail,
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
        for cv in report.conversions.itertuples(index=False):
            rows.append(
                {
                    "Issue": "unit converted",
                    "Column": cv.column,
                    "Detail": f"{cv.cells} cell(s) converted from {cv.from_unit} to {cv.to_unit}",
                }
            )
        for note in report.notes:
            rows.append({"Issue": "note", "Detail": note})
    if evaluation is not None:
        for cid, cols in evaluation.missing_columns.items():
            if cols:
                rows.append(
                    {
                        "Issue": "criterion cannot be evaluated",
                        "Column": ", ".join(cols),
                        "Detail": f"{cid} needs column(s) absent from the file; it is unknown "
                        "for every patient",
                    }
                )
    columns = ["Issue", "Sheet", "Row", "Patient", "Column", "Value", "Detail"]
    frame = pd.DataFrame(rows, columns=columns)
    if patient_col is None:
        frame = frame.drop(columns="Patient")
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
        + "Row = the row number as the spreadsheet shows it."
        + ("" if patients else " Patient IDs are left out (privacy by default)."),
        frame,
        {"Row": "count"},
        wrap=("Detail",),
    )


def _protocol_table(protocol, f: Funnel) -> Table:
    step = {c: i for i, c in enumerate(f.order, start=1)}
    if protocol is not None:
        frame = protocol.to_frame().rename(
            columns={
                "criterion": "Criterion",
                "kind": "Kind",
                "label": "Label",
                "rule": "Rule",
                "parameters": "Parameters (as evaluated)",
                "source": "Source",
            }
        )
    else:
        frame = pd.DataFrame(
            {
                "Criterion": list(f.patterns.criteria),
                "Kind": list(f.patterns.kinds),
                "Label": list(f.patterns.labels),
            }
        )
    frame["Funnel step"] = [step.get(c, "switched off") for c in frame["Criterion"]]
    note = "Each criterion's rule and parameter values exactly as evaluated for this report."
    if protocol is not None:
        note += f" Protocol {protocol.id}, version: {protocol.version}."
    return Table(
        "Protocol",
        "Criteria as evaluated",
        note,
        frame,
        {"Funnel step": "count"},
        wrap=("Label", "Rule", "Parameters (as evaluated)", "Source"),
    )


def _patients_table(evaluation: Evaluation, f: Funnel, identified: bool, pseudo) -> Table:
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


def _meta(f, protocol, data, evaluation, now, sup, patients, identified) -> list[tuple[str, Any]]:
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
    changed = _changed_parameters(protocol)
    meta.append(("Thresholds changed from the protocol", changed or "none"))
    meta.append(("Criteria switched off", ", ".join(f.excluded) or "none"))
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


def _changed_parameters(protocol) -> str:
    if protocol is None:
        return ""
    try:
        from screenkit.protocol import get_protocol

        original = get_protocol(protocol.path or protocol.id)
    except Exception:  # a protocol built in Python: nothing to compare with
        return ""
    changes = []
    for name, p in protocol.parameters.items():
        before = original.parameters.get(name)
        if before is not None and before.value != p.value:
            unit = f" {p.unit}" if p.unit else ""
            changes.append(f"{name}: {before.value:g} -> {p.value:g}{unit}")
    return "; ".join(changes)
