"""An SDTM study through the screening-log funnel: TI -> :class:`~screenkit.protocol.Protocol`,
IE -> :class:`~screenkit.evaluate.Evaluation` in recorded mode.

:func:`evaluate_sdtm` gives the same Evaluation a recorded-reasons site log gives
(:mod:`screenkit.recorded`), so :func:`screenkit.funnel.funnel`, its combinations and its
by-site / by-month tables work on an SDTM study. Decisions:

- **One subject = one DM record** (patient_id = USUBJID, site_id = SITEID, screening date
  = DM ``RFICDTC``, the informed-consent date, when it is a full date; a partial date
  such as ``2013-07`` or none gives the "no date" month).
- **The protocol** is :func:`sdtm_protocol`: one yes/no criterion per IETESTCD of the
  summary's criteria table (TI for the protocol version in use, then IE codes TI lacks),
  labelled by IETEST, inclusion / exclusion by IECAT. Its rules are never evaluated.
- **IE "not met" = fail** (inclusion ``N``, exclusion ``Y``). **No IE record = not recorded
  as failed**, which is not "passed": the wording of recorded mode,
  ``status_source == "recorded"``.
- **Screen failure** = any DM / DS convention (:mod:`screenkit.sdtm.screen`). A screen
  failure with no IE record of a criterion not met fails the pseudo-criterion ``NR``
  ("reason not recorded"); a subject neither screen failed nor randomized with no such
  record is pending. A randomized subject with a criterion not met (a waiver) fails it
  in the funnel, as a site log's "randomized yet with a reason recorded": the funnel then
  counts it among the screen failures, and ``recorded.conflicts`` (and the summary's note)
  say how many.
- Without criterion-level data (no IE domain) or with the protocol version not known,
  there is nothing to evaluate: an :class:`~screenkit.errors.InputError` gives the
  summary's ``criteria_note``.

>>> import pandas as pd, tempfile, pathlib
>>> from screenkit.funnel import funnel
>>> from screenkit.sdtm import load_sdtm
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"USUBJID": ["A", "B", "C"], "SITEID": ["01", "01", "02"],
...               "ARMCD": ["SCRNFAIL", "SCRNFAIL", "PBO"]}).to_csv(folder / "dm.csv", index=False)
>>> pd.DataFrame({"USUBJID": ["A"], "IETESTCD": ["INCL01"], "IECAT": ["INCLUSION"],
...               "IEORRES": ["N"]}).to_csv(folder / "ie.csv", index=False)
>>> pd.DataFrame({"IETESTCD": ["INCL01", "EXCL01"], "IETEST": ["Age >= 18", "Pregnant"],
...               "IECAT": ["INCLUSION", "EXCLUSION"]}).to_csv(folder / "ti.csv", index=False)
>>> ev = evaluate_sdtm(load_sdtm(folder))
>>> ev.status_source, ev.protocol.ids, ev.counts()
('recorded', ['INCL01', 'EXCL01', 'NR'], {'screened': 3, 'eligible': 1, 'screen_failed': 2, \
'pending': 0})
>>> funnel(ev).to_frame()[["criterion", "excluded", "remaining"]]
  criterion  excluded  remaining
0    INCL01         1          2
1    EXCL01         0          2
2        NR         1          1
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screenkit.errors import InputError
from screenkit.evaluate import Evaluation
from screenkit.protocol import Criterion, Protocol
from screenkit.recorded import (
    RecordedReasons,
    recorded_evaluation,
    recorded_rule,
    recorded_statuses,
)
from screenkit.sdtm.read import SdtmStudy
from screenkit.sdtm.screen import randomized as randomized_mask
from screenkit.sdtm.summary import SdtmSummary, summarize_sdtm

__all__ = ["evaluate_sdtm", "sdtm_protocol"]

_RULE = recorded_rule("(SDTM IE: a record of the criterion not met)")


def sdtm_protocol(summary: SdtmSummary) -> Protocol:
    """The yes/no protocol of the summary's criteria (TI for the version in use, then IE
    codes TI lacks): id = STUDYID, version = the TIVERS in use."""
    if summary.criteria is None:
        raise InputError(
            f"No criteria to build a protocol from: {summary.criteria_note}",
            hint="a study with an IE domain (and --version / version= when TI has several)",
        )
    criteria = tuple(
        Criterion(
            id=str(r.IETESTCD),
            kind="exclusion" if str(r.IECAT).upper() == "EXCLUSION" else "inclusion",
            label=str(r.IETESTCD) if pd.isna(r.IETEST) else str(r.IETEST),
            rule=_RULE,
            source="SDTM TI" if r.in_ti and len(summary.skeleton) else "SDTM IE (not in TI)",
        )
        for r in summary.criteria.itertuples()
    )
    study = summary.study_id or "(no STUDYID)"
    return Protocol(
        id=study,
        title="criteria from SDTM TI / IE",
        version=", ".join(summary.versions_used),
        criteria=criteria,
        parameters={},
    )


def evaluate_sdtm(
    study: SdtmStudy, *, version: str | None = None, summary: SdtmSummary | None = None
) -> Evaluation:
    """The recorded-mode :class:`~screenkit.evaluate.Evaluation` of an SDTM study (see the
    module docstring). ``summary``: :func:`~screenkit.sdtm.summary.summarize_sdtm`'s result
    when already computed (else it is, with ``version``)."""
    summary = summary if summary is not None else summarize_sdtm(study, version=version)
    protocol = sdtm_protocol(summary)
    dm = study.dm
    statuses = summary.statuses
    fails = ~statuses[protocol.ids].to_numpy(dtype=bool)
    failed = summary.markers.any(axis=1).to_numpy(dtype=bool)
    rand = randomized_mask(dm, pd.Series(failed)).to_numpy(dtype=bool)
    frame = _frame(dm, failed, rand)
    reported = fails.any(axis=1)
    table, all_fails, unknown, nr_fail = recorded_statuses(
        protocol.ids,
        frame.index,
        fails,
        reported=reported,
        screen_failed=failed,
        outcome_unknown=~failed & ~rand,
    )
    version_text = (
        f", protocol version {', '.join(summary.versions_used)}" if summary.versions_used else ""
    )
    empty = pd.DataFrame({"id": [], "patients": [], "not_recorded": [], "note": []})
    recorded = RecordedReasons(
        column="IE",
        outcome_column="randomized",
        not_recorded=int(nr_fail.sum()),
        conflicts=int((rand & reported).sum()),
        unknown_ids=empty.astype({"patients": "int64", "not_recorded": "int64"}),
        unmatched_text=pd.DataFrame({"text": [], "patients": []}).astype({"patients": "int64"}),
        label_matches=pd.DataFrame({"text": [], "criterion": [], "patients": []}).astype(
            {"patients": "int64"}
        ),
        origin=(
            f"the criteria not met in SDTM IE (inclusion N, exclusion Y{version_text}); "
            "screen failure = any DM / DS screen-failure convention"
        ),
    )
    return recorded_evaluation(frame, protocol, table, all_fails, unknown, recorded)


def _frame(dm: pd.DataFrame, failed: np.ndarray, rand: np.ndarray) -> pd.DataFrame:
    """patient_id, site_id, screening_date, randomized (``<NA>``: neither), one row per DM
    subject in DM order."""
    n = len(dm)
    site = dm["SITEID"].astype("string") if "SITEID" in dm.columns else pd.Series(pd.NA, range(n))
    if "RFICDTC" in dm.columns:
        text = dm["RFICDTC"].astype("string").str.slice(0, 10)
        full = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False)
        dates = pd.to_datetime(text.where(full), format="%Y-%m-%d", errors="coerce")
    else:
        dates = pd.Series(pd.NaT, index=dm.index, dtype="datetime64[ns]")
    outcome = pd.array(rand, dtype="boolean")
    outcome[~failed & ~rand] = pd.NA
    return pd.DataFrame(
        {
            "patient_id": dm["USUBJID"].astype("string").to_numpy(),
            "site_id": pd.array(site.to_numpy(), dtype="string"),
            "screening_date": dates.to_numpy(),
            "randomized": outcome,
        }
    )
