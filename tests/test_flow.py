"""The CONSORT flow (screenkit.plots.flow): counts, reasons, suppression, SVG / PNG / plotly."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

import screenkit
from screenkit.datasets import load_sample
from screenkit.errors import ScreenkitError
from screenkit.evaluate import evaluate
from screenkit.export.tables import criteria_table, suppression_for
from screenkit.funnel import funnel
from screenkit.plots.flow import Flow, FlowBox, Reason, consort_flow
from screenkit.plots.flow_image import write_flow
from screenkit.protocol import get_protocol

PROTOCOLS = Path(screenkit.__file__).parent / "protocols"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def sample():
    data = load_sample()
    return data, evaluate(data, "NCT07103668")


def test_boxes_conserve_the_headline_and_randomized(sample):
    data, result = sample
    flow = consort_flow(result)
    n = {b.key: b.n for b in flow.boxes}
    assert n["assessed"] == 400
    assert n["excluded"] + n["pending"] + n["eligible"] == n["assessed"]
    assert (n["excluded"], n["pending"], n["eligible"]) == (298, 29, 73)
    eligible = result.status == "eligible"
    randomized = data.data["randomized"].fillna(False).astype(bool)
    assert n["randomized"] == int((eligible & randomized).sum()) == 65
    assert n["not_randomized"] + n["randomized"] == n["eligible"]


def test_reasons_follow_the_criteria_sheet_and_shares_add_up(sample):
    _, result = sample
    f = funnel(result)
    flow = consort_flow(result, f, top=4)
    reasons = flow.box("excluded").reasons
    ranked = f.criteria[f.criteria["active"] & (f.criteria["fails"] > 0)].sort_values(
        ["attribution", "fails"], ascending=False
    )
    assert [r.criterion for r in reasons[:4]] == ranked["criterion"].head(4).tolist()
    assert [r.fails for r in reasons[:4]] == ranked["fails"].head(4).tolist()
    assert reasons[-1].criterion == "other"
    assert reasons[-1].label == f"Other reasons ({len(ranked) - 4} criteria)"
    assert sum(r.share for r in reasons) == pytest.approx(f.screen_failed)


def test_switched_off_criteria_and_order_change_the_flow(sample):
    _, result = sample
    f = funnel(result, exclude=["I3a"])
    flow = consort_flow(result, f)
    assert flow.box("eligible").n == f.eligible > 73
    assert "I3a" not in [r.criterion for r in flow.box("excluded").reasons]
    assert any("Switched off: I3a" in note for note in flow.notes)
    assert flow.box("randomized").n + flow.box("not_randomized").n == f.eligible


def test_suppression_uses_the_report_model(sample):
    _, result = sample
    f = funnel(result)
    flow = consort_flow(result, f, suppress_below=10)
    sup = suppression_for(f, 10)
    head = f.headline()
    for key, name in (("assessed", "screened"), ("excluded", "screen_failed")):
        assert flow.box(key).n == sup.show(("headline", name), head[name])
    # 8 eligible not randomized < 10; randomized = eligible - 8 must then be hidden too
    assert flow.box("not_randomized").n == "<10"
    assert flow.box("randomized").n == "hidden"
    table = criteria_table(f, sup, {})
    shown = table.frame.set_index("Criterion")["Fails"]
    for r in flow.box("excluded").reasons[:-1]:
        assert r.fails == shown[r.criterion]
    assert "hidden" in flow.to_svg() and "&lt;10" in flow.to_svg()
    assert any(note.startswith("Small counts:") for note in flow.notes)


def test_no_randomized_column_says_not_recorded(sample):
    data, _ = sample
    result = evaluate(data.data.drop(columns=["randomized"]), "NCT07103668")
    flow = consort_flow(result)
    box = flow.box("randomized")
    assert box.n is None and box.detail == ("not recorded in the log",)
    assert [b.key for b in flow.boxes] == [
        "assessed",
        "excluded",
        "pending",
        "eligible",
        "randomized",
    ]


def test_svg_is_well_formed_and_escapes_every_label(sample, tmp_path):
    data, _ = sample
    path = tmp_path / "p.yaml"
    shipped = (PROTOCOLS / "NCT07103668.yaml").read_text(encoding="utf-8")
    hostile = '<script>alert("x")</script> & CLDN18.2'
    path.write_text(
        shipped.replace(
            "label: CLDN18.2 positive (>= {cldn18_min_pct:g}% cells at >= 2+)",
            f"label: '{hostile}'",
        ),
        encoding="utf-8",
    )
    flow = consort_flow(evaluate(data, get_protocol(path)))
    svg = flow.to_svg()
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("id") == "consort-flow"
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "alert(" in texts and "(n = 298)" in texts
    boxes = [g.get("data-key") for g in root.iter(f"{SVG}g")]
    assert boxes == [b.key for b in flow.boxes]


def test_hand_made_flow_escapes_titles_and_reasons():
    flow = Flow(
        (
            FlowBox("assessed", 'A & "B" <i>', 3, ("=cmd|' /C calc'!A0",)),
            FlowBox("excluded", "Excluded", 1, (), (Reason("X1", "<b>bold</b>", 1, 1.0),), True),
            FlowBox("eligible", "Eligible", 2),
        )
    )
    svg = flow.to_svg()
    ET.fromstring(svg)
    assert "<i>" not in svg and "<b>bold" not in svg and "&lt;b&gt;bold" in svg
    fig = flow.to_figure()
    assert all("<b>bold" not in a.text for a in fig.layout.annotations)


def test_png_is_deterministic_and_the_figure_has_every_box(sample):
    _, result = sample
    flow = consort_flow(result)
    png = flow.to_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == consort_flow(result).to_png()
    fig = flow.to_figure()
    assert len(fig.layout.shapes) == len(flow.boxes)
    assert any("(n = 298)" in a.text for a in fig.layout.annotations)


def test_to_frame_lists_boxes_and_reasons(sample):
    _, result = sample
    frame = consort_flow(result, top=2).to_frame()
    assert frame["Stage"].tolist()[:4] == [
        "Assessed for eligibility",
        "Excluded: screen-failed",
        "Excluded: screen-failed",
        "Excluded: screen-failed",
    ]
    assert frame.loc[2, "Reason"].startswith("I3a ") and frame.loc[2, "Patients"] == 150
    assert pd.isna(frame.loc[0, "Share of screen failures"])


def test_write_flow_svg_png_and_refusals(sample, tmp_path):
    _, result = sample
    flow = consort_flow(result)
    svg = write_flow(flow, tmp_path / "flow.svg")
    assert svg.read_text(encoding="utf-8").startswith('<svg id="consort-flow"')
    png = write_flow(flow, tmp_path / "flow.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ScreenkitError, match="flow diagram format"):
        write_flow(flow, tmp_path / "flow.pdf")
    with pytest.raises(ScreenkitError):
        write_flow(flow, tmp_path / "flow.svg")  # exists, no overwrite
    write_flow(flow, tmp_path / "flow.svg", overwrite=True)
    log = tmp_path / "log.png"
    log.write_bytes(b"x")
    with pytest.raises(ScreenkitError):
        write_flow(flow, log, overwrite=True, inputs=[log])


def test_html_report_carries_the_flow_inline(sample, tmp_path):
    from screenkit.export import export_html

    data, result = sample
    page = export_html(funnel(result), tmp_path / "r.html", evaluation=result, data=data)
    text = page.read_text(encoding="utf-8")
    assert text.count('<svg id="consort-flow"') == 1
    start = text.index('<svg id="consort-flow"')
    svg = text[start : text.index("</svg>", start) + len("</svg>")]
    assert svg == consort_flow(result).to_svg()
    assert text.index('<h2 id="flow">') < text.index("<h2>Top reasons for screen failure</h2>")


def test_workbook_flow_sheet_table_and_image(sample, tmp_path):
    import openpyxl

    from screenkit.export import export_excel

    data, result = sample
    out = export_excel(
        funnel(result), tmp_path / "w.xlsx", evaluation=result, data=data, suppress_below=10
    )
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["Summary", "Flow"]
    ws = wb["Flow"]
    assert ws.tables["tblFlow"].ref.startswith("A3:E")
    end = ws.tables["tblFlow"].ref.split(":")[1]
    last = int("".join(ch for ch in end if ch.isdigit()))
    rows = list(ws.iter_rows(min_row=4, max_row=last, max_col=4, values_only=True))
    flow = consort_flow(result, suppress_below=10)
    expected = flow.to_frame()
    assert [r[0] for r in rows] == expected["Stage"].tolist()
    assert [r[2] for r in rows] == expected["Patients"].tolist()
    assert ("Eligible, not randomized", None, "<10", None) in rows
    assert len(ws._images) == 1
    assert ws.page_setup.orientation == "landscape"
    assert [b.id for b in ws.row_breaks.brk] == [last + 1]  # the diagram on its own page


def test_consort_flow_is_public_and_imports_first():
    """``sk.consort_flow`` in a fresh interpreter (plots.flow imported before export)."""
    import subprocess
    import sys

    code = "import screenkit as sk; print(sk.consort_flow.__module__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "screenkit.plots.flow"
