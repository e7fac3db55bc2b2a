"""The notebooks under ``notebooks/`` are stored so that nbval really checks them.

nbval only compares the outputs a notebook holds: a cell saved without a run is executed
but not compared, which silently turns ``--nbval`` into ``--nbval-lax``. So every code cell
must be stored executed, in order, without errors; the kernel must be the venv's
``python3``; and no stored widget state (anywidget puts plotly.js into it, megabytes per
figure) may bloat the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
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
