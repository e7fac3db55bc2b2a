"""The rule language of protocol files: a small, whitelisted expression grammar.

A rule is one expression over canonical columns, protocol parameters and derived values::

    alt <= alt_uln_max * alt_uln or (liver_mets and alt < alt_uln_max_liver * alt_uln)

It is parsed with :func:`ast.parse` and then **interpreted** node by node; only the node
types listed in ``_ALLOWED`` are accepted, so no text from a protocol file is ever passed
to ``eval``, ``exec`` or ``DataFrame.eval``. Allowed: numbers, strings, ``True``/``False``,
names, ``+ - * /``, unary ``-``, comparisons (chains too), ``and`` / ``or`` / ``not``, and
calls of the functions in :data:`FUNCTIONS`.

Three-valued logic, vectorized
------------------------------
Every value is computed for all patients at once:

* a **number** is an interval ``[lo, hi]`` per patient (numpy arrays). A measured value
  is the point ``[v, v]``; a missing one is ``[-inf, inf]``; a censored ``<0.5`` is
  ``[0, 0.5]``. Arithmetic and the clinical functions carry the intervals through, so
  Cockcroft-Gault with unknown sex is the interval between the female and male values.
* a **truth value** is a pair of masks: known true / known false; neither = unknown.
  ``and`` / ``or`` / ``not`` follow Kleene logic (``True or unknown`` is True).
* a comparison is True when it holds for every value in the intervals, False when it
  holds for none, unknown otherwise. Comparisons allow a relative tolerance of 1e-9, so
  floating-point noise from unit conversion or ``2.5 * uln`` never flips a boundary.

>>> import pandas as pd
>>> rule = compile_rule("alt <= 2.5 * alt_uln or (liver_mets and alt < 5 * alt_uln)")
>>> frame = pd.DataFrame({
...     "alt": pd.array([100, 120, 120, 30], dtype="Float64"),
...     "alt_uln": pd.array([40, 40, 40, 40], dtype="Float64"),
...     "liver_mets": pd.array([False, True, None, None], dtype="boolean"),
... })
>>> to_boolean(rule.evaluate(Namespace.from_frame(frame))).tolist()
[True, True, <NA>, True]
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screenkit.columns import COLUMNS
from screenkit.errors import ProtocolError

__all__ = [
    "FUNCTIONS",
    "Namespace",
    "Num",
    "Rule",
    "Truth",
    "compile_rule",
    "to_boolean",
    "to_point",
]

_INF = np.inf
_RTOL = 1e-9


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
    """What a rule can refer to: the data's columns, parameters and derived values."""

    n: int
    values: dict[str, Num | Truth | Cat] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    parameters: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        censored: pd.DataFrame | None = None,
        parameters: Mapping[str, float] | None = None,
    ) -> Namespace:
        """Build a namespace from a canonical frame (columns missing from it are unknown)."""
        ns = cls(len(frame), parameters=dict(parameters or {}))
        for name in frame.columns:
            ns.values[name] = _column_value(frame[name], name, censored)
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


# ---------------------------------------------------------------- functions
_PREDNISONE_FACTOR = {
    "prednisone": 1.0,
    "prednisolone": 1.0,
    "methylprednisolone": 1.25,
    "hydrocortisone": 0.25,
    "dexamethasone": 6.67,
    "betamethasone": 8.33,
}


def _unknown_where(num: Num, mask: np.ndarray) -> Num:
    return Num(np.where(mask, -_INF, num.lo), np.where(mask, _INF, num.hi))


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
    return _unknown_where(Num(np.maximum(lo, 0.0), hi), bad)


def _fn_qtcf(qt: Num, heart_rate: Num) -> Num:
    """Fridericia: QTcF = QT / RR^(1/3), RR = 60 / HR seconds."""
    with np.errstate(invalid="ignore"):
        lo = qt.lo * np.cbrt(heart_rate.lo / 60.0)
        hi = qt.hi * np.cbrt(heart_rate.hi / 60.0)
    bad = qt.missing | heart_rate.missing | np.isnan(lo) | np.isnan(hi)
    return _unknown_where(Num(lo, hi), bad)


