"""The column-wise reader (issue 14) reads what the row-by-row reader read: every file of
the hostile corpus, the bundled samples and generated CSVs (ragged rows, quoted line
breaks, BOM, ``;`` and tab separators, Latin-1, blank and whitespace-only lines, title and
units rows, over-long fields) give the same headers, cells, row numbers, skipped rows and
errors as the frozen copy of the old reader in ``tests/oracle/legacy_load.py``."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenkit import load
from screenkit.errors import InputError
from screenkit.normalize import _header_score, _is_header
from screenkit.textfile import read_text_grid
from tests.oracle import legacy_load

_SPEC = importlib.util.spec_from_file_location(
    "make_corpus", Path(__file__).parent / "data" / "bad" / "make_corpus.py"
)
corpus = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(corpus)
SAMPLES = sorted((Path(__file__).parents[1] / "src" / "screenkit" / "_sample_data").glob("*.*"))


def _outcome(module, path: Path, judged: bool):
    """Everything ``read_table`` gives (or the error it raises), comparable with ``==``."""
    kwargs = {"is_header": _is_header, "header_score": _header_score} if judged else {}
    try:
        raw = module.read_table(path, **kwargs)
    except InputError as exc:
        # the reader gained Parquet after the frozen copy: the list of accepted types grew
        return ("error", str(exc).replace(", .parquet (", " ("))
    frame = raw.frame
    return (
        raw.headers,
        raw.header_row,
        frame.index.tolist(),
        frame.index.dtype,
        [frame[c].tolist() for c in frame.columns],
        [str(t) for t in frame.dtypes],
        [type(v).__name__ for c in frame.columns for v in frame[c]],
        raw.skipped_rows.to_dict("records"),
        raw.rows_read,
        raw.sheet,
        raw.sheets,
        raw.encoding,
        raw.encoding_detected,
        raw.sheet_choice,
    )


def _same(path: Path) -> None:
    for judged in (False, True):
        old = _outcome(legacy_load, path, judged)
        new = _outcome(load, path, judged)
        assert new == old, f"{path.name} (judged={judged})"


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory):
    return corpus.make_corpus(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name", sorted(corpus.EXPECT))
def test_corpus_reads_as_before(bad_dir, name):
    _same(bad_dir / name)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_read_as_before(path):
    if path.suffix.lower() in (".csv", ".xlsx", ".txt", ".tsv"):
        _same(path)


CASES = {
    "plain.csv": b"patient_id,hb,alt\nP1,9.1,30\nP2,,\n",
    "ragged_wide.csv": b"patient_id,hb\nP1,9.1\nP2,8,extra,more\n",
    "ragged_short.csv": b"patient_id,hb,alt\nP1\nP2,8\n",
    "title_row.csv": b"Screening log\n\npatient_id,hb,alt\nP1,9.1,30\n",
    "quoted_newline.csv": b'patient_id,notes,hb\nP1,"two\nlines",9\nP2,x,8\n',
    "quoted_cr.csv": b'patient_id,notes,hb\r\nP1,"a\r\nb",9\r\nP2,x,8\r\n',
    "bom.csv": b"\xef\xbb\xbfpatient_id,hb\nP1,9\n",
    "semicolon.csv": b"patient_id;hb;alt\nP1;9,1;30\nP2;8,2;\n",
    "sep_line.csv": b"sep=;\npatient_id;hb\nP1;9,1\n",
    "tab.tsv": b"patient_id\thb\nP1\t9\n",
    "latin1.csv": "patient_id,site\nP1,Zürich\nP2,Genève\n".encode("latin-1"),
    "utf16.csv": "patient_id,hb\nP1,9\n".encode("utf-16"),
    "utf8_accents.csv": "patient_id,site\nP1,Zürich\nP2,北京\n".encode(),
    "bom_sep.csv": "\ufeffsep=;\npatient_id;site\nP1;Genève\n".encode(),
    "sep_line_accents.csv": "sep=;\npatient_id;site\nP1;Genève\n".encode(),
    "gb18030.csv": "患者编号,血红蛋白\nP1,9\n".encode("gb18030"),
    "whitespace.csv": b"patient_id,hb\n  ,  \nP1, \n \t \nP2,9\n\n\n",
    "cr_only.csv": b"patient_id,hb\rP1,9\rP2,8\r",
    "blank_lines_first.csv": b"\n\n,,\npatient_id,hb\nP1,9\n",
    "header_one_cell.csv": b"patient_id,,\nP1,9,\n",
    "units_row.csv": b"patient_id,hb,alt\n,g/dL,U/L\nP1,9.1,30\n",
    "quotes_odd.csv": b'patient_id,hb\nP1,x"q"\nP2,"q"x\n"P3",""\n',
    "single_quote.csv": b"patient_id,notes\nP1,'a,b'\nP2,'c'\n",
    "unclosed_quote.csv": b'patient_id,hb\nP1,"9\nP2,8\n',
    "empty.csv": b"",
    "only_blank.csv": b"\n \n,,\n",
    "header_only.csv": b"patient_id,hb\n",
    "huge_field.csv": b"patient_id,notes\nP1," + b"x" * (csv.field_size_limit() + 5) + b"\n",
    "total_row.csv": b"patient_id,hb\nP1,9\nTotal,9\n",
    "wide_title.csv": b"a,b,c,d,e,f,g\npatient_id,hb\nP1,9\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_csv_reads_as_before(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(CASES[name])
    _same(path)


def test_fast_path_taken_only_where_it_reads_the_same(tmp_path):
    """The C tokenizer reads plain files; quoted line breaks, rows wider than the head
    and over-long fields go through the csv module (which the tests above compare)."""
    expect_fast = {"plain.csv": True, "semicolon.csv": True, "title_row.csv": True}
    expect_fast |= {"quoted_newline.csv": False, "ragged_wide.csv": True}
    for name, fast in expect_fast.items():
        path = tmp_path / name
        path.write_bytes(CASES[name])
        assert read_text_grid(path).fast is fast, name
    huge = tmp_path / "huge_field.csv"  # the C tokenizer reads it; the csv module refuses
    huge.write_bytes(CASES["huge_field.csv"])
    with pytest.raises(InputError, match="field larger than field limit"):
        read_text_grid(huge)
    wide = tmp_path / "late_wide.csv"
    rows = ["patient_id,hb"] + [f"P{i},{i}" for i in range(1500)] + ["P9999,1,2,3"]
    wide.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert read_text_grid(wide).fast is False
    _same(wide)


TEXT = st.text(
    alphabet=st.sampled_from([*"ab1., ;\t\"'\r\n", "\u00e9", "\u3000", "#"]),
    max_size=60,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=TEXT, header=st.sampled_from(["patient_id,hb\n", "ID;Hb\n", "", "title\n"]))
def test_arbitrary_text_reads_as_before(tmp_path, body, header):
    path = tmp_path / "fuzz.csv"
    path.write_text(header + body, encoding="utf-8")
    _same(path)


def test_frame_holds_python_objects_not_numpy(tmp_path):
    """Cells stay as written (text), blanks are None, the index is the line number."""
    path = tmp_path / "log.csv"
    path.write_bytes(b"patient_id,hb\n007,ND\n008, \n")
    raw = load.read_table(path)
    assert raw.frame.values.tolist() == [["007", "ND"], ["008", None]]
    assert raw.frame.index.tolist() == [2, 3]
    assert isinstance(raw.frame, pd.DataFrame) and raw.frame[1].dtype == object


def test_workbook_extent_is_the_largest_reference(tmp_path):
    """The dimension guard takes the highest row and column of the cells present, also
    with row numbers written with leading zeros and columns of different lengths."""
    import zipfile

    from screenkit.guards import _extent

    cells = '<c r="B0009"/><c r="Z3"/><c r="AA2"/><c r="C10"/><c r="A0000011"/>'
    path = tmp_path / "sheet.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", f"<sheetData>{cells}</sheetData>")
    with zipfile.ZipFile(path) as archive:
        assert _extent(archive, "xl/worksheets/sheet1.xml") == (11, 27)


def test_text_columns_hash_as_distinct_cells(tmp_path):
    """The C tokenizer's columns (text only) are hashed as distinct_cells would."""
    import numpy as np

    from screenkit.values import distinct_cells

    path = tmp_path / "log.csv"
    path.write_bytes(b"patient_id,hb,notes\nP1,9,\nP2,9, \nP3,,x\n")
    text = read_text_grid(path)
    assert text.fast
    for j, (codes, uniques) in enumerate(text.distinct):
        want_codes, want = distinct_cells(text.grid[j].to_numpy(dtype=object))
        assert np.array_equal(codes, want_codes) and uniques == want


