"""``recording-toolkit recordings list`` / ``download`` (commands/recordings.py): against the
sandbox on a manual clock (real HTTP on 127.0.0.1), and httpx.MockTransport for what the
sandbox cannot show (the exact query sent, no request at all)."""

from __future__ import annotations

import csv
import json
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
import pytest

from recording_toolkit.cli import build_parser, main
from recording_toolkit.errors import ConfigurationError
from recording_toolkit.sandbox import ManualClock, Sandbox

pytestmark = pytest.mark.timeout(120)

NOW = datetime.now(UTC).replace(microsecond=0)


def make_sandbox(auth_id: str, auth_token: str, clock: ManualClock) -> Sandbox:
    """Recordings run until stopped (simulated duration 10 h)."""
    return Sandbox(auth_id=auth_id, auth_token=auth_token, seed=3, clock=clock,
                   durations=lambda rng: 10 * 3600)


def record(sb: Sandbox, clock: ManualClock, name: str, *, days_ago: float, seconds: float = 90,
           file_format: str = "wav") -> str:
    """A recording of ``name`` added ``days_ago`` days before now, ``seconds`` long; its id.
    Sandbox time only moves forward: record the oldest first, then move the clock to now."""
    path = f"/Conference/{quote(name, safe='')}/Record/"
    with httpx.Client(base_url=f"{sb.base_url}/v1/Account/{sb.auth_id}",
                      auth=(sb.auth_id, sb.auth_token), timeout=10) as api:
        clock.set(NOW - timedelta(days=days_ago, seconds=seconds))
        answer = api.post(path, json={"file_format": file_format})
        assert answer.status_code == 202, answer.text
        clock.advance(seconds)
        assert api.delete(path).status_code == 204
    return answer.json()["recording_id"]


def listing(sb: Sandbox, **params: Any) -> list[dict[str, Any]]:
    """The sandbox's own Recording list answer (one page), to compare the command with."""
    with httpx.Client(base_url=f"{sb.base_url}/v1/Account/{sb.auth_id}",
                      auth=(sb.auth_id, sb.auth_token), timeout=10) as api:
        answer = api.get("/Recording/", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["objects"]


def cli(sb: Sandbox | None, *argv: str, transport: Any = None,
        environ: dict[str, str] | None = None) -> int:
    """Run a command in-process (output to the captured stdout/stderr)."""
    args = build_parser().parse_args(list(argv))
    if environ is None:
        assert sb is not None
        environ = {"PLIVO_AUTH_ID": sb.auth_id, "PLIVO_AUTH_TOKEN": sb.auth_token,
                   "PLIVO_API_BASE_URL": sb.base_url}
    return args.func(args, environ=environ, transport=transport)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW - timedelta(days=400))


@pytest.fixture
def sandbox(auth_id, auth_token, clock) -> Iterator[Sandbox]:
    with make_sandbox(auth_id, auth_token, clock) as sb:
        yield sb


@pytest.fixture
def three(sandbox, clock) -> dict[str, str]:
    """Three recordings: weekly sync 3 days ago, standup 2 days ago, weekly sync 1 day ago."""
    made = {"old": record(sandbox, clock, "weekly sync", days_ago=3),
            "standup": record(sandbox, clock, "standup", days_ago=2, seconds=30),
            "new": record(sandbox, clock, "weekly sync", days_ago=1)}
    clock.set(NOW)
    return made


# -- list --------------------------------------------------------------------------------------

def test_every_filter_flag_reaches_the_server_as_plivos_filter():
    sent: list[httpx.Request] = []

    def plivo(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"meta": {"next": None}, "objects": []})

    code = cli(None, "recordings", "list", "--conference-name", "weekly sync",
               "--conference-uuid", "c-1", "--call-uuid", "call-1", "--from-number", "14155550100",
               "--to-number", "+14155550101", "--add-time-gte", "2026-11-01T10:00:00+02:00",
               "--add-time-lt", "2026-11-20", "--storage-days-gt", "90", "--storage-days-lte",
               "120", "--json", transport=httpx.MockTransport(plivo),
               environ={"PLIVO_AUTH_ID": "MATESTACCOUNT0000001", "PLIVO_AUTH_TOKEN": "t" * 30})
    assert code == 0
    (request,) = sent
    query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
    assert query == {"conference_name": "weekly sync", "conference_uuid": "c-1",
                     "call_uuid": "call-1", "from_number": "14155550100",
                     "to_number": "+14155550101", "add_time__gte": "2026-11-01 08:00:00",
                     "add_time__lt": "2026-11-20 00:00:00",
                     "recording_storage_duration__gt": "90",
                     "recording_storage_duration__lte": "120", "limit": "20", "offset": "0"}


