"""The end-to-end soak in its short form (300 recordings, one SIGKILL), and its checks.

The full soak (5,000 recordings, two kills) is ``make soak``. Here the run itself must pass,
and the checks must be able to fail: each is fed a run with one thing broken.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from soak import SOAK_FAULTS, SoakSettings, main
from soak_checks import (
    check_soak,
    compare_summary,
    delivery_lag_s,
    expected_summary,
    max_in_window,
    scan_log,
)
from soak_run import short_soak

pytestmark = pytest.mark.timeout(300)


@pytest.mark.slow
def test_the_short_soak_passes_every_check():
    report = short_soak()
    assert report.passed, report.to_text()
    names = [c.name for c in report.checks]
    assert names == [
        "every started recording accounted for", "no callback stored twice",
        "every 2xx-acknowledged callback in the log",
        "summary counts equal the sandbox's ground truth",
        "no more than 300 API requests in any 5 s", "auth token in no output",
        "receiver killed with SIGKILL and restarted", "finished within the time budget"]


@pytest.mark.slow
def test_the_faults_really_happened_and_were_ridden_out():
    figures = short_soak().figures
    assert figures["recordings started"] == 300 and figures["bulk rows not ok"] == 0
    assert figures["receiver kills (SIGKILL)"] == 1
    injected = figures["API faults injected"]
    assert injected.get("503", 0) > 0 and injected.get("429", 0) > 0
    # each injected fault on a start costs one retry; the others fell on Recording list pages
    assert 0 < figures["start retries (journal)"] <= sum(injected.values())
    assert figures["callbacks dropped (sandbox)"] > 0 and figures["duplicates suppressed"] > 0
    # every recording callback that never arrived was backfilled (one given up after the
    # receiver had stored it, its answer cut off by the kill, needed no backfill)
    dropped = figures["recording callbacks dropped (sandbox)"]
    assert dropped <= figures["backfilled"] <= dropped + figures["recording callbacks given up"]
    assert figures["peak API requests in 5 s"] <= 300


@pytest.mark.slow
def test_the_run_leaves_a_readable_summary_and_ground_truth():
    workdir = short_soak().workdir
    summary = json.loads((workdir / "summary.json").read_text())
    truth = json.loads((workdir / "ground_truth.json").read_text())
    assert truth["recordings"]["started"] == 300
    assert compare_summary(summary, {"recordings.count": 300}) == []
    stored, _ = scan_log(workdir / "callbacks")
    assert max(stored.values()) == 1


def test_the_fault_mix_is_the_issues():
    statuses = SOAK_FAULTS.api_error_statuses
    assert SOAK_FAULTS.api_error_rate * statuses.count(503) / len(statuses) == pytest.approx(0.05)
    assert SOAK_FAULTS.api_error_rate * statuses.count(429) / len(statuses) == pytest.approx(0.02)
    assert (SOAK_FAULTS.drop_rate, SOAK_FAULTS.duplicate_rate) == (0.05, 0.10)
    assert SOAK_FAULTS.retry_after_s >= 1 and SOAK_FAULTS.delay_rate > 0


# -- the checks can fail ---------------------------------------------------------------------

def _plan(kind, rid, status):
    attempt = {"status": status} if status else {"error": "connect: ConnectError"}
    return SimpleNamespace(kind=kind, recording_id=rid,
                           deliveries=[SimpleNamespace(attempts=[attempt])])


def _checks(tmp_path, **changes):
    good = {
        "started_ids": {"a", "b"}, "present": {"a": False, "b": True}, "written": {"b"},
        "stored": {("recording", "a"): 1, ("recording", "b"): 1},
        "received": {("recording", "a"): 1},
        "plans": [_plan("recording", "a", 200), _plan("recording", "b", None)],
        "summary": {"recordings": {"count": 2}}, "expected": {"recordings.count": 2},
        "request_times": [0.0, 1.0], "workdir": tmp_path, "token": "s3cret-token",
        "sandbox_started": 2}
    return {c.name: c for c in check_soak(**{**good, **changes})}


def test_checks_pass_on_a_good_run_and_fail_on_each_fault(tmp_path):
    (tmp_path / "journal.jsonl").write_text("nothing secret\n")
    assert all(c.passed for c in _checks(tmp_path).values())
    broken = {
        "every started recording accounted for": {"present": {"a": False}, "written": set()},
        "no callback stored twice": {"stored": {("recording", "a"): 2,
                                                ("recording", "b"): 1}},
        "every 2xx-acknowledged callback in the log": {"received": {}},
        "summary counts equal the sandbox's ground truth": {"expected": {"recordings.count": 3}},
        "no more than 300 API requests in any 5 s": {"request_times": [i / 100
                                                                       for i in range(301)]},
    }
    for name, change in broken.items():
        checks = _checks(tmp_path, **change)
        assert not checks[name].passed, name
        assert sum(not c.passed for c in checks.values()) >= 1
    (tmp_path / "receiver-1.err").write_text("Traceback ... token=s3cret-token\n")
    leak = _checks(tmp_path)["auth token in no output"]
    assert not leak.passed and "receiver-1.err" in leak.detail


def test_a_stored_callback_needs_an_ack_or_an_answer_cut_off(tmp_path):
    cut = SimpleNamespace(kind="transcription", recording_id="a", deliveries=[
        SimpleNamespace(attempts=[{"error": "read: RemoteProtocolError"},
                                  {"error": "connect: ConnectError"}])])
    plans = [_plan("recording", "a", 200), cut]
    received = {("recording", "a"): 1, ("transcription", "a"): 1}
    name = "every 2xx-acknowledged callback in the log"
    explained = _checks(tmp_path, plans=plans, received=received)[name]
    assert explained.passed and "1 stored without a 2xx" in explained.detail
    never_sent = [_plan("recording", "a", 200), _plan("transcription", "a", None)]
    assert not _checks(tmp_path, plans=never_sent, received=received)[name].passed


def test_a_missing_summary_fails_rather_than_passes(tmp_path):
    assert not _checks(tmp_path, summary=None)["summary counts equal the sandbox's ground truth"
                                               ].passed


def test_expected_summary_from_hand_counted_ground_truth():
    recordings = [
        {"recording_id": "a", "conference_name": "x", "file_format": "mp3", "duration_ms": 30_000},
        {"recording_id": "b", "conference_name": "x", "file_format": "wav", "duration_ms": 90_000},
        {"recording_id": "c", "conference_name": "y", "file_format": "mp3", "duration_ms": 60_000},
    ]
    texts = [{"recording_id": "a", "error": "", "transcription_charge": "0.05000"},
             {"recording_id": "b", "error": "too long", "transcription_charge": "0"}]
    expected = expected_summary(recordings, texts)
    assert expected["recordings.count"] == 3 and expected["recordings.conferences"] == 2
    assert expected["recordings.total_minutes"] == 3.0
    assert expected["recordings.billed_minutes"] == 1 + 2 + 1
    assert expected["recordings.duration_seconds.median"] == 60.0
    assert expected["recordings.duration_seconds.p95"] == 87.0  # 60 + 0.9 * 30
    assert (expected["recordings.by_format.mp3"], expected["recordings.by_format.wav"]) == (2, 1)
    assert expected["transcriptions.success_rate"] == 0.5
    assert expected["transcriptions.coverage"] == round(1 / 3, 6)
    assert expected["transcriptions.charge_total"] == 0.05
    assert expected["transcriptions.errors"] == {"too long": 1}
    flat = {"recordings.count": 3, "transcriptions.errors": {"too long": 1}}
    assert compare_summary(flat, {"recordings.count": 3, "transcriptions.errors":
                                  {"too long": 1}}) == []
    assert compare_summary({"recordings": {"count": True}}, {"recordings.count": 1}) != []


def test_delivery_lag_is_in_real_seconds_from_the_due_time_to_the_first_attempt():
    plans = [SimpleNamespace(deliveries=[
        SimpleNamespace(due_ms=0, attempts=[{"sent_ms": 600_000}, {"sent_ms": 9_000_000}]),
        SimpleNamespace(due_ms=1000, attempts=[{"sent_ms": 1000}]),
        SimpleNamespace(due_ms=0, attempts=[])])]  # dropped or pending: no attempt, no lag
    assert delivery_lag_s(plans, 600.0) == (0.5, 1.0)
    assert delivery_lag_s([], 600.0) == (0.0, 0.0)


def test_the_busiest_window_is_half_open():
    assert max_in_window([0.0, 4.999, 5.0], 5.0) == 2
    assert max_in_window([1.0] * 301, 5.0) == 301


def test_the_time_budget_grows_with_the_count_unless_given():
    assert SoakSettings().budget_s == 900.0
    assert SoakSettings(count=50_000).budget_s == 2000.0  # Plivo's rate limit: 1/60 s a start
    assert SoakSettings(count=50_000, duration=60).budget_s == 60.0


def test_bad_options_are_refused():
    with pytest.raises(SystemExit):
        main(["--count", "many"])
    with pytest.raises(ValueError, match="count must be >= 1"):
        main(["--count", "0"])
