"""Frozen copy of ``screenkit.load`` as it was before the column-wise reader (issue 14):
the row-by-row reference the differential tests compare ``read_table`` against. Do not
edit: it is the old behaviour.

Original module docstring follows.

Read a screening spreadsheet (.xlsx, .csv, .txt) into a raw table of cells.

Nothing is type-guessed: CSV cells stay text (``007`` stays ``"007"``, ``ND`` and ``1+``
stay as written) and Excel cells keep what the cell holds (text, int, float, bool,
datetime). Formulas give their cached values (none is evaluated); a formula that was
never calculated and an Excel error cell (``#N/A``) read as a
:class:`~screenkit.values.CellError` (unparsed in the load report); a row of only such
cells is a skipped row with the reason. Every row keeps the number the spreadsheet shows
it under (Excel row; CSV line where the record starts).

Which sheet: the one named, else, in a workbook of several sheets, the visible worksheet
whose header row maps best onto the caller's vocabulary (``header_score``: a cover page,
instructions or a data dictionary score low); a hidden sheet or a chartsheet is read only
when named. ``RawTable.sheet_choice`` says which sheet was read and why, and which
vertically merged ranges (a site written once beside its patients) were filled from their
top cell; merges across columns are left as read (the value in the top-left cell only).

The header row is the first non-blank row, unless it does not look like a header (fewer
than two non-blank text cells, e.g. a title line) and a later row among the first
:data:`MAX_TITLE_ROWS` + 1 does; the rows above the header are then kept as skipped rows
("title row"). ``is_header`` lets the caller judge header rows with its own vocabulary.

Encodings of text files, when ``encoding`` is not given: a BOM decides (UTF-8, UTF-16);
else UTF-16 without BOM (every other byte NUL); else UTF-8; else GB18030 when the Chinese
text decodes to common (GB2312) characters; else cp1252 (Latin-1) when the bytes above
0x7F mostly stand alone (``Zürich``), as a single-byte code page writes them; else Big5;
else GB18030; else Latin-1. A ``sep=;`` first line (Excel) sets the delimiter.
The report says which was used and whether it was detected.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
>>> _ = path.write_text("Screening log\\nID,Hb\\n007,ND\\n,\\n008,9.1\\n", encoding="utf-8")
>>> raw = read_table(path)
>>> raw.headers, raw.header_row, raw.frame.index.tolist(), raw.frame[0].tolist()
(['ID', 'Hb'], 2, [3, 5], ['007', '008'])
>>> raw.skipped_rows.to_dict("records")[1]
{'sheet': None, 'row': 4, 'reason': 'blank row'}
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from screenkit.errors import InputError
from screenkit.files import MAX_CELL_TEXT
from screenkit.guards import check_workbook, column_number, sheet_part
from screenkit.values import CellError

__all__ = [
    "MAX_TITLE_ROWS",
    "RawTable",
    "decode_text",
    "list_sheets",
    "read_table",
    "sheet_states",
]

MAX_TITLE_ROWS = 5
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class RawTable:
    """Cells as read. ``frame``: columns are positions 0..n-1 (headers may repeat or be
    blank), index ``row`` = spreadsheet row number, only non-blank rows below the header."""

    frame: pd.DataFrame
    headers: list[str]
    header_row: int
    skipped_rows: pd.DataFrame
    rows_read: int
    sheet: str | None
    sheets: tuple[str, ...]
    encoding: str | None
    encoding_detected: bool
    sheet_choice: str = ""  # why this sheet was read (workbooks)


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and value.strip() == ""


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _looks_like_header(cells: Sequence[Any]) -> bool:
    filled = [c for c in cells if not _blank(c)]
    return len(filled) >= 2 and all(isinstance(c, str) for c in filled)


def _gb2312_share(text: str) -> float:
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return 1.0
    ok = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
            ok += 1
        except UnicodeEncodeError:
            pass
    return ok / len(wide)


def decode_text(data: bytes, encoding: str | None = None, *, file: Any = None):
    """Decode a text file's bytes: ``(text, encoding used, detected?)``.

    >>> decode_text("性别,年龄".encode("gb18030"))[1:]
    ('gb18030', True)
    >>> decode_text("性別,年齡".encode("big5"))[1:]
    ('big5', True)
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
            return data.decode(encoding), encoding, False
        except LookupError:
            raise InputError("Unknown encoding", file=file, value=encoding) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"File is not valid {encoding} (byte {exc.start})",
                file=file,
                expected="utf-8, utf-8-sig, gb18030, gbk, big5, or leave encoding=None",
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig"), "utf-8-sig", True
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16", True
    no_bom = _utf16_without_bom(data)
    if no_bom is not None:
        return data.decode(no_bom), no_bom, True
    attempts: dict[str, str] = {}
    for name in ("utf-8", "gb18030", "big5"):
        try:
            attempts[name] = data.decode(name)
        except UnicodeDecodeError:
            continue
    if "utf-8" in attempts:
        return attempts["utf-8"], "utf-8", True
    if "gb18030" in attempts and _gb2312_share(attempts["gb18030"]) >= 0.9:
        return attempts["gb18030"], "gb18030", True
    if _single_byte_text(data):
        # high bytes stand alone between ASCII letters (Zürich, café): Western European
        name = "cp1252" if _decodes(data, "cp1252") else "latin-1"
        return data.decode(name), name, True
    for name in ("big5", "gb18030"):
        if name in attempts:
            return attempts[name], name, True
    return data.decode("latin-1"), "latin-1", True  # every byte string decodes as Latin-1


