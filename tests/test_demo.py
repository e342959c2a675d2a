"""The end-to-end demo: what `make demo` prints and writes, checked against the sandbox's truth."""

from __future__ import annotations

import io
import json

import pytest

from recording_toolkit import load_callbacks
from recording_toolkit.cli import main
from recording_toolkit.demo import CLOCK_STEP_MS, run_demo
from recording_toolkit.errors import ConfigurationError
from recording_toolkit.sandbox import Timing

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    stream = io.StringIO()
    result = run_demo(count=40, seed=2, out=out, progress=False, stream=stream)
    return result, stream.getvalue(), out


def test_writes_the_report_files(demo):
    result, _, out = demo
    for name in ("summary.json", "report.html", "ground_truth.json", "journal.jsonl"):
        assert (out / name).stat().st_size > 0, name
    assert list((out / "callbacks").glob("callbacks-*.jsonl"))
    html = (out / "report.html").read_text("utf-8")
    assert html.count("<img") >= 3  # the charts are embedded
    assert json.loads((out / "summary.json").read_text("utf-8")) == result.summary


def test_summary_matches_what_the_sandbox_did(demo):
    result, _, _ = demo
    truth, summary = result.ground_truth, result.summary
    assert result.started == 40
    assert summary["recordings"]["count"] == truth["recordings"]["started"] == 40
    assert summary["recordings"]["by_format"] == truth["recordings"]["by_format"]
    assert summary["transcriptions"]["received"] == truth["recordings"]["with_transcription"]
    assert summary["source"]["quarantined"] == 0
    journal = [json.loads(line) for line in
               (result.out_dir / "journal.jsonl").read_text("utf-8").splitlines()]
    assert sum(1 for j in journal if j["action"] == "start" and j["ok"]) == 40


def test_callbacks_arrive_at_their_simulated_due_time(demo):
    """The receiver's received_at is on the sandbox clock, and the demo never jumps that clock
    over a due callback: each turnaround is within the sandbox's model, not a machine delay."""
    result, _, _ = demo
    loaded = load_callbacks(result.out_dir / "callbacks", progress=False)
    rec = loaded.recordings.set_index("recording_id")
    tx = loaded.transcriptions.set_index("recording_id")
    timing = Timing()
    slack_s = CLOCK_STEP_MS / 1000 + 0.01
    delay = (rec["received_at"] - rec["recording_end"]).dt.total_seconds()
    assert delay.between(timing.callback_delay_s[0], timing.callback_delay_s[1] + slack_s).all()
    ok = tx[tx["error"].isna()]
    turnaround = (ok["received_at"] - rec.loc[ok.index, "recording_end"]).dt.total_seconds()
    ceiling = (timing.turnaround_base_s + timing.turnaround_per_recorded_s
               * rec.loc[ok.index, "recording_duration_ms"] / 1000
               + timing.turnaround_jitter_s + slack_s)
    assert (turnaround >= timing.turnaround_base_s).all()
    assert (turnaround <= ceiling).all()


def test_prints_the_headline_figures(demo):
    result, text, _ = demo
    s = result.summary
    assert "40 of 40 recordings started" in text
    assert f"{s['recordings']['count']:,} in {s['recordings']['conferences']:,} conferences" in text
    assert f"{s['recordings']['billed_minutes']:,} billed" in text
    assert f"{s['transcriptions']['received']:,} received" in text
    assert f"${s['transcriptions']['charge_total']:,.2f} for transcription" in text
    assert f"coverage {s['transcriptions']['coverage']:.1%} of recordings" in text
    assert "report.html" in text
    assert result.ground_truth["api"]  # the sandbox's own account is part of the result


def test_faults_are_survived_and_counted(tmp_path):
    stream = io.StringIO()
    result = run_demo(count=30, seed=4, out=tmp_path / "faulty", progress=False, stream=stream,
                      faults="drop=0.2,duplicate=0.3")
    truth = result.ground_truth["callbacks"]
    assert truth["recording"]["dropped"] + truth["transcription"]["dropped"] > 0
    assert result.receiver_counts["duplicates"] > 0  # redeliveries answered, not stored twice
    assert result.summary["recordings"]["count"] == truth["recording"]["delivered"]
    assert result.summary["transcriptions"]["received"] == truth["transcription"]["delivered"]
    assert result.summary["source"]["duplicates"] == 0


def test_refuses_to_clear_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigurationError, match="out: .* not made by a demo"):
        run_demo(count=1, out=tmp_path, progress=False, stream=io.StringIO())
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_command_line(tmp_path, capsys):
    assert main(["demo", "--count", "5", "--seed", "1", "--out", str(tmp_path / "d"),
                 "--no-progress"]) == 0
    assert "5 of 5 recordings started" in capsys.readouterr().out
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--count", "0", "argument --count: 0 is not a whole number >= 1"),
    ("--conferences", "0", "argument --conferences: 0 is not a whole number >= 1"),
    ("--conferences", "-2", "argument --conferences: -2 is not a whole number >= 1"),
    ("--timeout", "0", "argument --timeout: 0 is not a number of seconds > 0"),
    ("--timeout", "nan", "argument --timeout: nan is not a number of seconds > 0"),
])
def test_numbers_that_cannot_be_used_are_usage_errors_not_silently_replaced(
        tmp_path, capsys, flag, value, says):
    with pytest.raises(SystemExit) as stop:
        main(["demo", flag, value, "--out", str(tmp_path / "e")])
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"recording-toolkit demo: error: {says} (see --help)\n"
    assert not (tmp_path / "e").exists()
    with pytest.raises(ConfigurationError, match="conferences: 0 is not a whole number >= 1"):
        run_demo(count=3, conferences=0, out=tmp_path / "e", progress=False,
                 stream=io.StringIO())


def test_running_out_of_time_says_so_and_exits_1_with_the_report_written(tmp_path, capsys):
    out = tmp_path / "d"
    # a thousandth of a second cannot start three recordings and wait for their callbacks
    assert main(["demo", "--count", "3", "--timeout", "0.001", "--out", str(out),
                 "--no-progress"]) == 1
    captured = capsys.readouterr()
    started = int(captured.out.split("recording-toolkit demo: ")[1].split(" of 3")[0])
    assert "recordings started in" in captured.out and "; time ran out" in captured.out
    if started < 3:
        done = f"only {started} of 3 recordings were started; the report covers those"
    else:
        done = ("all 3 recordings were started, but not every callback arrived; the report"
                " covers those that did")
    assert captured.err == (f"recording-toolkit demo: error: time ran out (--timeout 0.001 s):"
                            f" {done}. Give a longer --timeout or a smaller --count\n")
    assert (out / "report.html").stat().st_size > 0 and (out / "summary.json").exists()
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "the command exits 1" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("timeout", [0, -5, float("nan")])
def test_a_timeout_that_leaves_no_time_is_refused(tmp_path, timeout):
    with pytest.raises(ConfigurationError, match="timeout: .* is not a number of seconds > 0"):
        run_demo(count=3, timeout=timeout, out=tmp_path / "d", progress=False,
                 stream=io.StringIO())
