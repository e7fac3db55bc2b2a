"""Small-count suppression: no hidden count can be recovered from the shown cells of its
table, checked by brute force (every table of non-negative integers consistent with what
the reader sees is enumerated); pseudonyms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from screenkit.errors import ScreenkitError
from screenkit.evaluate import evaluate
from screenkit.export.content import build_content
from screenkit.export.privacy import HIDDEN, check_k, pseudonymise, suppress
from screenkit.funnel import funnel

from .conftest import canonical_frame, patient

ACTIVE = ["I5b", "I6", "I7d", "E7"]


# ---------------------------------------------------------------- brute force
def feasible_values(
    cells: dict, equations: list[dict], k: int, upper: int, ranges: dict | None = None
) -> dict:
    """For each unknown cell, values it takes in tables consistent with what is shown
    (at least two when there are two): ``<k`` cells range over 0..k-1, ``hidden`` cells
    over k..upper, ``?`` cells (never shown, e.g. unlisted combinations) over 0..upper,
    ``ranges`` overrides a cell's range, shown numbers are fixed, and every equation
    (``{cell: coefficient}`` summing to 0) holds.

    An exhaustive search over integer tables (interval propagation prunes it, nothing
    is sampled): for each unknown cell, candidate values are tried in turn and each is
    kept only if some complete table of integers satisfies everything.
    """
    lo, hi = {}, {}
    for c, v in cells.items():
        if v == "?":
            lo[c], hi[c] = 0, upper
        elif isinstance(v, str):
            lo[c], hi[c] = (0, k - 1) if v == f"<{k}" else (k, upper)
        else:
            lo[c] = hi[c] = int(v)
    for c, (low, high) in (ranges or {}).items():
        lo[c], hi[c] = max(lo[c], low), min(hi[c], high)

    def propagate(lo: dict, hi: dict) -> bool:
        changed = True
        while changed:
            changed = False
            for eq in equations:
                for c, a in eq.items():
                    rest_min = sum(min(b * lo[d], b * hi[d]) for d, b in eq.items() if d != c)
                    rest_max = sum(max(b * lo[d], b * hi[d]) for d, b in eq.items() if d != c)
                    low, high = sorted((-rest_max / a, -rest_min / a))
                    new_lo, new_hi = max(lo[c], math.ceil(low)), min(hi[c], math.floor(high))
                    if new_lo > new_hi:
                        return False
                    if (new_lo, new_hi) != (lo[c], hi[c]):
                        lo[c], hi[c] = new_lo, new_hi
                        changed = True
        return True

    def feasible(lo: dict, hi: dict) -> bool:
        lo, hi = dict(lo), dict(hi)
        if not propagate(lo, hi):
            return False
        open_cells = [c for c in lo if lo[c] < hi[c]]
        if not open_cells:
            return all(sum(a * lo[c] for c, a in eq.items()) == 0 for eq in equations)
        c = min(open_cells, key=lambda c: hi[c] - lo[c])
        return any(feasible({**lo, c: x}, {**hi, c: x}) for x in range(lo[c], hi[c] + 1))

    assert propagate(lo, hi), "the shown cells contradict each other"
    seen: dict = {}
    for c, v in cells.items():
        if not isinstance(v, str) or v == "?":
            continue
        seen[c] = set()
        for x in range(lo[c], hi[c] + 1):
            if feasible({**lo, c: x}, {**hi, c: x}):
                seen[c].add(x)
                if len(seen[c]) == 2:
                    break
    return seen


def assert_protected(cells, equations, k, upper, table, zeros=(), ranges=None):
    """Every hidden cell takes two values; nothing under k is shown but the ``zeros``
    (counts of nobody that the report states anyway)."""
    hidden = [c for c, v in cells.items() if isinstance(v, str) and v != "?"]
    for c in hidden:
        assert cells[c] in (f"<{k}", HIDDEN), (table, c, cells[c])
    for c, v in cells.items():
        if not isinstance(v, str):
            assert v >= k or (v == 0 and c in zeros), (table, c, v)
    seen = feasible_values(cells, equations, k, upper, ranges)
    for c in hidden:
        assert len(seen[c]) >= 2, f"{table}: {c} is recoverable as {seen[c]}"


# ---------------------------------------------------------------- generic algorithm
@pytest.mark.parametrize("seed", range(20))
def test_random_two_way_tables_are_protected(seed):
    rng = np.random.default_rng(seed)
    r, c, k = int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(3, 6))
    body = rng.choice([0, 1, 2, 3, 5, 8], size=(r, c))
    values = {(i, j): int(body[i, j]) for i in range(r) for j in range(c)}
    values |= {(i, "row"): int(body[i].sum()) for i in range(r)}
    values |= {("col", j): int(body[:, j].sum()) for j in range(c)}
    values[("all",)] = int(body.sum())
    eqs = [{**{(i, j): 1 for j in range(c)}, (i, "row"): -1} for i in range(r)]
    eqs += [{**{(i, j): 1 for i in range(r)}, ("col", j): -1} for j in range(c)]
    eqs += [{**{(i, "row"): 1 for i in range(r)}, ("all",): -1}]
    s = suppress(values, eqs, k)
    cells = {key: s.show(key, v) for key, v in values.items()}
    assert s.primary == {key for key, v in values.items() if v < k}
    shown_total = not isinstance(cells[("all",)], str)
    upper = values[("all",)] if shown_total else 3 * values[("all",)] + k
    assert_protected(cells, eqs, k, upper, f"seed {seed}")


def test_no_suppression_shows_everything():
    s = suppress({"a": 1, "b": 2}, [{"a": 1, "b": -1}], None)
    assert not s.active and s.show("a", 1) == 1


@pytest.mark.parametrize("k", [2, 1, 0, 2.5, "5"])
def test_bad_threshold_is_refused(k):
    with pytest.raises(ScreenkitError, match="at least 3"):
        check_k(k)


# ---------------------------------------------------------------- the report's tables
def random_log(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        changes = {
            "patient_id": f"P{i:03d}",
            "site_id": str(rng.choice(["S1", "S2", "S3"])),
            "screening_date": pd.Timestamp("2025-01-01")
            + pd.Timedelta(days=int(rng.integers(0, 90))),
        }
        if rng.random() < 0.3:
            changes["largest_lesion_cm"] = 6.0
        if rng.random() < 0.15:
            changes["spo2"] = 94.0
        if rng.random() < 0.2:
            changes["ecog"] = 2.0
        if rng.random() < 0.1:
            changes["hb"] = None
        rows.append(patient(**changes))
    return canonical_frame(rows)


def report_tables(content, k):
    """Each table of the report as (cells, equations) in the reader's terms."""
    out = {}
    head = dict(zip(content.headline["Status"], content.headline["Patients"], strict=True))
    out["Summary"] = (
        head,
        [{"Screened": -1, "Eligible": 1, "Screen-failed": 1, "Pending": 1}],
    )
    for name in ("By site", "By month"):
        t = content.tables[name]
        label = t.frame.columns[0]
        cols = ["Screened", "Eligible", "Screen-failed", "Pending"]
        rows = [*t.frame.to_dict("records"), t.total]
        cells = {(r[label], col): r[col] for r in rows for col in cols}
        eqs = [{(r[label], "Screened"): -1, **{(r[label], c): 1 for c in cols[1:]}} for r in rows]
        groups = [r[label] for r in rows[:-1]]
        eqs += [{("All", col): -1, **{(g, col): 1 for g in groups}} for col in cols]
        out[name] = (cells, eqs)
    steps = content.tables["Funnel"].frame.to_dict("records")
    cells = {("R", 0): steps[0]["Remaining"]}
    eqs = []
    for i, s in enumerate(steps[1:], start=1):
        cells[("X", i)] = s["Excluded at this step"]
        cells[("R", i)] = s["Remaining"]
        eqs.append({("R", i - 1): 1, ("X", i): -1, ("R", i): -1})
    out["Funnel"] = (cells, eqs)
    crit = content.tables["Criteria"].frame
    for col in ("Fails", "Unknown", "Fails only this"):
        out[f"Criteria {col}"] = (dict(zip(crit["Criterion"], crit[col], strict=True)), [])
    # the combinations (with "all other combinations") partition the screen-failed total
    combos = content.tables["Combinations"]
    cells = dict(zip(combos.frame["Criteria failed"], combos.frame["Patients"], strict=True))
    eqs = [{**dict.fromkeys(cells, 1), "Total": -1}] if cells else []
    cells["Total"] = combos.total["Patients"]
    out["Combinations"] = (cells, eqs)
    return out


