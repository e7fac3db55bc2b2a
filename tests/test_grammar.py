"""The rule language: whitelist (nothing is ever eval'd), Kleene logic, intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenkit.errors import ProtocolError
from screenkit.grammar import Namespace, compile_rule, to_boolean


def run(rule: str, params=None, **columns) -> list:
    frame = pd.DataFrame(columns)
    ns = Namespace.from_frame(frame, parameters=params or {})
    result = compile_rule(rule, params).evaluate(ns)
    return to_boolean(result).tolist()


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hacked')",
        "hb.__class__",
        "open('x')",
        "[hb for hb in range(3)]",
        "lambda: 1",
        "hb[0] > 1",
        "exec('1')",
        "eval('1')",
        "hb if sex else anc",
        "(hb := 3) > 1",
        "hb ** 2 > 1",
        "f'{hb}'",
        "{'a': 1}",
        "hb > 1; import os",
    ],
)
def test_anything_outside_the_whitelist_is_rejected(text):
    with pytest.raises(ProtocolError):
        compile_rule(text)


def test_no_code_from_a_rule_runs(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProtocolError):
        compile_rule(f"__import__('pathlib').Path('{marker}').touch()")
    assert not marker.exists()


def test_unknown_name_suggests_the_closest_column():
    with pytest.raises(ProtocolError) as err:
        compile_rule("haemoglobin >= 8")
    assert "'haemoglobin'" in str(err.value)
    with pytest.raises(ProtocolError, match=r"did you mean.*hb_min"):
        compile_rule("hb >= hb_mn", {"hb_min": 8.0})


def test_type_errors_are_reported_with_the_offending_piece():
    with pytest.raises(ProtocolError, match="yes/no condition"):
        compile_rule("hb and anc")
    with pytest.raises(ProtocolError, match="category"):
        compile_rule("sex > 1")
    with pytest.raises(ProtocolError, match="not on the scale"):
        compile_rule('urine_protein <= "5+"')
    with pytest.raises(ProtocolError, match="no category"):
        compile_rule('sex == "X"')


def test_kleene_truth_tables():
    t, f, u = True, False, None
    a = pd.array([t, t, t, f, f, f, u, u, u], dtype="boolean")
    b = pd.array([t, f, u, t, f, u, t, f, u], dtype="boolean")
    assert run("liver_mets and bone_mets", liver_mets=a, bone_mets=b) == [
        t, f, pd.NA, f, f, f, pd.NA, f, pd.NA,
    ]  # fmt: skip
    assert run("liver_mets or bone_mets", liver_mets=a, bone_mets=b) == [
        t, t, t, t, f, pd.NA, t, pd.NA, pd.NA,
    ]  # fmt: skip
    assert run("not liver_mets", liver_mets=a) == [f, f, f, t, t, t, pd.NA, pd.NA, pd.NA]


def test_comparisons_keep_strictness_at_the_boundary():
    hb = pd.array([7.9, 8.0, 8.1, None], dtype="Float64")
    assert run("hb >= 8", hb=hb) == [False, True, True, pd.NA]
    assert run("hb > 8", hb=hb) == [False, False, True, pd.NA]
    assert run("hb <= 8", hb=hb) == [True, True, False, pd.NA]
    assert run("hb < 8", hb=hb) == [True, False, False, pd.NA]
    assert run("hb == 8", hb=hb) == [False, True, False, pd.NA]
    assert run("7.95 < hb <= 8.05", hb=hb) == [False, True, False, pd.NA]


def test_floating_point_noise_never_flips_a_boundary():
    # 1.5 * 1.1 = 1.6500000000000001 and 3 * 0.1 = 0.30000000000000004 in floating point
    creat = pd.array([1.65, 0.3], dtype="Float64")
    uln = pd.array([1.1, 0.1], dtype="Float64")
    assert run("creat <= 1.5 * creat_uln", creat=creat[:1], creat_uln=uln[:1]) == [True]
    assert run("creat < 3 * creat_uln", creat=creat[1:], creat_uln=uln[1:]) == [False]


def test_arithmetic_with_missing_is_unknown_not_zero():
    alt = pd.array([100.0, None, 10.0], dtype="Float64")
    uln = pd.array([None, 40.0, 40.0], dtype="Float64")
    assert run("alt <= 2.5 * alt_uln", alt=alt, alt_uln=uln) == [pd.NA, pd.NA, True]


def test_parameters_are_numbers_in_rules():
    hb = pd.array([7.5, 8.5], dtype="Float64")
    assert run("hb >= hb_min", {"hb_min": 8.0}, hb=hb) == [False, True]
    assert run("hb >= hb_min", {"hb_min": 7.0}, hb=hb) == [True, True]


def test_censored_values_are_intervals():
    frame = pd.DataFrame({"lym": pd.array([0.5, 0.5, 2.0], dtype="Float64")})
    censored = pd.DataFrame({"lym": pd.array(["<", None, ">"], dtype="string")})
    ns = Namespace.from_frame(frame, censored)
    assert to_boolean(compile_rule("lym >= 0.5").evaluate(ns)).tolist() == [pd.NA, True, True]
    assert to_boolean(compile_rule("lym >= 0.6").evaluate(ns)).tolist() == [False, False, True]
    assert to_boolean(compile_rule("lym <= 3").evaluate(ns)).tolist() == [True, True, pd.NA]


def test_ordinal_scales_compare_by_position():
    up = pd.array([0.0, 0.5, 1.0, 2.0, None], dtype="Float64")
    assert run('urine_protein <= "1+"', urine_protein=up) == [True, True, True, False, pd.NA]


def test_known_true_turns_unknown_into_false():
    her2 = pd.array([3.0, 2.0, 2.0, None], dtype="Float64")
    fish = pd.array([None, True, None, None], dtype="boolean")
    rule = 'known_true(her2_ihc == "3+" or (her2_ihc == "2+" and her2_fish_pos))'
    assert run(rule, her2_ihc=her2, her2_fish_pos=fish) == [True, True, False, False]


def test_min_max_coalesce():
    hl = pd.array([3.0, None, 10.0], dtype="Float64")
    rule = "min(28, coalesce(5 * antitumor_half_life_days, 28)) <= 15"
    assert run(rule, antitumor_half_life_days=hl) == [True, False, False]
    assert run("max(1, 2) == 2", antitumor_half_life_days=hl) == [True, True, True]


def test_cockcroft_gault_and_fridericia_values():
    frame = pd.DataFrame(
        {
            "age_years": pd.array([60.0, 60.0, 60.0], dtype="Float64"),
            "weight_kg": pd.array([60.0, 60.0, 60.0], dtype="Float64"),
            "creat": pd.array([1.0, 1.0, 1.0], dtype="Float64"),
            "sex": pd.array(["M", "F", None], dtype="string"),
            "qt_ms": pd.array([400.0, 430.0, None], dtype="Float64"),
            "heart_rate_bpm": pd.array([75.0, 90.0, 60.0], dtype="Float64"),
        }
    )
    ns = Namespace.from_frame(frame)
    crcl = compile_rule("crcl_cockcroft_gault(age_years, weight_kg, creat, sex)").evaluate(ns)
    np.testing.assert_allclose(crcl.lo, [66.667, 56.667, 56.667], atol=1e-3)
    np.testing.assert_allclose(crcl.hi, [66.667, 56.667, 66.667], atol=1e-3)
    qtcf = compile_rule("qtcf_fridericia(qt_ms, heart_rate_bpm)").evaluate(ns)
    np.testing.assert_allclose(qtcf.lo[:2], [430.887, 492.2], atol=0.1)
    assert np.isneginf(qtcf.lo[2]) and np.isposinf(qtcf.hi[2])


def test_prednisone_equivalents_follow_the_label_table():
    frame = pd.DataFrame(
        {
            "steroid_agent": pd.array(
                ["dexamethasone", "hydrocortisone", "methylprednisolone", None], dtype="string"
            ),
            "steroid_dose_mg_day": pd.array([0.75, 20.0, 4.0, 10.0], dtype="Float64"),
        }
    )
    ns = Namespace.from_frame(frame)
    value = compile_rule("prednisone_equivalent(steroid_agent, steroid_dose_mg_day)").evaluate(ns)
    np.testing.assert_allclose(value.lo[:3], [5.0, 5.0, 5.0], rtol=1e-12)  # exact factors
    assert value.lo[3] == pytest.approx(2.5) and value.hi[3] == pytest.approx(250 / 3)


# each agent's exact factor (FDA prednisolone label: 5 mg prednisone = 5 prednisolone
# = 4 methylprednisolone = 0.75 dexamethasone = 20 hydrocortisone; 0.6 betamethasone)
_EQUIVALENT_TO_5_MG = {
    "prednisone": 5.0,
    "prednisolone": 5.0,
    "methylprednisolone": 4.0,
    "dexamethasone": 0.75,
    "hydrocortisone": 20.0,
    "betamethasone": 0.6,
}


@pytest.mark.parametrize("agent", sorted(_EQUIVALENT_TO_5_MG))
def test_every_steroid_conversion_at_every_e14_threshold(imc002, agent):
    """At each threshold the E14 slider can take, the agent's dose equivalent to exactly
    the threshold passes (the rule is "> threshold") and a dose 0.5% higher fails."""
    from screenkit.evaluate import evaluate

    p = imc002.parameters["steroid_max_mg_day"]
    thresholds = np.arange(p.min, p.max + p.step / 2, p.step)
    at = thresholds * _EQUIVALENT_TO_5_MG[agent] / 5.0
    doses = np.concatenate([at, at * 1.005])
    n = len(doses)
    frame = pd.DataFrame(
        {
            "steroid_agent": pd.array([agent] * n, dtype="string"),
            "steroid_dose_mg_day": pd.array(doses, dtype="Float64"),
            "steroid_days": pd.array([10.0] * n, dtype="Float64"),
        }
    )
    for i, threshold in enumerate(thresholds):
        result = evaluate(frame, imc002, steroid_max_mg_day=threshold).statuses["E14"]
        assert result.iloc[i] == True, (agent, threshold, doses[i])  # noqa: E712
        assert result.iloc[i + len(thresholds)] == False, (agent, threshold)  # noqa: E712


def test_no_steroid_is_zero_whatever_the_dose_cell(imc002):
    from screenkit.evaluate import evaluate

    frame = pd.DataFrame(
        {
            "steroid_agent": pd.array(["none", "none", None], dtype="string"),
            "steroid_dose_mg_day": pd.array([None, 0.0, 0.0], dtype="Float64"),
            "steroid_days": pd.array([10.0, 10.0, 10.0], dtype="Float64"),
        }
    )
    # a dose of 0 with no agent recorded is 0 whatever the agent
    assert evaluate(frame, imc002).statuses["E14"].tolist() == [True, True, True]
