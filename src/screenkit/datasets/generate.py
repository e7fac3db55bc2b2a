"""The generator of the synthetic screening population (vectorized, seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from screenkit.columns import COLUMNS, canonical_order

DEFAULT_SEED = 20251101
"""The seed of the shipped sample files."""

PROTOCOL_ID = "NCT07103668"
"""The protocol whose eligibility decides the ``randomized`` outcome of the sample."""

TRIAL_START = "2025-08-06"
"""First day of screening (NCT07103668 start date, clinical-facts.md)."""

P_RANDOMIZED_IF_ELIGIBLE = 0.85
"""Share of eligible patients who go on to randomization (the rest withdraw)."""

CLEAN_FILE = "screening_log.xlsx"
MESSY_FILE = "screening_log_messy.xlsx"
SHEET = "Screening log"

_STEROID_AGENTS = {
    # agent: (prednisone-equivalence factor, typical daily doses in mg)
    "dexamethasone": (6.67, (0.75, 1.5, 2.0, 3.0, 4.0, 6.0)),
    "prednisone": (1.0, (5.0, 10.0, 20.0, 30.0)),
    "methylprednisolone": (1.25, (4.0, 8.0, 16.0, 32.0)),
    "hydrocortisone": (0.25, (10.0, 20.0, 40.0)),
}

# Rare yes/no history items: P(True). Kept small so that together they exclude roughly
# one patient in six, as in CAR-T screening logs (assumption, see data/sample/README.md).
_RARE_ITEMS = {
    "hiv_pos": 0.001,
    "syphilis_pos": 0.002,
    "htlv_pos": 0.001,
    "covid_persistent": 0.001,
    "active_infection": 0.0048,
    "diffuse_metastases": 0.0,  # drawn with the liver / bone metastases
    "serious_pulmonary_disease": 0.0032,
    "high_bleeding_risk_lesion": 0.0048,
    "cns_disease": 0.0024,
    "unstable_heart_disease": 0.002,
    "cardiac_event_history": 0.0032,
    "bleeding_risk": 0.0032,
    "immunosuppression_or_autoimmune": 0.0032,
    "other_malignancy": 0.0032,
    "prior_gene_therapy": 0.001,
    "severe_allergy": 0.002,
    "severe_mental_disorder": 0.001,
    "acute_instability": 0.0024,
    "other_trial_within_1m": 0.0024,
    "cannot_comply": 0.002,
    "live_vaccine_4w": 0.001,
    "gi_obstruction": 0.006,
    "other_serious_condition": 0.004,
    "tcm_within_2w": 0.008,
}


# --------------------------------------------------------------------------- helpers
def _bool(values: np.ndarray, missing: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    mask = np.zeros(len(values), dtype=bool) if missing is None else missing
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), mask)


def _num(values: np.ndarray, missing: np.ndarray | None = None) -> pd.arrays.FloatingArray:
    values = np.asarray(values, dtype=float)
    mask = np.isnan(values) if missing is None else (missing | np.isnan(values))
    return pd.arrays.FloatingArray(np.where(mask, 0.0, values), mask)


def _lognormal(rng: np.random.Generator, median, sigma: float, n: int) -> np.ndarray:
    return np.exp(np.log(median) + sigma * rng.standard_normal(n))


def _choice(rng: np.random.Generator, values, p, n: int) -> np.ndarray:
    return np.asarray(values)[rng.choice(len(values), size=n, p=np.asarray(p) / np.sum(p))]


# --------------------------------------------------------------------------- sites, dates
def _screening_schedule(
    rng: np.random.Generator, n_patients: int, n_sites: int, start: str, months: int
) -> tuple[np.ndarray, np.ndarray]:
    """Site index (0-based) and screening date of each patient, sorted by date.

    Site 1 opens on the trial start, the others at random times over the first five months
    (staggered activation). Each site screens as a Poisson process with a rate drawn from
    Gamma(shape 2) (Anisimov & Fedorov 2007). Conditioned on the total, the number per
    site is multinomial with weights rate x open time, and the dates within a site's open
    window are uniform: exactly what those Poisson processes give.
    """
    t0 = pd.Timestamp(start)
    days = (t0 + pd.DateOffset(months=months) - t0).days
    max_open = min(150, days // 2)
    open_day = np.sort(rng.integers(0, max_open, size=n_sites))
    open_day[0] = 0
    rate = rng.gamma(2.0, 1.0, size=n_sites)
    weight = rate * (days - open_day)
    counts = rng.multinomial(n_patients, weight / weight.sum())
    site = np.repeat(np.arange(n_sites), counts)
    lo = open_day[site]
    day = lo + np.floor(rng.random(n_patients) * (days - lo)).astype(np.int64)
    order = np.lexsort((site, day))
    dates = (t0 + pd.to_timedelta(day[order], unit="D")).to_numpy(dtype="datetime64[ns]")
    return site[order], dates


def _patient_ids(site_ids: np.ndarray) -> np.ndarray:
    """``S03-0042``: the site, then the patient's screening number at that site."""
    s = pd.Series(site_ids)
    number = s.groupby(s).cumcount().to_numpy() + 1
    width = max(4, len(str(number.max(initial=1))))
    return (s + "-" + pd.Series(number).astype(str).str.zfill(width)).to_numpy(dtype=object)


