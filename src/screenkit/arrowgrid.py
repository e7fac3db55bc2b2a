"""A CSV's cells column-wise by pyarrow: per column, codes into its distinct cells.

pyarrow's CSV reader splits the file in C and hashes each column into its distinct cells
(``dictionary_encode``), so only distinct cells become Python strings and no grid of
cells is ever built. Columns of yes/no flags written ``True`` / ``False`` or left blank
(as pandas writes booleans; most columns of a screening export) are not even read as
text: a sample of the file's first :data:`SAMPLE` bytes names the columns holding nothing
else below the first row, the reader converts them to booleans (blank: null) in C, and
their codes follow from the booleans.
A flag column with any other cell further down makes the reader stop, and the file is read
again as text, so the result is always the text reading's: the distinct cells in order of
first appearance (the first record included) and codes into them.

A column whose cells in the sample are all different, over at least :data:`UNIQUE_ROWS`
records (the patient IDs), is not hashed: hashing would find no repeat, and the caller
judges each cell of it anyway. Its codes are ``0..n-1`` into its cells as read (a cell
repeated further down is then listed twice, and judged twice; nothing else changes: a
code still names the cell as written, and duplicate IDs are found after parsing); the
cells stay a pyarrow array (:class:`~screenkit.codedframe.ArrowCells`), judged and
stripped by pyarrow. The other text columns are hashed :data:`THREADS` at a time.

The caller (:mod:`screenkit.textfile`) checks that the records are the csv module's.

>>> import csv
>>> data = b"id,hiv\\n007,False\\n008,True\\n009,False\\n"
>>> [(codes.tolist(), uniques) for codes, uniques in arrow_grid(data, csv.excel, 2)]
[([0, 1, 2, 3], ['id', '007', '008', '009']), ([0, 1, 2, 1], ['hiv', 'False', 'True'])]
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .codedframe import ArrowCells

__all__ = ["SAMPLE", "THREADS", "UNIQUE_ROWS", "arrow_grid"]

#: bytes from the start of the file in which the flag columns are found
SAMPLE = 1 << 18
#: sample records (below the first) a column's cells must all differ in to go unhashed
UNIQUE_ROWS = 100
#: threads hashing text columns (pyarrow releases the GIL while it hashes)
THREADS = min(2, os.cpu_count() or 1)
_FLAGS = ("True", "False", "")  # a blank flag cell reads as null


def arrow_grid(data: Any, dialect: Any, width: int) -> list[tuple[np.ndarray, list[Any]]] | None:
    """Per column ``(codes, distinct cells)`` of the UTF-8 bytes ``data`` (records split by
    ``dialect``, at most ``width`` fields), or None where pyarrow cannot read the file (a
    ragged record, a record over the block size ...). ``data`` must be valid UTF-8 (the
    caller decoded it already): pyarrow does not check it a second time."""
    import pyarrow as pa

    sample = _sample(data, dialect, width)
    flags = _flag_columns(sample)
    unique = _unique_columns(sample, flags)
    if flags:
        try:
            return _with_flags(data, dialect, width, flags, unique)
        except pa.ArrowException:
            # a flag column holds other cells below the sample: every column is read as
            # text instead, which reads any cell
            return _as_text(data, dialect, width, unique)
    return _as_text(data, dialect, width, unique)


def _as_text(data: Any, dialect: Any, width: int, unique: set[int]):
    """Every column read as text, or None where pyarrow cannot read the file."""
    import pyarrow as pa

    try:
        table = _read(data, dialect, width, set())
    except pa.ArrowException:
        return None
    if any(t != pa.string() for t in table.schema.types):
        return None  # a column past ``width`` (a quoted delimiter in the head) was inferred
    return _coded_all([(column.chunks, j in unique) for j, column in enumerate(table.columns)])


def _read(data: Any, dialect: Any, width: int, flags: set[int], skip: int = 0) -> Any:
    """The table pyarrow reads: every column text, but ``flags`` as booleans."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    types = {f"f{j}": pa.bool_() if j in flags else pa.string() for j in range(width)}
    return pa_csv.read_csv(
        pa.py_buffer(data),
        read_options=pa_csv.ReadOptions(
            autogenerate_column_names=True, use_threads=False, skip_rows=skip
        ),
        parse_options=pa_csv.ParseOptions(
            delimiter=dialect.delimiter,
            quote_char=dialect.quotechar,
            double_quote=dialect.doublequote,
            escape_char=False,
            newlines_in_values=True,  # a quoted line break: one record (the caller checks)
            ignore_empty_lines=False,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=types,
            null_values=[""] if flags else [],  # only a flag cell becomes null, never text
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            true_values=[_FLAGS[0]],
            false_values=[_FLAGS[1]],
            check_utf8=False,  # the caller decoded the bytes as UTF-8 already
        ),
    )


