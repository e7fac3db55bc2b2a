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
  a ``TIVERS`` variable in DM or IE or a ``QNAM == "TIVERS"`` record in SUPPDM; subjects
  without one take ``version=`` (CLI ``--version``). When some subject still has no
  version, :func:`subject_versions` refuses and asks which version applies: never a guess
  (codes such as ``EXCL12`` / ``EXCL12A`` differ between versions).

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

from collections.abc import Mapping

import pandas as pd

from screenkit.errors import InputError

__all__ = ["criteria_not_met", "ie_failures", "protocol_skeleton", "subject_versions"]

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
    found: dict[str, set[str]] = {}
    for frame in (dm, ie):
        if frame is not None and "TIVERS" in frame.columns:
            for subject, version in frame[["USUBJID", "TIVERS"]].dropna().itertuples(index=False):
                found.setdefault(str(subject), set()).add(str(version))
    if suppdm is not None:
        rows = suppdm[suppdm["QNAM"].astype("string").str.upper() == "TIVERS"]
        for subject, version in rows[["USUBJID", "QVAL"]].dropna().itertuples(index=False):
            found.setdefault(str(subject), set()).add(str(version))
    for subject, seen in found.items():
        if len(seen) > 1:
            raise InputError(
                "A subject has two recorded protocol versions",
                column="TIVERS",
                value=f"{subject}: {', '.join(sorted(seen))}",
            )
    return {s: next(iter(v)) for s, v in found.items()}


def subject_versions(
    subjects, skeleton: pd.DataFrame, recorded: Mapping[str, str], version: str | None = None
) -> dict[str, str | None]:
    """USUBJID -> the protocol version that applies (``None`` when TI has at most one).

    With several versions: the recorded version, else ``version``; an :class:`InputError`
    when a subject has neither, when ``version`` is not in TI, or when a recorded version
    is not in TI.
    """
    known = versions(skeleton)
    if version is not None and known and version not in known:
        raise InputError(
            "--version is not a protocol version in TI",
            column="TIVERS",
            value=version,
            expected=", ".join(known),
        )
    if len(known) <= 1:
        return dict.fromkeys(map(str, subjects), known[0] if known else None)
    bad = sorted({v for v in recorded.values() if v not in known})
    if bad:
        raise InputError(
            "A recorded protocol version is not in TI",
            column="TIVERS",
            value=", ".join(bad),
            expected=", ".join(known),
        )
    out = {str(s): recorded.get(str(s), version) for s in subjects}
    unknown = [s for s, v in out.items() if v is None]
    if unknown:
        quoted = " or ".join(f'--version "{v}"' for v in known)
        raise InputError(
            f"TI holds {len(known)} protocol versions (TIVERS: {', '.join(known)}) and "
            f"{len(unknown)} of {len(out)} subjects have no recorded version (no TIVERS in "
            "DM or IE, no SUPPDM QNAM TIVERS): which version applies?",
            value=", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else ""),
            hint=f'say which version applies to them: {quoted} (Python: version="...")',
        )
    return out


