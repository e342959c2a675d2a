"""Reconciliation with the journal, data quality and the selection, on hand-built frames."""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_data import journal_frame, recordings_frame, transcriptions_frame

from recording_toolkit import analytics, schema


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _journal() -> pd.DataFrame:
    return journal_frame([
        # r6 started and answered, but its callback never came
        {"time": _ts("2026-11-09 13:00"), "action": "start", "conference_name": "gamma",
         "transcription_type": "auto", "ok": True, "status": 202, "api_id": "api-r6",
         "recording_id": "r6", "may_have_started": False},
        # a start for delta that got a 500: it may have started a recording (rZ below)
        {"time": _ts("2026-11-05 08:00"), "action": "start", "conference_name": "delta",
         "ok": False, "status": 500, "may_have_started": True},
        {"time": _ts("2026-11-05 09:00"), "action": "stop", "conference_name": "delta",
         "ok": True, "status": 204},
    ])


def _with_orphan_recording() -> pd.DataFrame:
    orphan = schema.coerce(pd.DataFrame({
        "recording_id": ["rZ", "rY"], "conference_name": ["delta", "omega"],
        "recording_duration_ms": [60_000, 60_000],
        "recording_start": [_ts("2026-11-05 08:00:02"), _ts("2026-11-05 08:00:02")],
        "recording_end": [_ts("2026-11-05 08:01:02"), _ts("2026-11-05 08:01:02")],
        "received_at": [_ts("2026-11-05 08:01:04"), _ts("2026-11-05 08:01:04")],
        "backfilled": [False, False]}), schema.RECORDINGS)
    return pd.concat([recordings_frame(), orphan], ignore_index=True)


def test_started_without_callback():
    missing = analytics.missing_recording_callbacks(recordings_frame(), _journal())
    assert missing["recording_id"].tolist() == ["r6"]
    assert missing["transcription_requested"].tolist() == [True]
    assert missing["backfilled"].tolist() == [False]


def test_backfilled_recordings_are_marked_not_hidden():
    rec = recordings_frame()
    backfilled = schema.coerce(pd.DataFrame({
        "recording_id": ["r6"], "conference_name": ["gamma"], "recording_duration_ms": [5_000],
        "backfilled": [True]}), schema.RECORDINGS)
    rec = pd.concat([rec, backfilled], ignore_index=True)
    missing = analytics.missing_recording_callbacks(rec, _journal())
    assert missing[["recording_id", "backfilled"]].values.tolist() == [["r6", True]]
    counts = analytics.reconcile(rec, transcriptions_frame(), _journal()).counts()
    assert counts["recording_callbacks_missing"] == 0
    assert counts["recording_callbacks_backfilled"] == 1
    assert counts["backfilled_recordings"] == 1


def test_callbacks_nobody_here_started():
    unexpected = analytics.unexpected_callbacks(_with_orphan_recording(), _journal())
    # rZ follows delta's unanswered start by 2 s; omega has no start at all.
    assert unexpected[["recording_id", "unanswered_start"]].values.tolist() == [
        ["rZ", True], ["rY", False]]
    later = _journal()
    later.loc[later["conference_name"] == "delta", "time"] = _ts("2026-11-05 07:50")
    assert not analytics.unexpected_callbacks(_with_orphan_recording(), later,
                                              window="5min")["unanswered_start"].any()


def test_transcriptions_requested_but_missing_after_the_threshold():
    rec, tr = recordings_frame(), transcriptions_frame()
    # Asked for: r1..r4 (r5's start asked for none); r1..r4 all have their transcription.
    assert analytics.missing_transcriptions(rec, tr, _journal(), now="2026-12-01").empty
    without_r3 = tr[tr["recording_id"] != "r3"]
    # r3 ended 2026-11-03 08:10; 1 h threshold; now 10:10 -> overdue by one hour.
    late = analytics.missing_transcriptions(rec, without_r3, _journal(), now="2026-11-03 10:10")
    assert late["recording_id"].tolist() == ["r3"]
    assert late["overdue"].tolist() == [pd.Timedelta(hours=1)]
    assert analytics.missing_transcriptions(rec, without_r3, _journal(), threshold="3h",
                                            now="2026-11-03 10:10").empty
    # By default "now" is the latest callback in the data (2026-11-09 12:01:03 for r5).
    assert analytics.missing_transcriptions(rec, without_r3, _journal())["recording_id"] \
        .tolist() == ["r3"]
    with pytest.raises(ValueError, match="threshold"):
        analytics.missing_transcriptions(rec, tr, _journal(), threshold="-1h")


def test_reconcile_counts_add_up():
    rec = _with_orphan_recording()
    counts = analytics.reconcile(rec, transcriptions_frame(), _journal(), now="2026-12-01").counts()
    assert counts == {"started": 6, "recording_callbacks_missing": 1,
                      "recording_callbacks_backfilled": 0, "backfilled_recordings": 0,
                      "unexpected_callbacks": 2, "unexpected_after_unanswered_start": 1,
                      # rZ and rY: no journal line asking for transcription -> not judged
                      "transcriptions_missing": 0}


def test_journal_without_needed_columns_is_named():
    with pytest.raises(ValueError, match="may_have_started"):
        analytics.reconcile(recordings_frame(), transcriptions_frame(),
                            _journal().drop(columns=["may_have_started"]))


