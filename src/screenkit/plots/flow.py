"""The CONSORT-style flow of screening: assessed for eligibility -> excluded (with the top
reasons) -> pending -> eligible -> randomized.

:func:`consort_flow` computes the boxes once (a :class:`Flow`); they are drawn as hand-written
SVG (:meth:`Flow.to_svg`, no dependency; every label escaped), as a PNG
(:meth:`Flow.to_png`, Pillow) or as a plotly figure (:meth:`Flow.to_figure`), and listed as a
table (:meth:`Flow.to_frame`). The HTML report carries the SVG inline as
``<svg id="consort-flow" ...>``, the workbook a **Flow** sheet, and ``screenkit report
--flow OUT.svg|png`` writes the picture.

The reasons for exclusion follow the attribution rules of the Criteria sheet: the criteria
in the funnel, ranked by equal-share attribution (then fails); each line gives the patients
failing the criterion (``n``, who may fail others too) and its share of the screen failures
(each screen-failed patient shared equally among the criteria they fail), so the shares of
the listed reasons plus the "other reasons" line add up to the excluded total. Small-count
suppression applies as in the report's tables: the same counts are hidden, with the same
markers (``<k``, ``hidden``).

>>> from screenkit.datasets import load_sample
>>> from screenkit.evaluate import evaluate
>>> flow = consort_flow(evaluate(load_sample(), "NCT07103668"), top=3)
>>> [(box.key, box.n) for box in flow.boxes]  # doctest: +NORMALIZE_WHITESPACE
[('assessed', 400), ('excluded', 298), ('pending', 29), ('eligible', 73),
 ('not_randomized', 8), ('randomized', 65)]
>>> flow.box("excluded").lines()[1]
'• I3a CLDN18.2 positive (>= 40% cells at >= 2+): 150 (share 90.9)'
>>> flow.to_svg().startswith('<svg id="consort-flow"')
True
"""

from __future__ import annotations

import html
import itertools
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenkit import style
from screenkit.export.privacy import HIDDEN, Suppression, check_k, suppress
from screenkit.export.tables import (
    Table,
    combinations_hidden,
    criteria_table,
    suppression_for,
)

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation
    from screenkit.funnel import Funnel

__all__ = ["Flow", "FlowBox", "Reason", "build_flow", "consort_flow", "randomized_counts"]

TOP_REASONS = 5


@dataclass(frozen=True)
class Reason:
    """One line of the exclusion box: a criterion (or ``"other"``), the patients failing
    it (``fails``; ``None`` on the other-reasons line) and its equal share (a float, or
    ``"hidden"``)."""

    criterion: str
    label: str
    fails: Any
    share: Any


@dataclass(frozen=True)
class FlowBox:
    """One box: ``key`` (``assessed``, ``excluded``, ``pending``, ``eligible``,
    ``not_randomized``, ``randomized``), its title, the count shown (an int, ``"<k"``,
    ``"hidden"``, or ``None`` when not known), detail lines and (exclusion) reasons."""

    key: str
    title: str
    n: Any
    detail: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    side: bool = False  # drawn to the right of the main column

    @property
    def heading(self) -> str:
        """``"Excluded: screen-failed (n = 298)"``."""
        return self.title if self.n is None else f"{self.title} (n = {self.n})"

    def lines(self) -> list[str]:
        """The box's text below its heading, one entry per line before wrapping."""
        out = list(self.detail)
        for r in self.reasons:
            share = r.share if isinstance(r.share, str) else style.decimal_text(r.share)
            if r.criterion == "other":
                out.append(f"\u2022 {r.label}: share {share}")
            else:
                out.append(f"\u2022 {r.criterion} {r.label}: {r.fails} (share {share})")
        return out


