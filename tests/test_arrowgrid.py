"""pyarrow's flag-column route (True / False / blank read as booleans) against reading
every cell as text, and both against the csv module and distinct_cells."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenkit import arrowgrid
from screenkit.columnparse import distinct_cells

FLAGS = ["True", "False", "", '"True"', '""', '"False"']
OTHER = ["true", " True", "False ", "1", "0", "x", "TRUE", "nan", "007"]


def _csv_module(data: bytes) -> list[tuple[np.ndarray, list]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    return [distinct_cells(np.array(column, dtype=object)) for column in zip(*rows, strict=True)]


def _same(got, want) -> None:
    assert len(got) == len(want)
    for (codes, uniques), (want_codes, want_uniques) in zip(got, want, strict=True):
        assert uniques == want_uniques
        assert np.array_equal(codes, want_codes)


@pytest.fixture
def small_sample(monkeypatch):
    """A sample of a few lines, so that other cells may come after it."""
    monkeypatch.setattr(arrowgrid, "SAMPLE", 48)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(st.sampled_from(["id", "hiv", "True", "False", "x y"]), min_size=2, max_size=4),
    data=st.data(),
)
def test_flag_columns_read_as_their_text(small_sample, monkeypatch, header, data):
    width = len(header)
    n = data.draw(st.integers(1, 25))
    cells = st.one_of(st.sampled_from(FLAGS), st.sampled_from(FLAGS), st.sampled_from(OTHER))
    rows = [[data.draw(cells) for _ in range(width)] for _ in range(n)]
    text = ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    raw = text.encode("utf-8")
    got = arrowgrid.arrow_grid(raw, csv.excel, width)
    want = _csv_module(raw)
    _same(got, want)
    monkeypatch.setattr(arrowgrid, "_flag_columns", lambda *args: set())
    _same(arrowgrid.arrow_grid(raw, csv.excel, width), want)


def test_a_flag_column_with_other_cells_below_the_sample_is_read_as_text(small_sample):
    lines = ["id,hiv", *[f"P{i},{'True' if i % 2 else 'False'}" for i in range(20)], "P20,maybe"]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    assert arrowgrid._flag_columns(arrowgrid._sample(raw, csv.excel, 2)) == {1}
    got = arrowgrid.arrow_grid(raw, csv.excel, 2)
    _same(got, _csv_module(raw))
    assert got[1][1] == ["hiv", "False", "True", "maybe"]


def test_flag_columns_are_found_in_the_sample():
    raw = b"id,hiv,note\nP1,True,\nP2,,x\nP3,False,\n"
    assert arrowgrid._flag_columns(arrowgrid._sample(raw, csv.excel, 3)) == {1}
    _same(arrowgrid.arrow_grid(raw, csv.excel, 3), _csv_module(raw))


@settings(max_examples=100, deadline=None)
@given(
    cells=st.lists(st.sampled_from([True, False, None]), max_size=40),
    start=st.integers(0, 12),
)
def test_bits_of_a_sliced_boolean_array_are_its_values(cells, start):
    import pyarrow as pa

    array = pa.array(cells, type=pa.bool_()).slice(start)  # an offset into the bit buffers
    values, known = arrowgrid._bits(array)
    want = array.to_pylist()
    assert (known is None) == (None not in want)
    known = np.ones(len(want), bool) if known is None else known
    assert [v if k else None for v, k in zip(values.tolist(), known.tolist(), strict=True)] == want


def _cells(got) -> list[list]:
    """Each column's cells rebuilt from its codes."""
    return [[uniques[c] for c in codes.tolist()] for codes, uniques in got]


