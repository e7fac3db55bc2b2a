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

from dataclasses import dataclass
from typing import Any

import pandas as pd

from screenkit.sdtm.criteria import (
    combinations_not_met,
    criteria_not_met,
    ie_failures,
    protocol_skeleton,
    recorded_versions,
    subject_versions,
    versions,
)
from screenkit.sdtm.read import SdtmStudy
from screenkit.sdtm.screen import disagreements, randomized, screen_failure_markers

__all__ = ["NO_IE", "SdtmSummary", "summarize_sdtm"]

NO_IE = "no criterion-level data (no IE domain)"
NO_SITE = "(no site)"


@dataclass(frozen=True)
class SdtmSummary:
    """Counts of one SDTM study. Tables are plain DataFrames:

    * ``by_site``: ``site, screened, screen_failed`` (DM ``SITEID``);
    * ``markers``: one boolean column per screen-failure convention checked, index USUBJID;
    * ``disagreements``: ``USUBJID, marked_by, not_marked_by``;
    * ``criteria``: ``IETESTCD, IETEST, IECAT, not_met, in_ti``, or ``None`` without IE;
    * ``combinations``: ``criteria, n_criteria, subjects`` (sets of criteria not met), or
      ``None`` without IE;
    * ``skeleton``: TI as ``IETESTCD, IETEST, IECAT, TIVERS``.
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
    skeleton: pd.DataFrame
    versions: tuple[str, ...]
    versions_used: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def conventions(self) -> dict[str, int]:
        """Convention key -> subjects it marks (every convention checked, 0 included)."""
        return {k: int(v) for k, v in self.markers.sum().items()}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: exactly ``screened, screen_failed, randomized, by_site, criteria,
        conventions``."""
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
        }

    def text(self) -> str:
        """The terminal summary."""
        pct = f" ({self.screen_failed / self.screened:.1%})" if self.screened else ""
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
        if not self.conventions:
            lines.append("  none checked (DM has no ARMCD / ARM / ARMNRS and there is no DS)")
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
            lines.append(f"Criteria: {NO_IE}")
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
    dm, notes = study.dm, []
    markers = screen_failure_markers(dm, study.ds)
    failed = markers.any(axis=1) if markers.shape[1] else pd.Series(False, index=markers.index)
    rand = randomized(dm, failed.reset_index(drop=True))
    ids = set(dm["USUBJID"].astype(str))
    site = (
        dm["SITEID"].astype("string").fillna(NO_SITE)
        if "SITEID" in dm.columns
        else pd.Series(NO_SITE, index=dm.index, dtype="string")
    )
    by_site = (
        pd.DataFrame({"site": site.to_numpy(), "screen_failed": failed.to_numpy(dtype=int)})
        .groupby("site", sort=True)
        .agg(screened=("screen_failed", "size"), screen_failed=("screen_failed", "sum"))
        .reset_index()
    )
    for name in ("ds", "ie", "suppds"):
        frame = getattr(study, name)
        if frame is not None:
            outside = sorted(set(frame["USUBJID"].dropna().astype(str)) - ids)
            if outside:
                notes.append(
                    f"{name.upper()} has {len(outside)} subject(s) not in DM (not counted as "
                    "screened)"
                )
    if "ARMNRS" in dm.columns and "ARMCD" in dm.columns:
        both = dm["ARMCD"].notna() & (
            dm["ARMNRS"].astype("string").str.upper() == "SCREEN FAILURE"
        ).fillna(False)
        if both.any():
            notes.append(
                f"{int(both.sum())} subject(s) have ARMNRS SCREEN FAILURE but an ARMCD; "
                "ARMNRS applies only with a blank ARMCD"
            )
    skeleton = protocol_skeleton(study.ti, file=study.files.get("TI"))
    criteria, combinations, used = None, None, ()
    if study.ie is not None:
        recorded = recorded_versions(dm, study.ie, study.suppdm)
        # a version is needed for the subjects whose IE records are mapped (for every DM
        # subject when IE is empty: the list of criteria then still depends on it)
        subjects = list(dict.fromkeys(study.ie["USUBJID"].dropna().astype(str)))
        by_subject = subject_versions(
            subjects or list(dm["USUBJID"].astype(str)), skeleton, recorded, version
        )
        chosen = set(by_subject.values()) | ({version} if version else set())
        used = tuple(v for v in versions(skeleton) if v in chosen)
        criteria = criteria_not_met(
            study.ie, skeleton, by_subject, also_versions=used, file=study.files.get("IE")
        )
        records = ie_failures(study.ie, skeleton, by_subject, file=study.files.get("IE"))
        combinations = combinations_not_met(records, criteria["IETESTCD"])
        if study.ti is None:
            notes.append("no TI domain: criteria listed as IE names them")
        elif not criteria["in_ti"].all():
            codes = criteria.loc[~criteria["in_ti"], "IETESTCD"].tolist()
            notes.append(f"IE codes not in TI for the subject's version: {', '.join(codes)}")
        ie_subjects = set(study.ie["USUBJID"].dropna().astype(str))
        waived = sorted(ie_subjects & set(dm.loc[rand.to_numpy(), "USUBJID"].astype(str)))
        if waived:
            notes.append(f"{len(waived)} randomized subject(s) have IE records (a waiver?)")
        silent = sorted(set(dm.loc[failed.to_numpy(), "USUBJID"].astype(str)) - ie_subjects)
        if silent:
            notes.append(f"{len(silent)} screen failure(s) have no IE record (reason not recorded)")
    if study.suppds is not None:
        sf = set(dm.loc[failed.to_numpy(), "USUBJID"].astype(str))
        for qnam, rows in study.suppds.groupby("QNAM", sort=True):
            subjects = set(rows["USUBJID"].dropna().astype(str))
            label = (
                rows["QLABEL"].dropna().iloc[0]
                if "QLABEL" in rows and rows["QLABEL"].notna().any()
                else ""
            )
            values = ", ".join(sorted(rows["QVAL"].dropna().astype(str).unique())[:8])
            notes.append(
                f"SUPPDS {qnam} {label!r}: {len(rows)} record(s), {len(subjects)} subject(s) "
                f"({len(subjects & sf)} of them screen failures); values: {values}"
            )
    if study.ignored:
        notes.append("files not read: " + ", ".join(p.name for p in study.ignored))
    study_id = (
        dm["STUDYID"].dropna().iloc[0]
        if "STUDYID" in dm.columns and dm["STUDYID"].notna().any()
        else None
    )
    n_failed, n_rand = int(failed.sum()), int(rand.sum())
    return SdtmSummary(
        study_id=None if study_id is None else str(study_id),
        screened=len(dm),
        screen_failed=n_failed,
        randomized=n_rand,
        not_randomized=len(dm) - n_failed - n_rand,
        by_site=by_site,
        markers=markers,
        disagreements=disagreements(markers),
        criteria=criteria,
        combinations=combinations,
        skeleton=skeleton,
        versions=tuple(versions(skeleton)),
        versions_used=used,
        notes=tuple(notes),
    )
