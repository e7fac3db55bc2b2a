"""``screenkit explore`` culls the kernels of closed pages and keeps those of open ones.

Every page load of a Voila dashboard starts its own kernel (about 250 MB). The server is
started with ``--cull-after 6``: a kernel idle for 6 s with no page connected is shut
down (checked every 3 s); an open page's kernel is never culled, however long it idles.
The test waits on events (the kernel process gone, the headline changed), not on fixed
sleeps.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import explore_server, keep_log, kernel_pids
from .explorer_page import expected_funnel, set_parameter, wait_for_explorer, wait_for_headline

pytestmark = pytest.mark.browser

CULL_AFTER_S = 6
PAGE_TIMEOUT_MS = 120_000


def _open(context, url: str):
    page = context.new_page()
    page.goto(f"{url}/", timeout=PAGE_TIMEOUT_MS)
    headline = page.locator(".screenkit-explorer .screenkit-headline").first
    problem = wait_for_explorer(page, headline, PAGE_TIMEOUT_MS)
    assert problem is None, problem
    return page, headline


def _wait_for_kernels(pid: int, count: int, timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        kernels = kernel_pids(pid)
        if len(kernels) == count:
            return kernels
        time.sleep(0.25)  # polling the process table for the event, not a fixed wait
    raise AssertionError(f"expected {count} kernel(s) after {timeout_s:.0f} s: {kernels}")


def test_closed_pages_kernels_are_culled_open_pages_kept(chromium, tmp_path: Path):
    server = explore_server(tmp_path, f"--cull-after={CULL_AFTER_S}").start()
    try:
        pid = server.process.pid
        kept_context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        closed_context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        # the page kept open loads FIRST, so it has idled longest when the other is culled
        kept, kept_headline = _open(kept_context, server.url)
        _open(closed_context, server.url)
        both = _wait_for_kernels(pid, 2, 30)
        closed_context.close()
        survivor = _wait_for_kernels(pid, 1, 10 * CULL_AFTER_S)
        assert survivor[0] in both
        assert "Culling" in server.log_path.read_text(errors="replace")
        # the open page's kernel is alive and still answers its sliders
        after = expected_funnel(server.input, hb_min=7.0)
        set_parameter(kept.locator(".screenkit-explorer .screenkit-param-hb_min"), 7.0)
        wait_for_headline(kept_headline, after)
        assert kernel_pids(pid) == survivor
        kept_context.close()
        _wait_for_kernels(pid, 0, 10 * CULL_AFTER_S)
    finally:
        server.stop()
        keep_log(server, "voila-kernels-server.log")
