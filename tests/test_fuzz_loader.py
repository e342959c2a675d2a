"""Whatever a log file holds, the loader accounts for every line and never crashes.

Hypothesis writes log files from odd lines (wrong types, duplicate keys, lone surrogate escapes,
invalid UTF-8, a BOM, CRLF, binary garbage, huge and deeply nested values, torn lines), stores
them plain, gzip or zstd compressed, sometimes cut short, and loads them. For every file:

- loading never raises; ``strict=True`` raises nothing but a ``LoadError`` naming the file;
- every line is loaded or quarantined with a reason:
  ``lines == recordings + transcriptions + duplicates + quarantined``, and ``lines`` is the
  number of non-blank lines the file holds (for a cut ``.gz``: the complete lines ``zcat``
  recovers, plus the torn rest).

Bounded: 60 to 100 examples per test, each a file of a few kilobytes (plus the odd huge value).
"""

from __future__ import annotations

import gzip
import json
import tempfile
import zlib
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loadlogs import URL, stamp

from recording_toolkit.errors import LoadError
from recording_toolkit.load import load_callbacks

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FIELDS = ["recording_id", "RecordingID", "record_url", "RecordUrl", "conference_name",
          "ConferenceName", "recording_duration", "recording_duration_ms",
          "RecordingDurationMs", "recording_start_ms", "recording_end_ms", "api_id",
          "transcription", "transcription_charge", "transcription_rate", "duration",
          "call_uuid", "error", "message"]
IDS = ["r1", "r2", "r3"]

text = st.text(st.characters(codec="utf-8"), max_size=12)  # no lone surrogates: JSON can hold them
scalar = (st.none() | st.booleans() | st.integers(-(2 ** 80), 2 ** 80)
          | st.floats(allow_nan=False, allow_infinity=False) | text)
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(text, inner, max_size=3), max_leaves=5)
plausible = st.sampled_from(IDS + [f"{URL}/r1.mp3", f"{URL}/r2.wav", "345100",
                                   "345100.00000", "1795514100000", "12O5", "", "0.30000",
                                   "record_done", "too short", stamp(5)])
field_value = plausible | json_value
lone_surrogate = st.integers(0xD800, 0xDFFF).map(lambda code: f"\\u{code:04x}")


def obj(pairs: list[tuple[str, str]]) -> str:
    """A JSON object from (key, already-encoded value) pairs: keys may repeat."""
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


@st.composite
def payload(draw) -> str:
    keys = st.sampled_from(FIELDS) | text
    pairs = draw(st.lists(st.tuples(keys, field_value.map(json.dumps)), max_size=6))
    if draw(st.booleans()):  # most callbacks carry their id
        pairs.insert(0, ("recording_id", json.dumps(draw(st.sampled_from(IDS)))))
    if draw(st.integers(0, 4)) == 0:  # a lone surrogate escape somewhere
        key = draw(st.sampled_from(FIELDS))
        pairs.insert(draw(st.integers(0, len(pairs))),
                     (key, f'"a{draw(lone_surrogate)}b"'))
    return obj(pairs)


@st.composite
def enveloped(draw) -> str:
    pairs = [("event", json.dumps(draw(st.sampled_from(
        ["recording", "transcription", "call", None, 5, ["recording"]]))))]
    if draw(st.booleans()):
        pairs.append(("received_at", json.dumps(draw(st.sampled_from(
            [stamp(draw(st.integers(0, 50))), "soon", None, 17])))))
    pairs.append(("payload", draw(payload() | json_value.map(json.dumps))))
    if draw(st.integers(0, 5)) == 0:  # the payload twice
        pairs.append(("payload", draw(payload())))
    return obj(pairs)


@st.composite
def log_line(draw) -> bytes:
    """One line's bytes, without its line end (a garbage line may hold newlines)."""
    kind = draw(st.sampled_from(["enveloped", "enveloped", "enveloped", "flat", "garbage",
                                 "not utf8", "huge", "nested", "torn", "blank", "number"]))
    if kind == "enveloped":
        data = draw(enveloped()).encode()
    elif kind == "flat":
        data = draw(payload()).encode()
    elif kind == "garbage":
        data = draw(st.binary(max_size=40))
    elif kind == "not utf8":  # an encoded surrogate, or a stray continuation byte
        data = b'{"event":"recording","payload":{"recording_id":"r' + draw(
            st.sampled_from([b"\xed\xa0\x80", b"\xff", b"\x80", b"\xc3"])) + b'"}}'
    elif kind == "huge":
        size = draw(st.sampled_from([70_000, 300_000]))
        data = obj([("event", '"recording"'), ("payload", obj([
            ("recording_id", json.dumps("r" + "x" * size)),
            ("recording_duration_ms", "9" * 400)]))]).encode()
    elif kind == "nested":
        depth = draw(st.sampled_from([50, 5000]))
        data = b'{"payload":' + b"[" * depth + b"]" * depth + b"}"
    elif kind == "torn":
        whole = draw(enveloped()).encode()
        data = whole[:draw(st.integers(0, max(0, len(whole) - 1)))]
    elif kind == "number":
        data = draw(st.sampled_from([b"5", b"null", b"[1,2]", b'"text"', b"1e999"]))
    else:
        data = draw(st.sampled_from([b"", b"   ", b"\t", b"\r"]))
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data  # a byte-order mark
    return data