OTHER = "(all other combinations)"


def cross_table(content, k):
    """Criteria, Funnel and Combinations together, as a reader who links them knows them:
    a criterion's fails (and the patients excluded at its funnel step) are the listed
    combinations with it (first in the funnel order) plus, when the list is cut, unlisted
    ones (``?``); a listed combination has at least one patient. Returns cells,
    equations, ranges and the zeros the report may state."""
    crit = content.tables["Criteria"].frame
    crit = crit[crit["In funnel"] == "yes"]
    steps = content.tables["Funnel"].frame.to_dict("records")
    order = [s["Criterion"] for s in steps[1:]]
    combos = content.tables["Combinations"]
    listed = {
        r["Criteria failed"]: r["Patients"]
        for r in combos.frame.to_dict("records")
        if r["Criteria failed"] != OTHER
    }
    sets = {name: name.split("; ") for name in listed}
    cut = OTHER in set(combos.frame["Criteria failed"])
    cells = {("R", 0): steps[0]["Remaining"], "Total": combos.total["Patients"]}
    eqs = []
    for i, s in enumerate(steps[1:], start=1):
        cells[("X", i)], cells[("R", i)] = s["Excluded at this step"], s["Remaining"]
        eqs.append({("R", i - 1): 1, ("X", i): -1, ("R", i): -1})
    eqs.append({("R", 0): 1, "Total": -1, ("R", len(order)): -1})
    for r in crit.to_dict("records"):
        cells[("F", r["Criterion"])], cells[("O", r["Criterion"])] = (
            r["Fails"],
            r["Fails only this"],
        )
    for name, v in listed.items():
        cells[("C", name)] = v
    if cut:
        cells[("C", OTHER)] = combos.frame.set_index("Criteria failed").loc[OTHER, "Patients"]
    eqs.append({**{key: 1 for key in cells if key[0] == "C"}, "Total": -1})
    eqs.append({("X", 1): 1, ("F", order[0]): -1})
    zeros = set()
    for i, c in enumerate(order, start=1):
        with_c = [("C", n) for n, ids in sets.items() if c in ids]
        first_c = [("C", n) for n, ids in sets.items() if min(map(order.index, ids)) == i - 1]
        for total, parts in ((("F", c), with_c), (("X", i), first_c)):
            eq = {total: 1, **dict.fromkeys(parts, -1)}
            if cut:
                cells[("S", total)] = "?"
                eq[("S", total)] = -1
            elif not parts:
                zeros.add(total)
            eqs.append(eq)
        if c in listed:
            eqs.append({("O", c): 1, ("C", c): -1})
        elif not cut:
            zeros.add(("O", c))
            eqs.append({("O", c): 1})
    if cut:
        singles = [("O", c) for c in order if c not in listed]
        cells[("S", "other")] = "?"
        eqs.append({("C", OTHER): 1, **dict.fromkeys(singles, -1), ("S", "other"): -1})
    ranges = {("C", n): (1, 10**6) for n in [*listed, *([OTHER] if cut else [])]}
    return cells, eqs, ranges, zeros


