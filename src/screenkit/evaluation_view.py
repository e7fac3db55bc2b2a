"""How an :class:`~screenkit.evaluate.Evaluation` reads as a table and in a notebook.

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> frame = pd.DataFrame({"spo2": pd.array([96, 95], dtype="Float64")})
>>> evaluation_frame(evaluate(frame, "NCT07103668"))[["status", "E7"]]
          status    E7
0        pending  pass
1  screen_failed  fail
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["evaluation_frame", "evaluation_html"]


def evaluation_frame(evaluation, *, words: bool = True) -> pd.DataFrame:
    """One row per patient: ``patient_id``, ``site_id``, ``status``, then criteria (see
    :meth:`~screenkit.evaluate.Evaluation.to_frame`)."""
    out = pd.DataFrame(index=evaluation.statuses.index)
    for name in ("patient_id", "site_id"):
        if name in evaluation.data.columns:
            out[name] = evaluation.data[name]
    out["status"] = evaluation.status.astype("string")
    if words:
        passed = "not recorded" if evaluation.status_source == "recorded" else "pass"
        statuses = evaluation.statuses
        labelled = {cid: _words(statuses[cid], passed) for cid in statuses.columns}
        out = pd.concat([out, pd.DataFrame(labelled, index=out.index)], axis=1)
    else:
        out = pd.concat([out, evaluation.statuses], axis=1)
    return out


def evaluation_html(evaluation) -> str:
    """Headline, missing columns and the first 20 patients, as HTML."""
    c = evaluation.counts()
    source = evaluation.status_source
    head = (
        f"<p><b>{evaluation.protocol.id}</b> ({source}): {c['screened']} screened, "
        f"{c['eligible']} eligible, {c['screen_failed']} screen-failed, "
        f"{c['pending']} pending</p>"
    )
    missing = {k: v for k, v in evaluation.missing_columns.items() if v}
    if missing:
        items = "".join(
            f"<li>{cid}: {', '.join(cols)}</li>" for cid, cols in list(missing.items())[:10]
        )
        more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
        head += f"<p>Criteria with columns missing from the data{more}:</p><ul>{items}</ul>"
    return head + evaluation.to_frame().head(20).to_html()


def _words(column: pd.Series, passed: str = "pass") -> pd.Series:
    out = np.where(column.isna(), "unknown", np.where(column.fillna(False), passed, "fail"))
    return pd.Series(out, index=column.index, dtype="string")