@st.composite
def log_file(draw) -> tuple[bytes, str | None, float | None]:
    """(uncompressed content, codec or None, where to cut the stored bytes or None)."""
    lines = draw(st.lists(log_line(), min_size=0, max_size=25))
    ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=len(lines),
                         max_size=len(lines)))
    content = b"".join(line + end for line, end in zip(lines, ends, strict=True))
    if content and draw(st.booleans()):
        content = content[:-1]  # no newline at the end (or a lone \r)
    codec = draw(st.sampled_from([None, None, "gzip", "zstd"]))
    cut = draw(st.none() | st.floats(0, 1))
    return content, codec, cut


def compress(content: bytes, codec: str | None) -> bytes:
    if codec == "gzip":
        return gzip.compress(content)
    if codec == "zstd":
        sink = pa.BufferOutputStream()
        with pa.CompressedOutputStream(sink, "zstd") as out:
            out.write(content)
        return sink.getvalue().to_pybytes()
    return content


def non_blank(lines: list[bytes]) -> int:
    return sum(1 for line in lines if line.strip(b" \t\r"))


def expected_lines(content: bytes, stored: bytes, codec: str | None) -> int | None:
    """How many lines the loader must account for, or None when only zstd could tell."""
    if codec is None:
        *complete, rest = stored.split(b"\n")
        return non_blank(complete) + (1 if rest.strip(b" \t\r") else 0)
    if codec == "gzip":
        decoder = zlib.decompressobj(wbits=31)
        decoded = decoder.decompress(stored)
        *complete, rest = decoded.split(b"\n")
        if stored and not decoder.eof:  # cut short: the complete lines and the torn rest
            return non_blank(complete) + 1
        return non_blank(complete) + (1 if rest.strip(b" \t\r") else 0)
    if len(stored) == len(compress(content, codec)):  # a whole zstd file
        *complete, rest = content.split(b"\n")
        return non_blank(complete) + (1 if rest.strip(b" \t\r") else 0)
    return None


def check(result, path: Path, expected: int | None) -> None:
    s = result.stats
    assert s.lines == s.recordings + s.transcriptions + s.duplicates + s.quarantined
    assert s.recordings == len(result.recordings)
    assert s.transcriptions == len(result.transcriptions)
    assert s.quarantined == len(result.quarantine)
    if expected is not None:
        assert s.lines == expected
    q = result.quarantine
    assert set(q["file"].tolist()) <= {str(path)}
    assert all(isinstance(reason, str) and reason for reason in q["reason"].tolist())
    numbered = [int(n) for n in q["line"].dropna().tolist()]
    assert len(set(numbered)) == len(numbered)  # one row per line
    assert all(1 <= n <= max(s.lines + s.blank_lines, 1) for n in numbered)


def load_both_ways(path: Path, expected: int | None) -> None:
    result = load_callbacks(path, progress=False)
    check(result, path, expected)
    try:
        strict = load_callbacks(path, strict=True, progress=False)
    except LoadError as exc:
        assert exc.file == str(path)
        assert exc.reason
        assert result.stats.quarantined > 0  # strict refuses only what the lenient load quarantines
    else:
        assert strict.stats.quarantined == 0
        assert strict.stats == result.stats


@settings(SETTINGS, max_examples=100)
@given(log_file())
def test_every_line_of_any_log_file_is_loaded_or_quarantined(made):
    content, codec, cut = made
    stored = compress(content, codec)
    if cut is not None:
        stored = stored[:int(len(stored) * cut)]
    suffix = {"gzip": ".jsonl.gz", "zstd": ".jsonl.zst", None: ".jsonl"}[codec]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"callbacks{suffix}"
        path.write_bytes(stored)
        load_both_ways(path, expected_lines(content, stored, codec))


@SETTINGS
@given(st.binary(max_size=3000), st.sampled_from([".jsonl", ".jsonl.gz", ".jsonl.zst",
                                                   ".csv", ".csv.gz", ".parquet"]))
def test_binary_garbage_under_any_name_is_quarantined_not_raised(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"callbacks{suffix}"
        path.write_bytes(data)
        load_both_ways(path, None)


csv_cell = (plausible | text | st.sampled_from(['a,b', 'say "hi"', "two\nlines", "\ufeffx"])
            | lone_surrogate.map(lambda escape: escape.encode().decode("unicode_escape")))


@SETTINGS
@given(st.lists(st.sampled_from(FIELDS + ["event", "received_at", "Recording ID", "extra"]),
                min_size=1, max_size=6, unique=True),
       st.lists(st.lists(csv_cell, min_size=0, max_size=7), max_size=12),
       st.sampled_from([None, "gzip"]), st.none() | st.floats(0, 1))
def test_every_row_of_any_csv_file_is_loaded_or_quarantined(header, rows, codec, cut):
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    # a lone surrogate in a cell becomes the bytes Python would write for it: not UTF-8
    stored = compress(buffer.getvalue().encode("utf-8", "surrogatepass"), codec)
    if cut is not None:
        stored = stored[:int(len(stored) * cut)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("export.csv" + (".gz" if codec else ""))
        path.write_bytes(stored)
        load_both_ways(path, None)
