"""Parsing and checking rules: the whitelist of syntax, names and kinds."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from screenkit.columns import COLUMNS
from screenkit.errors import ProtocolError
from screenkit.grammar.functions import FUNCTIONS
from screenkit.grammar.interpret import Kernel, compile_tree, unreadable_under
from screenkit.grammar.values import Namespace, Num, Truth, unknown_where

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

    @cached_property
    def kernel(self) -> Kernel:
        """The rule compiled once into a vectorized kernel (see :mod:`.interpret`)."""
        return compile_tree(self.tree.body)

    def evaluate(self, namespace: Namespace):
        """Evaluate for every patient of ``namespace``; returns :class:`Truth` or :class:`Num`
        (full-length arrays, also for a rule of constants; a number unknown for some
        patient as intervals, unknown ``[-inf, inf]``, as documented)."""
        value = self.kernel(namespace)
        n = namespace.n
        if isinstance(value, Truth) and np.ndim(value.true) == 0:
            return Truth(np.full(n, bool(value.true)), np.full(n, bool(value.false)))
        if isinstance(value, Num) and np.ndim(value.lo) == 0:
            if value.is_point:
                return Num.point(np.full(n, float(value.lo)))
            return Num(np.full(n, float(value.lo)), np.full(n, float(value.hi)))
        if isinstance(value, Num) and value.is_point:  # a missing value reads [-inf, inf]
            unknown = np.isnan(value.lo)
            if unknown.any():
                return unknown_where(value, unknown)
        return value

    def unreadable(self, namespace: Namespace):
        """Patients with an unreadable input anywhere in this rule (None if there are none)."""
        if not namespace.unreadable:
            return None
        mask = unreadable_under(namespace, [self.tree.body])
        return mask if mask.any() else None


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
    if len(text) > MAX_RULE_CHARS:
        raise ProtocolError(
            "Rule is too long",
            where=where,
            value=len(text),
            expected=f"at most {MAX_RULE_CHARS} characters",
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (RecursionError, MemoryError):
        raise _too_deep(where) from None
    except SyntaxError as err:
        if "nest" in str(err.msg) or "recursion" in str(err.msg):
            raise _too_deep(where) from None
        raise ProtocolError(
            "Rule is not a valid expression",
            where=where,
            rule=text,
            detail=f"{err.msg} at character {err.offset}",
        ) from None
    if _depth(tree.body) > MAX_RULE_DEPTH:
        raise _too_deep(where)
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


#: deepest nesting of a rule (brackets, not / and / or, calls); real rules stay under 10
MAX_RULE_DEPTH = 50
#: longest rule text accepted
MAX_RULE_CHARS = 20_000


def _too_deep(where: str) -> ProtocolError:
    return ProtocolError(
        "Rule is nested too deeply",
        where=where,
        expected=f"at most {MAX_RULE_DEPTH} levels of brackets / not / and / or",
        hint="split the rule into derived values (derived: in the protocol file)",
    )


def _depth(node: ast.AST) -> int:
    """Nesting depth of an expression tree, walked without recursion."""
    deepest, todo = 0, [(node, 1)]
    while todo:
        current, level = todo.pop()
        deepest = max(deepest, level)
        if level > MAX_RULE_DEPTH:
            break
        todo += [(child, level + 1) for child in ast.iter_child_nodes(current)]
    return deepest


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