def _coded_all(columns: list[tuple[list[Any], bool]]) -> list[tuple[np.ndarray, Any]]:
    """:func:`_coded` of each ``(chunks, unique)``, :data:`THREADS` columns at a time
    (pyarrow hashes without holding the GIL: 47 text columns of 200,000 rows took
    0.08-0.11 s in two threads against 0.13 s in one on the shared 2-core machine).

    >>> import pyarrow as pa
    >>> [(codes.tolist(), list(cells)) for codes, cells in _coded_all(
    ...     [([pa.array(["a", "b", "a"])], False), ([pa.array(["x", "y", "z"])], True)])]
    [([0, 1, 0], ['a', 'b']), ([0, 1, 2], ['x', 'y', 'z'])]
    """
    if THREADS < 2 or len(columns) < 2:
        return [_coded(chunks, unique) for chunks, unique in columns]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(lambda column: _coded(*column), columns))


def _coded(chunks: list[Any], unique: bool) -> tuple[np.ndarray, list[Any]]:
    """Codes and cells of a text column: its distinct cells (order of first appearance),
    or, for a ``unique`` column, every cell in order (codes ``0..n-1``, no hashing), held
    by pyarrow (:class:`~screenkit.codedframe.ArrowCells`).

    >>> import pyarrow as pa
    >>> codes, cells = _coded([pa.array(["a", "b"]), pa.array(["a"])], unique=True)
    >>> codes, cells.tolist()
    (array([0, 1, 2], dtype=int32), ['a', 'b', 'a'])
    """
    import pyarrow as pa

    column = pa.chunked_array(chunks, type=pa.string()).combine_chunks()
    if unique:  # held by pyarrow: no Python string per cell (see ArrowCells)
        return np.arange(len(column), dtype=np.int32), ArrowCells(column)
    return _encoded(column)


