"""The Dask engine: partitions evaluate with the same code, their pattern counts add up to
the whole, and statuses and funnel are identical to pandas on the same data, on a real
``distributed.LocalCluster`` (two worker processes, more partitions than workers)."""

from __future__ import annotations

import importlib
import itertools
import json

import numpy as np
import pandas as pd
import pytest

import screenkit as sk
from screenkit.cli import main
from screenkit.datasets import make_sample, sample_path
from screenkit.engine_dask import (
    PartitionedEvaluation,
    evaluate_dask,
    partition_files,
    require_dask,
    sum_patterns,
)
from screenkit.errors import InputError, ScreenkitError
from screenkit.patterns import PatternCounts

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on 127.0.0.1; closed after the module."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
        distributed.Client(local) as client,
    ):
        yield local, client


@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    """800 synthetic patients as a canonical frame and as a 7-part Parquet dataset."""
    frame = make_sample(800, outcomes=False)
    folder = tmp_path_factory.mktemp("canonical") / "log.parquet"
    dd.from_pandas(frame, npartitions=7).to_parquet(folder)
    return frame, folder


def test_statuses_and_funnel_on_a_cluster_are_identical_to_pandas(cluster, canonical):
    frame, folder = canonical
    data = dd.read_parquet(folder)
    assert data.npartitions == 7 > len(cluster[0].workers)
    result = sk.evaluate(data, "NCT07103668")  # evaluate() hands a dask frame on
    assert isinstance(result, PartitionedEvaluation) and result.partitions == 7
    expected = sk.evaluate(frame, "NCT07103668")
    assert result.counts() == expected.counts()
    assert expected.counts()["eligible"] > 0 and expected.counts()["pending"] > 0
    assert result.summaries["patients"].sum() == len(frame)
    assert sk.funnel(result).to_dict() == sk.funnel(expected).to_dict()
    order, exclude = ["E7", "I7d", "I5b"], ["E26", "I3a"]
    assert sk.funnel(result, order, exclude).to_dict() == (
        sk.funnel(expected, order, exclude).to_dict()
    )
    assert result.funnel().by_site().equals(expected.funnel().by_site())
    assert result.funnel().by_month().equals(expected.funnel().by_month())
    assert dict(result.missing_columns) == dict(expected.missing_columns)


def test_changed_thresholds_and_switched_criteria_on_a_cluster(cluster, canonical):
    frame, folder = canonical
    data = dd.read_parquet(folder)
    relaxed = evaluate_dask(data, "NCT07103668", lesion_max_cm=7, hb_min=7.5)
    expected = sk.evaluate(frame, "NCT07103668", lesion_max_cm=7, hb_min=7.5)
    assert relaxed.counts() == expected.counts()
    assert relaxed.counts() != evaluate_dask(data, "NCT07103668").counts()
    assert relaxed.protocol.parameters["lesion_max_cm"].value == 7
    with_i4 = evaluate_dask(data, "CT041-ST-01", include=["I4"])
    assert with_i4.counts() == sk.evaluate(frame, "CT041-ST-01", include=["I4"]).counts()
    assert [c.id for c in with_i4.protocol.criteria_off] == ["I5"]


def test_partition_counts_add_up_to_the_whole():
    frame = make_sample(600, outcomes=False)
    whole = sk.evaluate(frame, "NCT07103668").patterns()
    cuts = [0, 1, 1, 250, 420, 600]  # an empty partition and a one-patient one too
    parts = [
        sk.evaluate(frame.iloc[a:b], "NCT07103668").patterns() for a, b in itertools.pairwise(cuts)
    ]
    total = sum_patterns(parts)
    assert total.screened == whole.screened == 600
    assert len(total.counts) == len(whole.counts) and len(total.core_fails) == len(whole.core_fails)
    key = ["site_id", "screening_month", "fails", "unknown"]
    a = total.to_frame().sort_values(key).reset_index(drop=True)
    b = whole.to_frame().sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert sk.funnel(total).to_dict() == sk.funnel(whole).to_dict()


