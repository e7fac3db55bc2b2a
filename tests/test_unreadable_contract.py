"""Contract (#11): an unreadable value in any input column of a criterion gives unknown,
never pass, and never a decision the real value could contradict; over every criterion of
every shipped protocol."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pandas as pd
import pytest

import screenkit as sk
from screenkit.columns import COLUMNS
from screenkit.normalize import load_screening
from screenkit.protocol import get_protocol as _get_protocol
from screenkit.protocol import list_protocols

N_PATIENTS = 60
EPS = 1e-6


def get_protocol(pid):
    """The protocol with every criterion switched on: the contract holds for criteria
    that are off by default too."""
    protocol = _get_protocol(pid)
    return protocol.switched(protocol.off_by_default)


@cache
def _sample():
    s = sk.load_sample()
    rows = np.linspace(0, len(s.data) - 1, N_PATIENTS).astype(int)
    data = s.data.iloc[rows].reset_index(drop=True)
    censored = s.censored.iloc[rows].reset_index(drop=True)
    return s, data, censored


def _pairs():
    out = []
    _, data, _ = _sample()
    for pid in list_protocols():
        protocol = get_protocol(pid)
        for c in protocol.criteria:
            for k in sorted(protocol.columns_needed(c.id)):
                kinds = ("bool", "number", "ordinal", "category")
                if k not in data.columns or COLUMNS[k].kind not in kinds:
                    continue
                out.append(pytest.param(pid, c.id, k, id=f"{pid}-{c.id}-{k}"))
    return out


def _candidates(k: str, protocol) -> list:
    col = COLUMNS[k]
    if col.kind == "bool":
        return [True, False]
    if col.kind == "ordinal":
        return sorted(set(float(v) for v in col.scale.values()))
    if col.kind == "category":
        return list(col.categories)
    low, high = col.plausible or (-1e3, 1e4)
    vals = set(np.linspace(low, high, 25).tolist())
    for p in protocol.parameter_values().values():
        vals |= {p, p - EPS, p + EPS}
    if col.integer:
        vals = {float(round(v)) for v in vals}
        vals |= set(range(int(low), int(high) + 1))
    return sorted(float(v) for v in vals if low <= v <= high)


def _screening(data, censored, unreadable):
    s, _, _ = _sample()
    return dataclasses.replace(s, data=data, censored=censored, unreadable=unreadable)


def _with_unreadable(data, censored, columns):
    data = data.copy()
    unreadable = pd.DataFrame(False, index=data.index, columns=sorted(columns))
    for k in columns:
        data[k] = pd.Series(pd.NA, index=data.index).astype(COLUMNS[k].dtype)
        unreadable[k] = True
    censored = censored.drop(columns=[k for k in columns if k in censored.columns])
    return _screening(data, censored, unreadable)


@pytest.mark.parametrize(("pid", "cid", "k"), _pairs())
def test_unreadable_input_never_decides_against_the_real_value(pid, cid, k):
    _check_contract(pid, cid, k)


def test_coalesce_does_not_stand_in_for_an_unreadable_cell():
    """A recorded QTcF that cannot be read is not replaced by Fridericia from QT and HR
    (the written value could exceed the limit): E12c is unknown, not pass."""
    _, data, censored = _sample()
    screening = _with_unreadable(data, censored, {"qtcf_ms"})
    e12c = sk.evaluate(screening, "NCT07103668").statuses["E12c"]
    assert e12c.isna().all()


def _check_contract(pid, cid, k):
    protocol = get_protocol(pid)
    _, data, censored = _sample()
    u = sk.evaluate(_with_unreadable(data, censored, {k}), protocol).statuses[cid]
    values = _candidates(k, protocol)
    assert values
    frames, cens = [], []
    for v in values:
        f = data.copy()
        f[k] = pd.Series([v] * len(f), index=f.index).astype(COLUMNS[k].dtype)
        frames.append(f)
        cens.append(censored.drop(columns=[k], errors="ignore"))
    stacked = pd.concat(frames, ignore_index=True)
    s = sk.evaluate(
        _screening(stacked, pd.concat(cens, ignore_index=True), None), protocol
    ).statuses[cid]
    real = s.to_numpy(dtype=object, na_value=None).reshape(len(values), len(data))
    u = u.to_numpy(dtype=object, na_value=None)
    for i in range(len(data)):
        if u[i] is None:
            continue
        contradicted = [values[j] for j in range(len(values)) if real[j, i] is not u[i]]
        assert not contradicted, (
            f"{pid} {cid}: patient {data['patient_id'].iloc[i]} with {k} unreadable "
            f"{'passes' if u[i] else 'fails'}, but {k} = {contradicted[:5]} gives "
            f"{[real[values.index(v), i] for v in contradicted[:5]]}"
        )


def _criteria():
    return [
        pytest.param(pid, c.id, id=f"{pid}-{c.id}")
        for pid in list_protocols()
        for c in get_protocol(pid).criteria
    ]


@pytest.mark.parametrize(("pid", "cid"), _criteria())
def test_all_inputs_unreadable_gives_unknown(pid, cid):
    protocol = get_protocol(pid)
    _, data, censored = _sample()
    needed = {k for k in protocol.columns_needed(cid) if k in data.columns}
    if not needed:
        pytest.skip(f"{cid} reads no column of the sample")
    status = sk.evaluate(_with_unreadable(data, censored, needed), protocol).statuses[cid]
    decided = status.dropna()
    assert decided.empty, (
        f"{pid} {cid} with every input ({sorted(needed)}) unreadable: "
        f"{decided.value_counts().to_dict()} decided instead of unknown"
    )


def test_e3_known_her2_positive_is_unknown_when_unreadable(imc002):
    _, data, censored = _sample()
    status = sk.evaluate(_with_unreadable(data, censored, {"her2_ihc"}), imc002).statuses["E3"]
    assert status.isna().all()


def _csv(tmp_path, her2_cells):
    from tests.conftest import patient

    rows = []
    for i, cell in enumerate(her2_cells):
        r = patient(patient_id=f"P{i:03d}", her2_ihc=None, urine_protein="neg")
        r["her2_ihc"] = cell
        rows.append(r)
    frame = pd.DataFrame(rows)
    frame["screening_date"] = frame["screening_date"].dt.strftime("%Y-%m-%d")
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path


def test_loader_equivocal_her2_is_unknown_blank_passes(tmp_path):
    path = _csv(tmp_path, ["equivocal", "", "HER2(+)", "1+", "positive"])
    sd = load_screening(path)
    assert sd.unreadable is not None and sd.unreadable["her2_ihc"].tolist() == [
        True,
        False,
        True,
        False,
        False,
    ]
    cells = sd.report.cells
    bad = cells[cells["kind"] == "unparsed"]
    assert sorted(bad["value"].astype(str)) == ["HER2(+)", "equivocal"]
    ev = sk.evaluate(sd, "NCT07103668")
    e3 = ev.statuses["E3"].to_numpy(dtype=object, na_value=None).tolist()
    assert e3 == [None, True, None, True, False]
    counts = ev.counts()
    assert counts["eligible"] == 2
    assert counts["pending"] == 2
    assert counts["screen_failed"] == 1
