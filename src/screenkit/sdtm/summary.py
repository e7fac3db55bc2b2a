"""The screen-failure summary of an SDTM study: :func:`summarize_sdtm` -> :class:`SdtmSummary`.

Screened = the subjects in DM (one record each). Screen failures and randomized subjects
are defined in :mod:`screenkit.sdtm.screen`; criteria in :mod:`screenkit.sdtm.criteria`.
Without an IE domain, ``criteria`` is ``None`` and every output says "no criterion-level
data (no IE domain)": the study did not record which criterion each screen failure
missed, which is not "no subject failed a criterion". Subjects that appear in DS or IE but
not in DM are not screened subjects; they are counted in a note, never dropped silently.

>>> import pandas as pd, tempfile, pathlib
>>> from screenkit.sdtm import load_sdtm
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "SITEID": ["01", "01", "02"],
...               "ARMCD": ["SCRNFAIL", "PBO", "PBO"]}).to_csv(folder / "dm.csv", index=False)
>>> s = summarize_sdtm(load_sdtm(folder))
>>> s.screened, s.screen_failed, s.randomized, s.criteria is None
(3, 1, 2, True)
>>> s.to_dict()["by_site"]
{'01': {'screened': 2, 'screen_failed': 1}, '02': {'screened': 1, 'screen_failed': 0}}
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

import pandas as pd

from screenkit.errors import InputError
from screenkit.sdtm.criteria import (
    check_version,
    combinations_not_met,
    criteria_from_records,
    ie_failures,
    ie_statuses,
    missing_versions,
    protocol_skeleton,
    recorded_versions,
    subject_versions,
    versions,
)
from screenkit.sdtm.read import SdtmStudy
from screenkit.sdtm.screen import disagreements, randomized, screen_failure_markers
from screenkit.style import percent

__all__ = ["NO_IE", "SdtmSummary", "summarize_sdtm"]

NO_IE = "no criterion-level data (no IE domain)"
NO_SITE = "(no site)"
ASK = " Say which version applies:"


@dataclass(frozen=True)
class SdtmSummary:
    """Counts of one SDTM study. Tables are plain DataFrames:

    * ``by_site``: ``site, screened, screen_failed`` (DM ``SITEID``);
    * ``markers``: one boolean column per screen-failure convention checked, index USUBJID;
    * ``disagreements``: ``USUBJID, marked_by, not_marked_by``;
    * ``criteria``: ``IETESTCD, IETEST, IECAT, not_met, in_ti``, or ``None`` without IE;
    * ``combinations``: ``criteria, n_criteria, subjects`` (sets of criteria not met), or
      ``None`` without IE;
    * ``statuses``: DM subjects x criteria, nullable booleans (False = not met per IE),
      ``None`` without IE (see :func:`~screenkit.sdtm.criteria.ie_statuses`);
    * ``skeleton``: TI as ``IETESTCD, IETEST, IECAT, TIVERS``.

    ``criteria_note`` says why ``criteria`` is ``None`` (:data:`NO_IE`, or TI holds several
    protocol versions and some IE subject's version is neither recorded nor given by
    ``version=``: the criteria are then not mapped, never guessed); ``None`` when mapped.
    Every other count does not depend on the protocol version and is always given.
    """

    study_id: str | None
    screened: int
    screen_failed: int
    randomized: int
    not_randomized: int
    by_site: pd.DataFrame
    markers: pd.DataFrame
    disagreements: pd.DataFrame
    criteria: pd.DataFrame | None
    combinations: pd.DataFrame | None
    statuses: pd.DataFrame | None
    skeleton: pd.DataFrame
    versions: tuple[str, ...]
    versions_used: tuple[str, ...]
    notes: tuple[str, ...]
    criteria_note: str | None = None

    @property
    def conventions(self) -> dict[str, int]:
        """Convention key -> subjects it marks (every convention checked, 0 included)."""
        return {k: int(v) for k, v in self.markers.sum().items()}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: exactly ``screened, screen_failed, randomized, by_site, criteria,
        conventions, criteria_note, versions``. ``criteria`` is ``null`` with
        ``criteria_note`` saying why (no IE domain; protocol version not known);
        ``criteria_note`` is ``null`` when the criteria are mapped. ``versions``: TI's
        protocol versions (TIVERS), ``[]`` when TI names none."""
        criteria = (
            None
            if self.criteria is None
            else {r.IETESTCD: int(r.not_met) for r in self.criteria.itertuples()}
        )
        return {
            "screened": self.screened,
            "screen_failed": self.screen_failed,
            "randomized": self.randomized,
            "by_site": {
                str(r.site): {"screened": int(r.screened), "screen_failed": int(r.screen_failed)}
                for r in self.by_site.itertuples()
            },
            "criteria": criteria,
            "conventions": self.conventions,
            "criteria_note": self.criteria_note,
            "versions": list(self.versions),
        }

    def text(self) -> str:
        """The terminal summary."""
        pct = f" ({percent(self.screen_failed / self.screened)})" if self.screened else ""
        lines = [
            f"SDTM study {self.study_id or '(no STUDYID)'}",
            f"  screened (DM subjects): {self.screened}",
            f"  screen failed:          {self.screen_failed}{pct}",
            f"  randomized (DM arm):    {self.randomized}",
        ]
        if self.not_randomized:
            lines.append(f"  neither (no arm, not a screen failure): {self.not_randomized}")
        lines.append("Screen-failure conventions (subjects marked):")
        for key, count in self.conventions.items():
            lines.append(f"  {key:<24} {count}")
        if len(self.disagreements):
            lines.append(f"  the conventions disagree on {len(self.disagreements)} subject(s):")
            for r in self.disagreements.head(10).itertuples():
                lines.append(f"    {r.USUBJID}: marked by {r.marked_by}; not by {r.not_marked_by}")
            if len(self.disagreements) > 10:
                lines.append(f"    ... and {len(self.disagreements) - 10} more")
        elif self.screen_failed:
            used = [k for k, v in self.conventions.items() if v]
            lines.append(f"  the conventions in use ({', '.join(used)}) agree on every subject")
        lines.append("By site (screened / screen failed):")
        for r in self.by_site.itertuples():
            lines.append(f"  {r.site:<10} {r.screened:>5} {r.screen_failed:>5}")
        if self.criteria is None:
            why, _, ask = (self.criteria_note or NO_IE).partition(ASK)
            lines.extend(textwrap.wrap(f"Criteria: {why}", 92, subsequent_indent="  "))
            if ask:
                lines.append(f"  {ASK.strip()} {ask.strip()}")
        else:
            shown = (
                f" (protocol version {', '.join(self.versions_used)})" if self.versions_used else ""
            )
            lines.append(f"Criteria not met (IE, subjects){shown}:")
            failing = self.criteria[self.criteria["not_met"] > 0]
            for r in failing.itertuples():
                label = "" if pd.isna(r.IETEST) else f"  {str(r.IETEST)[:60]}"
                lines.append(f"  {r.IETESTCD:<10} {r.not_met:>5}{label}")
            rest = len(self.criteria) - len(failing)
            lines.append(f"  ({rest} other criteria: not met by any subject)")
            lines.append("Combinations of criteria not met (subjects):")
            if self.combinations.empty:
                lines.append("  (none: no IE record is a criterion not met)")
            for r in self.combinations.head(10).itertuples():
                lines.append(f"  {r.subjects:>5}  {r.criteria}")
            if len(self.combinations) > 10:
                lines.append(f"  ... and {len(self.combinations) - 10} more")
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)


