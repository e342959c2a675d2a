"""Backfill of lost transcription callbacks, against the sandbox with callbacks dropped.

Recordings with transcription are started through the real client (with a journal) on a sandbox
that drops a share of the callbacks; the receiver logs the rest. The backfill must find exactly
the transcriptions whose callbacks were dropped, fetch them from the Transcription API, write
them once as transcription events marked as backfilled, so that the loaded transcriptions equal
what the sandbox sent (or would have sent), and add nothing when run again.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pandas as pd
import pytest

from recording_toolkit.backfill import (
    backfill_transcriptions,
    missing_transcriptions,
    transcription_callback_fields,
)
from recording_toolkit.cli import build_parser
from recording_toolkit.client import RecordingClient
from recording_toolkit.commands import backfill as backfill_command
from recording_toolkit.load import load_callbacks
from recording_toolkit.receiver import CallbackReceiver
from recording_toolkit.sandbox import Faults, ManualClock, Sandbox

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RECORDINGS = 24
SINCE, UNTIL = T0 - timedelta(hours=1), T0 + timedelta(hours=5)


@pytest.fixture
def world(tmp_path, auth_id, auth_token):
    """24 recordings of 2 minutes with transcription (every third without), ended and
    transcribed; about a third of all callbacks dropped."""
    clock = ManualClock(T0)
    log_dir, journal = tmp_path / "log", tmp_path / "journal.jsonl"
    with Sandbox(auth_id=auth_id, auth_token=auth_token, seed=11, clock=clock,
                 durations=lambda rng: 120.0, faults=Faults(drop_rate=0.35)) as sandbox, \
            CallbackReceiver(log_dir, auth_token=auth_token) as receiver, \
            RecordingClient(auth_id, auth_token, base_url=sandbox.base_url,
                            journal=journal) as client:
        items = []
        for i in range(RECORDINGS):
            item = {"conference_name": f"room {i}"}
            if i % 3:
                item.update(transcription_type="auto",
                            transcription_url=receiver.transcription_callback_url)
            items.append(item)
        started = client.start_recordings(items, callback_url=receiver.recording_callback_url,
                                          progress=False)
        assert started["ok"].all()
        clock.advance(4 * 3600)
        assert sandbox.wait_idle(30, recordings=True)
        plans = [p for p in sandbox.core.dispatcher.plans() if p.kind == "transcription"]
        truth = {p.recording_id: dict(p.fields) for p in plans}
        dropped = {p.recording_id for p in plans if p.dropped}
        assert len(truth) == 16 and not any(f["error"] for f in truth.values())
        assert 0 < len(dropped) < len(truth)  # the seed gives both kinds
        yield {"sandbox": sandbox, "client": client, "log_dir": log_dir, "journal": journal,
               "truth": truth, "dropped": dropped, "started": started}


def _as_truth(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The loaded transcriptions, as comparable values, by recording id."""
    return {row.recording_id: {"transcription": row.transcription,
                               "transcription_charge": Decimal(str(row.transcription_charge)),
                               "transcription_rate": Decimal(str(row.transcription_rate)),
                               "duration": int(row.duration),
                               "error": None if pd.isna(row.error) else row.error}
            for row in frame.itertuples()}


def _expected(truth: dict[str, dict[str, str]]) -> dict[str, dict[str, object]]:
    return {rid: {"transcription": f["transcription"],
                  "transcription_charge": Decimal(f["transcription_charge"]),
                  "transcription_rate": Decimal(f["transcription_rate"]),
                  "duration": int(f["duration"]), "error": f["error"] or None}
            for rid, f in truth.items()}


