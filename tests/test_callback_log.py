"""The callback log (recording_toolkit.callback_log): durability, group commit, idempotency."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recording_toolkit.callback_log import (
    CallbackLog,
    default_instance_id,
    encode_envelope,
    envelope_digest,
    log_dir_problem,
)
from recording_toolkit.callbacks import CallbackEvent, normalise_callback
from recording_toolkit.errors import CallbackError, ConfigurationError

DAY = datetime(2026, 11, 24, 10, 15, 2, 123456, tzinfo=UTC)


def recording(recording_id: str, **extra: str) -> CallbackEvent:
    return normalise_callback({"recording_id": recording_id, "recording_duration_ms": "345100",
                               "record_url": f"https://media.example/{recording_id}.mp3", **extra})


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def all_callback_lines(folder: Path) -> list[dict]:
    return [line for path in sorted(folder.glob("callbacks-*.jsonl")) for line in lines_of(path)]


class FsyncGate:
    """Wraps os.fsync: records which files were synced; can hold or fail callback-file syncs."""

    def __init__(self, real, *, hold: int = 0, fail: int = 0, only: str = "") -> None:
        self.real = real
        self.hold = hold        # hold this many callback-file fsyncs until release is set
        self.fail = fail        # then fail this many with EIO
        self.only = only        # hold or fail only files whose path contains this
        self.entered = threading.Event()
        self.release = threading.Event()
        self.synced: list[str] = []
        self.lines_at_entry: list[int] = []

    def __call__(self, fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if re.search(r"/callbacks-[^/]*\.jsonl$", path):
            self.synced.append(path)
            if self.only not in path:
                pass
            elif self.hold:
                self.hold -= 1
                with open(path, "rb") as fh:
                    self.lines_at_entry.append(fh.read().count(b"\n"))
                self.entered.set()
                assert self.release.wait(10), "test never released the fsync"
            elif self.fail:
                self.fail -= 1
                raise OSError(errno.EIO, "simulated disk failure")
        self.real(fd)


@pytest.fixture
def gate(monkeypatch):
    def install(**kwargs) -> FsyncGate:
        spy = FsyncGate(os.fsync, **kwargs)
        monkeypatch.setattr(os, "fsync", spy)
        return spy
    return install


def test_line_is_the_contract_envelope_in_a_per_day_per_instance_file(tmp_path):
    with CallbackLog(tmp_path, instance_id="rx-1", clock=lambda: DAY) as log:
        result = log.append(recording("r1"), verified=True)
        unverified = log.append(normalise_callback(
            {"recording_id": "r1", "transcription": "Grüße — 你好", "error": ""}), verified=False)
    path = tmp_path / "callbacks-2026-11-24-rx-1.jsonl"
    assert result.stored and result.path == path == unverified.path
    assert result.received_at == "2026-11-24T10:15:02.123456Z"
    first, second = lines_of(path)
    assert first == {"event": "recording", "received_at": "2026-11-24T10:15:02.123456Z",
                     "verified": True, "source": "callback",
                     "payload": {"recording_id": "r1", "recording_duration_ms": "345100",
                                 "record_url": "https://media.example/r1.mp3"}}
    assert second["event"] == "transcription" and second["verified"] is False
    assert "Grüße — 你好" in path.read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_a_new_utc_day_starts_a_new_file(tmp_path):
    times = iter([datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC),
                  datetime(2026, 11, 25, 0, 0, 0, 1, tzinfo=UTC)])
    with CallbackLog(tmp_path, instance_id="rx", clock=lambda: next(times)) as log:
        log.append(recording("late"))
        log.append(recording("early"))
    assert [p.name for p in sorted(tmp_path.glob("callbacks-*"))] == [
        "callbacks-2026-11-24-rx.jsonl", "callbacks-2026-11-25-rx.jsonl"]


MIDNIGHT = [datetime(2026, 11, 24, 23, 59, 59, 900000, tzinfo=UTC),
            datetime(2026, 11, 25, 0, 0, 0, 100000, tzinfo=UTC),
            datetime(2026, 11, 25, 0, 0, 0, 200000, tzinfo=UTC),
            datetime(2026, 11, 25, 0, 0, 0, 300000, tzinfo=UTC)]


def append_in_one_batch(log: CallbackLog, ids: list[str]) -> list:
    """Append from one event loop in one iteration: the lines reach the writer as one batch."""
    async def main() -> list:
        return await asyncio.gather(*(log.append_async(recording(rid)) for rid in ids),
                                    return_exceptions=True)
    return asyncio.run(main())


@pytest.mark.parametrize("order", [[0, 1, 2], [1, 0, 2]], ids=["in order", "a late line"])
def test_a_batch_across_midnight_syncs_both_day_files_before_answering(tmp_path, gate, order):
    spy = gate()
    times = iter([*(MIDNIGHT[i] for i in order), MIDNIGHT[3]])
    ids = [["late", "early", "later"][i] for i in order]
    with CallbackLog(tmp_path, instance_id="rx", clock=lambda: next(times)) as log:
        results = append_in_one_batch(log, ids)
        assert log.append(recording("next")).stored  # the day's file is still usable after
        counts = log.counts
    assert counts["batches"] == 2  # all three lines were written by the first batch
    assert [getattr(r, "stored", r) for r in results] == [True, True, True]
    day1, day2 = (tmp_path / f"callbacks-2026-11-{d}-rx.jsonl" for d in (24, 25))
    # each day's file was fsynced itself (not the other file, not a closed descriptor)
    assert sorted(spy.synced[:2]) == [str(day1), str(day2)]
    assert [line["payload"]["recording_id"] for line in lines_of(day1)] == ["late"]
    assert [line["payload"]["recording_id"] for line in lines_of(day2)] == \
        ["early", "later", "next"]


def test_a_failed_sync_of_one_day_fails_only_that_days_lines(tmp_path, gate):
    gate(fail=1, only="2026-11-24")
    times = iter([*MIDNIGHT[:3], MIDNIGHT[0]])
    with CallbackLog(tmp_path, instance_id="rx", clock=lambda: next(times)) as log:
        late, early, later = append_in_one_batch(log, ["late", "early", "later"])
        assert isinstance(late, OSError) and "simulated disk failure" in str(late)
        assert early.stored and later.stored  # the other day's file was durable
        assert not log.contains(recording("late"))
        assert log.append(recording("late")).stored  # the sender's retry
    day1, day2 = (tmp_path / f"callbacks-2026-11-{d}-rx.jsonl" for d in (24, 25))
    assert [line["payload"]["recording_id"] for line in lines_of(day1)] == ["late"]  # once
    assert [line["payload"]["recording_id"] for line in lines_of(day2)] == ["early", "later"]


class DirSyncSpy:
    """Wraps os.fsync: records every path synced; fails the first ``fail`` directory syncs."""

    def __init__(self, real, fail: int = 0) -> None:
        self.real = real
        self.fail = fail
        self.synced: list[str] = []

    def __call__(self, fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if os.path.isdir(path) and self.fail:
            self.fail -= 1
            raise OSError(errno.EIO, "simulated directory sync failure")
        self.real(fd)
        self.synced.append(path)


def test_a_new_files_name_is_synced_before_its_first_line_is_acknowledged(tmp_path, monkeypatch):
    spy = DirSyncSpy(os.fsync)
    monkeypatch.setattr(os, "fsync", spy)
    with CallbackLog(tmp_path, instance_id="rx", clock=lambda: DAY) as log:
        first = log.append(recording("r1"))
        synced_for_first = list(spy.synced)
        log.append(recording("r2"))
    assert first.stored
    assert synced_for_first.count(str(tmp_path)) == 1 and str(first.path) in synced_for_first
    assert spy.synced.count(str(tmp_path)) == 1  # once per new file, not per batch


def test_a_failed_directory_sync_is_not_acknowledged_and_is_retried(tmp_path, monkeypatch):
    spy = DirSyncSpy(os.fsync, fail=1)
    monkeypatch.setattr(os, "fsync", spy)
    with CallbackLog(tmp_path, instance_id="rx", clock=lambda: DAY) as log:
        with pytest.raises(OSError, match="simulated directory sync failure"):
            log.append(recording("r1"))
        assert not log.contains(recording("r1"))
        spy.synced.clear()
        assert log.append(recording("r1")).stored  # the retry, once the disk works again
        # the file already exists now, but its name was never made durable: synced this time
        assert str(tmp_path) in spy.synced
    assert [line["payload"]["recording_id"] for line in all_callback_lines(tmp_path)] == ["r1"]


def test_append_is_acknowledged_only_after_its_line_is_fsynced(tmp_path, gate):
    spy = gate(hold=1)
    with CallbackLog(tmp_path, instance_id="rx") as log:
        future = log.submit(recording("r1"))
        assert spy.entered.wait(5)
        # the line is written and being synced, but nobody has been told it is stored
        assert spy.lines_at_entry == [1]
        assert not future.done()
        assert not log.contains(recording("r1"))
        spy.release.set()
        assert future.result(5).stored
        assert log.contains(recording("r1"))


def test_concurrent_requests_share_one_fsync_and_none_is_acknowledged_early(tmp_path, gate):
    spy = gate(hold=1)
    with CallbackLog(tmp_path, instance_id="rx") as log:
        first = log.submit(recording("r0"))
        assert spy.entered.wait(5)
        with ThreadPoolExecutor(10) as pool:
            waiting = list(pool.map(lambda i: log.submit(recording(f"r{i}")), range(1, 51)))
        assert not any(f.done() for f in waiting)
        spy.release.set()
        results = [f.result(5) for f in [first, *waiting]]
    assert all(r.stored for r in results)
    assert len(spy.synced) == 2  # the first batch, then all 50 queued requests together
    assert sorted(line["payload"]["recording_id"] for line in all_callback_lines(tmp_path)) == \
        sorted(f"r{i}" for i in range(51))


def test_many_threads_lines_never_interleave_and_each_callback_is_stored_once(tmp_path):
    shared = [recording(f"shared-{i}") for i in range(50)]  # every thread sends these too

    def sender(thread: int) -> list[bool]:
        own = [recording(f"t{thread}-{i}", api_id=str(i)) for i in range(150)]
        return [log.append(event).stored for event in own + shared]

    with CallbackLog(tmp_path, instance_id="rx") as log, ThreadPoolExecutor(8) as pool:
        stored = [flag for flags in pool.map(sender, range(8)) for flag in flags]
        counts = log.counts
    assert sum(stored) == 8 * 150 + 50
    assert counts["stored"] == 8 * 150 + 50 and counts["duplicates"] == 7 * 50
    assert counts["batches"] < counts["stored"]  # group commit happened
    lines = all_callback_lines(tmp_path)  # every line parses
    ids = [line["payload"]["recording_id"] for line in lines]
    assert len(ids) == len(set(ids)) == 8 * 150 + 50


def test_a_duplicate_of_a_callback_still_being_written_waits_for_it(tmp_path, gate):
    spy = gate(hold=1)
    with CallbackLog(tmp_path, instance_id="rx") as log:
        original = log.submit(recording("r1"))
        assert spy.entered.wait(5)
        again = log.submit(recording("r1"))
        assert not again.done()  # cannot claim "already stored" before it is durable
        spy.release.set()
        assert original.result(5).stored
        assert again.result(5).duplicate
    assert len(all_callback_lines(tmp_path)) == 1


def test_different_payload_for_the_same_recording_is_stored(tmp_path):
    with CallbackLog(tmp_path) as log:
        assert log.append(recording("r1")).stored
        assert log.append(recording("r1", recording_duration="345")).stored
        assert log.append(recording("r1")).duplicate
        # same fields as a transcription is a different callback
        assert log.append(CallbackEvent("transcription", recording("r1").payload)).stored


def test_idempotent_across_a_restart(tmp_path):
    events = [recording(f"r{i}") for i in range(20)]
    with CallbackLog(tmp_path, instance_id="before") as log:
        for event in events[:10]:
            log.append(event)
    with CallbackLog(tmp_path, instance_id="after") as log:
        assert log.index_stats == {"files": 1, "lines": 10, "unreadable_lines": 0}
        assert len(log) == 10
        results = [log.append(event) for event in events]
    assert [r.stored for r in results] == [False] * 10 + [True] * 10
    assert len(all_callback_lines(tmp_path)) == 20
    assert not list(tmp_path.glob(".callbacks-*.lock"))  # lock files released


def test_redelivery_after_restart_with_the_same_instance_id(tmp_path):
    with CallbackLog(tmp_path, instance_id="rx") as log:
        log.append(recording("r1"))
    with CallbackLog(tmp_path, instance_id="rx") as log:
        assert log.append(recording("r1")).duplicate
        assert log.append(recording("r2")).stored
    assert [p.name for p in tmp_path.glob("callbacks-*")] == [log.files()[0].name]
    assert len(all_callback_lines(tmp_path)) == 2


def test_torn_last_line_gets_a_fresh_line_after_it(tmp_path):
    path = tmp_path / "callbacks-2026-11-24-rx.jsonl"
    good = json.dumps({"event": "recording", "received_at": "2026-11-24T09:00:00.000000Z",
                       "verified": True, "payload": {"recording_id": "r0"}})
    torn = '{"event": "recording", "received_at": "2026-11-24T09:00:01.0'
    path.write_text(good + "\n" + torn, encoding="utf-8")
    with CallbackLog(tmp_path, instance_id="rx", clock=lambda: DAY) as log:
        assert log.index_stats["unreadable_lines"] == 1
        assert log.append(normalise_callback({"recording_id": "r0"}, kind="recording")).duplicate
        assert log.append(recording("r1")).path == path
    raw = path.read_text(encoding="utf-8").split("\n")
    assert raw[0] == good and raw[1] == torn and raw[3] == ""
    assert json.loads(raw[2])["payload"]["recording_id"] == "r1"


def test_a_failed_fsync_is_not_acknowledged_and_leaves_nothing_behind(tmp_path, gate):
    gate(fail=1)
    with CallbackLog(tmp_path, instance_id="rx") as log:
        with pytest.raises(OSError, match="simulated disk failure"):
            log.append(recording("r1"))
        assert not log.contains(recording("r1"))
        # the sender retries; now the disk works and the callback is stored exactly once
        assert log.append(recording("r1")).stored
        assert log.append(recording("r2")).stored
    assert [line["payload"]["recording_id"] for line in all_callback_lines(tmp_path)] == \
        ["r1", "r2"]


def test_async_appends_share_fsyncs_without_blocking_the_event_loop(tmp_path, gate):
    spy = gate(hold=1)

    async def main(log: CallbackLog) -> list:
        first = asyncio.ensure_future(log.append_async(recording("r0")))
        assert await asyncio.to_thread(spy.entered.wait, 5)
        rest = [asyncio.ensure_future(log.append_async(recording(f"r{i}"))) for i in range(1, 100)]
        await asyncio.sleep(0.01)  # the loop keeps running while the writer is in fsync
        assert not first.done() and not any(task.done() for task in rest)
        spy.release.set()
        return await asyncio.gather(first, *rest)

    with CallbackLog(tmp_path, instance_id="rx") as log:
        results = asyncio.run(main(log))
    assert all(r.stored for r in results) and len(spy.synced) == 2
    assert len(all_callback_lines(tmp_path)) == 100


def test_async_failed_fsync_reaches_every_waiter_and_a_retry_is_stored_once(tmp_path, gate):
    gate(fail=1)

    async def main(log: CallbackLog) -> list:
        first = await asyncio.gather(*(log.append_async(recording(f"r{i}")) for i in range(5)),
                                     return_exceptions=True)
        retried = await asyncio.gather(*(log.append_async(recording(f"r{i}")) for i in range(5)))
        return [first, retried]

    with CallbackLog(tmp_path, instance_id="rx") as log:
        first, retried = asyncio.run(main(log))
    assert all(isinstance(r, OSError) for r in first)  # one batch, one failed fsync: none stored
    assert all(r.stored for r in retried)
    assert sorted(line["payload"]["recording_id"] for line in all_callback_lines(tmp_path)) == \
        [f"r{i}" for i in range(5)]


def test_lines_of_an_event_loop_that_stopped_are_written_at_close(tmp_path):
    loop = asyncio.new_event_loop()
    log = CallbackLog(tmp_path, instance_id="rx")
    try:
        task = loop.create_task(log.append_async(recording("r1")))
        # one step: the task queues its line and schedules the flush, which never runs
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert not task.done() and all_callback_lines(tmp_path) == []
        log.close()
        assert [line["payload"]["recording_id"] for line in all_callback_lines(tmp_path)] == \
            ["r1"]
        assert loop.run_until_complete(task).stored  # and its caller hears so once it runs
    finally:
        log.close()
        loop.close()
    with CallbackLog(tmp_path, instance_id="rx") as again:  # and it is known after a restart
        assert again.append(recording("r1")).duplicate


def test_a_blocking_duplicate_on_the_loop_thread_does_not_wait_for_that_loop(tmp_path):
    """A blocking append() from a coroutine holds up its own event loop; when it duplicates a
    line still collecting on that loop, it must not wait for the loop to flush it."""
    async def main(log: CallbackLog) -> tuple:
        first = asyncio.ensure_future(log.append_async(recording("r1")))
        await asyncio.sleep(0)  # the task runs: its line collects on this loop, unflushed
        again = log.append(recording("r1"), timeout=10)  # blocks this loop's thread
        return again, await first

    with CallbackLog(tmp_path, instance_id="rx") as log:
        again, first = asyncio.run(main(log))
    assert first.stored and again.duplicate
    assert len(all_callback_lines(tmp_path)) == 1


def test_a_blocking_duplicate_of_a_line_being_synced_is_answered_by_the_writer(tmp_path, gate):
    spy = gate(hold=1)

    async def main(log: CallbackLog) -> tuple:
        first = asyncio.ensure_future(log.append_async(recording("r1")))
        assert await asyncio.to_thread(spy.entered.wait, 5)  # the writer is in its fsync
        threading.Timer(0.2, spy.release.set).start()
        again = log.append(recording("r1"), timeout=10)  # this loop's thread is blocked here
        return again, await first

    with CallbackLog(tmp_path, instance_id="rx") as log:
        again, first = asyncio.run(main(log))
    assert first.stored and again.duplicate
    assert len(all_callback_lines(tmp_path)) == 1


def test_event_loops_and_threads_at_once_store_each_callback_once(tmp_path):
    """Two event loops in their own threads and four plain threads, all sending overlapping
    callbacks: every caller is answered, every distinct callback is one whole line."""
    ids = [f"r{i:03d}" for i in range(300)]

    def loop_sender(log: CallbackLog, offset: int) -> list:
        async def main() -> list:
            return await asyncio.gather(*(log.append_async(recording(rid))
                                          for rid in ids[offset:] + ids[:offset]))
        return asyncio.run(main())

    def thread_sender(log: CallbackLog, offset: int) -> list:
        return [log.append(recording(rid)) for rid in ids[offset::7]]

    with CallbackLog(tmp_path, instance_id="rx") as log, ThreadPoolExecutor(6) as pool:
        jobs = [pool.submit(loop_sender, log, 0), pool.submit(loop_sender, log, 150)]
        jobs += [pool.submit(thread_sender, log, k) for k in range(4)]
        results = [r for job in jobs for r in job.result(timeout=60)]
        counts = log.counts
    assert len(results) == 600 + sum(len(ids[k::7]) for k in range(4))
    stored = [r.recording_id for r in results if r.stored]
    assert sorted(stored) == ids  # each stored by exactly one caller, the rest are duplicates
    assert counts["stored"] == 300 and counts["duplicates"] == len(results) - 300
    lines = all_callback_lines(tmp_path)
    assert sorted(line["payload"]["recording_id"] for line in lines) == ids


def test_rejected_and_quarantined_records_go_to_their_sub_folders(tmp_path):
    with CallbackLog(tmp_path, instance_id="rx", clock=lambda: DAY) as log:
        rejected = log.reject({"status": 403, "reason": "signature mismatch", "time": "forged"})
        kept = log.quarantine({"reason": "recording_id is missing", "body": "x=\udcff"})
        counts = log.counts
    assert rejected == tmp_path / "_rejected" / "rejected-2026-11-24-rx.jsonl"
    assert kept == tmp_path / "_quarantine" / "quarantine-2026-11-24-rx.jsonl"
    assert lines_of(rejected) == [{"time": "2026-11-24T10:15:02.123456Z", "status": 403,
                                   "reason": "signature mismatch"}]
    assert lines_of(kept)[0]["body"] == "x=\udcff"  # kept losslessly, as ASCII JSON
    assert counts["rejected"] == 1 and counts["quarantined"] == 1 and counts["stored"] == 0
    assert not list(tmp_path.glob("callbacks-*"))


def test_text_that_is_not_valid_unicode_is_refused_with_the_field_name(tmp_path):
    with CallbackLog(tmp_path) as log:
        with pytest.raises(CallbackError, match="'transcription' is not valid Unicode"):
            log.append(CallbackEvent("transcription", {"recording_id": "r1",
                                                       "transcription": "bad \ud800"}))


def test_a_mapping_is_normalised_before_it_is_stored(tmp_path):
    with CallbackLog(tmp_path) as log:
        result = log.append({"RecordingID": "r1", "RecordUrl": "https://x/r1.wav"})
    assert result.event == "recording" and result.recording_id == "r1"
    assert all_callback_lines(tmp_path)[0]["payload"] == {"recording_id": "r1",
                                                          "record_url": "https://x/r1.wav"}


def test_two_open_logs_cannot_share_an_instance_id(tmp_path):
    with CallbackLog(tmp_path, instance_id="rx"):
        with pytest.raises(ConfigurationError, match="'rx' is already writing"):
            CallbackLog(tmp_path, instance_id="rx")
    CallbackLog(tmp_path, instance_id="rx").close()  # free again once closed


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "-x", "x" * 81, "sp ace"])
def test_instance_id_must_be_usable_in_a_file_name(tmp_path, bad):
    with pytest.raises(ConfigurationError, match="instance_id"):
        CallbackLog(tmp_path, instance_id=bad)


@pytest.mark.parametrize("where", ["file", "below a file"])
def test_a_log_dir_that_is_a_file_is_one_clear_error(tmp_path, where):
    file = tmp_path / "hostname"
    file.write_text("not a folder\n")
    log_dir = file if where == "file" else file / "logs" / "today"
    with pytest.raises(ConfigurationError) as info:
        CallbackLog(log_dir)
    assert str(info.value) == f"log_dir: {str(file)!r} is a file, not a folder"
    assert log_dir_problem(log_dir) == f"{str(file)!r} is a file, not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostname"]
    assert file.read_text() == "not a folder\n"


def test_log_dir_problem_finds_nothing_wrong_with_a_folder_it_can_create(tmp_path):
    assert log_dir_problem(tmp_path) is None
    assert log_dir_problem(tmp_path / "new" / "deeper") is None
    assert list(tmp_path.iterdir()) == []  # it only looks


def test_default_instance_ids_are_unique_and_name_the_process():
    first, second = default_instance_id(), default_instance_id()
    assert first != second
    assert re.fullmatch(rf"[A-Za-z0-9-]+-{os.getpid()}-[0-9a-f]{{4}}", first)


def test_closed_log_refuses_appends_and_close_is_idempotent(tmp_path):
    log = CallbackLog(tmp_path)
    log.close()
    log.close()
    assert log.closed and "closed" in repr(log)
    with pytest.raises(RuntimeError, match="closed"):
        log.append(recording("r1"))


# letters of any script, controls (escaped in JSON), spaces and lone surrogates
_ANY_TEXT = st.text(st.characters(categories=["Lu", "Ll", "Lo", "Cc", "Zs", "Po", "Cs"]),
                    max_size=40)


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=8),
       st.dictionaries(st.text(max_size=12), _ANY_TEXT, max_size=8))
@settings(max_examples=200, deadline=None)
def test_lines_and_digests_are_exactly_what_the_json_module_writes(payload, any_payload):
    """The log builds its JSON encoders once (json's own encode rebuilds one per call); the
    text must still be json's, byte for byte."""
    line = encode_envelope("recording", "2026-11-24T10:15:02.000000Z", True, payload)
    expected = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    assert line.decode("utf-8").endswith(f'"payload":{expected}}}\n')
    canonical = json.dumps(["recording", any_payload], sort_keys=True, ensure_ascii=True,
                           separators=(",", ":"))
    assert envelope_digest("recording", any_payload) == hashlib.blake2b(
        canonical.encode("ascii"), digest_size=16).digest()
