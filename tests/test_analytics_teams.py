"""Cost by team: teams files (recording_toolkit.teams) and analytics.chargeback, by hand.

The data set is tests/analytics_data.py. With the teams below, first match wins:

==========  ===================  ===========  ==============================  ==============
team        conferences          recordings   billed minutes                  charges
==========  ===================  ===========  ==============================  ==============
Alpha team  alpha (``alph?``)    r1, r2       1 + 2 = 3                       0.05 + 0.10
Both        beta (alpha is       r3, r4       10 + 1 = 11                     0.70 + 0.00
            taken already)
Unallocated gamma; rX's          r5           2                               0.05 (rX)
            transcription
==========  ===================  ===========  ==============================  ==============

Totals 5 recordings, 16 billed minutes, 0.90 charged: the summary's own figures.
Storage (0.0004 per minute-month after 90 free days, 12 months from November 2026): r1 and
r2 are billed from January 2027 (10 months), r3, r4 and r5 from February (9 months).
"""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_data import load_result, recordings_frame, transcriptions_frame

from recording_toolkit import analytics
from recording_toolkit.errors import ConfigurationError
from recording_toolkit.report import cost_by_team, summarize
from recording_toolkit.teams import UNALLOCATED, Teams, load_teams

TEAMS = {"Alpha team": ["alph?"], "Both": ["alpha", "beta"]}


def write(tmp_path, text: str):
    path = tmp_path / "teams.toml"
    path.write_text(text, "utf-8")
    return path


# -- the teams file --------------------------------------------------------------------------

def test_first_match_wins_in_file_order_and_the_rest_is_unallocated(tmp_path):
    teams = load_teams(write(tmp_path, '[teams]\nHiring = ["*-interviews"]\n'
                                       'Legal = ["legal-*"]\n'))
    assert teams.names == ("Hiring", "Legal", UNALLOCATED)
    assert [teams.team_of(n) for n in ("legal-interviews", "legal-calls", "hr-sync", "")] == \
        ["Hiring", "Legal", UNALLOCATED, UNALLOCATED]
    swapped = Teams.from_mapping({"Legal": ["legal-*"], "Hiring": ["*-interviews"]})
    assert swapped.team_of("legal-interviews") == "Legal"


def test_patterns_are_globs_on_the_whole_name_and_case_sensitive():
    teams = Teams.from_mapping({"Ops": ["ops-[ab]?", "[!x]ire"]})
    assert [teams.team_of(n) for n in ("ops-a1", "ops-c1", "ops-a12", "fire", "xire",
                                       "OPS-a1")] == \
        ["Ops", UNALLOCATED, UNALLOCATED, "Ops", UNALLOCATED, UNALLOCATED]


@pytest.mark.parametrize(("text", "line", "says"), [
    ('[teams]\nLegal = ["legal-*"]\n\n[rates]\ncurrency = "EUR"\n', 4, "unknown key 'rates'"),
    ('currency = "EUR"\n[teams]\nLegal = ["legal-*"]\n', 1, "unknown key 'currency'"),
    ('[teams]\nLegal = ["legal-*"]\nOps = ["ops-[ab"]\n', 3, "'ops-[ab' has a '['"),
    ('[teams]\nLegal = ["legal-*"]\nOps = [\n  "ops-*",\n  "",\n]\n', 3, "pattern '' is empty"),
    ('[teams]\n# legal\n"Legal team" = "legal-*"\n', 3, "must be a non-empty list"),
    ('[teams]\nLegal = []\n', 2, "must be a non-empty list"),
    ('[teams]\nLegal = [1]\n', 2, "pattern 1 is not text"),
    ('[teams]\nUnallocated = ["x-*"]\n', 2, "cannot be listed"),
    ('[teams]\nLegal = ["legal-*"]\n[teams.Ops]\nglobs = ["ops-*"]\n', 3, "Ops"),
])
def test_a_bad_file_is_one_error_naming_the_file_and_line(tmp_path, text, line, says):
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        load_teams(path)
    message = str(caught.value)
    assert message.startswith(f"teams file {str(path)!r}, line {line}: ")
    assert says in message


@pytest.mark.parametrize(("text", "says"), [
    ("", "no [teams] table"),
    ("[teams]\n", "names no team"),
    ('[teams]\nLegal = ["legal-*"\n', "not valid TOML"),
    ('[teams]\nLegal = ["a"]\nLegal = ["b"]\n', "not valid TOML"),
])
def test_a_file_that_is_no_teams_file_says_why(tmp_path, text, says):
    with pytest.raises(ConfigurationError, match=r"teams file .*teams\.toml") as caught:
        load_teams(write(tmp_path, text))
    assert says in str(caught.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigurationError, match="no-such.toml' does not exist"):
        load_teams(tmp_path / "no-such.toml")


# -- allocate --------------------------------------------------------------------------------