def test_each_file_goes_to_the_first_reader_that_reads_it_as_csv_does(tmp_path):
    """pyarrow reads files whose records all have the head's width, one per line; pandas'
    C tokenizer pads narrower records; the csv module takes quoted line breaks."""
    expect = {
        "plain.csv": "pyarrow",
        "semicolon.csv": "pyarrow",
        "latin1.csv": "pyarrow",  # re-encoded as UTF-8 for pyarrow
        "bom_sep.csv": "pyarrow",
        "cr_only.csv": "pyarrow",
        "quotes_odd.csv": "pyarrow",
        "ragged_wide.csv": "pandas",  # rows of 2 and 4 fields: pyarrow refuses
        "title_row.csv": "pandas",  # a blank line is one empty field to pyarrow
        "quoted_newline.csv": "csv",
    }
    for name, reader in expect.items():
        path = tmp_path / name
        path.write_bytes(CASES[name])
        assert read_text_grid(path).reader == reader, name
        _same(path)
    # a delimiter inside quotes: two fields, as the csv module reads them
    quoted = tmp_path / "quoted_delimiter.csv"
    quoted.write_bytes(b'patient_id,"hb, g/dL"\nP1,"9,1"\n')
    text = read_text_grid(quoted)
    assert text.reader == "pyarrow" and text.grid.values.tolist() == [
        ["patient_id", "hb, g/dL"],
        ["P1", "9,1"],
    ]
    _same(quoted)