@pytest.mark.parametrize(
    ("seed", "n", "k"), [(1, 40, 3), (2, 40, 5), (3, 25, 4), (4, 60, 5), (13, 40, 3), (8, 40, 4)]
)
def test_no_suppressed_count_is_recoverable_in_any_report_table(seed, n, k):
    result = evaluate(random_log(seed, n), "NCT07103668")
    f = funnel(result, exclude=[c for c in result.protocol.ids if c not in ACTIVE])
    content = build_content(f, evaluation=result, suppress_below=k)
    upper = max(n, k)
    hidden_any = False
    zeros = cross_table(content, k)[3]  # stated by a complete Combinations table
    zeros_in = {
        "Funnel": {key for key in zeros if key[0] == "X"},
        "Criteria Fails": {key[1] for key in zeros if key[0] == "F"},
        "Criteria Fails only this": {key[1] for key in zeros if key[0] == "O"},
    }
    for name, (cells, eqs) in report_tables(content, k).items():
        assert_protected(cells, eqs, k, upper, name, zeros=zeros_in.get(name, ()))
        hidden_any |= any(isinstance(v, str) for v in cells.values())
    assert hidden_any


@pytest.mark.parametrize("top", [20, 3])
@pytest.mark.parametrize(("seed", "n", "k"), [(1, 40, 3), (13, 40, 3), (3, 25, 4), (9, 50, 3)])
def test_no_suppressed_count_is_recoverable_across_criteria_funnel_and_combinations(
    seed, n, k, top
):
    result = evaluate(random_log(seed, n), "NCT07103668")
    f = funnel(result, exclude=[c for c in result.protocol.ids if c not in ACTIVE])
    content = build_content(f, evaluation=result, suppress_below=k, top_combinations=top)
    cells, eqs, ranges, zeros = cross_table(content, k)
    cut = OTHER in set(content.tables["Combinations"].frame["Criteria failed"])
    assert cut == (len(f.combinations(100)) > top)
    assert_protected(cells, eqs, k, max(n, k), "cross-table", zeros=zeros, ranges=ranges)


