"""Resource guards: refuse a workbook that would cost absurd memory or time, before reading it.

An .xlsx is a zip archive of XML parts. Three things are checked, in one pass over the
archive's directory and one streamed pass over each worksheet part, before any cell is read:

- the archive's total uncompressed size (:data:`MAX_UNCOMPRESSED` bytes) and the ratio of
  uncompressed to compressed bytes of any part (:data:`MAX_RATIO`, zip bombs);
- the real extent of each worksheet (highest row and column of a cell actually present, not
  the ``<dimension>`` the file claims): rows x columns must stay below :data:`MAX_CELLS`.
  The reader allocates the whole rectangle from A1 to the last cell, so one cell at
  XFD1048576 in a 5 KB file would ask for 17 billion cells. A cell without ``r=`` counts
  where the reader puts it (after the previous cell / row); prefixes, any attribute order
  and quoting are read. The usual form is scanned with substring searches at C speed (a
  50,000-row x 95-column log, 150 MB of sheet XML: 6.9 s before, 2.2-3.5 s now on this
  loaded machine; see :func:`_extent`).

Limits chosen (measured on this machine): 5 million cells (a sheet reaching A1:SF10000
took 5.9 s and 421 MB peak to read; a screening log of 5,000 rows x 200 columns is 1
million); 200 MB uncompressed; a part over 1 MB compressed more than 200 times (the
bundled sample workbooks' parts compress at most 9.0 times, 1.26 MB unpacked). The check
itself reads the one-cell-at-XFD1048576 file (4.9 KB) in well under 0.1 s.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

from .errors import InputError

__all__ = [
    "MAX_CELLS",
    "MAX_RATIO",
    "MAX_UNCOMPRESSED",
    "check_workbook",
    "column_number",
    "sheet_part",
]

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200
MAX_CELLS = 5_000_000
MAX_INDEX_BYTES = 10 * 1024 * 1024  # xl/workbook.xml and its relationships, read for names
CHUNK = 4 << 20  # sheet XML scanned at once (fewer, larger chunks: fewer regexes built)
# Any form calamine reads: a namespace prefix, attributes in any order and quoting.
_REF = re.compile(rb"""<(?:\w+:)?c\b[^>]*?[\s:]r\s*=\s*["']([A-Za-z]+)([0-9]+)["']""")
_CANON = bytes.maketrans(b"\t\n\r'", b'   "')  # white space as spaces, double quotes
_ROW_R = re.compile(rb'<row r="([0-9]+)"')
_PREFIXED = re.compile(rb"<\w+:(?:c|row)[ >/]")


def _unusual(scan: bytes) -> bool:
    """Whether a canonical chunk holds what the fast scan does not read: a cell without
    attributes or whose first attribute is not ``r="`` (other orders, ``r = "``), a
    namespace prefix on a cell or row (substring tests: a false alarm costs only time)."""
    return (
        b"<c>" in scan
        or b"<c/" in scan
        or (b":" in scan and _PREFIXED.search(scan) is not None)
        or scan.count(b"<c ") != scan.count(b'<c r="')
    )


def column_number(letters: bytes) -> int:
    """``b"A"`` -> 1, ``b"XFD"`` -> 16384 (lower case read as upper)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


def _greater(text: str, digits: bool) -> str:
    """A regex for a column (letters, any case) or row number (digits, leading zeros)
    greater than ``text``: longer, or as long and greater at the first difference.

    >>> _greater("CQ", digits=False)
    '[A-Za-z]{3,}|[D-Zd-z][A-Za-z]{1}|[Cc][R-Zr-z][A-Za-z]{0}'
    >>> _greater("95", digits=True)
    '0*(?:[1-9][0-9]{2,}|9[6-9][0-9]{0})'
    """
    one = "[0-9]" if digits else "[A-Za-z]"
    parts = [("[1-9]" if digits else "") + one + "{" + str(len(text) + (0 if digits else 1)) + ",}"]
    top = "9" if digits else "Z"
    for i, ch in enumerate(text):
        if ch == top:
            continue
        up = chr(ord(ch) + 1)
        head = text[:i] if digits else "".join(f"[{c}{c.lower()}]" for c in text[:i])
        cls = f"[{up}-9]" if digits else f"[{up}-Z{up.lower()}-z]"
        parts.append(f"{head}{cls}{one}{{{len(text) - i - 1}}}")
    return f"0*(?:{'|'.join(parts)})" if digits else "|".join(parts)


def _beyond(rows: int, cols: int) -> re.Pattern[bytes]:
    """Matches a cell reference past row ``rows`` or column ``cols``, canonical form."""
    col = _greater(_letters(cols), digits=False)
    row = _greater(str(rows) if rows else "", digits=True)
    return re.compile(rb'<c r="(?:(?:' + col.encode() + rb")[0-9]|[A-Za-z]+" + row.encode() + b'")')


def _letters(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _full_scan(scan: bytes) -> tuple[int, int]:
    """Highest (row, column) of any cell reference in ``scan``, every form read."""
    refs = _REF.findall(scan)
    if not refs:
        return 0, 0
    letters, digits = zip(*refs, strict=True)
    return int(max(digits, key=_magnitude)), column_number(max(letters, key=_magnitude))


def _extent(archive: zipfile.ZipFile, name: str) -> tuple[int, int]:
    """Highest (row, column) a cell of a worksheet part reaches, streamed in 4 MB chunks.

    Cells are counted where the reader puts them: at their ``r=`` reference, or, without
    one, after the previous cell of their row (row after the previous row). Most parts
    take the fast route: the row numbers of ``<row r=`` elements, the first chunk's cells,
    then one search per chunk for a cell past the extent found so far (a chunk holding one
    is scanned in full). A part with cells without ``r=``, namespace prefixes or spaces
    around ``=`` is scanned cell by cell (:func:`_walk`)."""
    rows = cols = 0
    tail = b""
    beyond = None
    with archive.open(name) as part:
        while chunk := part.read(CHUNK):
            data = tail + chunk
            cut = data.rfind(b"<")
            scan, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            scan = scan.translate(_CANON)
            if _unusual(scan):
                return _walk(archive, name)
            found = max(map(int, _ROW_R.findall(scan)), default=0)
            if found > rows or beyond is None:
                rows, beyond = max(rows, found), _beyond(max(rows, found), cols)
            if beyond.search(scan):
                r, c = _full_scan(scan)
                rows, cols = max(rows, r), max(cols, c)
                beyond = _beyond(rows, cols)
    return rows, cols


def _magnitude(ref: bytes) -> tuple[int, bytes]:
    """Orders row numbers (``b"0012"`` as 12) and column letters (``b"AA"`` after
    ``b"Z"``) as their values, without converting each one."""
    ref = ref.lstrip(b"0").upper()
    return len(ref), ref


_TAG = re.compile(rb"<(?:\w+:)?(row|c)\b([^>]*)>")
_R_ATTR = re.compile(rb"""[\s:]r\s*=\s*["']([A-Za-z]*)([0-9]+)["']""")


def _walk(archive: zipfile.ZipFile, name: str) -> tuple[int, int]:
    """:func:`_extent` element by element, for any form: a row without ``r=`` follows the
    previous row, a cell without ``r=`` the previous cell of its row."""
    rows = cols = row = col = 0
    for kind, attrs in _TAG.findall(archive.read(name)):
        ref = _R_ATTR.search(attrs)
        if kind == b"row":
            row, col = (int(ref[2]) if ref and not ref[1] else row + 1), 0
        elif ref and ref[1]:
            row, col = max(row, int(ref[2])), column_number(ref[1])
        else:
            row, col = max(row, 1), col + 1
        rows, cols = max(rows, row), max(cols, col)
    return rows, cols


_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_REL_TAG = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")


def _attr(tag: bytes, name: bytes) -> str | None:
    """An attribute of one XML start tag (any namespace prefix), entities decoded."""
    found = re.search(rb"(?:\s|:)" + name + rb'\s*=\s*"([^"]*)"', tag)
    return html.unescape(found.group(1).decode("utf-8", "replace")) if found else None


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part -> the sheet's name as Excel shows it (empty when it cannot be told).

    Read from ``xl/workbook.xml`` and its relationships with a bounded read and a regular
    expression (no XML parser, so no entity expansion)."""
    try:
        book = archive.open("xl/workbook.xml").read(MAX_INDEX_BYTES)
        rels = archive.open("xl/_rels/workbook.xml.rels").read(MAX_INDEX_BYTES)
    except KeyError:
        return {}
    targets = {}
    for tag in _REL_TAG.findall(rels):
        rid, target = _attr(tag, b"Id"), _attr(tag, b"Target")
        if rid and target:
            targets[rid] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    names = {}
    for tag in _SHEET_TAG.findall(book):
        name, rid = _attr(tag, b"name"), _attr(tag, b"id")
        if name and rid in targets:
            names[targets[rid]] = name
    return names


def sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip part holding the sheet named ``sheet`` (None when it cannot be told)."""
    return next((part for part, name in _sheet_names(archive).items() if name == sheet), None)


def check_workbook(path: Path) -> None:
    """Raise :class:`InputError` (exit 2) for a workbook past a limit; return if it is sane."""
    if not zipfile.is_zipfile(path):
        raise InputError(
            "Not a readable workbook: the file is not the zip archive an .xlsx is",
            file=path,
            expected="an .xlsx / .xlsm saved by Excel or LibreOffice, without a password",
            hint="it is corrupt, truncated, password-protected (Excel encrypts into another "
            "format) or another format renamed .xlsx: save it again as .xlsx",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED:
                raise InputError(
                    "Workbook too large when unpacked: refused before reading",
                    file=path,
                    value=f"{total:,} bytes uncompressed",
                    expected=f"at most {MAX_UNCOMPRESSED:,} bytes",
                )
            for info in infos:
                ratio = info.file_size / info.compress_size if info.compress_size else 0
                if ratio > MAX_RATIO and info.file_size > 1024 * 1024:
                    raise InputError(
                        "Workbook part compresses implausibly well (zip bomb?): refused",
                        file=path,
                        value=f"{info.filename}: {info.file_size:,} bytes from "
                        f"{info.compress_size:,}",
                        expected=f"a compression ratio below {MAX_RATIO}",
                    )
            names = None
            for info in infos:
                if not re.fullmatch(r"xl/worksheets/[^/]+\.xml", info.filename):
                    continue
                rows, cols = _extent(archive, info.filename)
                if rows * cols > MAX_CELLS:
                    names = _sheet_names(archive) if names is None else names
                    raise InputError(
                        "Sheet reaches too far: its last cell would make the reader allocate "
                        "an absurd table",
                        file=path,
                        sheet=names.get(info.filename, info.filename),
                        value=f"cells up to row {rows:,}, column {cols:,} ({rows * cols:,} cells)",
                        expected=f"at most {MAX_CELLS:,} cells (rows x columns from A1)",
                        hint="delete the stray far-away cells (Ctrl+End shows the last one) "
                        "and save again",
                    )
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"Corrupt or truncated workbook: {exc}", file=path) from None
