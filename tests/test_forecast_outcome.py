"""One definition of the outcome: the forecast uses the evaluation's status.

Pending patients are neither eligible nor failed; relaxing a threshold never lowers the
eligibility the forecast uses nor moves its median later (same seed); the command line and
Python give the same forecast for the same input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import screenkit as sk
from screenkit.forecast import RecruitmentForecast
from screenkit.forecast.prior import parse_decline_prior
from tests.conftest import plain_enrollment_log
from tests.test_forecast_cli import run_cli

PROTOCOL = "NCT07103668"


@pytest.fixture(scope="module")
def sample():
    data = sk.load_sample()
    protocol = sk.get_protocol(PROTOCOL)
    return data, protocol, sk.evaluate(data, protocol)


def _relaxations(evaluation):
    """For each parameter, the end of its range at which no criterion fails more patients
    (fail and unknown sets never grow into fails): the relaxed evaluation."""
    fails, _ = evaluation.matrices()
    for name, parameter in evaluation.protocol.parameters.items():
        for value in (parameter.min, parameter.max):
            if value == parameter.value:
                continue
            other = evaluation.with_parameters(**{name: value})
            other_fails, _ = other.matrices()
            if (other_fails <= fails).all() and (other_fails != fails).any():
                yield name, value, other


def test_the_eligibility_is_the_evaluations_with_pending_left_out(sample):
    _data, protocol, evaluation = sample
    counts = evaluation.status.value_counts()
    e, f, p = (int(counts.get(k, 0)) for k in ("eligible", "screen_failed", "pending"))
    assert p > 0  # the sample has pending patients: the test means something
    fc = RecruitmentForecast(n_sims=300, random_state=0).fit(evaluation)
    result = fc.predict()
    d = result.to_dict()
    assert d["eligibility"]["eligible"] == e and d["eligibility"]["screen_failed"] == f
    assert d["eligibility"]["pending"] == p
    assert d["eligibility_rate"] == pytest.approx(e / (e + f), abs=1e-4)
    assert fc.p_eligible_ == (0.5 + e, 0.5 + f)  # pending are not counted as eligible
    report = sk.funnel(evaluation)
    assert (report.eligible, report.screen_failed, report.pending) == (e, f, p)
    assert any(f"the {p} pending patients are neither eligible nor failed" in n for n in d["notes"])
    # the target and the primary completion date are the protocol file's
    assert d["target"] == protocol.target
    assert d["by_date"] == pd.Timestamp(protocol.primary_completion).date().isoformat()


def test_relaxing_any_threshold_never_lowers_eligibility_nor_delays_the_median(sample):
    _data, _protocol, evaluation = sample
    fc = RecruitmentForecast(n_sims=600, random_state=11).fit(evaluation)
    base = fc.predict(target=150)
    relaxed_any = 0
    for name, value, relaxed in _relaxations(evaluation):
        other = fc.with_eligibility(relaxed)
        assert other.p_randomized_ >= fc.p_randomized_, name
        assert other.p_eligible_[0] >= fc.p_eligible_[0], name
        assert other.p_eligible_[1] <= fc.p_eligible_[1], name
        result = other.predict(target=150)
        assert result.median_date <= base.median_date, (name, value)
        # simulation by simulation, not only the median
        assert (result.times <= base.times + 1e-9).all(), (name, value)
        relaxed_any += 1
    assert relaxed_any >= 5  # the property was exercised on several parameters


def test_a_relaxation_that_admits_more_patients_brings_the_date_forward(sample):
    data, protocol, evaluation = sample
    relaxed = sk.evaluate(data, protocol, lesion_max_cm=7)
    gained = int(relaxed.status.eq("eligible").sum() - evaluation.status.eq("eligible").sum())
    assert gained > 0
    fc = RecruitmentForecast(n_sims=1000, random_state=2).fit(evaluation)
    before, after = fc.predict(target=150), fc.with_eligibility(relaxed).predict(target=150)
    assert after.median_date < before.median_date
    assert after.prob_by_date >= before.prob_by_date
    # P(randomized | eligible) is the protocol's as run: patients the sites screened out
    # under 5 cm do not count as eligible patients who declined
    assert fc.with_eligibility(relaxed).p_conversion_ == fc.p_conversion_


def test_the_python_routes_agree(sample):
    data, protocol, evaluation = sample
    relaxed = sk.evaluate(data, protocol, lesion_max_cm=7)

    def forecast(log, what_if=None):
        fc = RecruitmentForecast(n_sims=500, random_state=4).fit(log)
        return (fc if what_if is None else fc.with_eligibility(what_if)).predict().to_dict()

    assert forecast(data, evaluation) == forecast(evaluation)
    assert forecast(relaxed) == forecast(evaluation, relaxed) == forecast(data, relaxed)
    assert forecast(relaxed) != forecast(evaluation)


@pytest.mark.parametrize(
    ("params", "prior"),
    [([], None), (["lesion_max_cm=7"], None), (["lesion_max_cm=7"], "2%,1%")],
)
def test_the_command_line_and_python_give_the_same_forecast(sample, tmp_path, params, prior):
    data, protocol, _ = sample
    path = tmp_path / "log.xlsx"
    path.write_bytes(Path(data.source).read_bytes())
    out = tmp_path / "forecast.json"
    argv = [path, "--seed", 5, "--sims", 500, "--json", out]
    for p in params:
        argv += ["--param", p]
    given = {}  # an outside estimate of the decline: the same function parses it
    if prior is not None:
        argv += ["--decline-prior", prior]
        given = parse_decline_prior(prior).forecast_options()
    assert run_cli(argv) == 0
    got = json.loads(out.read_text(encoding="utf-8"))
    overrides = {k: float(v) for k, v in (p.split("=") for p in params)}
    evaluation = sk.evaluate(sk.load_screening(path), protocol, **overrides)
    expected = RecruitmentForecast(n_sims=500, random_state=5, **given).fit(evaluation).predict()
    want = json.loads(json.dumps(expected.to_dict()))
    assert {k: got[k] for k in want} == want
    assert got["protocol"] == PROTOCOL and got["parameters"]["lesion_max_cm"] == overrides.get(
        "lesion_max_cm", protocol.parameters["lesion_max_cm"].value
    )


def test_target_and_completion_date_come_from_the_protocol_file(sample, tmp_path, capsys):
    data, _protocol, _ = sample
    shipped = (Path(sk.__file__).parent / "protocols" / f"{PROTOCOL}.yaml").read_text(
        encoding="utf-8"
    )
    text = shipped.replace("target: 150", "target: 120").replace(
        'primary_completion: "2027-05-31"', 'primary_completion: "2028-02-29"'
    )
    assert text != shipped
    own = tmp_path / "own.yaml"
    own.write_text(text, encoding="utf-8")
    out = tmp_path / "f.json"
    argv = [data.source, "--protocol", own, "--sims", 300, "--json", out]
    assert run_cli(argv) == 0
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["target"] == 120 and got["by_date"] == "2028-02-29"
    assert "Probability of reaching 120 by 2028-02-29" in capsys.readouterr().out
    assert run_cli([*argv, "--force", "--target", 90, "--by-date", "2027-12-31"]) == 0
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["target"] == 90 and got["by_date"] == "2027-12-31"
    # the protocol file is an input: never written over
    assert run_cli([data.source, "--protocol", own, "--json", own, "--force"]) == 2
    assert own.read_text(encoding="utf-8") == text


def test_a_protocol_without_a_target_asks_for_one(sample, tmp_path, capsys):
    data, _, _ = sample
    shipped = (Path(sk.__file__).parent / "protocols" / f"{PROTOCOL}.yaml").read_text(
        encoding="utf-8"
    )
    own = tmp_path / "no_target.yaml"
    own.write_text(shipped.replace("target: 150\n", ""), encoding="utf-8")
    assert run_cli([data.source, "--protocol", own, "--sims", 100]) == 2
    assert "--target" in capsys.readouterr().out


def test_a_plain_log_without_clinical_columns_uses_its_recorded_outcome(tmp_path, capsys):
    log = plain_enrollment_log(3, 80, ["A", "B", "C"], "2025-09-01", 200, 0.3)
    path = tmp_path / "plain.csv"
    log.to_csv(path, index=False)
    assert run_cli([path, "--sims", 200, "--target", 60]) == 0
    text = capsys.readouterr().out
    assert "decides no patient" in text and "recorded outcome" in text
