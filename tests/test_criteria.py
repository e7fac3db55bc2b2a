"""Every NCT07103668 criterion at its boundaries, with unknown inputs and its branches.

Each case changes one thing on an otherwise fully passing patient (conftest.PASSING) and
states the expected status of one criterion: "pass", "fail" or "unknown".
"""

from __future__ import annotations

import pandas as pd
import pytest

from screenkit.evaluate import evaluate

from .conftest import canonical_frame, patient

NA = None
CASES = [
    # ---- worked examples from shared/domain/imc002-criteria.md
    ("I7f", dict(alt=100.0), "pass"),  # exactly 2.5 x 40
    ("I7f", dict(alt=120.0, liver_mets=True), "pass"),
    ("I7f", dict(alt=120.0, liver_mets=NA), "unknown"),
    ("I7f", dict(alt=30.0, liver_mets=NA), "pass"),
    ("I7f", dict(alt=200.0, liver_mets=True), "fail"),  # exactly 5 x 40, strict <
    ("I7i", dict(creat=2.0), "fail"),  # CrCl 41.3
    ("I7i", dict(creat=1.7, age_years=30.0, weight_kg=80.0), "pass"),  # CrCl 71.9
    ("I7i", dict(creat=2.0, weight_kg=NA), "unknown"),
    ("E3", dict(her2_ihc=NA), "pass"),
    ("E3", dict(her2_ihc=2.0, her2_fish_pos=NA), "pass"),
    ("E3", dict(her2_ihc=2.0, her2_fish_pos=True), "fail"),
    ("E7", dict(spo2=95.0), "fail"),
    ("E12c", dict(qtcf_ms=NA, qt_ms=430.0, heart_rate_bpm=90.0, sex=NA), "fail"),  # 492
    ("E12c", dict(qtcf_ms=NA, qt_ms=420.0, heart_rate_bpm=75.0, sex="F"), "pass"),  # 452
    ("E18", dict(days_since_antitumor_tx=20.0, antitumor_half_life_days=3.0), "pass"),
    ("E18", dict(days_since_antitumor_tx=20.0, antitumor_half_life_days=NA), "fail"),
    ("I7j", dict(urine_protein=2.0, urine_protein_24h_g=0.6), "pass"),
    ("I7j", dict(urine_protein=3.0, urine_protein_24h_g=NA), "unknown"),
    ("I3b", dict(prior_cldn18_therapy=False, cldn18_retested=NA), "pass"),
    # ---- I1 age
    ("I1", dict(age_years=18.0), "pass"),
    ("I1", dict(age_years=17.9), "fail"),
    ("I1", dict(age_years=NA), "unknown"),
    # ---- I2a / I2b
    ("I2a", dict(unresectable=False), "fail"),
    ("I2a", dict(adenocarcinoma_confirmed=False, unresectable=NA), "fail"),  # False and ? = False
    ("I2a", dict(unresectable=NA), "unknown"),
    ("I2b", dict(prior_lines_failed=2.0), "pass"),
    ("I2b", dict(prior_lines_failed=1.0), "fail"),
    # ---- I3a / I3b
    ("I3a", dict(cldn18_pct_2plus=40.0), "pass"),
    ("I3a", dict(cldn18_pct_2plus=39.9), "fail"),
    ("I3a", dict(cldn18_pct_2plus=NA), "unknown"),
    ("I3b", dict(prior_cldn18_therapy=True, cldn18_retested=False), "fail"),
    ("I3b", dict(prior_cldn18_therapy=True, cldn18_retested=True), "pass"),
    ("I3b", dict(prior_cldn18_therapy=True, cldn18_retested=NA), "unknown"),
    # ---- I4, I5, I6
    ("I4", dict(expected_survival_weeks=12.0), "pass"),
    ("I4", dict(expected_survival_weeks=11.9), "fail"),
    ("I5a", dict(measurable_lesion=False), "fail"),
    ("I5b", dict(largest_lesion_cm=4.99), "pass"),
    ("I5b", dict(largest_lesion_cm=5.0), "pass"),
    ("I5b", dict(largest_lesion_cm=5.01), "fail"),
    ("I5b", dict(largest_lesion_cm=NA), "unknown"),
    ("I6", dict(ecog=1.0), "pass"),
    ("I6", dict(ecog=2.0), "fail"),
    # ---- I7 haematology
    ("I7a", dict(recent_transfusion_or_gcsf=True), "fail"),
    ("I7b", dict(anc=1.5), "pass"),
    ("I7b", dict(anc=1.49), "fail"),
    ("I7c", dict(plt=75.0), "pass"),
    ("I7c", dict(plt=74.0), "fail"),
    ("I7d", dict(hb=8.0), "pass"),
    ("I7d", dict(hb=7.99), "fail"),
    ("I7e", dict(lym=0.5), "pass"),
    ("I7e", dict(lym=0.49), "fail"),
    # ---- I7 liver: ALT / AST with liver metastases; bilirubin
    ("I7f", dict(alt=100.1, liver_mets=False), "fail"),
    ("I7f", dict(alt=199.9, liver_mets=True), "pass"),
    ("I7f", dict(alt_uln=NA), "unknown"),
    ("I7g", dict(ast=87.5), "pass"),  # exactly 2.5 x 35
    ("I7g", dict(ast=87.6, liver_mets=False), "fail"),
    ("I7g", dict(ast=100.0, liver_mets=True), "pass"),
    ("I7g", dict(ast=175.0, liver_mets=True), "fail"),  # exactly 5 x 35
    ("I7g", dict(ast=100.0, liver_mets=NA), "unknown"),
    ("I7h", dict(tbil=2.4), "pass"),  # exactly 2 x 1.2
    ("I7h", dict(tbil=2.41), "fail"),
    # ---- I7 renal: creatinine with Cockcroft-Gault rescue, urine protein
    ("I7i", dict(creat=1.65), "pass"),  # exactly 1.5 x 1.1 (floating point: 1.6500000000000001)
    ("I7i", dict(creat=1.2, age_years=NA, weight_kg=NA), "pass"),  # normal creatinine decides
    # female 40 y 60 kg creat 1.7: male CrCl 49.0, female 41.7 -> fail for either sex
    ("I7i", dict(creat=1.7, age_years=40.0, weight_kg=60.0, sex=NA), "fail"),
    # 30 y 70 kg creat 1.7: male 62.9, female 53.5 -> both above 50: pass, sex unknown
    ("I7i", dict(creat=1.7, age_years=30.0, weight_kg=70.0, sex=NA), "pass"),
    # 30 y 60 kg creat 1.7: male 53.9, female 45.8 -> straddles 50: sex decides
    ("I7i", dict(creat=1.7, age_years=30.0, weight_kg=60.0, sex=NA), "unknown"),
    ("I7i", dict(creat=1.7, age_years=30.0, weight_kg=60.0, sex="M"), "pass"),
    ("I7i", dict(creat=1.7, age_years=30.0, weight_kg=60.0, sex="F"), "fail"),
    # male, 68 y, 100 kg, creatinine 2.0: CrCl = 72 x 100 / (72 x 2.0) = 50.0, not > 50
    ("I7i", dict(creat=2.0, age_years=68.0, weight_kg=100.0), "fail"),
    ("I7i", dict(creat=2.0, age_years=68.0, weight_kg=100.5), "pass"),  # 50.25
    ("I7j", dict(urine_protein=1.0), "pass"),
    ("I7j", dict(urine_protein=0.5), "pass"),  # trace
    ("I7j", dict(urine_protein=2.0, urine_protein_24h_g=1.0), "fail"),  # strict < 1 g
    ("I7j", dict(urine_protein=2.0, urine_protein_24h_g=0.99), "pass"),
    ("I7j", dict(urine_protein=NA), "unknown"),
    ("I7j", dict(urine_protein=NA, urine_protein_24h_g=0.2), "pass"),
    # ---- I7 pancreas, ALP with bone metastases
    ("I7k", dict(amylase=150.0), "pass"),
    ("I7k", dict(amylase=151.0), "fail"),
    ("I7l", dict(lipase=90.0), "pass"),
    ("I7l", dict(lipase=90.5), "fail"),
    ("I7m", dict(alp=300.0), "pass"),  # exactly 2.5 x 120
    ("I7m", dict(alp=301.0, bone_mets=False), "fail"),
    ("I7m", dict(alp=500.0, bone_mets=True), "pass"),
    ("I7m", dict(alp=600.0, bone_mets=True), "fail"),  # exactly 5 x 120
    ("I7m", dict(alp=400.0, bone_mets=NA), "unknown"),
    ("I10", dict(consent_signed=False), "fail"),
    ("I10", dict(consent_signed=NA), "unknown"),
    ("I11", dict(willing_to_comply=False), "fail"),
    # ---- exclusions
    ("E1", dict(sex="F", pregnant_or_breastfeeding=True), "fail"),
    ("E1", dict(sex="F", pregnant_or_breastfeeding=NA), "unknown"),
    ("E1", dict(sex="F", pregnant_or_breastfeeding=False), "pass"),
    # not applicable to men: passes whatever the cell holds
    ("E1", dict(sex="M", pregnant_or_breastfeeding=NA), "pass"),
    ("E1", dict(sex="M", pregnant_or_breastfeeding=True), "pass"),
    ("E1", dict(sex=NA, pregnant_or_breastfeeding=NA), "unknown"),
    ("E1", dict(sex=NA, pregnant_or_breastfeeding=False), "pass"),
    ("E1", dict(sex=NA, pregnant_or_breastfeeding=True), "unknown"),
    ("E2", dict(hiv_pos=True), "fail"),
    ("E2", dict(hbcab_pos=True, hbv_dna_pos=False), "pass"),
    ("E2", dict(hbcab_pos=True, hbv_dna_pos=True), "fail"),
    ("E2", dict(hbsag_pos=True, hbv_dna_pos=NA), "unknown"),
    ("E2", dict(hcv_ab_pos=True, hcv_rna_pos=False), "pass"),
    ("E2", dict(hcv_ab_pos=True, hcv_rna_pos=True), "fail"),
    ("E2", dict(covid_persistent=True), "fail"),
    ("E3", dict(her2_ihc=3.0), "fail"),
    ("E3", dict(her2_ihc=2.0, her2_fish_pos=False), "pass"),
    ("E3", dict(her2_ihc=1.0, her2_fish_pos=True), "pass"),
    ("E4", dict(active_infection=True), "fail"),
    ("E5", dict(uncontrolled_effusion=True), "fail"),
    ("E6", dict(diffuse_metastases=True), "fail"),
    ("E7", dict(spo2=96.0), "pass"),
    ("E7", dict(spo2=95.5), "pass"),
    ("E7", dict(spo2=NA), "unknown"),
    ("E8", dict(serious_pulmonary_disease=True), "fail"),
    ("E9", dict(high_bleeding_risk_lesion=True), "fail"),
    ("E10", dict(cns_disease=True), "fail"),
    ("E11a", dict(unstable_heart_disease=True), "fail"),
    ("E11b", dict(sbp=159.0), "pass"),
    ("E11b", dict(sbp=160.0), "fail"),
    ("E11b", dict(dbp=100.0), "pass"),
    ("E11b", dict(dbp=101.0), "fail"),
    ("E11b", dict(sbp=170.0, dbp=NA), "fail"),
    ("E11b", dict(sbp=NA), "unknown"),
    ("E11c", dict(fasting_glucose=10.1), "pass"),
    ("E11c", dict(fasting_glucose=10.2), "fail"),
    ("E12a", dict(lvef=50.0), "pass"),
    ("E12a", dict(lvef=49.0), "fail"),
    ("E12b", dict(cardiac_event_history=True), "fail"),
    ("E12c", dict(qtcf_ms=450.0, sex="M"), "pass"),
    ("E12c", dict(qtcf_ms=451.0, sex="M"), "fail"),
    ("E12c", dict(qtcf_ms=470.0, sex="F"), "pass"),
    ("E12c", dict(qtcf_ms=471.0, sex="F"), "fail"),
    ("E12c", dict(qtcf_ms=460.0, sex=NA), "unknown"),
    ("E12c", dict(qtcf_ms=440.0, sex=NA), "pass"),
    ("E12c", dict(qtcf_ms=NA, qt_ms=NA), "unknown"),
    ("E12c", dict(qtcf_ms=NA, qt_ms=400.0, heart_rate_bpm=75.0, sex="M"), "pass"),  # 430.9
    ("E12d", dict(pr_ms=250.0), "pass"),
    ("E12d", dict(pr_ms=251.0), "fail"),
    ("E12d", dict(ecg_abnormality=True), "fail"),
    ("E13", dict(bleeding_risk=True), "fail"),
    ("E14", dict(steroid_pred_eq_mg_day=15.0, steroid_days=5.0), "pass"),
    ("E14", dict(steroid_pred_eq_mg_day=16.0, steroid_days=4.0), "fail"),
    ("E14", dict(steroid_pred_eq_mg_day=16.0, steroid_days=3.0), "pass"),
    (
        "E14",
        dict(
            steroid_pred_eq_mg_day=NA,
            steroid_agent="dexamethasone",
            steroid_dose_mg_day=3.0,
            steroid_days=5.0,
        ),
        "fail",
    ),  # 20 mg prednisone
    (
        "E14",
        dict(
            steroid_pred_eq_mg_day=NA,
            steroid_agent="hydrocortisone",
            steroid_dose_mg_day=40.0,
            steroid_days=5.0,
        ),
        "pass",
    ),  # 10 mg prednisone
    (
        "E14",
        dict(
            steroid_pred_eq_mg_day=NA,
            steroid_agent="methylprednisolone",
            steroid_dose_mg_day=12.0,
            steroid_days=5.0,
        ),
        "pass",
    ),  # exactly 15
    ("E14", dict(steroid_pred_eq_mg_day=NA, steroid_days=5.0), "unknown"),
    ("E14", dict(steroid_pred_eq_mg_day=NA, steroid_days=0.0), "pass"),
    ("E15", dict(immunosuppression_or_autoimmune=True), "fail"),
    ("E16", dict(other_malignancy=True), "fail"),
    ("E17", dict(prior_gene_therapy=True), "fail"),
    ("E18", dict(days_since_antitumor_tx=28.0), "pass"),  # exactly 28 days passes
    ("E18", dict(days_since_antitumor_tx=27.0), "fail"),
    ("E18", dict(days_since_antitumor_tx=15.0, antitumor_half_life_days=3.0), "pass"),
    ("E18", dict(days_since_antitumor_tx=14.0, antitumor_half_life_days=3.0), "fail"),
    ("E18", dict(days_since_antitumor_tx=30.0, antitumor_half_life_days=10.0), "pass"),  # 28
    ("E18", dict(days_since_antitumor_tx=NA), "unknown"),
    ("E18", dict(tcm_within_2w=True), "fail"),
    ("E19", dict(severe_allergy=True), "fail"),
    ("E20", dict(severe_mental_disorder=True), "fail"),
    ("E21", dict(acute_instability=True), "fail"),
    ("E22", dict(other_trial_within_1m=True), "fail"),
    ("E23", dict(cannot_comply=True), "fail"),
    ("E24", dict(live_vaccine_4w=True), "fail"),
    ("E25", dict(gi_obstruction=True), "fail"),
    ("E26", dict(other_serious_condition=True), "fail"),
]


