"""Fuzzing the receiver's ASGI app in-process: whatever a callback request carries, the answer is
one the sender can act on, and what is on disk matches it.

Each example sends one request (form, JSON or query callbacks; wrong types, fields given twice,
invalid UTF-8, lone surrogates, huge values, empty bodies, wrong content types), signed or not,
to an app that verifies signatures and to one that does not. For every example:

- no 500 and no exception out of the app;
- 200: the answer says ``stored`` and exactly one new line for that callback is in the log, or
  ``duplicate`` and no new line, the callback being there already;
- 400: nothing in the log, one new record with the same reason in ``_quarantine/``;
- 403 or 413: nothing in the log, one new record with that status in ``_rejected/``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from recording_toolkit.callback_log import CallbackLog
from recording_toolkit.callbacks import field_text
from recording_toolkit.receiver import MAX_BODY_BYTES, create_receiver_app
from recording_toolkit.signature import signed_headers

TOKEN = "fuzz-receiver-token-0123456789abcdef"
PUBLIC_URL = "http://receiver.test"
_nonces = itertools.count(1)


class Disk:
    """What the app wrote since the last look: new lines of the log, the quarantine and the
    rejected records."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._offsets: dict[Path, int] = {}
        self.callbacks: set[tuple[str, str]] = set()  # (event, recording_id) of every line

    def new_lines(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for category, pattern in (("callbacks", "callbacks-*.jsonl"),
                                  ("quarantine", "_quarantine/*.jsonl"),
                                  ("rejected", "_rejected/*.jsonl")):
            lines = found.setdefault(category, [])
            for path in sorted(self.folder.glob(pattern)):
                start = self._offsets.get(path, 0)
                with open(path, "rb") as fh:
                    fh.seek(start)
                    data = fh.read()
                self._offsets[path] = start + len(data)
                assert data == b"" or data.endswith(b"\n"), f"{path}: a torn line"
                lines.extend(json.loads(raw) for raw in data.splitlines())
        for line in found["callbacks"]:
            self.callbacks.add((line["event"], line["payload"]["recording_id"]))
        return found


class Target:
    def __init__(self, folder: Path, *, verify: bool) -> None:
        self.verify = verify
        self.log = CallbackLog(folder)
        self.app = create_receiver_app(self.log, auth_tokens=TOKEN if verify else None,
                                       public_url=PUBLIC_URL, verify=verify)
        self.disk = Disk(folder)


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    made = {"signed": Target(tmp_path_factory.mktemp("fuzz-signed"), verify=True),
            "unsigned": Target(tmp_path_factory.mktemp("fuzz-unsigned"), verify=False)}
    yield made
    for target in made.values():
        target.log.close()


# -- strategies -------------------------------------------------------------------------------

_names = st.sampled_from([
    "recording_id", "RecordingID", "recording_id", "record_url", "RecordUrl",
    "recording_duration_ms", "RecordingDurationMs", "transcription", "transcription_rate",
    "call_uuid", "error", "message", "conference_name", "recording-id", "",
]) | st.text(max_size=12)
_odd_text = st.sampled_from(["\ud800", "a\udfffb", "\x00", "\ufeff", "é", "😀", "%", "%FF", "+",
                             "&", "=", " padded ", "\r\n"])


class _Huge(str):
    """A long value that reports in a few characters (hypothesis prints failing examples)."""

    def __repr__(self) -> str:
        return f"<{len(self)} x's>"


_huge = st.sampled_from([5_000, 300_000, MAX_BODY_BYTES - 200, MAX_BODY_BYTES + 1]).map(
    lambda n: _Huge("x" * n))
_small_values = st.text(max_size=30) | _odd_text | st.integers().map(str)
_values = _small_values | _huge
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _values,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_names, children,
                                                                      max_size=3),
    max_leaves=6)
_content_types = st.sampled_from([
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
    "application/json", "application/json; charset=utf-16", "application/vnd.x+json", "",
    "text/plain", "multipart/form-data; boundary=x", "application/xml", "APPLICATION/JSON",
    ";;", "application/x-www-form-urlencoded, application/json",
])


def _pairs(path: str, values=_values, *, noise: bool = True):
    """A real callback's fields for ``path``; with ``noise``, some dropped, repeated, changed or
    added."""
    ids = st.sampled_from(["rec-1", "rec-2", "RecX", ""]) | values
    if path.endswith("recording"):
        base = st.fixed_dictionaries({
            "recording_id": ids, "record_url": st.just("https://media.example/r.mp3"),
            "recording_duration_ms": st.sampled_from(["1000", "12.5", "-1", "x"])})
    else:
        base = st.fixed_dictionaries({
            "recording_id": ids, "transcription": values,
            "transcription_rate": st.sampled_from(["0.05", "", "x"])})
    fields = base.map(lambda fields: list(fields.items()))
    if not noise:
        return fields
    return st.tuples(fields, st.lists(st.tuples(_names, values), max_size=3)).flatmap(
        lambda parts: st.permutations(parts[0] + parts[1])).flatmap(
        lambda pairs: st.lists(st.integers(0, max(len(pairs) - 1, 0)), max_size=2).map(
            lambda drop: [p for i, p in enumerate(pairs) if i not in drop]))


def _form(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(k, safe='', errors='surrogatepass')}="
                    f"{quote(v, safe='', errors='surrogatepass')}" for k, v in pairs).encode()


