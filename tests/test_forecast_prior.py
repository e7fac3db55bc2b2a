"""The forecast's prior on the monthly decline: protocol data, ``--decline-prior``, named.

The prior may come from the protocol file (``decline_prior: {mean, sd}``), from
``screenkit forecast --decline-prior MEAN,SD`` (which overrides the file) or the defaults;
the notes and the JSON say which, and the CLI and Python give the same forecast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import screenkit as sk
from screenkit.amendment import amend
from screenkit.errors import InputError, ProtocolError, ScreenkitError
from screenkit.forecast import RecruitmentForecast
from screenkit.forecast.prior import DeclinePrior, parse_decline_prior, resolve_decline_prior
from screenkit.forecast.uncertainty import CHANGE_PRIOR_MEAN, CHANGE_PRIOR_SD
from screenkit.protocol_file import load_protocol
from tests.test_forecast_cli import run_cli

PROTOCOL = "NCT07103668"
SHIPPED = (Path(sk.__file__).parent / "protocols" / f"{PROTOCOL}.yaml").read_text(encoding="utf-8")


def _own(tmp_path: Path, prior_line: str, name: str = "own.yaml") -> Path:
    """The shipped protocol with a ``decline_prior:`` line after its target."""
    text = SHIPPED.replace("target: 150\n", f"target: 150\n{prior_line}\n")
    assert text != SHIPPED
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sample():
    data = sk.load_sample()
    return data, sk.evaluate(data, PROTOCOL)


# ------------------------------------------------------------------ the protocol file
def test_a_protocol_file_carries_the_decline_prior(tmp_path):
    own = load_protocol(_own(tmp_path, "decline_prior: {mean: 0.02, sd: 0.01}"))
    assert own.decline_prior == (0.02, 0.01)
    assert sk.get_protocol(PROTOCOL).decline_prior is None  # absent: the defaults
    prior = resolve_decline_prior(None, None, own)
    assert prior == DeclinePrior(0.02, 0.01, "protocol file")
    default = resolve_decline_prior(None, None, sk.get_protocol(PROTOCOL))
    assert default == DeclinePrior(CHANGE_PRIOR_MEAN, CHANGE_PRIOR_SD, "default")
    assert amend(own, version="2", target=120).decline_prior == (0.02, 0.01)  # kept


@pytest.mark.parametrize(
    ("line", "place", "words"),
    [
        ("decline_prior: {mean: 0.02, sd: 0}", "decline_prior.sd", "greater than 0"),
        ("decline_prior: {mean: 0.02, sd: -0.01}", "decline_prior.sd", "greater than 0"),
        ("decline_prior: {mean: 0.02}", "decline_prior.sd", "Field required"),
        ("decline_prior: {mean: 0.5, sd: 0.01}", "decline_prior.mean", "from -0.05 to 0.3"),
        ("decline_prior: {mean: fast, sd: 0.01}", "decline_prior.mean", "valid number"),
        ("decline_prior: 3%", "decline_prior", "{mean: 0.035, sd: 0.05}"),
        ("decline_prior: {mean: 0.02, sd: 0.01, shape: 2}", "decline_prior.shape", "xtra"),
    ],
)
def test_a_bad_decline_prior_is_named_with_its_file_key_and_what_is_accepted(
    tmp_path, line, place, words
):
    path = _own(tmp_path, line)
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    text = str(caught.value)
    assert f"the first is at {place}" in text and words in text and str(path) in text


def test_the_command_line_reports_a_bad_protocol_prior_without_a_traceback(
    sample, tmp_path, capsys
):
    data, _ = sample
    path = _own(tmp_path, "decline_prior: {mean: 0.02, sd: 0}")
    assert run_cli([data.source, "--protocol", path, "--sims", 50]) == 2
    out = capsys.readouterr().out
    assert "decline_prior.sd" in out and str(path) in out and "Traceback" not in out


# ------------------------------------------------------------------ --decline-prior
@pytest.mark.parametrize("text", ["0.02,0.01", "2%,1%", " 2 % , 0.01 ", "0.02,1%"])
def test_decline_prior_takes_fractions_or_percentages(text):
    assert parse_decline_prior(text) == DeclinePrior(0.02, 0.01, "--decline-prior")


def test_a_rising_mean_is_accepted():
    assert parse_decline_prior("-2%,3%").mean == -0.02


@pytest.mark.parametrize(
    "text",
    [
        "2%",
        "0.02",
        "0.02,0.01,0.5",
        "a,b",
        "2%%,1%",
        "",
        "0.02,0",
        "0.02,-1%",
        "0.5,0.01",
        "40%,5%",
        "nan,0.01",
        "0.02,inf",
    ],
)
def test_a_bad_decline_prior_option_says_what_is_accepted(text):
    with pytest.raises(InputError) as caught:
        parse_decline_prior(text)
    message = str(caught.value)
    assert "--decline-prior" in message and repr(text) in message  # the option, the value
    assert "0.02,0.01 or 2%,1%" in message  # and what is accepted


def test_the_command_line_refuses_a_bad_decline_prior_before_loading(tmp_path, capsys):
    missing = tmp_path / "not_there.xlsx"  # never read: the option fails first
    assert run_cli([missing, "--target", 10, "--decline-prior", "2%"]) == 2
    out = capsys.readouterr().out
    assert "--decline-prior is not MEAN,SD" in out and "2%,1%" in out


def test_the_estimator_checks_a_prior_given_in_python(sample):
    _, evaluation = sample
    with pytest.raises(ScreenkitError, match="above 0"):
        RecruitmentForecast(decline_prior_sd=0.0).fit(evaluation)
    with pytest.raises(ScreenkitError, match="outside the declines"):
        RecruitmentForecast(decline_prior_mean=0.4).fit(evaluation)
    # a grid narrower than the default truncates the prior: allowed (the decline fixed)
    fixed = RecruitmentForecast(n_sims=50, decline_range=(0.08, 0.08)).fit(evaluation)
    assert fixed.decline_prior_.mean == CHANGE_PRIOR_MEAN and fixed.gamma_ == 0.08


# ------------------------------------------------------------------ one forecast, named
def _json(argv, out: Path) -> dict:
    assert run_cli([*argv, "--json", out, "--force"]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_notes_and_json_name_the_prior_and_where_it_came_from(sample, tmp_path, capsys):
    data, _ = sample
    out = tmp_path / "f.json"
    base = [data.source, "--sims", 200, "--seed", 3]
    got = _json(base, out)
    assert (got["decline_prior_mean"], got["decline_prior_sd"]) == (0.035, 0.05)
    assert got["decline_prior_source"] == "default"
    assert any("prior: normal, mean decline 3.5%/month, SD 5%/month" in n for n in got["notes"])
    own = _own(tmp_path, "decline_prior: {mean: 0.01, sd: 0.02}")
    got = _json([*base, "--protocol", own], out)
    assert (got["decline_prior_mean"], got["decline_prior_sd"]) == (0.01, 0.02)
    assert got["decline_prior_source"] == "protocol file"
    words = "prior from the protocol file's decline_prior, not the default (3.5%, SD 5%): "
    assert any(words + "normal, mean decline 1%/month, SD 2%/month" in n for n in got["notes"])
    capsys.readouterr()
    got = _json([*base, "--protocol", own, "--decline-prior", "2.5%,1.5%"], out)
    assert (got["decline_prior_mean"], got["decline_prior_sd"]) == (0.025, 0.015)
    assert got["decline_prior_source"] == "--decline-prior"  # overrides the file
    printed = capsys.readouterr().out
    assert "prior given with --decline-prior" in printed
    assert "mean decline 2.5%/month, SD 1.5%/month" in printed
    # a model without the prior says none was used (every other key is kept)
    got = _json([*base, "--model", "constant", "--decline-prior", "2%,1%"], out)
    assert got["decline_prior_source"] is None and got["model"] == "constant"
    assert {"median_date", "pi80", "pi90", "prob_by_date", "notes"} <= set(got)


@pytest.mark.parametrize(
    ("option", "in_file"),
    [("2%,1%", None), (None, "decline_prior: {mean: 0.02, sd: 0.01}"), ("0,3%", "x")],
)
def test_the_command_line_and_python_give_the_same_forecast_with_a_prior(
    sample, tmp_path, option, in_file
):
    data, _ = sample
    protocol = PROTOCOL
    argv = [data.source, "--seed", 5, "--sims", 300]
    if in_file is not None:
        line = "decline_prior: {mean: 0.06, sd: 0.02}" if in_file == "x" else in_file
        protocol = _own(tmp_path, line)
        argv += ["--protocol", protocol]
    given = {}
    if option is not None:
        argv += ["--decline-prior", option]
        given = parse_decline_prior(option).forecast_options()
    got = _json(argv, tmp_path / "f.json")
    evaluation = sk.evaluate(sk.load_screening(data.source), sk.get_protocol(protocol))
    fc = RecruitmentForecast(n_sims=300, random_state=5, **given).fit(evaluation)
    want = json.loads(json.dumps(fc.predict().to_dict()))
    assert {k: got[k] for k in want} == want
    assert got["decline_prior_source"] == ("--decline-prior" if option else "protocol file")


def test_a_narrower_correct_prior_narrows_the_80_percent_interval(sample):
    _, evaluation = sample

    def forecast(**prior):
        fc = RecruitmentForecast(n_sims=2000, random_state=11, **prior).fit(evaluation)
        return fc, fc.predict()

    fc, default = forecast()
    cp = fc.change_posterior_  # where the trial's own data put its decline
    centre = round(cp.mean, 3)
    _, narrow = forecast(decline_prior_mean=centre, decline_prior_sd=0.01)

    def width(result):
        lo, hi = result.pi80
        return (hi - lo).days

    assert width(narrow) < 0.9 * width(default)
    assert narrow.decline_prior == DeclinePrior(centre, 0.01, "argument")
    assert default.decline_prior.source == "default"


def test_the_recruitment_sheet_follows_the_protocol_files_prior(sample, tmp_path):
    from screenkit.export.recruitment import build_recruitment

    data, _ = sample
    own = sk.get_protocol(_own(tmp_path, "decline_prior: {mean: 0.01, sd: 0.02}"))
    recruitment = build_recruitment(sk.evaluate(data, own), n_sims=200)
    assert recruitment.forecast.decline_prior == DeclinePrior(0.01, 0.02, "protocol file")
    assert any("prior from the protocol file's decline_prior" in n for n in recruitment.notes)