@dataclass(frozen=True)
class Flow:
    """The boxes of the flow, top to bottom (see :func:`consort_flow`)."""

    boxes: tuple[FlowBox, ...]
    protocol_id: str = ""
    notes: tuple[str, ...] = ()
    suppression: Suppression = field(default_factory=Suppression)

    def box(self, key: str) -> FlowBox:
        for b in self.boxes:
            if b.key == key:
                return b
        raise KeyError(f"no box {key!r}; boxes: {', '.join(b.key for b in self.boxes)}")

    def to_frame(self) -> pd.DataFrame:
        """One row per box and per reason: ``Stage``, ``Reason``, ``Patients``, ``Share of
        screen failures``, ``Detail`` (the counts shown, markers included)."""
        rows = []
        for b in self.boxes:
            rows.append(
                {
                    "Stage": b.title,
                    "Reason": "",
                    "Patients": b.n,
                    "Share of screen failures": None,
                    "Detail": " ".join(b.detail),
                }
            )
            for r in b.reasons:
                rows.append(
                    {
                        "Stage": b.title,
                        "Reason": r.label if r.criterion == "other" else f"{r.criterion} {r.label}",
                        "Patients": r.fails,
                        "Share of screen failures": r.share,
                        "Detail": "",
                    }
                )
        columns = ["Stage", "Reason", "Patients", "Share of screen failures", "Detail"]
        return pd.DataFrame(rows, columns=columns, dtype=object)

    def layout(self) -> list[tuple[FlowBox, tuple[float, float, float, float], list[str]]]:
        """Box positions ``(x, y, width, height)`` in pixels and wrapped lines (shared
        by the SVG and the PNG)."""
        return _layout(self.boxes)

    def to_svg(self) -> str:
        """The flow as one ``<svg id="consort-flow">`` element (labels escaped)."""
        return _svg(self)

    def _repr_svg_(self) -> str:  # drawn inline in a notebook
        return self.to_svg()

    def to_png(self, scale: float = 2.0) -> bytes:
        """The flow as PNG bytes (Pillow; the same layout as the SVG)."""
        from screenkit.plots.flow_image import flow_png

        return flow_png(self, scale=scale)

    def to_figure(self):
        """The flow as a plotly figure (boxes as shapes, text as annotations)."""
        from screenkit.plots.flow_image import flow_figure

        return flow_figure(self)


# ---------------------------------------------------------------- counts
def randomized_counts(evaluation: Evaluation | None, funnel: Funnel) -> dict[str, int] | None:
    """``{"randomized", "not_randomized", "randomized_not_eligible"}`` under the funnel's
    switched-off criteria, or ``None`` when the log records no randomization."""
    if evaluation is None or "randomized" not in evaluation.data.columns:
        return None
    recorded = evaluation.data["randomized"]
    if not recorded.notna().any():
        return None
    ev = evaluation.without_criteria(funnel.excluded) if funnel.excluded else evaluation
    eligible = (ev.status == "eligible").to_numpy()
    rand = recorded.fillna(False).astype(bool).to_numpy()
    return {
        "randomized": int((rand & eligible).sum()),
        "not_randomized": int((~rand & eligible).sum()),
        "randomized_not_eligible": int((rand & ~eligible).sum()),
    }


def consort_flow(
    evaluation: Evaluation,
    funnel: Funnel | None = None,
    *,
    suppress_below: int | None = None,
    top: int = TOP_REASONS,
) -> Flow:
    """The CONSORT flow of ``evaluation`` (its ``funnel``, default: protocol order, every
    criterion on), with the ``top`` reasons for exclusion and small-count suppression.

    The randomized box comes from the log's ``randomized`` column (eligible patients only;
    randomized patients who are not eligible under these thresholds are counted in a note).
    """
    from screenkit.funnel import funnel as make_funnel

    f = funnel if funnel is not None else make_funnel(evaluation)
    k = check_k(suppress_below)
    combos = f.combinations(20)
    sup = suppression_for(f, k, combos)
    criteria = criteria_table(f, sup, {}, hide_shares=combinations_hidden(f, sup, combos))
    return build_flow(f, sup, criteria, randomized_counts(evaluation, f), top=top)


