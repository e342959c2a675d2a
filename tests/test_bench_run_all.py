"""benchmarks/run_all.py reads each benchmark's printed tables into the summary without losing,
inventing or misjudging a figure (the outputs here have the benchmarks' exact shapes)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import run_all  # noqa: E402

CLIENT = """# Bulk start: 5000 start-recording POSTs per round
| library | concurrency | bare AsyncClient req/s | AsyncRecordingClient req/s | ratio | RecordingClient (threads) req/s | ratio |
|---|---|---|---|---|---|---|
| httpx 0.29.0 | 10 | 1,000 | 790 | **0.79x** | 1,500 | 1.50x |
| httpx2 2.16.2 | 50 | 1,300 | 1,200 | **0.92x** | 2,000 | 1.54x |
"""  # noqa: E501
RECEIVER = """| server | requests/round | req/s | p50 ms | p99 ms | non-200 |
|---|---|---|---|---|---|
| no-op | 8000 | 6,000 | 5.0 | 9.0 | 0 |
| receiver | 8000 | 2,700 | 9.0 | 30.0 | 0 |
"""
SANDBOX = """| sender | c=16 | c=64 |
|---|---|---|
| bare | 500 (1.00x) | 400 (1.00x) |
| bare + signing | 450 (0.90x) | 380 (0.95x) |
| dispatcher | 250 (0.50x) | 300 (0.75x) |
"""
LOAD = """| path | wall s | vs pyarrow | peak RSS MB | above imports MB | peak / file size |
|---|---|---|---|---|---|
| `pyarrow.json.read_json`, table only (baseline) | 0.800 | 1.00x | 900 | 800 | 1.9x |
| `load_callbacks` (typing, sort, dedup, frames) | 1.200 | 1.50x | 1,000 | 900 | 2.1x |

| target | measured | met |
|---|---|---|
| load_callbacks <= 1.3x pyarrow.json.read_json | 1.50x | **no** |
| cached reload < 0.3 s | 0.120 s | yes |
"""


def test_client_rows_judge_the_async_client_against_its_target():
    rows = run_all.parse_client(CLIENT)
    judged = [(r.ratio, r.met) for r in rows if r.target == ">= 0.8x"]
    assert judged == [("0.79x", "no"), ("0.92x", "yes")]
    assert len(rows) == 4 and all("bare AsyncClient" in r.baseline for r in rows)


def test_receiver_sandbox_and_load_rows():
    (receiver,) = run_all.parse_receiver(RECEIVER)
    assert (receiver.value, receiver.ratio, receiver.met) == ("2,700", "0.45x", "no")
    sandbox = run_all.parse_sandbox(SANDBOX)
    assert [(r.figure.rsplit("(", 1)[1], r.ratio) for r in sandbox] == [("c=16)", "0.50x"),
                                                                       ("c=64)", "0.75x")]
    load = run_all.parse_load(LOAD)
    assert [(r.figure, r.value, r.target, r.met) for r in load] == [
        ("load_callbacks", "1.50x", "<= 1.3x pyarrow.json.read_json", "no"),
        ("cached reload", "0.120 s", "< 0.3 s", "yes")]
    assert "read_json 0.800 s" in load[0].baseline


SEARCH = """| query | pattern | hits | python loop s | search_transcripts s | ratio | floor s | search / floor |
|---|---|---|---|---|---|---|---|
| rare word | `invoice` | 33,838 | 17.899 | 0.504 | **35.5x** | 0.372 | 1.4x |
| pattern | `outage\\|refund(s)?` | 116,072 | 14.921 | 1.057 | **14.1x** | 0.450 | 2.3x |
"""  # noqa: E501


def test_search_rows_are_met_under_a_second_and_ten_times_the_loop():
    rare, pattern = run_all.parse_search(SEARCH)
    assert (rare.value, rare.baseline, rare.ratio, rare.met) == (
        "0.504 s", "python loop 17.899 s", "35.5x", "yes")
    assert "33,838 hits" in rare.figure
    assert (pattern.value, pattern.met) == ("1.057 s", "no")  # 14x the loop, but over 1 s
    assert "116,072 hits" in pattern.figure


SCALE = """| engine | load + summarize s | ratio | peak memory | spilled | restarts | counts vs truth |
|---|---|---|---|---|---|---|
| dask, 2 x 1GiB | 217.0 | 3.93x | 0.70 GiB (a worker) | 0.46 GiB | 0 | all equal |
| pandas (baseline, this process) | 55.2 | 1.00x | 0.89 GiB (process growth) | 0.00 GiB | 0 | all equal |
"""  # noqa: E501


def test_scale_row_is_met_only_with_no_restart_and_every_count_right():
    (row,) = run_all.parse_scale(SCALE)
    assert (row.value, row.baseline, row.ratio, row.met) == ("217.0 s", "pandas 55.2 s", "3.93x",
                                                             "yes")
    assert "2 x 1GiB" in row.figure
    restarted = SCALE.replace("| 0.46 GiB | 0 |", "| 0.46 GiB | 2 |")
    assert run_all.parse_scale(restarted)[0].met == "no"
    miscounted = SCALE.replace("| 0 | all equal |\n| pandas", "| 0 | 2 differ |\n| pandas")
    assert run_all.parse_scale(miscounted)[0].met == "no"


@pytest.mark.parametrize("parse", [run_all.parse_client, run_all.parse_receiver,
                                   run_all.parse_sandbox, run_all.parse_load,
                                   run_all.parse_search, run_all.parse_scale])
def test_unreadable_output_gives_no_figure(parse):
    assert parse("Traceback (most recent call last):\n  boom\n") == []


def test_a_missing_benchmark_is_a_line_in_the_table_not_a_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    load = next(bench for bench in run_all.BENCHMARKS if bench.name == "load")
    outcome = run_all.run(load, quick=True)
    assert outcome.rows == [] and "not in this checkout" in outcome.note
    text = run_all.render([outcome], quick=True, began=datetime(2026, 12, 2, tzinfo=UTC),
                          loads=[9.0, 1000.0], wall_s=1.0)
    assert "| load | - | - | - | - | - | `benchmarks/bench_load.py` is not in this checkout" \
        in text
    assert "Taken under load" in text and "cores" in text and "Python" in text
