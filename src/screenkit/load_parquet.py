"""Read a Parquet screening log (a file, or a folder of Parquet parts) into a raw table.

The result is the same :class:`~screenkit.load.RawTable` the CSV and xlsx readers give, so
the header mapping, unit conversion, parsing and the load report are the very same code.
Cells keep what Parquet stores: text stays text (``007`` stays ``"007"``), numbers stay
numbers, booleans, dates and timestamps stay themselves (a timestamp with a time zone
keeps its local date and time); a null reads as a blank cell.

Rows are numbered as in the CSV of the same table: the column names are row 1, the
first record row 2; a record of nulls only is a skipped "blank row". A pandas index
stored in the file (``df.to_parquet`` of a frame indexed by ``patient_id``) comes back as
an ordinary column.

Refused, with the file and column named: a damaged or non-Parquet file, columns of a
type that is no spreadsheet cell (lists, structs, maps, binary, times of day, durations),
text longer than Excel's cell limit, and a file whose metadata claims more than
:data:`MAX_PARQUET_CELLS` cells.

>>> import tempfile, pathlib, pandas as pd
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.parquet"
>>> pd.DataFrame({"ID": ["007", None, "008"], "Hb": [9.5, None, 11.0]}).to_parquet(path)
>>> raw = read_parquet_table(path)
>>> raw.headers, raw.header_row, raw.frame.index.tolist(), raw.frame[0].tolist()
(['ID', 'Hb'], 1, [2, 4], ['007', '008'])
>>> raw.skipped_rows.to_dict("records")
[{'sheet': None, 'row': 3, 'reason': 'blank row'}]
"""

from __future__ import annotations

import decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .codedframe import CodedFrame
from .errors import InputError
from .files import MAX_CELL_TEXT
from .load import RawTable

__all__ = ["MAX_PARQUET_CELLS", "PARQUET_SUFFIXES", "read_parquet_table"]

PARQUET_SUFFIXES = (".parquet", ".pq")
#: Rows x columns a Parquet input may claim. Every cell becomes one Python object for the
#: parser (about 100 bytes each with the frame around it), so 50 million cells is about
#: 5 GB; larger data are for ``--engine dask`` (one partition per file).
MAX_PARQUET_CELLS = 50_000_000

_CELL_TYPES = (
    "a Parquet column of text, numbers, booleans, dates or timestamps "
    "(cast or drop the others: lists, structs, maps, binary, times of day, durations)"
)


def read_parquet_table(path: str | Path, sheet: str | None = None) -> RawTable:
    """Read every cell of a Parquet file (or a folder of Parquet parts: one table).

    ``sheet`` must be None (Parquet has no sheets).
    """
    path = Path(path)
    if sheet is not None:
        raise InputError("A Parquet file has no sheets", file=path, sheet=sheet, hint="sheet=None")
    if not path.exists():
        raise InputError("File not found", file=path)
    frame = _read_frame(path)
    if not len(frame.columns):
        raise InputError(
            "No header row: the Parquet file has no columns",
            file=path,
            expected="a table with a patient ID column and the screening columns",
        )
    headers, cells = [], {}
    for j, name in enumerate(frame.columns):
        header = str(name).strip() if name is not None else ""
        headers.append(header or f"(blank header, column {j + 1})")
        cells[j] = _cells(frame.iloc[:, j], path, headers[-1])
    raw = pd.DataFrame(cells, index=pd.RangeIndex(len(frame)), dtype=object)
    raw = raw.reindex(columns=range(len(headers)))
    rows = np.arange(2, len(raw) + 2, dtype=np.int64)
    blank = raw.isna().all(axis=1).to_numpy() if len(headers) else np.ones(len(raw), bool)
    kept = raw[~blank].copy()
    kept.index = pd.Index(rows[~blank], name="row", dtype="int64")
    skipped_rows = pd.DataFrame(
        {"sheet": None, "row": rows[blank], "reason": "blank row"},
        columns=["sheet", "row", "reason"],
    ).astype({"sheet": "string", "row": "int64", "reason": "string"})
    return RawTable(
        coded=CodedFrame.from_frame(kept),
        headers=headers,
        header_row=1,
        skipped_rows=skipped_rows,
        rows_read=len(raw),
        sheet=None,
        sheets=(),
        encoding=None,
        encoding_detected=False,
        sheet_choice="",
    )


def _read_frame(path: Path) -> pd.DataFrame:
    """The table as pandas reads it (nullable dtypes: a null is ``<NA>``), after checking
    the schema and the claimed size from the metadata alone."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(path, format="parquet")
        schema = dataset.schema
        claimed = sum(f.metadata.num_rows for f in dataset.get_fragments())
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(
            f"Not a readable Parquet file: {_first_line(exc)}",
            file=path,
            expected="a Parquet file written by pandas, pyarrow, polars, Spark or DuckDB "
            "(or a folder of them)",
        ) from None
    for field in schema:
        if not _is_cell_type(field.type):
            raise InputError(
                "Column type is not a spreadsheet cell",
                file=path,
                column=field.name,
                value=str(field.type),
                expected=_CELL_TYPES,
            )
    if claimed * max(len(schema), 1) > MAX_PARQUET_CELLS:
        raise InputError(
            "Parquet input too large to read as one table: refused",
            file=path,
            value=f"{claimed:,} rows x {len(schema):,} columns",
            expected=f"at most {MAX_PARQUET_CELLS:,} cells",
            hint="split it into several files and use screenkit report --engine dask",
        )
    try:
        frame = pd.read_parquet(path, engine="pyarrow", dtype_backend="numpy_nullable")
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"Parquet file cannot be read: {_first_line(exc)}", file=path) from None
    if not isinstance(frame.index, pd.RangeIndex):  # a stored index is data (patient_id)
        frame = frame.reset_index()
    return frame


def _is_cell_type(kind: Any) -> bool:
    import pyarrow.types as t

    if t.is_dictionary(kind):
        return _is_cell_type(kind.value_type)
    return (
        t.is_null(kind)
        or t.is_boolean(kind)
        or t.is_integer(kind)
        or t.is_floating(kind)
        or t.is_decimal(kind)
        or t.is_string(kind)
        or t.is_large_string(kind)
        or getattr(t, "is_string_view", lambda _: False)(kind)
        or t.is_date(kind)
        or t.is_timestamp(kind)
    )


def _cells(column: pd.Series, path: Path, header: str) -> np.ndarray:
    """One column as Python cells (None for a null or NaN), as the xlsx reader gives them."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):  # the local date and time as written
        column = column.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(column):
        # datetime.datetime, as the xlsx reader gives (the cell parser's per-type grouping
        # does not recognise pandas.Timestamp cells: they would read as blank)
        values = np.array(column.dt.to_pydatetime(), dtype=object)
    else:
        values = column.astype(object).to_numpy()
    missing = column.isna().to_numpy()
    values = np.where(missing, None, values)
    filled = values[~missing]
    if len(filled) and isinstance(filled[0], decimal.Decimal):
        values[~missing] = [float(v) for v in filled]
    elif len(filled) and isinstance(filled[0], str):
        lengths = np.fromiter((len(v) for v in filled), dtype=np.int64, count=len(filled))
        if lengths.max() > MAX_CELL_TEXT:
            at = int(np.flatnonzero(~missing)[int(lengths.argmax())])
            raise InputError(
                "A cell holds more text than Excel allows: refused",
                file=path,
                row=at + 2,
                column=header,
                value=f"{int(lengths.max()):,} characters",
                expected=f"at most {MAX_CELL_TEXT:,} characters per cell (Excel's limit)",
            )
    return values


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
