"""Pictures of the CONSORT flow other than its SVG: a PNG (Pillow, for the workbook's Flow
sheet and ``--flow OUT.png``) and a plotly figure (for the explorer), both drawn from the
layout of :meth:`screenkit.plots.flow.Flow.layout`, and :func:`write_flow` for files.

The PNG uses Pillow's bundled font, so it renders the same on every machine (reruns are
byte-identical) and needs no browser.

>>> from screenkit.datasets import load_sample
>>> from screenkit.evaluate import evaluate
>>> from screenkit.plots.flow import consort_flow
>>> flow = consort_flow(evaluate(load_sample(), "NCT07103668"))
>>> flow.to_png()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
>>> len(flow.to_figure().layout.shapes) >= 6
True
"""

from __future__ import annotations

import io
import itertools
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from screenkit import style
from screenkit.errors import InputError
from screenkit.plots.flow import FONT_PX, LINE_PX, MAIN_W, MAIN_X, PAD, SIDE_X, WIDTH

if TYPE_CHECKING:
    from screenkit.plots.flow import Flow

__all__ = ["flow_figure", "flow_png", "write_flow"]

BOX_COLOURS = {
    "excluded": style.FAIL,
    "pending": style.PENDING,
    "eligible": style.PASS,
    "randomized": style.NEUTRAL,
}


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


def flow_png(flow: Flow, scale: float = 2.0) -> bytes:
    """PNG bytes of the flow, ``scale`` pixels per SVG pixel."""
    from PIL import Image, ImageDraw, ImageFont

    placed = flow.layout()
    bottom = max(y + h for _, (x, y, w, h), _, _ in placed)
    notes = [line for note in flow.notes for line in textwrap.wrap(note, 120)]
    height = bottom + 16 + LINE_PX * len(notes) + 10

    def s(v: float) -> int:
        return round(v * scale)

    image = Image.new("RGB", (s(WIDTH), s(height)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=s(FONT_PX - 1))
    small = ImageFont.load_default(size=s(10))
    ink = (51, 51, 51)
    spine = MAIN_X + MAIN_W / 2
    main = [i for i, p in enumerate(placed) if not p[0].side]
    for i, j in itertools.pairwise(main):
        _, (_, y, _, h), _, _ = placed[i]
        _arrow(draw, s, (spine, y + h), (spine, placed[j][1][1] - 1), ink)
        for side in placed[i + 1 : j]:
            sy = side[1][1] + min(side[1][3], 2 * LINE_PX + PAD) / 2
            _arrow(draw, s, (spine, sy), (SIDE_X - 1, sy), ink)
    for box, (x, y, w, h), lines, heading_lines in placed:
        colour = _rgb(BOX_COLOURS.get(box.key, style.NAVY))
        draw.rounded_rectangle(
            (s(x), s(y), s(x + w), s(y + h)), radius=s(4), outline=colour, width=s(2), fill="white"
        )
        for i, line in enumerate(lines):
            ty = y + PAD + LINE_PX * i + 1
            bold = i < heading_lines
            draw.text(
                (s(x + PAD), s(ty)),
                line.replace("\u2022", "-"),  # the bundled font has no bullet
                fill=(0, 0, 0),
                font=font,
                stroke_width=1 if bold else 0,
                stroke_fill=(0, 0, 0),
            )
    for i, line in enumerate(notes):
        draw.text((s(MAIN_X), s(bottom + 16 + LINE_PX * i)), line, fill=(85, 85, 85), font=small)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _arrow(draw, s, start: tuple[float, float], end: tuple[float, float], ink) -> None:
    (x1, y1), (x2, y2) = start, end
    draw.line((s(x1), s(y1), s(x2), s(y2)), fill=ink, width=max(s(1.5), 1))
    size = 6
    if x1 == x2:  # down
        head = [(x2, y2), (x2 - size / 1.6, y2 - size), (x2 + size / 1.6, y2 - size)]
    else:  # right
        head = [(x2, y2), (x2 - size, y2 - size / 1.6), (x2 - size, y2 + size / 1.6)]
    draw.polygon([(s(px), s(py)) for px, py in head], fill=ink)


def flow_figure(flow: Flow):
    """A plotly figure of the flow: boxes as shapes, their text as annotations."""
    import plotly.graph_objects as go

    placed = flow.layout()
    bottom = max(y + h for _, (x, y, w, h), _, _ in placed)
    shapes, annotations = [], []
    spine = MAIN_X + MAIN_W / 2
    main = [i for i, p in enumerate(placed) if not p[0].side]
    for i, j in itertools.pairwise(main):
        _, (_, y, _, h), _, _ = placed[i]
        annotations.append(_plotly_arrow(spine, y + h, spine, placed[j][1][1]))
        for side in placed[i + 1 : j]:
            sy = side[1][1] + min(side[1][3], 2 * LINE_PX + PAD) / 2
            annotations.append(_plotly_arrow(spine, sy, SIDE_X, sy))
    for box, (x, y, w, h), lines, heading_lines in placed:
        colour = style.css(BOX_COLOURS.get(box.key, style.NAVY))
        shapes.append(
            dict(type="rect", x0=x, x1=x + w, y0=y, y1=y + h, line={"color": colour, "width": 2})
        )
        text = "<br>".join(
            f"<b>{_plotly_text(t)}</b>" if i < heading_lines else _plotly_text(t)
            for i, t in enumerate(lines)
        )
        annotations.append(
            dict(
                x=x + PAD,
                y=y + PAD,
                text=text,
                showarrow=False,
                xanchor="left",
                yanchor="top",
                align="left",
                font={"size": FONT_PX - 1},
            )
        )
    return go.Figure(
        layout=dict(
            shapes=shapes,
            annotations=annotations,
            xaxis={"visible": False, "range": [0, WIDTH]},
            yaxis={"visible": False, "range": [bottom + 10, 0]},
            width=WIDTH,
            height=bottom + 30,
            margin={"l": 0, "r": 0, "t": 10, "b": 10},
            template="plotly_white",
            title=None,
        )
    )


def _plotly_text(text: str) -> str:
    """Plotly annotations read a subset of HTML: escape ``<``, ``>`` and ``&``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plotly_arrow(x1: float, y1: float, x2: float, y2: float) -> dict:
    return dict(
        x=x2, y=y2, ax=x1, ay=y1, xref="x", yref="y", axref="x", ayref="y",
        showarrow=True, arrowhead=2, arrowwidth=1.5, arrowcolor="#333", text="",
    )  # fmt: skip


def write_flow(flow: Flow, path: str | os.PathLike, *, overwrite: bool = False, inputs=()) -> Path:
    """Write the flow as ``.svg`` or ``.png`` (refuses an input file; atomic)."""
    from screenkit.files import atomic_write, check_target

    out = check_target(path, overwrite=overwrite, inputs=inputs)
    kind = flow_format(out)
    if kind == "svg":
        text = flow.to_svg()
        return atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    data = flow.to_png()
    return atomic_write(out, lambda tmp: tmp.write_bytes(data))


def flow_format(path: str | os.PathLike) -> str:
    """``"svg"`` or ``"png"`` from the file name, else an :class:`InputError`."""
    suffix = Path(path).suffix.lower()
    if suffix in (".svg", ".png"):
        return suffix[1:]
    raise InputError(
        "Unknown flow diagram format", file=Path(path), expected=".svg or .png (--flow OUT.svg)"
    )