def _encoded(array: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes and distinct cells (order of first appearance) of a text array."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(array)
    # int32 codes, read in place from pyarrow's buffer (half the memory of intp, no copy)
    return encoded.indices.to_numpy(), encoded.dictionary.to_pylist()


def _first_line(data: Any) -> int:
    """Bytes of the first line, its end included (0: no line end in the sample)."""
    head = bytes(data[:SAMPLE])
    end = head.find(b"\n")
    return end + 1 if end >= 0 else 0


def _sample(data: Any, dialect: Any, width: int) -> Any:
    """The whole lines of the file's first :data:`SAMPLE` bytes read as text, or None
    (no second record in them, or the first line holds a quote: it might not be one
    record)."""
    import pyarrow as pa

    first = _first_line(data)
    head = bytes(data[:SAMPLE])
    cut = head.rfind(b"\n") + 1
    if not first or cut <= first or dialect.quotechar.encode("utf-8") in head[:first]:
        return None
    try:
        sample = _read(head[:cut], dialect, width, set())
    except pa.ArrowException:
        return None
    return sample if sample.num_rows >= 2 else None


def _unique_columns(sample: Any, flags: set[int]) -> set[int]:
    """Text columns whose cells below the first record all differ in the ``sample``, over
    at least :data:`UNIQUE_ROWS` records."""
    import pyarrow.compute as pc

    if sample is None or sample.num_rows - 1 < UNIQUE_ROWS:
        return set()
    below = sample.num_rows - 1
    return {
        j
        for j, column in enumerate(sample.columns)
        if j not in flags and pc.count_distinct(column.slice(1)).as_py() == below
    }


def _flag_columns(sample: Any) -> set[int]:
    """Columns whose cells below the first record are all ``True`` / ``False`` / blank in
    the ``sample`` (:func:`_sample`; none without a sample)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if sample is None:
        return set()
    flags = pa.array(_FLAGS, type=pa.string())
    return {
        j
        for j, column in enumerate(sample.columns)
        if pc.all(pc.is_in(column.slice(1), value_set=flags)).as_py()
    }


def _with_flags(data: Any, dialect: Any, width: int, flags: set[int], unique: set[int]):
    """The grid read with ``flags`` as booleans: the first record on its own (as text),
    the rest by one read (``unique`` columns unhashed, see :func:`_coded`). Raises
    ``ArrowException`` where a flag column holds anything else."""
    import pyarrow as pa

    first = _first_line(data)
    head = _read(bytes(data[:first]), dialect, width, set())
    table = _read(data, dialect, width, flags, skip=1)
    if head.num_rows != 1 or head.num_columns != table.num_columns:
        raise pa.ArrowInvalid("the first record is not one line of the table's width")
    types = [pa.bool_() if j in flags else pa.string() for j in range(table.num_columns)]
    if table.schema.types != types:  # a column past ``width`` was typed by inference
        raise pa.ArrowInvalid("a column is neither text nor flags")
    texts = [j for j in range(table.num_columns) if j not in flags]
    coded = _coded_all(
        [([*head.column(j).chunks, *table.column(j).chunks], j in unique) for j in texts]
    )
    distinct = dict(zip(texts, coded, strict=True))
    for j in flags:
        distinct[j] = _flag_codes(head.column(j)[0].as_py(), table.column(j))
    return [distinct[j] for j in range(table.num_columns)]


def _flag_codes(first: str, column: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes and distinct cells of a flag column as its text would give them: the first
    record's cell, then ``True`` / ``False`` / ``""`` (null) in the order they first
    appear."""
    array = column.combine_chunks()
    true, known = _bits(array)
    # per cell its position in _FLAGS, as bytes: 0 True, 1 False, 2 blank
    kinds = (~true).view(np.uint8)
    if known is not None:
        kinds = np.where(known, kinds, np.uint8(2))
    firsts = {k: int(np.argmax(kinds == k)) for k in range(3)}
    present = sorted((at, k) for k, at in firsts.items() if len(kinds) and kinds[at] == k)
    uniques = [first]
    for _, kind in present:
        if _FLAGS[kind] not in uniques:
            uniques.append(_FLAGS[kind])
    # by kind its code, and kind 3 the first record's (code 0): the codes are one take of
    # the kinds with the first record's put in front (filling a new int32 array after
    # its first cell instead took 5x longer: a fresh 800 KB written twice)
    code_of = [uniques.index(t) if t in uniques else -1 for t in _FLAGS]
    every = np.empty(len(kinds) + 1, dtype=np.uint8)
    every[0] = 3
    every[1:] = kinds
    return np.array([*code_of, 0], dtype=np.int32).take(every), uniques


def _bits(array: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``(values, known)`` of a boolean array as numpy booleans, unpacked from its bit
    buffers in one pass each (``known`` None: no null; a null's value bit is arbitrary).

    >>> import pyarrow as pa
    >>> [None if b is None else b.tolist() for b in _bits(pa.array([True, None, False]))]
    [[True, False, False], [True, False, True]]
    """
    n, offset = len(array), array.offset
    validity, data = array.buffers()[:2]

    def unpack(buffer: Any) -> np.ndarray:
        packed = np.frombuffer(buffer, dtype=np.uint8)
        return np.unpackbits(packed, count=offset + n, bitorder="little")[offset:].view(bool)

    return unpack(data), (unpack(validity) if array.null_count else None)
