"""Criteria from SDTM: TI -> the protocol skeleton, IE -> which subject did not meet what.

* **TI** (trial inclusion/exclusion criteria) gives the skeleton: ``IETESTCD``, ``IETEST``,
  ``IECAT``, ``TIVERS`` (the protocol version; one version when TI has no TIVERS).
* **IE** holds one record per criterion a subject did NOT meet: ``IECAT`` ``INCLUSION``
  with result ``N`` (an inclusion not met) or ``EXCLUSION`` with ``Y`` (an exclusion that
  applies). The result is ``IESTRESC``, or ``IEORRES`` when IESTRESC is blank. Records that
  say a criterion was met (inclusion ``Y``, exclusion ``N``), which some sponsors also
  submit, are kept but are not failures. Any other result, or an IECAT that is neither
  INCLUSION nor EXCLUSION (after filling a blank one from TI), is refused with the row.
* **Protocol versions.** When TI holds several TIVERS, each subject's version is read from
  a ``TIVERS`` variable in DM or IE or a ``QNAM == "TIVERS"`` record in SUPPDM; IE subjects
  without one take ``version=`` (CLI ``--version``). When some subject still has no
  version, :func:`subject_versions` refuses and asks which version applies, and
  :func:`~screenkit.sdtm.summary.summarize_sdtm` leaves the criteria unmapped and says why:
  never a guess (codes such as ``EXCL12`` / ``EXCL12A`` differ between versions).

>>> import pandas as pd
>>> ti = pd.DataFrame({"IETESTCD": ["INCL01", "EXCL01"], "IETEST": ["Age >= 50", "Stroke"],
...                    "IECAT": ["INCLUSION", "EXCLUSION"]})
>>> ie = pd.DataFrame({"USUBJID": ["A", "B"], "IETESTCD": ["INCL01", "EXCL01"],
...                    "IECAT": ["INCLUSION", "EXCLUSION"], "IEORRES": ["N", "Y"]})
>>> table = criteria_not_met(ie, protocol_skeleton(ti), {"A": None, "B": None})
>>> table[["IETESTCD", "not_met"]].to_dict("records")
[{'IETESTCD': 'INCL01', 'not_met': 1}, {'IETESTCD': 'EXCL01', 'not_met': 1}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from screenkit.errors import InputError

__all__ = [
    "combinations_not_met",
    "criteria_from_records",
    "criteria_not_met",
    "ie_failures",
    "ie_statuses",
    "missing_versions",
    "protocol_skeleton",
    "subject_versions",
]

SKELETON = ["IETESTCD", "IETEST", "IECAT", "TIVERS"]
CATEGORIES = ("INCLUSION", "EXCLUSION")


def protocol_skeleton(ti: pd.DataFrame | None, *, file=None) -> pd.DataFrame:
    """TI as ``IETESTCD, IETEST, IECAT, TIVERS`` (TIVERS ``<NA>`` when TI has one version);
    an empty frame without TI. A code repeated within one version is refused."""
    if ti is None:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in SKELETON})
    out = pd.DataFrame(
        {c: ti[c] if c in ti.columns else pd.Series(pd.NA, index=ti.index) for c in SKELETON}
    ).astype("string")
    out["IECAT"] = out["IECAT"].str.upper()
    repeated = out.duplicated(["IETESTCD", "TIVERS"])
    if repeated.any():
        row = int(repeated.to_numpy().nonzero()[0][0])
        raise InputError(
            "TI lists a criterion code twice in one protocol version",
            file=file,
            row=row + 1,
            column="IETESTCD",
            value=out["IETESTCD"].iloc[row],
        )
    return out.reset_index(drop=True)


def versions(skeleton: pd.DataFrame) -> list[str]:
    """The protocol versions TI names, in TI order."""
    return list(dict.fromkeys(skeleton["TIVERS"].dropna()))


def recorded_versions(dm, ie=None, suppdm=None) -> dict[str, str]:
    """USUBJID -> TIVERS where DM, IE or SUPPDM record it (a subject with two is refused)."""
    parts = [f[["USUBJID", "TIVERS"]] for f in (dm, ie) if f is not None and "TIVERS" in f.columns]
    if suppdm is not None:
        rows = suppdm[(suppdm["QNAM"].astype("string").str.upper() == "TIVERS").fillna(False)]
        parts.append(rows[["USUBJID", "QVAL"]].rename(columns={"QVAL": "TIVERS"}))
    if not parts:
        return {}
    found = pd.concat(parts, ignore_index=True).dropna().astype("string").drop_duplicates()
    two = found[found["USUBJID"].duplicated(keep=False)]
    if len(two):
        subject = two["USUBJID"].iloc[0]
        seen = ", ".join(sorted(two.loc[two["USUBJID"] == subject, "TIVERS"]))
        raise InputError(
            "A subject has two recorded protocol versions",
            column="TIVERS",
            value=f"{subject}: {seen}",
            hint="DM, IE and SUPPDM must agree on each subject's TIVERS",
        )
    return dict(zip(found["USUBJID"], found["TIVERS"], strict=True))


def check_version(version: str | None, known: list[str]) -> None:
    """An :class:`InputError` unless ``version`` is ``None`` or one of TI's versions."""
    if version is not None and version not in known:
        raise InputError(
            "--version is not a protocol version in TI",
            column="TIVERS",
            value=version,
            expected=", ".join(known) or "(TI names no TIVERS: leave --version out)",
        )


