"""Reading CDISC SDTM domains: :func:`load_sdtm` -> :class:`SdtmStudy`.

Domains read: DM, DS, IE, TI, SUPPDS and SUPPDM; the file name is the domain in any case
(``dm.xpt``, ``DM.csv``, ``Dm.json``). Other files in the folder are listed in
:attr:`SdtmStudy.ignored`, never read silently as something else. DM is required.

Formats:

* **SAS transport** (``.xpt``, version 5, the FDA submission format) through
  ``pandas.read_sas(path, format="xport")``. Decision: pandas, not pyreadstat. pandas reads
  both shared studies (CDISC pilot, SDTM-MSG v2.0) exactly: every record, numeric missing
  values as NaN, character values with their trailing blanks removed; it adds no
  dependency. It does not read version 8 transport files (long names), which are refused
  with a message saying so, and reads the first member of a file (an FDA submission holds
  one dataset per .xpt). Text is decoded as UTF-8, else Latin-1 (XPORT records no
  encoding).
* **CSV** (one header row; UTF-8 with or without BOM, else Latin-1), every value as text.
* **CDISC Dataset-JSON**: version 1.0 (``clinicalData`` / ``referenceData`` ->
  ``itemGroupData`` -> ``{"items": [...], "itemData": [[...]]}``) and version 1.1
  (top-level ``columns`` + ``rows``).

Every domain comes back with upper-case column names, text stripped, and blank text as
missing (``<NA>``): SDTM writes "no value" as an empty string.

>>> import pandas as pd, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"USUBJID": ["S1", "S2"], "SITEID": ["01", "01"],
...               "ARMCD": ["SCRNFAIL", "PBO"]}).to_csv(folder / "dm.csv", index=False)
>>> study = load_sdtm(folder)
>>> study.domains, len(study.dm)
(('DM',), 2)
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from screenkit.errors import InputError

__all__ = ["DOMAINS", "SdtmStudy", "domain_files", "load_sdtm", "read_domain"]

#: The domains :func:`load_sdtm` reads (file name = domain, any case).
DOMAINS = ("DM", "DS", "IE", "TI", "SUPPDS", "SUPPDM")
SUFFIXES = (".xpt", ".csv", ".json")
#: Columns each domain must have to be used.
REQUIRED = {
    "DM": ("USUBJID",),
    "DS": ("USUBJID", "DSDECOD"),
    "IE": ("USUBJID", "IETESTCD"),
    "TI": ("IETESTCD",),
    "SUPPDS": ("USUBJID", "QNAM", "QVAL"),
    "SUPPDM": ("USUBJID", "QNAM", "QVAL"),
}


@dataclass(frozen=True)
class SdtmStudy:
    """The SDTM domains of one study, as plain DataFrames (``None`` when absent).

    ``files`` maps each domain read to its file; ``ignored`` lists the other files found.
    """

    dm: pd.DataFrame
    ds: pd.DataFrame | None = None
    ie: pd.DataFrame | None = None
    ti: pd.DataFrame | None = None
    suppds: pd.DataFrame | None = None
    suppdm: pd.DataFrame | None = None
    files: dict[str, Path] = field(default_factory=dict)
    ignored: tuple[Path, ...] = ()

    @property
    def domains(self) -> tuple[str, ...]:
        """The domains present, in :data:`DOMAINS` order."""
        return tuple(d for d in DOMAINS if getattr(self, d.lower()) is not None)


def load_sdtm(folder_or_files: str | Path | Iterable[str | Path]) -> SdtmStudy:
    """Read the SDTM domains in a folder (or a list of files); see the module docstring.

    An :class:`~screenkit.errors.InputError` when there is no DM, when a domain comes in
    two files, or when a file cannot be read or lacks a required column.
    """
    chosen, ignored = domain_files(folder_or_files)
    frames = {d.lower(): read_domain(p, d) for d, p in chosen.items()}
    return SdtmStudy(**frames, files=chosen, ignored=tuple(ignored))


def domain_files(
    folder_or_files: str | Path | Iterable[str | Path],
) -> tuple[dict[str, Path], list[Path]]:
    """``({domain: file}, [other files])`` of a folder or a list of files, without reading
    them (the command line checks its outputs against these before any work)."""
    if isinstance(folder_or_files, str | Path):
        source = Path(folder_or_files)
        if source.is_dir():
            candidates = sorted(p for p in source.iterdir() if p.is_file())
        elif source.is_file():
            candidates = [source]
        else:
            raise InputError("SDTM folder not found", file=source)
    else:
        candidates = [Path(p) for p in folder_or_files]
        for path in candidates:
            if not path.is_file():
                raise InputError("SDTM file not found", file=path)
    chosen: dict[str, Path] = {}
    ignored = []
    for path in candidates:
        domain = path.stem.upper()
        if path.suffix.lower() not in SUFFIXES or domain not in DOMAINS:
            ignored.append(path)
            continue
        if domain in chosen:
            raise InputError(
                f"Domain {domain} is in two files",
                file=f"{chosen[domain]} and {path}",
                hint="keep one file per domain",
            )
        chosen[domain] = path
    if "DM" not in chosen:
        where = folder_or_files if isinstance(folder_or_files, str | Path) else "the files given"
        raise InputError(
            "No DM (demographics) domain: it lists the screened subjects",
            file=where,
            expected="a file named dm.xpt, dm.csv or dm.json (any case)",
            value=", ".join(p.name for p in candidates) or "(no files)",
        )
    return chosen, ignored


def read_domain(path: str | Path, domain: str | None = None) -> pd.DataFrame:
    """One domain file as a DataFrame (upper-case columns, blank text missing), checked
    for the columns ``domain`` needs (``domain`` defaults to the file name)."""
    path = Path(path)
    domain = (domain or path.stem).upper()
    suffix = path.suffix.lower()
    if suffix == ".xpt":
        frame = _read_xpt(path)
    elif suffix == ".csv":
        frame = _read_csv(path)
    elif suffix == ".json":
        frame = _read_dataset_json(path)
    else:
        raise InputError("Not an SDTM file", file=path, expected=", ".join(SUFFIXES))
    names = [str(c).strip().upper() for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            "A column name repeats (names compared in upper case)",
            file=path,
            column=", ".join(repeated),
            hint="keep one column per variable",
        )
    frame = _tidy(frame)
    missing = [c for c in REQUIRED.get(domain, ()) if c not in frame.columns]
    if missing:
        raise InputError(
            f"{domain} lacks the column(s) {', '.join(missing)}",
            file=path,
            value=", ".join(map(str, frame.columns)) or "(no columns)",
            expected=", ".join(REQUIRED[domain]),
        )
    if domain == "DM":
        repeated = frame["USUBJID"][frame["USUBJID"].duplicated() & frame["USUBJID"].notna()]
        if len(repeated):
            row = int(repeated.index[0]) + 2 if suffix == ".csv" else int(repeated.index[0]) + 1
            raise InputError(
                "DM holds one record per subject; a USUBJID repeats",
                file=path,
                row=row,
                column="USUBJID",
                value=repeated.iloc[0],
            )
        if frame["USUBJID"].isna().any():
            first = int(frame.index[frame["USUBJID"].isna()][0])
            raise InputError(
                "DM record without USUBJID", file=path, row=first + 1, column="USUBJID"
            )
    return frame


def _read_xpt(path: Path) -> pd.DataFrame:
    last: Exception | None = None
    for encoding in ("utf-8", "latin-1"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pd.read_sas(path, format="xport", encoding=encoding)
        except UnicodeDecodeError as err:
            last = err
        except (ValueError, OSError, EOFError, IndexError, KeyError) as err:
            raise InputError(
                "Cannot read the SAS transport file",
                file=path,
                value=str(err)[:200],
                expected="SAS XPORT version 5 (.xpt); version 8 files are not read: "
                "save the domain as version 5, .csv or Dataset-JSON",
            ) from err
    raise InputError(  # pragma: no cover - latin-1 decodes every byte
        "Cannot decode the text of the SAS transport file", file=path, value=str(last)
    )


def _read_csv(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise InputError("Cannot read the CSV file", file=path, value=str(err)[:200]) from err
    raise InputError("Cannot decode the CSV file", file=path)  # pragma: no cover


def _read_dataset_json(path: Path) -> pd.DataFrame:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError("Cannot read the Dataset-JSON file", file=path, value=str(err)) from err
    expected = (
        "CDISC Dataset-JSON: {'columns': [...], 'rows': [[...]]} (v1.1) or "
        "{'clinicalData': {'itemGroupData': {OID: {'items': [...], 'itemData': [[...]]}}}} (v1.0)"
    )
    if isinstance(doc, dict) and "columns" in doc and "rows" in doc:
        columns, rows = doc["columns"], doc["rows"]
    else:
        groups = [
            g
            for key in ("clinicalData", "referenceData")
            if isinstance(doc, dict) and isinstance(doc.get(key), dict)
            for g in (doc[key].get("itemGroupData") or {}).values()
        ]
        if len(groups) != 1 or not isinstance(groups[0], dict):
            raise InputError(
                "Not a one-dataset Dataset-JSON file",
                file=path,
                value=f"{len(groups)} item groups",
                expected=expected,
            )
        columns, rows = groups[0].get("items"), groups[0].get("itemData")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise InputError("Dataset-JSON without columns and rows", file=path, expected=expected)
    names = [c.get("name") if isinstance(c, dict) else None for c in columns]
    if not all(isinstance(n, str) for n in names):
        raise InputError("Dataset-JSON column without a name", file=path, expected=expected)
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(names):
            raise InputError(
                "Dataset-JSON row does not match its columns",
                file=path,
                row=i,
                value=f"{len(row) if isinstance(row, list) else type(row).__name__} values",
                expected=f"{len(names)} values",
            )
    frame = pd.DataFrame(rows, columns=names)
    return frame.drop(columns=[c for c in ("ITEMGROUPDATASEQ",) if c in frame.columns])


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Upper-case column names; text stripped as ``string``, blank text ``<NA>``."""
    frame = frame.rename(columns=lambda c: str(c).strip().upper())
    out = {}
    for col in frame.columns:
        values = frame[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype("string").str.strip()
            out[col] = text.mask(text == "")
        else:
            out[col] = values
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
