"""The workbook opened by a real spreadsheet application (LibreOffice headless).

Every sheet is converted to CSV by LibreOffice and the values it reads back are compared
with the funnel from the Python API; the Summary and Funnel pages are rendered to PNG
under ``test-artifacts/`` for people to look at. Skipped when ``libreoffice`` is not on
PATH (CI installs it: ``apt-get install -y --no-install-recommends libreoffice-calc
poppler-utils``).
"""

from __future__ import annotations

import csv
import re
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
    book = export_excel(f, folder / "summary.xlsx", evaluation=result, data=data, recruitment=True)
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
        "Summary", "Flow", "Funnel", "Criteria", "Combinations", "By site", "By month",
        "Recruitment", "Data issues", "Protocol",
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


@pytest.fixture(scope="module")
def pages(converted):
    """The workbook printed to PDF by LibreOffice: ``(pdf, [(sheet, page), ...])``, each
    page's sheet read from its footer (``&A``)."""
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        (pytest.fail if IN_CI else pytest.skip)("pdftoppm (poppler-utils) is not on PATH")
    _, book, _, folder = converted
    libreoffice(
        ["--convert-to", "pdf", "--outdir", str(folder / "pdf"), str(book)], folder / "profile2"
    )
    pdf = folder / "pdf" / "summary.pdf"
    assert pdf.stat().st_size > 10_000
    listed = []
    page = 1
    while True:
        text = page_text(pdf, page)
        match = re.search(r"^\s*(\S.*?)\s{2,}Page (\d+) of (\d+)\s*$", text, re.MULTILINE)
        assert match, f"page {page} has no footer"
        listed.append((match[1], page))
        if int(match[2]) == int(match[3]):
            return pdf, listed
        page += 1


def page_text(pdf: Path, page: int, *options: str) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", *options, "-f", str(page), "-l", str(page), str(pdf), "-"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip


def test_every_footer_is_drawn_whole(pages, tmp_path):
    """A footer squeezed into too small a margin is clipped: its text is in the PDF but
    the lower half of its glyphs is not drawn. The word "Page" must have ink in the lower
    part of its box (the "g" descender) on every page."""
    from PIL import Image

    pdf, listed = pages
    for sheet, page in listed:
        box = page_text(pdf, page, "-bbox")
        word = re.search(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">Page</word>', box
        )
        assert word, (sheet, page)
        x0, y0, x1, y1 = (float(v) * 100 / 72 for v in word.groups())
        png = tmp_path / f"page{page}"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "100", "-f", str(page), "-l", str(page), "-singlefile",
             str(pdf), str(png)],
            check=True,
            timeout=60,
        )  # fmt: skip
        image = Image.open(png.with_suffix(".png")).convert("L")
        crop = image.crop((int(x0), int(y0), int(x1) + 1, int(y1) + 1))
        pixels = crop.load()
        rows = [sum(pixels[x, y] < 128 for x in range(crop.width)) for y in range(crop.height)]
        lower = rows[int(0.6 * len(rows)) :]
        assert sum(lower) > 0, (sheet, page, rows)


def test_flow_is_a_table_page_and_a_diagram_page(pages):
    pdf, listed = pages
    flow = [page for sheet, page in listed if sheet == "Flow"]
    assert len(flow) == 2
    assert "Assessed for eligibility" in page_text(pdf, flow[0])
    assert "Diagram" in page_text(pdf, flow[1])


def test_the_funnel_chart_is_whole_on_its_first_page(converted, pages):
    f = converted[0]
    pdf, listed = pages
    first = next(page for sheet, page in listed if sheet == "Funnel")
    words = set(page_text(pdf, first).split())
    # the table runs on to a second page; the chart's axis names every criterion here
    assert set(f.order) <= words


def test_render_pages_to_png(pages):
    """PNGs of the Summary, Flow (table and diagram), Funnel and Recruitment pages under
    test-artifacts/ for people to look at."""
    pdf, listed = pages
    ARTIFACTS.mkdir(exist_ok=True)
    seen: dict[str, int] = {}
    for sheet, page in listed:
        seen[sheet] = seen.get(sheet, 0) + 1
        if sheet not in ("Summary", "Flow", "Funnel", "Recruitment") or seen[sheet] > 2:
            continue
        name = f"workbook-{sheet.lower()}" + (f"-{seen[sheet]}" if seen[sheet] > 1 else "")
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
    assert {"Summary", "Flow", "Funnel", "Recruitment"} <= set(seen)


def test_data_issues_read_as_words(converted):
    _, _, sheets, _ = converted
    text = " ".join(",".join(row) for row in sheets["Data issues"])
    assert "sheet=None" not in text and "['" not in text
