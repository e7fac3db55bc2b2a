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

from screenkit.grammar.compile import Rule, compile_rule
from screenkit.grammar.functions import FUNCTIONS, Function
from screenkit.grammar.values import Cat, Namespace, Num, Truth, to_boolean, to_point

__all__ = [
    "FUNCTIONS",
    "Cat",
    "Function",
    "Namespace",
    "Num",
    "Rule",
    "Truth",
    "compile_rule",
    "to_boolean",
    "to_point",
]
