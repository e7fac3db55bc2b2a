"""Read a text spreadsheet (.csv, .txt, .tsv) column-wise: encoding, delimiter, cells.

Encodings, when ``encoding`` is not given: a BOM decides (UTF-8, UTF-16); else UTF-16
without BOM (every other byte NUL); else UTF-8; else GB18030 when the Chinese text decodes
to common (GB2312) characters; else cp1252 (Latin-1) when the bytes above 0x7F mostly
stand alone (``Zürich``), as a single-byte code page writes them; else Big5; else
GB18030; else Latin-1. A ``sep=;`` first line (Excel) sets the delimiter, else
:class:`csv.Sniffer` guesses it from the first 20,000 characters.

A file of ASCII bytes (most exports) is not decoded whole: ASCII is the UTF-8 the rules
above detect, pyarrow reads the bytes, and only the head is decoded (delimiter, width,
the header rows); should pyarrow not read it, the whole file is decoded as above.

Cells are read column-wise, every cell as text (nothing type-guessed), and each column
comes with its distinct values (codes into them, as
:func:`~screenkit.columnparse.distinct_cells` gives) so the caller judges each distinct
cell once, never each cell. Three readers, the first that reads what :mod:`csv` reads:

1. pyarrow's CSV reader (:mod:`screenkit.arrowgrid`), where every record has the same
   number of fields and sits on one line: it hashes each column into its distinct cells
   in C (True / False flag columns it converts), so only distinct cells become Python
   strings and no grid of cells is built (``TextGrid.grid`` builds it when asked); a
   column of cells all different in the file's head (the patient IDs) is not hashed:
   its codes are 0..n-1 into its cells as read;
2. pandas' C tokenizer (ragged rows narrower than the head's widest, padded with ``""``);
3. the :mod:`csv` module, row by row, as before, with the same errors: a quoted line
   break, a ragged row wider than the first 1,000 lines, an escape character, leading
   spaces skipped by the dialect or a field over :func:`csv.field_size_limit`.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
>>> _ = path.write_text("ID;Hb\\n007;ND\\n008;9,1\\n", encoding="utf-8")
>>> text = read_text_grid(path)
>>> text.grid.values.tolist(), text.numbers.tolist(), text.fast, text.reader
([['ID', 'Hb'], ['007', 'ND'], ['008', '9,1']], [1, 2, 3], True, 'pyarrow')
>>> text.record(0)
['ID', 'Hb']
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["TextGrid", "decode_text", "read_text_grid"]

HEAD_LINES = 1000  # lines the C tokenizer's width is taken from
HEAD_CHARS = 1 << 20  # ... among the first MB


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
    utf8 = _decoded(data, "utf-8")
    if utf8 is not None:  # most files: decoded once, not by every candidate
        return utf8, "utf-8", True
    attempts: dict[str, str] = {}
    for name in ("gb18030", "big5"):
        try:
            attempts[name] = data.decode(name)
        except UnicodeDecodeError:
            continue
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


def _decoded(data: bytes, name: str) -> str | None:
    """``data`` decoded, or None when it is not valid ``name``."""
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        return None


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


@dataclass
class TextGrid:
    """A text file's records as a grid: ``grid`` (object cells, columns 0..n-1; a record
    shorter than the widest is padded with ``""`` by the C tokenizer, ``None`` by the csv
    module; built from ``distinct`` on first use where a C reader read the file),
    ``numbers`` (the line each record starts on), ``distinct`` (per column ``(codes,
    distinct values)`` when already computed), ``reader`` (see the module docstring),
    ``record(i)`` (record ``i`` exactly as the :mod:`csv` module reads it, for judging
    header rows)."""

    numbers: np.ndarray
    encoding: str
    detected: bool
    fast: bool
    distinct: list[tuple[np.ndarray, list[Any]]] | None = None
    reader: str = "csv"  # which reader split the file: "pyarrow", "pandas" or "csv"
    _grid: pd.DataFrame | None = field(default=None, repr=False)
    _text: str | Any = field(default="", repr=False)  # str, or an ASCII file's bytes
    _dialect: Any = field(default=None, repr=False)
    _rows: list[list[str]] | None = field(default=None, repr=False)
    _head: list[list[str]] = field(default_factory=list, repr=False)
    _reader: Iterator[list[str]] | None = field(default=None, repr=False)

    @property
    def grid(self) -> pd.DataFrame:
        """Every cell as an object (built from the distinct cells the first time)."""
        if self._grid is None:
            assert self.distinct is not None  # a reader gives cells or their codes
            from .codedframe import CodedFrame

            rows = pd.RangeIndex(len(self.numbers))
            self._grid = CodedFrame(rows, self.distinct).to_frame()
        return self._grid

    def record(self, i: int) -> list[Any]:
        """Record ``i`` as the csv module reads it (its own length, ``""`` kept)."""
        if self._rows is not None:
            return self._rows[i]
        if self._reader is None:  # line by line from the start, not a copy of the text
            if isinstance(self._text, str):
                lines = (m.group() for m in _LINE.finditer(self._text))
            else:  # an ASCII file's bytes (see _ascii_grid): each line decoded when read
                lines = (m.group().decode("ascii") for m in _LINE_BYTES.finditer(self._text))
            self._reader = csv.reader(lines, self._dialect)
        while len(self._head) <= i:  # one record per line here: parse only the head
            self._head.append(next(self._reader, []))
        return self._head[i]


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|\Z)")
_LINE_BYTES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n|\Z)")


def _dialect(text: str, path: Path) -> tuple[str, Any, int]:
    """``(text without a sep= line, csv dialect, lines removed)``."""
    sep = re.match(r"\ufeff?sep=(.)[ \t]*\r?\n", text[:20])
    if sep:  # Excel's "sep=;" first line names the delimiter and is not a row
        dialect: Any = type("SepDialect", (csv.excel,), {"delimiter": sep.group(1)})
        return text[sep.end() :], dialect, 1
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    return text, dialect, 0


def _csv_rows(text: str, dialect: Any, first_line: int, path: Path):
    """Every record by the csv module, with the line it starts on (the reference reader)."""
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
    return rows, numbers


def _line_count(text: str) -> int:
    """Lines as the csv module counts them (``\\n``, ``\\r`` or ``\\r\\n`` end one; a
    last line without an end counts too)."""
    ends = text.count("\n")
    if "\r" in text:  # most files end lines with \n alone: one pass, not three
        ends += text.count("\r") - text.count("\r\n")
    return ends + (0 if text.endswith(("\n", "\r")) else 1)


def _c_grid(text: str, dialect: Any, source: Any, size: int | None = None):
    """``(grid, each column's distinct cells, reader)`` by pyarrow or pandas' C tokenizer,
    or None where neither reads what the csv module reads (see the module docstring).
    ``source``: the same text as UTF-8 bytes when the file is UTF-8 (a view of the file's
    bytes, not a copy), else None. ``size`` given: ``text`` is only the head of the text
    (``size`` characters, ``source`` its ASCII bytes), so only pyarrow may read it."""
    if not text or text.isspace() or dialect.escapechar is not None or not dialect.quotechar:
        return None
    width = _head_width(text, dialect)
    fast = _arrow_grid(text, dialect, source, width)
    if fast is None and size is None:
        fast = _pandas_grid(text, dialect, source, width, _line_count(text))
    if fast is None:
        return None
    grid, distinct, reader = fast
    if (len(text) if size is None else size) > csv.field_size_limit():
        limit = csv.field_size_limit()
        if any(_longest(uniques) > limit for _, uniques in distinct):
            return None  # the csv module refuses such a field, with its line
    return grid, distinct, reader


def _head_width(text: str, dialect: Any) -> int:
    """Fields of the widest of the first :data:`HEAD_LINES` lines (of the first MB)."""
    head = re.split(r"\r\n|\r|\n", text[:HEAD_CHARS], maxsplit=HEAD_LINES)[:HEAD_LINES]
    return max(line.count(dialect.delimiter) for line in head) + 1


def _ascii_grid(data: bytes, path: Path) -> TextGrid | None:
    """pyarrow's reading of a file of ASCII bytes (most exports) without decoding all of
    it: ASCII is the UTF-8 that :func:`decode_text` detects, pyarrow reads the bytes, and
    only the head is decoded (for the delimiter and the width; the records the header
    judges read are decoded line by line). None wherever the whole text could matter (a
    head of blanks, a reader other than pyarrow, an over-long field): the full route then
    reads the file, as it always did.

    >>> _ascii_grid(b"ID;Hb\\n007;ND\\n", Path("log.csv")).record(1)
    ['007', 'ND']
    """
    if not data.isascii() or b"\x00" in data:  # a NUL byte: the full route refuses it
        return None
    head = data[: HEAD_CHARS + 64].decode("ascii")  # covers a sep= line and the first MB
    body, dialect, first_line = _dialect(head, path)
    skip = len(head) - len(body)  # the sep= line: characters are bytes in ASCII
    source = memoryview(data)[skip:]
    fast = _c_grid(body, dialect, source, len(data) - skip)  # (a head of blanks: None)
    if fast is None:
        return None
    _, distinct, reader = fast
    numbers = np.arange(first_line + 1, first_line + 1 + len(distinct[0][0]), dtype=np.int64)
    return TextGrid(numbers, "utf-8", True, True, distinct, reader, _text=source, _dialect=dialect)


def _arrow_grid(text: str, dialect: Any, source: Any, width: int):
    """pyarrow's reader (:func:`screenkit.arrowgrid.arrow_grid`) where its records are
    the csv module's: every record of one width (at most ``width``, the head's count of
    delimiters, which may count some inside quotes) on its own line, no leading spaces
    skipped. Only distinct cells become Python strings, and no object grid is built
    (``TextGrid.grid`` builds it when asked).

    pyarrow reads every line as a record (a blank line or one of another width fails the
    read), so its records are the lines unless a quoted cell holds a line break: that
    is looked for in the distinct cells, not by counting the lines of the whole text."""
    if dialect.skipinitialspace:
        return None
    if dialect.quoting not in (csv.QUOTE_MINIMAL, csv.QUOTE_ALL):
        return None
    from .arrowgrid import arrow_grid

    distinct = arrow_grid(source if source is not None else text.encode("utf-8"), dialect, width)
    if distinct is None or any(_breaks_lines(uniques) for _, uniques in distinct):
        return None  # a record spans lines (a quoted line break): line numbers need csv
    return None, distinct, "pyarrow"


def _breaks_lines(cells: Any) -> bool:
    """Does any of the ``cells`` (a list, or :class:`~screenkit.codedframe.ArrowCells`)
    hold a line break (``\\n`` or ``\\r``)?

    >>> _breaks_lines(["a", "b"]), _breaks_lines(["a", "b\\r\\nc"])
    (False, True)
    """
    from .codedframe import ArrowCells

    if isinstance(cells, ArrowCells):  # one search of the bytes pyarrow holds them in
        data = cells.utf8()
        return b"\n" in data or b"\r" in data
    joined = "".join(cells)  # one search of one string, not one per cell
    return "\n" in joined or "\r" in joined


def _longest(cells: Any) -> int:
    """Characters of the longest of the ``cells`` (0: none).

    >>> _longest(["ab", "abc"]), _longest([])
    (3, 0)
    """
    from .codedframe import ArrowCells

    if isinstance(cells, ArrowCells):
        import pyarrow.compute as pc

        return pc.max(pc.utf8_length(cells.array)).as_py() or 0
    return max(map(len, cells), default=0)


def _pandas_grid(text: str, dialect: Any, source: Any, width: int, lines: int):
    """pandas' C tokenizer (a record narrower than ``width`` padded with ``""``), or None
    where it might read otherwise than the csv module."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a ParserWarning (data cut) is a failure too
            grid = pd.read_csv(
                io.BytesIO(source) if source is not None else io.StringIO(text),
                encoding="utf-8",
                sep=dialect.delimiter,
                header=None,
                names=range(width),
                index_col=False,
                dtype=object,
                na_filter=False,
                skip_blank_lines=False,
                quotechar=dialect.quotechar,
                quoting=dialect.quoting,
                doublequote=dialect.doublequote,
                skipinitialspace=dialect.skipinitialspace,
                engine="c",
            )
    except (ValueError, Warning):  # a row wider than the head's: the csv module reads it
        return None
    if len(grid) != lines:
        return None  # a record spans lines (a quoted line break): line numbers need csv
    distinct = [_distinct_text(grid[j].to_numpy(dtype=object)) for j in range(width)]
    return grid, distinct, "pandas"


