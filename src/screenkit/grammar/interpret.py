"""Interpretation of a checked rule tree: arithmetic on intervals, comparisons with
a relative tolerance, Kleene logic."""

from __future__ import annotations

import ast

import numpy as np

from screenkit.columns import COLUMNS
from screenkit.grammar.functions import FUNCTIONS
from screenkit.grammar.values import Cat, Namespace, Num, Truth, unknown_where

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
