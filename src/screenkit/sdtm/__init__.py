"""CDISC SDTM: screened subjects, screen failures by every convention, criteria not met.

* :func:`load_sdtm` reads DM, DS, IE, TI, SUPPDS, SUPPDM (.xpt, .csv, Dataset-JSON) into
  an :class:`SdtmStudy` (:mod:`screenkit.sdtm.read`);
* :func:`screen_failure_markers` / :func:`disagreements` / :func:`randomized`
  (:mod:`screenkit.sdtm.screen`) mark the screen failures;
* :func:`protocol_skeleton` / :func:`criteria_not_met` (:mod:`screenkit.sdtm.criteria`)
  turn TI and IE into criteria;
* :func:`summarize_sdtm` puts them together (:mod:`screenkit.sdtm.summary`); the command
  line face is ``screenkit sdtm FOLDER``;
* :func:`evaluate_sdtm` / :func:`sdtm_protocol` (:mod:`screenkit.sdtm.evaluation`) give the
  recorded-mode Evaluation, so the funnel, combinations and by-site tables work on IE.
"""

from screenkit.sdtm.criteria import (
    combinations_not_met,
    criteria_not_met,
    ie_failures,
    ie_statuses,
    protocol_skeleton,
)
from screenkit.sdtm.evaluation import evaluate_sdtm, sdtm_protocol
from screenkit.sdtm.read import DOMAINS, SdtmStudy, load_sdtm, read_domain
from screenkit.sdtm.screen import CONVENTIONS, disagreements, randomized, screen_failure_markers
from screenkit.sdtm.summary import NO_IE, SdtmSummary, summarize_sdtm

__all__ = [
    "CONVENTIONS",
    "DOMAINS",
    "NO_IE",
    "SdtmStudy",
    "SdtmSummary",
    "combinations_not_met",
    "criteria_not_met",
    "disagreements",
    "evaluate_sdtm",
    "ie_failures",
    "ie_statuses",
    "load_sdtm",
    "protocol_skeleton",
    "randomized",
    "read_domain",
    "screen_failure_markers",
    "sdtm_protocol",
    "summarize_sdtm",
]
