"""Notebook 01 in a real JupyterLab, driven by headless Chromium.

Runs all cells through the Run menu, checks that the explorer's funnel figure shows the
counts the Python API gives for the sample, types a new tumour-size limit into the
``lesion_max_cm`` control and checks that the headline and the figure change to the
counts the API gives for that limit. Screenshots: ``test-artifacts/browser/``.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import REPO
from .explorer_page import (
    expected_funnel,
    scroll_to_top,
    set_parameter,
    wait_for_counts,
    wait_for_explorer,
    wait_for_headline,
)

pytestmark = pytest.mark.browser

NOTEBOOK = REPO / "notebooks" / "01_quick_start.ipynb"
NEW_LESION_MAX_CM = 7.0
RUN_ALL_TIMEOUT_MS = 120_000


def _wait_for_connected_kernel(url: str, path: str, timeout: float = 60) -> None:
    """Until the server lists an idle kernel for ``path`` with the page connected to it."""
    deadline = time.monotonic() + timeout
    sessions = []
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/sessions", timeout=5) as response:
            sessions = json.load(response)
        for s in sessions:
            kernel = s.get("kernel") or {}
            if (
                s.get("path") == path
                and kernel.get("execution_state") == "idle"
                and kernel.get("connections", 0) >= 1
            ):
                return
        time.sleep(0.25)
    raise AssertionError(f"No idle, connected kernel for {path} after {timeout:.0f} s: {sessions}")


def _close_left_sidebar(page) -> None:
    """More room for the explorer: collapse the file browser."""
    current = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current.count():
        current.first.click()


def _run_all(page) -> None:
    """Run > Run All Cells, as a user would; accept a kernel dialog if one comes up."""
    # imported here: without playwright the module is still collected (conftest.py skips
    # the test on a developer machine and fails it under CI)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    dialog = page.locator(".jp-Dialog")
    try:
        dialog.wait_for(state="visible", timeout=2_000)
    except PlaywrightTimeout:
        return
    dialog.locator("button.jp-mod-accept").click()


def test_notebook_01_explorer_in_jupyterlab(jupyterlab, lab_root: Path, page, artifacts: Path):
    started = time.monotonic()
    # the repository's layout: the notebook reads ../data/sample/screening_log.xlsx
    (lab_root / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, lab_root / "notebooks" / NOTEBOOK.name)
    shutil.copytree(REPO / "data" / "sample", lab_root / "data" / "sample")
    before = expected_funnel()
    after = expected_funnel(lesion_max_cm=NEW_LESION_MAX_CM)
    assert after.headline() != before.headline(), "pick a threshold that changes the counts"

    page.goto(f"{jupyterlab.url}/lab/tree/notebooks/{NOTEBOOK.name}?reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
    # Run All before the page is connected to the kernel brings up a kernel dialog.
    _wait_for_connected_kernel(jupyterlab.url, f"notebooks/{NOTEBOOK.name}")
    _close_left_sidebar(page)
    _run_all(page)

    explorer = page.locator(".jp-OutputArea-output .screenkit-explorer").first
    headline = explorer.locator(".screenkit-headline")
    problem = wait_for_explorer(page, headline, RUN_ALL_TIMEOUT_MS)
    if problem:
        page.screenshot(path=artifacts / "jupyterlab-failed-no-explorer.png", full_page=True)
        raise AssertionError(
            f"Run All in {NOTEBOOK.name} showed no explorer: {problem}\n"
            + "\n".join(page.console_messages[-20:])
            + "\n"
            + jupyterlab.log_tail()
        )

    # --- the explorer shows the API's numbers for the sample
    wait_for_headline(headline, before)
    wait_for_counts(page, explorer, before)
    scroll_to_top(headline)
    page.screenshot(path=artifacts / "jupyterlab-01-explorer.png")

    # --- type a new tumour-size limit into the slider's readout
    control = explorer.locator(".screenkit-param-lesion_max_cm")
    set_parameter(control, NEW_LESION_MAX_CM)
    wait_for_headline(headline, after)
    counts = wait_for_counts(page, explorer, after)
    assert counts[0] == after.screened
    assert counts[-1] == after.eligible + after.pending

    scroll_to_top(headline)
    page.screenshot(path=artifacts / "jupyterlab-02-lesion-7cm.png")
    scroll_to_top(explorer.locator(".js-plotly-plot").nth(1))
    page.screenshot(path=artifacts / "jupyterlab-03-lesion-7cm-figures.png")

    # every cell ran without an error
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error:" in t]
    assert not tracebacks, f"cells raised errors: {tracebacks[:2]}"
    print(f"JupyterLab test took {time.monotonic() - started:.1f} s")
