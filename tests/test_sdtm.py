"""CDISC SDTM: reading (.xpt, .csv, Dataset-JSON), screen-failure conventions, IE / TI
criteria with protocol versions, the summary and ``screenkit sdtm``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from screenkit.cli import main
from screenkit.errors import InputError
from screenkit.sdtm import NO_IE, load_sdtm, read_domain, summarize_sdtm

DATA = Path(__file__).parent / "data" / "sdtm"
PILOT = DATA / "cdiscpilot01"
MSG = DATA / "sdtm-msg-v2"
SHARED = Path(__file__).parents[2].parent / "shared" / "data" / "sdtm"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data/sdtm")
JSON_KEYS = [
    "screened",
    "screen_failed",
    "randomized",
    "by_site",
    "criteria",
    "conventions",
    "criteria_note",
    "versions",
]


def raw(path: Path) -> pd.DataFrame:
    """A domain file read directly (no screenkit code), blanks as ''."""
    if path.suffix == ".xpt":
        frame = pd.read_sas(path, format="xport", encoding="utf-8")
        text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        return frame.assign(**{c: frame[c].fillna("") for c in text})
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def expected_counts(folder: Path, ext_dm: str, ext_ds: str) -> dict:
    """Screened / screen failed / randomized / by site counted from the raw files."""
    dm = raw(folder / f"dm.{ext_dm}")
    ds = raw(folder / f"ds.{ext_ds}")
    failed = set(ds.loc[ds["DSDECOD"].str.upper() == "SCREEN FAILURE", "USUBJID"])
    failed |= set(dm.loc[dm["ARMCD"].str.lower() == "scrnfail", "USUBJID"])
    failed |= set(dm.loc[dm["ARM"].str.lower() == "screen failure", "USUBJID"])
    if "ARMNRS" in dm:
        failed |= set(dm.loc[(dm["ARMCD"] == "") & (dm["ARMNRS"] == "SCREEN FAILURE"), "USUBJID"])
    dm["sf"] = dm["USUBJID"].isin(failed)
    by_site = {
        site: {"screened": len(g), "screen_failed": int(g["sf"].sum())}
        for site, g in dm.groupby("SITEID")
    }
    randomized = int(((dm["ARMCD"] != "") & ~dm["sf"]).sum())
    return {
        "screened": len(dm),
        "screen_failed": len(failed),
        "randomized": randomized,
        "by_site": by_site,
    }


def write_csvs(folder: Path, **domains: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in domains.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


# ---------------------------------------------------------------- the two real studies
def test_pilot_numbers_match_the_raw_files():
    s = summarize_sdtm(load_sdtm(PILOT))
    want = expected_counts(PILOT, "csv", "csv")
    got = s.to_dict()
    assert {k: got[k] for k in want} == want
    assert (s.screened, s.screen_failed, s.randomized) == (306, 52, 254)
    assert len(s.by_site) == 17
    assert got["criteria"] is None
    assert got["conventions"] == {
        "ARMCD=SCRNFAIL": 52,
        "ARM=SCREEN FAILURE": 52,
        "DSDECOD=SCREEN FAILURE": 52,
    }
    assert s.disagreements.empty
    assert len(s.skeleton) == 31 and s.skeleton["TIVERS"].isna().all()


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared SDTM data not present")
def test_pilot_full_xpt_gives_the_same_summary_as_the_subset():
    full = summarize_sdtm(load_sdtm(SHARED / "cdiscpilot01"))
    assert full.to_dict() == summarize_sdtm(load_sdtm(PILOT)).to_dict()
    assert (
        full.to_dict()["by_site"]
        == expected_counts(SHARED / "cdiscpilot01", "xpt", "xpt")["by_site"]
    )


def test_msg_v2_without_a_version_counts_everything_but_the_criteria():
    study = load_sdtm(MSG)
    s = summarize_sdtm(study)
    got = s.to_dict()
    want = expected_counts(MSG, "xpt", "xpt")
    assert {k: got[k] for k in want} == want  # version-independent counts are all given
    assert got["conventions"] == summarize_sdtm(study, version="ORIGINAL").conventions
    assert got["criteria"] is None and s.combinations is None and s.statuses is None
    assert got["versions"] == ["ORIGINAL", "AMENDMENT 1"] and s.versions_used == ()
    note = got["criteria_note"]
    assert '"ORIGINAL" and "AMENDMENT 1"' in note and "no subject's version is recorded" in note
    assert "their criteria codes differ" in note  # EXCL12 / EXCL12A
    assert '--version "AMENDMENT 1"' in note and "IE holds 1 record(s) for 1 subject(s)" in note
    text = s.text()
    assert "Criteria not met" not in text and "INCL03" not in text
    assert 'Say which version applies: --version "ORIGINAL" or --version "AMENDMENT 1"' in text
    # the Python API that asks for a version still refuses
    from screenkit.sdtm.criteria import recorded_versions, subject_versions

    with pytest.raises(InputError) as err:
        subject_versions(["CDISC015"], s.skeleton, recorded_versions(study.dm, study.ie))
    assert "1 of 1 subject(s) have no recorded version" in str(err.value)


def test_mapped_criteria_have_no_note():
    assert summarize_sdtm(load_sdtm(MSG), version="ORIGINAL").to_dict()["criteria_note"] is None
    assert summarize_sdtm(load_sdtm(PILOT)).to_dict()["criteria_note"] == NO_IE


@pytest.mark.parametrize(
    ("version", "twelve"), [("AMENDMENT 1", "EXCL12A"), ("ORIGINAL", "EXCL12")]
)
def test_msg_v2_numbers_match_the_raw_files(version, twelve):
    s = summarize_sdtm(load_sdtm(MSG), version=version)
    want = expected_counts(MSG, "xpt", "xpt")
    got = s.to_dict()
    assert {k: got[k] for k in want} == want
    assert (s.screened, s.screen_failed, s.randomized) == (18, 1, 17)
    ie, ti = raw(MSG / "ie.xpt"), raw(MSG / "ti.xpt")
    codes = ti.loc[ti["TIVERS"] == version, "IETESTCD"].tolist()
    assert list(got["criteria"]) == codes and twelve in codes
    failed = ie.loc[(ie["IECAT"] == "INCLUSION") & (ie["IESTRESC"] == "N"), "IETESTCD"]
    assert {k: v for k, v in got["criteria"].items() if v} == failed.value_counts().to_dict()
    assert got["criteria"]["INCL03"] == 1 and sum(got["criteria"].values()) == 1
    assert got["conventions"]["ARMNRS=SCREEN FAILURE"] == 1
    assert got["conventions"]["ARMCD=SCRNFAIL"] == 0
    assert s.disagreements.empty  # ARM is blank for the screen failure: not in use
    assert s.versions_used == (version,)


def test_unknown_version_is_refused():
    with pytest.raises(InputError, match="not a protocol version in TI"):
        summarize_sdtm(load_sdtm(MSG), version="AMENDMENT 2")


# ---------------------------------------------------------------- conventions
@pytest.mark.parametrize("armcd", ["SCRNFAIL", "Scrnfail", "scrnfail", " ScrnFail "])
def test_armcd_convention_any_case(tmp_path, armcd):
    dm = pd.DataFrame({"USUBJID": ["A", "B"], "SITEID": ["1", "1"], "ARMCD": [armcd, "PBO"]})
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm)))
    assert s.conventions == {"ARMCD=SCRNFAIL": 1}
    assert (s.screen_failed, s.randomized) == (1, 1)


@pytest.mark.parametrize("arm", ["Screen Failure", "SCREEN FAILURE", "screen failure"])
def test_arm_convention_any_case(tmp_path, arm):
    dm = pd.DataFrame({"USUBJID": ["A", "B"], "ARM": [arm, "Placebo"], "ARMCD": ["SF", "PBO"]})
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm)))
    assert s.conventions == {"ARMCD=SCRNFAIL": 0, "ARM=SCREEN FAILURE": 1}
    assert s.screen_failed == 1 and s.randomized == 1
    assert s.to_dict()["by_site"] == {"(no site)": {"screened": 2, "screen_failed": 1}}


@pytest.mark.parametrize("armnrs", ["SCREEN FAILURE", "Screen Failure", "screen failure"])
def test_armnrs_convention_needs_a_blank_armcd(tmp_path, armnrs):
    dm = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "D"],
            "ARMCD": ["", "PBO", "PBO", ""],
            "ARMNRS": [armnrs, "", armnrs, "NOT ASSIGNED"],
        }
    )
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm)))
    assert s.conventions["ARMNRS=SCREEN FAILURE"] == 1  # C has an arm: not this convention
    assert (s.screen_failed, s.randomized, s.not_randomized) == (1, 2, 1)
    assert any("ARMNRS SCREEN FAILURE but an ARMCD" in n for n in s.notes)


@pytest.mark.parametrize("decod", ["SCREEN FAILURE", "Screen Failure", "screen failure"])
def test_ds_convention_any_case_and_disagreement(tmp_path, decod):
    dm = pd.DataFrame({"USUBJID": ["A", "B", "C"], "ARMCD": ["SCRNFAIL", "", "PBO"]})
    ds = pd.DataFrame({"USUBJID": ["B", "C"], "DSDECOD": [decod, "COMPLETED"]})
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm, ds=ds)))
    assert s.conventions == {"ARMCD=SCRNFAIL": 1, "DSDECOD=SCREEN FAILURE": 1}
    assert s.screen_failed == 2 and s.randomized == 1
    assert s.disagreements.to_dict("records") == [
        {"USUBJID": "A", "marked_by": "ARMCD=SCRNFAIL", "not_marked_by": "DSDECOD=SCREEN FAILURE"},
        {"USUBJID": "B", "marked_by": "DSDECOD=SCREEN FAILURE", "not_marked_by": "ARMCD=SCRNFAIL"},
    ]
    text = s.text()
    assert "disagree on 2 subject(s)" in text and "A: marked by ARMCD=SCRNFAIL" in text


def test_not_assigned_is_neither_randomized_nor_screen_failed(tmp_path):
    dm = pd.DataFrame({"USUBJID": ["A", "B", "C"], "ARMCD": ["NOTASSGN", "", "PBO"]})
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm)))
    assert (s.screened, s.screen_failed, s.randomized, s.not_randomized) == (3, 0, 1, 2)


# ---------------------------------------------------------------- IE and TI
TI = pd.DataFrame(
    {
        "IETESTCD": ["INCL01", "INCL02", "EXCL01"],
        "IETEST": ["Age >= 50", "MMSE 10-23", "Stroke"],
        "IECAT": ["INCLUSION", "INCLUSION", "EXCLUSION"],
    }
)
DM3 = pd.DataFrame({"USUBJID": ["A", "B", "C"], "ARMCD": ["", "", "PBO"],
                    "ARMNRS": ["SCREEN FAILURE", "SCREEN FAILURE", ""]})  # fmt: skip


def test_ie_results_inclusion_n_and_exclusion_y_fail(tmp_path):
    ie = pd.DataFrame(
        {
            "USUBJID": ["A", "A", "B", "B", "C"],
            "IETESTCD": ["INCL01", "EXCL01", "INCL01", "EXCL01", "INCL02"],
            "IECAT": ["INCLUSION", "exclusion", "Inclusion", "EXCLUSION", ""],
            "IEORRES": ["N", "Y", "Y", "N", "y"],
            "IESTRESC": ["", "", "Y", "N", "N"],  # IESTRESC wins; C's category from TI
        }
    )
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=DM3, ie=ie, ti=TI)))
    assert s.to_dict()["criteria"] == {"INCL01": 1, "INCL02": 1, "EXCL01": 1}
    assert any("1 randomized subject(s) did not meet a criterion" in n for n in s.notes)
    assert "1 screen failure(s) have no IE record of a criterion not met" in s.text()  # B
    assert not any(
        "randomized subject" in n for n in summarize_sdtm(load_sdtm(MSG), version="ORIGINAL").notes
    )


def test_ie_code_not_in_ti_is_listed(tmp_path):
    ie = pd.DataFrame({"USUBJID": ["A"], "IETESTCD": ["INCL99"], "IECAT": ["INCLUSION"],
                       "IEORRES": ["N"]})  # fmt: skip
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=DM3, ie=ie, ti=TI)))
    assert s.to_dict()["criteria"] == {"INCL01": 0, "INCL02": 0, "EXCL01": 0, "INCL99": 1}
    assert s.criteria.set_index("IETESTCD")["in_ti"].to_dict()["INCL99"] is False
    assert any("not in TI" in n and "INCL99" in n for n in s.notes)
    assert any("1 screen failure(s) have no IE record" in n for n in s.notes)  # B


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("IEORRES", "maybe", "not Y or N"), ("IECAT", "OTHER", "not INCLUSION or EXCLUSION")],
)
def test_ie_bad_values_are_refused_with_the_record(tmp_path, column, value, message):
    ie = pd.DataFrame({"USUBJID": ["A", "B"], "IETESTCD": ["INCL01", "INCL02"],
                       "IECAT": ["INCLUSION", "INCLUSION"], "IEORRES": ["N", "N"]})  # fmt: skip
    ie.loc[1, column] = value
    folder = write_csvs(tmp_path, dm=DM3, ie=ie, ti=TI)
    with pytest.raises(InputError, match=message) as err:
        summarize_sdtm(load_sdtm(folder))
    assert "record: 2" in str(err.value) and "ie.csv" in str(err.value)


def _versioned_ti() -> pd.DataFrame:
    return pd.concat(
        [TI.assign(TIVERS="V1"), TI.assign(TIVERS="V2", IETESTCD=["INCL01", "INCL02A", "EXCL01"])]
    )


def test_subject_versions_recorded_in_dm_are_used(tmp_path):
    dm = DM3.assign(TIVERS=["V1", "V2", "V2"])
    ie = pd.DataFrame({"USUBJID": ["A", "B"], "IETESTCD": ["INCL02", "INCL02A"],
                       "IECAT": ["INCLUSION", "INCLUSION"], "IEORRES": ["N", "N"]})  # fmt: skip
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm, ie=ie, ti=_versioned_ti())))
    assert s.to_dict()["criteria"] == {"INCL01": 0, "INCL02": 1, "EXCL01": 0, "INCL02A": 1}
    assert s.versions_used == ("V1", "V2") and s.criteria["in_ti"].all()


def test_subject_versions_from_suppdm_and_version_for_the_rest(tmp_path):
    ie = pd.DataFrame({"USUBJID": ["A", "B"], "IETESTCD": ["INCL02", "INCL02A"],
                       "IECAT": ["INCLUSION", "INCLUSION"], "IEORRES": ["N", "N"]})  # fmt: skip
    suppdm = pd.DataFrame({"USUBJID": ["A"], "QNAM": ["TIVERS"], "QVAL": ["V1"]})
    folder = write_csvs(tmp_path, dm=DM3, ie=ie, ti=_versioned_ti(), suppdm=suppdm)
    unmapped = summarize_sdtm(load_sdtm(folder))
    assert unmapped.criteria is None and unmapped.screened == 3
    assert "1 of 2 IE subject(s) have no recorded version" in unmapped.criteria_note
    assert "their criteria codes differ" in unmapped.criteria_note
    s = summarize_sdtm(load_sdtm(folder), version="V2")
    assert s.to_dict()["criteria"]["INCL02"] == 1 and s.to_dict()["criteria"]["INCL02A"] == 1
    # A's INCL02 is read under V1 (recorded), not under --version V2
    assert s.criteria["in_ti"].all()


def test_recorded_version_not_in_ti_is_refused(tmp_path):
    dm = DM3.assign(TIVERS=["V9", "V1", "V1"])
    ie = pd.DataFrame({"USUBJID": ["A"], "IETESTCD": ["INCL01"], "IECAT": ["INCLUSION"],
                       "IEORRES": ["N"]})  # fmt: skip
    with pytest.raises(InputError, match="recorded protocol version is not in TI"):
        summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm, ie=ie, ti=_versioned_ti())))


def test_several_versions_without_ie_need_no_version(tmp_path):
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=DM3, ti=_versioned_ti())))
    assert s.criteria is None and s.versions == ("V1", "V2")


# ---------------------------------------------------------------- no IE
def test_no_ie_says_so_instead_of_zero_failures():
    s = summarize_sdtm(load_sdtm(PILOT))
    text = s.text()
    assert f"Criteria: {NO_IE}" in text
    assert NO_IE == "no criterion-level data (no IE domain)"
    assert "INCL01" not in text  # no per-criterion zero is printed


# ---------------------------------------------------------------- reading
def _dataset_json_v11(frame: pd.DataFrame, name: str) -> dict:
    columns = [{"itemOID": f"IT.{name}.{c}", "name": c, "label": c, "dataType": "string"}
               for c in frame.columns]  # fmt: skip
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return {"datasetJSONVersion": "1.1.0", "name": name, "columns": columns, "rows": rows}


def _dataset_json_v10(frame: pd.DataFrame, name: str) -> dict:
    items = [{"OID": "ITEMGROUPDATASEQ", "name": "ITEMGROUPDATASEQ", "type": "integer"}]
    items += [{"OID": f"IT.{name}.{c}", "name": c, "type": "string"} for c in frame.columns]
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    data = [[i, *row] for i, row in enumerate(rows, start=1)]
    group = {"records": len(data), "name": name, "items": items, "itemData": data}
    return {"clinicalData": {"studyOID": "X", "itemGroupData": {f"IG.{name}": group}}}


@pytest.mark.parametrize("form", [_dataset_json_v11, _dataset_json_v10], ids=["v1.1", "v1.0"])
def test_dataset_json_written_from_the_xpt_reads_the_same(tmp_path, form):
    for name in ("dm", "ds", "ie", "ti"):
        frame = pd.read_sas(MSG / f"{name}.xpt", format="xport", encoding="utf-8")
        text = json.dumps(form(frame, name.upper()))
        (tmp_path / f"{name.upper()}.json").write_text(text, encoding="utf-8")
    from_json = load_sdtm(tmp_path)
    from_xpt = load_sdtm(MSG)
    assert from_json.domains == from_xpt.domains == ("DM", "DS", "IE", "TI")
    pd.testing.assert_frame_equal(from_json.dm, from_xpt.dm)
    a = summarize_sdtm(from_json, version="ORIGINAL").to_dict()
    assert a == summarize_sdtm(from_xpt, version="ORIGINAL").to_dict()


def test_blank_text_is_missing_and_columns_upper_case(tmp_path):
    pd.DataFrame({"usubjid": ["A"], "armcd": ["  "]}).to_csv(tmp_path / "DM.CSV", index=False)
    frame = read_domain(tmp_path / "DM.CSV")
    assert list(frame.columns) == ["USUBJID", "ARMCD"] and frame["ARMCD"].isna().all()


def test_two_files_for_one_domain_are_refused(tmp_path):
    write_csvs(tmp_path, dm=DM3)
    DM3.to_json(tmp_path / "DM.json")
    with pytest.raises(InputError, match="Domain DM is in two files"):
        load_sdtm(tmp_path)


def test_repeated_dm_subject_is_refused(tmp_path):
    dm = pd.DataFrame({"USUBJID": ["A", "A"], "ARMCD": ["PBO", "PBO"]})
    with pytest.raises(InputError, match="a USUBJID repeats") as err:
        load_sdtm(write_csvs(tmp_path, dm=dm))
    assert "row: 3" in str(err.value)


def test_other_files_are_listed_not_read(tmp_path):
    write_csvs(tmp_path, dm=DM3, ae=pd.DataFrame({"USUBJID": ["A"]}))
    s = summarize_sdtm(load_sdtm(tmp_path))
    assert "files not read: ae.csv" in s.notes


def test_not_an_xpt_is_refused(tmp_path):
    (tmp_path / "dm.xpt").write_bytes(b"not a transport file at all" * 10)
    with pytest.raises(InputError, match="Cannot read the SAS transport file"):
        load_sdtm(tmp_path)


# ---------------------------------------------------------------- command line
def test_cli_json_keys_and_outputs(tmp_path, capsys):
    out, page, book = tmp_path / "s.json", tmp_path / "s.html", tmp_path / "s.xlsx"
    args = ["sdtm", str(MSG), "--version", "AMENDMENT 1", "--json", str(out)]
    assert main([*args, "-o", str(page)]) == 0
    printed = capsys.readouterr().out
    assert "screened (DM subjects): 18" in printed and "INCL03" in printed
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert list(payload) == JSON_KEYS
    assert payload["criteria"]["INCL03"] == 1
    assert "<h2>Criteria</h2>" in page.read_text(encoding="utf-8")
    before = out.read_bytes()
    assert main([*args]) == 2  # exists, no --force
    assert "Output file exists" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["sdtm", str(PILOT), "-o", str(book), "--json", str(out), "--force"]) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert list(payload) == JSON_KEYS and payload["criteria"] is None
    import openpyxl

    wb = openpyxl.load_workbook(book)
    assert wb["Criteria"]["A4"].value == NO_IE
    assert wb["Summary"]["B4"].value == 306


def test_cli_without_a_version_prints_the_summary_and_exits_0(tmp_path, capsys):
    out, book = tmp_path / "s.json", tmp_path / "s.xlsx"
    assert main(["sdtm", str(MSG), "--json", str(out), "-o", str(book)]) == 0
    printed = capsys.readouterr().out
    assert "screened (DM subjects): 18" in printed and "screen failed:          1" in printed
    assert "ARMNRS=SCREEN FAILURE    1" in printed and "711            3     1" in printed
    assert "Criteria: not mapped" in printed and "Criteria not met" not in printed
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert list(payload) == JSON_KEYS and payload["criteria"] is None
    assert payload["versions"] == ["ORIGINAL", "AMENDMENT 1"]
    assert payload["criteria_note"].startswith("not mapped: TI has protocol versions")
    assert payload["criteria_note"].endswith(
        'Say which version applies: --version "ORIGINAL" or --version "AMENDMENT 1"'
    )
    import openpyxl

    assert openpyxl.load_workbook(book)["Criteria"]["A4"].value == payload["criteria_note"]


def test_cli_unknown_version_exits_2(capsys):
    assert main(["sdtm", str(MSG), "--version", "AMENDMENT 9"]) == 2
    err = capsys.readouterr().err
    assert "not a protocol version in TI" in err and "Traceback" not in err


def test_cli_folder_without_dm_exits_2(tmp_path, capsys):
    write_csvs(tmp_path, ds=pd.DataFrame({"USUBJID": ["A"], "DSDECOD": ["SCREEN FAILURE"]}))
    assert main(["sdtm", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "No DM (demographics) domain" in err and "ds.csv" in err
    assert "Traceback" not in err


def test_cli_refuses_other_output_suffix(tmp_path, capsys):
    assert main(["sdtm", str(PILOT), "-o", str(tmp_path / "s.csv")]) == 2
    assert ".xlsx or .html" in capsys.readouterr().err


def test_ie_without_ti_lists_the_ie_codes(tmp_path):
    ie = pd.DataFrame({"USUBJID": ["A", "B", "B"], "IETESTCD": ["INCL02", "INCL02", "EXCL01"],
                       "IECAT": ["INCLUSION", "INCLUSION", "EXCLUSION"],
                       "IEORRES": ["N", "N", "N"]})  # fmt: skip
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=DM3, ie=ie)))
    assert s.to_dict()["criteria"] == {"INCL02": 2, "EXCL01": 0}
    assert "no TI domain: criteria listed as IE names them" in s.notes


def test_two_recorded_versions_for_one_subject_are_refused(tmp_path):
    dm = DM3.assign(TIVERS=["V1", "V1", "V1"])
    ie = pd.DataFrame({"USUBJID": ["A"], "IETESTCD": ["INCL01"], "IECAT": ["INCLUSION"],
                       "IEORRES": ["N"], "TIVERS": ["V2"]})  # fmt: skip
    with pytest.raises(InputError, match="two recorded protocol versions") as err:
        summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm, ie=ie, ti=_versioned_ti())))
    assert "A: V1, V2" in str(err.value)


def test_output_in_the_study_folder_is_not_an_input(tmp_path, capsys):
    folder = write_csvs(tmp_path / "study", dm=DM3)
    out = folder / "summary.xlsx"
    assert main(["sdtm", str(folder), "-o", str(out)]) == 0
    assert main(["sdtm", str(folder), "-o", str(out), "--force"]) == 0
    assert "files not read: summary.xlsx" in capsys.readouterr().out
    assert main(["sdtm", str(folder), "--json", str(folder / "dm.csv"), "--force"]) == 2
    assert "never overwrites its input" in capsys.readouterr().err


def test_xpt_text_that_is_not_utf8_is_read_as_latin1(tmp_path):
    data = (MSG / "dm.xpt").read_bytes()
    assert data.count(b"CDISC001") == 1
    (tmp_path / "dm.xpt").write_bytes(data.replace(b"CDISC001", b"CDISC\xe901"))
    dm = load_sdtm(tmp_path).dm
    assert dm["USUBJID"].iloc[0] == "CDISCé01" and len(dm) == 18


def test_counts_conserve_on_both_studies():
    for study in (load_sdtm(PILOT), load_sdtm(MSG)):
        s = summarize_sdtm(study, version="ORIGINAL" if study.ie is not None else None)
        assert s.screened == s.screen_failed + s.randomized + s.not_randomized
        assert s.screened == s.by_site["screened"].sum() == len(study.dm)
        assert s.screen_failed == s.by_site["screen_failed"].sum()


def test_workbook_cells_are_never_formulas(tmp_path):
    import openpyxl

    dm = pd.DataFrame({"USUBJID": ["A", "B"], "SITEID": ["=HYPERLINK(\"x\")", "@SUM(1)"],
                       "ARMCD": ["SCRNFAIL", "PBO"]})  # fmt: skip
    folder = write_csvs(tmp_path / "s", dm=dm)
    out = tmp_path / "s.xlsx"
    assert main(["sdtm", str(folder), "-o", str(out)]) == 0
    ws = openpyxl.load_workbook(out)["By site"]
    sites = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=1) for r in (4, 5)}
    assert set(sites) == {'=HYPERLINK("x")', "@SUM(1)"}
    assert all(c.data_type == "s" and c.quotePrefix for c in sites.values())


def test_versions_recorded_in_ie_suffice(tmp_path):
    ie = pd.DataFrame({"USUBJID": ["A"], "IETESTCD": ["INCL02A"], "IECAT": ["INCLUSION"],
                       "IEORRES": ["N"], "TIVERS": ["V2"]})  # fmt: skip
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=DM3, ie=ie, ti=_versioned_ti())))
    assert s.to_dict()["criteria"] == {"INCL01": 0, "INCL02A": 1, "EXCL01": 0}
    assert s.versions_used == ("V2",)


def test_combinations_of_criteria_not_met(tmp_path):
    dm = pd.DataFrame({"USUBJID": list("ABCD"), "ARMCD": ["", "", "", "PBO"],
                       "ARMNRS": ["SCREEN FAILURE"] * 3 + [""]})  # fmt: skip
    ie = pd.DataFrame({"USUBJID": ["A", "A", "B", "B", "C"],
                       "IETESTCD": ["EXCL01", "INCL01", "INCL01", "EXCL01", "INCL02"],
                       "IECAT": ["EXCLUSION", "INCLUSION", "INCLUSION", "EXCLUSION", "INCLUSION"],
                       "IEORRES": ["Y", "N", "N", "Y", "N"]})  # fmt: skip
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm, ie=ie, ti=TI)))
    assert s.combinations.to_dict("records") == [
        {"criteria": "INCL01 + EXCL01", "n_criteria": 2, "subjects": 2},
        {"criteria": "INCL02", "n_criteria": 1, "subjects": 1},
    ]
    assert "    2  INCL01 + EXCL01" in s.text()
    assert summarize_sdtm(load_sdtm(PILOT)).combinations is None


def test_no_screen_failure_variable_is_refused(tmp_path):
    folder = write_csvs(tmp_path, dm=pd.DataFrame({"USUBJID": ["A"], "SITEID": ["1"]}))
    with pytest.raises(InputError, match="Screen failures cannot be identified"):
        summarize_sdtm(load_sdtm(folder))


def test_arm_stands_in_for_a_missing_armcd(tmp_path):
    dm = pd.DataFrame({"USUBJID": ["A", "B", "C"], "ARM": ["Screen Failure", "Placebo", ""]})
    s = summarize_sdtm(load_sdtm(write_csvs(tmp_path, dm=dm)))
    assert (s.screen_failed, s.randomized, s.not_randomized) == (1, 1, 1)


def test_outputs_are_byte_identical_on_rerun_and_html_is_escaped(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "SOURCE_DATE_EPOCH", "315532800"
    )  # the report time: runs may straddle a minute
    dm = pd.DataFrame({"USUBJID": ["A", "B"], "SITEID": ["<script>x</script>", "2"],
                       "ARMCD": ["SCRNFAIL", "PBO"]})  # fmt: skip
    folder = write_csvs(tmp_path / "s", dm=dm)
    book, page = tmp_path / "a.xlsx", tmp_path / "a.html"
    for out in (book, page):
        assert main(["sdtm", str(folder), "-o", str(out)]) == 0
        first = out.read_bytes()
        assert main(["sdtm", str(folder), "-o", str(out), "--force"]) == 0
        assert out.read_bytes() == first
    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text


def test_repeated_column_is_refused(tmp_path):
    (tmp_path / "dm.csv").write_text("USUBJID,armcd,ARMCD\nA,PBO,SCRNFAIL\n", encoding="utf-8")
    with pytest.raises(InputError, match="A column name repeats") as err:
        load_sdtm(tmp_path)
    assert "column: ARMCD" in str(err.value)


def test_statuses_from_ie_follow_the_criteria_counts():
    s = summarize_sdtm(load_sdtm(MSG), version="AMENDMENT 1")
    assert s.statuses.shape == (18, 31) and (s.statuses.dtypes == "boolean").all()
    assert (~s.statuses).sum().to_dict() == s.to_dict()["criteria"]
    assert s.statuses.loc["CDISC015", "INCL03"] is False or not s.statuses.loc["CDISC015", "INCL03"]
    assert bool(s.statuses.drop(index="CDISC015").all(axis=None))
    assert summarize_sdtm(load_sdtm(PILOT)).statuses is None


def test_version_for_a_study_without_tivers_is_refused():
    with pytest.raises(InputError, match="TI names no TIVERS"):
        summarize_sdtm(load_sdtm(PILOT), version="ORIGINAL")


@pytest.mark.parametrize("rows", [["A,INCL01,INCLUSION,Y"], []], ids=["only-met", "empty"])
def test_ie_without_any_criterion_not_met(tmp_path, rows):
    write_csvs(tmp_path, dm=pd.DataFrame({"USUBJID": ["A", "B"], "ARMCD": ["PBO", "SCRNFAIL"]}))
    lines = ["USUBJID,IETESTCD,IECAT,IEORRES", *rows]
    (tmp_path / "ie.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = summarize_sdtm(load_sdtm(tmp_path))
    assert s.to_dict()["criteria"] == ({"INCL01": 0} if rows else {})
    assert s.combinations.empty and s.statuses.shape == (2, len(rows))
    assert "(none: no IE record is a criterion not met)" in s.text()
    assert "1 screen failure(s) have no IE record of a criterion not met" in s.text()
    assert "randomized subject" not in s.text()  # A's record says INCL01 was met
    assert NO_IE not in s.text()


# ---------------------------------------------------------------- IE through the funnel
def test_msg_v2_through_the_funnel_matches_the_summary():
    from screenkit.funnel import funnel
    from screenkit.recorded import source_sentence
    from screenkit.sdtm import evaluate_sdtm

    study = load_sdtm(MSG)
    s = summarize_sdtm(study, version="AMENDMENT 1")
    ev = evaluate_sdtm(study, version="AMENDMENT 1")
    assert ev.status_source == "recorded"
    assert ev.protocol.ids == [*s.criteria["IETESTCD"], "NR"] and "EXCL12A" in ev.protocol.ids
    assert ev.protocol.criterion("INCL03").label == "MMSE score of 10 to 23."
    assert ev.protocol.criterion("EXCL09").kind == "exclusion"
    f = funnel(ev)
    assert f.headline() == {"screened": 18, "eligible": 17, "screen_failed": 1, "pending": 0}
    fails = f.criteria.set_index("criterion")["fails"]
    assert {k: int(fails[k]) for k in s.criteria["IETESTCD"]} == s.to_dict()["criteria"]
    assert int(fails["NR"]) == 0  # the screen failure has its IE record
    assert f.combinations()[["criteria", "patients"]].to_dict("records") == [
        {"criteria": "INCL03", "patients": 1}
    ]
    by_site = f.by_site().set_index("site_id")[["screened", "screen_failed"]]
    assert by_site.reset_index().rename(columns={"site_id": "site"}).to_dict(
        "records"
    ) == s.by_site.to_dict("records")
    assert f.by_month()["screened"].sum() == 18
    words = ev.to_frame().set_index("patient_id")
    assert words.loc["CDISC015", "INCL03"] == "fail"
    assert set(words.drop(columns=["site_id", "status"]).stack()) == {"fail", "not recorded"}
    assert "SDTM IE" in source_sentence(ev) and "NOT the same as passed" in source_sentence(ev)


def test_sdtm_evaluation_reason_not_recorded_pending_and_waiver(tmp_path):
    from screenkit.funnel import funnel
    from screenkit.sdtm import evaluate_sdtm

    dm = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "D", "E"],
            "SITEID": ["01", "01", "02", "02", "02"],
            "ARMCD": ["SCRNFAIL", "SCRNFAIL", "PBO", "", "PBO"],
            "ARMNRS": ["", "", "", "NOT ASSIGNED", ""],
            "RFICDTC": ["2024-01-05", "2024-02", "2024-02-10", "", "2024-02-11"],
        }
    )
    ie = pd.DataFrame({"USUBJID": ["A", "A", "C"], "IETESTCD": ["INCL01", "EXCL01", "INCL01"],
                       "IECAT": ["INCLUSION", "EXCLUSION", "INCLUSION"],
                       "IEORRES": ["N", "Y", "N"]})  # fmt: skip
    study = load_sdtm(write_csvs(tmp_path, dm=dm, ie=ie, ti=TI))
    ev = evaluate_sdtm(study)
    assert ev.status.tolist() == [
        "screen_failed",  # A: INCL01 + EXCL01 not met
        "screen_failed",  # B: screen failure, no IE record: NR
        "screen_failed",  # C: randomized with INCL01 not met (a waiver): listed = failed
        "pending",  # D: neither screen failed nor randomized, nothing recorded
        "eligible",  # E
    ]
    assert ev.statuses["NR"].astype(object).fillna("?").tolist() == [True, False, True, "?", True]
    assert ev.recorded.not_recorded == 1 and ev.recorded.conflicts == 1
    f = funnel(ev)
    fails = f.criteria.set_index("criterion")["fails"]
    assert (int(fails["INCL01"]), int(fails["EXCL01"]), int(fails["NR"])) == (2, 1, 1)
    assert f.combinations()["patients"].sum() == f.screen_failed == 3
    assert f.by_month().set_index("screening_month")["screened"].to_dict() == {
        "2024-01": 1,
        "2024-02": 2,  # C, E; B's partial RFICDTC 2024-02 is not read as a date
        "(no date)": 2,  # B, D
    }


def test_sdtm_evaluation_needs_criterion_level_data():
    from screenkit.sdtm import evaluate_sdtm

    with pytest.raises(InputError, match="no criterion-level data"):
        evaluate_sdtm(load_sdtm(PILOT))
    with pytest.raises(InputError, match="not mapped: TI has protocol versions"):
        evaluate_sdtm(load_sdtm(MSG))


def test_sdtm_evaluation_goes_into_the_screening_workbook(tmp_path):
    import openpyxl

    import screenkit as sk

    ev = sk.evaluate_sdtm(load_sdtm(MSG), version="ORIGINAL")
    sk.export_excel(sk.funnel(ev), tmp_path / "r.xlsx", evaluation=ev)
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["Summary"]
    summary = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if r[0]}
    assert summary["Status source"].startswith("recorded: the criteria not met in SDTM IE")
    assert summary["Protocol version"] == "ORIGINAL"
    assert summary["Screened"] == 18 and summary["Screen-failed"] == 1