@st.composite
def callback_requests(draw) -> dict[str, Any]:
    path = draw(st.sampled_from(["/callbacks/recording", "/callbacks/transcription"]))
    method = "GET" if path.endswith("recording") and draw(st.integers(0, 4)) == 0 else "POST"
    query: list[tuple[str, str]] = draw(st.lists(st.tuples(_names, _small_values), max_size=2))
    raw_query = draw(st.sampled_from(["", "", "", "%", "a=%FF", "a=%zz&&=b", "x=1&x=2", "%ED%A0%80"]))
    shape = "query" if method == "GET" else draw(st.sampled_from(
        ["form", "form", "json", "json", "json-raw", "bytes", "empty"]))
    noise = draw(st.booleans())  # half the callbacks are well-formed: they reach the log
    signed_params: list[tuple[str, str]] | None = None
    body = b""
    content_type = ""
    if shape == "query":
        query += draw(_pairs(path, _small_values, noise=noise))
    elif shape == "form":
        pairs = draw(_pairs(path, noise=noise))
        body, signed_params = _form(pairs), pairs
        content_type = "application/x-www-form-urlencoded"
    elif shape in ("json", "json-raw"):
        obj = dict(draw(_pairs(path, noise=noise)))
        if noise:
            obj |= draw(st.dictionaries(_names, _json_values, max_size=3))
        if shape == "json":  # escapes: a lone surrogate arrives as "\ud800"
            body = json.dumps(obj).encode()
        else:  # the text itself: a lone surrogate is bytes that are not UTF-8
            body = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
        signed_params = [(k, field_text(v)) for k, v in obj.items()]
        content_type = "application/json"
    elif shape == "bytes":
        body = draw(st.binary(max_size=200) | st.sampled_from([
            b"\xef\xbb\xbfrecording_id=r1", b"recording_id=caf\xe9", b"\xff\xfe{\x00}\x00",
            b'{"recording_id": "r1", "recording_id": "r2"}', b"[]", b"null", b"{" * 5000]))
        signed_params = []
    if draw(st.integers(0, 3)) == 0:
        content_type = draw(_content_types)
    return {"method": method, "path": path, "query": query, "raw_query": raw_query,
            "body": body, "content_type": content_type, "params": signed_params,
            "signing": draw(st.sampled_from(["right", "right", "right", "none", "wrong token"]))}


# -- sending ----------------------------------------------------------------------------------

def _build(request: dict[str, Any], target: Target) -> httpx.Request:
    query = "&".join(
        [f"{quote(k, safe='', errors='surrogatepass')}={quote(v, safe='', errors='surrogatepass')}"
         for k, v in request["query"]] + ([request["raw_query"]] if request["raw_query"] else []))
    url = httpx.URL(PUBLIC_URL + request["path"] + (f"?{query}" if query else ""))
    headers = {"content-type": request["content_type"]} if request["content_type"] else {}
    built = httpx.Request(request["method"], url, content=request["body"], headers=headers)
    if target.verify and request["signing"] != "none":
        signed_url = PUBLIC_URL + request["path"] + (
            f"?{built.url.query.decode('ascii')}" if built.url.query else "")
        token = TOKEN if request["signing"] == "right" else "someone-elses-token"
        params = request["params"] if request["method"] == "POST" else None
        built.headers.update(signed_headers(token, str(next(_nonces)), request["method"],
                                            signed_url, params))
    return built


def _send(target: Target, request: httpx.Request) -> httpx.Response:
    async def go() -> httpx.Response:
        # an exception in the app propagates here (raise_app_exceptions) and fails the example
        transport = httpx.ASGITransport(app=target.app)
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.send(request)

    return asyncio.run(go())


def _check(target: Target, response: httpx.Response) -> str:
    """The invariants, for one answer; returns what happened."""
    status = response.status_code
    assert status in {200, 400, 403, 413}, (status, response.text)
    body = response.json()
    written = target.disk.new_lines()
    if status == 200:
        assert written["quarantine"] == written["rejected"] == []
        key = (body["event"], body["recording_id"])
        if body["status"] == "stored":
            [line] = written["callbacks"]
            assert (line["event"], line["payload"]["recording_id"]) == key
            assert line["verified"] is target.verify
        else:
            assert body["status"] == "duplicate"
            assert written["callbacks"] == [] and key in target.disk.callbacks
        return body["status"]
    assert written["callbacks"] == []
    if status == 400:
        [record] = written["quarantine"]
        assert written["rejected"] == []
        assert record["status"] == 400 and record["reason"] == body["error"]
    else:
        assert status == 413 or target.verify  # only a verifying receiver answers 403
        [record] = written["rejected"]
        assert written["quarantine"] == []
        assert record["status"] == status and record["reason"] == body["error"]
    return str(status)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(request=callback_requests(), which=st.sampled_from(["signed", "unsigned"]))
def test_every_callback_request_gets_an_answer_that_matches_the_disk(targets, request, which):
    target = targets[which]
    event(f"{which}: {_check(target, _send(target, _build(request, target)))}")


def test_the_harness_signs_as_plivo_does(targets):
    """The fuzzing above reaches the log, not only the error paths."""
    target = targets["signed"]
    for shape in ("form", "json"):
        fields = [("recording_id", f"harness-{shape}"), ("record_url", "https://m/r.mp3")]
        body = _form(fields) if shape == "form" else json.dumps(dict(fields)).encode()
        request = {"method": "POST", "path": "/callbacks/recording", "query": [("run", "1")],
                   "raw_query": "", "body": body, "params": fields, "signing": "right",
                   "content_type": ("application/x-www-form-urlencoded" if shape == "form"
                                    else "application/json")}
        assert _check(target, _send(target, _build(request, target))) == "stored"
        request["signing"] = "wrong token"
        assert _check(target, _send(target, _build(request, target))) == "403"


def test_fuzzing_left_no_secret_on_disk(targets):
    for target in targets.values():
        for path in target.log.log_dir.rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes()
