"""Values of the rule language: per-patient intervals, Kleene truth, categories,
and the namespace that maps names to them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from screenkit.columns import COLUMNS
from screenkit.loadedcodes import LoadedCodes, known_codes

_INF = np.inf


# ---------------------------------------------------------------- value types
@dataclass(frozen=True)
class Num:
    """Per-patient closed intervals ``[lo, hi]``; ``[-inf, inf]`` means unknown.

    A **point** (a measured value, no censoring) is stored once: ``lo is hi``, and there
    a missing value is NaN, which compares false both ways, so comparisons and arithmetic
    on points need no special case for unknown. ``lo`` / ``hi`` may be scalars (a
    constant or a parameter), which numpy broadcasts.
    """

    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def const(cls, value: float, n: int) -> Num:
        arr = np.float64(value)
        return cls(arr, arr)

    @classmethod
    def point(cls, values: np.ndarray) -> Num:
        """Measured values, NaN where missing."""
        return cls(values, values)

    @property
    def is_point(self) -> bool:
        return self.lo is self.hi

    @property
    def missing(self) -> np.ndarray:
        if self.is_point:
            return np.isnan(self.lo)
        return np.isnan(self.lo) | (np.isneginf(self.lo) & np.isposinf(self.hi))

    def full(self, n: int) -> Num:
        """The same values for ``n`` patients (a constant repeated; a point stays one)."""
        lo = np.broadcast_to(np.asarray(self.lo, dtype=float), (n,))
        if self.is_point:
            return Num.point(lo)
        return Num(lo, np.broadcast_to(np.asarray(self.hi, dtype=float), (n,)))

    def interval(self, n: int) -> Num:
        """The same values as full-length intervals, unknown as ``[-inf, inf]`` (the form
        the functions of the rule language take)."""
        lo = np.broadcast_to(np.asarray(self.lo, dtype=float), (n,))
        hi = np.broadcast_to(np.asarray(self.hi, dtype=float), (n,))
        unknown = np.isnan(lo) | np.isnan(hi)
        if not unknown.any():
            return Num(lo, hi)
        return Num(np.where(unknown, -_INF, lo), np.where(unknown, _INF, hi))


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
    """Per-patient category labels: ``codes`` into ``categories`` (-1 = missing)."""

    codes: np.ndarray
    categories: np.ndarray

    @classmethod
    def from_values(cls, values: Any) -> Cat:
        """Factorize labels (``None`` / NA = missing): one hash pass, no per-cell object."""
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return cls(codes.astype(np.int64), np.asarray(uniques, dtype=object))

    @property
    def values(self) -> np.ndarray:
        """The labels as an object array, ``None`` where missing."""
        table = np.array([*self.categories, None], dtype=object)
        return table[self.codes]

    @property
    def missing(self) -> np.ndarray:
        return self.codes < 0

    def where(self, test: Callable[[Any], Any], default: Any = False) -> np.ndarray:
        """``test(label)`` for every patient (``default`` where missing), computed once
        per category."""
        table = np.array([*(test(c) for c in self.categories), default])
        return table[self.codes]


def to_boolean(truth: Truth) -> pd.arrays.BooleanArray:
    """A :class:`Truth` as pandas' nullable boolean (``<NA>`` = unknown)."""
    known = truth.true | truth.false
    return pd.arrays.BooleanArray(truth.true.copy(), ~known)


def to_point(num: Num) -> pd.arrays.FloatingArray:
    """A :class:`Num` as nullable floats: the value where it is a point, else ``<NA>``."""
    lo, hi = np.asarray(num.lo, dtype=float), np.asarray(num.hi, dtype=float)
    point = (lo == hi) & np.isfinite(lo)
    return pd.arrays.FloatingArray(np.where(point, lo, 0.0), ~point)


