"""The official ``plivo`` SDK, unchanged, against the sandbox.

The SDK builds every voice API URL from module-level constants in ``plivo.rest.client``
(``API_VOICE_BASE_URI`` and its two fall-backs, ``PLIVO_API_BASE_URI``) at request time, so
pointing them at the sandbox is all it takes; nothing in the SDK is patched otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from callback_sink import Sink

from recording_toolkit.sandbox import ManualClock, Sandbox

plivo = pytest.importorskip("plivo")
from plivo import exceptions as plivo_errors  # noqa: E402
from plivo.rest import client as plivo_client  # noqa: E402
from plivo.utils import validate_v3_signature  # noqa: E402

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def sandbox(auth_id, auth_token, clock):
    with Sandbox(auth_id=auth_id, auth_token=auth_token, clock=clock, seed=21,
                 durations=lambda rng: 10 * 3600) as sb:
        yield sb


@pytest.fixture
def point_sdk_at(monkeypatch):
    def point(sandbox: Sandbox) -> None:
        base = f"{sandbox.base_url}/v1/Account"
        for name in ("API_VOICE_BASE_URI", "API_VOICE_BASE_URI_FALLBACK_1",
                     "API_VOICE_BASE_URI_FALLBACK_2", "PLIVO_API_BASE_URI"):
            monkeypatch.setattr(plivo_client, name, base)

    return point


@pytest.fixture
def sdk(sandbox, point_sdk_at):
    point_sdk_at(sandbox)
    with plivo.RestClient(sandbox.auth_id, sandbox.auth_token) as client:
        yield client


@pytest.fixture
def sink():
    with Sink() as s:
        yield s


def test_record_returns_the_202_fields(sdk, sandbox):
    answer = sdk.conferences.record("My Conf Room", file_format="wav")
    assert answer.message == "conference recording started"
    assert answer.url.endswith(f"/Recording/{answer.recording_id}.wav")
    (started,) = sandbox.ground_truth()["recording_details"]
    assert (answer.recording_id, answer.api_id) == (started["recording_id"], started["api_id"])
    assert started["conference_name"] == "My Conf Room" and started["file_format"] == "wav"


def test_record_stop_succeeds(sdk, sandbox, clock):
    sdk.conferences.record("weekly sync")
    clock.advance(120)
    sdk.conferences.record_stop("weekly sync")
    (stopped,) = sandbox.ground_truth()["recording_details"]
    assert stopped["end_reason"] == "stopped" and stopped["duration_ms"] == 120_000


def test_a_closed_conference_raises_resource_not_found(sdk, sandbox):
    sandbox.close_conference("retro")
    with pytest.raises(plivo_errors.ResourceNotFoundError, match="not live"):
        sdk.conferences.record("retro")
    with pytest.raises(plivo_errors.ResourceNotFoundError):
        sdk.conferences.record_stop("retro")


def test_bad_credentials_raise_authentication_error(sandbox, point_sdk_at):
    point_sdk_at(sandbox)
    with plivo.RestClient(sandbox.auth_id, "not-the-token") as wrong, \
            pytest.raises(plivo_errors.AuthenticationError):
        wrong.conferences.record("standup")
    assert sandbox.ground_truth()["recordings"]["started"] == 0


def test_a_bad_file_format_raises_validation_error(sdk, sandbox):
    with pytest.raises(plivo_errors.ValidationError, match="file_format"):
        sdk.conferences.record("standup", file_format="ogg")
    assert sandbox.ground_truth()["recordings"]["started"] == 0


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_validate_v3_signature_accepts_the_sandboxs_callbacks(sdk, sandbox, clock, sink, method):
    callback_url = sink.url("/rec?tenant=acme#ct=2000&rc=3&rp=ct,rt,5xx")
    sdk.conferences.record("board", callback_url=callback_url, callback_method=method,
                           transcription_type="auto", transcription_url=sink.url("/tr"))
    clock.advance(75)
    sdk.conferences.record_stop("board")
    clock.advance(3600)
    assert sandbox.wait_idle(20)
    received = [(callback_url, method, r) for r in sink.of("/rec")] + \
        [(sink.url("/tr"), "POST", r) for r in sink.of("/tr")]
    assert len(received) == 2
    for url, how, request in received:
        params = dict(request["params"])
        if how == "GET":  # the SDK merges the URL's own query back in itself
            params.pop("tenant")
        headers = request["headers"]
        for header in ("x-plivo-signature-v3", "x-plivo-signature-ma-v3"):
            assert validate_v3_signature(how, url, headers["x-plivo-signature-v3-nonce"],
                                         sandbox.auth_token, headers[header], dict(params))
        assert not validate_v3_signature(how, url, headers["x-plivo-signature-v3-nonce"],
                                         "another-token", headers["x-plivo-signature-v3"],
                                         dict(params))


def test_the_sdk_lists_and_gets_recordings(sdk, sandbox, clock):
    for name in ("a", "b", "a"):
        sdk.conferences.record(name)
        clock.advance(30)
        sdk.conferences.record_stop(name)
    clock.advance(60)
    listed = sdk.recordings.list(conference_name="a", limit=5)
    assert listed.meta.total_count == 2 and len(listed.objects) == 2
    one = sdk.recordings.get(listed.objects[0].recording_id)
    assert one.recording_duration_ms == "30000.00000" and one.conference_name == "a"


@pytest.fixture
def thirty(sdk, sandbox, clock):
    """30 stopped recordings, alternating between two conferences, one a minute."""
    for i in range(30):
        name = ("standup", "retro")[i % 2]
        sdk.conferences.record(name)
        clock.advance(30)
        sdk.conferences.record_stop(name)
        clock.advance(30)
    clock.advance(60)
    return sandbox


def test_the_sdk_pages_by_limit_and_offset(sdk, thirty):
    everything = [r.recording_id for r in sdk.recordings.list(limit=20).objects] + \
        [r.recording_id for r in sdk.recordings.list(limit=20, offset=20).objects]
    page = sdk.recordings.list(limit=10, offset=20)
    assert page.meta.total_count == 30 and (page.meta.limit, page.meta.offset) == (10, 20)
    assert [r.recording_id for r in page.objects] == everything[20:30]
    assert page.meta.next is None and page.meta.previous.endswith("limit=10&offset=10")
    assert len(set(everything)) == 30
    assert [r.recording_id for r in sdk.recordings] == everything  # the SDK follows meta.next


def test_the_sdk_filters_by_conference_name(sdk, thirty):
    page = sdk.recordings.list(conference_name="retro")
    assert page.meta.total_count == 15
    assert {r.conference_name for r in page.objects} == {"retro"}


def test_the_sdk_filters_by_add_time_gt(sdk, thirty):
    everything = sdk.recordings.list(limit=20).objects
    pivot = datetime.fromisoformat(everything[5].add_time).astimezone(UTC)
    newer = sdk.recordings.list(add_time__gt=pivot.replace(tzinfo=None))   # naive: UTC
    aware = sdk.recordings.list(add_time__gt=pivot)                        # '+00:00' appended
    expected = [r.recording_id for r in everything[:5]]
    assert [r.recording_id for r in newer.objects] == expected
    assert [r.recording_id for r in aware.objects] == expected


def test_the_sdk_gets_and_deletes_a_recording(sdk, thirty):
    listed = sdk.recordings.list(limit=1).objects[0]
    one = sdk.recordings.get(listed.recording_id)
    assert one.recording_id == listed.recording_id and one.recording_url == listed.recording_url
    assert one.recording_storage_duration == 1
    assert sdk.recordings.delete(listed.recording_id) is None   # 204, no body
    with pytest.raises(plivo_errors.ResourceNotFoundError, match="not found"):
        sdk.recordings.get(listed.recording_id)
    with pytest.raises(plivo_errors.ResourceNotFoundError):
        sdk.recordings.delete(listed.recording_id)
    assert sdk.recordings.list().meta.total_count == 29
    assert thirty.ground_truth()["recordings"]["deleted"] == 1


def test_the_sdk_deletes_through_the_resource_object(sdk, thirty):
    recording = sdk.recordings.get(sdk.recordings.list(limit=1).objects[0].recording_id)
    recording.delete()
    with pytest.raises(plivo_errors.ResourceNotFoundError):
        sdk.recordings.get(recording.recording_id)


def test_the_sdk_reads_an_async_answer(auth_id, auth_token, clock, point_sdk_at):
    with Sandbox(auth_id=auth_id, auth_token=auth_token, clock=clock, seed=4,
                 async_answer=True) as sandbox:
        point_sdk_at(sandbox)
        with plivo.RestClient(auth_id, auth_token) as client:
            answer = client.conferences.record("standup")
        (started,) = sandbox.ground_truth()["recording_details"]
    assert answer.message == "async api spawned" and answer.api_id == started["api_id"]
    assert not hasattr(answer, "recording_id")
