"""engine="dask" on a LocalCluster with two worker processes gives the pandas engine's frames."""

from __future__ import annotations

import pandas as pd
import pytest
from loadlogs import DATA, recording, write_log

from recording_toolkit import schema
from recording_toolkit.errors import LoadError
from recording_toolkit.load import load_callbacks

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

# two worker processes importing pandas, pyarrow and dask on 2 shared cores: ~1 minute in all
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def pandas_result():
    return load_callbacks(DATA / "callbacks")


def in_time_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("received_at", kind="stable").reset_index(drop=True)


def test_dask_frames_equal_the_pandas_frames_on_the_sample_data(client, pandas_result):
    result = load_callbacks(DATA / "callbacks", engine="dask", client=client)
    assert result.engine == "dask"
    assert isinstance(result.recordings, dd.DataFrame)
    assert result.recordings.npartitions == pandas_result.stats.files
    for name, spec in (("recordings", schema.RECORDINGS),
                       ("transcriptions", schema.TRANSCRIPTIONS)):
        frame = getattr(result, name)
        assert frame.dtypes.equals(schema.dtypes(spec))  # the lazy frame's meta
        computed = frame.compute()
        assert computed.dtypes.equals(schema.dtypes(spec))
        pd.testing.assert_frame_equal(in_time_order(computed), getattr(pandas_result, name))
    pd.testing.assert_frame_equal(result.quarantine, pandas_result.quarantine)
    assert result.stats == pandas_result.stats
    # an aggregation over the partitions gives the pandas number
    minutes = result.recordings.groupby("conference_name")["recording_duration"].sum().compute()
    expected = pandas_result.recordings.groupby("conference_name")["recording_duration"].sum()
    pd.testing.assert_series_equal(minutes.sort_index(), expected.sort_index())


def test_dask_over_an_fsspec_url_and_a_glob(client, pandas_result):
    url = (DATA / "callbacks").as_uri() + "/callbacks-2026-11-0*.jsonl"
    result = load_callbacks(url, engine="dask", client=client)
    local = load_callbacks(str(DATA / "callbacks" / "callbacks-2026-11-0*.jsonl"))
    assert result.stats == local.stats
    assert 0 < result.stats.files < pandas_result.stats.files
    pd.testing.assert_frame_equal(in_time_order(result.recordings.compute()), local.recordings)
    assert result.quarantine["file"].str.startswith("file://").all()


def test_dask_cross_shard_duplicates_are_dropped_like_pandas(client, tmp_path):
    write_log(tmp_path / "a.jsonl", recording("r1", at=20, conference="later"),
              recording("r2", at=1))
    write_log(tmp_path / "b.jsonl", recording("r1", at=10, conference="earlier"))
    result = load_callbacks(tmp_path, engine="dask", client=client)
    frame = in_time_order(result.recordings.compute())
    assert frame["conference_name"].tolist() == ["weekly", "earlier"]
    assert result.stats.recording_duplicates == 1
    pd.testing.assert_frame_equal(frame, load_callbacks(tmp_path).recordings)


def test_dask_strict_raises_with_file_and_line(client, tmp_path):
    log = write_log(tmp_path / "a.jsonl", recording("r1"), "oops\n")
    with pytest.raises(LoadError) as caught:
        load_callbacks(tmp_path, engine="dask", strict=True, client=client)
    assert (caught.value.file, caught.value.line) == (str(log), 2)


def test_dask_without_a_client_uses_the_local_scheduler(tmp_path):
    write_log(tmp_path / "a.jsonl", recording("r1"))
    result = load_callbacks(tmp_path, engine="dask")
    assert result.recordings.compute()["recording_id"].tolist() == ["r1"]


def test_dask_refuses_the_pandas_cache(tmp_path):
    with pytest.raises(ValueError, match="cache"):
        load_callbacks(tmp_path, engine="dask", cache=True)