def summarize_sdtm(study: SdtmStudy, *, version: str | None = None) -> SdtmSummary:
    """Screened, screen failed (every convention), randomized, by site, criteria not met.

    ``version``: the protocol version (TI ``TIVERS``) for subjects with none recorded;
    needed only when TI holds several versions and IE is present (see
    :mod:`screenkit.sdtm.criteria`).
    """
    dm = study.dm
    markers = screen_failure_markers(dm, study.ds)
    if not markers.shape[1]:
        raise InputError(
            "Screen failures cannot be identified: DM has no ARMCD, ARM or ARMNRS and there "
            "is no DS domain",
            file=study.files.get("DM"),
            value=", ".join(map(str, dm.columns)),
            expected="DM with ARMCD / ARM / ARMNRS, or a DS domain with DSDECOD",
        )
    failed = markers.any(axis=1).to_numpy(dtype=bool)
    rand = randomized(dm, pd.Series(failed)).to_numpy(dtype=bool)
    skeleton = protocol_skeleton(study.ti, file=study.files.get("TI"))
    check_version(version, versions(skeleton))
    notes = _dm_notes(study)
    criteria, combinations, statuses, used, why = None, None, None, (), NO_IE
    if study.ie is not None:
        why = _version_gap(study, skeleton, version)
    if study.ie is not None and why is None:
        criteria, combinations, statuses, used, ie_notes = _from_ie(
            study, skeleton, failed, rand, version
        )
        notes += ie_notes
    notes += _suppds_notes(study, failed)
    if study.ignored:
        notes.append("files not read: " + ", ".join(p.name for p in study.ignored))
    study_id = dm["STUDYID"].dropna() if "STUDYID" in dm.columns else pd.Series([], dtype=str)
    n_failed, n_rand = int(failed.sum()), int(rand.sum())
    return SdtmSummary(
        study_id=str(study_id.iloc[0]) if len(study_id) else None,
        screened=len(dm),
        screen_failed=n_failed,
        randomized=n_rand,
        not_randomized=len(dm) - n_failed - n_rand,
        by_site=_by_site(dm, failed),
        markers=markers,
        disagreements=disagreements(markers),
        criteria=criteria,
        combinations=combinations,
        statuses=statuses,
        skeleton=skeleton,
        versions=tuple(versions(skeleton)),
        versions_used=used,
        notes=tuple(notes),
        criteria_note=why,
    )