CELL = st.text(alphabet=st.sampled_from([*"ab1 ';", "\u00e9", '"']), max_size=6).filter(
    lambda c: not c.startswith('"')
)
QUOTED_CELL = st.text(alphabet=st.sampled_from([*'ab1,;" ']), max_size=6).map(
    lambda c: '"' + c.replace('"', '""') + '"'
)
BROKEN_CELL = st.sampled_from(['"a\nb"', '"a\r\nb"', '"open', '"a"b'])


@st.composite
def quoted_files(draw) -> str:
    """Records of one width, cells raw (stray quotes, delimiters left as they are) or
    quoted (line breaks, delimiters, doubled quotes inside), so the pyarrow reader is
    taken often and refused where it would read otherwise."""
    width = draw(st.integers(1, 4))
    delimiter = draw(st.sampled_from([",", ";"]))
    rows = draw(
        st.lists(
            st.lists(
                st.one_of(CELL, QUOTED_CELL),
                min_size=width,
                max_size=width,
            ),
            min_size=1,
            max_size=6,
        )
    )
    if draw(st.integers(0, 3)) == 0:  # one file in four: a cell pyarrow must not take
        at = draw(st.integers(0, len(rows) - 1))
        rows[at][draw(st.integers(0, width - 1))] = draw(BROKEN_CELL)
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return end.join(delimiter.join(r) for r in rows) + draw(st.sampled_from(["", end]))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=quoted_files())
def test_pyarrow_grid_is_what_the_csv_module_reads(tmp_path, content):
    """Wherever the pyarrow reader is taken, its grid is the csv module's records (padded
    with ``""``) and its distinct cells are distinct_cells' of each column."""
    import io

    import numpy as np

    from screenkit.columnparse import distinct_cells

    path = tmp_path / "quoted.csv"
    path.write_bytes(content.encode("utf-8"))
    try:
        text = read_text_grid(path)
    except InputError:
        return
    READERS[text.reader] = READERS.get(text.reader, 0) + 1
    if text.reader != "pyarrow":
        return
    width = text.grid.shape[1]
    records = csv.reader(io.StringIO(content, newline=""), text._dialect)
    assert text.grid.values.tolist() == [r + [""] * (width - len(r)) for r in records]
    for j, (codes, uniques) in enumerate(text.distinct):
        want_codes, want = distinct_cells(text.grid[j].to_numpy(dtype=object))
        assert np.array_equal(codes, want_codes) and uniques == want


READERS: dict[str, int] = {}


def test_pyarrow_reader_was_exercised():
    """Runs after the test above: the pyarrow reader was taken for many of its files."""
    if not READERS:
        pytest.skip("run together with test_pyarrow_grid_is_what_the_csv_module_reads")
    assert READERS.get("pyarrow", 0) >= 30, READERS


