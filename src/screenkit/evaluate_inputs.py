"""What :func:`screenkit.evaluate.evaluate` checks on its input before any rule runs.

The frame and its load-time companions (censored ``<0.5`` flags, unreadable cells) are
taken out of a :class:`~screenkit.normalize.ScreeningData`; columns whose cells the rules
cannot read are rejected with the row, column and value; and a missing column that only
stands as an alternative (a QTc beside QT and heart rate) is told apart from one that
leaves criteria unknown.

>>> import pandas as pd
>>> frame = pd.DataFrame({"hb": ["9.5", "high"]})
>>> check_dtypes(frame, {"hb"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
screenkit.errors.InputError: Column 'hb' holds values the criteria cannot read (1 cell(s))
...
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pandas as pd

from screenkit.columns import COLUMNS
from screenkit.errors import InputError
from screenkit.protocol import Protocol

__all__ = ["check_dtypes", "covered_columns", "missing_inputs", "unwrap"]


def unwrap(data: Any) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """``(frame, censored, unreadable)`` of a DataFrame or a ``ScreeningData``."""
    if isinstance(data, pd.DataFrame):
        return data, None, None
    frame = getattr(data, "data", None)
    if isinstance(frame, pd.DataFrame):
        return frame, getattr(data, "censored", None), getattr(data, "unreadable", None)
    raise InputError(
        "evaluate() needs a screening log",
        value=type(data).__name__,
        expected="the result of load_screening(...) or a pandas DataFrame with canonical columns",
    )


def check_dtypes(frame: pd.DataFrame, needed: set[str]) -> None:
    """Reject columns whose values the rules cannot read (instead of silently NaN)."""
    dtypes = frame.dtypes  # a column itself is read only when its type is not already right
    for name in sorted(needed & set(frame.columns)):
        kind = COLUMNS[name].kind
        if kind == "bool":
            if pd.api.types.is_bool_dtype(dtypes[name]):
                continue
            s = frame[name]
            if s.isna().all():
                continue
            ok = s.dropna().map(lambda v: isinstance(v, bool | np.bool_))
            if not ok.all():
                _bad_value(name, s.dropna()[~ok], "yes/no values (True/False)")
        elif kind in ("number", "ordinal"):
            dtype = dtypes[name]
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                continue
            s = frame[name]
            converted = pd.to_numeric(s, errors="coerce")
            bad = s.notna() & converted.isna()
            if bad.any():
                _bad_value(name, s[bad], f"numbers in {COLUMNS[name].unit or 'units'}")


def _bad_value(name: str, bad: pd.Series, expected: str) -> None:
    raise InputError(
        f"Column {name!r} holds values the criteria cannot read ({len(bad)} cell(s))",
        row=bad.index[0],
        column=name,
        value=bad.iloc[0],
        expected=expected,
        hint="load files with screenkit.load_screening(), which parses spellings such as "
        "'Y', '是', '<0.5', 'ND' and converts units",
    )


def covered_columns(protocol: Protocol, present: set[str]) -> set[str]:
    """Missing columns that are only alternatives: every place they appear is an argument
    of a ``coalesce(...)`` with another argument whose columns are all present (a QTc
    beside QT and heart rate)."""
    trees = [d.rule.tree.body for d in protocol.derived.values()]
    trees += [r.tree.body for c in protocol.criteria for r in c.rules]
    covered: dict[str, bool] = {}
    for tree in trees:
        for col, ok in _column_uses(tree, present, alternative=False):
            covered[col] = covered.get(col, True) and ok
    return {col for col, ok in covered.items() if ok}


def _column_uses(node: ast.AST, present: set[str], alternative: bool):
    """``(missing column, covered?)`` for every place a missing column appears under
    ``node``; ``alternative``: inside a coalesce argument whose sibling is present."""
    if isinstance(node, ast.Name) and node.id in COLUMNS and node.id not in present:
        yield node.id, alternative
        return
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "coalesce":
        args = [_columns_under(a) for a in node.args]
        for i, a in enumerate(node.args):
            sibling = any(j != i and cols and cols <= present for j, cols in enumerate(args))
            yield from _column_uses(a, present, alternative or sibling)
        return
    for child in ast.iter_child_nodes(node):
        yield from _column_uses(child, present, alternative)


def _columns_under(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in COLUMNS}


def missing_inputs(evaluation) -> pd.DataFrame:
    """Canonical columns some criterion needs that the data lack, and their cost (see
    :meth:`screenkit.evaluate.Evaluation.missing_inputs`)."""
    needers: dict[str, list[str]] = {}
    covered = covered_columns(evaluation.protocol, set(evaluation.data.columns))
    for cid, cols in evaluation.missing_columns.items():
        for col in cols:
            if col not in covered:
                needers.setdefault(col, []).append(cid)
    # the unknown sets are unpacked only when a column is missing
    unknown = evaluation.matrices()[1] if needers else None
    position = {cid: i for i, cid in enumerate(evaluation.ids)}
    rows = []
    for col, ids in needers.items():
        count = int(unknown[:, [position[c] for c in ids]].any(axis=1).sum())
        label = COLUMNS[col].label if col in COLUMNS else col
        rows.append(
            {
                "column": col,
                "label": label,
                "criteria": ", ".join(ids),
                "patients_unknown": count,
            }
        )
    out = pd.DataFrame(rows, columns=["column", "label", "criteria", "patients_unknown"])
    return out.sort_values(
        ["patients_unknown", "column"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