def _by_site(dm: pd.DataFrame, failed) -> pd.DataFrame:
    site = (
        dm["SITEID"].astype("string").fillna(NO_SITE)
        if "SITEID" in dm.columns
        else pd.Series(NO_SITE, index=dm.index, dtype="string")
    )
    return (
        pd.DataFrame({"site": site.to_numpy(), "screen_failed": failed.astype(int)})
        .groupby("site", sort=True)
        .agg(screened=("screen_failed", "size"), screen_failed=("screen_failed", "sum"))
        .reset_index()
    )


def _subjects(frame: pd.DataFrame, mask=None) -> set[str]:
    ids = frame["USUBJID"] if mask is None else frame.loc[mask, "USUBJID"]
    return set(ids.dropna().astype(str))


def _dm_notes(study: SdtmStudy) -> list[str]:
    """Subjects outside DM; ARMNRS SCREEN FAILURE beside an arm."""
    dm, notes = study.dm, []
    in_dm = _subjects(dm)
    for name in ("ds", "ie", "suppds"):
        frame = getattr(study, name)
        outside = _subjects(frame) - in_dm if frame is not None else set()
        if outside:
            notes.append(
                f"{name.upper()} has {len(outside)} subject(s) not in DM (not counted as screened)"
            )
    if "ARMNRS" in dm.columns and "ARMCD" in dm.columns:
        nrs = (dm["ARMNRS"].astype("string").str.upper() == "SCREEN FAILURE").fillna(False)
        both = int((dm["ARMCD"].notna() & nrs).sum())
        if both:
            notes.append(
                f"{both} subject(s) have ARMNRS SCREEN FAILURE but an ARMCD; "
                "ARMNRS applies only with a blank ARMCD"
            )
    return notes


def _ie_subjects(study: SdtmStudy) -> list[str]:
    """The subjects whose version matters: IE's (every DM subject when IE is empty: the
    list of criteria then still depends on it)."""
    subjects = list(dict.fromkeys(study.ie["USUBJID"].dropna().astype(str)))
    return subjects or list(study.dm["USUBJID"].astype(str))