def _messy_id_log(path: Path, rows: int) -> None:
    """A log whose ID column is all different in the head (so it is read unhashed), with
    IDs written with spaces, a repeated header block, a total row, blank lines' worth of
    empty IDs in a kept row, and lab cells the parser notes."""
    lines = ["patient_id,hb,hiv_pos,notes"]
    for i in range(rows):
        pid = f" P{i:05d} " if i % 7 == 0 else f"P{i:05d}"
        hb = ["9.1", "ND", "<5", "", "12", "abc"][i % 6]
        lines.append(f"{pid},{hb},{['True', 'False', ''][i % 3]},{'x' if i % 5 else ''}")
    lines += ["patient_id,hb,hiv_pos,notes", "P99998,8,True,", "Total,,,", " P00003,7,False,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_unhashed_id_column_reads_and_loads_as_a_hashed_one(tmp_path, monkeypatch):
    """A CSV whose IDs go unhashed (all different over UNIQUE_ROWS sample records) reads
    as the frozen row-by-row reader read it, and loads exactly as with every column
    hashed (the duplicate written with spaces included)."""
    from screenkit import arrowgrid
    from screenkit.normalize import load_screening

    path = tmp_path / "log.csv"
    rows, unique_rows = arrowgrid.UNIQUE_ROWS * 3, arrowgrid.UNIQUE_ROWS
    _messy_id_log(path, rows)
    repeated_header = rows + 1  # its code: its own line (unhashed), the header's (hashed)
    assert read_text_grid(path).distinct[0][0][repeated_header] == repeated_header
    _same(path)

    def loaded():
        try:
            sd = load_screening(path)
        except InputError as exc:
            return str(exc)
        return sd.data, sd.report.cells, sd.report.skipped_rows

    unhashed = loaded()
    monkeypatch.setattr(arrowgrid, "UNIQUE_ROWS", 10**9)  # every column hashed
    assert read_text_grid(path).distinct[0][0][repeated_header] == 0
    hashed = loaded()
    assert isinstance(unhashed, str) and unhashed == hashed
    assert "Duplicate patient ID 'P00003'" in unhashed
    # without the duplicate, the frames and reports are equal
    text = path.read_text(encoding="utf-8").replace(" P00003,7,False,\n", "")
    path.write_text(text, encoding="utf-8")
    hashed = loaded()
    monkeypatch.setattr(arrowgrid, "UNIQUE_ROWS", unique_rows)
    assert read_text_grid(path).distinct[0][0][repeated_header] == repeated_header
    unhashed = loaded()
    assert not isinstance(unhashed, str)
    for got, want in zip(unhashed, hashed, strict=True):
        pd.testing.assert_frame_equal(got, want)
    assert len(unhashed[2]) == 2  # the repeated header and the total row, skipped


def _grid_outcome(path: Path):
    """What read_text_grid gives, comparable with ``==`` (or the error it raises)."""
    try:
        text = read_text_grid(path)
    except InputError as exc:
        return ("error", str(exc))
    records = [text.record(i) for i in range(min(len(text.numbers), 8))]
    return (
        text.grid.values.tolist(),
        text.numbers.tolist(),
        text.encoding,
        text.detected,
        text.fast,
        text.reader,
        records,
        [(codes.tolist(), uniques) for codes, uniques in text.distinct or []],
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=quoted_files(), sep_line=st.booleans())
def test_an_ascii_file_reads_as_when_decoded_whole(tmp_path, monkeypatch, content, sep_line):
    """The ASCII route (pyarrow on the bytes, only the head decoded) gives what decoding
    the whole file gave: grid, line numbers, encoding, reader, the header judges' records."""
    from screenkit import textfile

    path = tmp_path / "ascii.csv"
    prefix = ("sep=" + ("," if content.count(",") >= content.count(";") else ";") + "\n") * sep_line
    path.write_bytes((prefix + content).encode("utf-8"))
    via_ascii = _grid_outcome(path)
    with monkeypatch.context() as m:
        m.setattr(textfile, "_ascii_grid", lambda data, path: None)
        whole = _grid_outcome(path)
    assert via_ascii == whole


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_csv_reads_as_when_decoded_whole(tmp_path, monkeypatch, name):
    from screenkit import textfile

    path = tmp_path / name
    path.write_bytes(CASES[name])
    taken = {"plain.csv", "semicolon.csv", "sep_line.csv", "cr_only.csv", "quotes_odd.csv"}
    refused = {"latin1.csv", "utf16.csv", "bom.csv", "huge_field.csv", "quoted_newline.csv"}
    if name in taken | refused:  # ASCII read by pyarrow; anything else: the full route
        assert (textfile._ascii_grid(CASES[name], path) is not None) == (name in taken)
    via_ascii = _grid_outcome(path)
    monkeypatch.setattr(textfile, "_ascii_grid", lambda data, path: None)
    assert via_ascii == _grid_outcome(path)
