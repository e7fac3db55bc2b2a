"""Amendments (amends: / Protocol.amend), protocol_diff, and criteria off by default,
on literal small frames."""

from __future__ import annotations

import pandas as pd
import pytest

from screenkit.amendment import protocol_diff
from screenkit.datasets import load_sample
from screenkit.errors import ProtocolError
from screenkit.evaluate import evaluate
from screenkit.protocol import get_protocol, load_protocol

from .conftest import canonical_frame, patient


@pytest.fixture(scope="module")
def sample():
    return load_sample()


BASE = {
    "id": "T1",
    "version": "v1",
    "parameters": {"spo2_min": {"value": 95, "min": 85, "max": 99}},
    "criteria": [
        {"id": "I1", "kind": "inclusion", "label": "SpO2 >= {spo2_min:g}%",
         "rule": "spo2 >= spo2_min", "source": "s"},
        {"id": "I2", "kind": "inclusion", "label": "ECOG 0-1", "rule": "ecog <= 1",
         "source": "ASSUMED", "default": "off"},
        {"id": "E1", "kind": "exclusion", "label": "Pregnant", "rule": "pregnant_or_breastfeeding",
         "source": "s"},
    ],
}  # fmt: skip


def frame(**columns) -> pd.DataFrame:
    out = {"patient_id": pd.array([f"P{i}" for i in range(3)], dtype="string")}
    out.update(columns)
    return pd.DataFrame(out)


DATA = frame(
    spo2=pd.array([96.0, 94.0, None], dtype="Float64"),
    ecog=pd.array([2, 0, 0], dtype="Int64"),
    pregnant_or_breastfeeding=pd.array([False, False, False], dtype="boolean"),
)


def test_off_by_default_is_left_out_and_include_switches_it_on():
    base = load_protocol(BASE)
    assert base.off_by_default == ["I2"]
    left = evaluate(DATA, base)
    assert left.statuses.columns.tolist() == ["I1", "E1"]
    assert [c.id for c in left.protocol.criteria_off] == ["I2"]
    # P0 passes SpO2 and is eligible only while ECOG is left out; P2's SpO2 is unknown
    assert left.status.tolist() == ["eligible", "screen_failed", "pending"]
    on = evaluate(DATA, base, include=["I2"])
    assert on.protocol.criteria_off == ()
    assert on.statuses["I2"].tolist() == [False, True, True]
    assert on.status.tolist() == ["screen_failed", "screen_failed", "pending"]
    assert base.criteria[1].id == "I2"  # the loaded protocol is untouched


