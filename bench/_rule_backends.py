"""A protocol's statuses and funnel in polars and in DuckDB SQL, generated from its rules.

The rival implementations for ``bench_funnel.py``: what a competent engineer would write
with each tool, so that screenkit's core is measured against honest competitors. Both are
generated from the protocol's rule AST (the same parsed, whitelisted trees screenkit
interprets) by one translator, :class:`Translator`, written apart from screenkit's
interpreter, over two small expression back ends (polars ``Expr`` and SQL text). The
benchmark and ``tests/test_bench_backends.py`` assert that all three give identical counts,
which makes this also a differential test of screenkit's rule semantics:

* a column value is one number or null, a truth value a nullable boolean, and the back
  ends' own three-valued ``and`` / ``or`` / ``not`` are Kleene logic, as in screenkit;
* where screenkit's intervals decide more than null propagation would (``min`` / ``max``
  with a missing argument, Cockcroft-Gault with unknown sex, an unknown steroid agent) the
  value becomes an interval ``[lo, hi]`` with ``[-inf, inf]`` for unknown;
* comparisons hold with a relative tolerance of 1e-9; an exclusion's truth is inverted; a
  criterion with ``applies`` passes where it is known not to apply.

Censored values (``<0.5``) and unreadable cells are not modelled: the benchmark's input is
a canonical frame from :func:`screenkit.datasets.make_sample`, which has neither.

Intermediate and derived values (CrCl, QTcF, prednisone equivalent) are bound once as
columns, in stages by dependency depth (``with_columns`` in polars, a CTE in SQL); the
criteria's fail / unknown flags feed one ``GROUP BY (first failing criterion, any
unknown)`` whose sums give every funnel figure: per-criterion fails, unknown, fails-only
and equal-share attribution, the sequential attrition in protocol order, and eligible /
screen-failed / pending.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from _rule_ops import (  # noqa: F401 - re-exported
    SQL,
    Cat,
    DuckOps,
    Num,
    PolarsOps,
    _q,
    _sql,
    same_counts,
    screenkit_summary,
    to_polars,
)

from screenkit.columns import COLUMNS
from screenkit.grammar.functions import PREDNISONE_FACTOR

RTOL = 1e-9
_AGENT_FACTORS = [f for f in PREDNISONE_FACTOR.values() if f > 0]


class Bindings:
    """Intermediate values materialised as columns, in stages by dependency depth.

    Without them every use of a sub-expression would repeat it (an interval product uses
    each bound twice, a comparison with tolerance each operand twice), and the trees grow
    exponentially with the rule's depth; with them each value is computed once.
    """

    def __init__(self, ops):
        self.ops = ops
        self.level: dict[str, int] = {}
        self.stages: dict[int, list[tuple[str, Any]]] = {}

    def bind(self, expr):
        alias = f"__b{len(self.level)}"
        level = 1 + max((self.level.get(r, 0) for r in self.ops.refs(expr)), default=0)
        self.level[alias] = level
        self.stages.setdefault(level, []).append((alias, expr))
        return self.ops.col(alias)

    def ordered(self) -> list[list[tuple[str, Any]]]:
        return [self.stages[k] for k in sorted(self.stages)]


# ---------------------------------------------------------------- the translator
@dataclass(frozen=True)
class Point:
    """A number that is one value or null (every column; arithmetic of such values)."""

    expr: Any


@dataclass(frozen=True)
class Bool:
    """A nullable boolean: null = unknown; the back ends' own Kleene ``and`` / ``or`` /
    ``not`` are screenkit's."""

    expr: Any


