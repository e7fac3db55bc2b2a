"""The terminal report of ``screenkit report``: a table for people, as wide as the terminal.

:func:`format_funnel` prints the headline, then one row per criterion: the ``--top N``
(default :data:`DEFAULT_TOP`) criteria in the order asked for (``--sort``: equal-share
attribution by default, or fails / fails only / unknown, or the funnel's order), or every
criterion with ``--all``. Labels are shortened so that every line fits ``$COLUMNS``
(default 100). A footnote says that the remaining counts include the pending patients.
With ``--suppress-below K`` the table shows exactly what the workbook shows: the same
counts hidden (``<K`` / ``hidden``), from :func:`screenkit.export.tables.suppression_for`.

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> from screenkit.funnel import funnel
>>> frame = pd.DataFrame({"spo2": pd.array([99, 95, 94], dtype="Float64")})
>>> text = format_funnel(funnel(evaluate(frame, "NCT07103668")), width=80, top=3)
>>> max(len(line) for line in text.splitlines()) <= 80
True
>>> for line in text.splitlines()[:2]:
...     print(line)
NCT07103668: 3 screened: 0 eligible (0.0%), 2 screen-failed (66.7%), 1 pending
  (33.3%)
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING

from screenkit import style
from screenkit.export.privacy import check_k
from screenkit.export.tables import (
    combinations_hidden,
    criteria_table,
    funnel_table,
    headline_frame,
    headline_sentence,
    suppression_for,
)

if TYPE_CHECKING:
    from screenkit.funnel import Funnel

__all__ = [
    "DEFAULT_TOP",
    "DEFAULT_WIDTH",
    "SORTS",
    "format_funnel",
    "terminal_text",
    "terminal_width",
]

DEFAULT_WIDTH = 100
DEFAULT_TOP = 15
MIN_WIDTH = 60
#: ``--sort`` choices: the column of the Criteria table each one ranks by (largest first)
SORTS = {
    "share": "Share of screen failures",
    "fails": "Fails",
    "only": "Fails only this",
    "unknown": "Unknown",
    "funnel": None,  # the funnel's order (--order, else protocol order)
}
# the number columns: (header, column of the Criteria / Funnel display table)
NUMBERS = (
    ("fails", "Fails"),
    ("unknown", "Unknown"),
    ("only", "Fails only this"),
    ("share", "Share of screen failures"),
    ("step", "Step"),
    ("excluded", "Excluded at this step"),
    ("remaining", "Remaining"),
)


SHORT = {"unknown": "unk", "step": "#", "excluded": "excl", "remaining": "left"}


def terminal_width(environ: Mapping[str, str] | None = None) -> int:
    """``$COLUMNS`` when it is a whole number (at least :data:`MIN_WIDTH`), else 100.

    >>> terminal_width({"COLUMNS": "132"}), terminal_width({}), terminal_width({"COLUMNS": "x"})
    (132, 100, 100)
    """
    value = (os.environ if environ is None else environ).get("COLUMNS", "")
    return max(int(value), MIN_WIDTH) if value.strip().isdigit() else DEFAULT_WIDTH


def terminal_text(text: str, width: int, k: int | None = None) -> str:
    """``text`` with each line wrapped to ``width`` (continuations indented like the line,
    plus two); with ``k``, whole numbers under ``k`` read ``<k`` (patient counts).

    >>> print(terminal_text("  no column for hb: 3 patients unknown", 24, k=5))
      no column for hb: <5
        patients unknown
    """
    if k is not None:
        from screenkit.export.privacy import mask_small_counts

        text = mask_small_counts(text, k)
    out = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        wrapped = textwrap.wrap(
            line, width, subsequent_indent=indent + "  ", break_on_hyphens=False
        )
        out += wrapped or [""]
    return "\n".join(out)


def _cell(value, decimal: bool = False) -> str:
    """A display-table value as text: markers as they are, counts whole, shares 0.1."""
    if isinstance(value, str):
        return value
    if value is None or value != value:  # None or NaN
        return ""
    return style.decimal_text(value) if decimal else str(int(value))


def format_funnel(
    f: Funnel,
    changed: list[str] | None = None,
    source: str = "computed",
    protocol=None,
    *,
    width: int | None = None,
    top: int | None = DEFAULT_TOP,
    sort: str = "share",
    suppress_below: int | None = None,
) -> str:
    """The terminal report of funnel ``f`` (see the module docstring).

    ``top=None`` lists every criterion (``--all``); ``sort`` is one of :data:`SORTS`;
    ``protocol`` (the evaluated one) adds a line naming the criteria it left out.
    """
    from screenkit.cli._common import criteria_off_note

    width = terminal_width() if width is None else max(width, MIN_WIDTH)
    k = check_k(suppress_below)
    combos = f.combinations(20)
    sup = suppression_for(f, k, combos)
    crit = criteria_table(f, sup, {}, hide_shares=combinations_hidden(f, sup, combos)).frame
    steps = funnel_table(f, sup).frame.iloc[1:]  # without step 0 (screened)
    rows = crit.set_index("Criterion").join(
        steps.set_index("Criterion")[["Step", "Excluded at this step", "Remaining"]]
    )
    rows = rows[rows["In funnel"] == "yes"]
    rows = _sorted(rows, sort, f)
    listed = rows if top is None else rows.head(top)

    def wrap(text: str) -> list[str]:
        return textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [""]

    head = headline_frame(f, sup)
    lines = wrap(f"{f.patterns.protocol_id}: {headline_sentence(head)}")
    if changed:
        lines += _listing("thresholds changed from the protocol:", changed, width)
    lines.append("")
    if source == "recorded":
        lines += wrap(
            "recorded reasons: fails = recorded as failing it; a criterion not listed is not "
            "recorded as failed, NOT passed; NR = reason not recorded"
        )
    order = "funnel order" if sort == "funnel" else f"by {sort} (largest first)"
    shown = f"top {len(listed)} of {len(rows)}" if len(listed) < len(rows) else f"all {len(rows)}"
    lines += wrap(
        f"Criteria, {shown}, {order}. fails = patients failing it; unknown = a value it needs "
        "is missing; only = fail only this (gained if dropped); share = equal-share "
        "attribution of screen failures; step / excluded / remaining = the sequential funnel."
    )
    lines.append("")
    table, short = _table(listed, width)
    if short:
        lines += wrap(
            "(narrow terminal: unk = unknown, # = step, excl = excluded, left = remaining)"
        )
    lines += table
    if len(listed) < len(rows):
        rest = rows.iloc[len(listed) :]
        lines += wrap(
            f"... {len(rest)} more criteria not shown (--all lists every criterion, --top N "
            "shows N)."
        )
    lines.append("")
    last = steps.iloc[-1]["Remaining"] if len(steps) else head.iloc[0]["Patients"]
    eligible, pending = head.iloc[1]["Patients"], head.iloc[3]["Patients"]
    lines += wrap(
        f"Note: remaining counts include the pending patients (no criterion failed, some value "
        f"unknown): after the last step {last} remain = {eligible} eligible + {pending} pending."
    )
    if f.excluded:
        lines += wrap(f"switched off: {', '.join(f.excluded)}")
    note = criteria_off_note(protocol) if protocol is not None else None
    if note:
        lines += wrap(note)
    if sup.active:
        lines += wrap(f"Small counts (--suppress-below {k}): {sup.legend()}.")
    return "\n".join(lines)


def _listing(head: str, items: list[str], width: int) -> list[str]:
    """``head item1; item2`` on one line when it fits, else broken between items (an item
    is never split unless it alone is wider than the terminal)."""
    line = f"{head} {'; '.join(items)}"
    if len(line) <= width:
        return [line]
    out, current = [head], ""
    for item in items:
        candidate = f"{current}; {item}" if current else f"  {item}"
        if len(candidate) <= width:
            current = candidate
            continue
        if current:
            out.append(current)
        current = f"  {item}"
    out.append(current)
    return [piece for line in out for piece in textwrap.wrap(line, width, subsequent_indent="    ")]


def _sorted(rows, sort: str, f: Funnel):
    if sort not in SORTS:
        from screenkit.errors import ScreenkitError

        raise ScreenkitError("Unknown sort", value=sort, expected=", ".join(SORTS))
    column = SORTS[sort]
    if column is None:
        return rows.sort_values("Step", kind="stable")
    # hidden / "<k" cells sort after every shown number; ties keep the funnel order
    key = rows[column].map(lambda v: float(v) if isinstance(v, int | float) else -1.0)
    exact = f.criteria.set_index("criterion")["attribution"].reindex(rows.index)
    return rows.assign(_key=key, _share=exact).sort_values(
        ["_key", "_share", "Step"], ascending=[False, False, True], kind="stable"
    )


def _table(rows, width: int) -> tuple[list[str], bool]:
    """Fixed number columns, the label column as wide as what remains; on a narrow
    terminal the headers shorten (``unk``, ``#``, ``excl``, ``left``). Returns the lines and
    whether the headers were shortened."""
    ids = [str(i) for i in rows.index]
    id_w = max([len("id"), *map(len, ids)])
    cells = {
        header: [_cell(v, decimal=header == "share") for v in rows[column]]
        for header, column in NUMBERS
    }
    short = False
    for headers in (list(cells), [SHORT.get(h, h) for h in cells]):
        widths = [max([len(h), *map(len, c)]) for h, c in zip(headers, cells.values(), strict=True)]
        label_w = width - (id_w + sum(w + 2 for w in widths) + 2)
        if label_w >= 20:
            break
        short = True
    label_w = max(label_w, 10)
    labels = [_shorten(str(x), label_w) for x in rows["Label"]]
    out = [
        f"{'id':<{id_w}}  {'label':<{label_w}}"
        + "".join(f"  {h:>{w}}" for h, w in zip(headers, widths, strict=True)).rstrip()
    ]
    columns = list(cells.values())
    for i, cid in enumerate(ids):
        out.append(
            f"{cid:<{id_w}}  {labels[i]:<{label_w}}"
            + "".join(f"  {c[i]:>{w}}" for c, w in zip(columns, widths, strict=True))
        )
    return out, short


def _shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in ``...`` when cut."""
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."
