"""Canonical columns: treatment history (steroids, wash-out) and the yes / no items.

The yes / no items (``kind="bool"``) cover diagnosis, serology, medical history, study
conduct and consent, in the order the protocol's criteria ask for them.

>>> next(c for c in TREATMENT if c.name == "steroid_days").zero_words
True
>>> next(c for c in YES_NO if c.name == "hbsag_pos").aliases
('hbsag',)
"""

from __future__ import annotations

from .column import Column
from .column import column as _c

__all__ = ["TREATMENT", "YES_NO"]

TREATMENT: tuple[Column, ...] = (
    _c(
        "steroid_pred_eq_mg_day",
        "number",
        "Systemic steroid, prednisone-equivalent",
        "mg/day",
        "prednisone equivalent",
        plausible=(0, 2000),
        zero_words=True,
    ),
    _c(
        "steroid_agent",
        "category",
        "Systemic steroid agent",
        None,
        "steroid",
        categories=(
            "none",
            "prednisone",
            "prednisolone",
            "methylprednisolone",
            "hydrocortisone",
            "dexamethasone",
            "betamethasone",
        ),
    ),
    _c(
        "steroid_dose_mg_day",
        "number",
        "Systemic steroid dose",
        "mg/day",
        "steroid dose",
        plausible=(0, 2000),
        zero_words=True,
    ),
    _c(
        "steroid_days",
        "number",
        "Days on systemic steroid (last 2 weeks)",
        "day",
        plausible=(0, 14),
        zero_words=True,
    ),
    _c(
        "days_since_antitumor_tx",
        "number",
        "Days since last anti-tumour treatment",
        "day",
        "washout days",
        plausible=(0, 5000),
    ),
    _c(
        "antitumor_half_life_days",
        "number",
        "Half-life of last anti-tumour drug",
        "day",
        "half-life",
        plausible=(0, 365),
    ),
)
"""Systemic steroids (agent, dose, prednisone equivalent, days) and anti-tumour wash-out."""

_BOOL_ITEMS = {
    "adenocarcinoma_confirmed": "Adenocarcinoma confirmed (histology / cytology)",
    "unresectable": "Unresectable / inoperable",
    "prior_cldn18_therapy": "Prior CLDN18.2-targeted therapy",
    "cldn18_retested": "CLDN18.2 re-tested after prior CLDN18.2 therapy",
    "first_line_triplet_pd": "First line was a triplet (taxane or anthracycline + platinum "
    "+ fluoropyrimidine) and the disease progressed",
    "measurable_lesion": "Measurable or evaluable lesion (RECIST 1.1)",
    "her2_fish_pos": "HER2 FISH positive",
    "liver_mets": "Liver metastases",
    "bone_mets": "Bone metastases",
    "ecg_abnormality": "Clinically significant ECG abnormality",
    "enrolled": "Enrolled",
    "randomized": "Randomized",
    "recent_transfusion_or_gcsf": "Transfusion or growth factor within 7 days of labs",
    "pregnant_or_breastfeeding": "Pregnant or breastfeeding",
    "hiv_pos": "HIV antibody positive",
    "hbsag_pos": "HBsAg positive",
    "hbcab_pos": "HBc antibody positive",
    "hbv_dna_pos": "HBV-DNA positive",
    "hcv_ab_pos": "HCV antibody positive",
    "hcv_rna_pos": "HCV-RNA positive",
    "syphilis_pos": "Syphilis antibody positive",
    "ebv_igm_pos": "EBV IgM positive",
    "cmv_igm_pos": "CMV IgM positive",
    "htlv_pos": "HTLV positive",
    "covid_persistent": "COVID-19 positive, not negative within 7 days",
    "active_infection": "Active or poorly controlled serious infection",
    "uncontrolled_effusion": "Uncontrollable pleural / pericardial effusion or ascites",
    "diffuse_metastases": "Extensive or diffuse lung / liver / bone metastases",
    "serious_pulmonary_disease": "Other serious pulmonary disease",
    "high_bleeding_risk_lesion": "Primary lesion at high risk of bleeding or perforation",
    "cns_disease": "Hepatic encephalopathy, CNS disease or uncontrolled CNS metastases",
    "unstable_heart_disease": "Unstable heart disease needing treatment",
    "cardiac_event_history": "MI within 1 year, unstable angina, PCI, CABG or pacemaker",
    "bleeding_risk": "Significant coagulopathy or bleeding risk",
    "immunosuppression_or_autoimmune": "Needs immunosuppression, or active autoimmune disease",
    "other_malignancy": "Other malignancy (beyond the listed exceptions)",
    "prior_gene_therapy": "Prior gene therapy (CAR-T, TCR-T, ...)",
    "tcm_within_2w": "Anti-tumour traditional Chinese medicine within 2 weeks",
    "severe_allergy": "Severe allergy / anaphylaxis history",
    "severe_mental_disorder": "Severe mental disorder",
    "acute_instability": "New arrhythmia, pressor-dependent hypotension or IV antibiotics",
    "other_trial_within_1m": "Other interventional study within 1 month",
    "cannot_comply": "Unable or unwilling to comply (investigator)",
    "live_vaccine_4w": "Live attenuated vaccine within 4 weeks",
    "gi_obstruction": "GI obstruction or obstructive jaundice",
    "other_serious_condition": "Other serious uncontrolled condition",
    "consent_signed": "Written informed consent signed",
    "willing_to_comply": "Willing and able to comply",
}