def test_data_quality_findings():
    rec = recordings_frame()
    ids = rec["recording_id"]
    rec.loc[ids == "r1", "recording_duration_ms"] = 0                 # non-positive
    rec.loc[ids == "r2", "recording_end"] = _ts("2026-11-02 09:59")   # before its start
    rec.loc[ids == "r3", "recording_duration"] = 500                   # 500 s vs 600,000 ms
    rec.loc[ids == "r5", "received_at"] = _ts("2027-06-01")           # in the future
    tr = transcriptions_frame()
    tr.loc[tr["recording_id"] == "rX", "received_at"] = _ts("2027-06-01")
    findings = analytics.data_quality(rec, tr, now="2026-12-01")
    got = sorted(map(tuple, findings[["check", "event", "recording_id"]].values.tolist()))
    assert got == sorted([
        ("non_positive_duration", "recording", "r1"),
        ("duration_fields_disagree", "recording", "r1"),      # 30 s vs 0 ms
        ("duration_disagrees_with_times", "recording", "r1"),  # end - start = 30 s vs 0 ms
        ("end_before_start", "recording", "r2"),
        ("duration_fields_disagree", "recording", "r3"),
        ("in_the_future", "recording", "r5"),
        ("in_the_future", "transcription", "rX"),
    ])
    detail = findings.loc[findings["check"] == "end_before_start", "detail"].item()
    assert "2026-11-02T09:59:00+00:00" in detail
    counts = analytics.quality_counts(findings)
    assert list(counts) == list(analytics.QUALITY_CHECKS)
    assert counts["in_the_future"] == 2 and counts["duration_fields_disagree"] == 2


def test_clean_data_has_no_findings():
    findings = analytics.data_quality(recordings_frame(), transcriptions_frame(), now="2026-12-01")
    assert findings.empty and list(findings.columns) == ["check", "event", "recording_id",
                                                         "detail"]
    assert set(analytics.quality_counts(findings).values()) == {0}


def test_select_by_time_and_conference():
    rec, tr = recordings_frame(), transcriptions_frame()
    chosen, transcribed = analytics.select(rec, tr, since="2026-11-03", until="2026-11-09")
    assert chosen["recording_id"].tolist() == ["r3", "r4"]
    assert transcribed["recording_id"].tolist() == ["r3", "r4"]
    chosen, transcribed = analytics.select(rec, tr, conferences=["alpha", "gamma"])
    assert chosen["recording_id"].tolist() == ["r1", "r2", "r5"]
    assert transcribed["recording_id"].tolist() == ["r1", "r2"]
    same, all_tr = analytics.select(rec, tr)
    assert same is rec and all_tr is tr  # no filter: orphan rX kept
    with pytest.raises(ValueError, match="until"):
        analytics.select(rec, tr, since="2026-11-05", until="2026-11-04")


# -- starts answered without a recording id -------------------------------------------------------

def _pending_journal() -> pd.DataFrame:
    """A start Plivo accepted with only an api_id (the id was pending), then a delete line."""
    return schema.coerce(pd.DataFrame([
        {"time": _ts("2026-11-10 09:00"), "action": "start", "conference_name": "pend",
         "transcription_type": "auto", "ok": True, "status": 202, "api_id": "api-pending",
         "recording_id": None, "may_have_started": False},
        {"time": _ts("2026-11-10 11:00"), "action": "delete", "ok": True, "status": 204,
         "recording_id": "rP-old"},
    ]), schema.JOURNAL)


def _pending_callback(rid: str = "rP") -> pd.DataFrame:
    return schema.coerce(pd.DataFrame({
        "recording_id": [rid], "api_id": ["api-pending"], "conference_name": ["pend"],
        "recording_duration_ms": [60_000],
        "recording_start": [_ts("2026-11-10 09:00:01")],
        "recording_end": [_ts("2026-11-10 09:01:01")],
        "received_at": [_ts("2026-11-10 09:01:03")], "backfilled": [False]}),
        schema.RECORDINGS)


def test_a_pending_start_is_missing_until_a_callback_repeats_its_api_id():
    no_callback = schema.empty(schema.RECORDINGS)
    missing = analytics.missing_recording_callbacks(no_callback, _pending_journal())
    assert missing["api_id"].tolist() == ["api-pending"]
    assert missing["recording_id"].isna().tolist() == [True]
    assert missing["conference_name"].tolist() == ["pend"]

    rec = _pending_callback()
    assert analytics.missing_recording_callbacks(rec, _pending_journal()).empty
    assert analytics.unexpected_callbacks(rec, _pending_journal()).empty
    result = analytics.reconcile(rec, schema.empty(schema.TRANSCRIPTIONS), _pending_journal(),
                                 now=_ts("2026-11-10 12:00"))
    counts = result.counts()
    assert counts["started"] == 1
    assert counts["recording_callbacks_missing"] == 0
    assert counts["unexpected_callbacks"] == 0
    # the start asked for a transcript: the matched recording's transcript is now overdue
    assert result.missing_transcriptions["recording_id"].tolist() == ["rP"]


def test_a_callback_with_another_api_id_does_not_satisfy_a_pending_start():
    rec = _pending_callback().assign(api_id=pd.array(["api-other"], dtype="string"))
    missing = analytics.missing_recording_callbacks(rec, _pending_journal())
    assert missing["api_id"].tolist() == ["api-pending"]
    assert analytics.unexpected_callbacks(rec, _pending_journal())["recording_id"].tolist() == \
        ["rP"]


def test_a_delete_line_does_not_vouch_for_a_callback():
    rec = _pending_callback("rP-old")
    rec = rec.assign(api_id=pd.array(["api-x"], dtype="string"))
    assert analytics.unexpected_callbacks(rec, _pending_journal())["recording_id"].tolist() == \
        ["rP-old"]
