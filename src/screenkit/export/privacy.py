"""Privacy for shared outputs: pseudonymised patient IDs and small-count suppression.

**Pseudonyms.** :func:`pseudonymise` maps patient IDs to codes such as ``PT-3F9A1C02B7``
with an HMAC-SHA-256 keyed by a random salt drawn for each export and then discarded: the
same patient gets the same code everywhere in one workbook, but nobody (screenkit
included) can turn a code back into an ID or link two exports.

**Suppression.** :func:`suppress` hides every count under ``k`` (shown as ``<k``) and then
hides further counts ("complementary suppression", shown as ``hidden``) until no hidden
count can be worked out from the shown ones. What a reader knows is modelled as linear
equations between counts (row sums, column totals, ``remaining = previous - excluded``;
inequalities such as "a criterion's fails are at least the listed combinations that
include it" become equations with a never-shown slack >= 0) plus bounds: a ``<k`` cell
lies in ``0..k-1`` (``1..k-1`` when it is known to hold someone), a ``hidden`` cell is at
least ``k``, and no count exceeds the largest one when that (the report's total) is
shown. A hidden count is protected when it can take at least two values under that
knowledge, checked exactly with integer programming (scipy's ``milp``);
``tests/test_export_privacy.py`` confirms it by enumerating integer tables. A zero the
report states anyway (a criterion in none of the combinations when they are all listed)
is shown as it is. If no choice of further cells can protect a small count,
:func:`suppress` raises instead of publishing it. ``k`` must be at least 3: with 2, two
``<2`` cells in a row whose hidden total is at least 2 must both be 1.

>>> values = {"a": 2, "b": 10, "total": 12}
>>> s = suppress(values, [{"a": 1, "b": 1, "total": -1}], k=5)
>>> sorted(s.primary), sorted(s.hidden)            # b is hidden too: a = total - b
(['a'], ['a', 'b'])
>>> s.show("a", 2), s.show("b", 10), s.show("total", 12)
('<5', 'hidden', 12)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from screenkit.errors import ScreenkitError

__all__ = ["HIDDEN", "Suppression", "check_k", "mask_small_counts", "pseudonymise", "suppress"]

HIDDEN = "hidden"
_TOL = 1e-6


_INTEGER = re.compile(r"(?<![\w.\-/:])(\d+)(?![\w.%\-/:])")


def mask_small_counts(text: str, k: int) -> str:
    """Whole numbers under ``k`` in a sentence (patient counts) as ``<k``; dates,
    decimals, percentages and IDs are left as they are (notes, the terminal report).

    >>> mask_small_counts("3 of the 371 patients (0.8%) on 2026-10-03, site S02", 5)
    '<5 of the 371 patients (0.8%) on 2026-10-03, site S02'
    """
    return _INTEGER.sub(lambda m: f"<{k}" if int(m[1]) < k else m[1], text)


def pseudonymise(ids: Iterable[Any], *, prefix: str = "PT-", salt: bytes | None = None) -> list:
    """Codes that stand for ``ids``: stable within one call, not reversible.

    ``salt`` defaults to 16 random bytes that are never stored. Codes are 10 hex digits,
    lengthened if two IDs would collide.

    >>> codes = pseudonymise(["P001", "P002", "P001"], salt=b"fixed for the doctest")
    >>> codes[0] == codes[2], codes[0] != codes[1], len(codes[0])
    (True, True, 13)
    """
    key = secrets.token_bytes(16) if salt is None else salt
    ids = [str(i) for i in ids]
    digests = {i: hmac.new(key, i.encode("utf-8"), hashlib.sha256).hexdigest() for i in ids}
    for width in range(10, 65, 2):
        codes = {i: d[:width].upper() for i, d in digests.items()}
        if len(set(codes.values())) == len(codes):
            break
    return [prefix + codes[i] for i in ids]


def check_k(k: Any) -> int | None:
    """Validate a suppression threshold: ``None`` (off) or an integer >= 3.

    With 2, the markers alone give counts away: two cells shown as ``<2`` (0 or 1) in a
    row whose total is hidden (so at least 2) must both be 1.
    """
    if k is None:
        return None
    try:
        value = int(k)
    except (TypeError, ValueError):
        value = None
    if value is None or value != k or value < 3:
        raise ScreenkitError(
            "Small-count suppression needs a whole number of patients, at least 3",
            value=k,
            expected="e.g. --suppress-below 5 (counts 0-4 are shown as <5)",
        )
    return value


@dataclass(frozen=True)
class Suppression:
    """Which counts are hidden. ``primary``: under ``k``; ``hidden``: primary + complements.

    ``k=None`` means no suppression: every count is shown.
    """

    k: int | None = None
    primary: frozenset = field(default_factory=frozenset)
    hidden: frozenset = field(default_factory=frozenset)

    @property
    def active(self) -> bool:
        return self.k is not None

    def is_hidden(self, key: Hashable) -> bool:
        return key in self.hidden

    def show(self, key: Hashable, value: Any) -> Any:
        """``value``, ``"<k"`` for a small count, or ``"hidden"`` for a complement."""
        if key in self.primary:
            return f"<{self.k}"
        if key in self.hidden:
            return HIDDEN
        return value

    def legend(self) -> str:
        if not self.active:
            return "off: every count is shown"
        return (
            f"counts under {self.k} are shown as <{self.k}; other counts are shown as "
            f"'{HIDDEN}' where needed so that no small count can be worked out from the "
            "totals and other cells of its table; rates and intervals of hidden counts "
            "are hidden too"
        )


def suppress(
    values: Mapping[Hashable, int],
    constraints: Sequence[Mapping[Hashable, float]],
    k: int | None,
    *,
    keep_shown: frozenset | set | None = None,
    latent: Collection[Hashable] = (),
    at_least_one: Collection[Hashable] = (),
    disclosed: Collection[Hashable] = (),
) -> Suppression:
    """Choose the counts to hide.

    Parameters
    ----------
    values : count per key (a key names one quantity; a quantity shown in several
        tables has one key, so it is hidden everywhere or nowhere).
    constraints : linear equations a reader knows, ``{key: coefficient}`` summing to 0,
        e.g. ``{"eligible": 1, "screen_failed": 1, "pending": 1, "screened": -1}``.
    k : threshold; ``None`` switches suppression off.
    keep_shown : keys to hide as complements only when nothing else will do (e.g. the
        report's grand totals).
    latent : keys of quantities the report never shows, only known to be >= 0: the
        slack that turns an inequality a reader knows into an equation (a criterion's
        fails are at least the listed combinations that include it). Never protected,
        never a complement.
    at_least_one : keys the reader knows are at least 1 (a listed combination has a
        patient), so a small one ranges over ``1..k-1``.
    disclosed : keys whose value the report states anyway (a criterion in none of the
        combinations when they are all listed failed nobody): shown as they are.

    >>> s = suppress({"fails": 4, "combo": 1, "rest": 3}, [{"fails": 1, "combo": -1, "rest": -1}],
    ...              k=3, latent={"rest"}, at_least_one={"combo"})
    >>> sorted(s.hidden)       # combo in 1..2 and combo <= fails = 4: not pinned
    ['combo']
    """
    k = check_k(k)
    if k is None:
        return Suppression()
    keys = list(values)
    index = {key: i for i, key in enumerate(keys)}
    slack = {index[key] for key in latent}
    floor = {index[key] for key in at_least_one if key in index}
    v = np.array([float(values[key]) for key in keys])
    rows = [
        {index[key]: float(c) for key, c in eq.items() if c and key in index} for eq in constraints
    ]
    rows = [r for r in rows if r]
    a = np.zeros((len(rows), len(keys)))
    for i, r in enumerate(rows):
        for j, c in r.items():
            a[i, j] = c
    public = {index[key] for key in disclosed}
    primary = {j for j in range(len(keys)) if v[j] < k and j not in slack | public}
    hidden = primary | slack
    neighbours: list[set[int]] = [set() for _ in keys]
    for r in rows:
        for j in r:
            neighbours[j] |= set(r) - {j}
    # complements: the smallest shown cell, the report's grand totals last
    cost = [(bool(keep_shown and key in keep_shown), v[j], j) for j, key in enumerate(keys)]
    eq_cells = [sorted(r) for r in rows]
    checked: dict = {}
    while True:
        # 1. no equation may hide exactly one cell (it would equal the shown ones' sum)
        changed = True
        while changed:
            changed = False
            for cells in eq_cells:
                # (an equation with a slack bounds its hidden cells: left to step 2)
                if sum(j in hidden for j in cells) == 1 and not slack.intersection(cells):
                    shown = [j for j in cells if j not in hidden | public]
                    if shown:
                        hidden.add(min(shown, key=lambda n: cost[n]))
                        changed = True
        # 2. exact check (linear algebra, then bounds); one more complement per group
        exposed = _exposed(a, v, hidden, primary, k, slack, floor, checked)
        new = set()
        for group in exposed:
            shown = _nearest_shown(group[0], neighbours, hidden, public)
            if shown:
                new.add(min(shown, key=lambda n: cost[n]))
        if not exposed:
            break
        if not new:  # nothing left to hide: refuse rather than publish a recoverable count
            raise ScreenkitError(
                f"Small-count suppression below {k} cannot protect every small count of "
                "this report (every count linked to them is already hidden)",
                hint="choose a larger --suppress-below, or share the report without it",
            )
        hidden |= new
    return Suppression(
        k=k,
        primary=frozenset(keys[j] for j in primary),
        hidden=frozenset(keys[j] for j in hidden - slack),
    )


def _nearest_shown(j: int, neighbours: list[set[int]], hidden: set, public: set) -> list[int]:
    """The shown cells closest to ``j`` through the equations (breadth-first), leaving
    out the ``public`` ones (the report states them anyway)."""
    seen, layer = {j}, {j}
    while layer:
        layer = {m for n in layer for m in neighbours[n]} - seen
        shown = [m for m in layer if m not in hidden and m not in public]
        if shown:
            return shown
        seen |= layer
    return []


def _exposed(
    a: np.ndarray,
    v: np.ndarray,
    hidden: set,
    primary: set,
    k: int,
    slack: set,
    floor: set,
    checked: dict | None = None,
) -> list[list[int]]:
    """Per group of linked hidden cells, those the shown cells, equations and bounds pin
    down (groups with none left out; slacks are never reported).

    ``checked`` remembers the answer per group from earlier rounds: a group with the same
    cells and the same bound on counts has the same equations and the same shown values.
    """
    # a reader who sees the largest count (the report's total) knows nothing exceeds it
    largest = set(np.flatnonzero(v == v.max()).tolist()) if len(v) else set()
    top = float(v.max()) if largest - hidden else np.inf
    checked = {} if checked is None else checked
    out = []
    for h, rows in _components(a, hidden):
        key = (frozenset(h), top)
        if key not in checked:
            checked[key] = _exposed_in(a[rows], v, h, primary, k, top, slack, floor)
        exposed = checked[key]
        if exposed:
            out.append(exposed)
    return out


def _components(a: np.ndarray, hidden: set) -> list[tuple[list[int], np.ndarray]]:
    """Groups of hidden cells linked by equations, each with the equations involved."""
    h = sorted(hidden)
    parent = {j: j for j in h}

    def find(j: int) -> int:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    mask = np.zeros(a.shape[1], bool)
    mask[h] = True
    eq_cells = [np.flatnonzero((a[i] != 0) & mask) for i in range(len(a))]
    for cells in eq_cells:
        for j in cells[1:]:
            parent[find(j)] = find(cells[0])
    groups: dict[int, list[int]] = {}
    for j in h:
        groups.setdefault(find(j), []).append(j)
    out = []
    for root, members in groups.items():
        rows = [i for i, cells in enumerate(eq_cells) if len(cells) and find(cells[0]) == root]
        if rows:
            out.append((members, np.array(rows, dtype=int)))
    return out


def _exposed_in(
    a: np.ndarray,
    v: np.ndarray,
    h: list[int],
    primary: set,
    k: int,
    top: float,
    slack: set,
    floor: set,
) -> list[int]:
    a_h = a[:, h]
    shown = np.ones(len(v), bool)
    shown[h] = False
    b = -(a[:, shown] @ v[shown])
    # linear algebra first: x_j is determined when e_j lies in the row space of A_H
    _, s, vt = np.linalg.svd(a_h)
    rank = int((s > 1e-9).sum())
    null = vt[rank:].T  # columns span the null space
    determined = np.all(np.abs(null) < 1e-9, axis=1) if null.size else np.ones(len(h), bool)
    exposed = [h[i] for i in range(len(h)) if determined[i] and h[i] not in slack]
    if exposed:
        return exposed
    # then bounds: <k cells lie in 0..k-1 (1..k-1 when known to be non-empty), hidden
    # complements are >= k, slacks >= 0 (all <= top)
    low_b = np.array(
        [0.0 if j in slack else (1.0 if j in floor else 0.0) if j in primary else k for j in h]
    )
    high_b = np.array([k - 1.0 if j in primary else top for j in h])
    # every feasible table of integers found widens the known range of each cell; a cell
    # whose range reaches 1 is not pinned. Start from the true table, a few random
    # directions, then minimise / maximise each cell not yet shown to move. Integer
    # programs, so the ranges are exact for any equations (not only the unimodular ones
    # within a table: the links between tables are not).
    from scipy.optimize import Bounds, LinearConstraint, milp

    known = LinearConstraint(a_h, b, b)
    bounds = Bounds(low_b, high_b)
    integers = np.ones(len(h))
    seen_low, seen_high = v[h].copy(), v[h].copy()

    def solve(c: np.ndarray) -> np.ndarray | None:
        res = milp(c, constraints=known, integrality=integers, bounds=bounds)
        if res.status != 0:
            return None
        np.minimum(seen_low, res.x, out=seen_low)
        np.maximum(seen_high, res.x, out=seen_high)
        return res.x

    rng = np.random.default_rng(0)
    for _ in range(2):
        c = rng.standard_normal(len(h))
        solve(c)
        solve(-c)
    for i, j in enumerate(h):
        if j in slack or seen_high[i] - seen_low[i] >= 1 - _TOL:
            continue
        c = np.zeros(len(h))
        c[i] = 1.0
        solve(c)
        if solve(-c) is None:  # unbounded above (no total in sight): not pinned
            seen_high[i] = np.inf
        if seen_high[i] - seen_low[i] < 1 - _TOL:
            exposed.append(j)
    return exposed
