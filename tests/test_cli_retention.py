"""``recording-toolkit retention`` (commands/retention.py): against the sandbox on a manual clock
(recordings added months ago), with a transport that breaks one download, and with
httpx.MockTransport for a listing that is out of date."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from test_cli_recordings import NOW, cli, listing, make_sandbox, record

from recording_toolkit.sandbox import ManualClock, Sandbox

pytestmark = pytest.mark.timeout(120)

SUMMARY_KEYS = {"recordings", "minutes", "deleted", "downloaded", "failed",
                "monthly_storage_cost_before", "monthly_storage_cost_after"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW - timedelta(days=400))


@pytest.fixture
def sandbox(auth_id, auth_token, clock) -> Iterator[Sandbox]:
    with make_sandbox(auth_id, auth_token, clock) as sb:
        yield sb


@pytest.fixture
def aged(sandbox, clock) -> dict[str, str]:
    """Recordings 200, 120 and 45 days old (further back than one 30-day listing window and than
    Plivo's 7-day default) and one from yesterday; the clock then at now."""
    made = {"200": record(sandbox, clock, "weekly sync", days_ago=200),
            "120": record(sandbox, clock, "standup", days_ago=120, seconds=30),
            "45": record(sandbox, clock, "weekly sync", days_ago=45),
            "1": record(sandbox, clock, "weekly sync", days_ago=1)}
    clock.set(NOW)
    return made


def remaining(sb: Sandbox) -> set[str]:
    """Ids the sandbox still lists over the last year."""
    found = set()
    for days in range(0, 390, 30):
        end = NOW - timedelta(days=days) + timedelta(minutes=1)
        start = end - timedelta(days=30)
        found |= {r["recording_id"] for r in listing(
            sb, add_time__gte=start.strftime("%Y-%m-%d %H:%M:%S"),
            add_time__lt=end.strftime("%Y-%m-%d %H:%M:%S"), limit=20)}
    return found


def summary(capsys) -> dict[str, Any]:
    return json.loads(capsys.readouterr().out)


class BreakMedia(httpx.BaseTransport):
    """Real HTTP, except that the audio of the ``broken`` recordings answers 500."""

    def __init__(self, broken: set[str]) -> None:
        self.broken = broken
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        if "." in name and name.split(".")[0] in self.broken:
            return httpx.Response(500, text="media store unavailable")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


# -- the plan ----------------------------------------------------------------------------------

def test_a_dry_run_prints_the_plan_and_deletes_nothing(sandbox, aged, capsys):
    assert cli(sandbox, "retention", "--keep-days", "90") == 0
    out = capsys.readouterr().out
    assert out.startswith("Keep 90 days: 2 of 4 recordings listed since ")
    assert aged["200"] in out and aged["120"] in out
    assert aged["45"] not in out and aged["1"] not in out
    assert "Nothing deleted: add --apply to delete them." in out
    assert remaining(sandbox) == set(aged.values())


def test_the_json_summary_of_a_plan(sandbox, aged, capsys):
    assert cli(sandbox, "retention", "--keep-days", "30", "--json") == 0
    got = summary(capsys)
    assert SUMMARY_KEYS <= set(got)
    assert (got["recordings"], got["minutes"], got["deleted"], got["downloaded"],
            got["failed"], got["applied"], got["listed"]) == (3, 3.5, 0, 0, [], False, 4)
    # the 200-day recording is billed (past its 90 free days): the policy takes it off the bill
    assert got["monthly_storage_cost_before"] > 0 == got["monthly_storage_cost_after"]
    assert remaining(sandbox) == set(aged.values())


def test_keep_days_0_selects_every_recording_that_has_ended(sandbox, aged, capsys):
    assert cli(sandbox, "retention", "--keep-days", "0", "--json") == 0
    assert summary(capsys)["recordings"] == 4


def test_conference_limits_the_plan(sandbox, aged, capsys):
    assert cli(sandbox, "retention", "--keep-days", "30", "--conference", "standup",
               "--json") == 0
    got = summary(capsys)
    assert (got["recordings"], got["listed"]) == (1, 1)


def test_since_limits_how_far_back_it_looks(sandbox, aged, capsys):
    since = (NOW - timedelta(days=150)).isoformat()
    assert cli(sandbox, "retention", "--keep-days", "30", "--since", since, "--json") == 0
    got = summary(capsys)
    assert (got["recordings"], got["listed"]) == (2, 3)


# -- applying it -------------------------------------------------------------------------------

def test_apply_downloads_then_deletes_and_a_rerun_is_safe(sandbox, aged, tmp_path, capsys):
    folder, journal = tmp_path / "archive", tmp_path / "journal.jsonl"
    assert cli(sandbox, "retention", "--keep-days", "30", "--apply", "--download-to",
               str(folder), "--journal", str(journal), "--json") == 0
    got = summary(capsys)
    assert (got["recordings"], got["downloaded"], got["deleted"], got["failed"]) == (3, 3, 3, [])
    assert remaining(sandbox) == {aged["1"]}
    for key in ("200", "120", "45"):
        assert (folder / f"{aged[key]}.wav").read_bytes()[:4] == b"RIFF"
    deletes = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(d["recording_id"] for d in deletes if d["action"] == "delete") == \
        sorted(aged[k] for k in ("200", "120", "45"))
    # again: nothing left to delete, no error
    assert cli(sandbox, "retention", "--keep-days", "30", "--apply", "--download-to",
               str(folder), "--json") == 0
    again = summary(capsys)
    assert (again["recordings"], again["deleted"], again["failed"]) == (0, 0, [])
    assert remaining(sandbox) == {aged["1"]}


def test_a_recording_whose_download_failed_is_not_deleted(sandbox, aged, tmp_path, capsys):
    folder = tmp_path / "archive"
    broken = BreakMedia({aged["120"]})
    try:
        code = cli(sandbox, "retention", "--keep-days", "30", "--apply", "--download-to",
                   str(folder), "--json", transport=broken)
    finally:
        broken.close()
    assert code == 1
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    assert (got["downloaded"], got["deleted"]) == (2, 2)
    assert [(f["recording_id"], f["stage"]) for f in got["failed"]] == [(aged["120"], "download")]
    assert remaining(sandbox) == {aged["120"], aged["1"]}
    assert not (folder / f"{aged['120']}.wav").exists()
    assert captured.err.startswith("recording-toolkit retention: error: 1 of 3 recordings"
                                   f" failed, not deleted (first: {aged['120']}: download: ")
    assert len(captured.err.splitlines()) == 1


def test_the_text_outcome_of_apply(sandbox, aged, capsys):
    assert cli(sandbox, "retention", "--keep-days", "90", "--apply") == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("Deleted 2 (0 were deleted already); 0 failed.")
    assert remaining(sandbox) == {aged["45"], aged["1"]}


def test_a_recording_deleted_since_it_was_listed_counts_as_deleted(capsys):
    """Plivo answers 404 for a recording deleted meanwhile (by another run): not an error."""
    old = (NOW - timedelta(days=100)).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00"
    deleted: list[str] = []

    def plivo(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            first = request.url.params["add_time__gte"] <= old[:19] < \
                request.url.params["add_time__lt"]
            objects = [{"recording_id": "gone-1", "add_time": old,
                        "rounded_recording_duration": 60, "conference_name": "c"}] if first else []
            return httpx.Response(200, json={"meta": {"next": None}, "objects": objects})
        deleted.append(request.url.path)
        return httpx.Response(404, json={"error": "not found"})

    environ = {"PLIVO_AUTH_ID": "MATESTACCOUNT0000001", "PLIVO_AUTH_TOKEN": "t" * 30}
    assert cli(None, "retention", "--keep-days", "30", "--apply", "--json",
               transport=httpx.MockTransport(plivo), environ=environ) == 0
    got = summary(capsys)
    assert (got["recordings"], got["deleted"], got["already_deleted"], got["failed"]) == \
        (1, 1, 1, [])
    assert deleted == ["/v1/Account/MATESTACCOUNT0000001/Recording/gone-1/"]