def _fn_prednisone(agent: Cat, dose: Num) -> Num:
    """Prednisone-equivalent dose; an unknown agent spans the whole table of factors."""
    factor = pd.Series(agent.values, dtype=object).str.lower().map(_PREDNISONE_FACTOR)
    f = factor.to_numpy(dtype=float, na_value=np.nan)
    f_lo = np.where(np.isnan(f), min(_PREDNISONE_FACTOR.values()), f)
    f_hi = np.where(np.isnan(f), max(_PREDNISONE_FACTOR.values()), f)
    with np.errstate(invalid="ignore"):
        lo, hi = dose.lo * f_lo, dose.hi * f_hi
    return _unknown_where(Num(lo, hi), dose.missing | np.isnan(lo) | np.isnan(hi))


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
    return _unknown_where(Num(lo, hi), bad)


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


# ---------------------------------------------------------------- parsing
_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Compare,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Eq,
    ast.NotEq,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Call,
)


@dataclass(frozen=True)
class Rule:
    """A parsed, checked rule. ``columns`` / ``parameters`` / ``derived`` list the names it uses."""

    text: str
    tree: ast.Expression
    kind: str  # "truth" or "num"
    columns: frozenset[str]
    parameters: frozenset[str]
    derived: frozenset[str]

    def evaluate(self, namespace: Namespace):
        """Evaluate for every patient of ``namespace``; returns :class:`Truth` or :class:`Num`."""
        return _Interpreter(namespace).visit(self.tree.body)


def compile_rule(
    text: str,
    parameters: Mapping[str, float] | None = None,
    derived: Mapping[str, str] | None = None,
    *,
    where: str = "rule",
) -> Rule:
    """Parse and check a rule; raise :class:`ProtocolError` naming the problem.

    ``parameters`` and ``derived`` map the names the rule may use besides canonical
    columns (``derived`` maps a name to its kind: ``"num"`` or ``"truth"``).

    >>> compile_rule("hb >= hb_min", {"hb_min": 8.0}).parameters
    frozenset({'hb_min'})
    >>> compile_rule("__import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    screenkit.errors.ProtocolError: Rule uses a function screenkit does not provide
      - where: rule
      - rule: __import__('os')
      - found: __import__
      - accepted: coalesce, crcl_cockcroft_gault, is_missing, known_true, max, min, ...
    """
    parameters = dict(parameters or {})
    derived = dict(derived or {})
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("Rule is empty", where=where, hint="write an expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ProtocolError(
            "Rule is not a valid expression",
            where=where,
            rule=text,
            detail=f"{err.msg} at character {err.offset}",
        ) from None
    checker = _Checker(text, where, parameters, derived)
    kind = checker.visit(tree.body)
    return Rule(
        text=text,
        tree=tree,
        kind=kind,
        columns=frozenset(checker.columns),
        parameters=frozenset(checker.parameters),
        derived=frozenset(checker.derived),
    )


_KIND_OF_COLUMN = {"bool": "truth", "number": "num", "ordinal": "num"}