def build_flow(
    f: Funnel,
    sup: Suppression,
    criteria: Table,
    randomized: dict[str, int] | None,
    *,
    top: int = TOP_REASONS,
) -> Flow:
    """The flow from a report's display pieces (its suppression and Criteria table), so
    the flow shows exactly the counts the tables show."""
    head = f.headline()
    shown = {name: sup.show(("headline", name), head[name]) for name in head}
    boxes = [
        FlowBox("assessed", "Assessed for eligibility", shown["screened"], ("patients screened",)),
        FlowBox(
            "excluded",
            "Excluded: screen-failed",
            shown["screen_failed"],
            ("fail at least one criterion. Top reasons, patients failing each (share):",),
            _reasons(f, criteria, top),
            side=True,
        ),
        FlowBox(
            "pending",
            "Pending",
            shown["pending"],
            ("fail nothing known, but a value needed is missing",),
            side=True,
        ),
        FlowBox("eligible", "Eligible", shown["eligible"], ("pass every criterion",)),
    ]
    notes = [
        "A patient may fail several criteria: n counts every patient failing a criterion; "
        "the shares split each screen-failed patient equally among the criteria they fail "
        "and add up to the excluded total."
    ]
    if f.excluded:
        notes.append(f"Switched off: {', '.join(f.excluded)}.")
    if randomized is None:
        boxes.append(FlowBox("randomized", "Randomized", None, ("not recorded in the log",)))
    else:
        rand = _randomized_suppression(head["eligible"], randomized, sup.k)
        boxes.append(
            FlowBox(
                "not_randomized",
                "Eligible, not randomized",
                rand.show("not_randomized", randomized["not_randomized"]),
                side=True,
            )
        )
        boxes.append(
            FlowBox(
                "randomized",
                "Randomized",
                rand.show("randomized", randomized["randomized"]),
                ("eligible patients the log records as randomized",),
            )
        )
        extra = randomized["randomized_not_eligible"]
        if extra:
            count = f"<{sup.k}" if sup.k is not None and extra < sup.k else str(extra)
            notes.append(
                f"{count} patient(s) recorded as randomized are not eligible under these "
                "thresholds and criteria; they are not in the randomized box."
            )
    if sup.active:
        notes.append(f"Small counts: {sup.legend()}.")
    return Flow(tuple(boxes), f.patterns.protocol_id or "", tuple(notes), sup)


def _reasons(f: Funnel, criteria: Table, top: int) -> tuple[Reason, ...]:
    """Top criteria by equal-share attribution (as the Criteria sheet ranks them)."""
    crit = f.criteria[f.criteria["active"] & (f.criteria["fails"] > 0)]
    crit = crit.sort_values(["attribution", "fails"], ascending=False, kind="stable")
    display = criteria.frame.set_index("Criterion")
    listed = crit.head(top)
    reasons = []
    for row in listed.itertuples(index=False):
        d = display.loc[row.criterion]
        share = d["Share of screen failures"]
        reasons.append(
            Reason(
                row.criterion,
                row.label,
                d["Fails"],
                HIDDEN if isinstance(share, str) else float(share),
            )
        )
    rest = crit.iloc[len(listed) :]
    if len(rest):
        hidden = any(isinstance(r.share, str) for r in reasons) or sup_hidden_total(criteria)
        share = HIDDEN if hidden else float(rest["attribution"].sum())
        n = len(rest)
        label = f"Other reasons ({n} {'criterion' if n == 1 else 'criteria'})"
        reasons.append(Reason("other", label, None, share))
    return tuple(reasons)


def sup_hidden_total(criteria: Table) -> bool:
    """Whether the screen-failed total of the Criteria table is hidden."""
    total = (criteria.total or {}).get("Share of screen failures")
    return isinstance(total, str)