# ---------------------------------------------------------------- namespace
@dataclass
class Namespace:
    """What a rule can refer to: the data's columns, parameters and derived values.

    ``unreadable`` maps a column (or derived value) to the patients whose cell held
    something that could not be read or was impossible (the load report lists them).
    Those cells are missing like blank ones, but a rule of the "known X" kind
    (``known_true``, ``is_missing``) must not read them as "not recorded": there they
    stay unknown.

    The columns of ``frame`` are read when a rule looks them up (column-wise, no copy
    kept: a million patients x 40 lab columns would otherwise double the input in
    memory); ``values`` holds derived values and the factorized categories.
    """

    n: int
    values: dict[str, Num | Truth | Cat] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    parameters: Mapping[str, float] = field(default_factory=dict)
    unreadable: dict[str, np.ndarray] = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    censored: pd.DataFrame | None = None
    known: Mapping[str, LoadedCodes] | None = None

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        censored: pd.DataFrame | None = None,
        parameters: Mapping[str, float] | None = None,
        unreadable: pd.DataFrame | None = None,
        known: Mapping[str, LoadedCodes] | None = None,
    ) -> Namespace:
        """Build a namespace from a canonical frame (columns missing from it are unknown);
        ``known``: the loader's codes of text columns (``ScreeningData.codes``)."""
        ns = cls(
            len(frame),
            parameters=dict(parameters or {}),
            frame=frame,
            censored=censored,
            known=known,
        )
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
        if self.frame is not None and name in self.frame.columns:
            series = self.frame[name]
            loaded = known_codes(self.known, name, series)  # a text column, as loaded
            if loaded is not None:
                value = Cat(loaded.codes, loaded.categories)  # Cat.from_values, not hashed
            else:
                value = _column_value(series, name, self.censored)
            if isinstance(value, Cat):  # factorized once: hashing labels is the costly part
                self.values[name] = value
            return value
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
        return Num.point(np.full(n, np.nan))
    return Cat(np.full(n, -1, dtype=np.int64), np.array([], dtype=object))


def _column_value(series: pd.Series, name: str, censored: pd.DataFrame | None):
    """One column as a rule value, read column-wise (no per-cell Python)."""
    column = COLUMNS.get(name)
    kind = column.kind if column else _guess_kind(series)
    if kind == "bool":
        if series.dtype == bool:
            values = _read_only(series.to_numpy())
            return Truth(values, ~values)
        parts = _masked_parts(series)
        if parts is not None and parts[0].dtype == bool:
            data, mask = parts
            return Truth(data & ~mask, ~(data | mask))
        s = series.astype("boolean").array
        true = s.to_numpy(dtype=bool, na_value=False)
        return Truth(true, ~(true | s.isna()))
    if kind in ("number", "ordinal"):
        arr = _float_values(series)
        flags = None
        if censored is not None and name in censored.columns:
            flags = censored[name].reindex(series.index).to_numpy(dtype=object, na_value=None)
            if not (np.equal(flags, "<") | np.equal(flags, ">")).any():
                flags = None
        if flags is None:
            return Num.point(arr)
        lo = np.where(np.isnan(arr), -_INF, arr)
        hi = np.where(np.isnan(arr), _INF, arr)
        below, above = flags == "<", flags == ">"
        lo = np.where(below, np.minimum(0.0, arr), lo)
        hi = np.where(above, _INF, hi)
        return Num(lo, hi)
    return Cat.from_values(series)


def _float_values(series: pd.Series) -> np.ndarray:
    """A numeric column as float64, NaN where missing: a read-only view of the column's
    own values where they are float64 without a missing value, else one copy."""
    parts = _masked_parts(series)
    if parts is not None and parts[0].dtype == np.float64:
        data, mask = parts
        if not mask.any():
            return _read_only(data)
        values = data.copy()
        np.copyto(values, np.nan, where=mask)
        return values
    if series.dtype == np.float64:
        return _read_only(series.to_numpy())
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan, copy=True)
    values = pd.to_numeric(series, errors="coerce").astype("Float64")
    return values.to_numpy(dtype=float, na_value=np.nan)


def _masked_parts(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``(values, NA mask)`` of a pandas masked column (``Float64``, ``Int64``,
    ``boolean``): the two numpy arrays such a column is made of, read as they are (values
    under the mask are arbitrary); None for another kind of column."""
    array = series.array
    if isinstance(array, pd.arrays.FloatingArray | pd.arrays.IntegerArray | pd.arrays.BooleanArray):
        return array._data, array._mask
    return None


def _read_only(values: np.ndarray) -> np.ndarray:
    """A view of ``values`` that cannot be written: the frame's own memory, no copy."""
    view = values.view()
    view.flags.writeable = False
    return view


def _guess_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    return "category"