def subject_versions(
    subjects, skeleton: pd.DataFrame, recorded: Mapping[str, str], version: str | None = None
) -> dict[str, str | None]:
    """USUBJID -> the protocol version that applies (``None`` when TI has at most one).

    With several versions: the recorded version, else ``version``; an :class:`InputError`
    when a subject has neither, when ``version`` is not in TI, or when a recorded version
    is not in TI.
    """
    subjects, known = [str(s) for s in subjects], versions(skeleton)
    unknown = missing_versions(subjects, skeleton, recorded, version)
    if unknown:
        quoted = " or ".join(f'--version "{v}"' for v in known)
        raise InputError(
            f"TI holds {len(known)} protocol versions (TIVERS: {', '.join(known)}) and "
            f"{len(unknown)} of {len(subjects)} subject(s) have no recorded version "
            "(no TIVERS in DM or IE, no SUPPDM QNAM TIVERS): which version applies?",
            value=", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else ""),
            hint=f'say which version applies to them: {quoted} (Python: version="...")',
        )
    if len(known) <= 1:
        return dict.fromkeys(subjects, known[0] if known else None)
    return {s: recorded.get(s, version) for s in subjects}


def missing_versions(
    subjects, skeleton: pd.DataFrame, recorded: Mapping[str, str], version: str | None = None
) -> list[str]:
    """The subjects whose protocol version is not known: none when TI has at most one
    version; else those with no recorded version when ``version`` is ``None``. An
    :class:`InputError` when ``version`` or a recorded version is not in TI.

    >>> ti = pd.DataFrame({"IETESTCD": ["INCL01", "INCL01"], "TIVERS": ["V1", "V2"]})
    >>> missing_versions(["A", "B"], protocol_skeleton(ti), {"A": "V2"})
    ['B']
    >>> missing_versions(["A", "B"], protocol_skeleton(ti), {"A": "V2"}, "V1")
    []
    """
    known = versions(skeleton)
    check_version(version, known)
    if len(known) <= 1:
        return []
    bad = sorted({v for v in recorded.values() if v not in known})
    if bad:
        raise InputError(
            "A recorded protocol version is not in TI",
            column="TIVERS",
            value=", ".join(bad),
            expected=", ".join(known),
        )
    if version is not None:
        return []
    return [str(s) for s in subjects if str(s) not in recorded]


