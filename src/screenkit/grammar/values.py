"""Values of the rule language: per-patient intervals, Kleene truth, categories,
and the namespace that maps names to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screenkit.columns import COLUMNS

_INF = np.inf


# ---------------------------------------------------------------- value types
@dataclass(frozen=True)
class Num:
    """Per-patient closed intervals ``[lo, hi]``; ``[-inf, inf]`` means unknown."""

    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def const(cls, value: float, n: int) -> Num:
        arr = np.full(n, float(value))
        return cls(arr, arr)

    @property
    def missing(self) -> np.ndarray:
        return np.isneginf(self.lo) & np.isposinf(self.hi)


def unknown_where(num: Num, mask: np.ndarray) -> Num:
    """``num`` with the patients in ``mask`` made unknown (``[-inf, inf]``)."""
    return Num(np.where(mask, -_INF, num.lo), np.where(mask, _INF, num.hi))


@dataclass(frozen=True)
class Truth:
    """Three-valued truth per patient: ``true`` / ``false`` masks; neither = unknown."""

    true: np.ndarray
    false: np.ndarray

    def __and__(self, other: Truth) -> Truth:
        return Truth(self.true & other.true, self.false | other.false)

    def __or__(self, other: Truth) -> Truth:
        return Truth(self.true | other.true, self.false & other.false)

    def __invert__(self) -> Truth:
        return Truth(self.false, self.true)


@dataclass(frozen=True)
class Cat:
    """Per-patient category labels (object array; ``None`` = missing)."""

    values: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        return pd.isna(self.values)


def to_boolean(truth: Truth) -> pd.arrays.BooleanArray:
    """A :class:`Truth` as pandas' nullable boolean (``<NA>`` = unknown)."""
    known = truth.true | truth.false
    return pd.arrays.BooleanArray(truth.true.copy(), ~known)


def to_point(num: Num) -> pd.arrays.FloatingArray:
    """A :class:`Num` as nullable floats: the value where it is a point, else ``<NA>``."""
    point = (num.lo == num.hi) & np.isfinite(num.lo)
    return pd.arrays.FloatingArray(np.where(point, num.lo, 0.0), ~point)


# ---------------------------------------------------------------- namespace
@dataclass
class Namespace:
    """What a rule can refer to: the data's columns, parameters and derived values.

    ``unreadable`` maps a column (or derived value) to the patients whose cell held
    something that could not be read or was impossible (the load report lists them).
    Those cells are missing like blank ones, but a rule of the "known X" kind
    (``known_true``, ``is_missing``) must not read them as "not recorded": there they
    stay unknown.
    """

    n: int
    values: dict[str, Num | Truth | Cat] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    parameters: Mapping[str, float] = field(default_factory=dict)
    unreadable: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        censored: pd.DataFrame | None = None,
        parameters: Mapping[str, float] | None = None,
        unreadable: pd.DataFrame | None = None,
    ) -> Namespace:
        """Build a namespace from a canonical frame (columns missing from it are unknown)."""
        ns = cls(len(frame), parameters=dict(parameters or {}))
        for name in frame.columns:
            ns.values[name] = _column_value(frame[name], name, censored)
        if unreadable is not None:
            for name in unreadable.columns:
                if name in frame.columns:
                    mask = unreadable[name].reindex(frame.index).fillna(False)
                    if mask.any():
                        ns.unreadable[name] = mask.to_numpy(dtype=bool)
        return ns

    def lookup(self, name: str) -> Num | Truth | Cat:
        if name in self.values:
            return self.values[name]
        if name in self.parameters:
            return Num.const(self.parameters[name], self.n)
        column = COLUMNS.get(name)
        if column is None:  # pragma: no cover - compile_rule checks names first
            raise KeyError(name)
        self.absent.add(name)
        return _unknown(column.kind, self.n)


def _unknown(kind: str, n: int) -> Num | Truth | Cat:
    if kind == "bool":
        return Truth(np.zeros(n, bool), np.zeros(n, bool))
    if kind in ("number", "ordinal"):
        return Num(np.full(n, -_INF), np.full(n, _INF))
    return Cat(np.full(n, None, dtype=object))


def _column_value(series: pd.Series, name: str, censored: pd.DataFrame | None):
    column = COLUMNS.get(name)
    kind = column.kind if column else _guess_kind(series)
    if kind == "bool":
        s = series.astype("boolean")
        return Truth(
            s.to_numpy(dtype=bool, na_value=False), (~s).to_numpy(dtype=bool, na_value=False)
        )
    if kind in ("number", "ordinal"):
        values = pd.to_numeric(series, errors="coerce").astype("Float64")
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        lo = np.where(np.isnan(arr), -_INF, arr)
        hi = np.where(np.isnan(arr), _INF, arr)
        if censored is not None and name in censored.columns:
            flags = censored[name].reindex(series.index).to_numpy(dtype=object, na_value=None)
            below, above = flags == "<", flags == ">"
            lo = np.where(below, np.minimum(0.0, arr), lo)
            hi = np.where(above, _INF, hi)
        return Num(lo, hi)
    return Cat(series.astype(object).where(series.notna(), None).to_numpy(dtype=object))


def _guess_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    return "category"
