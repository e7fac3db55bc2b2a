"""Resource guards: refuse a workbook that would cost absurd memory or time, before reading it.

An .xlsx is a zip archive of XML parts. Three things are checked, in one pass over the
archive's directory and one streamed pass over each worksheet part, before any cell is read:

- the archive's total uncompressed size (:data:`MAX_UNCOMPRESSED` bytes) and the ratio of
  uncompressed to compressed bytes of any part (:data:`MAX_RATIO`, zip bombs);
- the real extent of each worksheet (highest row and column of a cell actually present, not
  the ``<dimension>`` the file claims): rows x columns must stay below :data:`MAX_CELLS`.
  The reader allocates the whole rectangle from A1 to the last cell, so one cell at
  XFD1048576 in a 5 KB file would ask for 17 billion cells.

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
_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]{1,3})([0-9]{1,7})"')


def column_number(letters: bytes) -> int:
    """``b"A"`` -> 1, ``b"XFD"`` -> 16384."""
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _extent(archive: zipfile.ZipFile, name: str) -> tuple[int, int]:
    """Highest (row, column) of a cell present in a worksheet part, streamed in 1 MB chunks."""
    rows = cols = 0
    tail = b""
    with archive.open(name) as part:
        while chunk := part.read(1 << 20):
            data = tail + chunk
            cut = data.rfind(b"<")
            scan, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            refs = _REF.findall(scan)
            if refs:  # the largest of each by one max over the chunk, converted once
                letters, digits = zip(*refs, strict=True)
                rows = max(rows, int(max(digits, key=_magnitude)))
                cols = max(cols, column_number(max(letters, key=_magnitude)))
    return rows, cols


def _magnitude(ref: bytes) -> tuple[int, bytes]:
    """Orders row numbers (``b"0012"`` as 12) and column letters (``b"AA"`` after
    ``b"Z"``) as their values, without converting each one."""
    ref = ref.lstrip(b"0")
    return len(ref), ref


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
