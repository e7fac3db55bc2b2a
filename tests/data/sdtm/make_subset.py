"""Make the SDTM test data from the shared public studies (run from the repository root).

    python tests/data/sdtm/make_subset.py [SHARED]   # SHARED default: ../shared/data/sdtm

* ``sdtm-msg-v2/``: the SDTM-MSG v2.0 sample's dm, ds, ie, ti .xpt copied unchanged
  (66 KB; cdisc-org/DataExchange-DatasetJson, examples/sdtm).
* ``cdiscpilot01/``: the CDISC pilot's ti.xpt and suppds.xpt copied unchanged; dm and ds
  (257 KB as .xpt) as CSV with only the variables the screen-failure summary reads, every
  record kept (306 DM subjects, 596 DS records), so the counts are the study's own.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
DM_COLUMNS = ["STUDYID", "DOMAIN", "USUBJID", "SITEID", "ARMCD", "ARM", "ACTARMCD", "RFSTDTC"]
DS_COLUMNS = ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSDECOD", "DSCAT", "VISIT"]


def main(shared: Path) -> None:
    msg = HERE / "sdtm-msg-v2"
    msg.mkdir(exist_ok=True)
    for name in ("dm", "ds", "ie", "ti"):
        shutil.copyfile(shared / "sdtm-msg-v2" / f"{name}.xpt", msg / f"{name}.xpt")
    pilot = HERE / "cdiscpilot01"
    pilot.mkdir(exist_ok=True)
    for name in ("ti", "suppds"):
        shutil.copyfile(shared / "cdiscpilot01" / f"{name}.xpt", pilot / f"{name}.xpt")
    for name, columns in (("dm", DM_COLUMNS), ("ds", DS_COLUMNS)):
        frame = pd.read_sas(
            shared / "cdiscpilot01" / f"{name}.xpt", format="xport", encoding="utf-8"
        )
        if name == "ds":
            frame["DSSEQ"] = frame["DSSEQ"].astype(int)
        frame[columns].to_csv(pilot / f"{name}.csv", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[3] / "shared" / "data" / "sdtm")
