"""The client's I/O-free core: validation, wire shape, windows, paging."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from plivo_fake import TOKEN, FakePlivo, answer

from recording_toolkit._listing import RecordingPager
from recording_toolkit._results import RecordingResult
from recording_toolkit._urls import conference_path
from recording_toolkit.client import RecordingClient
from recording_toolkit.errors import PlivoAPIError, ValidationError
from recording_toolkit.validation import (
    StartOptions,
    parse_retry_fragment,
    validate_conference_name,
    validate_recording_id,
    validate_start_options,
)
from recording_toolkit.windows import recording_windows

AUTH_ID = "MATESTACCOUNT0000001"


# -- validation: each rule, with the field named and the allowed values said ----------------------

@pytest.mark.parametrize(("options", "field", "says"), [
    ({"file_format": "ogg"}, "file_format", "'mp3' or 'wav'"),
    ({"file_format": ""}, "file_format", "'mp3' or 'wav'"),
    ({"file_format": None}, "file_format", "'mp3' or 'wav'"),
    ({"transcription_type": "manual", "transcription_url": "https://h/t"},
     "transcription_type", "only transcription type is 'auto'"),
    ({"transcription_type": 1, "transcription_url": "https://h/t"}, "transcription_type", "'auto'"),
    ({"transcription_url": "https://h/t"}, "transcription_url", "without transcription_type='auto'"),
    ({"transcription_type": "auto"}, "transcription_type", "needs a transcription_url"),
    ({"callback_method": "PUT"}, "callback_method", "'GET' or 'POST'"),
    ({"callback_method": None}, "callback_method", "'GET' or 'POST'"),
    ({"callback_url": "/callbacks/recording"}, "callback_url", "absolute http(s) URL"),
    ({"callback_url": "ftp://h/cb"}, "callback_url", "absolute http(s) URL"),
    ({"callback_url": "https:///cb"}, "callback_url", "absolute http(s) URL"),
    ({"callback_url": "https://h/c b"}, "callback_url", "spaces"),
    ({"callback_url": " https://h/cb"}, "callback_url", "spaces"),
    ({"callback_url": "https://h:99999/cb"}, "callback_url", "not a valid URL"),
    ({"callback_url": 42}, "callback_url", "is not a URL"),
    ({"transcription_type": "auto", "transcription_url": "mailto:a@b"}, "transcription_url",
     "absolute http(s) URL"),
])
def test_each_invalid_option_names_its_field_and_what_is_allowed(options, field, says):
    with pytest.raises(ValidationError) as info:
        validate_start_options(**options)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert says in str(info.value)


def test_valid_options_are_normalised():
    opts = validate_start_options(file_format="WaV", transcription_type="AUTO",
                                  transcription_url="https://h/t", callback_url="http://h/cb",
                                  callback_method="get")
    assert opts == StartOptions("wav", "auto", "https://h/t", "http://h/cb", "GET")
    assert validate_start_options() == StartOptions()


@pytest.mark.parametrize("name", ["", "   ", "\t", None, 7, "bad\nname", "nul\x00"])
def test_bad_conference_names(name):
    with pytest.raises(ValidationError) as info:
        validate_conference_name(name)
    assert info.value.field == "conference_name"


@pytest.mark.parametrize(("rid", "says"), [
    ("", "give a recording id"), ("   ", "give a recording id"), (None, "is not a string"),
    (7, "is not a string"), ("r\n1", "control characters"), ("r" * 5000, "is too long"),
])
def test_bad_recording_ids_are_refused_as_recording_ids(rid, says):
    """Every call that takes a recording id refuses a bad one before sending, in words about
    a recording id (not about a conference)."""
    fake = FakePlivo()
    with RecordingClient(AUTH_ID, TOKEN, transport=httpx.MockTransport(fake)) as client:
        for call in (client.get_recording, client.get_transcription, client.delete_recording):
            with pytest.raises(ValidationError, match=says) as info:
                call(rid)
            assert info.value.field == "recording_id" and "conference" not in str(info.value)
    assert fake.requests == []


def test_a_recording_id_is_sent_as_one_path_segment():
    assert validate_recording_id("rec/1?x") == "rec/1?x"
    fake = FakePlivo(answer(204))
    with RecordingClient(AUTH_ID, TOKEN, transport=httpx.MockTransport(fake)) as client:
        client.delete_recording("rec/1?x")
    (request,) = fake.requests
    assert request.url.raw_path.decode() == f"/v1/Account/{AUTH_ID}/Recording/rec%2F1%3Fx/"


@pytest.mark.parametrize("fragment", [
    "ct=100", "ct=10000", "rt=100", "rt=40000", "tt=55000", "rc=0", "rc=5",
    "rp=4xx,5xx,ct,rt,all", "er=nearest", "er=local", "er=us-west-1",
    "ct=2000&rt=10000&tt=30000&rc=3&rp=ct,rt,5xx&er=nearest",
])
def test_retry_fragments_inside_plivos_table(fragment):
    parse_retry_fragment(fragment)
    url = f"https://host/cb?run=7#{fragment}"
    assert validate_start_options(callback_url=url).callback_url == url


@pytest.mark.parametrize(("fragment", "says"), [
    ("ct=99", "ct (connect timeout, ms) must be a whole number from 100 to 10000"),
    ("ct=10001", "from 100 to 10000"),
    ("rt=40001", "rt (read timeout, ms) must be a whole number from 100 to 40000"),
    ("tt=99", "from 100 to 55000"),
    ("tt=55001", "from 100 to 55000"),
    ("rc=6", "rc (retry count) must be a whole number from 0 to 5"),
    ("rc=-1", "from 0 to 5"),
    ("rc=1.5", "from 0 to 5"),
    ("rc=", "from 0 to 5"),
    ("rp=3xx", "rp is a comma list of 4xx, 5xx, ct, rt, all"),
    ("rp=ct,,rt", "unknown condition"),
    ("er=", "not a region"),
    ("er=us/west", "not a region"),
    ("xx=1", "'xx' is unknown; allowed keys: ct, rt, tt, rc, rp, er"),
    ("CT=2000", "'CT' is unknown"),
    ("section-2", "is not key=value"),
    ("ct=2000&ct=3000", "given twice"),
])
def test_retry_fragments_outside_plivos_table(fragment, says):
    with pytest.raises(ValidationError) as info:
        validate_start_options(callback_url=f"https://host/cb#{fragment}")
    assert info.value.field == "callback_url"
    assert says in str(info.value)


def test_transcription_url_fragment_is_checked_too():
    with pytest.raises(ValidationError, match="transcription_url: callback-retry setting rc=9"):
        validate_start_options(transcription_type="auto",
                               transcription_url="https://h/t#rc=9")


def test_password_in_a_callback_url_is_masked_in_errors():
    with pytest.raises(ValidationError) as info:
        validate_start_options(callback_url="https://user:hunter2@h/cb#rc=9")
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in str(info.value.value)
    with pytest.raises(ValidationError) as info:
        validate_start_options(transcription_type="auto",
                               transcription_url="ftp://user:hunter2@h/t")
    assert "hunter2" not in str(info.value) and "user:***@h" in str(info.value)


# -- URL building ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "segment"), [
    ("My Conf Room", "My%20Conf%20Room"),
    ("weekly/sync?#%", "weekly%2Fsync%3F%23%25"),
    ("café ☕", "caf%C3%A9%20%E2%98%95"),
    ("a+b&c=d", "a%2Bb%26c%3Dd"),
    ("..", "%2E%2E"),
    (".", "%2E"),
    ("v1.2", "v1.2"),
])
def test_conference_name_is_one_percent_encoded_segment(name, segment):
    path = conference_path(AUTH_ID, name)
    assert path == f"/v1/Account/{AUTH_ID}/Conference/{segment}/Record/"
    # and httpx sends it untouched (no dot-segment collapsing, no re-encoding)
    fake = FakePlivo()
    with RecordingClient(AUTH_ID, TOKEN, transport=fake.transport, rate_limit=None) as client:
        client.start_recording(name)
    assert fake.requests[0].url.raw_path.decode() == path
    assert fake.bodies[0]["conference_name"] == name


def test_body_repeats_the_name_and_leaves_unset_options_out():
    assert StartOptions().body("x") == {"conference_name": "x", "file_format": "mp3"}
    full = StartOptions("wav", "auto", "https://h/t", "https://h/c", "GET").body("x")
    assert full == {"conference_name": "x", "file_format": "wav", "transcription_type": "auto",
                    "transcription_url": "https://h/t", "callback_url": "https://h/c",
                    "callback_method": "GET"}


# -- the wire, compared with what the official SDK actually sends ---------------------------------

def _sdk_request(call):
    """Run ``call(plivo_client)`` and return the requests.PreparedRequest the SDK sent."""
    plivo = pytest.importorskip("plivo")
    requests = pytest.importorskip("requests")
    sent = []

    def send(request, **kwargs):
        sent.append(request)
        response = requests.Response()
        response.status_code = 202 if request.method == "POST" else 204
        response._content = json.dumps({"api_id": "a", "message": "m", "recording_id": "r",
                                        "url": "u"}).encode()
        response.url = request.url
        return response

    sdk = plivo.RestClient(AUTH_ID, TOKEN)
    sdk.session.send = send
    call(sdk)
    (request,) = sent
    return request


WIRE_CASES = [
    ("My Conf Room", {}),
    ("My Conf Room", {"file_format": "wav"}),
    ("weekly sync", {"file_format": "mp3", "transcription_type": "auto",
                     "transcription_url": "https://cb.example.com/t",
                     "callback_url": "https://cb.example.com/r?run=7#ct=2000&rc=3",
                     "callback_method": "GET"}),
]


@pytest.mark.parametrize(("name", "options"), WIRE_CASES)
def test_start_request_matches_the_official_sdk(name, options):
    sdk_options = {"file_format": "mp3", **options}  # the toolkit always states the format
    theirs = _sdk_request(lambda sdk: sdk.conferences.record(name, **sdk_options))
    fake = FakePlivo()
    with RecordingClient(AUTH_ID, TOKEN, transport=fake.transport, rate_limit=None) as client:
        client.start_recording(name, **options)
    ours = fake.requests[0]
    assert ours.method == theirs.method == "POST"
    assert str(ours.url) == theirs.url
    assert ours.url.raw_path.decode() == (
        f"/v1/Account/{AUTH_ID}/Conference/{name.replace(' ', '%20')}/Record/")
    assert json.loads(ours.content) == json.loads(theirs.body)
    assert ours.headers["Authorization"] == theirs.headers["Authorization"]
    assert ours.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{AUTH_ID}:{TOKEN}".encode()).decode()
    assert ours.headers["Content-Type"] == theirs.headers["Content-Type"] == "application/json"
    assert ours.headers["Accept"] == theirs.headers["Accept"] == "application/json"
    assert ours.headers["User-Agent"].startswith("recording_toolkit/0.1.0 (")
    assert theirs.headers["User-Agent"].startswith("plivo-python/")


def test_stop_request_matches_the_official_sdk():
    theirs = _sdk_request(lambda sdk: sdk.conferences.record_stop("My Conf Room"))
    fake = FakePlivo(lambda request: httpx.Response(204))
    with RecordingClient(AUTH_ID, TOKEN, transport=fake.transport, rate_limit=None) as client:
        client.stop_recording("My Conf Room")
    ours = fake.requests[0]
    assert ours.method == theirs.method == "DELETE"
    assert str(ours.url) == theirs.url
    assert json.loads(ours.content) == json.loads(theirs.body) == {"conference_name": "My Conf Room"}
    assert ours.headers["Authorization"] == theirs.headers["Authorization"]


def test_the_sdk_sends_a_name_with_a_slash_to_the_wrong_url_and_the_toolkit_does_not():
    theirs = _sdk_request(lambda sdk: sdk.conferences.record("team/a"))
    assert "/Conference/team/a/Record/" in theirs.url  # two path segments: another resource
    assert conference_path(AUTH_ID, "team/a").endswith("/Conference/team%2Fa/Record/")


# -- results --------------------------------------------------------------------------------------

def test_recording_result_to_dict():
    moment = datetime(2026, 11, 24, 10, 15, 2, 123456, tzinfo=UTC)
    result = RecordingResult("a", "m", "r", "u", "c", moment)
    assert result.to_dict() == {"conference_name": "c", "recording_id": "r", "api_id": "a",
                                "message": "m", "url": "u",
                                "requested_at": "2026-11-24T10:15:02.123456Z"}


# -- Recording list windows and paging ------------------------------------------------------------

def test_windows_cover_the_range_in_steps_of_at_most_30_days():
    windows = recording_windows("2026-01-01T00:00:00Z", "2026-04-15T12:00:00Z")
    assert windows[0][0] == "2026-01-01 00:00:00"
    assert windows[-1][1] == "2026-04-15 12:00:00"
    fmt = "%Y-%m-%d %H:%M:%S"
    for (gte, lt), nxt in zip(windows, [*windows[1:], None], strict=True):
        span = datetime.strptime(lt, fmt) - datetime.strptime(gte, fmt)
        assert timedelta(0) < span <= timedelta(days=30)
        if nxt is not None:
            assert nxt[0] == lt  # contiguous: nothing missed, nothing twice
    assert len(windows) == 4


def test_windows_are_utc_and_widened_to_whole_seconds():
    paris = datetime(2026, 3, 1, 12, 0, 0, 500000).astimezone(
        __import__("datetime").timezone(timedelta(hours=1)))
    (gte, lt), = recording_windows(paris - timedelta(hours=1), paris)
    assert gte.endswith(":00") and lt.endswith(":01")  # since floored, until ceiled
    assert datetime.strptime(lt, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) > paris


def test_default_window_is_the_last_seven_days():
    now = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
    assert recording_windows(now=now) == [("2026-11-17 10:00:00", "2026-11-24 10:00:00")]


@pytest.mark.parametrize(("since", "until", "field"), [
    ("2026-02-01", "2026-01-01", "since"), ("2026-01-01", "2026-01-01", "since"),
    ("yesterday", None, "since"), (None, "soon", "until"), (12, None, "since"),
])
def test_bad_windows(since, until, field):
    with pytest.raises(ValidationError) as info:
        recording_windows(since, until)
    assert info.value.field == field


def test_pager_follows_meta_next_and_skips_recordings_seen_twice():
    pager = RecordingPager(AUTH_ID, [("a", "b")], conference_name="c", limit=2)
    call = pager.first()
    assert call.params == {"add_time__gte": "a", "add_time__lt": "b", "limit": "2", "offset": "0",
                           "conference_name": "c"}
    page = {"meta": {"next": f"/v1/Account/{AUTH_ID}/Recording/?limit=2&offset=2"},
            "objects": [{"recording_id": "r1"}, {"recording_id": "r2"}]}
    objects, call = pager.feed(call, page)
    assert [o["recording_id"] for o in objects] == ["r1", "r2"]
    assert call.params["offset"] == "2"
    # a recording was added meanwhile: r2 shifted onto the next page
    objects, call = pager.feed(call, {"meta": {"next": None},
                                      "objects": [{"recording_id": "r2"}, {"recording_id": "r3"}]})
    assert [o["recording_id"] for o in objects] == ["r3"]
    assert call is None


def test_pager_rejects_an_answer_without_objects():
    pager = RecordingPager(AUTH_ID, [("a", "b")], conference_name=None, limit=20)
    with pytest.raises(PlivoAPIError, match="without an 'objects' list"):
        pager.feed(pager.first(), {"api_id": "x", "error": "?"})


def _ids(objects):
    return [o["recording_id"] for o in objects]


def test_pager_takes_a_cursor_and_a_new_limit_from_next_and_drops_the_offset():
    pager = RecordingPager(AUTH_ID, [None], limit=20, filters={"call_uuid": "c"})
    call = pager.first()
    assert call.params == {"limit": "20", "offset": "0", "call_uuid": "c"}
    objects, call = pager.feed(call, {"meta": {"next": "/x/?limit=5&cursor=abc%3D"},
                                      "objects": [{"recording_id": "r1"}]})
    assert _ids(objects) == ["r1"]
    assert call.params == {"limit": "5", "cursor": "abc=", "call_uuid": "c"}
    objects, call = pager.feed(call, {"meta": {"next": None}, "objects": [{"recording_id": "r2"}]})
    assert _ids(objects) == ["r2"] and call is None


@pytest.mark.parametrize("next_url", ["/x/?offset=0", "/x/?cursor=", "/x/?offset=ten",
                                      "/x/?limit=20"])
def test_pager_ends_a_walk_that_would_repeat_or_cannot_be_followed(next_url):
    pager = RecordingPager(AUTH_ID, [None], limit=20)
    call = pager.first()
    objects, call = pager.feed(call, {"meta": {"next": next_url},
                                      "objects": [{"recording_id": "r1"}]})
    if call is not None:  # "?limit=20" carries no position: the offset moves on by the page
        assert call.params["offset"] == "1"
        _, call = pager.feed(call, {"meta": {"next": "/x/?offset=0"},
                                    "objects": [{"recording_id": "r2"}]})
    assert call is None


def test_pager_moves_to_the_next_window_when_a_window_repeats():
    pager = RecordingPager(AUTH_ID, [("a", "b"), ("b", "c")], limit=20)
    call = pager.first()
    _, call = pager.feed(call, {"meta": {"next": "/x/?offset=0"},
                                "objects": [{"recording_id": "r1"}]})
    assert call.params["add_time__gte"] == "b" and call.params["offset"] == "0"