def test_backfilled_transcriptions_make_the_log_equal_the_sandbox_and_twice_adds_nothing(world):
    log_dir, dropped, truth = world["log_dir"], world["dropped"], world["truth"]
    before = load_callbacks(log_dir, progress=False).transcriptions
    assert set(before["recording_id"]) == set(truth) - dropped

    missing = missing_transcriptions(log_dir, world["journal"])
    assert set(missing) == dropped and len(missing) == len(dropped)

    now = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    result = backfill_transcriptions(world["client"], log_dir, missing, progress=False, now=now)
    assert set(result.written) == dropped and len(result.written) == len(dropped)
    assert result.not_found == () and not result.invalid and result.present == 0
    assert result.path == log_dir / "backfill-2026-11-03.jsonl"
    lines = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert {(line["event"], line["source"]) for line in lines} == {("transcription", "backfill")}

    after = load_callbacks(log_dir, progress=False).transcriptions
    assert len(after) == len(truth)
    assert _as_truth(after) == _expected(truth)
    # the resource has no call_uuid: backfilled rows have none, received ones keep theirs
    by_id = after.set_index("recording_id")
    assert by_id.loc[sorted(dropped), "call_uuid"].isna().all()
    assert by_id.loc[sorted(set(truth) - dropped), "call_uuid"].notna().all()

    assert missing_transcriptions(log_dir, world["journal"]) == []
    again = backfill_transcriptions(world["client"], log_dir, missing, progress=False, now=now)
    assert again.written == () and again.present == len(dropped) and again.path is None
    assert len(result.path.read_text().splitlines()) == len(dropped)


def test_a_transcription_plivo_does_not_have_is_not_found_and_nothing_is_written(world):
    without = [rid for rid, item in zip(world["started"]["recording_id"], range(RECORDINGS),
                                        strict=True) if item % 3 == 0]
    result = backfill_transcriptions(world["client"], world["log_dir"], [*without, "ghost"],
                                     progress=False)
    assert result.not_found == (*without, "ghost") and result.written == ()
    assert result.path is None and not list(world["log_dir"].glob("backfill-*.jsonl"))


def test_an_answer_that_is_not_a_success_is_reported_unusable_not_written(tmp_path, auth_id,
                                                                          auth_token):
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/v1/Account/{auth_id}/Transcription/r-1/"
        return httpx.Response(200, json={"api_id": "a", "status": "in-progress",
                                         "transcription": ""})

    with RecordingClient(auth_id, auth_token, base_url="http://plivo.test",
                         transport=httpx.MockTransport(answer)) as client:
        result = backfill_transcriptions(client, tmp_path, ["r-1"], progress=False)
    assert result.written == () and result.path is None
    assert result.invalid == {"r-1": "field 'status': 'in-progress', not 'success'"}


def test_fields_missing_or_not_numbers_are_named():
    good = {"status": "success", "transcription": "x", "cost": "0.10", "rate": 0.05,
            "recording_duration_ms": 1500}
    assert transcription_callback_fields(good, "r")["duration"] == "2"  # half up
    assert transcription_callback_fields(good, "r")["transcription_charge"] == "0.1"
    with pytest.raises(ValueError, match="'cost' is missing"):
        transcription_callback_fields({**good, "cost": None}, "r")
    with pytest.raises(ValueError, match="'rate'.*not a number"):
        transcription_callback_fields({**good, "rate": "cheap"}, "r")
    with pytest.raises(ValueError, match="'transcription'"):
        transcription_callback_fields({**good, "transcription": None}, "r")


def test_the_command_adds_transcription_counts_and_keeps_its_keys(world, auth_id, auth_token):
    env = {"PLIVO_AUTH_ID": auth_id, "PLIVO_AUTH_TOKEN": auth_token}
    argv = ["backfill", str(world["log_dir"]), "--journal", str(world["journal"]),
            "--base-url", world["sandbox"].base_url, "--since", SINCE.isoformat(),
            "--until", UNTIL.isoformat(), "--no-progress"]
    out, err = io.StringIO(), io.StringIO()
    code = backfill_command.run(build_parser().parse_args(argv), environ=env, out=out, err=err)
    summary = json.loads(out.getvalue())
    assert {"missing", "requested", "present", "written", "not_found", "invalid", "path",
            "not_found_count", "invalid_count", "failed_ids_file"} <= set(summary)
    tr = summary["transcriptions"]
    assert tr["missing"] == tr["written"] == len(world["dropped"])
    assert tr["not_found"] == [] and tr["not_found_count"] == 0 and tr["invalid_count"] == 0
    assert code == (1 if summary["not_found"] or summary["invalid"] else 0)
    assert "transcriptions not found" not in err.getvalue()
    loaded = load_callbacks(world["log_dir"], progress=False).transcriptions
    assert _as_truth(loaded) == _expected(world["truth"])
    out = io.StringIO()
    backfill_command.run(build_parser().parse_args(argv), environ=env, out=out, err=io.StringIO())
    assert json.loads(out.getvalue())["transcriptions"]["written"] == 0
