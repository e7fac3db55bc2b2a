"""``screenkit explore`` (the Voila dashboard) in headless Chromium.

Starts ``screenkit explore data/sample/screening_log.xlsx --port P``, waits for the
explorer, checks the headline and the funnel figure against the Python API, types a new
haemoglobin limit into its control, drags the platelet slider with the mouse, and checks
after each that both follow the API. Screenshots:
``test-artifacts/browser/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .explorer_page import (
    drag_slider,
    expected_funnel,
    scroll_to_top,
    set_parameter,
    wait_for_counts,
    wait_for_explorer,
    wait_for_headline,
)

pytestmark = pytest.mark.browser

PAGE_TIMEOUT_MS = 120_000
# Of the thresholds a feasibility colleague would try, one that changes the counts here
# and is not the one the JupyterLab test moves.
PARAMETER, NEW_VALUE = "hb_min", 7.0


def before_plt_min() -> float:
    import screenkit as sk

    return sk.get_protocol("NCT07103668").parameters["plt_min"].value


def test_screenkit_explore_dashboard(voila, page, artifacts: Path):
    started = time.monotonic()
    before = expected_funnel(voila.input)
    after = expected_funnel(voila.input, **{PARAMETER: NEW_VALUE})
    assert after.headline() != before.headline(), "pick a threshold that changes the counts"

    page.goto(f"{voila.url}/", timeout=PAGE_TIMEOUT_MS)
    explorer = page.locator(".screenkit-explorer").first
    headline = explorer.locator(".screenkit-headline")
    problem = wait_for_explorer(page, headline, PAGE_TIMEOUT_MS)
    if problem:
        page.screenshot(path=artifacts / "voila-failed-no-explorer.png", full_page=True)
        raise AssertionError(
            f"screenkit explore showed no explorer: {problem}\n"
            + "\n".join(page.console_messages[-20:])
            + "\n"
            + voila.log_tail(60)
        )

    wait_for_headline(headline, before)
    wait_for_counts(page, explorer, before)
    scroll_to_top(headline)
    page.screenshot(path=artifacts / "voila-01-explorer.png")

    set_parameter(explorer.locator(f".screenkit-param-{PARAMETER}"), NEW_VALUE)
    wait_for_headline(headline, after)
    counts = wait_for_counts(page, explorer, after)
    assert counts[-1] == after.eligible + after.pending
    scroll_to_top(headline)
    page.screenshot(path=artifacts / "voila-02-hb-7.png")

    # drag the platelet slider to the left with the mouse; the API decides what to expect
    plt_min = drag_slider(page, explorer.locator(".screenkit-param-plt_min"), -40)
    assert plt_min < before_plt_min(), f"dragging left should lower plt_min, got {plt_min}"
    both = expected_funnel(voila.input, **{PARAMETER: NEW_VALUE, "plt_min": plt_min})
    wait_for_headline(headline, both)
    wait_for_counts(page, explorer, both)
    scroll_to_top(headline)
    page.screenshot(path=artifacts / f"voila-03-hb-7-plt-{plt_min:g}.png")
    scroll_to_top(explorer.locator(".js-plotly-plot").nth(1))
    page.screenshot(path=artifacts / "voila-04-figures.png")
    print(f"Voila test took {time.monotonic() - started:.1f} s")
