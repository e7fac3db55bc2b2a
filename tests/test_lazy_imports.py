"""What ``screenkit report FILE --json OUT`` imports: not the workbook writer or plotly.

openpyxl (~0.1-0.2 s) and plotly load only when an .xlsx / .html output is written; the
public names (``sk.export_excel``, ``from screenkit.export import export_excel``) still
resolve, on first use. Each check runs in a fresh interpreter so that other tests'
imports do not hide or cause a load.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from screenkit.datasets import sample_path

HEAVY = ("openpyxl", "plotly")


def _loaded_after(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; which of HEAVY it left in ``sys.modules``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def csv_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("lazy") / "log.csv"
    pd.read_excel(sample_path("clean"), engine="calamine").to_csv(path, index=False)
    return path


def test_report_json_loads_neither_openpyxl_nor_plotly(csv_log, tmp_path):
    out = tmp_path / "r.json"
    argv = ["report", str(csv_log), "--json", str(out)]
    code = f"from screenkit.cli import main\nassert main({argv!r}) == 0"
    assert _loaded_after(code) == {"openpyxl": False, "plotly": False}
    assert json.loads(out.read_text(encoding="utf-8"))  # the JSON was written


def test_the_export_package_and_its_light_modules_load_no_writer():
    code = "import screenkit.export, screenkit.export.content, screenkit.export.privacy"
    assert _loaded_after(code) == {"openpyxl": False, "plotly": False}


def test_the_workbook_writer_loads_openpyxl_on_first_use():
    # the probe above can fail: asking for the writer does import openpyxl
    code = "import screenkit as sk\nassert sk.export_excel.__module__ == 'screenkit.export.excel'"
    assert _loaded_after(code)["openpyxl"] is True


def test_public_export_names_still_resolve():
    import screenkit as sk
    import screenkit.export as export
    from screenkit.export import SHEETS, export_excel, export_html, export_ie

    assert sk.export_excel is export_excel is export.export_excel
    assert sk.export_html is export_html and sk.export_ie is export_ie
    assert SHEETS[:3] == ("Summary", "Flow", "Funnel")
    assert set(export.__all__) <= set(dir(export))
    for name in export.__all__:
        assert getattr(export, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'write_everything'"):
        export.write_everything  # noqa: B018


@pytest.mark.parametrize("name", ["evaluate", "funnel", "compare", "concordance"])
def test_a_function_named_like_its_module_stays_the_function(name):
    """Importing the submodule (as the CLI and the exports do) must not replace
    ``sk.<name>`` by the module."""
    code = f"import screenkit.{name}\nimport screenkit as sk\nassert callable(sk.{name})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_report_json_does_not_load_threadpoolctl(csv_log, tmp_path):
    """The funnel's products are below OpenBLAS's threading size: no BLAS limit, so
    threadpoolctl (import and first look at the loaded libraries) stays unloaded."""
    out = tmp_path / "r.json"
    argv = ["report", str(csv_log), "--json", str(out)]
    code = (
        f"from screenkit.cli import main\nassert main({argv!r}) == 0\n"
        "import sys\nassert 'threadpoolctl' not in sys.modules, 'threadpoolctl loaded'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["funnel"]


def test_a_large_product_still_runs_on_one_blas_thread():
    import numpy as np

    from screenkit import _blas

    big = _blas.threads(np.zeros((8, 70_000)), np.zeros((70_000, 55)))
    assert big is not None and _blas.threads(np.zeros((7, 256)), np.zeros((256, 8))) is None
    with big:
        from threadpoolctl import threadpool_info

        assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}
