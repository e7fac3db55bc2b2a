"""A checked rule tree compiled ONCE into a vectorized kernel: arithmetic on intervals,
comparisons with a relative tolerance, Kleene logic.

:func:`compile_tree` walks the (whitelisted) AST one time and returns a closure per node;
evaluating a rule is then a chain of numpy operations over whole columns, with no tree
walking or name dispatch per evaluation. Measured values are points (``lo is hi``, NaN
where missing; derived values too, while every patient's is one number), and NaN compares
false both ways, which is exactly "unknown". Against one number (a parameter) a column is
two plain comparisons with the end of its passing values, found once with the tolerance
(:func:`_threshold_end`; an interval compares its ends the same way); two columns are
compared plainly where the tolerance cannot matter and by the per-patient formula
elsewhere (:func:`_columns_le`). Other intervals (censored values, CrCl with unknown sex,
``min`` / ``max`` of a missing value) take the general route.

>>> import ast, numpy as np
>>> from screenkit.grammar.values import Namespace, Num
>>> kernel = compile_tree(ast.parse("hb >= 8", mode="eval").body)
>>> ns = Namespace(3, {"hb": Num.point(np.array([9.0, 7.0, np.nan]))})
>>> t = kernel(ns)
>>> t.true.tolist(), t.false.tolist()
([True, False, False], [False, True, False])
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable

import numpy as np

from screenkit.columns import COLUMNS
from screenkit.grammar.functions import FUNCTIONS
from screenkit.grammar.values import Cat, Namespace, Num, Truth, unknown_where

__all__ = ["compile_tree", "unreadable_under"]

_RTOL = 1e-9
Kernel = Callable[[Namespace], object]


# ---------------------------------------------------------------- arithmetic
def _arith(op: ast.operator, a: Num, b: Num) -> Num:
    if a.is_point and b.is_point:
        return _arith_points(op, a.lo, b.lo)
    a, b = _full_interval(a), _full_interval(b)
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
            products = np.stack(
                np.broadcast_arrays(a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi)
            )
            lo, hi = np.nanmin(products, axis=0), np.nanmax(products, axis=0)
    bad = missing | np.isnan(lo) | np.isnan(hi)
    return unknown_where(Num(lo, hi), bad)


def _arith_points(op: ast.operator, x, y) -> Num:
    """Points in, a point out (NaN where unknown): the same operations as on intervals,
    which for points reduce to one. Division by zero (an interval spanning 0) is unknown."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if isinstance(op, ast.Add):
            out = x + y
        elif isinstance(op, ast.Sub):
            out = x - y
        elif isinstance(op, ast.Mult):
            out = x * y
        else:
            out = x * (1.0 / y)
            out = np.where(y == 0, np.nan, out)
    return Num.point(np.asarray(out, dtype=float))


def _full_interval(num: Num) -> Num:
    """An interval whose unknown entries read ``[-inf, inf]`` (a point's NaN included)."""
    if not num.is_point:
        return num
    lo = np.asarray(num.lo, dtype=float)
    nan = np.isnan(lo)
    if not nan.any():
        return Num(lo, lo)
    return Num(np.where(nan, -np.inf, lo), np.where(nan, np.inf, lo))


def _tol(x, y) -> np.ndarray:
    """Relative tolerance ``1e-9 * (1 + max(|x|, |y|))``, 0 where an operand is infinite
    (NaN where one is NaN: a comparison with NaN is false both ways whatever the
    tolerance). A fresh array, computed in place: one allocation for a column."""
    big, small = (x, y) if np.ndim(x) >= np.ndim(y) else (y, x)
    scale = np.array(np.abs(big), dtype=float, copy=None)  # fresh (0-d for two numbers)
    with np.errstate(invalid="ignore"):
        np.maximum(scale, np.abs(small), out=scale)
    scale += 1.0
    scale *= _RTOL
    infinite = np.isinf(scale)
    if infinite.any():
        np.copyto(scale, 0.0, where=infinite)
    return scale


def _tol_scalar(x: float, y: float) -> float:
    """:func:`_tol` of two numbers, the same floating-point operations in the same order."""
    scale = max(abs(x), abs(y))
    return 0.0 if math.isinf(scale) else (scale + 1.0) * _RTOL


def _holds(x: float, y: float, strict: bool) -> bool:
    """``x < y`` / ``x <= y`` with the tolerance, for two numbers."""
    return x < y - _tol_scalar(x, y) if strict else x <= y + _tol_scalar(x, y)