def test_allocate_adds_a_team_column_and_drops_nothing():
    rec = recordings_frame()
    out = analytics.allocate(rec, TEAMS)
    assert len(out) == len(rec) and list(out.columns) == [*rec.columns, "team"]
    assert out["team"].tolist() == ["Alpha team", "Alpha team", "Both", "Both", UNALLOCATED]
    assert list(out["team"].cat.categories) == ["Alpha team", "Both", UNALLOCATED]
    assert rec.rec.allocate(TEAMS)["team"].equals(out["team"])  # the accessor method


def test_allocate_transcriptions_by_their_recording_and_orphans_are_unallocated():
    tr = analytics.allocate(transcriptions_frame(), TEAMS, recordings=recordings_frame())
    assert dict(zip(tr["recording_id"], tr["team"], strict=True)) == {
        "r1": "Alpha team", "r2": "Alpha team", "r3": "Both", "r4": "Both", "rX": UNALLOCATED}
    with pytest.raises(ValueError, match="pass recordings="):
        analytics.allocate(transcriptions_frame(), TEAMS)


def test_a_recording_with_no_conference_name_is_unallocated():
    rec = pd.DataFrame({"recording_id": ["a", "b"],
                        "conference_name": pd.array(["alpha", None], dtype="string")})
    assert analytics.allocate(rec, TEAMS)["team"].tolist() == ["Alpha team", UNALLOCATED]


def test_allocate_on_dask_gives_the_same_teams():
    dd = pytest.importorskip("dask.dataframe")
    rec = recordings_frame()
    lazy = analytics.allocate(dd.from_pandas(rec, npartitions=2), TEAMS)
    assert lazy.compute()["team"].tolist() == analytics.allocate(rec, TEAMS)["team"].tolist()


# -- team_costs --------------------------------------------------------------------------------

def test_team_costs_worked_by_hand():
    table = analytics.team_costs(recordings_frame(), transcriptions_frame(), TEAMS)
    assert list(table.index) == ["Alpha team", "Both", UNALLOCATED]
    assert table["recordings"].tolist() == [2, 2, 1]
    assert table["billed_minutes"].tolist() == [3, 11, 2]
    assert table["transcriptions"].tolist() == [2, 2, 1]
    assert table["transcription_charge"].round(6).tolist() == [0.15, 0.70, 0.05]
    assert table["total_minutes"].round(6).tolist() == [2.0, round(600_400 / 60_000, 6),
                                                        round(61 / 60, 6)]
    assert table["storage_cost_next_month"].tolist() == [0.0, 0.0, 0.0]
    assert table["storage_cost_next_12_months"].round(6).tolist() == [
        round(3 * 0.0004 * 10, 6), round(11 * 0.0004 * 9, 6), round(2 * 0.0004 * 9, 6)]


def test_the_teams_add_up_to_the_summary_totals():
    summary = summarize(load_result())
    costs = cost_by_team(summary, TEAMS).to_dict()
    assert sum(t["recordings"] for t in costs.values()) == summary.get("recordings.count") == 5
    assert sum(t["billed_minutes"] for t in costs.values()) == \
        summary.get("recordings.billed_minutes") == 16
    assert sum(t["transcription_charge"] for t in costs.values()) == \
        pytest.approx(summary.get("transcriptions.charge_total"), abs=1e-9)
    assert summary.get("transcriptions.charge_total") == pytest.approx(0.90)
    storage = cost_by_team(summary, TEAMS).table["storage_cost_next_12_months"].sum()
    assert storage == pytest.approx(summary.details["cost"]["storage_cost_next_12_months"])


def test_a_team_with_nothing_shows_zeros_and_unallocated_only_when_used():
    teams = {"Everyone": ["*"], "Nobody": ["zzz-*"]}
    table = analytics.team_costs(recordings_frame(), transcriptions_frame()
                                 .query("recording_id != 'rX'"), teams)
    assert list(table.index) == ["Everyone", "Nobody"]
    assert table.loc["Nobody", ["recordings", "billed_minutes", "transcriptions"]].tolist() == \
        [0, 0, 0]
    with_orphan = analytics.team_costs(recordings_frame(), transcriptions_frame(), teams)
    assert with_orphan.loc[UNALLOCATED, ["recordings", "transcriptions"]].tolist() == [0, 1]


def test_select_teams_filters_recordings_and_their_transcriptions():
    rec, tr = analytics.select_teams(recordings_frame(), transcriptions_frame(), TEAMS,
                                     ["Both", UNALLOCATED])
    assert rec["recording_id"].tolist() == ["r3", "r4", "r5"]
    assert tr["recording_id"].tolist() == ["r3", "r4", "rX"]
    with pytest.raises(ValueError, match="'Sales'"):
        analytics.select_teams(recordings_frame(), transcriptions_frame(), TEAMS, ["Sales"])


def test_teams_may_be_a_file_path(tmp_path):
    path = write(tmp_path, '[teams]\n"Alpha team" = ["alph?"]\nBoth = ["alpha", "beta"]\n')
    table = analytics.team_costs(recordings_frame(), transcriptions_frame(), str(path))
    assert table["billed_minutes"].tolist() == [3, 11, 2]
