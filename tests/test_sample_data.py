"""The committed sample data (data/) and the script that makes it (scripts/make_sample_data.py)."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SCRIPT = ROOT / "scripts" / "make_sample_data.py"


def load_script():
    spec = importlib.util.spec_from_file_location("make_sample_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Files of data/ written by hand, not by the script.
HAND_WRITTEN = {"README.md", "teams.toml"}


def data_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in HAND_WRITTEN}


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((DATA / "ground_truth.json").read_text("utf-8"))


def log_lines() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted((DATA / "callbacks").glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").split("\n"), start=1):
            if line:
                out.append((path.name, number, line))
    return out


@pytest.mark.slow
def test_regenerating_gives_identical_bytes(tmp_path):
    script = load_script()
    assert script.main(["--out", str(tmp_path)]) == 0
    fresh, committed = data_files(tmp_path), data_files(DATA)
    assert sorted(fresh) == sorted(committed)
    different = [name for name in committed if fresh[name] != committed[name]]
    assert different == [], "regenerate data/ with scripts/make_sample_data.py and commit it"


def test_damaged_lines_are_exactly_the_documented_ones(truth):
    documented = {(d["file"].split("/")[-1], d["line"]) for d in truth["damaged_lines"]}
    broken = set()
    for name, number, line in log_lines():
        try:
            record = json.loads(line)
        except ValueError:
            broken.add((name, number))
            continue
        payload = record["payload"]
        if (record["event"] not in ("recording", "transcription")
                or not payload.get("recording_id")
                or not payload.get("recording_duration_ms", "0").isdigit()):
            broken.add((name, number))
    assert broken == documented
    readme = (DATA / "README.md").read_text("utf-8")
    for name, number in documented:
        assert f"`{name}` | {number} |" in readme or (f"`{name}` | last |" in readme)


def test_the_log_holds_every_delivered_callback_plus_cross_instance_duplicates(truth):
    good = []
    for _, _, line in log_lines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        rid = record["payload"].get("recording_id")
        if record["event"] in ("recording", "transcription") and rid and \
                not rid.startswith("damaged"):
            good.append(record)
    unique = {(r["event"], r["payload"]["recording_id"]) for r in good}
    callbacks = truth["callbacks"]
    assert len(good) == sum(truth["log_lines"].values())
    kinds = Counter(kind for kind, _ in unique)
    assert kinds == {"recording": callbacks["recording"]["delivered"],
                     "transcription": callbacks["transcription"]["delivered"]}
    duplicates = len(good) - len(unique)
    assert 0 < duplicates <= callbacks["recording"]["duplicated"] + \
        callbacks["transcription"]["duplicated"]


def test_received_at_is_after_the_recording_ended_and_names_the_file_day():
    for name, _, line in log_lines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        assert name.startswith(f"callbacks-{record['received_at'][:10]}-")
        payload = record["payload"]
        if record["event"] == "recording" and payload.get("recording_end_ms", "").isdigit():
            received = datetime.fromisoformat(record["received_at"].replace("Z", "+00:00"))
            assert int(payload["recording_end_ms"]) <= received.timestamp() * 1000


def test_journal_matches_the_sandbox(truth):
    lines = [json.loads(x) for x in (DATA / "journal.jsonl").read_text("utf-8").splitlines()]
    assert len(lines) == truth["journal_lines"]
    starts = [x for x in lines if x["action"] == "start"]
    ok = [x for x in starts if x["ok"]]
    recordings = truth["recordings"]
    assert len(ok) + recordings["started_without_answer"] == recordings["started"]
    assert any(x["attempts"] > 1 for x in lines)
    assert all(x["may_have_started"] for x in starts if x["status"] == 500)
    times = [x["time"] for x in lines]
    assert times == sorted(times)
    assert all("127.0.0.1" not in json.dumps(x) for x in lines)


def test_no_secret_and_small_enough():
    script = load_script()
    total = 0
    for path in DATA.rglob("*"):
        if path.is_file():
            total += path.stat().st_size
            assert script.AUTH_TOKEN.encode() not in path.read_bytes()
    assert total < 3.3 * 1024 * 1024


def test_the_sample_teams_file_covers_the_sample_conferences_but_design():
    from recording_toolkit import analytics
    from recording_toolkit.load import load_callbacks
    from recording_toolkit.teams import UNALLOCATED, load_teams

    teams = load_teams(DATA / "teams.toml")
    result = load_callbacks([DATA / "callbacks"], progress=False)
    rec, tr = result.recordings, result.transcriptions
    allocated = analytics.allocate(rec, teams)
    left = set(allocated.loc[allocated["team"] == UNALLOCATED, "conference_name"])
    assert left and all(name.startswith("design-") for name in left)
    assert set(allocated.loc[allocated["conference_name"].str.endswith("-interviews"),
                             "team"]) == {"Hiring"}
    table = analytics.team_costs(rec, tr, teams)
    assert int(table["recordings"].sum()) == rec["recording_id"].nunique()
    assert round(float(table["transcription_charge"].sum()), 6) == \
        round(analytics.charge_total(tr), 6)
