"""The value types and the two expression back ends of ``_rule_backends.py`` (polars
``Expr`` and DuckDB SQL text), and the helpers that compare the rivals' summaries.

>>> SQL("x").text
'x'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

RTOL = 1e-9


@dataclass(frozen=True)
class Num:
    """An interval ``[lo, hi]`` per patient; ``[-inf, inf]`` = unknown."""

    lo: Any
    hi: Any


@dataclass(frozen=True)
class Cat:
    """A category label (null = missing)."""

    expr: Any


# ---------------------------------------------------------------- back ends
class PolarsOps:
    """Expressions as polars ``Expr``."""

    def __init__(self):
        import polars as pl

        self.pl = pl

    def col(self, name):
        return self.pl.col(name)

    def lit(self, x):
        return self.pl.lit(x)

    def where(self, cond, a, b):
        return self.pl.when(cond).then(a).otherwise(b)

    def refs(self, expr) -> list[str]:
        return expr.meta.root_names()

    def null(self):
        return self.pl.lit(None)

    def fill_null(self, x, value):
        return x.fill_null(value)

    def is_null(self, x):
        return x.is_null()

    def coalesce(self, xs):
        return self.pl.coalesce(xs)

    def is_nan(self, x):
        return x.is_nan()

    def is_finite(self, x):
        return x.is_finite()

    def abs(self, x):
        return x.abs()

    def cbrt(self, x):
        return x.cbrt()

    def nanmin(self, xs):
        pl = self.pl
        return pl.min_horizontal([x.fill_nan(None) for x in xs]).fill_null(np.nan)

    def nanmax(self, xs):
        pl = self.pl
        return pl.max_horizontal([x.fill_nan(None) for x in xs]).fill_null(np.nan)

    def cat_factor(self, e, table):
        """``table[lower(e)]``, NaN where absent."""
        mapped = e.str.to_lowercase().replace_strict(
            table, default=None, return_dtype=self.pl.Float64
        )
        return mapped.fill_null(np.nan)


class SQL:
    """A SQL expression string with Python operators (for the DuckDB back end)."""

    def __init__(self, text: str):
        self.text = text

    def _bin(self, op, other):
        return SQL(f"({self.text} {op} {_sql(other).text})")

    def __add__(self, o):
        return self._bin("+", o)

    def __sub__(self, o):
        return self._bin("-", o)

    def __mul__(self, o):
        return self._bin("*", o)

    def __truediv__(self, o):
        return self._bin("/", o)

    def __eq__(self, o):  # type: ignore[override]  # builds SQL, like polars' Expr
        return self._bin("=", o)

    def __ne__(self, o):  # type: ignore[override]
        return self._bin("<>", o)

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, o):
        return self._bin("<", o)

    def __le__(self, o):
        return self._bin("<=", o)

    def __gt__(self, o):
        return self._bin(">", o)

    def __ge__(self, o):
        return self._bin(">=", o)

    def __and__(self, o):
        return self._bin("AND", o)

    def __or__(self, o):
        return self._bin("OR", o)

    def __invert__(self):
        return SQL(f"(NOT {self.text})")

    def __neg__(self):
        return SQL(f"(- {self.text})")

    def __rsub__(self, o):
        return _sql(o)._bin("-", self)

    def __rmul__(self, o):
        return _sql(o)._bin("*", self)

    def __radd__(self, o):
        return _sql(o)._bin("+", self)


def _sql(x) -> SQL:
    if isinstance(x, SQL):
        return x
    if x is None:
        return SQL("NULL")
    if isinstance(x, bool):
        return SQL("TRUE" if x else "FALSE")
    if isinstance(x, str):
        return SQL("'" + x.replace("'", "''") + "'")
    x = float(x)
    if np.isnan(x):
        return SQL("'nan'::DOUBLE")
    if np.isinf(x):
        return SQL("'inf'::DOUBLE" if x > 0 else "'-inf'::DOUBLE")
    return SQL(repr(x) + "::DOUBLE")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckOps:
    """Expressions as DuckDB SQL text."""

    def col(self, name):
        return SQL(_q(name))

    def lit(self, x):
        return _sql(x)

    def where(self, cond, a, b):
        return SQL(f"(CASE WHEN {_sql(cond).text} THEN {_sql(a).text} ELSE {_sql(b).text} END)")

    def null(self):
        return SQL("NULL")

    def fill_null(self, x, value):
        return SQL(f"coalesce({_sql(x).text}, {_sql(value).text})")

    def is_null(self, x):
        return SQL(f"({_sql(x).text} IS NULL)")

    def coalesce(self, xs):
        return SQL("coalesce(" + ", ".join(_sql(x).text for x in xs) + ")")

    def refs(self, expr) -> list[str]:
        return re.findall(r'"(__b\d+)"', _sql(expr).text)

    def is_nan(self, x):
        return SQL(f"isnan({_sql(x).text})")

    def is_finite(self, x):
        return SQL(f"isfinite({_sql(x).text})")

    def abs(self, x):
        return SQL(f"abs({_sql(x).text})")

    def cbrt(self, x):
        return SQL(f"cbrt({_sql(x).text})")

    def _nan_reduce(self, fn, xs):
        # DuckDB orders NaN above every number: NULL it so least / greatest skip it
        args = ", ".join(f"nullif({_sql(x).text}, 'nan'::DOUBLE)" for x in xs)
        return SQL(f"coalesce({fn}({args}), 'nan'::DOUBLE)")

    def nanmin(self, xs):
        return self._nan_reduce("least", xs)

    def nanmax(self, xs):
        return self._nan_reduce("greatest", xs)

    def cat_factor(self, e, table):
        whens = " ".join(f"WHEN {_sql(k).text} THEN {_sql(v).text}" for k, v in table.items())
        return SQL(f"(CASE lower({e.text}) {whens} ELSE 'nan'::DOUBLE END)")


# ---------------------------------------------------------------- bindings


def screenkit_summary(f) -> dict[str, Any]:
    """The same figures from a screenkit :class:`~screenkit.funnel.Funnel` (protocol order)."""
    crit = f.criteria.set_index("criterion")
    steps = f.steps.set_index("criterion")
    return {
        **f.headline(),
        "fails": crit["fails"].astype(int).to_dict(),
        "unknown": crit["unknown"].astype(int).to_dict(),
        "fails_only": crit["fails_only"].astype(int).to_dict(),
        "attribution": crit["attribution"].astype(float).to_dict(),
        "excluded": steps["excluded"].astype(int).to_dict(),
    }


def same_counts(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The figures where two summaries differ (attribution to 1e-6 per patient)."""
    diffs = [k for k in ("screened", "eligible", "screen_failed", "pending") if a[k] != b[k]]
    for key in ("fails", "unknown", "fails_only", "excluded"):
        diffs += [f"{key}[{c}]" for c in a[key] if a[key][c] != b[key].get(c)]
    diffs += [
        f"attribution[{c}]"
        for c in a["attribution"]
        if abs(a["attribution"][c] - b["attribution"].get(c, np.nan)) > 1e-6 * max(1, a["screened"])
        or np.isnan(b["attribution"].get(c, np.nan))
    ]
    return diffs


def to_polars(frame: pd.DataFrame, columns: list[str]):
    """A polars frame of ``columns`` (nullable pandas dtypes -> polars nulls; not timed)."""
    import polars as pl

    series = []
    for name in columns:
        s = frame[name]
        if pd.api.types.is_bool_dtype(s.dtype):
            values = s.to_numpy(dtype=bool, na_value=False)
            mask = s.isna().to_numpy()
            tmp = pl.DataFrame({"v": values, "m": mask})
            series.append(
                tmp.select(
                    pl.when(pl.col("m")).then(None).otherwise(pl.col("v")).alias(name)
                ).to_series()
            )
        elif pd.api.types.is_numeric_dtype(s.dtype):
            series.append(
                pl.Series(name, s.to_numpy(dtype=float, na_value=np.nan), nan_to_null=True)
            )
        else:
            values = s.astype(object).where(s.notna(), None).to_numpy(dtype=object)
            series.append(pl.Series(name, values.tolist(), dtype=pl.String))
    return pl.DataFrame(series)