def _status(imc002, criterion: str, changes: dict) -> str:
    frame = canonical_frame([patient(**changes)])
    value = evaluate(frame, imc002).statuses[criterion].iloc[0]
    return "unknown" if pd.isna(value) else ("pass" if value else "fail")


@pytest.mark.parametrize(("criterion", "changes", "expected"), CASES)
def test_criterion_status(imc002, criterion, changes, expected):
    assert _status(imc002, criterion, changes) == expected


def test_passing_patient_passes_everything(imc002):
    result = evaluate(canonical_frame([patient()]), imc002)
    assert result.statuses.iloc[0].tolist() == [True] * len(imc002.criteria)
    assert result.status.tolist() == ["eligible"]


def test_every_criterion_has_a_failing_case():
    failing = {c for c, _, expected in CASES if expected == "fail"}
    from screenkit.protocol import get_protocol

    assert set(get_protocol("NCT07103668").ids) <= failing


def test_derived_values_match_the_published_examples(imc002):
    frame = canonical_frame(
        [
            patient(age_years=60.0, weight_kg=60.0, creat=1.0, sex="M"),
            patient(age_years=60.0, weight_kg=60.0, creat=1.0, sex="F"),
            patient(age_years=60.0, weight_kg=60.0, creat=1.0, sex=None),
            patient(qtcf_ms=None, qt_ms=400.0, heart_rate_bpm=75.0),
        ]
    )
    derived = evaluate(frame, imc002).derived
    assert derived["crcl_cg"].round(1).tolist()[:2] == [66.7, 56.7]
    assert pd.isna(derived["crcl_cg"].iloc[2])  # sex unknown: no single value
    assert round(derived["qtcf"].iloc[3], 1) == 430.9


def test_exclusions_store_passes_not_excluded(imc002):
    frame = canonical_frame([patient(spo2=90.0), patient(spo2=99.0)])
    assert evaluate(frame, imc002).statuses["E7"].tolist() == [False, True]