class _Checker:
    """Whitelist and type check; records the names used."""

    def __init__(self, text, where, parameters, derived):
        self.text, self.where = text, where
        self.known_parameters, self.known_derived = parameters, derived
        self.columns: set[str] = set()
        self.parameters: set[str] = set()
        self.derived: set[str] = set()

    def fail(self, message: str, **evidence):
        raise ProtocolError(message, where=self.where, rule=self.text, **evidence)

    def visit(self, node: ast.AST) -> str:
        if not isinstance(node, _ALLOWED):
            self.fail(
                "Rule uses a construct the rule language does not allow",
                found=type(node).__name__,
                expected="numbers, names, + - * /, comparisons, and/or/not, function calls",
            )
        method = getattr(self, f"visit_{type(node).__name__}")
        return method(node)

    def expect(self, node: ast.AST, kind: str) -> None:
        got = self.visit(node)
        if got != kind and not (kind == "num" and got == "ordinal"):
            self.fail(
                f"Rule needs a {_KIND_WORDS[kind]} here but got a {_KIND_WORDS.get(got, got)}",
                found=ast.unparse(node),
            )

    def visit_BoolOp(self, node: ast.BoolOp) -> str:
        for value in node.values:
            self.expect(value, "truth")
        return "truth"

    def visit_UnaryOp(self, node: ast.UnaryOp) -> str:
        if isinstance(node.op, ast.Not):
            self.expect(node.operand, "truth")
            return "truth"
        self.expect(node.operand, "num")
        return "num"

    def visit_BinOp(self, node: ast.BinOp) -> str:
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            self.fail("Rule uses an operator that is not allowed", found=type(node.op).__name__)
        self.expect(node.left, "num")
        self.expect(node.right, "num")
        return "num"

    def visit_Compare(self, node: ast.Compare) -> str:
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if not isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE | ast.Eq | ast.NotEq):
                self.fail("Rule uses a comparison that is not allowed", found=type(op).__name__)
            kinds = (self.visit(left), self.visit(right))
            if "cat" in kinds:
                if not isinstance(op, ast.Eq | ast.NotEq) or "str" not in kinds:
                    self.fail(
                        "A category (such as sex) can only be compared with == or != to a text",
                        found=ast.unparse(node),
                        expected='sex == "F"',
                    )
                self._check_category_value(left, right)
            elif "str" in kinds:
                self._check_ordinal(left, right, node)
            elif kinds != ("num", "num") and not set(kinds) <= {"num", "ordinal"}:
                self.fail("Rule compares values of different kinds", found=ast.unparse(node))
        return "truth"

    def _check_category_value(self, left, right) -> None:
        name, const = (left, right) if isinstance(left, ast.Name) else (right, left)
        column = COLUMNS.get(getattr(name, "id", ""))
        value = getattr(const, "value", None)
        if column is not None and column.categories and value not in column.categories:
            self.fail(
                f"Column {column.name!r} has no category {value!r}",
                accepted=", ".join(column.categories),
            )

    def _check_ordinal(self, left, right, node) -> None:
        name, const = (left, right) if isinstance(left, ast.Name) else (right, left)
        column = COLUMNS.get(getattr(name, "id", ""))
        if column is None or not column.scale:
            self.fail(
                "Text can only be compared with an ordered scale (urine_protein, her2_ihc)",
                found=ast.unparse(node),
            )
        if const.value not in column.scale:
            self.fail(
                f"{const.value!r} is not on the scale of {column.name!r}",
                expected=", ".join(column.scale),
            )

    def visit_Name(self, node: ast.Name) -> str:
        name = node.id
        if name in self.known_parameters:
            self.parameters.add(name)
            return "num"
        if name in self.known_derived:
            self.derived.add(name)
            return self.known_derived[name]
        column = COLUMNS.get(name)
        if column is not None:
            self.columns.add(name)
            if column.kind == "ordinal":
                return "ordinal"
            return _KIND_OF_COLUMN.get(column.kind, "cat")
        if name in ("True", "False"):  # pragma: no cover - parsed as constants
            return "truth"
        known = [*COLUMNS, *self.known_parameters, *self.known_derived]
        close = difflib.get_close_matches(name, known, n=3)
        self.fail(
            f"Rule names {name!r}, which is not a canonical column, parameter or derived value",
            hint=f"did you mean {', '.join(close)}?" if close else "see screenkit.COLUMNS",
        )
        return "num"  # pragma: no cover

    def visit_Constant(self, node: ast.Constant) -> str:
        value = node.value
        if isinstance(value, bool):
            return "truth"
        if isinstance(value, int | float):
            return "num"
        if isinstance(value, str):
            return "str"
        self.fail("Rule uses a constant that is not allowed", found=repr(value))
        return "num"  # pragma: no cover

    def visit_Call(self, node: ast.Call) -> str:
        name = getattr(node.func, "id", None)
        if not isinstance(node.func, ast.Name) or name not in FUNCTIONS:
            self.fail(
                "Rule uses a function screenkit does not provide",
                found=ast.unparse(node.func),
                expected=", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            self.fail("Functions in rules take positional arguments only", found=name)
        fn = FUNCTIONS[name]
        kinds = [self.visit(arg) for arg in node.args]
        kinds = ["num" if k == "ordinal" else k for k in kinds]
        if fn.args is None:
            if not kinds or len(set(kinds)) != 1 or kinds[0] not in ("num", "truth"):
                self.fail(f"{name}() needs one or more numbers (or truth values)", found=name)
            if fn.returns == "num" and kinds[0] != "num":
                self.fail(f"{name}() needs numbers", found=ast.unparse(node))
            return kinds[0] if fn.returns == "same" else fn.returns
        if len(kinds) != len(fn.args) or any(
            want not in ("any", got) for want, got in zip(fn.args, kinds, strict=True)
        ):
            self.fail(
                f"{name}() takes ({', '.join(fn.args)})",
                found=ast.unparse(node),
            )
        return fn.returns


_KIND_WORDS = {
    "truth": "yes/no condition",
    "num": "number",
    "ordinal": "number",
    "cat": "category",
    "str": "text",
}


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
        return FUNCTIONS[node.func.id].impl(*(self.visit(a) for a in node.args))
