"""``screenkit forecast`` and the forecast figures."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from screenkit.cli import forecast as cli_forecast
from screenkit.errors import ScreenkitError
from screenkit.forecast import RecruitmentForecast


def run_cli(argv):
    """The forecast command as the dispatcher runs it (ScreenkitError -> exit 2)."""
    parser = argparse.ArgumentParser(prog="screenkit")
    cli_forecast.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["forecast", *map(str, argv)])
    try:
        return args.func(args)
    except ScreenkitError as err:
        print(f"screenkit forecast: error: {err}")
        return 2


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory):
    rng = np.random.default_rng(8)
    n = 120
    log = pd.DataFrame(
        {
            "Patient ID": [f"P{i:03d}" for i in range(n)],
            "Site": rng.choice(["101", "102", "103", "104"], n),
            "Screening date": (
                pd.Timestamp("2025-08-06")
                + pd.to_timedelta(np.sort(rng.integers(0, 300, n)), unit="D")
            ).strftime("%Y-%m-%d"),
            "Randomized": np.where(rng.random(n) < 0.4, "Y", "N"),
        }
    )
    path = tmp_path_factory.mktemp("forecast") / "log.csv"
    log.to_csv(path, index=False)
    return path


def test_cli_prints_dated_answer_and_writes_json(log_csv, tmp_path, capsys):
    out = tmp_path / "forecast.json"
    code = run_cli([log_csv, "--target", 150, "--seed", 3, "--sims", 800, "--json", out])
    text = capsys.readouterr().out
    assert code == 0
    assert "The target of 150 randomized is expected on" in text
    assert "80% prediction interval:" in text and "90% prediction interval:" in text
    assert "Probability of reaching 150 by 2027-05-31" in text
    data = json.loads(out.read_text())
    for key in (
        "target",
        "as_of",
        "randomized_so_far",
        "median_date",
        "pi80",
        "pi90",
        "prob_by_date",
        "by_date",
    ):
        assert key in data
    assert data["target"] == 150 and data["by_date"] == "2027-05-31"
    assert pd.Timestamp(data["median_date"]).strftime("%d %b %Y") in text


def test_cli_sites_as_of_and_bad_date(log_csv, tmp_path, capsys):
    sites = tmp_path / "sites.csv"
    pd.DataFrame(
        {
            "site_id": ["101", "102", "103", "104", "105"],
            "activation_date": ["2025-08-01"] * 4 + ["2026-09-01"],
        }
    ).to_csv(sites, index=False)
    code = run_cli(
        [
            log_csv,
            "--target",
            90,
            "--as-of",
            "2026-03-31",
            "--sites",
            sites,
            "--sims",
            500,
            "--by-date",
            "2026-12-31",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0 and "As of 2026-03-31" in text and "at 5 sites" in text
    assert run_cli([log_csv, "--by-date", "soon"]) == 2
    assert "--by-date is not a date" in capsys.readouterr().out
    assert run_cli([log_csv, "--sites", tmp_path / "missing.csv"]) == 2
    assert "Sites file not found" in capsys.readouterr().out


def test_forecast_is_registered_in_the_dispatcher():
    from screenkit.cli import COMMANDS

    assert "forecast" in COMMANDS


def test_figures_from_a_result():
    pytest.importorskip("plotly")
    from screenkit.plots.forecast import fan_chart, site_rates

    rng = np.random.default_rng(1)
    log = pd.DataFrame(
        {
            "patient_id": range(90),
            "site_id": rng.choice(list("ABCD"), 90),
            "screening_date": pd.Timestamp("2025-09-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 240, 90)), unit="D"),
            "randomized": rng.random(90) < 0.5,
        }
    )
    result = RecruitmentForecast(n_sims=400, random_state=0).fit(log).predict(target=120)
    fig = fan_chart(result)
    names = [t.name for t in fig.data]
    assert names == ["90% interval", "80% interval", "Median forecast", "Observed randomized"]
    assert fig.data[2].line.dash == "dash"
    assert fig.layout.shapes[0].y0 == 120  # target line
    rates = site_rates(result)
    assert list(rates.data[0].x) == ["A", "B", "C", "D"]
    reached = RecruitmentForecast(n_sims=100).fit(log).predict(target=10)
    assert [t.name for t in fan_chart(reached).data] == ["Observed randomized"]


def test_importing_screenkit_forecast_does_not_import_plotly():
    import subprocess
    import sys

    code = "import sys, screenkit.forecast; print('plotly' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_says_how_the_additional_sites_recruit(log_csv, capsys):
    """New sites' rates are drawn from the fitted Gamma(alpha, beta), not set to its mean."""
    code = run_cli([log_csv, "--target", 150, "--sims", 500, "--by-date", "2026-12-31"])
    text = capsys.readouterr().out
    fc = RecruitmentForecast(n_sims=500, random_state=0).fit(
        pd.read_csv(log_csv).rename(
            columns={
                "Patient ID": "patient_id",
                "Site": "site_id",
                "Screening date": "screening_date",
                "Randomized": "randomized",
            }
        )
    )
    line = next(x for x in text.splitlines() if "additional sites opening on" in x)
    assert code == 0 and "typical site rate" not in text
    assert line.endswith(
        ", each with a screening rate drawn from the fitted between-site distribution "
        f"(mean {fc.alpha_ / fc.beta_:.2f} screened/site/month, declining (closures "
        "included) as in the simulations of the current sites)."
    )


def test_forecast_takes_the_statuses_from_recorded_reasons_when_asked(tmp_path, capsys):
    from screenkit.cli import main
    from screenkit.datasets import sample_path

    log = sample_path("clean")
    outs = {}
    for option in (["--reasons", "fail_reasons"], ["--computed"]):
        out = tmp_path / f"{option[0].strip('-')}.json"
        code = main(
            ["forecast", str(log), "--target", "150", "--sims", "300", *option, "--json", str(out)]
        )
        assert code == 0
        outs[option[0]] = json.loads(out.read_text())
    captured = capsys.readouterr()
    assert "recorded" in captured.err and "--reasons fail_reasons" in captured.err
    assert outs["--reasons"]["source"] == "recorded" and outs["--computed"]["source"] == "computed"
    # recorded mode: 65 of 400 eligible (every eligible patient randomized), computed: 73 of 371
    assert outs["--reasons"]["eligibility"] != outs["--computed"]["eligibility"]
    assert "Eligibility (the recorded screen-failure reasons (NCT07103668))" in captured.out
    with pytest.raises(SystemExit) as both:  # argparse: the two options exclude each other
        main(["forecast", str(log), "--reasons", "x", "--computed"])
    assert both.value.code == 2