_BOOL_ALIASES = {
    "hiv_pos": ("hiv", "hiv ab", "anti-hiv", "hiv antibody"),
    "hbsag_pos": ("hbsag",),
    "hbcab_pos": ("hbcab", "anti-hbc", "hbc ab"),
    "hbv_dna_pos": ("hbv dna", "hbv-dna"),
    "hcv_ab_pos": ("hcv ab", "anti-hcv", "hcv antibody"),
    "hcv_rna_pos": ("hcv rna", "hcv-rna"),
    "syphilis_pos": ("syphilis", "syphilis ab", "tp ab", "梅毒"),
    "ebv_igm_pos": ("ebv igm",),
    "cmv_igm_pos": ("cmv igm",),
    "htlv_pos": ("htlv",),
    "liver_mets": ("liver metastases", "肝转移"),
    "bone_mets": ("bone metastases", "骨转移"),
    "her2_fish_pos": ("her2 fish", "fish"),
    "consent_signed": ("informed consent", "icf signed", "consent", "知情同意"),
    "pregnant_or_breastfeeding": ("pregnant", "pregnancy"),
    "enrolled": ("入组",),
    "first_line_triplet_pd": ("first line triplet", "triplet pd", "1l triplet pd", "triplet"),
}

_DOCS = {
    "first_line_triplet_pd": (
        "Yes when the patient's first-line regimen was a triplet of a taxane or an "
        "anthracycline, a platinum and a fluoropyrimidine (e.g. DOS, FLOT, EOX) and the "
        "disease progressed on it; No otherwise. NCT07103668 Inclusion 2 lets such a "
        "patient enrol after one failed line. Leave blank when not known: a patient with "
        "one failed line then stays unknown (pending) for I2b, never passes."
    ),
    "pregnant_or_breastfeeding": (
        "Yes / No for women. A man's cell is not read for E1 (not applicable: E1 passes "
        "whatever it holds); with sex unknown a blank cell leaves E1 unknown."
    ),
}

YES_NO: tuple[Column, ...] = tuple(
    _c(name, "bool", label, None, *_BOOL_ALIASES.get(name, ()), doc=_DOCS.get(name, ""))
    for name, label in _BOOL_ITEMS.items()
)
"""Every yes / no item, ``True`` = present / yes."""
