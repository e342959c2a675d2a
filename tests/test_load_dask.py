"""engine="dask" on a LocalCluster with two worker processes gives the pandas engine's frames,
statistics, summary and join, with the files deduplicated across shards by a shuffle."""

from __future__ import annotations

import pandas as pd
import pytest
from loadlogs import DATA, recording, transcription, write_log

from recording_toolkit import schema
from recording_toolkit.errors import LoadError, SourceNotFoundError
from recording_toolkit.load import join_recordings, load_callbacks
from recording_toolkit.report import summarize

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
    assert isinstance(result.quarantine, dd.DataFrame)
    pd.testing.assert_frame_equal(result.quarantine.compute().reset_index(drop=True),
                                  pandas_result.quarantine)
    assert result.stats == pandas_result.stats
    for frame in (result.recordings, result.transcriptions):
        # each recording in one partition, each partition in time order
        parts = [frame.get_partition(i).compute() for i in range(frame.npartitions)]
        ids = pd.concat([p["recording_id"] for p in parts])
        assert not ids.duplicated().any()
        assert all(p["received_at"].is_monotonic_increasing for p in parts)
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
    assert result.quarantine.compute()["file"].str.startswith("file://").all()


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


def test_dask_cross_shard_rules_match_pandas(client, tmp_path):
    # a success in a later file beats an earlier error; equal times keep the first file's copy
    write_log(tmp_path / "a.jsonl", transcription("t1", at=5, error="too short"),
              recording("r1", at=7, conference="first"))
    write_log(tmp_path / "b.jsonl", transcription("t1", at=9),
              recording("r1", at=7, conference="second"))
    result = load_callbacks(tmp_path, engine="dask", client=client)
    expected = load_callbacks(tmp_path)
    assert result.stats == expected.stats
    assert result.recordings.compute()["conference_name"].tolist() == ["first"]
    assert result.transcriptions.compute()["error"].isna().tolist() == [True]
    pd.testing.assert_frame_equal(in_time_order(result.transcriptions.compute()),
                                  expected.transcriptions)


def test_dask_strict_raises_the_first_bad_file_in_order(client, tmp_path):
    first = write_log(tmp_path / "a.jsonl", recording("r1"), "bad one\n")
    write_log(tmp_path / "b.jsonl", "bad two\n")
    with pytest.raises(LoadError) as caught:
        load_callbacks([first, tmp_path / "b.jsonl"], engine="dask", strict=True,
                       client=client)
    assert (caught.value.file, caught.value.line) == (str(first), 2)


def test_dask_lazy_frames_read_the_files_again_persisted_ones_do_not(client, tmp_path):
    lazy_log = write_log(tmp_path / "lazy" / "a.jsonl", recording("r1"), recording("r2", at=3))
    kept_log = write_log(tmp_path / "kept" / "a.jsonl", recording("r3"), recording("r4", at=3))
    lazy = load_callbacks(lazy_log.parent, engine="dask", client=client, persist=False)
    kept = load_callbacks(kept_log.parent, engine="dask", client=client, persist=True)
    lazy_log.unlink()
    kept_log.unlink()
    assert kept.recordings.compute()["recording_id"].tolist() == ["r3", "r4"]
    with pytest.raises(LoadError, match="no such file"):
        lazy.recordings.compute()


def test_dask_a_missing_file_is_named(client, tmp_path):
    write_log(tmp_path / "a.jsonl", recording("r1"))
    with pytest.raises(SourceNotFoundError, match="gone.jsonl"):
        load_callbacks([tmp_path / "a.jsonl", tmp_path / "gone.jsonl"], engine="dask",
                       client=client)


def test_persist_is_for_the_dask_engine_only(tmp_path):
    write_log(tmp_path / "a.jsonl", recording("r1"))
    with pytest.raises(ValueError, match="persist"):
        load_callbacks(tmp_path, persist=True)


def test_dask_summary_and_join_equal_pandas(client, pandas_result):
    result = load_callbacks(DATA / "callbacks", engine="dask", client=client)
    on_dask = summarize(result, now="2026-12-01")
    on_pandas = summarize(pandas_result, now="2026-12-01")
    assert on_dask.engine == "dask"
    # small enough for exact quantiles: every figure is the pandas one
    assert on_dask.to_dict() == on_pandas.to_dict()
    joined = join_recordings(result.recordings, result.transcriptions)
    assert isinstance(joined, dd.DataFrame)  # still lazy
    expected = join_recordings(pandas_result.recordings, pandas_result.transcriptions)
    got = joined.compute()
    assert got.dtypes.equals(expected.dtypes)
    pd.testing.assert_frame_equal(
        got.sort_values(["received_at", "recording_id"]).reset_index(drop=True),
        expected.sort_values(["received_at", "recording_id"]).reset_index(drop=True))