@pytest.mark.parametrize(("seed", "k"), [(5, 3), (6, 5)])
def test_rates_and_intervals_only_beside_shown_counts(seed, k):
    result = evaluate(random_log(seed, 40), "NCT07103668")
    f = funnel(result, exclude=[c for c in result.protocol.ids if c not in ACTIVE])
    content = build_content(f, evaluation=result, suppress_below=k)
    for name in ("By site", "By month"):
        t = content.tables[name]
        for r in [*t.frame.to_dict("records"), t.total]:
            shown = not isinstance(r["Screened"], str) and not isinstance(r["Screen-failed"], str)
            for col in ("Screen-fail rate", "95% CI low", "95% CI high"):
                assert (r[col] != HIDDEN) == shown, (name, r)
    for r in content.tables["Criteria"].frame.to_dict("records"):
        if isinstance(r["Fails"], str):
            assert r["Fail rate"] == HIDDEN and r["Share of screen failures"] == HIDDEN
        if isinstance(r["Fails only this"], str):  # the share would bound it
            assert r["Share of screen failures"] == HIDDEN
    shares = content.tables["Criteria"].frame["Share of screen failures"]
    assert (shares == HIDDEN).sum() != 1  # one hidden share = total minus the others
    # shares are sums of combinations / their sizes: beside a hidden combination, none
    if content.tables["Combinations"].frame["Patients"].map(lambda v: isinstance(v, str)).any():
        assert (shares == HIDDEN).all()
    for r in content.tables["Combinations"].frame.to_dict("records"):
        if isinstance(r["Patients"], str):
            assert r["% of screen-failed"] == HIDDEN
    for row in content.reasons.to_dict("records"):
        assert not isinstance(row["Fails"], str)
        if row["Share of screen failures"] == HIDDEN:
            assert "accounts for" not in row["In one sentence"]