def _randomized_suppression(eligible: int, counts: dict[str, int], k: int | None) -> Suppression:
    """Randomized + eligible-not-randomized = eligible (shown): one small part hides both."""
    values = {
        "randomized": counts["randomized"],
        "not_randomized": counts["not_randomized"],
        "eligible": eligible,
    }
    eq = [{"randomized": 1, "not_randomized": 1, "eligible": -1}]
    return suppress(values, eq, k, keep_shown={"eligible"})


# ---------------------------------------------------------------- layout and SVG
WIDTH = 820
MAIN_X, MAIN_W = 20, 270
SIDE_X, SIDE_W = 350, 450
FONT_PX = 13
LINE_PX = 17
PAD = 9
GAP = 26


def _wrap(text: str, width_px: float, bullet: bool) -> list[str]:
    chars = max(int((width_px - 2 * PAD) / (FONT_PX * 0.52)), 10)
    indent = "  " if bullet else ""
    return textwrap.wrap(text, chars, subsequent_indent=indent) or [""]


def _layout(boxes: tuple[FlowBox, ...]) -> list:
    """Main boxes stacked on the left, side boxes to their right between them."""
    placed = []
    y = 20.0
    for b in boxes:
        x, w = (SIDE_X, SIDE_W) if b.side else (MAIN_X, MAIN_W)
        lines = _wrap(b.heading, w, False)
        heading_lines = len(lines)
        for text in b.lines():
            lines += _wrap(text, w, text.startswith("\u2022"))
        h = 2 * PAD + LINE_PX * len(lines)
        placed.append((b, (x, y, w, h), lines, heading_lines))
        y += h + GAP
    return placed


def _svg(flow: Flow) -> str:
    e = html.escape
    placed = _layout(flow.boxes)
    bottom = max(y + h for _, (x, y, w, h), _, _ in placed)
    note_lines = [line for note in flow.notes for line in textwrap.wrap(note, 120)]
    height = bottom + 16 + LINE_PX * len(note_lines) + 10
    colour = {
        "excluded": style.FAIL,
        "pending": style.PENDING,
        "eligible": style.PASS,
        "randomized": style.NEUTRAL,
    }
    parts = [
        f'<svg id="consort-flow" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'font-family="Arial, Helvetica, sans-serif" font-size="{FONT_PX}">',
        f"<title>{e(f'Screening flow {flow.protocol_id}'.strip())}</title>",
        '<defs><marker id="consort-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
    ]
    spine = MAIN_X + MAIN_W / 2
    main = [i for i, p in enumerate(placed) if not p[0].side]
    for i, j in itertools.pairwise(main):
        _, (_, y, _, h), _, _ = placed[i]
        parts.append(_arrow(spine, y + h, spine, placed[j][1][1] - 1))
        for side in placed[i + 1 : j]:  # side boxes branch off the spine between them
            sy = side[1][1] + min(side[1][3], 2 * LINE_PX + PAD) / 2
            parts.append(_arrow(spine, sy, SIDE_X - 1, sy))
    for b, (x, y, w, h), lines, heading_lines in placed:
        stroke = style.css(colour.get(b.key, style.NAVY))
        parts.append(
            f'<g class="box" data-key="{e(b.key)}"><rect x="{x}" y="{y:.0f}" width="{w}" '
            f'height="{h:.0f}" rx="4" fill="#FFFFFF" stroke="{stroke}" stroke-width="2"/>'
        )
        for i, line in enumerate(lines):
            weight = ' font-weight="bold"' if i < heading_lines else ""
            ty = y + PAD + LINE_PX * (i + 1) - 4
            parts.append(
                f'<text x="{x + PAD}" y="{ty:.0f}"{weight} xml:space="preserve">{e(line)}</text>'
            )
        parts.append("</g>")
    for i, line in enumerate(note_lines):
        ty = bottom + 16 + LINE_PX * (i + 1) - 4
        parts.append(f'<text x="{MAIN_X}" y="{ty:.0f}" font-size="11" fill="#555">{e(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="#333" '
        'stroke-width="1.5" marker-end="url(#consort-arrow)"/>'
    )