# --------------------------------------------------------------------------- the generator
def make_sample(
    n_patients: int = 400,
    n_sites: int = 8,
    seed: int = DEFAULT_SEED,
    start: str = TRIAL_START,
    months: int = 14,
    *,
    outcomes: bool = True,
) -> pd.DataFrame:
    """A realistic SYNTHETIC screening log as a canonical frame (one row per patient).

    Parameters
    ----------
    n_patients : exact number of screened patients (rows).
    n_sites : number of sites, ``S01`` ... (site 1 opens on ``start``, the others later).
    seed : seed of the numpy random generator: the same arguments give the same frame.
    start, months : the screening window, ``[start, start + months)``.
    outcomes : add ``randomized`` and ``fail_reasons`` from the NCT07103668 evaluation
        (:func:`add_outcomes`). ``False`` skips the evaluation (fast, no protocol needed).

    Columns have canonical names and dtypes (``columns.DTYPES``), in canonical order.
    Ordinals hold scale positions (HER2 IHC ``2+`` -> 2.0, urine protein ``trace`` -> 0.5).
    Missing values (``<NA>``) are tests not done or results pending.

    >>> a = make_sample(n_patients=30, seed=7, outcomes=False)
    >>> b = make_sample(n_patients=30, seed=7, outcomes=False)
    >>> a.equals(b)
    True
    >>> a["patient_id"].str.match(r"^S0[1-8]-\\d{4}$").all()
    np.True_
    """
    if n_patients < 1 or n_sites < 1 or months < 1:
        raise ValueError(
            "make_sample needs n_patients >= 1, n_sites >= 1 and months >= 1; "
            f"got n_patients={n_patients}, n_sites={n_sites}, months={months}"
        )
    rng = np.random.default_rng(seed)
    n = n_patients
    u = rng.random  # shorthand: u(n) < p is a Bernoulli(p) draw per patient

    site, dates = _screening_schedule(rng, n, n_sites, start, months)
    site_width = max(2, len(str(n_sites)))
    site_ids = np.char.add("S", np.char.zfill(np.arange(1, n_sites + 1).astype(str), site_width))
    site_id = site_ids[site].astype(object)

    col: dict[str, object] = {
        "patient_id": _patient_ids(site_id),
        "site_id": site_id,
        "screening_date": dates,
    }

    # ---- demographics (gastric cancer: about 2 men for 1 woman)
    male = u(n) < 0.68
    age = np.clip(np.rint(rng.normal(59, 10.5, n)), 28, 85)
    weight = np.where(male, rng.normal(65, 10.5, n), rng.normal(54, 8.5, n))
    weight = np.round(np.clip(weight, 35, 110), 1)
    col["sex"] = np.where(male, "M", "F").astype(object)
    col["age_years"] = _num(age)
    col["weight_kg"] = _num(weight, u(n) < 0.01)

    # ---- latent frailty: ties ECOG, haemoglobin, lymphocytes, survival, SpO2 together,
    # so the sicker patients fail several criteria at once (as real screen failures do)
    frail = rng.standard_normal(n)

    # ---- disease and biomarkers
    col["adenocarcinoma_confirmed"] = _bool(u(n) > 0.008)
    col["unresectable"] = _bool(u(n) > 0.005)
    col["prior_lines_failed"] = _num(_choice(rng, [1, 2, 3, 4, 5], [15, 50, 24, 8, 3], n))
    # first line a taxane / anthracycline + platinum + fluoropyrimidine triplet with
    # progression (I2b's one-line route): about a quarter of first lines [U]; not recorded
    # for ~10%. Its own random stream, so the other columns do not move.
    extra = np.random.default_rng([seed, 5])
    triplet = extra.random(n) < 0.25
    col["first_line_triplet_pd"] = _bool(triplet, extra.random(n) < 0.10)

    her2_pos = u(n) < 0.12  # HER-EAGLE: 12.0% in China
    her2 = np.where(
        her2_pos,
        _choice(rng, [3.0, 2.0], [0.7, 0.3], n),
        _choice(rng, [0.0, 1.0, 2.0], [0.55, 0.30, 0.15], n),
    )
    fish = np.where(her2 == 2.0, her2_pos, False)
    fish_missing = (her2 != 2.0) | (u(n) < 0.05)
    her2_missing = u(n) < 0.03
    col["her2_ihc"] = _num(her2, her2_missing)
    col["her2_fish_pos"] = _bool(fish, fish_missing | her2_missing)

    # CLDN18.2 positive (>= 40% of cells at >= 2+) is rarer in HER2-positive tumours.
    cldn_pos = u(n) < np.where(her2_pos, 0.33, 0.60)
    pct_pos = 40 + 5 * np.floor(rng.beta(1.3, 1.4, n) * 12.999)
    pct_neg = np.where(u(n) < 0.35, 0, 5 * rng.integers(1, 8, n))
    col["cldn18_pct_2plus"] = _num(np.where(cldn_pos, pct_pos, pct_neg), u(n) < 0.03)
    prior_cldn = u(n) < 0.03
    col["prior_cldn18_therapy"] = _bool(prior_cldn)
    retested = _choice(rng, [1, 0, -1], [0.6, 0.25, 0.15], n)
    col["cldn18_retested"] = _bool(retested == 1, ~prior_cldn | (retested == -1))

    survival = np.rint(np.exp(np.log(28) - 0.42 * frail + 0.22 * rng.standard_normal(n)))
    col["expected_survival_weeks"] = _num(np.clip(survival, 4, 104))

    liver = u(n) < 0.40
    bone = u(n) < 0.10
    peritoneum = u(n) < 0.60
    peritoneal_only = peritoneum & ~liver & ~bone & (u(n) < 0.4)
    measurable = ~((peritoneal_only & (u(n) < 0.4)) | (u(n) < 0.005))
    lesion = _lognormal(rng, np.where(liver, 2.8, 2.4), 0.45, n)
    lesion = np.round(np.clip(lesion, 1.0, 15.0), 1)
    col["measurable_lesion"] = _bool(measurable)
    col["largest_lesion_cm"] = _num(lesion, ~measurable | (u(n) < 0.01))
    ecog = np.digitize(frail + 0.3 * rng.standard_normal(n), [-0.62, 1.35, 2.2])
    col["ecog"] = _num(ecog.astype(float))
    col["liver_mets"] = _bool(liver, u(n) < 0.01)
    col["bone_mets"] = _bool(bone, u(n) < 0.01)
    col["diffuse_metastases"] = _bool(u(n) < np.where(liver | bone, 0.02, 0.002))
    col["uncontrolled_effusion"] = _bool(u(n) < np.where(peritoneum, 0.02, 0.003))

    # ---- laboratory (canonical units; per-threshold failure rates from clinical-facts.md)
    site_uln = rng.integers(0, 2, n_sites)[site]  # two reference-range conventions
    hb = np.round(rng.normal(10.3, 1.05, n) - 1.0 * frail, 1)
    col["hb"] = _num(np.clip(hb, 5.0, 16.5))
    col["recent_transfusion_or_gcsf"] = _bool(u(n) < np.where(hb < 9, 0.08, 0.01))
    marrow = rng.standard_normal(n)  # marrow reserve after prior chemotherapy
    anc = np.round(3.4 * np.exp(0.36 * marrow + 0.3 * rng.standard_normal(n)), 2)
    col["anc"] = _num(np.clip(anc, 0.3, 20))
    lym = np.round(_lognormal(rng, 0.97, 0.33, n) * np.exp(-0.36 * frail), 2)
    col["lym"] = _num(np.clip(lym, 0.1, 5))
    col["plt"] = _num(
        np.clip(np.rint(190 * np.exp(0.44 * marrow + 0.22 * rng.standard_normal(n))), 20, 900)
    )

    liver_injury = u(n) < np.where(liver, 0.08, 0.025)
    alt_uln = np.where(site_uln == 0, 40.0, 50.0)
    ast_uln = np.where(site_uln == 0, 35.0, 40.0)
    liver_factor = _lognormal(rng, 1.0, 0.35, n) * np.where(liver, 1.3, 1.0)
    liver_factor *= np.where(liver_injury, 4.0, 1.0)
    alt = np.rint(alt_uln * 0.55 * liver_factor * _lognormal(rng, 1.0, 0.35, n))
    ast = np.rint(ast_uln * 0.65 * liver_factor * _lognormal(rng, 1.0, 0.3, n))
    col["alt"], col["alt_uln"] = _num(np.maximum(alt, 5)), _num(alt_uln)
    col["ast"], col["ast_uln"] = _num(np.maximum(ast, 8)), _num(ast_uln)
    alp_uln = np.where(site_uln == 0, 125.0, 150.0)
    alp = alp_uln * 0.7 * _lognormal(rng, 1.0, 0.4, n) * np.where(bone, 1.6, 1.0)
    col["alp"], col["alp_uln"] = (
        _num(np.rint(alp * np.where(liver_injury, 1.8, 1.0))),
        _num(alp_uln),
    )
    tbil_uln = np.where(site_uln == 0, 1.2, 1.0)
    tbil = 0.55 * _lognormal(rng, 1.0, 0.45, n) * np.where(liver_injury, 3.5, 1.0)
    # the lowest values are reported as "<0.2" in the messy file (same bound, same status)
    col["tbil"], col["tbil_uln"] = _num(np.clip(np.round(tbil, 2), 0.2, 20)), _num(tbil_uln)

    creat_uln = np.where(male, 1.2, 1.0) + np.where(site_uln == 0, 0.0, 0.1)
    renal = u(n) < 0.08
    creat = _lognormal(rng, np.where(male, 0.85, 0.68), 0.22, n) * np.where(renal, 2.1, 1.0)
    creat = np.clip(np.round(creat, 2), 0.3, 8.0)
    # no creatinine exactly on 1.5 x ULN: a umol/L round trip may move it by one ulp
    creat = np.where(np.isclose(creat, np.round(1.5 * creat_uln, 2)), creat + 0.01, creat)
    col["creat"], col["creat_uln"] = _num(creat), _num(np.round(creat_uln, 1))

    panc_missing = u(n) < 0.035  # amylase / lipase not done yet
    col["amylase"] = _num(np.rint(110 * 0.55 * _lognormal(rng, 1.0, 0.38, n)), panc_missing)
    col["amylase_uln"] = _num(np.full(n, 110.0))
    lipase = np.clip(np.rint(60 * 0.45 * _lognormal(rng, 1.0, 0.5, n)), 8, None)
    col["lipase"], col["lipase_uln"] = _num(lipase, panc_missing), _num(np.full(n, 60.0))

    uprot = _choice(rng, [0.0, 0.5, 1.0, 2.0, 3.0], [70, 13, 10, 5, 2], n)
    has_24h = (uprot >= 2) & (u(n) < 0.6)
    col["urine_protein"] = _num(uprot, u(n) < 0.02)
    col["urine_protein_24h_g"] = _num(
        np.round(_lognormal(rng, np.where(uprot >= 3, 0.9, 0.5), 0.5, n), 2), ~has_24h
    )
    diabetic = u(n) < 0.12
    glucose = _lognormal(rng, np.where(diabetic, 7.4, 5.3), np.where(diabetic, 0.22, 0.1), n)
    col["fasting_glucose"] = _num(np.round(glucose, 1), u(n) < 0.01)

    # ---- vital signs and ECG
    col["sbp"] = _num(np.rint(rng.normal(124, 14, n)))
    col["dbp"] = _num(np.rint(rng.normal(76, 8.5, n)))
    spo2 = np.rint(97.6 - 0.7 * frail + rng.normal(0, 0.8, n))
    col["spo2"] = _num(np.clip(spo2, 88, 100))
    hr = np.clip(np.rint(rng.normal(80, 12, n) + 4 * frail), 50, 135)
    qtcf = np.rint(rng.normal(np.where(male, 414, 425), 17, n))
    qt = np.rint(qtcf * np.cbrt(60.0 / hr))
    ecg_missing = u(n) < 0.01
    qtcf_given = u(n) < 0.7  # the others report only QT and heart rate
    col["heart_rate_bpm"] = _num(hr, ecg_missing)
    col["qt_ms"] = _num(qt, ecg_missing)
    col["qtcf_ms"] = _num(np.rint(qt / np.cbrt(60.0 / hr)), ecg_missing | ~qtcf_given)
    av_block = u(n) < 0.003
    col["pr_ms"] = _num(np.where(av_block, 270, np.rint(rng.normal(158, 20, n))), ecg_missing)
    col["ecg_abnormality"] = _bool(u(n) < 0.006, ecg_missing)
    cardiomyopathy = u(n) < 0.01
    lvef = np.where(cardiomyopathy, rng.integers(38, 50, n), np.rint(rng.normal(63, 4.5, n)))
    col["lvef"] = _num(np.clip(lvef, 30, 80), u(n) < 0.035)  # echo not done yet

    # ---- steroids: a few on a systemic steroid, given as agent + daily dose
    on_steroid = u(n) < 0.04
    agents = list(_STEROID_AGENTS)
    agent_idx = _choice(rng, np.arange(len(agents)), [40, 30, 20, 10], n)
    dose_pick = rng.random(n)
    dose = np.empty(n)
    for i, name in enumerate(agents):  # a loop over 4 agents, not over patients
        doses = np.asarray(_STEROID_AGENTS[name][1])
        here = agent_idx == i
        dose[here] = doses[np.floor(dose_pick[here] * len(doses)).astype(int)]
    col["steroid_pred_eq_mg_day"] = _num(np.zeros(n), on_steroid)
    col["steroid_agent"] = np.where(on_steroid, np.asarray(agents, dtype=object)[agent_idx], None)
    col["steroid_dose_mg_day"] = _num(dose, ~on_steroid)
    col["steroid_days"] = _num(np.where(on_steroid, rng.integers(1, 15, n), 0))

    # ---- wash-out: days since the last anti-tumour treatment, half-life for some
    recent = u(n) < 0.035
    since = np.where(recent, rng.integers(12, 28, n), rng.integers(28, 120, n))
    col["days_since_antitumor_tx"] = _num(since, u(n) < 0.01)
    half_life = _choice(rng, [0.5, 1.0, 2.0, 3.0, 7.0, 12.0, 21.0], [2, 3, 3, 2, 1, 2, 3], n)
    col["antitumor_half_life_days"] = _num(half_life, u(n) > 0.35)

    # ---- infections: HBV DNA and HCV RNA are tested only after a positive serology
    female_fertile = ~male & (age < 52)
    col["pregnant_or_breastfeeding"] = _bool(female_fertile & (u(n) < 0.01))
    hbsag, hbcab = u(n) < 0.07, u(n) < 0.25
    hbv_tested = hbsag | hbcab
    hbv_dna = _choice(rng, [1, 0, -1], [0.03, 0.87, 0.10], n)  # -1: result pending
    col["hbsag_pos"], col["hbcab_pos"] = _bool(hbsag), _bool(hbcab)
    col["hbv_dna_pos"] = _bool(hbv_dna == 1, ~hbv_tested | (hbv_dna == -1))
    hcv_ab = u(n) < 0.01
    col["hcv_ab_pos"] = _bool(hcv_ab)
    col["hcv_rna_pos"] = _bool(u(n) < 0.3, ~hcv_ab)
    for name in ("ebv_igm_pos", "cmv_igm_pos"):
        col[name] = _bool(u(n) < 0.003, u(n) < 0.012)  # a few results still pending
    for name, p in _RARE_ITEMS.items():
        if p:
            col[name] = _bool(u(n) < p)
    col["consent_signed"] = _bool(u(n) > 0.005)
    col["willing_to_comply"] = _bool(u(n) > 0.005)

    frame = pd.DataFrame(col)
    frame = frame[canonical_order(frame.columns)]
    frame = frame.astype({name: COLUMNS[name].dtype for name in frame.columns})
    if outcomes:
        frame = add_outcomes(frame, seed=seed)
    return frame