def test_suppressed_workbook_shows_markers_as_text(tmp_path):
    import openpyxl

    from screenkit.export import export_excel

    result = evaluate(random_log(7, 30), "NCT07103668")
    f = funnel(result, exclude=[c for c in result.protocol.ids if c not in ACTIVE])
    out = export_excel(f, tmp_path / "s.xlsx", evaluation=result, suppress_below=4)
    wb = openpyxl.load_workbook(out)
    texts = [c.value for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "s"]
    assert "<4" in texts
    summary = [r for r in wb["Summary"].iter_rows(values_only=True) if r[0]]
    legend = next(r[1] for r in summary if r[0] == "Small-count suppression")
    assert legend.startswith("counts under 4 are shown as <4")


# ---------------------------------------------------------------- pseudonyms
def test_pseudonyms_are_keyed_unique_and_unlinkable():
    ids = [f"P{i:04d}" for i in range(2000)]
    a, b = pseudonymise(ids), pseudonymise(ids)
    assert len(set(a)) == len(ids)
    assert not set(a) & set(b)
    fixed = pseudonymise(ids[:3], salt=b"k"), pseudonymise(ids[:3], salt=b"k")
    assert fixed[0] == fixed[1]
    assert all(code.startswith("PT-") and code[3:] not in ids for code in a)


def test_pseudonyms_lengthen_on_collision(monkeypatch):
    import screenkit.export.privacy as privacy

    class Same:
        def __init__(self, key, msg, digestmod):
            self.msg = msg

        def hexdigest(self):  # collide on the first 10 digits, differ after
            return "ab" * 5 + self.msg.hex().rjust(54, "0")

    monkeypatch.setattr(privacy.hmac, "new", Same)
    codes = pseudonymise(["x", "y"])
    assert len(set(codes)) == 2 and len(codes[0]) > len("PT-") + 10


def test_suppressed_report_counts_data_issues_per_column(tmp_path):
    from screenkit.export.content import build_content
    from screenkit.normalize import load_screening

    log = tmp_path / "log.csv"
    rows = "".join(f"P{i},S1,{'abc' if i < 3 else 9.5},99\n" for i in range(10))
    log.write_text("patient_id,site_id,hb,spo2\n" + rows, encoding="utf-8")
    data = load_screening(log)
    result = evaluate(data, "NCT07103668")
    content = build_content(funnel(result), evaluation=result, data=data, suppress_below=3)
    issues = content.tables["Data issues"].frame
    assert "Value" not in issues.columns and "abc" not in issues.to_string()
    unparsed = issues[issues["Issue"].str.startswith("value not understood")]
    assert unparsed[["Column", "Cells"]].values.tolist() == [["hb", 3]]


def test_suppressed_data_issues_hide_small_counts_and_skipped_row_numbers(tmp_path):
    from screenkit.normalize import load_screening

    log = tmp_path / "log.csv"
    rows = "".join(f"P{i},S1,{'abc' if i == 0 else 9.5},{'x' if i < 4 else 99}\n" for i in range(8))
    log.write_text("patient_id,site_id,hb,spo2\n,,,\n" + rows, encoding="utf-8")
    data = load_screening(log)
    assert len(data.report.skipped_rows) == 1
    result = evaluate(data, "NCT07103668")
    content = build_content(funnel(result), evaluation=result, data=data, suppress_below=3)
    issues = content.tables["Data issues"].frame
    cells = dict(zip(issues["Column"], issues["Cells"], strict=False))
    assert cells["hb"] == "<3" and cells["spo2"] == 4  # 1 unreadable hb cell, 4 spo2 cells
    skipped = issues[issues["Issue"] == "row skipped"]
    assert skipped["Cells"].tolist() == ["<3"]
    assert "Row" not in issues.columns or skipped["Row"].isna().all()
