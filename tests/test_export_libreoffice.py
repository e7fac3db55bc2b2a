"""The workbook opened by a real spreadsheet application (LibreOffice headless).

Every sheet is converted to CSV by LibreOffice and the values it reads back are compared
with the funnel from the Python API; the Summary and Funnel pages are rendered to PNG
under ``test-artifacts/`` for people to look at. Skipped when ``libreoffice`` is not on
PATH (CI installs it: ``apt-get install -y --no-install-recommends libreoffice-calc
poppler-utils``).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from screenkit.datasets import sample_path
from screenkit.evaluate import evaluate
from screenkit.export import export_excel
from screenkit.funnel import funnel
from screenkit.normalize import load_screening

from .conftest import in_ci

# Under CI (CI set to a true value) a missing libreoffice / pdftoppm fails, never skips.
IN_CI = in_ci()
pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(
        shutil.which("libreoffice") is None and not IN_CI,
        reason="libreoffice is not on PATH (apt-get install libreoffice-calc poppler-utils)",
    ),
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# Text CSV, comma, double quote, UTF-8, raw (not formatted) values, every sheet to its file
ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def libreoffice(args: list[str], profile: Path) -> None:
    """Run LibreOffice headless with its own profile (one per process)."""
    subprocess.run(
        [
            "libreoffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            *args,
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lo")
    data = load_screening(sample_path("clean"))
    result = evaluate(data, "NCT07103668")
    f = funnel(result)
    book = export_excel(f, folder / "summary.xlsx", evaluation=result, data=data)
    libreoffice(
        ["--convert-to", ALL_SHEETS_CSV, "--outdir", str(folder / "csv"), str(book)],
        folder / "profile",
    )
    sheets = {}
    for path in (folder / "csv").glob("summary-*.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            sheets[path.stem.removeprefix("summary-")] = list(csv.reader(fh))
    return f, book, sheets, folder


def table(rows: list[list[str]], header_row: int = 3) -> list[dict]:
    """Rows under the header (1-based ``header_row``) up to the first blank first cell."""
    header = rows[header_row - 1]
    out = []
    for row in rows[header_row:]:
        if not row or not row[0]:
            break
        out.append(dict(zip(header, row, strict=False)))
    return out


def test_libreoffice_reads_every_sheet(converted):
    _, _, sheets, _ = converted
    assert set(sheets) == {
        "Summary", "Funnel", "Criteria", "Combinations", "By site", "By month",
        "Data issues", "Protocol",
    }  # fmt: skip


def test_summary_values_read_back_equal_the_api(converted):
    f, _, sheets, _ = converted
    rows = {r[0]: r for r in sheets["Summary"] if r and r[0]}
    for label, value in [
        ("Screened", f.screened),
        ("Eligible", f.eligible),
        ("Screen-failed", f.screen_failed),
        ("Pending", f.pending),
    ]:
        assert int(rows[label][1]) == value
    assert rows["Recruitment target"][1] == "150"
    assert rows["Protocol"][1].startswith("NCT07103668")


def test_funnel_criteria_and_sites_read_back_equal_the_api(converted):
    f, _, sheets, _ = converted
    steps = table(sheets["Funnel"])
    assert [int(r["Remaining"]) for r in steps] == [f.screened, *f.steps["remaining"]]
    assert [r["Criterion"] for r in steps[1:]] == f.steps["criterion"].tolist()
    crit = [r for r in table(sheets["Criteria"]) if r["Criterion"] != "Total"]
    assert [int(r["Fails"]) for r in crit] == f.criteria["fails"].tolist()
    assert [int(r["Unknown"]) for r in crit] == f.criteria["unknown"].tolist()
    assert sum(float(r["Share of screen failures"]) for r in crit) == pytest.approx(f.screen_failed)
    sites = table(sheets["By site"])
    api = f.by_site()
    assert [r["Site"] for r in sites] == [*api["site_id"], "All"]
    for col, name in [("Screened", "screened"), ("Eligible", "eligible"), ("Pending", "pending")]:
        assert [int(r[col]) for r in sites[:-1]] == api[name].tolist()
        assert int(sites[-1][col]) == f.headline()[name]


def test_render_summary_and_funnel_pages_to_png(converted):
    if shutil.which("pdftoppm") is None:
        (pytest.fail if IN_CI else pytest.skip)("pdftoppm (poppler-utils) is not on PATH")
    _, book, _, folder = converted
    libreoffice(
        ["--convert-to", "pdf", "--outdir", str(folder / "pdf"), str(book)], folder / "profile2"
    )
    pdf = folder / "pdf" / "summary.pdf"
    assert pdf.stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    for page, name in [(1, "workbook-summary"), (2, "workbook-funnel")]:
        target = ARTIFACTS / name
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile",
             str(pdf), str(target)],
            check=True,
            timeout=60,
        )  # fmt: skip
        png = target.with_suffix(".png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 20_000  # a rendered page, not a blank one
