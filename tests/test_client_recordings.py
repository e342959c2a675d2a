"""Listing with Plivo's filters, paging by offset and by cursor, deleting recordings (sync and
async clients, against httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import parse_qs

import httpx
import pytest
from plivo_fake import TOKEN, FakePlivo, answer, assert_no_token, read_timeout

from recording_toolkit import errors
from recording_toolkit._bulk import DELETE_COLUMNS
from recording_toolkit._listing import LIST_FILTERS
from recording_toolkit._retry import RetryPolicy
from recording_toolkit.client import AsyncRecordingClient, RecordingClient

AUTH_ID = "MATESTACCOUNT0000001"
LIST_PATH = f"/v1/Account/{AUTH_ID}/Recording/"


def _policy(sleeps: list[float] | None = None) -> RetryPolicy:
    return RetryPolicy(max_retries=3, sleep=(sleeps if sleeps is not None else []).append,
                       random=lambda: 1.0)


def make(handler, **kw) -> RecordingClient:
    kw.setdefault("rate_limit", None)
    kw.setdefault("max_retries", _policy())
    return RecordingClient(AUTH_ID, TOKEN, transport=httpx.MockTransport(handler), **kw)


def query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode(),
                                         keep_blank_values=True).items()}


def page(objects, next_url=None, **meta):
    return {"api_id": "list", "meta": {"limit": 20, "offset": 0, "next": next_url,
                                       "previous": None, "total_count": None, **meta},
            "objects": [{"recording_id": rid} for rid in objects]}


# -- filters ---------------------------------------------------------------------------------------

def test_every_filter_is_serialised_as_plivo_takes_it():
    fake = FakePlivo(answer(200, page([])))
    with make(fake) as client:
        list(client.iter_recordings(
            conference_name="weekly sync", conference_uuid="c-uuid", call_uuid="call-1",
            from_number="14155550100", to_number="+14155550101",
            add_time__gte=datetime(2026, 11, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
            add_time__lt="2026-11-20", add_time__lte=datetime(2026, 11, 20, 1, 2, 3, 450),
            add_time__gt=date(2026, 10, 1), add_time="2026-11-05 10:00",
            recording_storage_duration__gt=90, recording_storage_duration__lte="120",
            recording_storage_duration=0, recording_storage_duration__gte=1,
            recording_storage_duration__lt=400))
    (request,) = fake.requests
    assert request.method == "GET" and request.url.path == LIST_PATH
    assert query(request) == {
        "conference_name": "weekly sync", "conference_uuid": "c-uuid", "call_uuid": "call-1",
        "from_number": "14155550100", "to_number": "+14155550101",
        "add_time__gte": "2026-11-01 10:30:00",      # converted to UTC
        "add_time__lt": "2026-11-20 00:00:00",
        "add_time__lte": "2026-11-20 01:02:03.000450",  # microseconds kept when given
        "add_time__gt": "2026-10-01 00:00:00", "add_time": "2026-11-05 10:00:00",
        "recording_storage_duration__gt": "90", "recording_storage_duration__lte": "120",
        "recording_storage_duration": "0", "recording_storage_duration__gte": "1",
        "recording_storage_duration__lt": "400", "limit": "20", "offset": "0"}
    assert set(LIST_FILTERS) <= set(query(request))


def test_an_unknown_filter_is_refused_naming_the_allowed_ones_before_any_request():
    fake = FakePlivo(answer(200, page([])))
    with make(fake) as client:
        with pytest.raises(errors.ValidationError) as info:
            client.iter_recordings(conference="weekly")
    assert info.value.field == "conference"
    assert "conference_name" in str(info.value) and "add_time__gte" in str(info.value)
    assert fake.requests == []


@pytest.mark.parametrize(("filters", "field"), [
    ({"add_time__gt": "last tuesday"}, "add_time__gt"),
    ({"add_time": 12}, "add_time"),
    ({"recording_storage_duration__gt": -1}, "recording_storage_duration__gt"),
    ({"recording_storage_duration": 2.5}, "recording_storage_duration"),
    ({"recording_storage_duration": True}, "recording_storage_duration"),
    ({"call_uuid": ""}, "call_uuid"),
    ({"from_number": 14155550100}, "from_number"),
    ({"to_number": "1415\n"}, "to_number"),
    ({"conference_name": "   "}, "conference_name"),
    ({"add_time__gte": "2026-11-01", "since": "2026-10-01"}, "since"),
    ({"add_time__gte": "2026-09-01", "add_time__lt": "2026-11-01"}, "add_time__gte"),
])
def test_bad_filter_values_are_refused_naming_the_filter(filters, field):
    fake = FakePlivo(answer(200, page([])))
    with make(fake) as client:
        with pytest.raises(errors.ValidationError) as info:
            client.iter_recordings(**filters)
    assert info.value.field == field
    assert fake.requests == []


def test_an_add_time_filter_asks_exactly_that_instead_of_seven_day_windows():
    fake = FakePlivo(answer(200, page(["r1"])))
    with make(fake) as client:
        found = list(client.iter_recordings(add_time__gt="2026-01-01", add_time__lt="2026-01-31"))
    assert [r["recording_id"] for r in found] == ["r1"]
    (request,) = fake.requests
    assert "add_time__gte" not in query(request)
    assert query(request)["add_time__gt"] == "2026-01-01 00:00:00"


# -- paging ----------------------------------------------------------------------------------------

def test_paging_follows_meta_next_by_offset():
    def plivo(request):
        offset = int(query(request)["offset"])
        ids = [f"r{i}" for i in range(offset, min(offset + 2, 5))]
        following = f"{LIST_PATH}?limit=2&offset={offset + 2}" if offset + 2 < 5 else None
        return httpx.Response(200, json=page(ids, following, total_count=5))

    fake = FakePlivo(plivo)
    with make(fake) as client:
        found = [r["recording_id"] for r in client.iter_recordings(call_uuid="c", limit=2)]
    assert found == ["r0", "r1", "r2", "r3", "r4"]
    assert [query(r)["offset"] for r in fake.requests] == ["0", "2", "4"]
    assert all(query(r)["call_uuid"] == "c" for r in fake.requests)


def test_paging_follows_an_opaque_cursor_without_sending_an_offset_with_it():
    pages = {None: (["a", "b"], f"{LIST_PATH}?limit=2&cursor=Zz1%3D%3D"),
             "Zz1==": (["c", "d"], f"{LIST_PATH}?limit=2&cursor=Yy2"),
             "Yy2": (["e"], None)}

    def plivo(request):
        ids, following = pages[query(request).get("cursor")]
        return httpx.Response(200, json=page(ids, following))

    fake = FakePlivo(plivo)
    with make(fake) as client:
        found = [r["recording_id"] for r in client.iter_recordings(add_time__gt="2026-11-01",
                                                                   limit=2)]
    assert found == ["a", "b", "c", "d", "e"]
    sent = [query(r) for r in fake.requests]
    assert [q.get("cursor") for q in sent] == [None, "Zz1==", "Yy2"]
    assert "offset" in sent[0] and all("offset" not in q for q in sent[1:])
    assert all(q["add_time__gt"] == "2026-11-01 00:00:00" for q in sent)


@pytest.mark.parametrize("repeated", [
    f"{LIST_PATH}?limit=20&offset=0",     # points back at the first page
    f"{LIST_PATH}?limit=20&cursor=same",  # the same cursor again and again
])
def test_a_server_that_repeats_next_is_not_followed_round_in_a_loop(repeated):
    calls = []

    def plivo(request):
        calls.append(query(request))
        if len(calls) > 10:  # the test's own bound: the client must stop long before
            return httpx.Response(500, json={"error": "looping"})
        return httpx.Response(200, json=page([f"r{len(calls)}"], repeated))

    with make(FakePlivo(plivo), max_retries=0) as client:
        found = [r["recording_id"] for r in client.iter_recordings(add_time="2026-11-01")]
    assert len(calls) <= 2
    assert found == [f"r{i}" for i in range(1, len(calls) + 1)]


def test_paging_stops_at_an_empty_page_even_if_next_is_set():
    fake = FakePlivo(answer(200, page([], f"{LIST_PATH}?limit=20&offset=20")))
    with make(fake) as client:
        assert list(client.iter_recordings(add_time="2026-11-01")) == []
    assert len(fake.requests) == 1


# -- delete ----------------------------------------------------------------------------------------

def test_delete_recording_sends_delete_and_reads_204_as_deleted():
    fake = FakePlivo(answer(204))
    with make(fake) as client:
        result = client.delete_recording("rec/1")
    (request,) = fake.requests
    assert request.method == "DELETE"
    assert request.url.raw_path == f"{LIST_PATH}rec%2F1/".encode()
    assert (result.recording_id, result.status, result.status_code) == ("rec/1", "deleted", 204)
    assert result.ok and not result.already_deleted


def test_a_404_means_already_deleted_not_an_error():
    fake = FakePlivo(answer(404, {"api_id": "a", "error": "not found"}))
    with make(fake) as client:
        result = client.delete_recording("gone")
    assert result.status == "already_deleted" and result.status_code == 404
    assert len(fake.requests) == 1


def test_a_delete_is_retried_after_a_5xx_or_a_lost_answer_because_it_is_idempotent():
    sleeps: list[float] = []
    fake = FakePlivo(answer(500, {"error": "oops"}), read_timeout(), answer(204))
    with make(fake, max_retries=_policy(sleeps)) as client:
        result = client.delete_recording("r1")
    assert result.status == "deleted"
    assert [r.method for r in fake.requests] == ["DELETE"] * 3
    assert len(sleeps) == 2


def test_a_delete_that_keeps_failing_raises_and_is_journalled(tmp_path):
    journal = tmp_path / "j.jsonl"
    fake = FakePlivo(answer(403, {"api_id": "a", "error": "forbidden"}))
    with make(fake, journal=journal) as client:
        with pytest.raises(errors.PlivoAPIError, match="forbidden"):
            client.delete_recording("r1")
    (line,) = [json.loads(x) for x in journal.read_text().splitlines()]
    assert (line["action"], line["ok"], line["status"], line["recording_id"]) == (
        "delete", False, 403, "r1")
    assert line["may_have_started"] is False


def test_delete_recordings_gives_one_row_per_id_in_order_and_journals_each(tmp_path):
    def plivo(request):
        rid = request.url.path.rstrip("/").rsplit("/", 1)[1]
        return {"ok1": httpx.Response(204), "gone": httpx.Response(404, json={"error": "nf"}),
                "bad": httpx.Response(400, json={"error": "refused"})}.get(
                    rid, httpx.Response(204))

    journal = tmp_path / "j.jsonl"
    with make(FakePlivo(plivo), journal=journal) as client:
        frame = client.delete_recordings(["ok1", "gone", "", "bad", "ok2"], concurrency=3,
                                         progress=False)
    assert list(frame.columns) == list(DELETE_COLUMNS)
    assert frame["recording_id"].tolist() == ["ok1", "gone", "", "bad", "ok2"]
    assert frame["status"].tolist() == ["deleted", "already_deleted", "failed", "failed",
                                        "deleted"]
    assert frame["ok"].tolist() == [True, True, False, False, True]
    assert frame["status_code"].fillna(0).tolist() == [204, 404, 0, 400, 204]
    assert frame["error"].isna().tolist() == [True, True, False, False, True]
    assert "recording_id" in frame.loc[2, "error"] and "refused" in frame.loc[3, "error"]
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    assert sorted((x["recording_id"], x["status"], x["ok"]) for x in lines) == [
        ("bad", 400, False), ("gone", 404, True), ("ok1", 204, True), ("ok2", 204, True)]
    assert {x["action"] for x in lines} == {"delete"}
    assert all(x["conference_name"] is None for x in lines)
    assert_no_token(journal.read_text(), frame.to_string())


def test_a_dry_run_sends_nothing_and_journals_nothing(tmp_path):
    fake = FakePlivo(answer(204))
    journal = tmp_path / "j.jsonl"
    with make(fake, journal=journal) as client:
        frame = client.delete_recordings(["r1", "r2", ""], dry_run=True, progress=False)
    assert fake.requests == []
    assert not journal.exists()
    assert frame["status"].tolist() == ["would_delete", "would_delete", "failed"]
    assert frame["ok"].tolist() == [True, True, False]


def test_delete_recordings_refuses_one_string():
    with make(FakePlivo()) as client, pytest.raises(TypeError, match="list of recording ids"):
        client.delete_recordings("r1")


# -- the async twin --------------------------------------------------------------------------------

def test_async_client_lists_by_cursor_deletes_and_dry_runs(tmp_path):
    pages = {None: (["a"], f"{LIST_PATH}?cursor=k1"), "k1": (["b"], f"{LIST_PATH}?cursor=k1")}

    def plivo(request):
        if request.method == "DELETE":
            rid = request.url.path.rstrip("/").rsplit("/", 1)[1]
            return httpx.Response(404 if rid == "b" else 204)
        ids, following = pages[query(request).get("cursor")]
        return httpx.Response(200, json=page(ids, following))

    fake = FakePlivo(plivo)
    journal = tmp_path / "j.jsonl"

    async def main():
        async with AsyncRecordingClient(AUTH_ID, TOKEN, transport=httpx.MockTransport(fake),
                                        rate_limit=None, max_retries=_policy(),
                                        journal=journal) as client:
            with pytest.raises(errors.ValidationError, match="conference_name"):
                client.iter_recordings(conferencename="x")
            ids = [r["recording_id"] async for r in client.iter_recordings(
                add_time__gte=datetime(2026, 11, 1, tzinfo=UTC))]
            dry = await client.delete_recordings(ids, dry_run=True, progress=False)
            single = await client.delete_recording("a")
            bulk = await client.delete_recordings(ids, progress=False)
            return ids, dry, single, bulk

    ids, dry, single, bulk = asyncio.run(main())
    assert ids == ["a", "b"]
    assert dry["status"].tolist() == ["would_delete"] * 2
    assert single.status == "deleted"
    assert bulk["status"].tolist() == ["deleted", "already_deleted"]
    assert [r.method for r in fake.requests] == ["GET", "GET", "DELETE", "DELETE", "DELETE"]
    assert len(journal.read_text().splitlines()) == 3


def test_async_start_answered_without_recording_id_is_pending_and_journalled(tmp_path):
    fake = FakePlivo(answer(200, {"api_id": "async-1", "message": "async api spawned"}))
    journal = tmp_path / "j.jsonl"

    async def main():
        async with AsyncRecordingClient(AUTH_ID, TOKEN, transport=httpx.MockTransport(fake),
                                        rate_limit=None, journal=journal) as client:
            one = await client.start_recording("room", callback_url="https://example.com/cb")
            many = await client.start_recordings(["a", "b"], progress=False)
            return one, many

    one, many = asyncio.run(main())
    assert one.pending and one.api_id == "async-1"
    assert many["ok"].tolist() == [True, True]
    assert many["recording_id"].isna().tolist() == [True, True]
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    assert [(x["ok"], x["api_id"], x["recording_id"]) for x in lines] == [
        (True, "async-1", None)] * 3