class Translator:
    """Rule AST -> back-end expressions, with screenkit's semantics.

    Values stay in the cheap form the data allow: a column is a :class:`Point` (null =
    missing) and a truth value a :class:`Bool` (null = unknown); only where screenkit's
    intervals decide more than null propagation would (``min`` / ``max`` with a missing
    argument, Cockcroft-Gault with unknown sex, a steroid of unknown agent) does a value
    become an interval :class:`Num` ``[lo, hi]`` (bound once as columns).
    """

    def __init__(self, ops, parameters: dict[str, float], names: dict[str, Any]):
        self.ops = ops
        self.parameters = parameters
        self.names = names  # name -> value already built (columns, derived)
        self.bindings = Bindings(ops)

    def bind(self, value):
        b = self.bindings.bind
        if isinstance(value, Num):
            return Num(b(value.lo), b(value.hi))
        if isinstance(value, Point):
            return Point(b(value.expr))
        if isinstance(value, Bool):
            return Bool(b(value.expr))
        return value

    # conversions
    def interval(self, v) -> Num:
        if isinstance(v, Num):
            return v
        return Num(self.ops.fill_null(v.expr, -np.inf), self.ops.fill_null(v.expr, np.inf))

    def from_pair(self, true, false) -> Bool:
        ops = self.ops
        return Bool(ops.where(true, ops.lit(True), ops.where(false, ops.lit(False), ops.null())))

    def missing(self, num: Num):
        return (num.lo == -np.inf) & (num.hi == np.inf)

    def unknown_where(self, num: Num, mask) -> Num:
        w = self.ops.where
        return Num(w(mask, -np.inf, num.lo), w(mask, np.inf, num.hi))

    def visit(self, node):
        return getattr(self, f"visit_{type(node).__name__}")(node)

    def visit_Expression(self, node):
        return self.visit(node.body)

    def visit_Name(self, node):
        if node.id in self.names:
            return self.names[node.id]
        if node.id in self.parameters:
            return Point(self.ops.lit(float(self.parameters[node.id])))
        kind = COLUMNS[node.id].kind  # a column the data lack: unknown
        if kind == "bool":
            return Bool(self.ops.null())
        if kind in ("number", "ordinal"):
            return Point(self.ops.null())
        return Cat(self.ops.null())

    def visit_Constant(self, node):
        if isinstance(node.value, bool):
            return Bool(self.ops.lit(node.value))
        return Point(self.ops.lit(float(node.value)))

    def visit_BoolOp(self, node):
        values = [self.visit(v).expr for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return Bool(out)

    def visit_UnaryOp(self, node):
        v = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return Bool(~v.expr)
        if isinstance(node.op, ast.USub):
            return Point(-v.expr) if isinstance(v, Point) else Num(-v.hi, -v.lo)
        return v

    def visit_BinOp(self, node):
        a, b = self.visit(node.left), self.visit(node.right)
        if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            raise NotImplementedError("division is not used by the shipped protocols")
        if isinstance(a, Point) and isinstance(b, Point):  # null propagates: missing
            if isinstance(node.op, ast.Add):
                return Point(a.expr + b.expr)
            if isinstance(node.op, ast.Sub):
                return Point(a.expr - b.expr)
            return Point(a.expr * b.expr)
        a, b = self.interval(a), self.interval(b)
        missing = self.missing(a) | self.missing(b)
        if isinstance(node.op, ast.Add):
            lo, hi = a.lo + b.lo, a.hi + b.hi
        elif isinstance(node.op, ast.Sub):
            lo, hi = a.lo - b.hi, a.hi - b.lo
        else:
            products = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
            lo, hi = self.ops.nanmin(products), self.ops.nanmax(products)
        value = self.bind(Num(lo, hi))
        bad = missing | self.ops.is_nan(value.lo) | self.ops.is_nan(value.hi)
        return self.bind(self.unknown_where(value, bad))

    # comparisons, with screenkit's relative tolerance
    def _tol_point(self, x, y):
        return self.ops.nanmax([self.ops.abs(x), self.ops.abs(y)]) * RTOL + RTOL

    def _tol(self, x, y):
        ops = self.ops
        finite = ops.is_finite(x) & ops.is_finite(y)
        return ops.where(finite, self._tol_point(x, y), 0.0)

    def _le(self, a, b, strict: bool) -> Bool:
        if isinstance(a, Point) and isinstance(b, Point):  # null -> null: unknown
            x, y = a.expr, b.expr
            if strict:
                return Bool(x < y - self._tol_point(x, y))
            return Bool(x <= y + self._tol_point(x, y))
        a, b = self.interval(a), self.interval(b)
        if strict:
            true = a.hi < b.lo - self._tol(a.hi, b.lo)
            false = a.lo >= b.hi - self._tol(a.lo, b.hi)
        else:
            true = a.hi <= b.lo + self._tol(a.hi, b.lo)
            false = a.lo > b.hi + self._tol(a.lo, b.hi)
        return self.from_pair(true, false)

    def _operand(self, node, other):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            column = COLUMNS.get(getattr(other, "id", ""))
            if column is not None and column.scale:
                return Point(self.ops.lit(float(column.scale[node.value])))
            return node.value
        return self.visit(node)

    def _compare(self, op, a, b) -> Bool:
        if isinstance(a, Cat) or isinstance(b, Cat):
            cat, other = (a, b) if isinstance(a, Cat) else (b, a)
            equal = cat.expr == self.ops.lit(other)  # null category -> null: unknown
            return Bool(equal if isinstance(op, ast.Eq) else ~equal)
        if isinstance(op, ast.LtE):
            return self._le(a, b, False)
        if isinstance(op, ast.Lt):
            return self._le(a, b, True)
        if isinstance(op, ast.GtE):
            return self._le(b, a, False)
        if isinstance(op, ast.Gt):
            return self._le(b, a, True)
        both = self._le(a, b, False).expr & self._le(b, a, False).expr
        return Bool(both if isinstance(op, ast.Eq) else ~both)

    def visit_Compare(self, node):
        operands = [node.left, *node.comparators]
        out = None
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            part = self._compare(op, self._operand(left, right), self._operand(right, left))
            out = part.expr if out is None else out & part.expr
        return Bool(out)

    def visit_Call(self, node):
        args = [self.visit(a) for a in node.args]
        return self.bind(getattr(self, f"fn_{node.func.id}")(*args))

    # functions (screenkit.grammar.functions, same formulas)
    def fn_min(self, *args):
        args = [self.interval(a) for a in args]
        return Num(self.ops.nanmin([a.lo for a in args]), self.ops.nanmin([a.hi for a in args]))

    def fn_max(self, *args):
        args = [self.interval(a) for a in args]
        return Num(self.ops.nanmax([a.lo for a in args]), self.ops.nanmax([a.hi for a in args]))

    def fn_coalesce(self, *args):
        if all(isinstance(a, (Point, Bool)) for a in args):
            return type(args[0])(self.ops.coalesce([a.expr for a in args]))
        w = self.ops.where
        first = self.interval(args[0])
        lo, hi = first.lo, first.hi
        for nxt in map(self.interval, args[1:]):
            missing = (lo == -np.inf) & (hi == np.inf)
            step = self.bind(Num(w(missing, nxt.lo, lo), w(missing, nxt.hi, hi)))
            lo, hi = step.lo, step.hi
        return Num(lo, hi)

    def fn_known_true(self, truth):
        return Bool(self.ops.fill_null(truth.expr, False))

    def fn_is_missing(self, value):
        if isinstance(value, Num):
            return Bool(self.missing(value))
        return Bool(self.ops.is_null(value.expr))

    def fn_crcl_cockcroft_gault(self, age, weight, creat, sex):
        ops, w = self.ops, self.ops.where
        age, weight, creat = self.interval(age), self.interval(weight), self.interval(creat)
        female = ops.fill_null(sex.expr == ops.lit("F"), False)
        male = ops.fill_null(sex.expr == ops.lit("M"), False)
        f_lo, f_hi = w(male, 1.0, 0.85), w(female, 0.85, 1.0)
        lo = (ops.lit(140.0) - age.hi) * weight.lo / (creat.hi * 72.0) * f_lo
        hi = (ops.lit(140.0) - age.lo) * weight.hi / (creat.lo * 72.0) * f_hi
        lo, hi = (v := self.bind(Num(lo, hi))).lo, v.hi
        bad = self.missing(age) | self.missing(weight) | self.missing(creat)
        bad = bad | ops.is_nan(lo) | ops.is_nan(hi)
        return self.unknown_where(Num(ops.nanmax([lo, ops.lit(0.0)]), hi), bad)

    def fn_qtcf_fridericia(self, qt, heart_rate):
        if isinstance(qt, Point) and isinstance(heart_rate, Point):
            return Point(qt.expr * self.ops.cbrt(heart_rate.expr / 60.0))
        qt, heart_rate = self.interval(qt), self.interval(heart_rate)
        ops = self.ops
        lo = qt.lo * ops.cbrt(heart_rate.lo / 60.0)
        hi = qt.hi * ops.cbrt(heart_rate.hi / 60.0)
        lo, hi = (v := self.bind(Num(lo, hi))).lo, v.hi
        bad = self.missing(qt) | self.missing(heart_rate) | ops.is_nan(lo) | ops.is_nan(hi)
        return self.unknown_where(Num(lo, hi), bad)

    def fn_prednisone_equivalent(self, agent, dose):
        ops, w = self.ops, self.ops.where
        dose = self.interval(dose)
        f = self.bindings.bind(ops.cat_factor(agent.expr, PREDNISONE_FACTOR))  # NaN: unknown
        f_lo = w(ops.is_nan(f), min(_AGENT_FACTORS), f)
        f_hi = w(ops.is_nan(f), max(_AGENT_FACTORS), f)
        none = f == 0.0
        lo, hi = w(none, 0.0, dose.lo * f_lo), w(none, 0.0, dose.hi * f_hi)
        lo, hi = (v := self.bind(Num(lo, hi))).lo, v.hi
        bad = ~none & (self.missing(dose) | ops.is_nan(lo) | ops.is_nan(hi))
        return self.unknown_where(Num(lo, hi), bad)


# ---------------------------------------------------------------- plans
def _translator(protocol, columns: set[str], ops) -> Translator:
    """A translator whose names are the data's columns and the protocol's derived values."""
    tr = Translator(ops, protocol.parameter_values(), {})
    for name in sorted(columns):
        kind = COLUMNS[name].kind if name in COLUMNS else "number"
        if kind == "bool":
            tr.names[name] = Bool(ops.col(name))
        elif kind in ("number", "ordinal"):
            tr.names[name] = Point(ops.col(name))
        else:
            tr.names[name] = Cat(ops.col(name))
    for name, d in protocol.derived.items():
        tr.names[name] = tr.bind(tr.visit(d.rule.tree))
    return tr


def _criterion_flags(tr: Translator, criterion):
    """(fails, unknown) of a criterion, as non-null boolean expressions."""
    passes = tr.visit(criterion.rule.tree).expr
    if criterion.kind == "exclusion":
        passes = ~passes
    if criterion.applies is not None:  # not applicable passes; unknown applicability: Kleene
        passes = ~tr.visit(criterion.applies.tree).expr | passes
    passes = tr.bindings.bind(passes)
    return tr.ops.fill_null(~passes, False), tr.ops.is_null(passes)


def needed_columns(protocol, frame_columns) -> list[str]:
    needed = set()
    for c in protocol.criteria:
        needed |= protocol.columns_needed(c.id)
    return sorted(needed & set(frame_columns))


def polars_funnel(pl_frame, protocol) -> dict[str, Any]:
    """Statuses and funnel of ``protocol`` for a polars DataFrame (canonical columns)."""
    import polars as pl

    ops = PolarsOps()
    tr = _translator(protocol, set(needed_columns(protocol, pl_frame.columns)), ops)
    ids = [c.id for c in protocol.criteria]
    flags = {}
    for i, c in enumerate(protocol.criteria):
        fail, unknown = _criterion_flags(tr, c)
        flags[f"f{i}"], flags[f"u{i}"] = fail, unknown
    lazy = pl_frame.lazy()
    for stage in tr.bindings.ordered():
        lazy = lazy.with_columns([expr.alias(alias) for alias, expr in stage])
    lazy = lazy.select(**flags)
    f = [pl.col(f"f{i}") for i in range(len(ids))]
    u = [pl.col(f"u{i}") for i in range(len(ids))]
    n_fail = pl.sum_horizontal([x.cast(pl.Int32) for x in f])
    first = pl.coalesce([pl.when(x).then(pl.lit(i, pl.Int32)) for i, x in enumerate(f)])
    lazy = lazy.with_columns(
        __n=n_fail, __first=first.fill_null(len(ids)), __unk=pl.any_horizontal(u)
    )
    n = pl.col("__n")
    aggs = [pl.len().alias("count")]
    for i in range(len(ids)):
        aggs += [
            pl.col(f"f{i}").sum().alias(f"fails{i}"),
            pl.col(f"u{i}").sum().alias(f"unknown{i}"),
            (pl.col(f"f{i}") & (n == 1)).sum().alias(f"only{i}"),
            pl.when(pl.col(f"f{i}")).then(1.0 / n).otherwise(0.0).sum().alias(f"share{i}"),
        ]
    groups = lazy.group_by(["__first", "__unk"]).agg(aggs).collect()
    return _summarise(_pl_to_pandas(groups), ids)


def _pl_to_pandas(frame) -> pd.DataFrame:
    return pd.DataFrame({c: frame[c].to_numpy() for c in frame.columns})


def duckdb_sql(protocol, table: str, columns) -> str:
    """The one SQL query giving the grouped funnel sums of ``protocol`` over ``table``."""
    ops = DuckOps()
    tr = _translator(protocol, set(needed_columns(protocol, columns)), ops)
    ids = [c.id for c in protocol.criteria]
    flags = []
    for i, c in enumerate(protocol.criteria):
        fail, unknown = _criterion_flags(tr, c)
        flags += [f"{fail.text} AS f{i}", f"{unknown.text} AS u{i}"]
    ctes, prev = [], table
    for k, stage in enumerate(tr.bindings.ordered()):
        select = ", ".join(f"{expr.text} AS {_q(alias)}" for alias, expr in stage)
        ctes.append(f"s{k} AS (SELECT *, {select} FROM {prev})")
        prev = f"s{k}"
    ctes.append(f"flags AS (SELECT {', '.join(flags)} FROM {prev})")
    n_fail = " + ".join(f"f{i}::INTEGER" for i in range(len(ids)))
    first = " ".join(f"WHEN f{i} THEN {i}" for i in range(len(ids)))
    unk = " OR ".join(f"u{i}" for i in range(len(ids)))
    ctes.append(
        f"marked AS (SELECT *, ({n_fail}) AS n_fail, "
        f"(CASE {first} ELSE {len(ids)} END) AS first_fail, ({unk}) AS any_unknown FROM flags)"
    )
    aggs = ["count(*) AS count"]
    for i in range(len(ids)):
        aggs += [
            f"sum(f{i}::INTEGER) AS fails{i}",
            f"sum(u{i}::INTEGER) AS unknown{i}",
            f"sum((f{i} AND n_fail = 1)::INTEGER) AS only{i}",
            f"sum(CASE WHEN f{i} THEN 1.0 / n_fail ELSE 0.0 END) AS share{i}",
        ]
    return (
        "WITH "
        + ",\n".join(ctes)
        + f"\nSELECT first_fail AS __first, any_unknown AS __unk, {', '.join(aggs)}"
        + " FROM marked GROUP BY first_fail, any_unknown"
    )


def duckdb_funnel(connection, protocol, table: str, columns) -> dict[str, Any]:
    """Statuses and funnel of ``protocol`` by DuckDB over a registered ``table``."""
    groups = connection.execute(duckdb_sql(protocol, table, columns)).df()
    return _summarise(groups, [c.id for c in protocol.criteria])


def _summarise(groups: pd.DataFrame, ids: list[str]) -> dict[str, Any]:
    n = len(ids)
    first = groups["__first"].to_numpy()
    unk = groups["__unk"].to_numpy(dtype=bool)
    count = groups["count"].to_numpy(dtype=np.int64)
    excluded = np.bincount(first, weights=count, minlength=n + 1)[:n].round().astype(np.int64)
    resolved = first == n
    return {
        "screened": int(count.sum()),
        "eligible": int(count[resolved & ~unk].sum()),
        "screen_failed": int(count[~resolved].sum()),
        "pending": int(count[resolved & unk].sum()),
        "fails": {c: int(groups[f"fails{i}"].sum()) for i, c in enumerate(ids)},
        "unknown": {c: int(groups[f"unknown{i}"].sum()) for i, c in enumerate(ids)},
        "fails_only": {c: int(groups[f"only{i}"].sum()) for i, c in enumerate(ids)},
        "attribution": {c: float(groups[f"share{i}"].sum()) for i, c in enumerate(ids)},
        "excluded": dict(zip(ids, excluded.tolist(), strict=True)),
    }
