"""A screening spreadsheet -> the canonical frame, with a report of every read.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
>>> _ = path.write_text("Subject,Hb (g/L),HIV Ab\\n007,80,N\\n008,ND,maybe\\n", encoding="utf-8")
>>> sd = load_screening(path, columns={"HIV Ab": "hiv_pos"})
>>> sd.data  # doctest: +NORMALIZE_WHITESPACE
    patient_id site_id   hb  hiv_pos
row
2          007       1  8.0    False
3          008       1 <NA>     <NA>
>>> sd.report.problems[["row", "column", "value", "kind"]].to_dict("records")
[{'row': 3, 'column': 'HIV Ab', 'value': 'maybe', 'kind': 'unparsed'}]
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import units
from .columnparse import parse_series
from .columns import COLUMNS, canonical_order
from .errors import InputError
from .load import RawTable, read_table
from .loadreport import CellNotes, LoadReport, ScreeningData
from .normalize_units import convert, implausible, infer_uln_units

__all__ = ["LoadReport", "ScreeningData", "header_key", "load_screening", "match_header"]

_UNIT_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_\-]*(units?|单位)$", re.IGNORECASE)


def header_key(text: str) -> str:
    """Headers compare case-, space- and punctuation-insensitively.

    Full-width forms (``ｈｂ``, ``ＡＬＴ``) are folded first (NFKC), so ``hb`` beside
    ``ｈｂ`` is a duplicate column.

    >>> header_key("Patient_ID"), header_key(" patient id "), header_key("HGB.")
    ('patientid', 'patientid', 'hgb')
    >>> header_key("ＡＬＴ")
    'alt'

    """
    text = str(text)
    if text.isascii():  # NFKC leaves ASCII alone, casefold is lower: one C-level pass
        return text.lower().translate(_ASCII_NOT_WORD)
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def header_keys(texts: list[str]) -> list[str]:
    """:func:`header_key` of many texts at once (a column of patient IDs): ASCII texts in
    one C-level pass over their concatenation, others one by one.

    >>> header_keys(["Patient_ID", "S01-0001", "ＡＬＴ"])
    ['patientid', 's010001', 'alt']
    """
    ascii_at = [i for i, t in enumerate(texts) if t.isascii()]
    keys: list[str | None] = [None] * len(texts)
    joined = _KEY_SEP.join(texts[i] for i in ascii_at)
    if joined.count(_KEY_SEP) == len(ascii_at) - 1:  # no text holds the separator
        split = joined.lower().translate(_ASCII_KEEP_SEP).split(_KEY_SEP)
        for i, key in zip(ascii_at, split, strict=True):
            keys[i] = key
    return [header_key(t) if k is None else k for t, k in zip(texts, keys, strict=True)]


_KEY_SEP = "\x1f"  # unit separator: split point of header_keys' concatenation
# ASCII characters that are not letters or digits: what [\W_]+ removes from ASCII text
_ASCII_NOT_WORD = str.maketrans("", "", "".join(c for c in map(chr, range(128)) if not c.isalnum()))
_ASCII_KEEP_SEP = str.maketrans(
    "", "", "".join(c for c in map(chr, range(128)) if not c.isalnum() and c != _KEY_SEP)
)


def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for col in COLUMNS.values():
        for name in (col.name, *col.aliases):
            index.setdefault(header_key(name), col.name)
    return index


_ALIASES = _alias_index()


def match_header(header: str) -> tuple[str | None, str | None, str]:
    """``(canonical, unit, how)`` for a header, ``how`` in {exact, alias, unmapped}.

    >>> match_header("Hb (g/L)"), match_header("PLT [/uL]"), match_header("Weight lbs")
    (('hb', 'g/L', 'alias'), ('plt', '/uL', 'alias'), ('weight_kg', 'lbs', 'alias'))
    """
    text = str(header).strip()

    def lookup(name: str) -> tuple[str | None, str]:
        if name in COLUMNS:
            return name, "exact"
        return _ALIASES.get(header_key(name)), "alias"

    found, how = lookup(text)
    if found:
        return found, None, how
    name, unit = units.split_header_unit(text)
    if unit is not None:
        found, how = lookup(name)
        if found:
            return found, unit or None, how
    parts = re.split(r"[\s,;]+", text)
    if len(parts) > 1 and not _UNIT_SUFFIX.match(parts[-1]):
        found, how = lookup(" ".join(parts[:-1]))
        if found and COLUMNS[found].unit and units.is_unit(parts[-1]):
            return found, parts[-1], how
    return None, None, "unmapped"


def _read_user_map(columns: Any) -> dict[str, str | None]:
    if columns is None:
        return {}
    if isinstance(columns, Mapping):
        return {str(k): v for k, v in columns.items()}
    path = Path(columns)
    if not path.exists():
        raise InputError("Column map file not found", file=path)
    if path.is_dir():
        raise InputError("Column map is a folder, not a file", file=path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        loaded = _read_json_map(path)
    elif suffix in (".yaml", ".yml"):
        from screenkit.yamlsafe import read_yaml

        loaded = read_yaml(path, what="Column map")
    elif suffix == ".csv":
        raw = read_table(path, is_header=lambda cells: True)
        pairs = [tuple(raw.headers[:2])] + [tuple(r[:2]) for r in raw.frame.itertuples(False)]
        loaded = {
            str(k): v for k, v in pairs if [header_key(k), header_key(v)] != ["header", "canonical"]
        }
    else:
        raise InputError("Column map must be .csv, .json or .yaml", file=path, value=suffix)
    if not isinstance(loaded, Mapping):
        raise InputError("Column map must map headers to canonical names", file=path)
    return {str(k): v for k, v in loaded.items()}


def _read_json_map(path: Path) -> Any:
    """A JSON column map, or an :class:`InputError` naming the file and the place."""
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise InputError("Column map is not UTF-8 text", file=path, byte_offset=err.start) from None
    except json.JSONDecodeError as err:
        raise InputError(
            "Column map is not valid JSON",
            file=path,
            line=err.lineno,
            detail=f"{err.msg} at column {err.colno}",
        ) from None
    except (ValueError, RecursionError) as err:
        raise InputError(
            "Column map holds a value that cannot be read", file=path, detail=str(err)
        ) from None


def _user_target(header: str, target: Any, source: Any) -> tuple[str | None, str | None]:
    if target is None or (isinstance(target, str) and not target.strip()):
        return None, None
    name, unit = units.split_header_unit(str(target))
    if name not in COLUMNS:
        import difflib

        close = difflib.get_close_matches(name, list(COLUMNS), n=5)
        raise InputError(
            "Column map names an unknown canonical column",
            file=source,
            column=header,
            value=str(target),
            expected=", ".join(close) if close else "a name from screenkit.COLUMNS",
        )
    return name, unit


def _map_headers(raw: RawTable, user: dict[str, Any], file: Any) -> pd.DataFrame:
    """One row per file column: header, canonical, unit, how, unit_of (for unit columns)."""
    by_key = {header_key(k): (k, v) for k, v in user.items()}
    rows = []
    for pos, header in enumerate(raw.headers):
        canonical, unit, how = None, None, "unmapped"
        if header in user or header_key(header) in by_key:
            target = user[header] if header in user else by_key[header_key(header)][1]
            canonical, unit = _user_target(header, target, file)
            how = "user map" if canonical else "unmapped"
            if canonical and unit is None:
                _, unit = units.split_header_unit(header)
                unit = unit if unit and COLUMNS[canonical].unit and units.is_unit(unit) else None
        else:
            canonical, unit, how = match_header(header)
        rows.append(
            {"pos": pos, "header": header, "canonical": canonical, "unit": unit, "how": how}
        )
    # unit columns: "<column> unit" or a bare "unit" right after a column with a unit
    for row in rows:
        if row["how"] != "unmapped":
            continue
        m = _UNIT_SUFFIX.match(row["header"])
        if not m:
            continue
        prefix = m["name"].strip()
        target = match_header(prefix)[0] if prefix else None
        if target is None and not prefix and row["pos"] > 0:
            target = rows[row["pos"] - 1]["canonical"]
        if target and COLUMNS[target].unit:
            owners = [r for r in rows if r["canonical"] == target and r["how"] != "unit column"]
            if owners:
                row.update(canonical=target, how="unit column")
    seen: dict[str, str] = {}
    for row in rows:
        if row["canonical"] is None or row["how"] == "unit column":
            continue
        if row["canonical"] in seen:
            raise InputError(
                f"Two headers map to the same column {row['canonical']!r}",
                file=file,
                sheet=raw.sheet,
                column=f"{seen[row['canonical']]!r} and {row['header']!r}",
                hint="map one of them elsewhere with columns={header: name or None}",
            )
        seen[row["canonical"]] = row["header"]
        if row["unit"] is not None:
            units.conversion_factor(row["canonical"], row["unit"], header=row["header"])
    return pd.DataFrame(rows, dtype=object)


def _distinct_for(raw: RawTable, frame: pd.DataFrame) -> dict[int, Any]:
    """Per column of ``frame`` (``raw.frame`` less dropped rows), the loader's distinct
    cells, so :func:`parse_series` does not hash the column again (None: hash it)."""
    if raw.distinct is None:
        return dict.fromkeys(frame.columns)
    if len(frame) == len(raw.frame):
        return dict(enumerate(raw.distinct))
    at = raw.frame.index.get_indexer(frame.index)
    return {j: (codes[at], uniques) for j, (codes, uniques) in enumerate(raw.distinct)}


def _header_score(cells) -> int:
    """How many cells of a row name distinct canonical columns (a header row scores high)."""
    return len({match_header(c)[0] for c in cells if isinstance(c, str)} - {None})


def _is_header(cells) -> bool:
    return _header_score(cells) >= 1 and sum(c is not None for c in cells) >= 2


def load_screening(
    path: str | Path,
    sheet: str | None = None,
    columns: Mapping[str, str | None] | str | Path | None = None,
    encoding: str | None = None,
    strict: bool = False,
) -> ScreeningData:
    """Read a screening log into canonical columns and units, with a full load report.

    ``sheet=None`` reads, in a workbook of several sheets, the visible worksheet whose
    header row maps best onto the canonical columns (a cover page, instructions or a data
    dictionary first is skipped; a hidden sheet is read only when named); the report's
    notes say which sheet was read and why. ``columns`` maps headers as the
    file spells them to canonical names (``"hb"``, ``"hb (g/L)"`` with a unit, or None to
    leave a header unmapped), or names a .csv / .json / .yaml file holding that map.
    ``encoding`` overrides detection for text files. ``strict=True`` raises on the first
    unparsed cell instead of reporting it.
    """
    path = Path(path)
    user = _read_user_map(columns)
    raw = read_table(
        path, sheet=sheet, encoding=encoding, is_header=_is_header, header_score=_header_score
    )
    headers = _map_headers(raw, user, path)
    notes: list[str] = []
    if raw.sheets:
        notes.append(raw.sheet_choice)
    if raw.encoding:
        how = "detected" if raw.encoding_detected else "given"
        notes.append(f"encoding {raw.encoding} ({how})")
    if raw.header_row != 1:
        notes.append(f"header on row {raw.header_row}")
    missing_keys = sorted(set(user) - set(raw.headers))
    if missing_keys:
        notes.append(f"columns= names headers not in the file: {missing_keys}")
    mapped = headers[headers["canonical"].notna() & (headers["how"] != "unit column")]
    if "patient_id" not in set(mapped["canonical"]):
        raise InputError(
            "No patient ID column",
            file=path,
            sheet=raw.sheet,
            value=", ".join(raw.headers),
            expected=", ".join(["patient_id", *COLUMNS["patient_id"].aliases]),
            hint="name it, or pass columns={'<your header>': 'patient_id'}",
        )
    frame, skipped_rows = _drop_non_patient_rows(raw, mapped)
    distinct = _distinct_for(raw, frame)
    data: dict[str, pd.Series] = {}
    censored: dict[str, pd.Series] = {}
    unreadable: dict[str, pd.Series] = {}
    cells, conversions = CellNotes(), []
    given_unit: dict[str, str | None] = {}  # canonical -> the unit the file states (or None)
    source_of: dict[str, tuple[str, int]] = {}  # canonical -> (header, position)
    for spec in mapped.itertuples():
        column = COLUMNS[spec.canonical]
        unit = spec.unit if isinstance(spec.unit, str) else None
        parsed, censor, parse_notes = parse_series(frame[spec.pos], column, distinct[spec.pos])
        kinds = parse_notes["kind"].to_numpy(dtype=object)
        cells.add(
            parse_notes["row"].to_numpy(),
            spec.header,
            parse_notes["value"].to_numpy(dtype=object),
            kinds,
            parse_notes["detail"].to_numpy(dtype=object),
        )
        bad = pd.Series(False, index=frame.index)
        bad.loc[parse_notes["row"].to_numpy()[kinds == "unparsed"]] = True
        unit_cols = headers[
            (headers["how"] == "unit column") & (headers["canonical"] == column.name)
        ]
        unit_cells = frame[unit_cols["pos"].iloc[0]] if len(unit_cols) else None
        if column.unit and (unit is not None or unit_cells is not None):
            parsed, conv, bad_units, converted = convert(
                parsed, column, spec.header, unit, unit_cells
            )
            conversions += conv
            if bad_units:  # whole columns of notes, not cell by cell
                rows = [row for row, _, _ in bad_units]
                details = [f"unit {t!r} not understood (accepted: {e})" for _, t, e in bad_units]
                cells.add(rows, spec.header, frame[spec.pos].loc[rows], "unparsed", details)
                bad.loc[rows] = True
            if converted:
                rows = [row for row, _ in converted]
                now = parsed.loc[rows].tolist()
                details = [
                    f"{text} -> {column.unit}: {v:g}"
                    for (_, text), v in zip(converted, now, strict=True)
                ]
                cells.add(rows, spec.header, frame[spec.pos].loc[rows], "converted", details)
        given_unit[column.name] = (
            unit if unit is not None else ("unit column" if unit_cells is not None else None)
        )
        source_of[column.name] = (spec.header, spec.pos)
        data[column.name] = parsed
        unreadable[column.name] = bad
        if censor.notna().any():
            censored[column.name] = censor
    notes += infer_uln_units(data, given_unit, source_of, frame, cells, unreadable, conversions)
    for name, (header, pos) in source_of.items():
        column = COLUMNS[name]
        if column.plausible and column.kind == "number":
            stated = given_unit.get(name)
            found = implausible(data[name], column, stated, frame[pos])
            if found:
                rows = [r for r, _, _, _ in found]
                kinds = [k for _, _, k, _ in found]
                details = [d for _, _, _, d in found]
                cells.add(rows, header, frame[pos].loc[rows], kinds, details)
                unreadable[name].loc[rows] = True
            if unreadable[name].any():  # impossible values are never evaluated
                data[name] = data[name].mask(unreadable[name])
    if "qtc_ms" in data:
        both = {"qt_ms", "heart_rate_bpm"} <= set(data)
        notes.append(
            f"QTc {source_of['qtc_ms'][0]!r} names no formula: "
            + (
                "Fridericia from QT and heart rate is used where both are recorded, "
                "elsewhere the QTc is assumed to be Fridericia"
                if both
                else "assumed to be Fridericia (QTcF) for the QTcF criteria"
            )
        )
    ids = data["patient_id"]
    id_header = mapped.loc[mapped["canonical"] == "patient_id", "header"].iloc[0]
    if ids.isna().any():
        row = int(ids.index[ids.isna()][0])
        raise InputError(
            "Patient ID missing in a non-blank row",
            file=path,
            sheet=raw.sheet,
            row=row,
            column=id_header,
            hint="fill in the ID, or delete the row",
        )
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        rows = [int(r) for r in dup.index[dup == first]]
        raise InputError(
            f"Duplicate patient ID {first!r} on rows {rows[0]} and {rows[1]}",
            file=path,
            sheet=raw.sheet,
            row=rows[1],
            column=id_header,
            value=first,
            expected="one row per screened patient",
        )
    if "site_id" not in data:
        data["site_id"] = pd.Series("1", index=frame.index, dtype="string")
        notes.append("no site column: every patient set to site '1'")
    if "age_years" not in data and {"birth_date", "screening_date"} <= set(data):
        data["age_years"] = _age_years(data["birth_date"], data["screening_date"])
        notes.append("age_years derived from birth_date and screening_date (completed years)")
    names = canonical_order(list(data))
    # columns on the frame's own index are taken as they are, not realigned one by one
    table = pd.DataFrame(
        {n: _on_index(data[n], frame.index) for n in names}, index=frame.index, copy=False
    )
    report = LoadReport(
        file=str(path),
        sheet=raw.sheet,
        sheets=raw.sheets,
        encoding=raw.encoding,
        header_row=raw.header_row,
        headers=headers[["header", "canonical", "unit", "how"]].astype("string"),
        conversions=pd.DataFrame(conversions, columns=["column", "from_unit", "to_unit", "cells"]),
        cells=cells.frame(raw.sheet, ids),
        skipped_rows=skipped_rows,
        rows_read=raw.rows_read,
        rows_loaded=len(table),
        notes=tuple(notes),
    )
    if strict and len(report.problems):
        first = report.problems.iloc[0]
        raise InputError(
            f"Cell not understood ({len(report.problems)} in all; strict=True)",
            file=path,
            sheet=raw.sheet,
            row=int(first["row"]),
            column=first["column"],
            value=first["value"],
            expected=first["detail"],
        )
    censor_frame = pd.DataFrame(censored, index=frame.index, dtype="string")
    unreadable_frame = pd.DataFrame(
        {n: m for n, m in unreadable.items() if m.any()}, index=frame.index, dtype=bool
    )
    return ScreeningData(
        table, censor_frame, report, str(path), raw.sheet, unreadable=unreadable_frame
    )


_TOTAL_WORDS = {
    "total",
    "totals",
    "subtotal",
    "grandtotal",
    "sum",
    "合计",
    "总计",
    "小计",
    "合計",
    "總計",
}


def _drop_non_patient_rows(raw: RawTable, mapped: pd.DataFrame):
    """Rows that are not patients, by their ID cell: the header repeated (two pasted
    blocks) or a total line (``Total``, ``Sum``, 合计). They move to the skipped rows with
    the reason, so they are neither counted as patients nor lost."""
    spec = mapped[mapped["canonical"] == "patient_id"].iloc[0]
    header = header_key(spec.header)
    extra = []
    cells = raw.frame[spec.pos]
    pairs = zip(cells.index.tolist(), cells.tolist(), strict=True)
    texts = [(r, c) for r, c in pairs if isinstance(c, str)]
    keys = header_keys([c for _, c in texts])
    for (row, cell), key in zip(texts, keys, strict=True):
        if key == header:
            extra.append((raw.sheet, int(row), "repeated header row"))
        elif key in _TOTAL_WORDS:
            extra.append((raw.sheet, int(row), f"total row ({cell.strip()!r}): not a patient"))
    if not extra:
        return raw.frame, raw.skipped_rows
    frame = raw.frame.drop(index=[r for _, r, _ in extra])
    added = pd.DataFrame(extra, columns=["sheet", "row", "reason"]).astype(raw.skipped_rows.dtypes)
    skipped = pd.concat([raw.skipped_rows, added], ignore_index=True)
    return frame, skipped.sort_values("row", kind="stable").reset_index(drop=True)


def _on_index(values: pd.Series, index: pd.Index):
    """``values``' array when it is indexed by ``index`` already, else ``values`` aligned
    on ``index``."""
    if values.index is index or values.index.equals(index):
        return values.array
    return values.reindex(index).array


def _age_years(birth: pd.Series, screening: pd.Series) -> pd.Series:
    """Completed years between two date columns (missing when either is missing)."""
    years = screening.dt.year - birth.dt.year
    before = (screening.dt.month < birth.dt.month) | (
        (screening.dt.month == birth.dt.month) & (screening.dt.day < birth.dt.day)
    )
    return (years - before.astype(int)).astype("Float64")