def ie_failures(
    ie: pd.DataFrame,
    skeleton: pd.DataFrame,
    versions_by_subject: Mapping[str, str | None],
    *,
    file=None,
) -> pd.DataFrame:
    """IE as ``USUBJID, IETESTCD, IECAT, TIVERS, result, not_met`` (one row per record, in
    IE order): the result (IESTRESC, else IEORRES) and whether it is a criterion not met."""
    subject = ie["USUBJID"].astype("string")
    version = subject.map(lambda s: versions_by_subject.get(s)).astype("string")
    result = pd.Series(pd.NA, index=ie.index, dtype="string")
    for column in ("IEORRES", "IESTRESC"):  # IESTRESC wins where present
        if column in ie.columns:
            result = ie[column].astype("string").str.upper().where(ie[column].notna(), result)
    category = (
        ie["IECAT"].astype("string").str.upper()
        if "IECAT" in ie.columns
        else pd.Series(pd.NA, index=ie.index, dtype="string")
    )
    code = ie["IETESTCD"].astype("string")
    lookup = skeleton.assign(TIVERS=skeleton["TIVERS"].fillna(""))
    lookup = lookup.set_index(["IETESTCD", "TIVERS"])["IECAT"]
    keys = list(zip(code.fillna(""), version.fillna(""), strict=True))
    from_ti = pd.Series([lookup.get(k, pd.NA) for k in keys], index=ie.index, dtype="string")
    category = category.fillna(from_ti)
    for i in range(len(ie)):
        if pd.isna(code.iloc[i]):
            raise InputError(
                "IE record without IETESTCD", file=file, record=i + 1, column="IETESTCD"
            )
        if category.iloc[i] not in CATEGORIES:
            raise InputError(
                "IE record's IECAT is not INCLUSION or EXCLUSION (nor given by TI)",
                file=file,
                record=i + 1,
                column="IECAT",
                value=None if pd.isna(category.iloc[i]) else category.iloc[i],
                expected="INCLUSION, EXCLUSION",
            )
        if result.iloc[i] not in ("Y", "N"):
            raise InputError(
                "IE record's result is not Y or N",
                file=file,
                record=i + 1,
                column="IESTRESC / IEORRES",
                value=None if pd.isna(result.iloc[i]) else result.iloc[i],
                expected="Y, N (N: inclusion not met; Y: exclusion applies)",
            )
    not_met = ((category == "INCLUSION") & (result == "N")) | (
        (category == "EXCLUSION") & (result == "Y")
    )
    return pd.DataFrame(
        {
            "USUBJID": subject,
            "IETESTCD": code,
            "IECAT": category,
            "TIVERS": version,
            "result": result,
            "not_met": not_met.astype(bool),
        }
    ).reset_index(drop=True)


def criteria_not_met(
    ie: pd.DataFrame,
    skeleton: pd.DataFrame,
    versions_by_subject: Mapping[str, str | None],
    *,
    file=None,
) -> pd.DataFrame:
    """One row per criterion: ``IETESTCD, IETEST, IECAT, not_met`` (distinct subjects not
    meeting it), ``in_ti`` (False for an IE code TI does not list for that version).

    Order: TI order of the versions in use (a code shared by versions is one row), then
    IE codes not in TI. Criteria no subject failed are listed with 0: IE records every
    criterion not met, so 0 is a count, not a gap."""
    records = ie_failures(ie, skeleton, versions_by_subject, file=file)
    used = set(v for v in versions_by_subject.values() if v is not None)
    rows = skeleton if not used else skeleton[skeleton["TIVERS"].isin(used)]
    rows = rows.drop_duplicates("IETESTCD")[["IETESTCD", "IETEST", "IECAT"]]
    matched = records.assign(TIVERS=records["TIVERS"].fillna("")).merge(
        skeleton.assign(TIVERS=skeleton["TIVERS"].fillna("")),
        on=["IETESTCD", "TIVERS"] if used else ["IETESTCD"],
        how="left",
        indicator=True,
        suffixes=("", "_ti"),
    )
    extra = records.loc[
        (matched["_merge"] == "left_only").to_numpy(), ["IETESTCD", "IECAT"]
    ].drop_duplicates("IETESTCD")
    extra = extra[~extra["IETESTCD"].isin(rows["IETESTCD"])].assign(IETEST=pd.NA)
    failed = records[records["not_met"]].drop_duplicates(["USUBJID", "IETESTCD"])
    counts = failed["IETESTCD"].value_counts()
    table = pd.concat(
        [
            rows.assign(in_ti=True),
            extra.assign(in_ti=False)[["IETESTCD", "IETEST", "IECAT", "in_ti"]],
        ],
        ignore_index=True,
    )
    table["not_met"] = table["IETESTCD"].map(counts).fillna(0).astype(int)
    not_in_ti = set(records.loc[(matched["_merge"] == "left_only").to_numpy(), "IETESTCD"])
    table["in_ti"] = ~table["IETESTCD"].isin(not_in_ti)
    return table[["IETESTCD", "IETEST", "IECAT", "not_met", "in_ti"]]
