"""The canonical screening-log columns: names, kinds, canonical units, scales.

This is the vocabulary every stage shares (``../shared/domain/screening-log-columns.md``):
the loader maps a file's headers onto these names and converts values into these units
and dtypes; protocol rules may name only these columns (plus a protocol's parameters).

Dtypes of the canonical frame, by kind:

=========  ====================  ==================================================
kind       dtype                 values
=========  ====================  ==================================================
id, text   ``string``            ``pd.NA`` when missing
category   ``string``            one of ``Column.categories`` (e.g. sex: M / F)
date       ``datetime64[ns]``    ``NaT`` when missing
number     ``Float64``           in ``Column.unit``
ordinal    ``Float64``           the position on ``Column.scale`` (urine protein
                                 ``neg`` = 0, ``trace`` = 0.5, ``1+`` = 1 ...)
bool       ``boolean``           True = present / yes
=========  ====================  ==================================================

>>> COLUMNS["hb"].unit
'g/dL'
>>> COLUMNS["urine_protein"].scale["1+"]
1.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["COLUMNS", "DTYPES", "Column", "canonical_order"]

DTYPES = {
    "id": "string",
    "text": "string",
    "category": "string",
    "date": "datetime64[ns]",
    "number": "Float64",
    "ordinal": "Float64",
    "bool": "boolean",
}


@dataclass(frozen=True)
class Column:
    """One canonical column of the screening log."""

    name: str
    kind: str
    label: str
    unit: str | None = None
    aliases: tuple[str, ...] = ()
    scale: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    categories: tuple[str, ...] = ()
    plausible: tuple[float, float] | None = None
    integer: bool = False  # whole numbers only (ECOG, prior lines): 1.5 is implausible
    zero_words: bool = False  # "none" / "no" / "无" read as 0 (a steroid dose)
    doc: str = ""  # how to fill the column, and what spellings become

    @property
    def dtype(self) -> str:
        return DTYPES[self.kind]


_URINE_PROTEIN = {"neg": 0.0, "trace": 0.5, "1+": 1.0, "2+": 2.0, "3+": 3.0, "4+": 4.0}
_HER2_IHC = {"0": 0.0, "1+": 1.0, "2+": 2.0, "3+": 3.0}
_HER2_DOC = (
    "IHC score 0, 1+, 2+ or 3+, in the usual wrappings (`IHC 3+`, `3+ (IHC)`, `HER2 2+`, "
    "`+++`, `score 1`). An overall status is read too: `positive`, `pos`, `HER2+`, "
    "`HER2 positive`, `阳性` become 3+ (positive means IHC 3+ or 2+ with ISH+, which the "
    "rules treat alike); `negative`, `neg`, `HER2-`, `阴性` become 0 (not positive). "
    "`2+ FISH+` / `2+ ISH positive` is positive (3+), `2+ FISH-` negative (0). `(+)` alone "
    "is ambiguous (1+ in some reports, positive in others) and, like anything else, "
    "unreadable: every criterion using HER2 is then unknown, never passed."
)


def _c(name: str, kind: str, label: str, unit: str | None = None, *aliases: str, **kw) -> Column:
    scale = kw.pop("scale", None)
    return Column(
        name,
        kind,
        label,
        unit,
        tuple(aliases),
        scale=MappingProxyType(dict(scale or {})),
        **kw,
    )


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
    "qtc_ms": (
        "A QTc whose header names no formula (`QTc`): often Bazett. Used for the QTcF "
        "criteria only when QT and heart rate are not both recorded, and then assumed to be "
        "Fridericia (the load report says so). Name QTcF columns `QTcF`."
    ),
}

_ALL = [
    # identity and screening
    _c(
        "patient_id",
        "id",
        "Patient ID",
        None,
        "subject",
        "subject id",
        "subjid",
        "usubjid",
        "patient",
        "screening number",
        "id",
        "patient no",
        "pt id",
        "subject number",
        "患者编号",
        "screening no",
        "受试者编号",
        "筛选号",
    ),
    _c(
        "site_id",
        "text",
        "Site",
        None,
        "site",
        "site number",
        "centre",
        "center",
        "siteid",
        "中心",
        "中心编号",
    ),
    _c(
        "screening_date",
        "date",
        "Screening date",
        None,
        "screening date",
        "date of screening",
        "screen date",
        "visit date",
        "筛选日期",
    ),
    _c("birth_date", "date", "Date of birth", None, "dob", "birth date", "出生日期"),
    _c("sex", "category", "Sex", None, "gender", "性别", categories=("M", "F")),
    _c("age_years", "number", "Age", "year", "age", "年龄", plausible=(0, 120)),
    _c("weight_kg", "number", "Weight", "kg", "weight", "body weight", "体重", plausible=(20, 300)),
    _c(
        "fail_reasons",
        "text",
        "Recorded screen-fail reasons",
        None,
        "fail reasons",
        "screen fail reason",
        "reason",
        "筛选失败原因",
    ),
    # disease and biomarkers
    _c(
        "prior_lines_failed",
        "number",
        "Prior lines failed",
        None,
        "prior lines",
        "lines of therapy",
        plausible=(0, 15),
        integer=True,
    ),
    _c(
        "cldn18_pct_2plus",
        "number",
        "CLDN18.2 % tumour cells >= 2+",
        "%",
        "cldn18.2",
        "cldn18",
        "cldn18.2 %",
        plausible=(0, 100),
    ),
    _c(
        "expected_survival_weeks",
        "number",
        "Expected survival",
        "week",
        "expected survival",
        "life expectancy",
        plausible=(0, 520),
    ),
    _c(
        "largest_lesion_cm",
        "number",
        "Largest lesion diameter",
        "cm",
        "largest lesion",
        "lesion size",
        "tumour size",
        "tumor size",
        plausible=(0, 40),
    ),
    _c(
        "ecog",
        "number",
        "ECOG performance status",
        None,
        "ecog ps",
        "ps",
        plausible=(0, 5),
        integer=True,
    ),
    _c(
        "her2_ihc",
        "ordinal",
        "HER2 IHC",
        None,
        "her2",
        "her2 ihc score",
        "her2 status",
        "her2 ihc",
        scale=_HER2_IHC,
        doc=_HER2_DOC,
    ),
    # laboratory
    _c(
        "anc",
        "number",
        "Neutrophils (ANC)",
        "10^9/L",
        "neutrophils",
        "neut",
        "absolute neutrophil count",
        plausible=(0, 100),
    ),
    _c("lym", "number", "Lymphocytes", "10^9/L", "lymphocytes", "lymph", plausible=(0, 100)),
    _c("plt", "number", "Platelets", "10^9/L", "platelets", "platelet count", plausible=(0, 2000)),
    _c(
        "hb", "number", "Haemoglobin", "g/dL", "haemoglobin", "hemoglobin", "hgb", plausible=(2, 25)
    ),
    _c("alt", "number", "ALT", "U/L", "sgpt", "alanine aminotransferase", plausible=(0, 10000)),
    _c("alt_uln", "number", "ALT upper limit of normal", "U/L", "alt uln", plausible=(1, 500)),
    _c("ast", "number", "AST", "U/L", "sgot", "aspartate aminotransferase", plausible=(0, 10000)),
    _c("ast_uln", "number", "AST upper limit of normal", "U/L", "ast uln", plausible=(1, 500)),
    _c(
        "alp", "number", "Alkaline phosphatase", "U/L", "alkaline phosphatase", plausible=(0, 10000)
    ),
    _c("alp_uln", "number", "ALP upper limit of normal", "U/L", "alp uln", plausible=(1, 1000)),
    _c(
        "tbil",
        "number",
        "Total bilirubin",
        "mg/dL",
        "bilirubin",
        "total bilirubin",
        "tb",
        plausible=(0, 50),
    ),
    _c(
        "tbil_uln",
        "number",
        "Total bilirubin upper limit of normal",
        "mg/dL",
        "tbil uln",
        "bilirubin uln",
        plausible=(0.1, 10),
    ),
    _c(
        "creat",
        "number",
        "Serum creatinine",
        "mg/dL",
        "creatinine",
        "scr",
        "serum creatinine",
        plausible=(0.05, 30),
    ),
    _c(
        "creat_uln",
        "number",
        "Creatinine upper limit of normal",
        "mg/dL",
        "creatinine uln",
        plausible=(0.1, 10),
    ),
    _c("amylase", "number", "Amylase", "U/L", plausible=(0, 10000)),
    _c("amylase_uln", "number", "Amylase upper limit of normal", "U/L", plausible=(1, 1000)),
    _c("lipase", "number", "Lipase", "U/L", plausible=(0, 10000)),
    _c("lipase_uln", "number", "Lipase upper limit of normal", "U/L", plausible=(1, 2000)),
    _c(
        "urine_protein",
        "ordinal",
        "Urine protein (dipstick)",
        None,
        "urine protein",
        "proteinuria",
        "upro",
        scale=_URINE_PROTEIN,
    ),
    _c(
        "urine_protein_24h_g",
        "number",
        "24-hour urine protein",
        "g/day",
        "24h urine protein",
        "24-h urine protein",
        plausible=(0, 30),
    ),
    _c(
        "fasting_glucose",
        "number",
        "Fasting glucose",
        "mmol/L",
        "glucose",
        "fpg",
        "fasting blood glucose",
        plausible=(1, 60),
    ),
    # vital signs and ECG
    _c(
        "sbp",
        "number",
        "Systolic blood pressure",
        "mmHg",
        "systolic bp",
        "systolic",
        plausible=(50, 300),
    ),
    _c(
        "dbp",
        "number",
        "Diastolic blood pressure",
        "mmHg",
        "diastolic bp",
        "diastolic",
        plausible=(20, 200),
    ),
    _c("spo2", "number", "SpO2 on room air", "%", "oxygen saturation", "sao2", plausible=(50, 100)),
    _c(
        "heart_rate_bpm",
        "number",
        "Heart rate",
        "1/min",
        "heart rate",
        "hr",
        "pulse",
        plausible=(20, 250),
    ),
    _c("qt_ms", "number", "QT interval", "ms", "qt", plausible=(200, 800)),
    _c(
        "qtcf_ms",
        "number",
        "QTcF (Fridericia)",
        "ms",
        "qtcf",
        "qtc fridericia",
        "qtcf interval",
        plausible=(200, 800),
    ),
    _c(
        "qtc_ms",
        "number",
        "QTc, formula not stated",
        "ms",
        "qtc",
        "qtc interval",
        "corrected qt",
        plausible=(200, 800),
        doc=_DOCS["qtc_ms"],
    ),
    _c("pr_ms", "number", "PR interval", "ms", "pr", plausible=(50, 600)),
    _c("lvef", "number", "LVEF", "%", "ejection fraction", "ef", plausible=(5, 90)),
    # steroids and wash-out
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
    *[
        _c(name, "bool", label, None, *_BOOL_ALIASES.get(name, ()), doc=_DOCS.get(name, ""))
        for name, label in _BOOL_ITEMS.items()
    ],
]

COLUMNS: MappingProxyType[str, Column] = MappingProxyType({c.name: c for c in _ALL})
"""Every canonical column by name, in the canonical order."""


def canonical_order(names) -> list[str]:
    """Sort column names: canonical columns in vocabulary order first, then the rest.

    >>> canonical_order(["hb", "patient_id", "zzz"])
    ['patient_id', 'hb', 'zzz']
    """
    position = {name: i for i, name in enumerate(COLUMNS)}
    return sorted(names, key=lambda n: (position.get(n, len(position)), n))
