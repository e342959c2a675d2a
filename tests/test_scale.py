"""The Dask engine with small workers: sharded logs with known truth, lazy frames, a worker
that pauses and spills, and still every count right and no worker restarted.

The small version of ``benchmarks/bench_scale.py`` (which runs millions of events): the same
generator and the same check against the truth.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_scale  # noqa: E402

distributed = pytest.importorskip("distributed")

# two worker processes with 400 MiB each (one alone takes ~140 MiB once pandas, pyarrow and
# dask are imported, and pauses at 80 %): ~30-40 s on 2 shared cores
pytestmark = pytest.mark.slow

EVENTS, SHARDS, MEMORY = 150_000, 6, "400MiB"


class Removed(distributed.diagnostics.plugin.SchedulerPlugin):
    """Counts workers leaving the scheduler: a restart after running out of memory is one."""

    def __init__(self) -> None:
        self.count = 0

    def remove_worker(self, scheduler: Any = None, worker: Any = None, **kwargs: Any) -> None:
        self.count += 1


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    truth = bench_scale.generate(folder, EVENTS, SHARDS)
    yield folder, truth
    for path in folder.iterdir():
        path.unlink()


def test_small_workers_load_and_summarize_every_count_right(logs, tmp_path):
    from recording_toolkit.analytics import quantiles
    from recording_toolkit.load import load_callbacks
    from recording_toolkit.report import summarize

    folder, truth = logs
    assert truth.recording_duplicates > 0 and truth.transcription_duplicates > 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=MEMORY,
                                  processes=True, host="127.0.0.1", dashboard_address=None,
                                  local_directory=str(tmp_path)) as cluster, \
            distributed.Client(cluster) as client:
        removed = Removed()
        cluster.scheduler.add_plugin(removed)
        pids = set(client.run(os.getpid).values())
        result = load_callbacks(folder, engine="dask", client=client, persist=False)
        summary = summarize(result)
        wrong = bench_scale.check(truth, result.stats, summary,
                                  relative_error=quantiles.RELATIVE_ERROR)
        assert wrong == []
        assert removed.count == 0
        assert set(client.run(os.getpid).values()) == pids  # the same two worker processes
        assert result.recordings.npartitions == SHARDS
