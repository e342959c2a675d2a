"""The sandbox's Recording API lifecycle: list filters and paging, storage fields, delete, media,
and starts answered the asynchronous way. Real HTTP on 127.0.0.1, sandbox time on a ManualClock.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from callback_sink import Sink

from recording_toolkit.sandbox import Faults, ManualClock, Sandbox

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def make_sandbox(auth_id: str, auth_token: str, clock: ManualClock, **options: Any) -> Sandbox:
    """Recordings run until stopped (simulated duration 10 h)."""
    return Sandbox(auth_id=auth_id, auth_token=auth_token, seed=5, clock=clock,
                   durations=lambda rng: 10 * 3600, **options)


@pytest.fixture
def sandbox(auth_id, auth_token, clock) -> Iterator[Sandbox]:
    with make_sandbox(auth_id, auth_token, clock) as sb:
        yield sb


def api(sb: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=f"{sb.base_url}/v1/Account/{sb.auth_id}",
                        auth=(sb.auth_id, sb.auth_token), timeout=10)


def record(client: httpx.Client, clock: ManualClock, name: str, seconds: float,
           **fields: str) -> str:
    """Start a recording of ``name``, stop it ``seconds`` later; its id."""
    path = f"/Conference/{quote(name, safe='')}/Record/"
    answer = client.post(path, json=fields)
    assert answer.status_code == 202, answer.text
    clock.advance(seconds)
    assert client.delete(path).status_code == 204
    return answer.json()["recording_id"]


def listing(client: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = client.get("/Recording/", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- filters ---------------------------------------------------------------------------------------

@pytest.fixture
def world(sandbox, clock) -> Sandbox:
    """12 recordings over three days: conf-0..2 in turn, one a minute, 30 s each; conf-0 is
    closed and opened again after the first day, so its later recordings have another conference uuid."""
    with api(sandbox) as client:
        for day in range(3):
            for i in range(4):
                record(client, clock, f"conf-{i % 3}", 30)
                clock.advance(30)
            if day == 0:
                sandbox.close_conference("conf-0")
                sandbox.open_conference("conf-0")
            clock.advance(86400 - 240)
    clock.advance(60)
    return sandbox


@pytest.fixture
def everything(world) -> list[dict[str, Any]]:
    with api(world) as client:
        page = listing(client)
    assert page["meta"]["total_count"] == 12 == len(page["objects"])
    return page["objects"]


def moment(add_time: str) -> datetime:
    return datetime.fromisoformat(add_time)


def utc_text(add_time: str) -> str:
    return moment(add_time).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def pick(objects: list[dict[str, Any]], key: str) -> Any:
    """A value of ``key`` from the middle of the newest-first list."""
    return objects[len(objects) // 2][key]


# (parameter, value chosen from the unfiltered list, what a matching object satisfies)
Case = tuple[str, Callable[[list[dict[str, Any]]], Any], Callable[[dict[str, Any], Any], bool]]
CASES: list[Case] = [
    ("conference_name", lambda objs: pick(objs, "conference_name"),
     lambda o, v: o["conference_name"] == v),
    ("conference_uuid", lambda objs: pick(objs, "conference_uuid"),
     lambda o, v: o["conference_uuid"] == v),
    ("call_uuid", lambda objs: pick(objs, "call_uuid"), lambda o, v: o["call_uuid"] == v),
    ("from_number", lambda objs: pick(objs, "from_number"), lambda o, v: o["from_number"] == v),
    ("to_number", lambda objs: pick(objs, "to_number"), lambda o, v: o["to_number"] == v),
    ("add_time", lambda objs: pick(objs, "add_time"), lambda o, v: o["add_time"] == v),
    ("add_time__gt", lambda objs: utc_text(pick(objs, "add_time")),
     lambda o, v: moment(o["add_time"]) > datetime.fromisoformat(v + "+00:00")),
    ("add_time__gte", lambda objs: utc_text(pick(objs, "add_time")),
     lambda o, v: moment(o["add_time"]) >= datetime.fromisoformat(v + "+00:00")),
    ("add_time__lt", lambda objs: utc_text(pick(objs, "add_time")),
     lambda o, v: moment(o["add_time"]) < datetime.fromisoformat(v + "+00:00")),
    ("add_time__lte", lambda objs: utc_text(pick(objs, "add_time")),
     lambda o, v: moment(o["add_time"]) <= datetime.fromisoformat(v + "+00:00")),
    ("recording_storage_duration", lambda objs: 2,
     lambda o, v: o["recording_storage_duration"] == v),
    ("recording_storage_duration__gt", lambda objs: 2,
     lambda o, v: o["recording_storage_duration"] > v),
    ("recording_storage_duration__gte", lambda objs: 2,
     lambda o, v: o["recording_storage_duration"] >= v),
    ("recording_storage_duration__lt", lambda objs: 2,
     lambda o, v: o["recording_storage_duration"] < v),
    ("recording_storage_duration__lte", lambda objs: 2,
     lambda o, v: o["recording_storage_duration"] <= v),
]


@pytest.mark.parametrize(("param", "value_of", "keeps"), CASES, ids=[c[0] for c in CASES])
def test_each_filter_returns_exactly_the_matching_recordings(world, everything, param,
                                                             value_of, keeps):
    value = value_of(everything)
    expected = [o["recording_id"] for o in everything if keeps(o, value)]
    assert 0 < len(expected) < len(everything)  # the filter has something to narrow
    with api(world) as client:
        page = listing(client, **{param: value})
    assert [o["recording_id"] for o in page["objects"]] == expected
    assert page["meta"]["total_count"] == len(expected)


def test_conference_uuid_changes_when_a_conference_is_closed(everything):
    conf0 = [o for o in everything if o["conference_name"] == "conf-0"]
    assert len({o["conference_uuid"] for o in conf0}) == 2
    assert len({o["conference_uuid"] for o in everything}) == 4


def test_filters_combine(world, everything):
    first = everything[-1]
    with api(world) as client:
        both = listing(client, conference_name=first["conference_name"],
                       recording_storage_duration=first["recording_storage_duration"])
        none = listing(client, conference_name="conf-1", to_number=first["to_number"])
    assert {o["conference_name"] for o in both["objects"]} == {first["conference_name"]}
    assert {o["recording_storage_duration"] for o in both["objects"]} == {4}  # three days on
    assert first["conference_name"] != "conf-1" and none["meta"]["total_count"] == 0


def test_multi_party_call_filters_match_no_conference_recording(world, everything):
    assert {o["mpc_name"] for o in everything} == {None}
    with api(world) as client:
        assert listing(client, mpc_name="conf-0")["meta"]["total_count"] == 0
        assert listing(client, mpc_uuid=everything[0]["conference_uuid"])["objects"] == []


def test_an_unknown_parameter_is_ignored(world, everything):
    with api(world) as client:
        page = listing(client, colour="red")
    assert [o["recording_id"] for o in page["objects"]] == [o["recording_id"] for o in everything]


def test_add_time_accepts_the_offset_it_is_shown_with(world, everything):
    shown = everything[3]["add_time"]  # '... +05:30'
    with api(world) as client:
        page = listing(client, add_time__lte=shown, add_time__gte=shown)
    assert [o["recording_id"] for o in page["objects"]] == [everything[3]["recording_id"]]


# -- paging ----------------------------------------------------------------------------------------

def test_paging_by_offset_covers_every_recording_once(world, everything):
    pages = []
    with api(world) as client:
        for offset in (0, 5, 10, 15):
            pages.append(listing(client, limit=5, offset=offset))
    ids = [o["recording_id"] for p in pages for o in p["objects"]]
    assert ids == [o["recording_id"] for o in everything]
    metas = [p["meta"] for p in pages]
    assert [len(p["objects"]) for p in pages] == [5, 5, 2, 0]
    assert [(m["limit"], m["offset"], m["total_count"]) for m in metas] == [
        (5, 0, 12), (5, 5, 12), (5, 10, 12), (5, 15, 12)]
    assert metas[0]["previous"] is None
    assert metas[0]["next"] == f"/v1/Account/{world.auth_id}/Recording/?limit=5&offset=5"
    assert metas[1]["previous"].endswith("?limit=5&offset=0")
    assert metas[2]["next"] is None and metas[3]["next"] is None


def test_the_same_list_again_shows_files_stored_and_deleted_since(sandbox, clock):
    """Paging repeats one query many times; each answer is as of its own moment."""
    window = {"add_time__gte": "2026-11-02 00:00", "add_time__lte": "2026-11-03 00:00"}
    with api(sandbox) as client:
        first = record(client, clock, "a", 60)
        clock.advance(3600)
        running = client.post("/Conference/b/Record/", json={}).json()["recording_id"]
        assert [o["recording_id"] for o in listing(client, **window)["objects"]] == [first]
        assert client.delete("/Conference/b/Record/").status_code == 204  # its file: 1-5 s on
        before = listing(client, **window)
        clock.advance(3600)  # the file is stored by now, with no other change
        after = listing(client, **window)
        assert client.delete(f"/Recording/{first}/").status_code == 204
        gone = listing(client, **window)
    assert [o["recording_id"] for o in before["objects"]] == [first]
    assert [o["recording_id"] for o in after["objects"]] == [running, first]
    assert after["meta"]["total_count"] == 2
    assert [o["recording_id"] for o in gone["objects"]] == [running]


def test_meta_links_keep_the_filters(world):
    with api(world) as client:
        meta = listing(client, conference_name="conf-1", limit=1)["meta"]
    assert meta["next"].endswith("Recording/?conference_name=conf-1&limit=1&offset=1")


# -- storage ---------------------------------------------------------------------------------------

def test_storage_fields_follow_the_sandbox_clock(sandbox, clock):
    """Stored on 2026-11-12: day 91 begins 2027-02-10, first billed on 2027-02-28."""
    clock.advance(10 * 86400)
    with api(sandbox) as client:
        rid = record(client, clock, "board", 90)  # 90 s: 2 rounded minutes
        clock.advance(10)

        def fields() -> tuple[int, str]:
            one = client.get(f"/Recording/{rid}/").json()
            return one["recording_storage_duration"], one["monthly_recording_storage_amount"]

        first = client.get(f"/Recording/{rid}/").json()
        added = moment(first["add_time"]).astimezone(UTC)
        assert first["rounded_recording_duration"] == 120
        assert first["recording_storage_rate"] == "0.0004"
        assert fields() == (1, "0")
        clock.set(added + timedelta(hours=23))
        assert fields() == (1, "0")
        clock.set(added + timedelta(days=1))
        assert fields() == (2, "0")
        clock.set(added + timedelta(days=90, seconds=1))       # day 91, not a month-end yet
        assert fields() == (91, "0")
        clock.set(datetime(2027, 2, 27, 23, 59, tzinfo=UTC))
        assert fields()[1] == "0"
        clock.set(datetime(2027, 2, 28, 0, 1, tzinfo=UTC))       # billed from here on
        assert fields() == (108, "0.0008")
        clock.set(datetime(2027, 5, 2, tzinfo=UTC))
        assert fields()[1] == "0.0008"


def test_plivos_storage_billing_example(sandbox, clock):
    """Plivo's own example: three recordings stored on March 16 (50 s, 119 s, 150 s) at 0.0004;
    day 90 is June 13; the third is deleted on June 29; on June 30 the first two are billed
    for 1 and 2 rounded minutes, the third costs nothing."""
    clock.set(datetime(2027, 3, 16, 10, 0, tzinfo=UTC))
    with api(sandbox) as client:
        ids = [record(client, clock, f"call-{seconds}", seconds) for seconds in (50, 119, 150)]

        def on(day: datetime) -> list[tuple[int, str]]:
            clock.set(day.replace(hour=12, tzinfo=UTC))
            objects = [client.get(f"/Recording/{rid}/").json() for rid in ids]
            return [(o["recording_storage_duration"], o["monthly_recording_storage_amount"])
                    for o in objects]

        assert on(datetime(2027, 3, 16)) == [(1, "0")] * 3
        assert on(datetime(2027, 3, 31)) == [(16, "0")] * 3
        assert on(datetime(2027, 4, 30)) == [(46, "0")] * 3
        assert on(datetime(2027, 6, 13)) == [(90, "0")] * 3
        assert on(datetime(2027, 6, 29)) == [(106, "0")] * 3
        assert client.delete(f"/Recording/{ids[2]}/").status_code == 204
        ids.pop()
        assert on(datetime(2027, 6, 30)) == [(107, "0.0004"), (107, "0.0008")]


# -- delete ----------------------------------------------------------------------------------------

def test_delete_answers_204_then_the_recording_is_gone(world, everything):
    victim = everything[4]
    with api(world) as client:
        deleted = client.delete(f"/Recording/{victim['recording_id']}/")
        after = client.get(f"/Recording/{victim['recording_id']}/")
        again = client.delete(f"/Recording/{victim['recording_id']}/")
        page = listing(client)
        of_conference = listing(client, conference_name=victim["conference_name"])
        media = httpx.get(victim["recording_url"])
    assert deleted.status_code == 204 and deleted.content == b""
    assert after.status_code == 404
    assert set(after.json()) == {"api_id", "error"} and "not found" in after.json()["error"]
    assert again.status_code == 404 and set(again.json()) == {"api_id", "error"}
    assert page["meta"]["total_count"] == 11
    assert victim["recording_id"] not in {o["recording_id"] for o in page["objects"]}
    assert victim["recording_id"] not in {o["recording_id"] for o in of_conference["objects"]}
    assert media.status_code == 404
    assert world.ground_truth()["recordings"]["deleted"] == 1


def test_delete_of_an_unknown_or_running_recording_is_404(sandbox):
    with api(sandbox) as client:
        running = client.post("/Conference/live/Record/", json={}).json()["recording_id"]
        assert client.delete(f"/Recording/{running}/").status_code == 404
        assert client.delete("/Recording/no-such-recording/").status_code == 404
        assert client.put(f"/Recording/{running}/").headers["allow"] == "GET, DELETE"


def test_delete_refuses_a_body_naming_another_recording(world, everything):
    rid = everything[0]["recording_id"]
    with api(world) as client:
        answer = client.request("DELETE", f"/Recording/{rid}/", json={"recording_id": "other"})
        assert answer.status_code == 400 and answer.json()["error"].startswith("recording_id: ")
        assert client.get(f"/Recording/{rid}/").status_code == 200


# -- media -----------------------------------------------------------------------------------------

_BITRATES = [None, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]  # MPEG-1 L3
_RATES = [44100, 48000, 32000]


def mp3_frames(data: bytes) -> list[tuple[int, int, int]]:
    """``(bitrate kbit/s, sample rate, frame bytes)`` of every frame; fails on anything that is
    not a whole MPEG-1 Layer III frame from the first byte to the last."""
    frames, at = [], 0
    while at < len(data):
        header = int.from_bytes(data[at:at + 4], "big")
        assert len(data) - at >= 4, f"truncated header at byte {at}"
        assert header >> 21 == 0x7FF, f"no frame sync at byte {at}"
        assert (header >> 19) & 3 == 3, "not MPEG-1"
        assert (header >> 17) & 3 == 1, "not Layer III"
        bitrate = _BITRATES[(header >> 12) & 0xF]
        assert bitrate is not None, "free or bad bitrate"
        rate = _RATES[(header >> 10) & 3]
        padding = (header >> 9) & 1
        size = 144 * bitrate * 1000 // rate + padding
        assert at + size <= len(data), f"frame at byte {at} runs past the end"
        frames.append((bitrate, rate, size))
        at += size
    return frames


@pytest.mark.parametrize(("seconds", "expected_seconds"), [(3, 3), (2.2, 3), (3600, 10)])
def test_wav_media_is_a_valid_riff_file_of_the_recordings_length(sandbox, clock, seconds,
                                                                 expected_seconds):
    with api(sandbox) as client:
        rid = record(client, clock, "wav room", seconds, file_format="wav")
        clock.advance(10)
        url = client.get(f"/Recording/{rid}/").json()["recording_url"]
    assert url == f"{sandbox.base_url}/v1/Account/{sandbox.auth_id}/Recording/{rid}.wav"
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert answer.content[:4] == b"RIFF" and answer.content[8:12] == b"WAVE"
    with wave.open(io.BytesIO(answer.content)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 8000)
        assert audio.getnframes() == 8000 * expected_seconds
        samples = audio.readframes(audio.getnframes())
    assert any(samples)  # a tone, not silence


def test_mp3_media_is_whole_mpeg_frames(sandbox, clock):
    with api(sandbox) as client:
        rid = record(client, clock, "mp3 room", 5)
        clock.advance(10)
        url = client.get(f"/Recording/{rid}/").json()["recording_url"]
    assert url.endswith(f"/v1/Account/{sandbox.auth_id}/Recording/{rid}.mp3")
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/mpeg"
    assert int(answer.headers["content-length"]) == len(answer.content)
    frames = mp3_frames(answer.content)
    assert {f[:2] for f in frames} == {(32, 48000)}
    assert len(frames) * 1152 / 48000 == pytest.approx(5, abs=0.03)  # about 5 seconds


def test_media_of_another_format_or_a_running_recording_is_404(sandbox, clock):
    with api(sandbox) as client:
        rid = record(client, clock, "room", 5)
        running = client.post("/Conference/other/Record/", json={}).json()["recording_id"]
        clock.advance(10)
    base = f"{sandbox.base_url}/v1/Account/{sandbox.auth_id}/Recording"
    assert httpx.get(f"{base}/{rid}.mp3").status_code == 200
    assert httpx.get(f"{base}/{rid}.wav").status_code == 404
    assert httpx.get(f"{base}/{running}.mp3").status_code == 404


def test_media_behind_basic_auth(auth_id, auth_token, clock):
    with make_sandbox(auth_id, auth_token, clock, media_auth=True) as sb, api(sb) as client:
        rid = record(client, clock, "private", 4)
        clock.advance(10)
        url = client.get(f"/Recording/{rid}/").json()["recording_url"]
        anonymous = httpx.get(url)
        wrong = httpx.get(url, auth=(auth_id, "not-the-token"))
        right = httpx.get(url, auth=(auth_id, auth_token))
    assert anonymous.status_code == 401 == wrong.status_code
    assert anonymous.headers["www-authenticate"].startswith("Basic ")
    assert auth_token not in anonymous.text
    assert right.status_code == 200 and mp3_frames(right.content)


def test_media_is_open_without_media_auth(sandbox, clock):
    with api(sandbox) as client:
        rid = record(client, clock, "open", 4)
        clock.advance(10)
        url = client.get(f"/Recording/{rid}/").json()["recording_url"]
    assert httpx.get(url).status_code == 200
    assert httpx.head(url).headers["content-length"] == str(len(httpx.get(url).content))


# -- asynchronous answers --------------------------------------------------------------------------

def test_async_answer_leaves_out_the_ids_and_the_callback_brings_them(auth_id, auth_token,
                                                                      clock):
    with Sink() as sink, make_sandbox(auth_id, auth_token, clock, async_answer=True) as sb, \
            api(sb) as client:
        answer = client.post("/Conference/standup/Record/",
                             json={"callback_url": sink.url("/rec")})
        clock.advance(40)
        assert client.delete("/Conference/standup/Record/").status_code == 204
        clock.advance(600)
        assert sb.wait_idle(20)
        (callback,) = sink.of("/rec")
        (truth,) = sb.ground_truth()["recording_details"]
    assert answer.status_code == 202
    assert set(answer.json()) == {"api_id", "message"}
    assert answer.json()["message"] == "async api spawned"
    fields = dict(callback["params"])
    assert fields["api_id"] == answer.json()["api_id"] == truth["api_id"]
    assert fields["recording_id"] == truth["recording_id"]


def test_async_answer_as_a_fault_share(auth_id, auth_token, clock):
    faults = Faults.parse("async_answer=0.5")
    assert faults.async_answer_rate == 0.5 and faults.describe() == "async_answer=0.5"
    assert Faults.parse(faults.describe()) == faults
    with make_sandbox(auth_id, auth_token, clock, faults=faults) as sb, api(sb) as client:
        answers = [client.post(f"/Conference/c{i}/Record/", json={}).json() for i in range(40)]
    without = [a for a in answers if "recording_id" not in a]
    assert 5 < len(without) < 35
    assert {a["message"] for a in without} == {"async api spawned"}


def test_bad_async_answer_and_media_auth_settings_are_refused(auth_id, auth_token, clock):
    from recording_toolkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="^faults: async_answer: 2.0 is not"):
        Faults.parse("async_answer=2")
    for bad in (-1, 1.5, "yes"):
        with pytest.raises(ConfigurationError, match="^async_answer: "):
            make_sandbox(auth_id, auth_token, clock, async_answer=bad)
    with pytest.raises(ConfigurationError, match="^media_auth: 'yes' is not True or False"):
        make_sandbox(auth_id, auth_token, clock, media_auth="yes")