def ie_failures(
    ie: pd.DataFrame,
    skeleton: pd.DataFrame,
    versions_by_subject: Mapping[str, str | None],
    *,
    file=None,
) -> pd.DataFrame:
    """IE as ``USUBJID, IETESTCD, IECAT, TIVERS, result, not_met, in_ti`` (one row per
    record, in IE order): the result (IESTRESC, else IEORRES), whether the record is a
    criterion not met, and whether TI lists the code for the subject's version."""
    subject = ie["USUBJID"].astype("string")
    version = subject.map(versions_by_subject).astype("string")
    result = pd.Series(pd.NA, index=ie.index, dtype="string")
    for column in ("IEORRES", "IESTRESC"):  # IESTRESC wins where present
        if column in ie.columns:
            result = ie[column].astype("string").str.upper().fillna(result)
    category = (
        ie["IECAT"].astype("string").str.upper()
        if "IECAT" in ie.columns
        else pd.Series(pd.NA, index=ie.index, dtype="string")
    )
    code = ie["IETESTCD"].astype("string")
    records = pd.DataFrame({"USUBJID": subject, "IETESTCD": code, "TIVERS": version})
    ti = skeleton[["IETESTCD", "TIVERS", "IECAT"]].rename(columns={"IECAT": "ti_cat"})
    keys = ["IETESTCD", "TIVERS"]
    joined = records.fillna({"TIVERS": ""}).merge(
        ti.fillna({"TIVERS": ""}), on=keys, how="left", indicator=True, validate="many_to_one"
    )
    in_ti = (joined["_merge"] == "both").to_numpy()
    category = category.fillna(pd.Series(joined["ti_cat"].to_numpy(), index=ie.index))
    _refuse_first(code.isna(), "IE record without IETESTCD", file, "IETESTCD", code)
    _refuse_first(
        ~category.isin(CATEGORIES).fillna(False),
        "IE record's IECAT is not INCLUSION or EXCLUSION (nor given by TI)",
        file,
        "IECAT",
        category,
        expected="INCLUSION, EXCLUSION",
    )
    _refuse_first(
        ~result.isin(("Y", "N")).fillna(False),
        "IE record's result is not Y or N",
        file,
        "IESTRESC / IEORRES",
        result,
        expected="Y, N (N: inclusion not met; Y: exclusion applies)",
    )
    not_met = ((category == "INCLUSION") & (result == "N")) | (
        (category == "EXCLUSION") & (result == "Y")
    )
    return records.assign(
        IECAT=category, result=result, not_met=not_met.astype(bool), in_ti=in_ti
    ).reset_index(drop=True)[
        ["USUBJID", "IETESTCD", "IECAT", "TIVERS", "result", "not_met", "in_ti"]
    ]


def _refuse_first(bad: pd.Series, message: str, file, column: str, values, **more) -> None:
    """An :class:`InputError` naming the first bad IE record (and how many there are)."""
    if not bad.any():
        return
    first = int(bad.to_numpy().nonzero()[0][0])
    value = values.iloc[first]
    raise InputError(
        message,
        file=file,
        record=first + 1,
        column=column,
        value=None if pd.isna(value) else value,
        records_like_this=int(bad.sum()),
        **more,
    )


def criteria_not_met(
    ie: pd.DataFrame,
    skeleton: pd.DataFrame,
    versions_by_subject: Mapping[str, str | None],
    *,
    also_versions: Iterable[str] = (),
    file=None,
) -> pd.DataFrame:
    """One row per criterion: ``IETESTCD, IETEST, IECAT, not_met`` (distinct subjects not
    meeting it), ``in_ti`` (False for an IE code TI does not list for a subject's version).

    The versions in use are the subjects' and ``also_versions``.
    Order: TI order of the versions in use (a code shared by versions is one row), then
    IE codes not in TI. Criteria no subject failed are listed with 0: IE records every
    criterion not met, so 0 is a count, not a gap."""
    records = ie_failures(ie, skeleton, versions_by_subject, file=file)
    used = {v for v in versions_by_subject.values() if v is not None} | set(also_versions)
    return criteria_from_records(records, skeleton, used)


