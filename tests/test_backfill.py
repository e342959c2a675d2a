"""Backfill of lost recording callbacks, against the sandbox with callbacks dropped.

Recordings are started through the real client (with a journal) on a sandbox that drops a share
of the recording callbacks; the receiver logs the rest. The backfill must find exactly the
dropped ones, write them once in the log's envelope marked as backfilled, with the values the
sandbox itself recorded, and add nothing when run again.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from recording_toolkit.backfill import (
    backfill_path,
    backfill_recordings,
    missing_recordings,
    recording_callback_fields,
)
from recording_toolkit.cli import build_parser
from recording_toolkit.client import RecordingClient
from recording_toolkit.commands import backfill as backfill_command
from recording_toolkit.load import load_callbacks
from recording_toolkit.receiver import CallbackReceiver
from recording_toolkit.sandbox import Faults, ManualClock, Sandbox

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RECORDINGS = 40
SINCE, UNTIL = T0 - timedelta(hours=1), T0 + timedelta(hours=3)


@pytest.fixture
def world(tmp_path, auth_id, auth_token):
    """40 recordings of 2 minutes each, ended; about a quarter of their callbacks dropped."""
    clock = ManualClock(T0)
    log_dir, journal = tmp_path / "log", tmp_path / "journal.jsonl"
    with Sandbox(auth_id=auth_id, auth_token=auth_token, seed=5, clock=clock,
                 durations=lambda rng: 120.0, faults=Faults(drop_rate=0.25)) as sandbox, \
            CallbackReceiver(log_dir, auth_token=auth_token) as receiver, \
            RecordingClient(auth_id, auth_token, base_url=sandbox.base_url,
                            journal=journal) as client:
        names = [{"conference_name": f"room {i}", "file_format": "wav" if i % 3 else "mp3"}
                 for i in range(RECORDINGS)]
        started = client.start_recordings(names, callback_url=receiver.recording_callback_url,
                                          progress=False)
        assert started["ok"].all()
        clock.advance(3600)
        assert sandbox.wait_idle(30, recordings=True)
        truth = sandbox.ground_truth()
        dropped = {p["recording_id"] for p in truth["callback_details"]
                   if p["kind"] == "recording" and p["status"] == "dropped"}
        assert 0 < len(dropped) < RECORDINGS  # the seed gives both kinds
        yield {"sandbox": sandbox, "client": client, "log_dir": log_dir, "journal": journal,
               "truth": truth, "dropped": dropped, "started": started}


def test_finds_the_dropped_callbacks_and_writes_them_once_marked_as_backfilled(world):
    log_dir, dropped = world["log_dir"], world["dropped"]
    missing = missing_recordings(log_dir, world["journal"])
    assert set(missing) == dropped
    api_ids = dict(zip(world["started"]["recording_id"], world["started"]["api_id"],
                       strict=True))
    assert all(missing[rid] == api_ids[rid] for rid in missing)
    nowhere = missing_recordings(log_dir.parent / "no log yet", world["journal"])
    assert set(nowhere) == set(world["started"]["recording_id"])  # every start

    now = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    result = backfill_recordings(world["client"], log_dir, missing, since=SINCE, until=UNTIL,
                                 progress=False, now=now)
    assert set(result.written) == dropped and len(result.written) == len(dropped)
    assert result.not_found == () and not result.invalid and result.present == 0
    assert result.path == backfill_path(log_dir, now) == log_dir / "backfill-2026-11-03.jsonl"

    lines = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert {line["source"] for line in lines} == {"backfill"}
    assert {line["event"] for line in lines} == {"recording"}
    assert {line["received_at"] for line in lines} == {"2026-11-03T08:00:00.000000Z"}

    loaded = load_callbacks(log_dir, progress=False)
    recordings = loaded.recordings.set_index("recording_id")
    assert len(recordings) == RECORDINGS and loaded.stats.quarantined == 0
    assert set(recordings.index[recordings["backfilled"]]) == dropped
    details = {r["recording_id"]: r for r in world["truth"]["recording_details"]}
    for rid in dropped:  # the values are the sandbox's own, in the callback's field names
        row, true = recordings.loc[rid], details[rid]
        assert row["recording_duration_ms"] == true["duration_ms"]
        assert row["recording_start"] == datetime.fromtimestamp(true["start_ms"] / 1000, UTC)
        assert row["conference_name"] == true["conference_name"]
        assert row["file_format"] == true["file_format"]
        assert row["api_id"] == true["api_id"]
        assert row["recording_duration"] == round(true["duration_ms"] / 1000)


def test_running_twice_adds_nothing(world):
    log_dir = world["log_dir"]
    first = backfill_recordings(world["client"], log_dir,
                                missing_recordings(log_dir, world["journal"]), since=SINCE,
                                until=UNTIL, progress=False)
    written = first.path.read_bytes()
    assert missing_recordings(log_dir, world["journal"]) == {}
    # even when asked for the same ids again explicitly
    again = backfill_recordings(world["client"], log_dir, world["dropped"], since=SINCE,
                                until=UNTIL, progress=False)
    assert again.written == () and again.present == len(world["dropped"]) and again.path is None
    assert first.path.read_bytes() == written
    assert sorted(p.name for p in log_dir.glob("backfill-*.jsonl")) == [first.path.name]


def test_recordings_outside_the_listed_window_are_fetched_one_by_one(world):
    sandbox = world["sandbox"]
    before = len(sandbox.core.api_faults.request_times())
    result = backfill_recordings(world["client"], world["log_dir"], sorted(world["dropped"]),
                                 since=T0 - timedelta(days=3), until=T0 - timedelta(days=2),
                                 progress=False)
    assert set(result.written) == world["dropped"]
    # one (empty) list page, then one lookup per recording
    assert len(sandbox.core.api_faults.request_times()) - before == 1 + len(world["dropped"])


def test_unknown_recordings_are_reported_not_invented(world):
    ghost = "00000000-0000-4000-8000-00000000dead"
    result = backfill_recordings(world["client"], world["log_dir"], [ghost], method="get",
                                 progress=False)
    assert result.not_found == (ghost,) and result.written == () and result.path is None
    assert not list(world["log_dir"].glob("backfill-*.jsonl"))


def test_the_command_backfills_from_the_journal_and_exits_1_only_while_some_are_missing(
        world, auth_id, auth_token):
    env = {"PLIVO_AUTH_ID": auth_id, "PLIVO_AUTH_TOKEN": auth_token}
    argv = ["backfill", str(world["log_dir"]), "--journal", str(world["journal"]),
            "--base-url", world["sandbox"].base_url, "--since", SINCE.isoformat(),
            "--until", UNTIL.isoformat(), "--no-progress"]
    out = io.StringIO()
    assert backfill_command.run(build_parser().parse_args(argv), environ=env, out=out) == 0
    first = json.loads(out.getvalue())
    assert first["missing"] == first["written"] == len(world["dropped"])
    assert first["not_found"] == [] and first["path"].endswith(".jsonl")
    assert auth_token not in out.getvalue()
    out = io.StringIO()
    assert backfill_command.run(build_parser().parse_args(argv), environ=env, out=out) == 0
    assert json.loads(out.getvalue())["written"] == 0


def test_wrong_arguments_are_refused_before_any_request(tmp_path, auth_id, auth_token):
    from recording_toolkit.client import AsyncRecordingClient

    with pytest.raises(TypeError, match="needs a RecordingClient"):
        backfill_recordings(AsyncRecordingClient(auth_id, auth_token), tmp_path, ["r"])
    with RecordingClient(auth_id, auth_token, base_url="http://127.0.0.1:9") as client:
        with pytest.raises(ValueError, match="'list' or 'get'"):
            backfill_recordings(client, tmp_path, ["r"], method="scan")
        with pytest.raises(TypeError, match="not one string"):
            backfill_recordings(client, tmp_path, "r-1")


def _start_line(recording_id, moment=T0):
    """One journal line of a successful start, as the client writes it."""
    return json.dumps({"time": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "action": "start",
                       "conference_name": f"room {recording_id}",
                       "options": {"file_format": "mp3"}, "ok": True, "status": 202,
                       "recording_id": recording_id, "attempts": 1, "latency_ms": 40.0}) + "\n"


@pytest.fixture
def small_journal(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(_start_line("r-1"))
    return path


def test_the_command_names_a_missing_journal_in_its_own_words(tmp_path, capsys):
    from recording_toolkit.cli import main

    assert main(["backfill", str(tmp_path), "--journal", str(tmp_path / "nope.jsonl")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("recording-toolkit backfill: error: --journal: ")
    assert "nope.jsonl" in err and "source" not in err and len(err.splitlines()) == 1


def test_a_mistyped_log_folder_is_refused_and_not_created(tmp_path, small_journal, capsys):
    from recording_toolkit.cli import main

    typo = tmp_path / "nodir"
    assert main(["backfill", str(typo), "--journal", str(small_journal),
                 "--base-url", "http://127.0.0.1:9"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"recording-toolkit backfill: error: log folder {typo} does not exist\n"
    assert captured.out == "" and not typo.exists()
    assert main(["backfill", str(small_journal), "--journal", str(small_journal)]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_a_callback_log_given_as_journal_is_refused(world, capsys):
    from recording_toolkit.cli import main

    callback_log = next(world["log_dir"].glob("*.jsonl"))
    assert main(["backfill", str(world["log_dir"]), "--journal", str(callback_log),
                 "--base-url", world["sandbox"].base_url, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"recording-toolkit backfill: error: --journal: {callback_log}: a"
                            " callback log, not a request journal (its lines are recording and"
                            " transcription callbacks)\n")
    assert not list(world["log_dir"].glob("backfill-*"))


def test_a_journal_of_stop_requests_only_is_refused(tmp_path, capsys):
    from recording_toolkit.cli import main

    journal = tmp_path / "stops.jsonl"
    journal.write_text(_start_line("r-1").replace('"start"', '"stop"'))
    assert main(["backfill", str(tmp_path), "--journal", str(journal),
                 "--base-url", "http://127.0.0.1:1"]) == 1
    assert capsys.readouterr().err == (
        f"recording-toolkit backfill: error: --journal: {journal}: only stop requests in it, no"
        " start request: nothing to backfill\n")


@pytest.mark.parametrize(("flags", "message"), [
    (["--since", "garbage"], "--since: 'garbage' is not an ISO date or time"),
    (["--until", "soon"], "--until: 'soon' is not an ISO date or time"),
    (["--since", "2026-11-03", "--until", "2026-11-02"], "--since: 2026-11-03 00:00:00 is not"
     " before until"),
    (["--until", "2026-11-01"], "--until: 2026-11-01 is before the journal's first start"),
    (["--timeout", "0"], "--timeout: 0.0 is not a number of seconds > 0"),
    (["--failed-ids", "/proc/x/failed.txt"], "--failed-ids: /proc/x/failed.txt: the folder"
     " /proc/x does not exist"),
])
def test_flags_are_checked_before_any_work(tmp_path, small_journal, capsys, monkeypatch,
                                           auth_id, auth_token, flags, message):
    from recording_toolkit.cli import main

    monkeypatch.setenv("PLIVO_AUTH_ID", auth_id)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", auth_token)
    log_dir = tmp_path / "log"
    log_dir.mkdir()  # empty: with nothing logged, the journal's start is missing
    # nothing listens on port 9: a request would fail with a connection error, not this one
    assert main(["backfill", str(log_dir), "--journal", str(small_journal),
                 "--base-url", "http://127.0.0.1:9", "--no-progress", *flags]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"recording-toolkit backfill: error: {message}")
    assert len(captured.err.splitlines()) == 1 and captured.out == ""
    assert list(log_dir.iterdir()) == []


@pytest.mark.parametrize(("missing", "says"), [
    ("PLIVO_AUTH_ID", "--auth-id: missing; pass --auth-id or set PLIVO_AUTH_ID"),
    ("PLIVO_AUTH_TOKEN", "PLIVO_AUTH_TOKEN: missing; set PLIVO_AUTH_TOKEN (no flag takes it: it"
                         " would show in the process list)"),
])
def test_missing_credentials_are_named_by_flag_and_variable(tmp_path, small_journal, capsys,
                                                            monkeypatch, auth_id, auth_token,
                                                            missing, says):
    from recording_toolkit.cli import main

    monkeypatch.setenv("PLIVO_AUTH_ID", auth_id)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", auth_token)
    monkeypatch.delenv(missing)
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    assert main(["backfill", str(log_dir), "--journal", str(small_journal),
                 "--base-url", "http://127.0.0.1:9", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"recording-toolkit backfill: error: {says}\n"
    assert captured.out == "" and auth_token not in captured.err
    assert list(log_dir.iterdir()) == []


def test_an_empty_log_folder_is_allowed_with_a_warning(world, tmp_path, capsys, monkeypatch,
                                                     auth_id, auth_token):
    from recording_toolkit.cli import main

    monkeypatch.setenv("PLIVO_AUTH_ID", auth_id)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", auth_token)
    fresh = tmp_path / "fresh log"
    fresh.mkdir()
    journal = tmp_path / "journal with a torn line.jsonl"
    journal.write_text(world["journal"].read_text() + '{"time": "2026-11-02T09:\n')
    lines = len(journal.read_text().splitlines())
    assert main(["backfill", str(fresh), "--journal", str(journal),
                 "--base-url", world["sandbox"].base_url, "--since", SINCE.isoformat(),
                 "--until", UNTIL.isoformat(), "--no-progress"]) == 0
    captured = capsys.readouterr()
    journal_warning, folder_warning = captured.err.splitlines()
    assert journal_warning.startswith(
        f"recording-toolkit backfill: warning: --journal {journal}: 1 line unusable, skipped"
        f" (first: {journal} line {lines}: ")
    assert folder_warning == (f"recording-toolkit backfill: warning: log folder {fresh} holds no"
                              " recording callbacks yet; every recording the journal started"
                              " counts as missing")
    summary = json.loads(captured.out)
    assert summary["missing"] == summary["written"] == RECORDINGS


def test_recordings_not_found_give_one_error_line_a_short_summary_and_the_full_list(
        world, tmp_path, capsys, monkeypatch, auth_id, auth_token):
    from recording_toolkit.cli import main

    monkeypatch.setenv("PLIVO_AUTH_ID", auth_id)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", auth_token)
    ghosts = [f"00000000-0000-4000-8000-{i:012d}" for i in range(25)]
    ghost_journal = tmp_path / "ghosts.jsonl"
    ghost_journal.write_text("".join(_start_line(rid) for rid in ghosts))
    missing = len(world["dropped"]) + len(ghosts)
    assert main(["backfill", str(world["log_dir"]), "--journal", str(world["journal"]),
                 "--journal", str(ghost_journal), "--base-url", world["sandbox"].base_url,
                 "--since", SINCE.isoformat(), "--until", UNTIL.isoformat(),
                 "--no-progress"]) == 1
    captured = capsys.readouterr()
    failed_file = world["log_dir"] / backfill_command.FAILED_IDS_NAME
    assert captured.err.splitlines() == [
        f"recording-toolkit backfill: error: 25 of {missing} missing recordings were not found"
        f" in the Recording API (first: {ghosts[0]}, {ghosts[1]}, {ghosts[2]} ...); all 25"
        f" listed in {failed_file}"]
    summary = json.loads(captured.out)
    assert summary["missing"] == missing and summary["written"] == len(world["dropped"])
    assert summary["not_found"] == ghosts[:20] and summary["not_found_count"] == 25
    assert summary["failed_ids_file"] == str(failed_file)
    assert failed_file.read_text().splitlines() == [
        f"{rid}\tnot found in the Recording API" for rid in ghosts]
    # the file is no log: loading the folder reads the backfill and the callbacks only
    loaded = load_callbacks(world["log_dir"], progress=False)
    assert len(loaded.recordings) == RECORDINGS and loaded.stats.quarantined == 0

    # once nothing is missing any more, the list of an earlier run is gone with it
    assert main(["backfill", str(world["log_dir"]), "--journal", str(world["journal"]),
                 "--base-url", world["sandbox"].base_url, "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and json.loads(captured.out)["failed_ids_file"] is None
    assert not failed_file.exists()


def test_a_failed_list_that_cannot_be_written_late_still_prints_the_summary(
        world, tmp_path, capsys, monkeypatch, auth_id, auth_token):
    """--failed-ids is checked first, but its folder can go while the API is asked: the work
    done is still reported, and the error line says the list could not be written."""
    import shutil

    import recording_toolkit.backfill as backfill_module
    from recording_toolkit.cli import main

    monkeypatch.setenv("PLIVO_AUTH_ID", auth_id)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", auth_token)
    ghost = "00000000-0000-4000-8000-000000000001"
    ghost_journal = tmp_path / "ghost.jsonl"
    ghost_journal.write_text(_start_line(ghost))
    lists = tmp_path / "lists"
    lists.mkdir()
    real = backfill_module.backfill_recordings

    def and_the_folder_goes(*args, **kwargs):
        result = real(*args, **kwargs)
        shutil.rmtree(lists)
        return result

    monkeypatch.setattr(backfill_module, "backfill_recordings", and_the_folder_goes)
    assert main(["backfill", str(world["log_dir"]), "--journal", str(ghost_journal),
                 "--failed-ids", str(lists / "failed.txt"), "--base-url",
                 world["sandbox"].base_url, "--since", SINCE.isoformat(), "--until",
                 UNTIL.isoformat(), "--no-progress"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["missing"] == 1 and summary["not_found"] == [ghost]
    assert summary["failed_ids_file"] is None
    assert captured.err.splitlines() == [
        f"recording-toolkit backfill: error: 1 of 1 missing recordings were not found in the"
        f" Recording API (first: {ghost}); they could not be listed: {lists / 'failed.txt'}:"
        " No such file or directory"]


def test_fields_map_the_recording_api_to_the_callback_names():
    obj = {"recording_id": "r-1", "conference_name": None,
           "recording_url": "https://media.plivo.com/v1/Account/MA0/Recording/r-1.wav",
           "recording_duration_ms": "1500.00000", "recording_start_ms": "1407235509007.00000",
           "recording_end_ms": 1407235510507, "add_time": "2014-08-05 16:15:15.852059+05:30",
           "rounded_recording_duration": 60}
    fields = recording_callback_fields(obj)
    assert fields == {"record_url": obj["recording_url"], "recording_id": "r-1",
                      "conference_name": "", "recording_duration": "2",
                      "recording_duration_ms": "1500.00000",
                      "recording_start_ms": "1407235509007.00000",
                      "recording_end_ms": "1407235510507"}
    assert all(isinstance(v, str) for v in fields.values())


@pytest.mark.parametrize(("change", "message"), [
    ({"recording_id": None}, "'recording_id' is missing"),
    ({"recording_url": ""}, "'recording_url' is missing"),
    ({"recording_duration_ms": "lots"}, "'recording_duration_ms': 'lots' is not a number"),
    ({"recording_end_ms": "-5"}, "'recording_end_ms': '-5' is not a number >= 0"),
    ({"recording_start_ms": ["1"]}, "'recording_start_ms': ['1'] is not text or a number"),
])
def test_unusable_api_objects_are_refused_naming_the_field(change, message):
    obj = {"recording_id": "r-1", "recording_url": "https://m/r-1.mp3",
           "recording_duration_ms": "1000", "recording_start_ms": "0", "recording_end_ms": "1000",
           **change}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        recording_callback_fields(obj)
