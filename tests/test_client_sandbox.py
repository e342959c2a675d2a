"""The client against the sandbox over real HTTP on 127.0.0.1: listing with filters, deleting,
and a start answered without a recording id matched to its callback by ``api_id``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from callback_sink import Sink

from recording_toolkit import analytics, errors, schema
from recording_toolkit.callbacks import normalise_callback
from recording_toolkit.client import RecordingClient
from recording_toolkit.load import load_journal
from recording_toolkit.sandbox import ManualClock, Sandbox

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def client_for(sb: Sandbox, **kw) -> RecordingClient:
    return RecordingClient(sb.auth_id, sb.auth_token, base_url=sb.base_url, rate_limit=None,
                           **kw)


@pytest.fixture
def listed(auth_id, auth_token, clock):
    """12 recordings of 30 s on three conferences, one a minute."""
    with Sandbox(auth_id=auth_id, auth_token=auth_token, seed=5, clock=clock,
                 durations=lambda rng: 10 * 3600) as sb, client_for(sb) as client:
        for i in range(12):
            client.start_recording(f"conf-{i % 3}")
            clock.advance(30)
            client.stop_recording(f"conf-{i % 3}")
            clock.advance(30)
        clock.advance(60)
        yield sb


SPAN = {"since": T0 - timedelta(days=1), "until": T0 + timedelta(days=1)}


def test_filters_reach_the_sandbox_and_are_applied(listed):
    with client_for(listed) as client:
        everything = list(client.iter_recordings(limit=5, **SPAN))
        conf1 = list(client.iter_recordings(conference_name="conf-1", limit=2, **SPAN))
        later = list(client.iter_recordings(add_time__gte=datetime(2026, 11, 2, 9, 6,
                                                                   tzinfo=UTC)))
        fresh = list(client.iter_recordings(recording_storage_duration__lte=1, **SPAN))
        old = list(client.iter_recordings(recording_storage_duration__gt=1, **SPAN))
    assert len(everything) == 12
    assert len(conf1) == 4 and {r["conference_name"] for r in conf1} == {"conf-1"}
    assert 0 < len(later) < 12
    assert len(fresh) == 12 and old == []


def test_delete_then_get_is_404_and_deleting_again_is_already_deleted(listed, tmp_path):
    journal = tmp_path / "journal.jsonl"
    with client_for(listed, journal=journal) as client:
        ids = [r["recording_id"] for r in client.iter_recordings(conference_name="conf-0",
                                                                 **SPAN)]
        dry = client.delete_recordings(ids, dry_run=True, progress=False)
        assert len(list(client.iter_recordings(**SPAN))) == 12  # the dry run deleted nothing
        first = client.delete_recordings(ids, progress=False)
        again = client.delete_recordings(ids[:1], progress=False)
        with pytest.raises(errors.NotFoundError):
            client.get_recording(ids[0])
        left = list(client.iter_recordings(**SPAN))
    assert len(ids) == 4
    assert dry["status"].tolist() == ["would_delete"] * 4
    assert first["status"].tolist() == ["deleted"] * 4
    assert again["status"].tolist() == ["already_deleted"]
    assert len(left) == 8 and not {r["recording_id"] for r in left} & set(ids)
    frame = load_journal(journal)
    assert frame["action"].astype(str).tolist() == ["delete"] * 5
    assert frame["status"].tolist() == [204] * 4 + [404]


def test_a_start_answered_without_recording_id_is_reconciled_by_api_id(auth_id, auth_token,
                                                                        clock, tmp_path):
    journal = tmp_path / "journal.jsonl"
    with Sink() as sink, Sandbox(auth_id=auth_id, auth_token=auth_token, seed=3, clock=clock,
                                 durations=lambda rng: 10 * 3600,
                                 async_answer=True) as sb:
        with client_for(sb, journal=journal) as client:
            result = client.start_recording("pending room", callback_url=sink.url("/rec"))
            clock.advance(60)
            client.stop_recording("pending room")
        assert result.pending and result.recording_id is None and result.api_id
        journalled = load_journal(journal)
        recordings = schema.empty(schema.RECORDINGS)
        missing = analytics.missing_recording_callbacks(recordings, journalled)
        assert missing["api_id"].tolist() == [result.api_id]  # started, no callback yet

        clock.advance(3600)
        assert sb.wait_idle(20)
    (delivery,) = sink.of("/rec")
    event = normalise_callback(delivery["params"])
    assert event.payload["api_id"] == result.api_id
    recordings = schema.coerce(pd.DataFrame({
        "recording_id": [event.recording_id], "api_id": [event.payload["api_id"]],
        "conference_name": ["pending room"]}), schema.RECORDINGS)
    assert analytics.missing_recording_callbacks(recordings, journalled).empty
