"""Recruitment rates and the forecast estimator: outcomes, edge cases, what-if, contracts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenkit.errors import InputError, ScreenkitError
from screenkit.forecast import RecruitmentForecast, patient_outcomes, recruitment_rates
from screenkit.forecast.model import site_data
from screenkit.stats import wilson_interval

START = pd.Timestamp("2025-08-06")


def make_log(n=240, sites=6, days=360, seed=1, p_elig=0.6, p_rand=0.85, pending=0.05):
    rng = np.random.default_rng(seed)
    weights = rng.gamma(2.0, 1.0, sites)
    status = rng.choice(
        ["eligible", "screen_failed", "pending"], n, p=[p_elig, 1 - p_elig - pending, pending]
    )
    log = pd.DataFrame(
        {
            "patient_id": [f"P{i:04d}" for i in range(n)],
            "site_id": rng.choice(
                [f"{s + 1:02d}" for s in range(sites)], n, p=weights / weights.sum()
            ),
            "screening_date": START + pd.to_timedelta(np.sort(rng.integers(0, days, n)), unit="D"),
            "status": status,
        }
    )
    log["randomized"] = (log["status"] == "eligible") & (rng.random(n) < p_rand)
    return log


@pytest.fixture(scope="module")
def log():
    return make_log()


# ---------------------------------------------------------------------------- rates
def test_rates_conserve_counts_per_site_and_month(log):
    rates = recruitment_rates(log)
    for table in (rates.sites, rates.monthly):
        assert (
            table["screened"] == table["eligible"] + table["screen_failed"] + table["pending"]
        ).all()
    assert rates.screened == len(log)
    assert rates.monthly["screened"].sum() == len(log)
    assert rates.randomized == int(log["randomized"].sum())


def test_eligibility_ci_is_wilson(log):
    rates = recruitment_rates(log)
    e = int((log["status"] == "eligible").sum())
    f = int((log["status"] == "screen_failed").sum())
    assert rates.eligibility_rate == pytest.approx(e / (e + f))
    assert rates.eligibility_ci == pytest.approx(wilson_interval(e, e + f))
    assert rates.number_needed_to_screen == pytest.approx(len(log) / log["randomized"].sum())


def test_rates_literal_small_log():
    log = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d"],
            "site_id": ["1", "1", "2", "2"],
            "screening_date": pd.to_datetime(
                ["2025-09-01", "2025-09-20", "2025-09-05", "2025-10-02"]
            ),
            "fail_reasons": ["", "ECOG 2", pd.NA, "Hb 7.1"],
        }
    )
    rates = recruitment_rates(log, as_of="2025-10-31")
    expected = pd.DataFrame(
        {"site_id": ["1", "2"], "screened": [2, 2], "eligible": [1, 1], "screen_failed": [1, 1]}
    )
    got = rates.sites[["site_id", "screened", "eligible", "screen_failed"]]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert rates.outcome == "eligible"  # no randomized column: eligible is what is counted
    assert rates.sites["activation_source"].eq("first screening").all()
    assert "<b>Recruitment as of 2025-10-31</b>" in rates._repr_html_()
    assert rates.to_frame().equals(rates.sites)


def test_sites_table_activation_closing_and_future_site(log):
    sites = pd.DataFrame(
        {
            "site_id": ["01", "02", "99"],
            "activation_date": ["2025-07-01", "2025-08-01", "2027-01-01"],
            "closing_date": ["2026-03-01", None, None],
        }
    )
    rates = recruitment_rates(log, sites=sites)
    table = rates.sites.set_index("site_id")
    assert table.loc["01", "state"] == "closed"
    assert table.loc["99", "state"] == "not yet open"
    assert table.loc["99", "screened"] == 0
    assert table.loc["01", "months_active"] == pytest.approx(243 / (365.25 / 12))
    assert any("missing from the sites table" in note for note in rates.notes)


def test_first_screening_defines_window_and_is_not_counted():
    log = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "site_id": ["1", "1", "1"],
            "screening_date": pd.to_datetime(["2025-09-01", "2025-10-01", "2025-11-01"]),
            "randomized": [True, False, True],
        }
    )
    data = site_data(recruitment_rates(log))
    assert data.k.tolist() == [2.0]  # three screenings, the first marks the start
    with_table = site_data(
        recruitment_rates(
            log, sites=pd.DataFrame({"site_id": ["1"], "activation_date": ["2025-08-01"]})
        )
    )
    assert with_table.k.tolist() == [3.0]


def test_outcome_from_evaluation_like_object(log):
    class FakeEvaluation:
        data = log.drop(columns=["status", "randomized"])
        status = pd.Series("screen_failed", index=log.index).where(log.index % 2 == 0, "eligible")

    outcomes = patient_outcomes(FakeEvaluation())
    assert outcomes["status"].value_counts().to_dict() == {
        "screen_failed": len(log) // 2,
        "eligible": len(log) // 2,
    }


def test_bad_status_and_bad_yes_no_values_are_named(log):
    bad = log.assign(status=log["status"].where(log.index != 3, "maybe"))
    with pytest.raises(InputError, match="Screening status not understood") as err:
        recruitment_rates(bad)
    assert "'maybe'" in str(err.value)
    bad = log.assign(randomized=log["randomized"].astype(str).where(log.index != 2, "perhaps"))
    with pytest.raises(InputError, match="'randomized' must be yes/no"):
        recruitment_rates(bad)


# ------------------------------------------------------------------- edge cases
def test_no_dates_is_a_clear_error(log):
    with pytest.raises(InputError, match="No screening dates") as err:
        RecruitmentForecast().fit(log.assign(screening_date=pd.NaT))
    assert "Fix: fill in screening_date" in str(err.value)
    with pytest.raises(InputError, match="needs a patient ID and a screening date"):
        RecruitmentForecast().fit(log.drop(columns="screening_date"))


def test_one_site_fixes_the_between_site_shape(log):
    one = log.assign(site_id="01")
    fc = RecruitmentForecast(n_sims=500, random_state=0).fit(one)
    assert any("Only one site has been observed" in n for n in fc.notes_)
    assert fc.alpha_ == pytest.approx(1.5)
    result = fc.predict(target=300)
    assert result.median_date is not None and result.median_date > result.as_of


def test_no_randomized_yet_falls_back_to_eligibility(log):
    fc = RecruitmentForecast(n_sims=500, random_state=0).fit(log.assign(randomized=False))
    result = fc.predict(target=300)
    assert result.outcome == "eligible"
    assert result.randomized_so_far == int((log["status"] == "eligible").sum())
    message = "No patient is recorded as randomized: counting eligible patients as randomized"
    assert any(message in n for n in result.notes)
    assert message in result.summary()


def test_no_outcome_at_all_is_a_clear_error(log):
    with pytest.raises(InputError, match="neither randomization nor eligibility"):
        RecruitmentForecast().fit(log.drop(columns=["status", "randomized"]))


def test_target_already_reached(log):
    result = RecruitmentForecast(n_sims=200, random_state=0).fit(log).predict(target=20)
    assert result.reached and result.prob_by_date == 1.0
    reached_on = log.loc[log["randomized"], "screening_date"].sort_values().iloc[19]
    assert result.median_date == reached_on
    assert f"The target of 20 was already reached on {reached_on.date()}" in result.summary()


def test_all_sites_closed_is_a_clear_error(log):
    sites = pd.DataFrame(
        {
            "site_id": sorted(log["site_id"].unique()),
            "activation_date": "2025-08-01",
            "closing_date": "2026-06-01",
        }
    )
    fc = RecruitmentForecast(n_sims=200).fit(log, sites=sites, as_of="2026-07-01")
    with pytest.raises(InputError, match="All sites are closed as of 2026-07-01") as err:
        fc.predict(target=500)
    assert "Fix: add sites that will open" in str(err.value)


def test_unfitted_and_bad_arguments():
    with pytest.raises(ScreenkitError, match="not fitted yet"):
        RecruitmentForecast().predict()
    with pytest.raises(ScreenkitError, match="Unknown forecast model"):
        RecruitmentForecast(model="linear").fit(make_log(n=30))


# ------------------------------------------------------------------- behaviour
def test_plain_enrollment_log_without_clinical_columns():
    full = make_log(n=150, seed=4)
    plain = full.loc[full["randomized"], ["patient_id", "site_id", "screening_date"]]
    plain = plain.assign(randomized="Y")
    fc = RecruitmentForecast(model="constant", n_sims=500, random_state=1).fit(plain)
    result = fc.predict(target=200)
    assert result.outcome == "randomized"
    assert result.randomized_so_far == len(plain)
    assert result.pi80[0] <= result.median_date <= result.pi80[1]
    assert result.pi90[0] <= result.pi80[0] and result.pi80[1] <= result.pi90[1]
    # the default model lets rates decline and sites close: where the target may never be
    # reached, the open upper end is said in words with the probability of reaching it
    averaged = RecruitmentForecast(n_sims=500, random_state=1).fit(plain).predict(target=200)
    assert averaged.pi90[0] <= averaged.median_date
    assert 0 < averaged.prob_reached <= 1
    if averaged.pi90[1] is None:
        assert averaged.prob_reached < 0.95
        assert f"reached at all in only {averaged.prob_reached:.0%}" in averaged.summary()
    else:
        assert averaged.prob_reached >= 0.95


def test_seeded_and_reproducible_and_input_untouched(log):
    before = log.copy()
    a = RecruitmentForecast(n_sims=800, random_state=7).fit(log, as_of="2026-03-01").predict(150)
    b = RecruitmentForecast(n_sims=800, random_state=7).fit(log, as_of="2026-03-01").predict(150)
    assert a.to_dict() == b.to_dict()
    pd.testing.assert_frame_equal(log, before)


def test_json_contract_keys(log):
    result = (
        RecruitmentForecast(n_sims=500, random_state=0)
        .fit(log, as_of="2026-02-01")
        .predict(target=150, by_date="2027-05-31")
    )
    d = result.to_dict()
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
        assert key in d
    assert d["as_of"] == "2026-02-01" and d["by_date"] == "2027-05-31"
    assert len(d["pi80"]) == 2 and all(len(x) == 10 for x in d["pi80"] + d["pi90"])
    assert 0 <= d["prob_by_date"] <= 1


def test_what_if_higher_eligibility_is_earlier_and_original_unchanged(log):
    fc = RecruitmentForecast(n_sims=1000, random_state=3).fit(log, as_of="2026-02-01")
    before = fc.predict(target=200)
    relaxed_status = log["status"].replace({"screen_failed": "eligible"})
    relaxed = fc.with_eligibility(relaxed_status)
    after = relaxed.predict(target=200)
    assert after.median_date < before.median_date
    assert relaxed.p_randomized_ > fc.p_randomized_
    again = fc.predict(target=200)
    assert again.median_date == before.median_date  # the original is untouched
    assert any("Eligibility replaced" in n for n in after.notes)
    with pytest.raises(ScreenkitError, match="eligibility must be an Evaluation"):
        fc.with_eligibility("lots")


def test_additional_sites_increase_with_an_earlier_by_date(log):
    fc = RecruitmentForecast(n_sims=1000, random_state=5).fit(log, as_of="2026-02-01")
    late = fc.predict(target=200, by_date="2028-06-30").additional_sites
    early = fc.predict(target=200, by_date="2026-12-31").additional_sites
    assert late is not None and early is not None and early > late


def test_fan_quantiles_are_ordered_and_start_at_observed(log):
    result = (
        RecruitmentForecast(n_sims=500, random_state=0).fit(log, as_of="2026-02-01").predict(200)
    )
    fan = result.fan
    assert (fan["q05"] <= fan["q10"]).all() and (fan["q10"] <= fan["q50"]).all()
    assert (fan["q50"] <= fan["q90"]).all() and (fan["q90"] <= fan["q95"]).all()
    assert fan["q50"].is_monotonic_increasing
    assert fan["q05"].iloc[0] >= result.randomized_so_far
    assert "Recruitment forecast" in result._repr_html_()
    assert set(result.to_frame().columns) == {"quantity", "value"}


def test_what_if_with_a_real_evaluation_of_the_sample():
    sk = pytest.importorskip("screenkit")
    try:
        data = sk.load_sample()
    except Exception as err:  # the sample is generated by another stage
        pytest.skip(f"sample not available: {err}")
    protocol = sk.get_protocol("NCT07103668")
    fc = RecruitmentForecast(n_sims=1000, random_state=0).fit(data)
    base = fc.with_eligibility(sk.evaluate(data, protocol))
    relaxed = fc.with_eligibility(sk.evaluate(data, protocol, lesion_max_cm=15))
    assert relaxed.p_randomized_ >= base.p_randomized_
    assert any("lesion_max_cm=15" in n for n in relaxed.notes_)
    assert relaxed.predict(150).median_date <= base.predict(150).median_date


def test_sites_opening_later_bring_the_date_forward_and_closing_sites_delay_it(log):
    ids = sorted(log["site_id"].unique())
    base_sites = pd.DataFrame({"site_id": ids, "activation_date": "2025-08-01"})
    more = pd.concat(
        [
            base_sites,
            pd.DataFrame({"site_id": ["N1", "N2", "N3", "N4"], "activation_date": "2026-03-01"}),
        ],
        ignore_index=True,
    )
    closing = base_sites.assign(closing_date=["2026-04-01"] * 3 + [None] * (len(ids) - 3))

    def median(sites):
        fc = RecruitmentForecast(n_sims=1000, random_state=9)
        return fc.fit(log, sites=sites, as_of="2026-02-01").predict(target=250).median_date

    base = median(base_sites)
    assert median(more) < base < median(closing)


# ------------------------------------------------- plain logs and unresolved outcomes
def plain_log(randomized, n=60, seed=2):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "site_id": rng.choice(["A", "B", "C"], n),
            "screening_date": START + pd.to_timedelta(np.sort(rng.integers(0, 300, n)), unit="D"),
            "randomized": randomized,
        }
    )


def test_plain_log_nobody_randomized_yet_runs_with_a_stated_jeffreys_prior():
    log = plain_log(["N"] * 60)
    fc = RecruitmentForecast(n_sims=500, random_state=0).fit(log)
    assert fc.rates_.outcome == "randomized"  # randomization is recorded: zero so far
    assert fc.p_eligible_ == (0.5, 60.5) and fc.p_conversion_ == 1.0  # Beta(0.5, 0.5) + 0/60
    assert fc.pending_ == 0
    result = fc.predict(target=30)
    assert result.randomized_so_far == 0 and result.outcome == "randomized"
    assert result.notes[0].startswith("No patient has been randomized yet (0 of 60 screened")
    assert "Jeffreys Beta(0.5, 0.5) prior updated with 0 of 60" in result.notes[0]
    text = result.summary()
    assert text.splitlines()[1].startswith("Caution: no patient has been randomized yet")
    assert "status" not in text  # no column the user never gave
    assert result.to_dict()["number_needed_to_screen"] is None
    # few screened: the prior dominates and the forecast is wide but finite
    small = RecruitmentForecast(model="constant", n_sims=500, random_state=0).fit(
        plain_log(["N"] * 8, n=8)
    )
    assert small.predict(target=5).median_date is not None


def test_plain_log_with_blank_randomized_is_a_clear_error():
    for blank in ([""] * 60, [None] * 60):
        with pytest.raises(InputError, match="'randomized' column is blank for every") as err:
            RecruitmentForecast().fit(plain_log(blank))
        text = str(err.value)
        assert "Y/N" in text and "'status' column" in text and "'fail_reasons'" in text
        assert "columns found" not in text and "neither randomization" not in text


def test_no_outcome_lists_only_the_columns_the_user_gave(log):
    with pytest.raises(InputError, match="neither randomization nor eligibility") as err:
        RecruitmentForecast().fit(log.drop(columns=["status", "randomized"]))
    assert "columns found: patient_id, site_id, screening_date\n" in str(err.value) + "\n"


def _blank_conversion_log():
    """59 eligible (28 randomized, 31 not known yet) and 100 screen-failed."""
    log = make_log(n=159, seed=6, pending=0.0)
    status = ["eligible"] * 59 + ["screen_failed"] * 100
    randomized = [True] * 28 + [None] * 31 + [False] * 100
    order = np.random.default_rng(0).permutation(159)
    return log.assign(
        status=np.array(status)[order], randomized=pd.array(np.array(randomized)[order])
    )


def test_blank_randomized_among_eligible_is_pending_not_a_failure():
    log = _blank_conversion_log()
    fc = RecruitmentForecast(n_sims=4000, random_state=0).fit(log)
    assert fc.p_conversion_ == (28.5, 0.5)  # not (28.5, 31.5): blanks are unresolved
    assert fc.pending_conversion_ == 31 and fc.pending_ == 0
    assert any("31 eligible patients have no randomization outcome yet" in n for n in fc.notes_)
    result = fc.predict(target=400)
    # at the as-of date the 31 unresolved are randomized with P(randomized | eligible)
    expected_now = 28 + 31 * 28.5 / 29
    assert result.fan["mean"].iloc[0] == pytest.approx(expected_now, abs=0.3)
    as_no = RecruitmentForecast(n_sims=500, random_state=0).fit(
        log.assign(randomized=log["randomized"].fillna(False))
    )
    assert as_no.p_conversion_ == (28.5, 31.5) and as_no.pending_conversion_ == 0


def test_what_if_recomputes_pending_from_the_new_evaluation(log):
    fc = RecruitmentForecast(n_sims=300, random_state=0).fit(log)
    was_pending = log["status"] == "pending"
    assert fc.pending_ == int(was_pending.sum()) > 0 and fc.pending_conversion_ == 0
    # the what-if decides the patients the log leaves open ...
    resolved = fc.with_eligibility(log["status"].replace({"pending": "eligible"}))
    assert resolved.pending_ == 0 and resolved.pending_conversion_ == int(was_pending.sum())
    failed = fc.with_eligibility(log["status"].replace({"pending": "screen_failed"}))
    assert failed.pending_ == 0 and failed.pending_conversion_ == 0
    # ... but patients the log has settled stay settled
    more = log["status"].where(log.index % 10 != 0, "pending")
    assert fc.with_eligibility(more).pending_ == fc.pending_
    assert fc.with_eligibility(0.5).pending_ == fc.pending_  # a rate says nothing about who
    assert fc.pending_ == int(was_pending.sum())  # the original is unchanged
    assert resolved.predict(200).fan["mean"].iloc[0] > 0


def test_site_and_month_tables_have_eligibility_ci_and_number_needed_to_screen(log):
    rates = recruitment_rates(log)
    counts = ["screened", "eligible", "screen_failed", "pending", "randomized"]
    added = ["eligibility_rate", "eligibility_ci_low", "eligibility_ci_high"]
    added.append("number_needed_to_screen")
    for table, keys in ((rates.sites, ["site_id"]), (rates.monthly, ["site_id", "month"])):
        assert list(table.columns[: len(keys)]) == keys
        assert set(counts + added) <= set(table.columns)
        e, f = table["eligible"], table["screen_failed"]
        lo, hi = wilson_interval(e.to_numpy(), (e + f).to_numpy())
        np.testing.assert_allclose(table["eligibility_rate"], e / (e + f))
        np.testing.assert_allclose(table["eligibility_ci_low"], lo)
        np.testing.assert_allclose(table["eligibility_ci_high"], hi)
        r = table["randomized"]
        nns = table["number_needed_to_screen"]
        np.testing.assert_allclose(nns[r > 0], (table["screened"] / r)[r > 0])
        assert nns[r == 0].isna().all()
    assert rates.monthly["randomized"].eq(0).any()  # the NaN branch is exercised
    plain = recruitment_rates(log[["patient_id", "site_id", "screening_date"]].assign(enrolled=1))
    assert plain.sites["eligibility_rate"].isna().all()
    assert plain.sites["eligibility_ci_low"].isna().all()
    np.testing.assert_allclose(plain.sites["number_needed_to_screen"], 1.0)
    unknown = recruitment_rates(log.drop(columns="randomized"))
    assert unknown.sites["number_needed_to_screen"].isna().all()