def _decodes(data: bytes, name: str) -> bool:
    try:
        data.decode(name)
    except UnicodeDecodeError:
        return False
    return True


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when every other byte of the start is NUL (ASCII text
    in UTF-16 without a byte-order mark), else None."""
    head = data[:4000]
    if len(head) < 4 or len(head) % 2:
        head = head[: len(head) - len(head) % 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    for name, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= 0.9 * len(zeros) and other.count(0) == 0 and _decodes(data, name):
            return name
    return None


def _single_byte_text(data: bytes) -> bool:
    """True when most runs of bytes >= 0x80 are one byte long (a single-byte code page);
    Chinese in GB18030 / Big5 comes in runs of two bytes or more."""
    runs = [len(m) for m in re.findall(rb"[\x80-\xff]+", data)]
    return bool(runs) and sum(1 for n in runs if n == 1) >= 0.8 * len(runs)


def _read_text_rows(
    path: Path, encoding: str | None
) -> tuple[list[list[Any]], list[int], str, bool]:
    text, used, detected = decode_text(path.read_bytes(), encoding, file=path)
    if "\x00" in text:
        raise InputError(
            "File holds NUL bytes: not a text spreadsheet",
            file=path,
            value=f"decoded as {used}",
            expected="a CSV / TXT / TSV file of text, or an .xlsx workbook",
        )
    first_line = 0
    sep = re.match(r"\ufeff?sep=(.)[ \t]*\r?\n", text[:20])
    if sep:  # Excel's "sep=;" first line names the delimiter and is not a row
        text, first_line = text[sep.end() :], 1
        dialect: Any = type("SepDialect", (csv.excel,), {"delimiter": sep.group(1)})
    else:
        try:
            dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows, numbers, last_line = [], [], first_line
    try:
        for record in reader:
            numbers.append(last_line + 1)
            rows.append(record)
            last_line = reader.line_num + first_line
    except csv.Error as exc:
        raise InputError(
            f"CSV cannot be read: {exc}",
            file=path,
            row=last_line + 1,
            expected=f"cells of at most {csv.field_size_limit():,} characters, quotes closed",
        ) from None
    return rows, numbers, used, detected


def list_sheets(path: str | Path) -> list[str]:
    """Sheet names of a workbook (``[]`` for a text file)."""
    path = Path(path)
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        return []
    return list(sheet_states(path))


def sheet_states(path: str | Path) -> dict[str, str]:
    """Each sheet of a workbook and its state: ``visible``, ``hidden``, ``very hidden``
    or ``chartsheet`` (python-calamine reads the workbook's sheet list)."""
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        meta = book.sheets_metadata
    except Exception as exc:  # calamine raises its own error types for a damaged file
        raise InputError(f"Unreadable workbook: {exc}", file=path) from None
    states = {}
    for m in meta:
        kind = str(m.typ).rsplit(".", 1)[-1]
        visible = str(m.visible).rsplit(".", 1)[-1]
        if kind != "WorkSheet":
            states[m.name] = "chartsheet" if "chart" in kind.casefold() else kind.casefold()
        else:
            states[m.name] = {"Visible": "visible", "Hidden": "hidden"}.get(visible, "very hidden")
    return states


def _read_sheet(path: Path, sheet: str, nrows: int | None = None) -> list[list[Any]]:
    # python-calamine reads the same cell values as openpyxl (same types, text kept as
    # text) about ten times faster: 0.08 s instead of 0.6 s for the 400 x 94 sample
    frame = pd.read_excel(
        path,
        sheet_name=sheet,
        header=None,
        dtype=object,
        na_filter=False,
        engine="calamine",
        nrows=nrows,
    )
    return [[None if _blank(v) else v for v in rec] for rec in frame.itertuples(index=False)]


_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_ATTR_R = re.compile(rb'\sr="([A-Z]{1,3})([0-9]{1,7})"')
_ATTR_T = re.compile(rb'\st="(\w+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")


def _sheet_xml(path: Path, sheet: str) -> bytes:
    """The XML of one worksheet, read once for the error-cell and merge scans (empty when
    it cannot be located: the reader itself reports a damaged workbook)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            part = sheet_part(archive, sheet)
            return archive.read(part) if part else b""
    except (KeyError, zipfile.BadZipFile, OSError):
        return b""


def _cell_errors(data: bytes) -> dict[tuple[int, int], Any]:
    """``{(row index, column index): CellError}`` for the sheet's Excel error cells and
    formulas without a cached value (the reader gives both as blank)."""
    found: dict[tuple[int, int], Any] = {}
    if b't="e"' not in data and not _FORMULA.search(data):
        return found  # no error cell, no formula: nothing to look for (most logs)
    for attrs, body in _CELL.findall(data):
        kind = _ATTR_T.search(attrs)
        body = body or b""
        value = _VALUE.search(body)
        ref = _ATTR_R.search(attrs)
        if ref is None:
            continue
        at = (int(ref[2]) - 1, column_number(ref[1]) - 1)
        if kind is not None and kind[1] == b"e":
            text = value[1].decode("utf-8", "replace") if value else "#ERROR"
            found[at] = CellError(text, f"Excel error cell {text}: no value to read")
        elif _FORMULA.search(body) and (value is None or value[1] == b""):
            found[at] = CellError(
                "(formula, never calculated)",
                "formula without a cached value (not evaluated): open and save the file "
                "in Excel or LibreOffice to calculate it",
            )
    return found


_MERGE = re.compile(
    rb'<(?:\w+:)?mergeCell\b[^>]*\sref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"'
)


def _merged_columns(data: bytes) -> list[tuple[int, int, int]]:
    """Vertically merged ranges of one column: ``(column index, first row index, last)``."""
    return [
        (column_number(c0) - 1, int(r0) - 1, int(r1) - 1)
        for c0, r0, c1, r1 in _MERGE.findall(data)
        if c0 == c1 and int(r1) > int(r0)
    ]


def _fill_merged(rows: list[list[Any]], merges) -> list[str]:
    """Fill each vertically merged range from its top cell (the reader gives only the top
    cell a value); one note per range filled. Merges across columns are left as read."""
    notes = []
    for col, first, last in merges:
        if first >= len(rows) or col >= len(rows[first]) or _blank(rows[first][col]):
            continue
        value = rows[first][col]
        last = min(last, len(rows) - 1)
        for i in range(first + 1, last + 1):
            if len(rows[i]) <= col:
                rows[i] = list(rows[i]) + [None] * (col + 1 - len(rows[i]))
            rows[i][col] = value
        ref = f"{_column_letter(col)}{first + 1}:{_column_letter(col)}{last + 1}"
        notes.append(f"merged cells {ref} filled from {_column_letter(col)}{first + 1} ({value!r})")
    return notes


def _header_rows(rows: list[list[Any]]) -> list[list[Any]]:
    filled = [r for r in rows if not all(_blank(c) for c in r)]
    return filled[: MAX_TITLE_ROWS + 1]


def _choose_sheet(path: Path, states: dict[str, str], score) -> tuple[str, str]:
    readable = [name for name, state in states.items() if state == "visible"]
    skipped = [f"{name!r} ({state})" for name, state in states.items() if state != "visible"]
    if not readable:
        raise InputError(
            "Workbook has no visible worksheet",
            file=path,
            value=", ".join(skipped) or "no sheets",
            hint="name a hidden sheet with sheet= (command line: --sheet) to read it",
        )
    not_read = f"; not read: {', '.join(skipped)}" if skipped else ""
    if len(readable) == 1 or score is None:
        why = "the only visible worksheet" if len(readable) == 1 else "the first sheet"
        return readable[0], f"read sheet {readable[0]!r} ({why}{not_read})"
    scores = {}
    for name in readable:
        rows = _header_rows(_read_sheet(path, name, nrows=4 * (MAX_TITLE_ROWS + 1)))
        scores[name] = max((score(r) for r in rows), default=0)
    best = max(readable, key=lambda n: scores[n])  # ties: the first such sheet
    others = ", ".join(f"{n!r} {scores[n]}" for n in readable if n != best)
    why = (
        f"its header row has the most screening-log columns: {scores[best]}; "
        f"other sheets: {others}{not_read}"
    )
    return best, f"read sheet {best!r} ({why})"


def _read_excel_rows(
    path: Path, sheet: str | None, score=None
) -> tuple[list[list[Any]], str, tuple[str, ...], str]:
    states = sheet_states(path)
    sheets = tuple(states)
    if not sheets:
        raise InputError("Workbook has no sheets", file=path)
    if sheet is None:
        sheet, choice = _choose_sheet(path, states, score)
    elif sheet not in sheets:
        raise InputError(
            "Sheet not found",
            file=path,
            sheet=sheet,
            expected=", ".join(repr(s) for s in sheets),
            hint="pass sheet= one of the sheets listed (sheet=None finds the screening table)",
        )
    elif states[sheet] == "chartsheet":
        raise InputError(
            "Sheet is a chart, not a table",
            file=path,
            sheet=sheet,
            expected=", ".join(repr(n) for n, s in states.items() if s != "chartsheet"),
        )
    else:
        choice = f"read sheet {sheet!r} (as named" + (
            f"; it is {states[sheet]})" if states[sheet] != "visible" else ")"
        )
    rows = _read_sheet(path, sheet)
    _check_cell_sizes(rows, path, sheet)
    xml = _sheet_xml(path, sheet)
    for (i, j), cell in _cell_errors(xml).items():
        while len(rows) <= i:
            rows.append([])
        if len(rows[i]) <= j:
            rows[i] = list(rows[i]) + [None] * (j + 1 - len(rows[i]))
        rows[i][j] = cell
    merged = _fill_merged(rows, _merged_columns(xml))
    if merged:
        choice += "; " + "; ".join(merged)
    return rows, sheet, sheets, choice


def _is_unit_text(cell: Any) -> bool:
    """A unit as written in a units row: ``g/dL``, ``10^9/L``, ``%``, ``kg`` (one letter
    alone, ``M`` or ``N``, is more often a sex or a yes/no than a unit)."""
    from screenkit.units import is_unit

    text = str(cell).strip()
    return (len(text) > 1 or text == "%") and is_unit(text)


def _is_units_row(cells: Sequence[Any]) -> bool:
    """The row under the header holds units, not a patient: no number, and at least two
    cells that read as units (EDC exports often write the units on a second header row)."""
    values = [c for c in cells if not _blank(c)]
    if any(not isinstance(c, str) or _NUMBER.fullmatch(c.strip()) for c in values):
        return False
    return sum(_is_unit_text(c) for c in values) >= 2


def _with_unit(header: Any, unit: Any) -> Any:
    """``hb`` over ``g/dL`` -> ``hb (g/dL)``, the form the header mapping reads units from
    (a header naming its own unit, or a non-unit cell such as ``ID``, is kept as it is)."""
    if _blank(header) or _blank(unit) or not _is_unit_text(unit) or "(" in str(header):
        return header
    return f"{str(header).strip()} ({str(unit).strip()})"


_NUMBER = re.compile(r"[-+]?(\d+[.,]?\d*|[.,]\d+)([eE][-+]?\d+)?")


def _check_cell_sizes(rows: list[list[Any]], path: Path, sheet: str) -> None:
    """Refuse a text cell longer than Excel's own limit (:data:`MAX_CELL_TEXT`): no site's
    spreadsheet holds one, and a hostile file can carry megabytes in a single cell."""
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if type(value) is str and len(value) > MAX_CELL_TEXT:
                raise InputError(
                    "A cell holds more text than Excel allows: refused",
                    file=path,
                    sheet=sheet,
                    row=i + 1,
                    column=_column_letter(j),
                    value=f"{len(value):,} characters",
                    expected=f"at most {MAX_CELL_TEXT:,} characters per cell (Excel's limit)",
                )


def read_table(
    path: str | Path,
    sheet: str | None = None,
    encoding: str | None = None,
    is_header: Callable[[Sequence[Any]], bool] | None = None,
    header_score: Callable[[Sequence[Any]], int] | None = None,
) -> RawTable:
    """Read every cell of one sheet or text file.

    ``sheet=None`` in a workbook of several visible worksheets reads the one whose header
    row scores highest by ``header_score`` (the first visible worksheet without one).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("File not found", file=path)
    if path.is_dir():
        raise InputError(
            "Input is a folder, not a file",
            file=path,
            expected=", ".join(EXCEL_SUFFIXES + TEXT_SUFFIXES) + " file",
            hint="name one screening log inside the folder",
        )
    suffix = path.suffix.lower()
    choice = ""
    if suffix in EXCEL_SUFFIXES:
        check_workbook(path)
        rows, sheet, sheets, choice = _read_excel_rows(path, sheet, header_score)
        numbers = list(range(1, len(rows) + 1))
        used, detected = None, False
    elif suffix in TEXT_SUFFIXES:
        if sheet is not None:
            raise InputError("A text file has no sheets", file=path, sheet=sheet, hint="sheet=None")
        rows, numbers, used, detected = _read_text_rows(path, encoding)
        sheets = ()
    else:
        raise InputError(
            "File type not supported",
            file=path,
            value=suffix,
            expected=", ".join(EXCEL_SUFFIXES + TEXT_SUFFIXES) + " (save .xls as .xlsx)",
        )
    is_header = is_header or _looks_like_header
    filled = [i for i, r in enumerate(rows) if not all(_blank(c) for c in r)]
    if not filled:
        raise InputError("No header row: the sheet is empty", file=path, sheet=sheet)
    candidates = filled[: MAX_TITLE_ROWS + 1]
    headers_ok = [i for i in candidates if is_header(rows[i])]
    if header_score is not None and headers_ok:
        # a group-heading row above the real header ("Patient | | Labs") names fewer
        # columns: the row naming the most is the header (the first of equals)
        header_at = max(headers_ok, key=lambda i: (header_score(rows[i]), -i))
    else:
        header_at = headers_ok[0] if headers_ok else filled[0]
    last = filled[-1]
    width = max(len(r) for r in rows[header_at : last + 1])
    header_cells = list(rows[header_at]) + [None] * (width - len(rows[header_at]))
    skipped, kept, index = [], [], []
    units_at = next((i for i in filled if i > header_at), None)
    if units_at is not None and _is_units_row(rows[units_at]):
        units_row = list(rows[units_at]) + [None] * (width - len(rows[units_at]))
        header_cells = [_with_unit(h, u) for h, u in zip(header_cells, units_row, strict=True)]
        shown = " | ".join(str(c) for c in units_row if not _blank(c))
        skipped.append((sheet, numbers[units_at], f"units row under the header: {shown}"))
    else:
        units_at = None
    for i in range(last + 1):
        if i in (header_at, units_at):
            continue
        record = list(rows[i]) + [None] * (width - len(rows[i]))
        if all(_blank(c) for c in record):
            skipped.append((sheet, numbers[i], "blank row"))
        elif i > header_at and all(_blank(c) or isinstance(c, CellError) for c in record):
            shown = ", ".join(sorted({str(c) for c in record if not _blank(c)}))
            skipped.append((sheet, numbers[i], f"row of Excel error cells only: {shown}"))
        elif i < header_at:
            text = " | ".join(str(c) for c in record if not _blank(c))
            skipped.append((sheet, numbers[i], f"title row above the header: {text}"))
        else:
            kept.append([None if _blank(c) else c for c in record])
            index.append(numbers[i])
    frame = pd.DataFrame(kept, index=pd.Index(index, name="row", dtype="int64"), dtype=object)
    frame = frame.reindex(columns=range(width))
    # drop columns with neither a header nor any value (trailing formatting in Excel)
    keep = [j for j in range(width) if not _blank(header_cells[j]) or frame[j].notna().any()]
    frame = frame[keep].copy()
    frame.columns = range(len(keep))
    headers = [
        str(header_cells[j]).strip()
        if not _blank(header_cells[j])
        else f"(blank header, column {_column_letter(j)})"
        for j in keep
    ]
    skipped_rows = pd.DataFrame(skipped, columns=["sheet", "row", "reason"]).astype(
        {"sheet": "string", "row": "int64", "reason": "string"}
    )
    return RawTable(
        frame=frame,
        headers=headers,
        header_row=numbers[header_at],
        skipped_rows=skipped_rows,
        rows_read=len(kept) + len(skipped),
        sheet=sheet,
        sheets=sheets,
        encoding=used,
        encoding_detected=detected,
        sheet_choice=choice,
    )