def criteria_from_records(records: pd.DataFrame, skeleton: pd.DataFrame, used) -> pd.DataFrame:
    """:func:`criteria_not_met` from :func:`ie_failures`' ``records`` and the protocol
    versions ``used`` (empty: TI has at most one)."""
    listed = skeleton if not used else skeleton[skeleton["TIVERS"].isin(used)]
    listed = listed.drop_duplicates("IETESTCD")[["IETESTCD", "IETEST", "IECAT"]]
    extra = records.loc[~records["IETESTCD"].isin(listed["IETESTCD"]), ["IETESTCD", "IECAT"]]
    table = pd.concat(
        [listed, extra.drop_duplicates("IETESTCD").assign(IETEST=pd.NA)], ignore_index=True
    )
    failed = records[records["not_met"]].drop_duplicates(["USUBJID", "IETESTCD"])
    table["not_met"] = table["IETESTCD"].map(failed["IETESTCD"].value_counts()).fillna(0)
    table["not_met"] = table["not_met"].astype(int)
    table["in_ti"] = ~table["IETESTCD"].isin(records.loc[~records["in_ti"], "IETESTCD"])
    return table[["IETESTCD", "IETEST", "IECAT", "not_met", "in_ti"]]


def combinations_not_met(records: pd.DataFrame, order: Iterable[str] = ()) -> pd.DataFrame:
    """``criteria`` (codes joined by " + ", in ``order`` then alphabetical), ``n_criteria``
    and ``subjects``: how many subjects did not meet exactly that set, most frequent first.
    ``records`` is :func:`ie_failures`' frame; subjects with no criterion not met are not
    rows.

    >>> rec = pd.DataFrame({"USUBJID": ["A", "A", "B", "C"],
    ...                     "IETESTCD": ["INCL03", "EXCL09", "INCL03", "INCL03"],
    ...                     "not_met": [True, True, True, True]})
    >>> combinations_not_met(rec, ["INCL03", "EXCL09"]).to_dict("records")
    [{'criteria': 'INCL03', 'n_criteria': 1, 'subjects': 2}, \
{'criteria': 'INCL03 + EXCL09', 'n_criteria': 2, 'subjects': 1}]
    """
    rank = {code: i for i, code in enumerate(order)}
    failed = records.loc[records["not_met"], ["USUBJID", "IETESTCD"]].drop_duplicates()
    failed = failed.assign(
        _rank=failed["IETESTCD"].map(rank).fillna(len(rank)), _code=failed["IETESTCD"]
    ).sort_values(["_rank", "_code"], kind="stable")
    sets = failed.groupby("USUBJID", sort=False)["IETESTCD"].agg(lambda c: " + ".join(c))
    sizes = failed.groupby("USUBJID", sort=False).size()
    table = (
        pd.DataFrame({"criteria": sets, "n_criteria": sizes.reindex(sets.index)})
        .groupby(["criteria", "n_criteria"], sort=False)
        .size()
        .rename("subjects")
        .reset_index()
        .sort_values(["subjects", "n_criteria", "criteria"], ascending=[False, True, True])
    )
    return table.reset_index(drop=True).astype({"n_criteria": int, "subjects": int})


def ie_statuses(records: pd.DataFrame, subjects, codes) -> pd.DataFrame:
    """Subjects x criteria as nullable booleans, the shape of a screening log's status
    frame (True = passes, also for exclusions): False where IE records the criterion as not
    met, True elsewhere. SDTM's IE holds the criteria NOT met (SDTMIG: one record per
    exception), so a criterion a subject has no IE record for was met; a record saying it
    was met (inclusion Y / exclusion N) is True as well.

    >>> rec = pd.DataFrame({"USUBJID": ["A"], "IETESTCD": ["EXCL09"], "not_met": [True]})
    >>> ie_statuses(rec, ["A", "B"], ["INCL01", "EXCL09"])
            INCL01  EXCL09
    USUBJID
    A         True   False
    B         True    True
    """
    index = pd.Index(list(subjects), name="USUBJID", dtype="string")
    codes = list(codes)
    failed = records.loc[records["not_met"], ["USUBJID", "IETESTCD"]].drop_duplicates()
    failed = failed[failed["USUBJID"].isin(index) & failed["IETESTCD"].isin(codes)]
    rows = index.get_indexer(failed["USUBJID"])
    cols = pd.Index(codes).get_indexer(failed["IETESTCD"])
    values = np.ones((len(index), len(codes)), dtype=bool)
    values[rows, cols] = False
    return pd.DataFrame(values, index=index, columns=pd.Index(codes)).astype("boolean")
