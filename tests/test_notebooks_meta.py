"""The notebooks under ``notebooks/`` are stored so that nbval really checks them.

nbval only compares the outputs a notebook holds: a cell saved without a run is executed
but not compared, which silently turns ``--nbval`` into ``--nbval-lax``. So every code cell
must be stored executed, in order, without errors; the kernel must be the venv's
``python3``; no stored widget state (anywidget puts plotly.js into it, megabytes per
figure) may bloat the file; and no output may hold a path of the machine that ran it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# /a/b/c or C:\a\b after a blank, quote, bracket or "=" (not the // of a URL)
ABSOLUTE_PATH = re.compile(
    r"""(?:^|[\s"'(\[=])((?:[A-Za-z]:)?[/\\](?:[\w.-]+[/\\])+[\w.-]+)""", re.M
)
MAX_BYTES = 1_500_000


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request) -> tuple[Path, dict]:
    path = request.param
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_quick_start.ipynb", "02_what_if.ipynb", "03_sites_and_time.ipynb"} <= names


def test_stored_executed_in_order_without_errors(notebook):
    path, nb = notebook
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c.get("execution_count") for c in code]
    unrun = [i for i, n in enumerate(counts) if n is None]
    assert not unrun, f"{path.name}: code cells {unrun} are stored without a run; execute it"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"{path.name}: execution counts {counts} are not in order; run it top to bottom "
        "(jupyter nbconvert --to notebook --execute --inplace)"
    )
    errors = [
        o.get("ename")
        for c in code
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: stored outputs hold errors {errors}"


def test_kernel_and_size(notebook):
    path, nb = notebook
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", path.name
    assert "widgets" not in nb["metadata"], (
        f"{path.name}: stored widget state; execute with "
        "--ExecutePreprocessor.store_widget_state=False"
    )
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name}: {size:,} bytes (limit {MAX_BYTES:,})"


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_outputs_hold_no_local_paths(notebook):
    """A stored output with a path (``/home/me/screenkit/src/...``) leaks the machine
    that ran the notebook, and no other machine can reproduce it."""
    path, nb = notebook
    found = []
    for i, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            text = "\n".join(_strings(output))
            found += [(i, m.group(1)) for m in ABSOLUTE_PATH.finditer(text)]
            if str(REPO) in text:
                found.append((i, str(REPO)))
    assert not found, f"{path.name}: outputs (cell, path) hold local paths: {found}"


SCAFFOLDING = re.compile(r"^\s*assert\b|^# NBVAL_|\.replace\(\s*report\.file", re.M)


def test_a_reader_sees_no_test_scaffolding(notebook):
    """The notebooks are a tutorial: checks live in tests/ (tests/test_notebook_claims.py)
    and nbval's markers in cell tags (``nbval-ignore-output``), not in the code a reader
    sees."""
    path, nb = notebook
    found = [
        (i, m.group(0).strip())
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        for m in SCAFFOLDING.finditer("".join(cell["source"]))
    ]
    assert not found, f"{path.name}: (cell, scaffolding) {found}"


def test_plotly_figures_carry_a_static_png(notebook):
    """A repository browser cannot run plotly.js: each stored figure also carries a PNG
    (execute with ``PLOTLY_RENDERER=plotly_mimetype+png``, see the README)."""
    path, nb = notebook
    bare = [
        i
        for i, cell in enumerate(nb["cells"])
        for output in cell.get("outputs", [])
        if "application/vnd.plotly.v1+json" in output.get("data", {})
        and "image/png" not in output["data"]
    ]
    assert not bare, f"{path.name}: cells {bare} hold plotly figures without a PNG copy"
