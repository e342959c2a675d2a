"""Downloading recordings' audio (download.py, through both clients), with httpx.MockTransport."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from recording_toolkit import errors
from recording_toolkit.client import AsyncRecordingClient, RecordingClient
from recording_toolkit.download import DOWNLOAD_COLUMNS, media_target

AUTH_ID = "MATESTACCOUNT0000001"
TOKEN = "s3cr3t-Token-Never-Shown-0123456789ab"
BASIC = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()
API = "https://api.example"
MEDIA = "https://media.example"
BODY = bytes(range(256)) * 40  # 10,240 bytes, every offset distinguishable


def recording(rid: str = "rec-1", fmt: str | None = "wav", *, host: str = MEDIA,
              key: str = "recording_url") -> dict[str, Any]:
    obj: dict[str, Any] = {"recording_id": rid, key: f"{host}/v1/Account/{AUTH_ID}/Recording/{rid}.wav"}
    if fmt is not None:
        obj["recording_format"] = fmt
    return obj


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body sent in chunks that may break off with a read error; counts what was taken."""

    def __init__(self, data: bytes, *, fail_after: int | None = None, chunk: int = 1024) -> None:
        self.data, self.fail_after, self.chunk = data, fail_after, chunk
        self.sent = 0

    def _pieces(self) -> list[bytes]:
        end = len(self.data) if self.fail_after is None else self.fail_after
        return [self.data[i:min(i + self.chunk, end)] for i in range(0, end, self.chunk)]

    def __iter__(self):  # type: ignore[override]
        for piece in self._pieces():
            self.sent += len(piece)
            yield piece
        if self.fail_after is not None:
            raise httpx.ReadError("connection reset")

    async def __aiter__(self):  # type: ignore[override]
        for piece in self._pieces():
            self.sent += len(piece)
            yield piece
        if self.fail_after is not None:
            raise httpx.ReadError("connection reset")


