"""Report tables of the recorded-reasons mode: Concordance and Recorded reasons.

Aggregate counts only (patients per criterion, per ID not in the protocol, per unmatched
text); :func:`screenkit.export.content.build_content` leaves them out under small-count
suppression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from screenkit.concordance import CONCORDANCE_COLUMNS, PATIENTS, TOTAL
from screenkit.export.tables import Table
from screenkit.recorded import NOT_RECORDED

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["concordance_table", "recorded_reasons_table", "recorded_tables"]

#: the concordance columns as the workbook and the HTML head them
HEADINGS = dict(
    zip(
        CONCORDANCE_COLUMNS,
        (
            "Recorded fails",
            "Computed fails",
            "Both",
            "Recorded only",
            "Computed only",
            "Recorded only, computed unknown",
        ),
        strict=True,
    )
)


def recorded_tables(
    evaluation: Evaluation | None, concordance: pd.DataFrame | None
) -> dict[str, Table]:
    """``{"Concordance": ..., "Recorded reasons": ...}``, each when there is one."""
    tables: dict[str, Table] = {}
    if concordance is not None:
        tables["Concordance"] = concordance_table(concordance, evaluation)
    recorded = getattr(evaluation, "recorded", None)
    if recorded is not None:
        tables["Recorded reasons"] = recorded_reasons_table(recorded)
    return tables


def concordance_table(table: pd.DataFrame, evaluation: Evaluation | None = None) -> Table:
    """The concordance per criterion, with its Total row as the table's total."""
    labels = {}
    if evaluation is not None:
        labels = {c.id: c.label for c in evaluation.protocol.criteria}
    body = table.drop(index=[TOTAL])
    frame = pd.DataFrame(
        {
            "Criterion": body.index.astype(str),
            "Label": [
                labels.get(cid, "")
                if cid != PATIENTS
                else "screen-failed by each source, any criterion (not in the total)"
                for cid in body.index
            ],
            **{heading: body[column].to_numpy() for column, heading in HEADINGS.items()},
        }
    )
    total = table.loc[TOTAL]
    return Table(
        "Concordance",
        "Recorded and computed fails, per criterion",
        "Patients failing each criterion by the site's recorded reasons, by the protocol's "
        "rules on the lab-level columns, by both, or by one only. Recorded only with the "
        "computed status unknown: the data cannot confirm the record. Recorded = both + "
        "recorded only; computed = both + computed only. The total counts patient-criterion "
        "pairs over the criterion rows; the Screen-failed patients row compares the overall "
        "outcome (recorded includes NR; computed unknown = pending).",
        frame,
        dict.fromkeys(HEADINGS.values(), "count"),
        total={
            "Criterion": "Total (criterion rows)",
            "Label": "",
            **{heading: int(total[column]) for column, heading in HEADINGS.items()},
        },
        wrap=("Label",),
    )


def recorded_reasons_table(recorded) -> Table:
    """What the reasons column held besides protocol IDs: nothing is dropped."""
    rows = [
        {
            "What": "Screen failure, no protocol criterion recorded",
            "Recorded as": "",
            "Counted as": NOT_RECORDED,
            "Patients": recorded.not_recorded,
        }
    ]
    for r in recorded.unknown_ids.itertuples():
        rows.append(
            {
                "What": "ID not in the protocol" + (f" ({r.note})" if r.note else ""),
                "Recorded as": r.id,
                "Counted as": f"{NOT_RECORDED} for {r.not_recorded}",
                "Patients": int(r.patients),
            }
        )
    for r in recorded.label_matches.itertuples():
        rows.append(
            {
                "What": "Free text matched to a criterion label",
                "Recorded as": r.text,
                "Counted as": r.criterion,
                "Patients": int(r.patients),
            }
        )
    for r in recorded.unmatched_text.itertuples():
        rows.append(
            {
                "What": "Free text matching no criterion label",
                "Recorded as": r.text,
                "Counted as": "",
                "Patients": int(r.patients),
            }
        )
    if recorded.conflicts:
        rows.append(
            {
                "What": f"{recorded.outcome_column} yet a reason recorded (counted as failed)",
                "Recorded as": "",
                "Counted as": "screen failure",
                "Patients": recorded.conflicts,
            }
        )
    return Table(
        "Recorded reasons",
        f"What the reasons column '{recorded.column}' held",
        "A criterion listed = failed; not listed = not recorded as failed (not the same as "
        f"passed). {NOT_RECORDED}: screen failures (a reason written, or "
        f"{recorded.outcome_column or 'the outcome'} = no) with no protocol criterion "
        "recorded. IDs the protocol lacks and unmatched text are listed, never dropped.",
        pd.DataFrame(rows, columns=["What", "Recorded as", "Counted as", "Patients"]),
        {"Patients": "count"},
        wrap=("What", "Recorded as"),
    )
