"""The sandbox's Transcription resource: the transcription its callback carried, in the shape of
Plivo's SDK fixture, once it is ready; 404 before, without one, or for an unknown recording.
Real HTTP on 127.0.0.1, sandbox time on a ManualClock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from callback_sink import Sink

from recording_toolkit.sandbox import ManualClock, Sandbox

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
#: The SDK fixture's keys (plivo-python tests/resources/fixtures/transcriptionGetResponse.json).
FIXTURE_KEYS = {"api_id", "cost", "rate", "recording_duration_ms", "recording_start_ms", "status",
                "transcription"}


@pytest.fixture
def world(auth_id, auth_token) -> Iterator[tuple[Sandbox, ManualClock, httpx.Client, Sink]]:
    clock = ManualClock(T0)
    with Sandbox(auth_id=auth_id, auth_token=auth_token, seed=5, clock=clock,
                 durations=lambda rng: 10 * 3600) as sb, Sink() as sink, \
            httpx.Client(base_url=f"{sb.base_url}/v1/Account/{auth_id}",
                         auth=(auth_id, auth_token), timeout=10) as client:
        yield sb, clock, client, sink


def start(client: httpx.Client, name: str, **fields: str) -> str:
    answer = client.post(f"/Conference/{name}/Record/", json=fields)
    assert answer.status_code == 202, answer.text
    return answer.json()["recording_id"]


def stop(client: httpx.Client, name: str) -> None:
    assert client.delete(f"/Conference/{name}/Record/").status_code == 204


def test_serves_the_transcription_its_callback_carried_once_ready(world):
    sb, clock, client, sink = world
    rid = start(client, "standup", transcription_type="auto", transcription_url=sink.url("/tr"))
    clock.advance(95)
    stop(client, "standup")
    assert client.get(f"/Transcription/{rid}/").status_code == 404  # not ready yet
    clock.advance(3600)
    assert sb.wait_idle(30)
    plan = next(p for p in sb.core.dispatcher.plans()
                if p.kind == "transcription" and p.recording_id == rid)
    answer = client.get(f"/Transcription/{rid}/")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == FIXTURE_KEYS
    assert body["status"] == "success"
    assert body["transcription"] == plan.fields["transcription"] != ""
    assert Decimal(str(body["cost"])) == Decimal(plan.fields["transcription_charge"]) > 0
    assert Decimal(str(body["rate"])) == Decimal(plan.fields["transcription_rate"])
    assert body["recording_duration_ms"] == 95_000
    assert body["recording_start_ms"] == int(T0.timestamp() * 1000)
    assert client.get(f"/Transcription/{rid}").status_code == 200  # trailing / optional


def test_404_without_transcription_unknown_or_ineligible_and_other_methods_refused(world):
    sb, clock, client, sink = world
    plain = start(client, "plain")
    short = start(client, "short", transcription_type="auto", transcription_url=sink.url("/tr"))
    clock.advance(0.2)
    stop(client, "short")  # too short to transcribe: the callback carries an error
    clock.advance(60)
    stop(client, "plain")
    clock.advance(3600)
    assert sb.wait_idle(30)
    for rid in (plain, short, "no-such-recording"):
        answer = client.get(f"/Transcription/{rid}/")
        assert answer.status_code == 404, (rid, answer.text)
        assert "not found" in answer.json()["error"]
    refused = client.get(f"/Transcription/{short}/", params={"type": "raw"})
    assert refused.status_code == 400 and refused.json()["error"].startswith("type:")
    deleted = client.delete(f"/Transcription/{short}/")
    assert deleted.status_code == 405 and deleted.headers["Allow"] == "GET"
    wrong = httpx.get(f"{sb.base_url}/v1/Account/{sb.auth_id}/Transcription/{short}/",
                      auth=(sb.auth_id, "wrong token"), timeout=10)
    assert wrong.status_code == 401


def test_both_clients_get_the_transcription_and_raise_not_found_without_one(world):
    import asyncio

    from recording_toolkit.client import AsyncRecordingClient, RecordingClient
    from recording_toolkit.errors import NotFoundError

    sb, clock, client, sink = world
    rid = start(client, "standup", transcription_type="auto", transcription_url=sink.url("/tr"))
    plain = start(client, "plain")
    clock.advance(95)
    stop(client, "standup")
    stop(client, "plain")
    clock.advance(3600)
    assert sb.wait_idle(30)
    with RecordingClient(sb.auth_id, sb.auth_token, base_url=sb.base_url) as sync_client:
        got = sync_client.get_transcription(rid)
        with pytest.raises(NotFoundError):
            sync_client.get_transcription(plain)

    async def fetch() -> dict:
        async with AsyncRecordingClient(sb.auth_id, sb.auth_token,
                                        base_url=sb.base_url) as async_client:
            with pytest.raises(NotFoundError):
                await async_client.get_transcription("no-such-recording")
            return await async_client.get_transcription(rid)

    from_async = asyncio.run(fetch())
    assert {k: v for k, v in from_async.items() if k != "api_id"} == \
        {k: v for k, v in got.items() if k != "api_id"}
    assert got["status"] == "success" and got["recording_duration_ms"] == 95_000
    assert got["transcription"] == client.get(f"/Transcription/{rid}/").json()["transcription"]


def test_the_official_sdk_reads_it_unchanged(world, monkeypatch):
    plivo = pytest.importorskip("plivo")
    from plivo import exceptions as plivo_errors
    from plivo.rest import client as plivo_client

    sb, clock, client, sink = world
    rid = start(client, "standup", transcription_type="auto", transcription_url=sink.url("/tr"))
    clock.advance(95)
    stop(client, "standup")
    clock.advance(3600)
    assert sb.wait_idle(30)
    for name in ("API_VOICE_BASE_URI", "API_VOICE_BASE_URI_FALLBACK_1",
                 "API_VOICE_BASE_URI_FALLBACK_2", "PLIVO_API_BASE_URI"):
        monkeypatch.setattr(plivo_client, name, f"{sb.base_url}/v1/Account")
    with plivo.RestClient(sb.auth_id, sb.auth_token) as sdk:
        got = sdk.transcriptions.get_transcription(rid)
        assert got.status == "success" and got.recording_duration_ms == 95_000
        assert got.transcription == client.get(f"/Transcription/{rid}/").json()["transcription"]
        with pytest.raises(plivo_errors.ResourceNotFoundError):
            sdk.transcriptions.get_transcription("no-such-recording")
