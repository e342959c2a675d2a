"""``recording-toolkit report`` (commands/report.py) on small logs written to tmp_path."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from analytics_data import write_log

from recording_toolkit.cli import build_parser, main
from recording_toolkit.commands.report import run_report
from recording_toolkit.errors import ConfigurationError
from recording_toolkit.probes import TEST_CALLBACK_PREFIX
from recording_toolkit.report import SUMMARY_KEYS


def parse(*argv: str):
    return build_parser().parse_args(["report", *argv])


def _run(*argv: str, environ=None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    assert run_report(parse(*argv, "--no-progress"), environ=environ or {}, out=out,
                      err=err) == 0
    return out.getvalue(), err.getvalue()


@pytest.fixture
def log(tmp_path):
    return write_log(tmp_path / "logs", duplicates=1, malformed=1)


def test_json_prints_one_object_with_the_stable_keys(log):
    out, _ = _run(str(log), "--json")
    data = json.loads(out)
    assert out.count("\n") == 1
    assert data["source"] == {"files": 1, "lines": 10 + 1 + 1, "quarantined": 1,
                              "duplicates": 1, "test_callbacks": 0}
    assert data["recordings"]["count"] == 5
    assert data["recordings"]["billed_minutes"] == 1 + 2 + 10 + 1 + 2
    assert data["transcriptions"]["coverage"] == 0.6
    assert "details" not in data
    flat = []
    for section, values in data.items():
        for key, value in values.items():
            if isinstance(value, dict) and key != "errors":
                flat += [f"{section}.{key}.{k}" for k in value]
            else:
                flat.append(f"{section}.{key}")
    assert flat == list(SUMMARY_KEYS)


def test_details_alone_prints_the_json_summary_with_details(log, capsys):
    out, _ = _run(str(log), "--details")
    assert out.count("\n") == 1 and json.loads(out)["details"]["billing"]["audited"] == 5
    with_json, _ = _run(str(log), "--json", "--details")
    assert json.loads(out) == json.loads(with_json)
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "implies --json" in capsys.readouterr().out


def test_same_figures_through_main_and_a_folder(log, capsys):
    assert main(["report", str(log.parent), "--json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["transcriptions"]["received"] == 5


def test_readable_output_without_flags(log):
    out, _ = _run(str(log))
    assert "recordings:" in out and "billed minutes:" in out
    assert "coverage:           60.0%" in out
    assert "charges:            $0.90" in out                # money with its currency
    assert "recorded minutes:   13.0 min" in out


def test_selection_flags(log):
    out, _ = _run(str(log), "--json", "--conference", "alpha", "--conference", "gamma")
    data = json.loads(out)
    assert data["recordings"]["count"] == 3                 # r1, r2, r5
    assert data["recordings"]["billed_minutes"] == 1 + 2 + 2
    assert data["transcriptions"]["received"] == 2          # r1, r2
    out, _ = _run(str(log), "--json", "--since", "2026-11-03", "--until", "2026-11-04")
    assert json.loads(out)["recordings"]["count"] == 2      # r3, r4


def test_rate_card_from_flags_file_and_environment(log, tmp_path):
    card = tmp_path / "rates.toml"
    card.write_text("transcription_per_minute = 0.07\ncurrency = 'EUR'\n", "utf-8")
    env = {"RECORDING_TOOLKIT_RATE_STORAGE_PER_MINUTE_MONTH": "0.5"}
    out, _ = _run(str(log), "--json", "--details", "--rates", str(card),
                  "--free-storage-days", "30", environ=env)
    rates = json.loads(out)["details"]["rates"]
    assert rates == {"transcription_per_minute": 0.07, "storage_per_minute_month": 0.5,
                     "free_storage_days": 30, "currency": "EUR"}
    # a flag beats the environment, which beats the file
    out, _ = _run(str(log), "--json", "--details", "--rates", str(card),
                  "--transcription-rate", "0.09", "--storage-rate", "0.1", environ=env)
    rates = json.loads(out)["details"]["rates"]
    assert rates["transcription_per_minute"] == 0.09 and rates["storage_per_minute_month"] == 0.1


def test_a_rate_card_price_unlike_the_bill_shows_as_rate_mismatches(log, tmp_path):
    card = tmp_path / "rates.toml"
    card.write_text("transcription_per_minute = 0.06\n", "utf-8")
    out, _ = _run(str(log), "--json", "--details", "--rates", str(card))
    billing = json.loads(out)["details"]["billing"]
    assert billing["card_rate"] == 0.06
    assert billing["rate_mismatches"] == json.loads(out)["transcriptions"]["received"] == 5
    _, _ = _run(str(log), "--csv", str(tmp_path / "t"), "--rates", str(card))
    listed = (tmp_path / "t" / "rate_mismatches.csv").read_text("utf-8").splitlines()
    assert listed[0] == "recording_id,transcription_rate,card_rate,difference"
    assert listed[1].endswith(",0.05,0.06,-0.01") and len(listed) == 6


def test_html_and_csv(log, tmp_path):
    html_path, csv_dir = tmp_path / "report.html", tmp_path / "tables"
    out, err = _run(str(log), "--html", str(html_path), "--csv", str(csv_dir))
    assert out == ""
    assert f"wrote {html_path}" in err and "tables to" in err
    page = html_path.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
    assert (csv_dir / "by_conference.csv").exists() and (csv_dir / "quarantine.csv").exists()
    assert "not valid JSON" in (csv_dir / "quarantine.csv").read_text("utf-8")


def test_journal_adds_reconciliation(log, tmp_path):
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({
        "time": "2026-11-02T08:59:59.000000Z", "action": "start", "conference_name": "alpha",
        "options": {"file_format": "mp3", "transcription_type": "auto",
                    "transcription_url": None, "callback_url": None, "callback_method": "POST"},
        "ok": True, "status": 202, "api_id": "api-lost", "recording_id": "lost",
        "error_type": None, "error": None, "may_have_started": False, "attempts": 1,
        "latency_ms": 50.0}) + "\n", "utf-8")
    out, _ = _run(str(log), "--json", "--details", "--journal", str(journal))
    counts = json.loads(out)["details"]["reconciliation"]
    assert counts["started"] == 1 and counts["recording_callbacks_missing"] == 1
    assert counts["unexpected_callbacks"] == 5   # r1..r5: none of them journalled


@pytest.mark.parametrize("what", ["noise", "callback log", "empty"])
def test_a_journal_that_is_not_one_is_refused_naming_the_option(log, tmp_path, capsys, what):
    """Not an all-"unexpected" reconciliation with exit 0: one line naming --journal."""
    journal = tmp_path / "journal.jsonl"
    if what == "noise":
        journal.write_bytes(bytes(range(11, 256)) * 16)
        says = f"--journal: {journal}: none of its 1 line"  # no newline in the noise
    elif what == "callback log":
        journal = next(log.glob("*.jsonl")) if log.is_dir() else log
        says = f"--journal: {journal}: a callback log, not a request journal"
    else:
        journal.write_text("")
        says = f"--journal: {journal}: empty: no start or stop requests in it"
    assert main(["report", str(log), "--details", "--journal", str(journal),
                 "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"recording-toolkit report: error: {says}")
    assert captured.err.count("\n") == 1


def test_a_journal_with_some_unusable_lines_is_used_with_a_warning(log, tmp_path):
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({"time": "2026-11-02T08:59:59Z", "action": "start",
                                   "recording_id": "lost", "ok": True}) + "\n{not json\n")
    out, err = _run(str(log), "--details", "--journal", str(journal))
    assert json.loads(out)["details"]["reconciliation"]["started"] == 1
    assert err.startswith(f"recording-toolkit report: warning: --journal {journal}: 1 line"
                          f" unusable, skipped (first: {journal} line 2: not valid JSON")


@pytest.mark.parametrize(("flag", "target", "says"), [
    ("--html", "{tmp}/a-file/report.html", "--html: {tmp}/a-file/report.html: {tmp}/a-file is"
     " not a folder"),
    ("--html", "{tmp}", "--html: {tmp} is a folder, not a file"),
    ("--html", "/proc/no-such/report.html", "--html: /proc/no-such/report.html: cannot create"
     " files in /proc"),
    ("--csv", "{tmp}/a-file", "--csv: {tmp}/a-file is a file, not a folder"),
    ("--csv", "/proc/no-such/tables", "--csv: /proc/no-such/tables: cannot create files in"
     " /proc"),
])
def test_outputs_are_checked_before_the_logs_are_loaded(tmp_path, capsys, flag, target, says):
    (tmp_path / "a-file").write_text("")
    target, says = target.format(tmp=tmp_path), says.format(tmp=tmp_path)
    # the log does not exist: had the logs been loaded first, that would be the error
    assert main(["report", str(tmp_path / "no-log.jsonl"), flag, target, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"recording-toolkit report: error: {says}")
    assert captured.err.count("\n") == 1 and captured.out == ""
    assert (tmp_path / "a-file").read_text() == ""


def test_a_selection_that_matches_nothing_is_warned_about(log):
    out, err = _run(str(log), "--json", "--conference", "alpah")
    assert json.loads(out)["recordings"]["count"] == 0
    assert err == ("recording-toolkit report: warning: --conference 'alpah': no recording of"
                   " this conference in the logs; the logs have alpha, beta, gamma\n")
    _, err = _run(str(log), "--json", "--conference", "gama")
    assert err.endswith("the logs have gamma, alpha, beta\n")  # the likeliest first
    out, err = _run(str(log), "--json", "--conference", "alpha", "--conference", "nope")
    assert json.loads(out)["recordings"]["count"] == 2
    assert err.startswith("recording-toolkit report: warning: --conference 'nope': no")
    out, err = _run(str(log), "--json", "--since", "2027-01-01", "--conference", "beta")
    assert json.loads(out)["recordings"]["count"] == 0
    assert err == ("recording-toolkit report: warning: the selection --since 2027-01-01"
                   " --conference beta matches no recording; the logs hold recordings started"
                   " from 2026-11-02 09:00 to 2026-11-09 12:00 UTC\n")
    _, err = _run(str(log), "--json", "--since", "2026-11-03", "--conference", "beta")
    assert err == ""


def test_errors_are_one_line_with_exit_code_1(log, tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--json", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "Traceback" not in err
    assert main(["report", str(log), "--since", "soon", "--no-progress"]) == 1
    assert "--since: 'soon' is not a date" in capsys.readouterr().err
    with pytest.raises(ConfigurationError, match="--until"):
        run_report(parse(str(log), "--since", "2026-11-05", "--until", "2026-11-01"),
                   environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("transcription_price = 1\n", "utf-8")
    assert main(["report", str(log), "--rates", str(bad), "--no-progress"]) == 1
    assert "unknown key" in capsys.readouterr().err


def test_sources_with_no_log_file_are_an_error_not_an_all_zero_summary(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    pattern = str(tmp_path / "nomatch" / "*.jsonl")
    for source in (pattern, str(empty)):
        assert main(["report", source, "--no-progress"]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
        assert f"source '{source}': no log files found" in captured.err


def test_a_log_of_nothing_but_quarantined_lines_is_reported_with_a_warning(tmp_path):
    journal = tmp_path / "journal.jsonl"
    journal.write_text("".join(json.dumps({"time": f"2026-11-02T08:59:5{i}Z", "action": "start",
                                           "ok": True}) + "\n" for i in range(3)), "utf-8")
    out, err = _run(str(journal), "--json")
    assert json.loads(out)["source"]["quarantined"] == 3
    assert err == ("recording-toolkit report: warning: all 3 lines were quarantined; is this a"
                   " callback log?\n")
    _, err = _run(str(write_log(tmp_path / "logs", malformed=1)), "--json")
    assert "warning" not in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["report"])
    assert stop.value.code == 2
    with pytest.raises(SystemExit):
        main(["report", "x", "--engine", "spark"])
    assert "invalid choice" in capsys.readouterr().err


# -- --teams: cost by team ---------------------------------------------------------------------

TEAMS_TOML = '[teams]\n"Alpha team" = ["alph?"]\nBoth = ["alpha", "beta"]\n'


@pytest.fixture
def teams_file(tmp_path):
    path = tmp_path / "teams.toml"
    path.write_text(TEAMS_TOML, "utf-8")
    return path


def test_teams_adds_a_top_level_teams_object_that_adds_up(log, teams_file):
    # analytics_data: alpha r1 r2, beta r3 r4, gamma r5; rX's recording callback never came
    plain, _ = _run(str(log), "--json")
    out, _ = _run(str(log), "--json", "--teams", str(teams_file))
    data = json.loads(out)
    assert data["teams"] == {
        "Alpha team": {"recordings": 2, "billed_minutes": 1 + 2, "transcription_charge": 0.15},
        "Both": {"recordings": 2, "billed_minutes": 10 + 1, "transcription_charge": 0.7},
        "Unallocated": {"recordings": 1, "billed_minutes": 2, "transcription_charge": 0.05},
    }
    assert sum(t["billed_minutes"] for t in data["teams"].values()) == \
        data["recordings"]["billed_minutes"]
    assert sum(t["transcription_charge"] for t in data["teams"].values()) == \
        pytest.approx(data["transcriptions"]["charge_total"])
    data.pop("teams")
    assert data == json.loads(plain)  # nothing else changes
    assert "teams" not in json.loads(plain)


def test_teams_with_details_adds_storage_and_the_patterns(log, teams_file):
    out, _ = _run(str(log), "--details", "--teams", str(teams_file))
    teams = json.loads(out)["details"]["teams"]
    assert teams["patterns"] == {"Alpha team": ["alph?"], "Both": ["alpha", "beta"]}
    assert teams["by_team"]["Both"]["storage_cost_next_12_months"] == round(11 * 0.0004 * 9, 6)


def test_teams_in_html_csv_and_the_readable_list(log, teams_file, tmp_path):
    _run(str(log), "--teams", str(teams_file), "--html", str(tmp_path / "r.html"),
         "--csv", str(tmp_path / "tables"))
    page = (tmp_path / "r.html").read_text("utf-8")
    assert "<h2 id='teams'>Cost by team</h2>" in page
    assert "<td class='n'>$0.15</td>" in page and "All teams" in page
    table = pd.read_csv(tmp_path / "tables" / "by_team.csv", index_col="team")
    assert table["billed_minutes"].to_dict() == {"Alpha team": 3, "Both": 11, "Unallocated": 2}
    readable, _ = _run(str(log), "--teams", str(teams_file))
    assert "cost by team:" in readable and "Unallocated:" in readable
    rows = readable.split("cost by team:\n")[1].splitlines()[:3]
    # one recording is "1 recording", and the columns after it stay lined up
    assert " 1 recording " in "\n".join(rows) and " 1 recordings" not in readable
    assert len({row.index("billed min") for row in rows}) == 1
    _run(str(log), "--html", str(tmp_path / "plain.html"))
    assert "Cost by team" not in (tmp_path / "plain.html").read_text("utf-8")


def test_a_bad_teams_file_stops_before_the_logs_are_read(tmp_path, teams_file):
    teams_file.write_text('[teams]\nLegal = ["legal-*"]\nOps = "ops-*"\n', "utf-8")
    with pytest.raises(ConfigurationError, match=r"teams file .*, line 3: team 'Ops'"):
        run_report(parse(str(tmp_path / "no-such-log"), "--teams", str(teams_file)),
                   environ={}, out=io.StringIO(), err=io.StringIO())


def test_test_callbacks_are_counted_in_the_json_and_shown_only_when_the_log_has_some(log):
    plain, _ = _run(str(log))
    assert "lines read:" in plain and "test callbacks" not in plain
    probe = json.loads(log.read_text("utf-8").splitlines()[0])
    probe["payload"]["recording_id"] = TEST_CALLBACK_PREFIX + "0001"
    with log.open("a", encoding="utf-8") as file:
        file.write(json.dumps(probe) + "\n")
    data = json.loads(_run(str(log), "--json")[0])
    assert data["source"]["test_callbacks"] == 1 and data["recordings"]["count"] == 5
    readable, _ = _run(str(log))
    assert [line.split() for line in readable.splitlines() if line.startswith("test callbacks")] \
        == [["test", "callbacks:", "1"]]