def test_the_table_shows_utc_times_minutes_and_a_total(sandbox, three, capsys):
    assert cli(sandbox, "recordings", "list") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["recording_id", "conference", "added", "(UTC)", "duration",
                                "format", "stored", "days", "storage", "/", "month"]
    assert len(lines) == 2 + 3 + 1
    old_row = next(line for line in lines if line.startswith(three["old"]))
    raw = next(r["add_time"] for r in listing(sandbox) if r["recording_id"] == three["old"])
    assert raw.endswith("+05:30")  # shown in UTC
    added = datetime.fromisoformat(raw).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert "weekly sync" in old_row and added in old_row and "1.50 min" in old_row
    assert lines[-1] == "3 recordings, 3.5 min"


def test_filters_select_on_the_server(sandbox, three, capsys):
    assert cli(sandbox, "recordings", "list", "--conference-name", "weekly sync", "--json") == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["recording_id"] for r in printed) == sorted([three["old"], three["new"]])
    since = (NOW - timedelta(days=1, hours=12)).isoformat()
    assert cli(sandbox, "recordings", "list", "--add-time-gte", since, "--json") == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["recording_id"] for r in printed] == [three["new"]]


def test_json_prints_plivos_objects_unchanged(sandbox, three, capsys):
    assert cli(sandbox, "recordings", "list", "--json") == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    direct = listing(sandbox)  # the last 7 days, as the command asks by default
    assert sorted(printed, key=lambda r: r["recording_id"]) == \
        sorted(direct, key=lambda r: r["recording_id"])


def test_csv_holds_the_raw_values(sandbox, three, tmp_path, capsys):
    target = tmp_path / "recordings.csv"
    assert cli(sandbox, "recordings", "list", "--csv", str(target)) == 0
    assert capsys.readouterr().out == f"3 recordings written to {target}\n"
    with open(target, encoding="utf-8", newline="") as stream:
        rows = {row["recording_id"]: row for row in csv.DictReader(stream)}
    direct = {r["recording_id"]: r for r in listing(sandbox)}
    assert set(rows) == set(three.values())
    for rid, row in rows.items():
        assert row["add_time"] == direct[rid]["add_time"]  # as Plivo wrote it, offset and all
        assert row["add_time"].endswith("+05:30")
        assert row["recording_duration_ms"] == direct[rid]["recording_duration_ms"]
        assert row["mpc_name"] == ""  # null


def test_an_unwritable_csv_is_refused_before_any_request(tmp_path, capsys, monkeypatch):
    sent: list[httpx.Request] = []

    def plivo(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"meta": {"next": None}, "objects": []})

    environ = {"PLIVO_AUTH_ID": "MATESTACCOUNT0000001", "PLIVO_AUTH_TOKEN": "t" * 30}
    with pytest.raises(ConfigurationError, match="^--csv: .*no-such"):
        cli(None, "recordings", "list", "--csv", str(tmp_path / "no-such" / "x.csv"),
            transport=httpx.MockTransport(plivo), environ=environ)
    assert sent == []
    # and through the dispatcher: one line
    monkeypatch.setenv("PLIVO_AUTH_ID", "MATESTACCOUNT0000001")
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", "t" * 30)
    assert main(["recordings", "list", "--csv", str(tmp_path / "no-such" / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("recording-toolkit recordings: error: --csv: ") and \
        len(err.splitlines()) == 1


# -- download ----------------------------------------------------------------------------------

def test_download_saves_wav_files_one_line_each_and_a_summary(sandbox, three, tmp_path, capsys):
    folder = tmp_path / "audio"
    assert cli(sandbox, "recordings", "download", three["old"], three["new"], "--to",
               str(folder)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for rid, line in zip([three["old"], three["new"]], lines, strict=False):
        assert line.startswith(f"{rid}  downloaded  ") and line.endswith(f"{rid}.wav")
        with wave.open(str(folder / f"{rid}.wav")) as audio:
            assert audio.getnframes() > 0
    assert lines[2].startswith("2 recordings: 2 downloaded, 0 already complete, 0 failed; ")
    # again: the files are there already, nothing is fetched twice
    assert cli(sandbox, "recordings", "download", three["old"], "--to", str(folder)) == 0
    assert f"{three['old']}  already_complete" in capsys.readouterr().out


def test_a_failed_download_is_its_line_and_exit_1(sandbox, three, tmp_path, capsys):
    folder = tmp_path / "audio"
    code = cli(sandbox, "recordings", "download", three["old"], "no-such-recording", "--to",
               str(folder))
    assert code == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith(f"{three['old']}  downloaded")
    assert lines[1].startswith("no-such-recording  failed  ")
    assert "1 failed" in lines[2]
    assert captured.err.startswith("recording-toolkit recordings: error: 1 of 2 downloads"
                                   " failed (first: no-such-recording: ")
    assert (folder / f"{three['old']}.wav").read_bytes()[:4] == b"RIFF"
    assert sandbox.auth_token not in captured.out + captured.err


def test_an_empty_listing_is_one_line(sandbox, capsys):
    assert cli(sandbox, "recordings", "list") == 0
    assert capsys.readouterr().out == "0 recordings, 0.0 min\n"