def add_outcomes(frame: pd.DataFrame, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Add ``randomized`` and ``fail_reasons`` from the NCT07103668 evaluation.

    Eligible patients are randomized with probability 0.85 (the rest withdraw before
    randomization); screen-failed and pending patients are not randomized.
    ``fail_reasons`` lists the failed criterion IDs (``I3a; I6``), as real logs record
    them; it is missing for patients who failed nothing. Returns a new frame.

    >>> df = add_outcomes(make_sample(n_patients=40, seed=3, outcomes=False), seed=3)
    >>> df["randomized"].dtype, int(df["randomized"].sum()) <= 40
    (BooleanDtype, True)
    """
    from screenkit.evaluate import evaluate  # right-to-left import, only for the outcomes
    from screenkit.protocol import get_protocol

    result = evaluate(
        frame.drop(columns=["randomized", "fail_reasons"], errors="ignore"),
        get_protocol(PROTOCOL_ID),
    )
    status = np.asarray(result.status, dtype=object)
    statuses = result.statuses
    failed = (statuses == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    patterns, which = np.unique(np.packbits(failed, axis=1), axis=0, return_inverse=True)
    ids = np.asarray(statuses.columns, dtype=object)
    texts = np.array(
        [
            "; ".join(ids[np.unpackbits(p, count=failed.shape[1]).astype(bool)]) or None
            for p in patterns
        ],  # one string per distinct fail pattern, not per patient
        dtype=object,
    )
    rng = np.random.default_rng([seed, 1])  # its own stream: patients are unchanged
    randomized = (status == "eligible") & (rng.random(len(frame)) < P_RANDOMIZED_IF_ELIGIBLE)
    out = frame.copy()
    out["randomized"] = _bool(randomized)
    out["fail_reasons"] = pd.array(texts[np.ravel(which)], dtype="string")
    return out[canonical_order(out.columns)]
