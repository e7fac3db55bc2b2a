"""The rule semantics as they were before the core was compiled and bit-packed: the
interval interpreter of screenkit 0.x (grammar/values, functions, interpret at commit
b952e2a), kept verbatim as the reference of ``tests/test_core_differential.py``.

Every number is an interval ``[lo, hi]`` (unknown ``[-inf, inf]``), every truth a pair of
masks, categories object arrays; nothing here is shared with the code under test except
the column catalogue and the parsed rule trees.
"""

# ruff: noqa
from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screenkit.columns import COLUMNS

# ---------------------------------------------------------------- old values.py
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


# ---------------------------------------------------------------- old functions.py
# ---------------------------------------------------------------- functions
# Prednisone-equivalent factors, exact: 5 mg prednisone = 5 mg prednisolone = 4 mg
# methylprednisolone = 0.75 mg dexamethasone = 0.6 mg betamethasone = 20 mg
# hydrocortisone (FDA prednisolone label; betamethasone 0.6 mg as in standard
# glucocorticoid equivalence tables). Written as fractions so that e.g. dexamethasone
# 2.25 mg is exactly 15 mg prednisone (the rounded 6.67 gives 15.0075, which would
# exclude at "> 15 mg").
# ``none`` (no steroid) counts 0.
PREDNISONE_FACTOR = {
    "none": 0.0,
    "prednisone": 1.0,
    "prednisolone": 1.0,
    "methylprednisolone": 5 / 4,
    "hydrocortisone": 1 / 4,
    "dexamethasone": 20 / 3,
    "betamethasone": 25 / 3,
}
_PREDNISONE_FACTOR = PREDNISONE_FACTOR
_AGENT_FACTORS = [f for f in PREDNISONE_FACTOR.values() if f > 0]  # an unknown agent's span


def _fn_min(*args: Num) -> Num:
    return Num(np.minimum.reduce([a.lo for a in args]), np.minimum.reduce([a.hi for a in args]))


def _fn_max(*args: Num) -> Num:
    return Num(np.maximum.reduce([a.lo for a in args]), np.maximum.reduce([a.hi for a in args]))


def _fn_coalesce(*args):
    first = args[0]
    if isinstance(first, Truth):
        true, false = first.true.copy(), first.false.copy()
        for nxt in args[1:]:
            unknown = ~(true | false)
            true |= unknown & nxt.true
            false |= unknown & nxt.false
        return Truth(true, false)
    lo, hi = first.lo.copy(), first.hi.copy()
    for nxt in args[1:]:
        missing = np.isneginf(lo) & np.isposinf(hi)
        lo = np.where(missing, nxt.lo, lo)
        hi = np.where(missing, nxt.hi, hi)
    return Num(lo, hi)


def _fn_known_true(truth: Truth) -> Truth:
    return Truth(truth.true.copy(), ~truth.true)


def _fn_is_missing(value) -> Truth:
    missing = ~(value.true | value.false) if isinstance(value, Truth) else value.missing
    return Truth(missing, ~missing)