def _le(a: Num, b: Num, strict: bool) -> Truth:
    if _is_threshold(b):  # a column (or interval) against one number
        end = _threshold_end(float(b.lo), strict, values_left=True)
        with np.errstate(invalid="ignore"):
            return Truth(np.asarray(a.hi <= end), np.asarray(a.lo > end))
    if _is_threshold(a):
        end = _threshold_end(float(a.lo), strict, values_left=False)
        with np.errstate(invalid="ignore"):
            return Truth(np.asarray(b.lo >= end), np.asarray(b.hi < end))
    if a.is_point and b.is_point and np.ndim(a.lo) and np.ndim(b.lo):
        return _columns_le(a.lo, b.lo, strict)
    if a.is_point and b.is_point:
        x, y = a.lo, b.lo
        with np.errstate(invalid="ignore"):
            threshold = _tol(x, y)
            if strict:  # x < y
                np.subtract(y, threshold, out=threshold)
                return Truth(np.asarray(x < threshold), np.asarray(x >= threshold))
            threshold += y  # x <= y
            return Truth(np.asarray(x <= threshold), np.asarray(x > threshold))
    a, b = _full_interval(a), _full_interval(b)
    with np.errstate(invalid="ignore"):
        if strict:  # a < b
            true = a.hi < b.lo - _tol(a.hi, b.lo)
            false = a.lo >= b.hi - _tol(a.lo, b.hi)
        else:  # a <= b
            true = a.hi <= b.lo + _tol(a.hi, b.lo)
            false = a.lo > b.hi + _tol(a.lo, b.hi)
    return Truth(np.asarray(true), np.asarray(false))


def _columns_le(x: np.ndarray, y: np.ndarray, strict: bool) -> Truth:
    """``x <= y`` (``x < y`` if ``strict``) for two columns, with the tolerance of
    :func:`_tol`, computed only where it can matter.

    No patient's tolerance exceeds the one of the largest finite magnitude in either
    column (``bound``), so plain comparisons with ``y`` and ``y +- bound`` decide every
    patient whose values are further apart; the few in between (and the missing ones)
    get the per-patient formula. Bit for bit that formula everywhere (rounding is
    monotone: ``t <= bound`` gives ``y + t <= y + bound`` in floats too).

    >>> t = _columns_le(np.array([1.0, 1.0 + 1e-10, 2.0, np.nan]), np.ones(4), False)
    >>> t.true.tolist(), t.false.tolist()
    ([True, True, False, False], [False, False, True, False])
    """
    with np.errstate(invalid="ignore"):
        largest = np.inf  # (no patients: the formula, on nothing)
        if x.size and y.size:  # NaN ignored, or NaN when a column has no value
            largest = max(
                np.fmax.reduce(x), -np.fmin.reduce(x), np.fmax.reduce(y), -np.fmin.reduce(y)
            )
        if not math.isfinite(largest):  # an infinite (or no) value: the formula throughout
            threshold = _tol(x, y)
            if strict:
                np.subtract(y, threshold, out=threshold)
                return Truth(x < threshold, x >= threshold)
            threshold += y
            return Truth(x <= threshold, x > threshold)
        bound = _tol_scalar(largest, largest)
        if strict:
            true, false = x < y - bound, x >= y
        else:
            true, false = x <= y, x > y + bound
        near = np.flatnonzero(~(true | false))
        if len(near):
            xs, ys = x[near], y[near]
            threshold = ys - _tol(xs, ys) if strict else ys + _tol(xs, ys)
            true[near] = xs < threshold if strict else xs <= threshold
            false[near] = xs >= threshold if strict else xs > threshold
    return Truth(true, false)


def _is_threshold(num: Num) -> bool:
    """One finite number (not so large that adding its tolerance could overflow)."""
    lo = num.lo
    return num.is_point and np.ndim(lo) == 0 and abs(float(lo)) < 1e300  # False: NaN, inf


@functools.lru_cache(maxsize=4096)  # the same thresholds come back at every evaluation
def _threshold_end(threshold: float, strict: bool, values_left: bool) -> float:
    """Where the values passing ``value <= threshold`` (``values_left``; ``<`` if
    ``strict``) or ``threshold <= value`` end, with the tolerance of :func:`_tol`.

    The tolerance grows with ``max(|value|, |threshold|)`` by 1e-9 per unit, far slower
    than the value itself, so the values that pass form a half-line: ``value <= end``
    (``values_left``) or ``value >= end``. Its end is found once on the scalar formula
    (bisection between two floats, some 55 steps), and a column is then two plain
    comparisons with it (NaN compares false both ways: unknown), bit for bit the
    per-patient formula (a test compares the two at and around many thresholds). For an
    interval the true side compares its far end, the false side its near end.

    >>> end = _threshold_end(8.0, strict=False, values_left=False)  # 8 <= value
    >>> 8.0 - 1e-8 < end < 8.0 - 1e-9 * 8
    True
    """
    if values_left:
        holds = lambda v: _holds(v, threshold, strict)  # noqa: E731
    else:
        holds = lambda v: _holds(threshold, v, strict)  # noqa: E731
    step = 4 * _tol_scalar(threshold, threshold)  # well past the tolerance either way
    below, above = threshold - step, threshold + step
    return _last_inside(holds, below, above) if values_left else _last_inside(holds, above, below)