def test_patterns_collapse_to_a_coarser_grouping(canonical):
    frame, _ = canonical
    result = evaluate_dask(dd.from_pandas(frame, npartitions=3), "NCT07103668")
    by_site = result.patterns(by=("site_id",))
    expected = sk.evaluate(frame, "NCT07103668").patterns(by=("site_id",))
    assert list(by_site.groups.columns) == ["site_id"]
    assert len(by_site.counts) == len(expected.counts) and by_site.screened == 800
    with pytest.raises(ScreenkitError, match="grouped by"):
        result.patterns(by=("country",))


def test_adding_counts_of_different_protocols_is_refused():
    fails = np.array([[True, False]])
    keys = pd.DataFrame({"site_id": ["A"]})
    a = PatternCounts.from_matrices(fails, fails, keys, criteria=["C1", "C2"])
    b = PatternCounts.from_matrices(fails, fails, keys, criteria=["C1", "C3"])
    with pytest.raises(ScreenkitError, match="different criteria"):
        sum_patterns([a, b])
    with pytest.raises(ScreenkitError, match="No pattern counts"):
        sum_patterns([])


def test_a_missing_extra_is_named(monkeypatch):
    real = importlib.import_module

    def without_distributed(name, *args):
        if name.split(".")[0] == "distributed":
            raise ImportError("No module named 'distributed'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_distributed)
    assert require_dask().dataframe is dd  # dask alone is enough for the local threads
    with pytest.raises(ScreenkitError, match=r'pip install "screenkit\[dask\]"') as info:
        require_dask(distributed=True)
    assert "No module named 'distributed'" in str(info.value)


def _parquet_parts(folder, parts: int = 5):
    """The bundled sample's sheet as ``parts`` Parquet files in ``folder``."""
    folder.mkdir()
    whole = pd.read_excel(sample_path("clean"), engine="calamine")
    size = -(-len(whole) // parts)
    for i in range(parts):
        whole.iloc[i * size : (i + 1) * size].to_parquet(folder / f"part-{i}.parquet")
    (folder / "_SUCCESS").write_text("")
    return folder


def test_report_engine_dask_on_a_cluster_equals_the_pandas_report(cluster, tmp_path, capsys):
    folder = _parquet_parts(tmp_path / "log.parquet")
    assert [p.name for p in partition_files(folder)] == [f"part-{i}.parquet" for i in range(5)]
    a, b = tmp_path / "dask.json", tmp_path / "pandas.json"
    common = ["--exclude", "E26", "--param", "lesion_max_cm=7", "--order", "E7,I5b"]
    address = cluster[0].scheduler_address
    assert main(["report", str(folder), "--engine", "dask", "--scheduler", address,
                 "--json", str(a), *common]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Engine: dask, 5 partition(s) on tcp://127.0.0.1:" in out
    assert main(["report", str(folder), "--json", str(b), *common]) == 0  # one table
    capsys.readouterr()
    on_dask, on_pandas = json.loads(a.read_text()), json.loads(b.read_text())
    assert (on_dask.pop("engine"), on_dask.pop("partitions")) == ("dask", 5)
    on_pandas.pop("concordance")  # needs the rows (recorded beside computed statuses)
    assert on_dask == on_pandas
    assert on_dask["screened"] == 400 and on_dask["funnel"][0]["id"] == "E7"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-o", "x.xlsx"], "-o needs the patient rows"),
        (["--ie", "ie.csv"], "--ie needs the patient rows"),
        (["--patients"], "--patients needs the patient rows"),
        (["--reasons", "Reason"], "--reasons needs the patient rows"),
    ],
)
def test_report_engine_dask_refuses_row_outputs(tmp_path, capsys, extra, message):
    args = ["report", str(sample_path("clean")), "--engine", "dask", *extra]
    assert main([*args[:1], *[a if a != "x.xlsx" else str(tmp_path / a) for a in args[1:]]]) == 2
    err = capsys.readouterr().err
    assert message in err and "--engine pandas" in err and "Traceback" not in err


def test_scheduler_without_dask_and_an_empty_folder_are_refused(tmp_path, capsys):
    clean = str(sample_path("clean"))
    assert main(["report", clean, "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "--scheduler needs --engine dask" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--engine", "dask"]) == 2
    assert "Folder holds no screening-log files" in capsys.readouterr().err
    with pytest.raises(InputError, match="no screening-log files"):
        partition_files(tmp_path / "empty")