def _distinct_text(cells: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """:func:`distinct_cells` of a column the C tokenizer read (text only, no missing
    cell), without its type inspection: one hash pass."""
    codes, uniques = pd.factorize(cells)
    return codes, list(uniques)


def read_text_grid(path: str | Path, encoding: str | None = None) -> TextGrid:
    """Decode and split a text spreadsheet into records (see the module docstring)."""
    path = Path(path)
    data = path.read_bytes()
    if encoding is None:  # most exports are ASCII: read without decoding the whole file
        fast = _ascii_grid(data, path)
        if fast is not None:
            return fast
    text, used, detected = decode_text(data, encoding, file=path)
    if "\x00" in text:
        raise InputError(
            "File holds NUL bytes: not a text spreadsheet",
            file=path,
            value=f"decoded as {used}",
            expected="a CSV / TXT / TSV file of text, or an .xlsx workbook",
        )
    body, dialect, first_line = _dialect(text, path)
    source = None
    if used in ("utf-8", "utf-8-sig"):  # the C tokenizer reads the file's own bytes
        skipped = text[: len(text) - len(body)]  # the sep= line, if any
        start = (3 if used == "utf-8-sig" else 0) + len(skipped.encode("utf-8"))
        source = memoryview(data)[start:]
    text = body
    fast = _c_grid(text, dialect, source)
    if fast is not None:
        grid, distinct, reader = fast
        rows = len(grid) if grid is not None else len(distinct[0][0])
        numbers = np.arange(first_line + 1, first_line + 1 + rows, dtype=np.int64)
        return TextGrid(
            numbers, used, detected, True, distinct, reader, grid, _text=text, _dialect=dialect
        )
    rows, numbers = _csv_rows(text, dialect, first_line, path)
    width = max(map(len, rows), default=0)
    grid = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
    grid.columns = range(width)
    return TextGrid(
        np.asarray(numbers, dtype=np.int64), used, detected, False, None, _grid=grid, _rows=rows
    )
