"""The request journal (journal.py): the contract's line format, safe concurrent appends."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recording_toolkit.callback_log import format_timestamp
from recording_toolkit.journal import (
    JOURNAL_OPTION_KEYS,
    RequestJournal,
    format_time,
    journal_record,
)

CONTRACT_KEYS = ["time", "action", "conference_name", "options", "ok", "status", "api_id",
                 "recording_id", "error_type", "error", "may_have_started", "attempts",
                 "latency_ms"]


def test_record_has_exactly_the_contract_keys_in_order():
    record = journal_record(time="2026-11-24T10:15:02.123456Z", action="start",
                            conference_name="weekly sync",
                            options={"file_format": "mp3", "callback_method": "POST"}, ok=True,
                            status=202, api_id="a", recording_id="r", attempts=1,
                            latency_ms=41.71234)
    assert list(record) == CONTRACT_KEYS
    assert list(record["options"]) == list(JOURNAL_OPTION_KEYS)
    assert record["options"] == {"file_format": "mp3", "transcription_type": None,
                                 "transcription_url": None, "callback_url": None,
                                 "callback_method": "POST"}
    assert record["latency_ms"] == 41.712
    assert record["error"] is None and record["may_have_started"] is False


def test_unknown_option_keys_are_refused():
    with pytest.raises(ValueError, match="auth_token"):
        journal_record(time="t", action="start", conference_name="c", ok=True,
                       options={"auth_token": "x"})


def test_format_time_is_utc_with_microseconds():
    moment = datetime(2026, 11, 24, 11, 15, 2, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(moment) == "2026-11-24T10:15:02.000005Z"


def test_lines_round_trip_and_keep_non_ascii(tmp_path):
    path = tmp_path / "journal.jsonl"
    with RequestJournal(path) as journal:
        for name in ["réunion ☕", "weekly sync"]:
            journal.append(journal_record(time=format_time(datetime.now(UTC)), action="start",
                                          conference_name=name, ok=False, error="x\ny"))
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 2
    assert "réunion ☕".encode() in raw  # readable, not \u-escaped
    lines = [json.loads(line) for line in raw.decode().splitlines()]
    assert [line["conference_name"] for line in lines] == ["réunion ☕", "weekly sync"]
    assert lines[0]["error"] == "x\ny"


def test_appends_to_an_existing_journal(tmp_path):
    path = tmp_path / "journal.jsonl"
    for n in range(2):
        with RequestJournal(path) as journal:
            journal.append({"n": n})
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [0, 1]


def test_nothing_is_created_until_the_first_line(tmp_path):
    path = tmp_path / "deep" / "er" / "journal.jsonl"
    journal = RequestJournal(path)
    journal.close()
    assert not path.parent.exists()
    with RequestJournal(path) as journal:
        journal.append({"n": 1})
    assert path.exists()


def test_concurrent_appends_never_interleave(tmp_path):
    path = tmp_path / "journal.jsonl"
    journals = [RequestJournal(path), RequestJournal(path)]  # two writers on one file, too
    padding = "x" * 3000

    def work(k: int) -> None:
        for i in range(200):
            journals[k % 2].append({"thread": k, "i": i, "pad": padding})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for journal in journals:
        journal.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 1200
    assert sorted((line["thread"], line["i"]) for line in lines) == [
        (k, i) for k in range(6) for i in range(200)]


def test_a_closed_journal_refuses_lines(tmp_path):
    journal = RequestJournal(tmp_path / "j.jsonl")
    journal.close()
    assert journal.closed and "closed" in repr(journal)
    with pytest.raises(ValueError, match="closed"):
        journal.append({"n": 1})


def test_values_json_cannot_hold_are_refused(tmp_path):
    with RequestJournal(tmp_path / "j.jsonl") as journal, pytest.raises(ValueError):
        journal.append({"latency_ms": float("nan")})


def _journal_format_on_disk(moment: datetime) -> str:
    """How journal times were always written (journals on disk hold this text)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2199, 12, 31),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                               timezone(timedelta(hours=-8))])))
def test_the_journal_and_the_callback_log_write_one_time_format(moment):
    assert format_time(moment) == format_timestamp(moment) == _journal_format_on_disk(moment)


def test_time_stamps_are_the_text_already_on_disk():
    assert format_timestamp(datetime(2026, 11, 24, 10, 15, 2, tzinfo=UTC)) == \
        "2026-11-24T10:15:02.000000Z"
    assert format_timestamp(datetime(2026, 11, 24, 10, 15, 2, 123456, tzinfo=UTC)) == \
        "2026-11-24T10:15:02.123456Z"
    naive = datetime(2026, 11, 24, 10, 15, 2, 7)  # local time, as astimezone() reads it
    assert format_timestamp(naive) == _journal_format_on_disk(naive)
    # finer than microseconds (a pandas Timestamp) is cut, never written as nanoseconds
    stamp = pd.Timestamp("2026-11-24T10:15:02.123456789", tz="UTC")
    assert format_timestamp(stamp) == "2026-11-24T10:15:02.123456Z"
