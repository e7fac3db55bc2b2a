"""Reading and driving a ``ScreeningExplorer`` in a browser page (JupyterLab or Voila).

The expected numbers always come from the Python API in the test process
(``funnel(evaluate(data, protocol, **thresholds))``), never from constants.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # playwright is imported lazily: this module is also collected for doctests
    from playwright.sync_api import Locator, Page

PROTOCOL = "NCT07103668"
WAIT_MS = 30_000

# The first trace of each plotly figure inside the explorer; the funnel figure is the one
# whose category axis starts with "Screened" (its counts are on the other axis).
_READ_FUNNEL_JS = """
(explorer) => {
    const found = [];
    for (const gd of explorer.querySelectorAll('.js-plotly-plot')) {
        const trace = (gd.data || [])[0];
        if (!trace) continue;
        for (const [labels, values] of [[trace.y, trace.x], [trace.x, trace.y]]) {
            if (labels && values && labels.length && String(labels[0]) === 'Screened') {
                found.push({
                    values: Array.from(values, Number),
                    drawn: !!(gd._fullData && gd.querySelector('.main-svg')),
                    // the count labels as drawn in the SVG, e.g. "71 (17.8%)"
                    texts: Array.from(gd.querySelectorAll('text.bartext'), t => t.textContent),
                });
            }
        }
    }
    return found;
}
"""


@functools.cache
def _evaluation(source: str | None):
    import screenkit as sk

    data = sk.load_sample() if source is None else sk.load_screening(source)
    return sk.evaluate(data, PROTOCOL)


def expected_funnel(source: str | Path | None = None, **thresholds: float):
    """The API's funnel for the sample (or the log at ``source``) at ``thresholds``."""
    import screenkit as sk

    base = _evaluation(None if source is None else str(source))
    return sk.funnel(base.with_parameters(**thresholds) if thresholds else base)


def expected_counts(f) -> list[int]:
    """What the funnel figure's first trace holds: screened, then remaining per step."""
    return [int(f.screened), *(int(x) for x in f.steps["remaining"])]


def drawn_counts(texts: list[str]) -> list[int]:
    """The leading counts of drawn bar labels.

    >>> drawn_counts(["1,400 (100.0%)", "71 (17.8%)"])
    [1400, 71]
    """
    return [int(t.split(" ")[0].replace(",", "")) for t in texts if t.strip()]


def funnel_counts(explorer: Locator) -> list[int] | None:
    """The counts of the explorer's funnel figure as drawn in the page: the figure's data
    when the SVG's count labels say the same, else the labels (None if not drawn)."""
    found = explorer.evaluate(_READ_FUNNEL_JS)
    drawn = [f for f in found if f["drawn"]]
    if not drawn:
        return None
    labels = drawn_counts(drawn[0]["texts"])
    return drawn[0]["values"] if labels == drawn[0]["values"] else labels


ERROR_OUTPUTS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
VOILA_ERROR = "There was an error when executing cell"


def wait_for_explorer(page: Page, headline: Locator, timeout_ms: int) -> str | None:
    """Wait until the explorer's headline shows. Returns None when it does, else why not:
    the text of the first cell error (JupyterLab traceback, Voila error notice) as soon as
    one appears, or a timeout note."""
    errors = page.locator(ERROR_OUTPUTS)
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if headline.is_visible():
            return None
        texts = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error:" in t]
        if page.get_by_text(VOILA_ERROR).count():
            texts.append(page.get_by_text(VOILA_ERROR).first.inner_text())
        if texts:
            return "a cell raised:\n" + texts[0][-3000:]
        page.wait_for_timeout(500)
    return f"no explorer headline within {timeout_ms / 1000:.0f} s"


def wait_for_counts(page: Page, explorer: Locator, f, timeout_ms: int = WAIT_MS) -> list[int]:
    """Wait until the funnel figure shows ``f``'s counts; return them."""
    want = expected_counts(f)
    deadline = time.monotonic() + timeout_ms / 1000
    seen = None
    while time.monotonic() < deadline:
        seen = funnel_counts(explorer)
        if seen == want:
            return seen
        page.wait_for_timeout(250)
    raise AssertionError(
        f"The explorer's funnel figure did not show the API's counts within "
        f"{timeout_ms / 1000:.0f} s.\n  expected ({f.headline_text()}): {want}\n"
        f"  shown: {seen}"
    )


def wait_for_headline(headline: Locator, f, timeout_ms: int = WAIT_MS) -> None:
    """Wait until the headline shows ``Funnel.headline_text()`` of ``f``."""
    from playwright.sync_api import expect

    expect(headline).to_contain_text(f.headline_text(), timeout=timeout_ms)


def set_parameter(control: Locator, value: float) -> None:
    """Type ``value`` into a slider's editable readout and press Enter."""
    from playwright.sync_api import expect

    expect(control).to_be_visible(timeout=WAIT_MS)
    control.scroll_into_view_if_needed()
    readout = control.locator(".widget-readout")
    readout.click()
    readout.fill(f"{value:g}")
    readout.press("Enter")


def scroll_to_top(locator: Locator) -> None:
    """Scroll the page (or JupyterLab's notebook panel) so ``locator`` is at the top."""
    locator.evaluate("e => e.scrollIntoView({block: 'start'})")
    locator.page.wait_for_timeout(300)


def drag_slider(page: Page, control: Locator, dx: float) -> float:
    """Drag a slider's handle ``dx`` pixels with the mouse; return the value it shows."""
    from playwright.sync_api import expect

    expect(control).to_be_visible(timeout=WAIT_MS)
    control.scroll_into_view_if_needed()
    readout = control.locator(".widget-readout")
    before = readout.inner_text()
    box = control.locator(".noUi-handle").bounding_box()
    assert box is not None, "the slider has no handle on screen"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()
    expect(readout).not_to_have_text(before, timeout=WAIT_MS)
    return float(readout.inner_text())
