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

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenkit.errors import ScreenkitError
from screenkit.export.listings import (
    criterion_parameters,
    issues_table,
    patients_table,
    protocol_table,
    report_meta,
)
from screenkit.export.privacy import Suppression, check_k, pseudonymise
from screenkit.export.recorded import recorded_tables
from screenkit.export.recruitment import Recruitment, build_recruitment
from screenkit.export.tables import (
    Table,
    combinations_hidden,
    combinations_table,
    criteria_table,
    funnel_table,
    group_table,
    headline_frame,
    headline_sentence,
    reasons_frame,
    suppression_for,
)
from screenkit.outputs import report_time
from screenkit.recorded import source_sentence

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation
    from screenkit.funnel import Funnel
    from screenkit.plots.flow import Flow

__all__ = ["Content", "Table", "build_content"]


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
    recruitment: Recruitment | None = None
    flow: Flow | None = None


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
    concordance: pd.DataFrame | None = None,
    recruitment: Recruitment | bool = False,
) -> Content:
    """Build the display tables of a report (see the module docstring).

    ``recruitment``: ``True`` adds randomized to date vs the target and the forecast
    (:func:`~screenkit.export.recruitment.build_recruitment` of ``evaluation``, with the
    funnel's switched-off criteria and the same suppression); a
    :class:`~screenkit.export.recruitment.Recruitment` already built is used as it is (one
    computation for a workbook and an HTML report of the same run).

    ``identified`` implies ``patients``; suppression and a patient listing exclude each
    other (the listing would let anyone recount every hidden cell).
    """
    from screenkit.plots.flow import build_flow, randomized_counts  # it imports export.tables

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
    sup = suppression_for(f, k, combos)
    headline = headline_frame(f, sup)
    criteria = criteria_table(
        f, sup, criterion_parameters(protocol), hide_shares=combinations_hidden(f, sup, combos)
    )
    tables: dict[str, Table] = {
        "Funnel": funnel_table(f, sup),
        "Criteria": criteria,
        "Combinations": combinations_table(f, sup, combos, top_combinations),
        "By site": group_table("By site", "site", f.by_site(), "Site", sup, f.headline()),
        "By month": group_table("By month", "month", f.by_month(), "Month", sup, f.headline()),
    }
    pseudo = None
    if evaluation is not None and patients and not identified and "patient_id" in evaluation.data:
        ids = evaluation.data["patient_id"].astype(str).tolist()
        pseudo = dict(zip(ids, pseudonymise(ids), strict=True))
    tables["Data issues"] = issues_table(
        data, evaluation, patients, identified, pseudo, suppress_below=k
    )
    extra = recorded_tables(evaluation, concordance)
    if k is None:
        tables.update(extra)
    tables["Protocol"] = protocol_table(protocol, f)
    if patients and evaluation is not None:
        tables["Patients"] = patients_table(evaluation, f, identified, pseudo)
    if recruitment is True and evaluation is not None:
        recruitment = build_recruitment(evaluation, exclude=f.excluded, suppress_below=k)
    elif not isinstance(recruitment, Recruitment):
        recruitment = None
    listing = (
        "none (aggregate counts only)"
        if not patients
        else "real patient IDs"
        if identified
        else "pseudonymised IDs"
    )
    meta = report_meta(f, protocol, data, now or report_time(), sup, patients, identified)
    if evaluation is not None:
        meta.insert(min(2, len(meta)), ("Status source", source_sentence(evaluation)))
    if k is not None and extra:
        meta.append(("Not shown under suppression", ", ".join(extra)))
    return Content(
        protocol_id=f.patterns.protocol_id,
        title=f"Screening report: {f.patterns.protocol_id or 'protocol'}",
        meta=meta,
        headline=headline,
        headline_text=headline_sentence(headline),
        reasons=reasons_frame(f, criteria, top_reasons),
        tables=tables,
        suppression=sup,
        funnel=f,
        patient_listing=listing,
        recruitment=recruitment,
        flow=build_flow(f, sup, criteria, randomized_counts(evaluation, f)),
    )