def _last_inside(holds: Callable[[float], bool], inside: float, outside: float) -> float:
    """The last float from ``inside`` (where ``holds``) towards ``outside`` (where it does
    not) at which ``holds`` is true; ``holds`` changes once in between.

    >>> _last_inside(lambda v: v <= 0.5, 0.0, 1.0)
    0.5
    """
    while True:
        middle = inside + (outside - inside) / 2
        if middle in (inside, outside):
            return inside
        if holds(middle):
            inside = middle
        else:
            outside = middle


def _compare(op: ast.cmpop, a, b) -> Truth:
    if isinstance(a, Cat) or isinstance(b, Cat):
        cat, other = (a, b) if isinstance(a, Cat) else (b, a)
        known = ~cat.missing
        equal = cat.where(lambda label: label == other)
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


# ---------------------------------------------------------------- compilation
def compile_tree(node: ast.AST) -> Kernel:
    """The kernel of a checked expression: ``kernel(namespace)`` -> Truth / Num / Cat."""
    return getattr(_Compiler, f"node_{type(node).__name__}")(node)


class _Compiler:
    """One static method per node type; each returns the closure for that node."""

    @staticmethod
    def node_BoolOp(node: ast.BoolOp) -> Kernel:
        parts = [compile_tree(v) for v in node.values]
        conjunction = isinstance(node.op, ast.And)

        def kernel(ns):
            result = parts[0](ns)
            for part in parts[1:]:
                result = result & part(ns) if conjunction else result | part(ns)
            return result

        return kernel

    @staticmethod
    def node_UnaryOp(node: ast.UnaryOp) -> Kernel:
        operand = compile_tree(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda ns: ~operand(ns)
        if isinstance(node.op, ast.USub):

            def negate(ns):
                value = operand(ns)
                if value.is_point:
                    return Num.point(-value.lo)
                return Num(-value.hi, -value.lo)

            return negate
        return operand

    @staticmethod
    def node_BinOp(node: ast.BinOp) -> Kernel:
        left, right, op = compile_tree(node.left), compile_tree(node.right), node.op
        return lambda ns: _arith(op, left(ns), right(ns))

    @staticmethod
    def node_Compare(node: ast.Compare) -> Kernel:
        operands = [node.left, *node.comparators]
        links = [
            (op, _operand(left, right), _operand(right, left))
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False)
        ]

        def kernel(ns):
            result = None
            for op, a, b in links:
                part = _compare(op, a(ns), b(ns))
                result = part if result is None else result & part
            return result

        return kernel

    @staticmethod
    def node_Name(node: ast.Name) -> Kernel:
        name = node.id
        return lambda ns: ns.lookup(name)

    @staticmethod
    def node_Constant(node: ast.Constant) -> Kernel:
        value = node.value
        if isinstance(value, bool):

            def truth(ns):
                full, empty = np.ones(ns.n, bool), np.zeros(ns.n, bool)
                return Truth(full, empty) if value else Truth(empty, full)

            return truth
        if isinstance(value, str):
            return lambda ns: value
        return lambda ns: Num.const(value, ns.n)

    @staticmethod
    def node_Call(node: ast.Call) -> Kernel:
        name = node.func.id
        args = [compile_tree(a) for a in node.args]
        impl = FUNCTIONS[name].impl

        def kernel(ns):
            values = [a(ns) for a in args]
            if not all(isinstance(v, Num) and np.ndim(v.lo) == 0 for v in values):
                # full length, unless every argument is a constant (max of two parameters)
                values = [v.full(ns.n) if isinstance(v, Num) else v for v in values]
            if name == "coalesce" and ns.unreadable:
                # an unreadable argument is not a blank one: the later arguments must not
                # stand in for it (the written value could say otherwise), so they are unknown
                blocked = np.zeros(ns.n, bool)
                for i, a in enumerate(node.args):
                    if i and blocked.any():
                        values[i] = _unknown_where(values[i], blocked)
                    blocked |= unreadable_under(ns, [a]) & _undecided(values[i])
            result = impl(*values)
            if name in _DECIDES_ON_MISSING:
                # "known X" / "X is missing" read a blank as "not recorded"; a cell that was
                # written but could not be read (or was impossible) is not that: unknown
                mask = unreadable_under(ns, node.args) & _undecided(values[0])
                result = _unknown_where(result, mask)
            return result

        return kernel


def _operand(node: ast.AST, other: ast.AST) -> Kernel:
    """A comparison operand; a text compared with an ordered scale reads as its rank."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        column = COLUMNS.get(getattr(other, "id", ""))
        if column is not None and column.scale:
            rank = column.scale[node.value]
            return lambda ns: Num.const(rank, ns.n)
    return compile_tree(node)


def unreadable_under(ns: Namespace, nodes) -> np.ndarray:
    """Patients with an unreadable cell in any column (or derived value) under ``nodes``."""
    mask = np.zeros(ns.n, bool)
    if not ns.unreadable:
        return mask
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in ns.unreadable:
                mask |= ns.unreadable[sub.id]
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