def test_yaml_bare_off_reads_as_off(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: X\ncriteria:\n  - {id: I1, kind: inclusion, label: A, rule: 'ecog <= 1',"
        " source: s, default: off}\n  - {id: I2, kind: inclusion, label: B, rule: 'spo2 > 90',"
        " source: s}\n",
        encoding="utf-8",
    )
    assert load_protocol(path).off_by_default == ["I1"]


def test_include_of_an_unknown_id_names_the_ids():
    with pytest.raises(ProtocolError, match="no criterion 'I9'") as err:
        evaluate(DATA, load_protocol(BASE), include=["I9"])
    assert "I1, I2, E1" in str(err.value)


def test_bad_default_value_is_located():
    bad = {**BASE, "criteria": [{**BASE["criteria"][0], "default": "maybe"}]}
    with pytest.raises(ProtocolError, match=r"criteria\.0\.default"):
        load_protocol(bad)


def test_ct041_assumed_criteria_are_off_by_default():
    ct041 = get_protocol("CT041-ST-01")
    assumed = [c.id for c in ct041.criteria if c.source.startswith("ASSUMED")]
    assert ct041.off_by_default == assumed == ["I4", "I5"]


def test_amend_changes_removes_replaces_and_adds():
    base = load_protocol(BASE)
    amended = base.amend(
        id="T1-A1",
        version="A1",
        parameters={"spo2_min": 93},
        remove=["E1"],
        replace=[{"id": "I2", "kind": "inclusion", "label": "ECOG 0-2", "rule": "ecog <= 2",
                  "source": "A1"}],
        add=[{"id": "E2", "kind": "exclusion", "label": "HIV", "rule": "hiv_pos", "source": "A1"}],
    )  # fmt: skip
    assert amended.ids == ["I1", "I2", "E2"]
    assert amended.amends == "T1" and amended.version == "A1"
    assert amended.criterion("I1").label == "SpO2 >= 93%"
    assert amended.off_by_default == []  # the replacement has no `default: off`
    assert base.ids == ["I1", "I2", "E1"]  # the base is untouched
    assert base.parameters["spo2_min"].value == 95
    result = evaluate(DATA, amended)
    assert result.statuses["I1"].isna().tolist() == [False, False, True]
    assert result.statuses["I1"].iloc[:2].tolist() == [True, True]  # 94 passes >= 93
    assert result.statuses["I2"].tolist() == [True, True, True]  # ECOG 2 passes 0-2
    # the added E2 reads hiv_pos, which the data lack: unknown, so nobody is eligible yet
    assert result.statuses["E2"].isna().all()
    assert result.status.tolist() == ["pending", "pending", "pending"]
    diff = protocol_diff(base, amended)
    got = {(r.item, r.id, r.change, r.field): (r.before, r.after) for r in diff.itertuples()}
    assert got == {
        ("parameter", "spo2_min", "changed", "value"): ("95", "93"),
        ("criterion", "I1", "changed", "label"): ("SpO2 >= 95%", "SpO2 >= 93%"),
        ("criterion", "I2", "changed", "label"): ("ECOG 0-1", "ECOG 0-2"),
        ("criterion", "I2", "changed", "rule"): ("ecog <= 1", "ecog <= 2"),
        ("criterion", "I2", "changed", "source"): ("ASSUMED", "A1"),
        ("criterion", "I2", "changed", "default"): ("off", "on"),
        ("criterion", "E2", "added", ""): ("", "HIV"),
        ("criterion", "E1", "removed", ""): ("Pregnant", ""),
    }


def test_amendment_file_gives_the_same_protocol_as_amend(tmp_path):
    (tmp_path / "base.yaml").write_text(_yaml(BASE), encoding="utf-8")
    (tmp_path / "a1.yaml").write_text(
        "amends: base.yaml\nid: T1-A1\nversion: A1\nparameters: {spo2_min: 93}\nremove: [E1]\n",
        encoding="utf-8",
    )
    from_file = load_protocol(tmp_path / "a1.yaml")
    in_python = load_protocol(tmp_path / "base.yaml").amend(
        id="T1-A1", version="A1", parameters={"spo2_min": 93}, remove=["E1"]
    )
    assert from_file.ids == in_python.ids == ["I1", "I2"]
    assert from_file.parameters == in_python.parameters
    assert [c.label for c in from_file.all_criteria] == [c.label for c in in_python.all_criteria]
    assert protocol_diff(from_file, in_python).empty


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"remove": ["E9"]}, "no criterion 'E9' to remove"),
        ({"replace": [{"id": "E9"}]}, "no criterion 'E9' to replace"),
        ({"parameters": {"nope": 3}}, "no parameter 'nope' to change"),
        ({"parameters": {"spo2_min": 200}}, "outside min..max"),
        ({"add": [{"id": "I1", "kind": "inclusion", "label": "x", "rule": "ecog <= 1",
                   "source": "s"}]}, "already in T1"),
        ({"remove": ["I1"]}, "parameters no criterion uses"),
    ],
)  # fmt: skip
def test_amend_errors_name_what_is_wrong(changes, message):
    with pytest.raises(ProtocolError, match=message):
        load_protocol(BASE).amend(version="A1", **changes)


def test_shipped_amendment_relaxes_lesion_and_spo2_on_a_literal_frame():
    a1 = get_protocol("NCT07103668-A1")
    data = canonical_frame(
        [patient(), patient(largest_lesion_cm=6.5), patient(spo2=94.0), patient(spo2=93.0)]
    )
    base = evaluate(data, "NCT07103668")
    amended = evaluate(data, a1)
    assert base.status.tolist() == ["eligible", "screen_failed", "screen_failed", "screen_failed"]
    assert amended.status.tolist() == ["eligible", "eligible", "eligible", "screen_failed"]
    diff = protocol_diff("NCT07103668", a1)
    assert diff[diff["item"] == "parameter"][["id", "before", "after"]].values.tolist() == [
        ["lesion_max_cm", "5", "7"],
        ["spo2_max_excluded_pct", "95", "93"],
    ]
    assert sorted(diff[diff["item"] == "criterion"]["id"]) == ["E7", "I5b"]


@pytest.mark.parametrize("pid", ["NCT07103668", "CT041-ST-01", "NCT07103668-A1"])
def test_shipped_protocols_evaluate_on_the_sample(sample, pid):
    result = evaluate(sample, pid)
    c = result.counts()
    assert c["screened"] == 400 == c["eligible"] + c["screen_failed"] + c["pending"]
    assert c["eligible"] > 0 and c["screen_failed"] > 0


def _yaml(mapping) -> str:
    import yaml

    return yaml.safe_dump(mapping, sort_keys=False)