def _fn_crcl(age: Num, weight: Num, creat: Num, sex: Cat) -> Num:
    """Cockcroft-Gault creatinine clearance (mL/min), creatinine in mg/dL."""
    female = sex.values == "F"
    male = sex.values == "M"
    f_lo = np.where(male, 1.0, 0.85)
    f_hi = np.where(female, 0.85, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = (140.0 - age.hi) * weight.lo / (72.0 * creat.hi) * f_lo
        hi = (140.0 - age.lo) * weight.hi / (72.0 * creat.lo) * f_hi
    bad = age.missing | weight.missing | creat.missing | np.isnan(lo) | np.isnan(hi)
    return unknown_where(Num(np.maximum(lo, 0.0), hi), bad)


def _fn_qtcf(qt: Num, heart_rate: Num) -> Num:
    """Fridericia: QTcF = QT / RR^(1/3), RR = 60 / HR seconds."""
    with np.errstate(invalid="ignore"):
        lo = qt.lo * np.cbrt(heart_rate.lo / 60.0)
        hi = qt.hi * np.cbrt(heart_rate.hi / 60.0)
    bad = qt.missing | heart_rate.missing | np.isnan(lo) | np.isnan(hi)
    return unknown_where(Num(lo, hi), bad)


def _fn_prednisone(agent: Cat, dose: Num) -> Num:
    """Prednisone-equivalent dose; an unknown agent spans the whole table of factors."""
    factor = pd.Series(agent.values, dtype=object).str.lower().map(_PREDNISONE_FACTOR)
    f = factor.to_numpy(dtype=float, na_value=np.nan)
    f_lo = np.where(np.isnan(f), min(_AGENT_FACTORS), f)
    f_hi = np.where(np.isnan(f), max(_AGENT_FACTORS), f)
    none = f == 0.0  # no steroid: 0 whatever the dose cell holds
    with np.errstate(invalid="ignore"):
        lo, hi = dose.lo * f_lo, dose.hi * f_hi
    lo, hi = np.where(none, 0.0, lo), np.where(none, 0.0, hi)
    return unknown_where(Num(lo, hi), ~none & (dose.missing | np.isnan(lo) | np.isnan(hi)))


@dataclass(frozen=True)
class Function:
    impl: Callable
    args: tuple[str, ...] | None  # kinds ("num", "truth", "cat", "any"); None = variadic num
    returns: str
    doc: str


FUNCTIONS: Mapping[str, Function] = {
    "min": Function(_fn_min, None, "num", "smallest of its arguments"),
    "max": Function(_fn_max, None, "num", "largest of its arguments"),
    "coalesce": Function(_fn_coalesce, None, "same", "first argument that is not missing"),
    "known_true": Function(_fn_known_true, ("truth",), "truth", "True only if known True"),
    "is_missing": Function(_fn_is_missing, ("any",), "truth", "True where the value is missing"),
    "crcl_cockcroft_gault": Function(
        _fn_crcl,
        ("num", "num", "num", "cat"),
        "num",
        "(140 - age) x weight / (72 x creatinine mg/dL), x 0.85 if female; mL/min",
    ),
    "qtcf_fridericia": Function(_fn_qtcf, ("num", "num"), "num", "QT / (60 / HR)^(1/3); ms"),
    "prednisone_equivalent": Function(
        _fn_prednisone, ("cat", "num"), "num", "dose x agent factor (prednisone = 1)"
    ),
}


# ---------------------------------------------------------------- old interpret.py
_RTOL = 1e-9


# ---------------------------------------------------------------- arithmetic
def _arith(op: ast.operator, a: Num, b: Num) -> Num:
    missing = a.missing | b.missing
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if isinstance(op, ast.Add):
            lo, hi = a.lo + b.lo, a.hi + b.hi
        elif isinstance(op, ast.Sub):
            lo, hi = a.lo - b.hi, a.hi - b.lo
        else:
            if isinstance(op, ast.Div):
                spans_zero = (b.lo <= 0) & (b.hi >= 0)
                missing = missing | spans_zero
                b = Num(1.0 / b.hi, 1.0 / b.lo)
            products = np.stack([a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi])
            lo, hi = np.nanmin(products, axis=0), np.nanmax(products, axis=0)
    bad = missing | np.isnan(lo) | np.isnan(hi)
    return unknown_where(Num(lo, hi), bad)


def _tol(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x) & np.isfinite(y)
    with np.errstate(invalid="ignore"):
        scale = 1.0 + np.maximum(np.abs(x), np.abs(y))
    return np.where(finite, _RTOL * scale, 0.0)


def _le(a: Num, b: Num, strict: bool) -> Truth:
    if strict:  # a < b
        true = a.hi < b.lo - _tol(a.hi, b.lo)
        false = a.lo >= b.hi - _tol(a.lo, b.hi)
    else:  # a <= b
        true = a.hi <= b.lo + _tol(a.hi, b.lo)
        false = a.lo > b.hi + _tol(a.lo, b.hi)
    return Truth(true, false)


def _compare(op: ast.cmpop, a, b) -> Truth:
    if isinstance(a, Cat) or isinstance(b, Cat):
        cat, other = (a, b) if isinstance(a, Cat) else (b, a)
        known = ~cat.missing
        equal = known & (cat.values == other)
        true, false = (equal, known & ~equal)
        return Truth(true, false) if isinstance(op, ast.Eq) else Truth(false, true)
    if isinstance(op, ast.LtE):
        return _le(a, b, strict=False)
    if isinstance(op, ast.Lt):
        return _le(a, b, strict=True)
    if isinstance(op, ast.GtE):
        return _le(b, a, strict=False)
    if isinstance(op, ast.Gt):
        return _le(b, a, strict=True)
    both = _le(a, b, strict=False) & _le(b, a, strict=False)
    return both if isinstance(op, ast.Eq) else ~both


class _Interpreter:
    def __init__(self, namespace: Namespace):
        self.ns = namespace

    def visit(self, node: ast.AST):
        return getattr(self, f"visit_{type(node).__name__}")(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> Truth:
        values = [self.visit(v) for v in node.values]
        result = values[0]
        for v in values[1:]:
            result = result & v if isinstance(node.op, ast.And) else result | v
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp):
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return ~value
        if isinstance(node.op, ast.USub):
            return Num(-value.hi, -value.lo)
        return value

    def visit_BinOp(self, node: ast.BinOp) -> Num:
        return _arith(node.op, self.visit(node.left), self.visit(node.right))

    def visit_Compare(self, node: ast.Compare) -> Truth:
        operands = [node.left, *node.comparators]
        result = None
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            a, b = self._operand(left, right), self._operand(right, left)
            part = _compare(op, a, b)
            result = part if result is None else result & part
        return result

    def _operand(self, node, other):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            column = COLUMNS.get(getattr(other, "id", ""))
            if column is not None and column.scale:
                return Num.const(column.scale[node.value], self.ns.n)
            return node.value
        return self.visit(node)

    def visit_Name(self, node: ast.Name):
        return self.ns.lookup(node.id)

    def visit_Constant(self, node: ast.Constant):
        if isinstance(node.value, bool):
            full, empty = np.ones(self.ns.n, bool), np.zeros(self.ns.n, bool)
            return Truth(full, empty) if node.value else Truth(empty, full)
        return Num.const(node.value, self.ns.n)

    def visit_Call(self, node: ast.Call):
        args = [self.visit(a) for a in node.args]
        if node.func.id == "coalesce" and self.ns.unreadable:
            # an unreadable argument is not a blank one: the later arguments must not
            # stand in for it (the written value could say otherwise), so they are unknown
            blocked = np.zeros(self.ns.n, bool)
            for i, a in enumerate(node.args):
                if i and blocked.any():
                    args[i] = _unknown_where(args[i], blocked)
                blocked |= self.unreadable_under([a]) & _undecided(args[i])
        result = FUNCTIONS[node.func.id].impl(*args)
        if node.func.id in _DECIDES_ON_MISSING:
            # "known X" / "X is missing" read a blank as "not recorded"; a cell that was
            # written but could not be read (or was impossible) is not that: unknown
            result = _unknown_where(result, self.unreadable_under(node.args) & _undecided(args[0]))
        return result

    def unreadable_under(self, nodes) -> np.ndarray:
        """Patients with an unreadable cell in any column (or derived value) under ``nodes``."""
        mask = np.zeros(self.ns.n, bool)
        if not self.ns.unreadable:
            return mask
        for node in nodes:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and sub.id in self.ns.unreadable:
                    mask |= self.ns.unreadable[sub.id]
        return mask


_DECIDES_ON_MISSING = frozenset({"known_true", "is_missing"})


def _unknown_where(value, mask: np.ndarray):
    if isinstance(value, Truth):
        return Truth(value.true & ~mask, value.false & ~mask)
    return unknown_where(value, mask)


def _undecided(value) -> np.ndarray:
    if isinstance(value, Truth):
        return ~(value.true | value.false)
    return value.missing


# ---------------------------------------------------------------- old evaluate()
def reference_statuses(frame, protocol, censored=None, unreadable=None) -> pd.DataFrame:
    """Nullable-boolean statuses, one column per criterion, the old way."""
    needed = set()
    for c in protocol.criteria:
        needed |= protocol.columns_needed(c.id)
    ns = Namespace.from_frame(
        frame[[c for c in frame.columns if c in needed]],
        censored,
        protocol.parameter_values(),
        unreadable,
    )
    for name, d in protocol.derived.items():
        ns.values[name] = _Interpreter(ns).visit(d.rule.tree.body)
        if ns.unreadable:
            mask = _Interpreter(ns).unreadable_under([d.rule.tree.body])
            if mask.any():
                ns.unreadable[name] = mask
    out = {}
    for c in protocol.criteria:
        truth = _Interpreter(ns).visit(c.rule.tree.body)
        if c.kind == "exclusion":
            truth = ~truth
        if c.applies is not None:
            applies = _Interpreter(ns).visit(c.applies.tree.body)
            truth = (~applies) | truth
        out[c.id] = to_boolean(truth)
    return pd.DataFrame(out, index=frame.index)