@pytest.mark.parametrize("flag", ["True", "maybe"])
def test_a_column_all_different_in_the_sample_is_not_hashed(monkeypatch, flag):
    """IDs all different over UNIQUE_ROWS sample records keep codes 0..n-1 into the cells
    as read (a repeat further down listed again); the other columns are hashed, and every
    column's cells are the csv module's (the flag route and the text route alike)."""
    n = arrowgrid.UNIQUE_ROWS + 40
    lines = ["id,hiv,site", *[f"P{i},{'True' if i % 3 else ''},S{i % 4}" for i in range(n)]]
    lines += ["P7,False,S1", f"P{n},{flag},S2"]  # an ID repeated below the sample
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    size = len("\n".join(lines[: arrowgrid.UNIQUE_ROWS + 5])) + 1
    # the sample holds UNIQUE_ROWS records and more, not the repeat
    monkeypatch.setattr(arrowgrid, "SAMPLE", size)
    assert arrowgrid._unique_columns(arrowgrid._sample(raw, csv.excel, 3), {1}) == {0}
    got = arrowgrid.arrow_grid(raw, csv.excel, 3)
    want = _csv_module(raw)
    assert _cells(got) == _cells(want)
    assert got[0][0].tolist() == list(range(n + 3)) and got[0][1].count("P7") == 2
    assert got[2][1] == want[2][1] == ["site", "S0", "S1", "S2", "S3"]  # hashed


def test_a_short_sample_hashes_every_column():
    """Fewer than UNIQUE_ROWS records: every column's distinct cells, as before."""
    raw = ("id,hb\n" + "".join(f"P{i},{i}\n" for i in range(20))).encode("utf-8")
    assert arrowgrid._unique_columns(arrowgrid._sample(raw, csv.excel, 2), set()) == set()
    _same(arrowgrid.arrow_grid(raw, csv.excel, 2), _csv_module(raw))


def test_an_id_repeated_below_the_sample_is_still_refused(tmp_path, monkeypatch):
    """The unhashed ID column lists a repeated ID twice; the loader still finds it."""
    from screenkit import load_screening
    from screenkit.errors import InputError

    n = arrowgrid.UNIQUE_ROWS + 10
    lines = ["patient_id,hb", *[f"P{i},9.{i % 10}" for i in range(n)], "P3,8.0"]
    monkeypatch.setattr(arrowgrid, "SAMPLE", len("\n".join(lines[:-1])))
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"Duplicate patient ID 'P3' on rows 5 and {n + 2}"):
        load_screening(path)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_columns_hashed_in_threads_are_the_serial_ones(monkeypatch, threads):
    """Text columns hashed in a pool of threads give each column its own codes and
    cells, in column order, as one thread does (flag and unique columns among them)."""
    n = arrowgrid.UNIQUE_ROWS + 30
    lines = ["id,hiv,site,hb,note"]
    lines += [f"P{i},{'True' if i % 3 else ''},S{i % 4},{i % 7}.5,n{i % 11}" for i in range(n)]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    monkeypatch.setattr(arrowgrid, "THREADS", threads)
    got = arrowgrid.arrow_grid(raw, csv.excel, 5)
    assert _cells(got) == _cells(_csv_module(raw))
    monkeypatch.setattr(arrowgrid, "_flag_columns", lambda *args: set())  # all as text
    assert _cells(arrowgrid.arrow_grid(raw, csv.excel, 5)) == _cells(_csv_module(raw))


@pytest.mark.parametrize("threads", [1, 2])
def test_ids_differing_only_by_spaces_below_the_sample_are_refused(tmp_path, monkeypatch, threads):
    """The unhashed ID column is judged stripped: ' P3 ' below the sample repeats P3."""
    from screenkit import load_screening
    from screenkit.errors import InputError

    n = arrowgrid.UNIQUE_ROWS + 10
    lines = ["patient_id,hb,site", *[f"P{i},9.{i % 10},S{i % 3}" for i in range(n)]]
    lines.append(" P3 ,8.0,S1")
    monkeypatch.setattr(arrowgrid, "SAMPLE", len("\n".join(lines[:-1])))
    monkeypatch.setattr(arrowgrid, "THREADS", threads)
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"Duplicate patient ID 'P3' on rows 5 and {n + 2}"):
        load_screening(path)