def _version_gap(study: SdtmStudy, skeleton, version) -> str | None:
    """Why the criteria cannot be mapped (TI has several versions and some IE subject's is
    not known), in words; ``None`` when they can."""
    recorded = recorded_versions(study.dm, study.ie, study.suppdm)
    subjects = _ie_subjects(study)
    unknown = missing_versions(subjects, skeleton, recorded, version)
    if not unknown:
        return None
    known = versions(skeleton)
    listed = " and ".join(f'"{v}"' for v in known) if len(known) == 2 else ", ".join(known)
    quoted = " or ".join(f'--version "{v}"' for v in known)
    n_ie, who = len(study.ie), len(unknown)
    n_subjects = study.ie["USUBJID"].dropna().nunique()
    whose = (
        "no subject's version is recorded"
        if who == len(subjects)
        else f"{who} of {len(subjects)} IE subject(s) have no recorded version"
    )
    codes = [frozenset(skeleton.loc[skeleton["TIVERS"] == v, "IETESTCD"]) for v in known]
    differ = "; their criteria codes differ" if len(set(codes)) > 1 else ""
    return (
        f"not mapped: TI has protocol versions {listed} (TIVERS){differ}; {whose} (no "
        f"TIVERS in DM or IE, no SUPPDM QNAM TIVERS), so which criteria IE refers to is not "
        f"known and is not guessed. IE holds {n_ie} record(s) for {n_subjects} "
        f"subject(s).{ASK} {quoted}"
    )


def _from_ie(study: SdtmStudy, skeleton, failed, rand, version):
    """``(criteria, combinations, statuses, versions used, notes)`` from IE (through TI)."""
    dm, ie, notes = study.dm, study.ie, []
    recorded = recorded_versions(dm, ie, study.suppdm)
    by_subject = subject_versions(_ie_subjects(study), skeleton, recorded, version)
    chosen = set(by_subject.values()) | ({version} if version else set())
    used = tuple(v for v in versions(skeleton) if v in chosen)
    records = ie_failures(ie, skeleton, by_subject, file=study.files.get("IE"))
    criteria = criteria_from_records(records, skeleton, set(used))
    combinations = combinations_not_met(records, criteria["IETESTCD"])
    statuses = ie_statuses(records, dm["USUBJID"].astype(str), criteria["IETESTCD"])
    if study.ti is None:
        notes.append("no TI domain: criteria listed as IE names them")
    elif not criteria["in_ti"].all():
        codes = criteria.loc[~criteria["in_ti"], "IETESTCD"].tolist()
        notes.append(f"IE codes not in TI for the subject's version: {', '.join(codes)}")
    not_met = _subjects(records, records["not_met"].to_numpy())
    waived = not_met & _subjects(dm, rand)
    if waived:
        notes.append(f"{len(waived)} randomized subject(s) did not meet a criterion (a waiver?)")
    silent = _subjects(dm, failed) - not_met
    if silent:
        notes.append(
            f"{len(silent)} screen failure(s) have no IE record of a criterion not met "
            "(reason not recorded)"
        )
    return criteria, combinations, statuses, used, notes


def _suppds_notes(study: SdtmStudy, failed) -> list[str]:
    """One note per SUPPDS QNAM: records, subjects, how many are screen failures."""
    if study.suppds is None:
        return []
    notes, screen_failures = [], _subjects(study.dm, failed)
    for qnam, rows in study.suppds.groupby("QNAM", sort=True):
        subjects = _subjects(rows)
        labels = rows["QLABEL"].dropna() if "QLABEL" in rows.columns else rows["QNAM"][:0]
        label = f" {labels.iloc[0]!r}" if len(labels) else ""
        values = ", ".join(sorted(rows["QVAL"].dropna().astype(str).unique())[:8])
        notes.append(
            f"SUPPDS {qnam}{label}: {len(rows)} record(s), {len(subjects)} subject(s) "
            f"({len(subjects & screen_failures)} of them screen failures); values: {values}"
        )
    return notes