class Media:
    """A media host (and the API's get): serves ``files`` by recording id, honouring ``Range``
    unless ``ranges`` is off, asking for Basic auth when ``auth`` is set."""

    def __init__(self, files: dict[str, bytes] | None = None, *, ranges: bool = True,
                 auth: bool = False, head: bool = True, short_by: int = 0, long_by: int = 0,
                 fail_after: int | None = None) -> None:
        self.files = files if files is not None else {"rec-1": BODY}
        self.ranges, self.auth, self.head = ranges, auth, head
        self.short_by, self.long_by, self.fail_after = short_by, long_by, fail_after
        self.requests: list[httpx.Request] = []
        self.streams: list[Chunks] = []
        self.other: Any = None  # handler for any other host
        self.before_challenge: Any = None  # called before each 401

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = request.url
        if url.host == "api.example":
            rid = url.path.rstrip("/").rpartition("/")[2]
            if rid not in self.files:
                return httpx.Response(404, json={"api_id": "x", "error": "not found"})
            return httpx.Response(200, json=recording(rid))
        if url.host != "media.example":
            return self.other(request)
        if self.auth and request.headers.get("Authorization") != BASIC:
            if self.before_challenge is not None:
                self.before_challenge()
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="media"'})
        rid = url.path.rpartition("/")[2].partition(".")[0]
        if rid not in self.files:
            return httpx.Response(404, text="no such recording")
        data = self.files[rid]
        if request.method == "HEAD":
            if not self.head:
                return httpx.Response(405)
            return httpx.Response(200, headers={"Content-Length": str(len(data))})
        match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if match and self.ranges:
            start = int(match[1])
            if start >= len(data):
                return httpx.Response(416, headers={"Content-Range": f"bytes */{len(data)}"})
            rest = data[start:]
            stream = Chunks(rest)
            self.streams.append(stream)
            return httpx.Response(206, stream=stream, headers={
                "Content-Length": str(len(rest)),
                "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
        sent = data[:len(data) - self.short_by] + b"\0" * self.long_by
        stream = Chunks(sent, fail_after=self.fail_after)
        self.streams.append(stream)
        return httpx.Response(200, stream=stream, headers={"Content-Length": str(len(data))})

    def gets(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "GET" and r.url.host != "api.example"]


def client(media: Media) -> RecordingClient:
    return RecordingClient(AUTH_ID, TOKEN, base_url=API, transport=httpx.MockTransport(media),
                           max_retries=0, rate_limit=None)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- one download ---------------------------------------------------------------------------------

def test_a_recording_is_saved_under_its_id_and_format(tmp_path: Path) -> None:
    media = Media()
    with client(media) as c:
        path = c.download_recording(recording(), tmp_path / "archive")
    assert path == tmp_path / "archive" / "rec-1.wav"
    assert path.read_bytes() == BODY
    assert files_in(tmp_path / "archive") == ["rec-1.wav"]  # no .part left behind


def test_the_format_comes_from_the_url_when_the_object_has_none(tmp_path: Path) -> None:
    obj = recording(fmt=None, key="record_url")
    assert media_target(obj, tmp_path).path.name == "rec-1.wav"
    mp3 = {"recording_id": "r-2", "recording_format": "MP3",
           "recording_url": f"{MEDIA}/v1/Account/{AUTH_ID}/Recording/r-2.mp3"}
    assert media_target(mp3, tmp_path).path.name == "r-2.mp3"


def test_an_id_is_looked_up_with_get_recording_first(tmp_path: Path) -> None:
    media = Media()
    with client(media) as c:
        path = c.download_recording("rec-1", tmp_path)
    assert path.read_bytes() == BODY
    assert media.requests[0].url.path == f"/v1/Account/{AUTH_ID}/Recording/rec-1/"
    assert media.requests[0].headers["Authorization"] == BASIC  # the API always gets its auth


@pytest.mark.parametrize("bad, field", [
    ({"recording_id": "../../etc/passwd", "recording_url": f"{MEDIA}/x.wav"}, "recording_id"),
    ({"recording_id": "rec-1"}, "recording_url"),
    ({"recording_id": "rec-1", "recording_url": "file:///etc/passwd"}, "recording_url"),
    ({"recording_id": "rec-1", "recording_url": f"{MEDIA}/x", "recording_format": "w/v"},
     "recording_format"),
])
def test_an_object_that_cannot_name_a_file_inside_the_folder_is_refused(
        tmp_path: Path, bad: dict[str, Any], field: str) -> None:
    media = Media()
    with client(media) as c, pytest.raises(errors.ValidationError) as caught:
        c.download_recording(bad, tmp_path / "archive")
    assert caught.value.field == field
    assert media.requests == []
    assert not (tmp_path / "archive").exists()


def test_a_failure_midway_leaves_only_the_part_file(tmp_path: Path) -> None:
    media = Media(fail_after=4096)
    with client(media) as c, pytest.raises(errors.TransportError) as caught:
        c.download_recording(recording(), tmp_path)
    assert "rec-1" in str(caught.value)
    assert files_in(tmp_path) == ["rec-1.wav.part"]
    assert (tmp_path / "rec-1.wav.part").read_bytes() == BODY[:4096]


def test_a_part_file_is_resumed_with_a_range_request(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav.part").write_bytes(BODY[:3000])
    media = Media()
    with client(media) as c:
        path = c.download_recording(recording(), tmp_path)
    assert path.read_bytes() == BODY
    (get,) = media.gets()
    assert get.headers["Range"] == "bytes=3000-"
    assert media.streams[0].sent == len(BODY) - 3000  # only the missing bytes crossed the wire
    assert files_in(tmp_path) == ["rec-1.wav"]


def test_a_server_that_ignores_range_makes_the_download_start_over(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav.part").write_bytes(b"stale bytes from another file")
    media = Media(ranges=False)
    with client(media) as c:
        path = c.download_recording(recording(), tmp_path)
    assert path.read_bytes() == BODY  # not the stale prefix followed by the whole body
    assert media.gets()[0].headers["Range"] == "bytes=29-"


def test_a_part_file_already_whole_is_finished_on_416(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav.part").write_bytes(BODY)
    media = Media()
    with client(media) as c:
        path = c.download_recording(recording(), tmp_path)
    assert path.read_bytes() == BODY
    assert files_in(tmp_path) == ["rec-1.wav"]


def test_a_complete_file_is_skipped_without_fetching_its_body(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav").write_bytes(b"k" * len(BODY))  # same size: taken as complete
    media = Media()
    with client(media) as c:
        outcome = c.download_recordings([recording()], tmp_path, progress=False)
    assert outcome["status"].tolist() == ["already_complete"]
    assert [r.method for r in media.requests] == ["HEAD"]
    assert (tmp_path / "rec-1.wav").read_bytes() == b"k" * len(BODY)


def test_without_head_the_gets_length_decides_before_any_body_is_read(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav").write_bytes(BODY)
    media = Media(head=False)
    with client(media) as c:
        c.download_recording(recording(), tmp_path)
    assert [r.method for r in media.requests] == ["HEAD", "GET"]
    assert media.streams[0].sent == 0


def test_a_complete_file_of_another_size_is_downloaded_again(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav").write_bytes(b"old")
    with client(Media()) as c:
        assert c.download_recording(recording(), tmp_path).read_bytes() == BODY


def test_overwrite_downloads_again_even_a_complete_file(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav").write_bytes(b"k" * len(BODY))
    media = Media()
    with client(media) as c:
        assert c.download_recording(recording(), tmp_path, overwrite=True).read_bytes() == BODY
    assert [r.method for r in media.requests] == ["GET"]


def test_a_short_body_is_an_error_and_leaves_no_final_file(tmp_path: Path) -> None:
    media = Media(short_by=100)
    with client(media) as c, pytest.raises(errors.DownloadError) as caught:
        c.download_recording(recording(), tmp_path)
    assert isinstance(caught.value, errors.TransportError)
    assert (caught.value.expected_bytes, caught.value.received_bytes) == (len(BODY),
                                                                          len(BODY) - 100)
    assert "10,140 bytes" in str(caught.value) and "10,240" in str(caught.value)
    assert files_in(tmp_path) == ["rec-1.wav.part"]  # kept, to resume from
    media.short_by = 0
    with client(media) as c:
        assert c.download_recording(recording(), tmp_path).read_bytes() == BODY
    assert media.gets()[-1].headers["Range"] == f"bytes={len(BODY) - 100}-"


def test_a_long_body_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    with client(Media(long_by=10)) as c, pytest.raises(errors.DownloadError):
        c.download_recording(recording(), tmp_path)
    assert files_in(tmp_path) == []


def test_a_missing_media_file_is_not_found(tmp_path: Path) -> None:
    with client(Media(files={})) as c, pytest.raises(errors.NotFoundError) as caught:
        c.download_recording(recording(), tmp_path)
    assert "rec-1" in str(caught.value) and caught.value.status_code == 404


# -- credentials ----------------------------------------------------------------------------------

def test_credentials_go_to_the_media_host_only_after_it_asks(tmp_path: Path) -> None:
    media = Media(auth=True)
    with client(media) as c:
        assert c.download_recording(recording(), tmp_path).read_bytes() == BODY
    first, second = media.requests
    assert "Authorization" not in first.headers
    assert second.headers["Authorization"] == BASIC


def test_a_media_host_that_does_not_ask_never_gets_credentials(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav").write_bytes(b"old")
    media = Media()
    with client(media) as c:
        c.download_recording(recording(), tmp_path)
    assert len(media.requests) == 2
    assert all("Authorization" not in r.headers for r in media.requests)


def test_a_challenge_other_than_basic_gets_no_credentials(tmp_path: Path) -> None:
    media = Media(auth=True)
    seen: list[httpx.Request] = []

    def bearer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, headers={"WWW-Authenticate": "Bearer"})
    media.other = bearer
    with client(media) as c, pytest.raises(errors.AuthenticationError):
        c.download_recording(recording(host="https://other.example"), tmp_path)
    assert len(seen) == 1 and "Authorization" not in seen[0].headers


def test_a_redirect_to_another_host_never_carries_credentials(tmp_path: Path) -> None:
    media = Media(auth=True)
    seen: list[httpx.Request] = []

    def other(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="elsewhere"'})

    def redirecting(request: httpx.Request) -> httpx.Response:
        if request.url.host == "media.example" and request.headers.get("Authorization") == BASIC:
            media.requests.append(request)
            return httpx.Response(302, headers={"Location": "https://cdn.example/rec-1.wav"})
        return media(request)
    media.other = other
    with RecordingClient(AUTH_ID, TOKEN, base_url=API, transport=httpx.MockTransport(redirecting),
                         rate_limit=None) as c, pytest.raises(errors.AuthenticationError) as caught:
        c.download_recording(recording(), tmp_path)
    assert [r.url.host for r in seen] == ["cdn.example"]
    assert "Authorization" not in seen[0].headers  # asked, and still not given
    assert "media URL's own host" in str(caught.value)
    assert TOKEN not in str(caught.value) and BASIC.split()[1] not in str(caught.value)
    assert files_in(tmp_path) == []


def test_wrong_credentials_are_an_authentication_error_without_the_token(tmp_path: Path) -> None:
    media = Media(auth=True)
    with RecordingClient(AUTH_ID, "wrong-token", base_url=API, rate_limit=None,
                         transport=httpx.MockTransport(media)) as c:
        with pytest.raises(errors.AuthenticationError) as caught:
            c.download_recording(recording(), tmp_path)
        rows = c.download_recordings([recording()], tmp_path, progress=False)
    assert len(media.requests) == 4  # each download: asked once, answered once, no loop
    assert "wrong-token" not in str(caught.value)
    assert "wrong-token" not in rows.to_string()


# -- bulk -----------------------------------------------------------------------------------------

def test_bulk_rows_follow_the_input_order_and_report_failures(tmp_path: Path) -> None:
    files = {f"rec-{i}": bytes([i]) * (1000 + i) for i in range(6)}
    media = Media(files=files)
    (tmp_path / "rec-2.wav").write_bytes(files["rec-2"])
    inputs: list[Any] = [recording("rec-0"), "rec-1", "rec-missing", recording("rec-2"),
                         {"recording_id": "rec-3"}, "rec-4", recording("rec-0")]
    with client(media) as c:
        rows = c.download_recordings(inputs, tmp_path, concurrency=3, progress=False)
    assert list(rows.columns) == list(DOWNLOAD_COLUMNS)
    assert rows["recording_id"].tolist() == ["rec-0", "rec-1", "rec-missing", "rec-2", "rec-3",
                                             "rec-4", "rec-0"]
    assert rows["status"].tolist() == ["downloaded", "downloaded", "failed", "already_complete",
                                       "failed", "downloaded", "already_complete"]
    assert rows["bytes"].tolist() == [1000, 1001, pd.NA, 1002, pd.NA, 1004, 1000]
    assert rows.loc[2, "error"].startswith("NotFoundError")
    assert "recording_url" in rows.loc[4, "error"]
    assert rows["error"].isna().tolist() == [True, True, False, True, False, True, True]
    assert rows.loc[0, "path"] == str(tmp_path / "rec-0.wav")
    assert str(rows["bytes"].dtype) == "Int64"
    for rid in ("rec-0", "rec-1", "rec-2", "rec-4"):
        assert (tmp_path / f"{rid}.wav").read_bytes() == files[rid]
    assert files_in(tmp_path) == ["rec-0.wav", "rec-1.wav", "rec-2.wav", "rec-4.wav"]
    assert len([r for r in media.gets() if r.url.path.endswith("rec-0.wav")]) == 1


def test_bulk_refuses_a_bad_concurrency_before_any_request(tmp_path: Path) -> None:
    media = Media()
    with client(media) as c, pytest.raises(errors.ValidationError) as caught:
        c.download_recordings(["rec-1"], tmp_path, concurrency=0)
    assert caught.value.field == "concurrency" and media.requests == []


def test_bulk_asks_the_media_host_for_credentials_once(tmp_path: Path) -> None:
    files = {f"rec-{i}": b"x" * 10 for i in range(3)}
    media = Media(files=files, auth=True)
    with client(media) as c:
        rows = c.download_recordings([recording(r) for r in files], tmp_path, concurrency=1,
                                     progress=False)
    assert rows["status"].tolist() == ["downloaded"] * 3
    assert sum("Authorization" not in r.headers for r in media.requests) == 1


def test_concurrent_downloads_all_get_through_the_media_hosts_challenge(tmp_path: Path) -> None:
    files = {f"rec-{i}": bytes([i]) * 50 for i in range(8)}
    media = Media(files=files, auth=True)
    # the four first requests are all challenged only once all four were sent without credentials
    media.before_challenge = threading.Barrier(4, timeout=30).wait
    with client(media) as c:
        rows = c.download_recordings([recording(r) for r in files], tmp_path, concurrency=4,
                                     progress=False)
    assert rows["status"].tolist() == ["downloaded"] * 8
    assert all((tmp_path / f"{r}.wav").read_bytes() == files[r] for r in files)


# -- async ----------------------------------------------------------------------------------------

def test_the_async_client_downloads_resumes_and_reports_alike(tmp_path: Path) -> None:
    (tmp_path / "rec-1.wav.part").write_bytes(BODY[:5000])
    media = Media(files={"rec-1": BODY, "rec-2": b"two"}, auth=True)

    async def main() -> tuple[Path, pd.DataFrame]:
        async with AsyncRecordingClient(AUTH_ID, TOKEN, base_url=API, rate_limit=None,
                                        transport=httpx.MockTransport(media)) as c:
            path = await c.download_recording("rec-1", tmp_path)
            rows = await c.download_recordings(["rec-2", "nope", recording("rec-1")], tmp_path,
                                               concurrency=2, progress=False)
            return path, rows

    path, rows = asyncio.run(main())
    assert path.read_bytes() == BODY
    first, second = media.gets()[:2]  # asked without credentials, then with them
    assert "Authorization" not in first.headers and second.headers["Authorization"] == BASIC
    assert second.headers["Range"] == "bytes=5000-"
    assert media.streams[0].sent == len(BODY) - 5000
    assert rows["status"].tolist() == ["downloaded", "failed", "already_complete"]
    assert (tmp_path / "rec-2.wav").read_bytes() == b"two"


def test_the_async_client_leaves_only_a_part_file_on_a_short_body(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncRecordingClient(AUTH_ID, TOKEN, base_url=API, rate_limit=None,
                                        transport=httpx.MockTransport(Media(short_by=1))) as c:
            await c.download_recording(recording(), tmp_path)

    with pytest.raises(errors.DownloadError):
        asyncio.run(main())
    assert files_in(tmp_path) == ["rec-1.wav.part"]


# -- against the sandbox --------------------------------------------------------------------------

def test_sandbox_recordings_are_archived_as_playable_files_behind_media_auth(
        tmp_path: Path) -> None:
    import wave
    from datetime import UTC, datetime

    from recording_toolkit.sandbox import ManualClock, Sandbox

    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    with Sandbox(auth_id=AUTH_ID, auth_token=TOKEN, clock=clock, seed=3, media_auth=True,
                 durations=lambda rng: 3600) as sb, \
            RecordingClient(AUTH_ID, TOKEN, base_url=sb.base_url, rate_limit=None) as c:
        wav = c.start_recording("archive wav", file_format="wav")
        mp3 = c.start_recording("archive mp3", file_format="mp3")
        clock.advance(4)
        c.stop_recording("archive wav")
        c.stop_recording("archive mp3")
        clock.advance(600)
        ids = [wav.recording_id, mp3.recording_id, "no-such-recording"]
        rows = c.download_recordings(ids, tmp_path, progress=False)
        again = c.download_recordings(ids, tmp_path, progress=False)
        unauthorised = httpx.get(c.get_recording(wav.recording_id)["recording_url"])
    assert unauthorised.status_code == 401  # the media really asks for credentials
    assert rows["status"].tolist() == ["downloaded", "downloaded", "failed"]
    assert again["status"].tolist() == ["already_complete", "already_complete", "failed"]
    wav_path, mp3_path = tmp_path / f"{wav.recording_id}.wav", tmp_path / f"{mp3.recording_id}.mp3"
    with wave.open(str(wav_path)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 8000)
        assert audio.getnframes() == 4 * 8000  # four seconds, as recorded
    assert rows.loc[0, "bytes"] == wav_path.stat().st_size
    data = mp3_path.read_bytes()
    assert data[:2] == b"\xff\xfb" and len(data) % 96 == 0  # whole MPEG-1 Layer III frames
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([wav_path.name, mp3_path.name])


def test_the_async_client_archives_sandbox_media_alike(tmp_path: Path) -> None:
    import wave
    from datetime import UTC, datetime

    from recording_toolkit.sandbox import ManualClock, Sandbox

    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    async def main(base_url: str) -> pd.DataFrame:
        async with AsyncRecordingClient(AUTH_ID, TOKEN, base_url=base_url, rate_limit=None) as c:
            started = [await c.start_recording(f"room {i}", file_format="wav") for i in range(3)]
            clock.advance(2)
            for i in range(3):
                await c.stop_recording(f"room {i}")
            clock.advance(600)
            return await c.download_recordings([s.recording_id for s in started], tmp_path,
                                               concurrency=3, progress=False)

    with Sandbox(auth_id=AUTH_ID, auth_token=TOKEN, clock=clock, seed=4, media_auth=True,
                 durations=lambda rng: 3600) as sb:
        rows = asyncio.run(main(sb.base_url))
    assert rows["status"].tolist() == ["downloaded"] * 3
    for path in rows["path"]:
        with wave.open(path) as audio:
            assert audio.getnframes() == 2 * 8000
