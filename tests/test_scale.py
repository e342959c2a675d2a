"""The Dask engine on a memory-limited LocalCluster: sharded logs with known truth, lazy frames,
every count right and no worker restarted.

The small version of ``benchmarks/bench_scale.py``, with the same generator and the same check
against the truth. Data larger than the workers' memory is the benchmark's job (millions of
events on 1-2 GiB workers): at a size a test can afford, a worker's own imports already take
most of a small limit, and a worker over its pause threshold (80 %) before any data arrives
waits for memory that never frees, so the test gives its workers room.
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

# two worker processes with 1 GiB each: a worker takes 140-330 MiB once pandas, pyarrow, dask and
# whatever the parent process imported are loaded (330 MiB seen inside the whole test run, which
# paused 400 MiB workers for good); ~30-40 s on 2 shared cores
pytestmark = pytest.mark.slow

EVENTS, SHARDS, MEMORY = 150_000, 6, "1GiB"


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
