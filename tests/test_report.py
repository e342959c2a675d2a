"""report.summarize / Summary / write_html / write_csv.

The summary of the hand-built data set (tests/analytics_data.py) is worked out here by hand,
key by key, once from frames built in memory and once through the loader from a real log with
a duplicated and a damaged line. pandas and Dask must give the same summary.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pytest
from analytics_data import journal_frame, load_result, write_log

from recording_toolkit import rules
from recording_toolkit.config import RateCard
from recording_toolkit.load import LoadResult, load_callbacks, load_journal
from recording_toolkit.report import (
    SUMMARY_KEYS,
    Summary,
    render_html,
    summarize,
    write_csv,
    write_html,
)

NOW = "2026-12-01"

# Hand arithmetic for the data set: five recordings, durations in ms.
DURATIONS_MS = [30_000, 90_000, 600_000, 400, 61_000]
SECONDS_SORTED = [0.4, 30, 61, 90, 600]
TURNAROUNDS_SORTED = [60, 120, 240, 1200]  # r4, r1, r2, r3


def _expected(*, files: int, lines: int, quarantined: int, duplicates: int,
              test_callbacks: int = 0) -> dict:
    return {
        "source": {"files": files, "lines": lines, "quarantined": quarantined,
                   "duplicates": duplicates, "test_callbacks": test_callbacks},
        "recordings": {
            "count": 5,
            "conferences": 3,                                    # alpha, beta, gamma
            "total_minutes": round(sum(DURATIONS_MS) / 60_000, 6),
            "billed_minutes": 1 + 2 + 10 + 1 + 2,
            "duration_seconds": {
                "mean": round(sum(SECONDS_SORTED) / 5, 6),
                "median": 61.0,
                "p95": round(90 + 0.8 * (600 - 90), 6),          # position 0.95 * 4 = 3.8
                "max": 600.0,
            },
            "by_format": {"mp3": 3, "wav": 2},                   # r1, r3, r4 / r2, r5
        },
        "transcriptions": {
            "received": 5,                                       # r1..r4 and rX
            "succeeded": 4,
            "failed": 1,
            "success_rate": round(4 / 5, 6),
            "coverage": round(3 / 5, 6),                         # r1, r2, r3 of r1..r5
            "charge_total": round(0.05 + 0.10 + 0.70 + 0.0 + 0.05, 6),
            "errors": {rules.ERROR_TOO_SHORT: 1},
            "turnaround_seconds": {
                "median": (120 + 240) / 2,
                "p95": round(240 + 0.85 * (1200 - 240), 6),      # position 0.95 * 3 = 2.85
            },
        },
    }


def _dotted(data: dict, prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        if isinstance(value, dict) and key != "errors":
            keys += _dotted(value, f"{prefix}{key}.")
        else:
            keys.append(prefix + key)
    return keys


def test_summary_of_hand_built_frames():
    summary = summarize(load_result(files=1, lines=10), now=NOW)
    assert summary.to_dict() == _expected(files=1, lines=10, quarantined=0, duplicates=0)


def test_summary_through_the_loader_counts_duplicates_and_quarantine(tmp_path):
    write_log(tmp_path / "logs", duplicates=2, malformed=1)
    result = load_callbacks(tmp_path / "logs", progress=False)
    data = summarize(result, now=NOW).to_dict()
    # 10 events + 2 repeated + 1 damaged line
    assert data == _expected(files=1, lines=13, quarantined=1, duplicates=2)


def test_keys_are_exactly_the_documented_ones_in_order():
    data = summarize(load_result(), now=NOW).to_dict()
    assert _dotted(data) == list(SUMMARY_KEYS)
    text = summarize(load_result(), now=NOW).to_json()
    assert json.loads(text) == data
    assert list(json.loads(text)) == ["source", "recordings", "transcriptions"]


def test_floats_are_rounded_to_six_decimals():
    data = summarize(load_result(), now=NOW).to_dict()
    assert data["recordings"]["total_minutes"] == 13.023333   # 781,400 / 60,000
    assert data["transcriptions"]["charge_total"] == 0.9       # not 0.8999999999999999


def test_empty_selection_gives_zeros_and_nones():
    data = summarize(load_result(), since="2030-01-01", now=NOW).to_dict()
    assert data["recordings"]["count"] == 0 and data["recordings"]["billed_minutes"] == 0
    assert data["recordings"]["duration_seconds"] == {"mean": None, "median": None, "p95": None,
                                                      "max": None}
    assert data["transcriptions"]["success_rate"] is None
    assert data["transcriptions"]["coverage"] is None
    assert data["transcriptions"]["errors"] == {}


def test_selection_by_conference_and_time():
    data = summarize(load_result(), conferences=["beta"], now=NOW).to_dict()
    # r3 (600 s, transcribed, 0.70) and r4 (0.4 s, failed, 0.00)
    assert data["recordings"]["count"] == 2 and data["recordings"]["billed_minutes"] == 11
    assert data["transcriptions"]["received"] == 2
    assert data["transcriptions"]["charge_total"] == 0.7
    assert data["transcriptions"]["coverage"] == 0.5
    later = summarize(load_result(), since="2026-11-03", until="2026-11-04", now=NOW).to_dict()
    assert later["recordings"]["count"] == 2


def test_dask_gives_the_same_summary():
    pandas_result = load_result(files=1, lines=10)
    dask_result = LoadResult(dd.from_pandas(pandas_result.recordings, npartitions=3),
                             dd.from_pandas(pandas_result.transcriptions, npartitions=2),
                             pandas_result.quarantine, pandas_result.stats, engine="dask")
    on_pandas = summarize(pandas_result, journal=journal_frame(), now=NOW)
    on_dask = summarize(dask_result, journal=journal_frame(), now=NOW)
    assert on_dask.engine == "dask"
    assert on_dask.to_dict(details=True) == on_pandas.to_dict(details=True)
    for name, table in on_pandas.tables.items():
        pd.testing.assert_frame_equal(on_dask.tables[name], table, obj=name)
    for selection in ({"since": "2026-11-03"}, {"conferences": ["beta", "gamma"]},
                      {"since": "2026-11-02", "until": "2026-11-03"}):
        assert summarize(dask_result, now=NOW, **selection).to_dict() == \
            summarize(pandas_result, now=NOW, **selection).to_dict(), selection


def test_details_depend_on_the_rate_card_and_journal():
    plain = summarize(load_result(), now=NOW).to_dict(details=True)["details"]
    assert plain["reconciliation"] is None
    assert plain["rates"] == RateCard().as_dict()
    # r3 overcharged: 0.70 against 10 minutes x 0.05
    assert plain["billing"]["mismatches"] == 1
    assert plain["cost"]["expected_charge_total"] == round(0.05 + 0.10 + 0.50 + 0 + 0.05, 6)
    rates = RateCard(storage_per_minute_month=0.01, free_storage_days=0)
    details = summarize(load_result(), rates=rates, journal=journal_frame(),
                        now=NOW).to_dict(details=True)["details"]
    # nothing free: all 16 billed minutes cost 0.01 in December
    assert details["cost"]["storage_cost_next_month"] == 0.16
    assert details["reconciliation"]["started"] == 5
    assert details["reconciliation"]["recording_callbacks_missing"] == 0
    assert details["eligibility"]["predicted_ineligible"] == 1          # r4, 400 ms
    assert details["eligibility"]["predictions_wrong"] == 0


def test_a_rate_card_price_unlike_the_callbacks_rate_is_reported_as_rate_mismatches(tmp_path):
    same = summarize(load_result(), now=NOW)
    assert same.details["billing"]["rate_mismatches"] == 0
    assert same.details["billing"]["card_rate"] == 0.05
    dearer = summarize(load_result(), rates=RateCard(transcription_per_minute=0.06), now=NOW)
    billing = dearer.details["billing"]
    # every callback says 0.05; the charge check still uses the callback's own rate
    assert billing["rate_mismatches"] == len(load_result().transcriptions) == 5
    assert billing["mismatches"] == same.details["billing"]["mismatches"] == 1
    rows = dearer.tables["rate_mismatches"]
    assert rows.iloc[0][["transcription_rate", "card_rate", "difference"]].tolist() == \
        [0.05, 0.06, -0.01]
    page = (tmp_path / "r.html")
    write_html(dearer, page, charts=False)
    text = page.read_text("utf-8")
    assert "Callback prices unlike the rate card" in text
    assert "<td class='n'>$0.06/min</td>" in text and "<td class='n'>-$0.01/min</td>" in text
    write_html(same, page, charts=False)
    assert "price is the rate card&#x27;s $0.05/min." in page.read_text("utf-8")


def test_rate_card_from_the_environment_and_a_toml_file_reaches_the_summary(tmp_path):
    card = tmp_path / "rates.toml"
    card.write_text("[rates]\nstorage_per_minute_month = 0.02\ncurrency = 'EUR'\n", "utf-8")
    rates = RateCard.resolve(path=card, environ={"RECORDING_TOOLKIT_RATE_FREE_STORAGE_DAYS": "0"})
    details = summarize(load_result(), rates=rates, now=NOW).to_dict(details=True)["details"]
    assert details["rates"]["currency"] == "EUR" and details["rates"]["free_storage_days"] == 0
    assert details["cost"]["storage_cost_next_month"] == round(16 * 0.02, 6)


def test_journal_given_as_a_path_is_loaded(tmp_path):
    path = tmp_path / "journal.jsonl"
    frame = journal_frame()
    with path.open("w", encoding="utf-8") as fh:
        for row in frame.itertuples(index=False):
            fh.write(json.dumps({
                "time": row.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "action": row.action,
                "conference_name": row.conference_name,
                "options": {"file_format": row.file_format,
                            "transcription_type": None if pd.isna(row.transcription_type)
                            else row.transcription_type,
                            "transcription_url": None, "callback_url": None,
                            "callback_method": "POST"},
                "ok": True, "status": 202, "api_id": row.api_id, "recording_id": row.recording_id,
                "error_type": None, "error": None, "may_have_started": False, "attempts": 1,
                "latency_ms": 40.0}) + "\n")
    assert len(load_journal(path)) == 5
    details = summarize(load_result(), journal=path, now=NOW).to_dict(details=True)["details"]
    assert details["reconciliation"]["started"] == 5


def test_summary_shows_in_a_notebook_and_by_key():
    summary = summarize(load_result(), now=NOW)
    assert isinstance(summary, Summary)
    assert summary.get("recordings.billed_minutes") == 16
    with pytest.raises(KeyError, match="recordings.nope"):
        summary.get("recordings.nope")
    page = summary._repr_html_()
    assert "<table" in page and "Coverage (of recordings)" in page
    assert "60.0%" in page and "$0.90" in page          # the charges, with their currency
    assert "5 recordings in 3 conferences" in repr(summary)


def test_html_report_is_self_contained_with_charts_tables_and_findings(tmp_path):
    result = load_result(files=1, lines=10)
    broken = result.recordings.copy()
    broken.loc[broken["recording_id"] == "r2", "recording_end"] = pd.Timestamp(
        "2026-11-02 09:00", tz="UTC")
    result = LoadResult(broken, result.transcriptions, result.quarantine, result.stats)
    path = write_html(result, tmp_path / "out" / "report.html", journal=journal_frame(),
                      now=NOW)
    page = (tmp_path / "out" / "report.html").read_text("utf-8")
    assert path.endswith("report.html")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    from recording_toolkit.views import VIEWS

    assert len(images) == len(VIEWS)  # every chart of the registry, once
    assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)
    assert not re.search(r"(src|href)=['\"]https?://", page)  # nothing fetched from elsewhere
    assert "end_before_start" in page                          # the data-quality finding
    assert "Charges that differ from the rate card" in page and "<code>r3</code>" in page
    assert "Reconciliation with the request journal" in page
    assert rules.ERROR_TOO_SHORT in page


def test_billing_chart_and_cost_table_count_the_same_transcriptions(tmp_path, monkeypatch):
    from recording_toolkit import plots

    titles = []
    draw = plots.draw_billing_differences

    def spy(result, ax, currency):
        drawn = draw(result, ax, currency)
        titles.append(ax.get_title())
        return drawn

    monkeypatch.setattr(plots, "draw_billing_differences", spy)
    summary = summarize(load_result(), now=NOW)
    page = tmp_path / "r.html"
    write_html(summary, page)
    audited = summary.details["billing"]["audited"]
    # rX has no recording callback: audited on its own duration, and drawn all the same
    assert audited == 5 and summary.details["billing"]["unchecked"] == 0
    assert len(titles) == 1 and titles[0].startswith(f"{audited} transcriptions checked: 1 off")
    assert (f"<th scope='row'>Transcriptions audited</th><td class='n'>{audited}</td>"
            in page.read_text("utf-8"))


def test_conferences_table_labels_and_explains_the_row_without_a_recording_callback(tmp_path):
    summary = summarize(load_result(), now=NOW)
    page = tmp_path / "r.html"
    write_html(summary, page, charts=False)
    text = page.read_text("utf-8")
    assert "(unknown)" not in text
    assert "<td class='t name'>(no recording callback)</td>" in text
    assert ("(no recording callback): 1 transcription callback whose recording callback is"
            " not in the logs") in text
    assert "not among the 3 conferences counted" in text
    alone = summarize(load_result(), conferences=["alpha"], now=NOW)
    write_html(alone, page, charts=False)  # rX follows no conference: no row, no footnote
    assert "no recording callback" not in page.read_text("utf-8")


def test_html_escapes_what_came_from_callbacks(tmp_path):
    result = load_result()
    evil = result.recordings.copy()
    evil.loc[0, "conference_name"] = "<script>alert(1)</script>"
    page_path = write_html(LoadResult(evil, result.transcriptions, result.quarantine),
                           tmp_path / "r.html", charts=False, now=NOW)
    page = (tmp_path / "r.html").read_text("utf-8")
    assert page_path == str(tmp_path / "r.html")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_write_html_refuses_summarize_options_with_a_summary(tmp_path):
    summary = summarize(load_result(), now=NOW)
    with pytest.raises(TypeError, match="rates"):
        write_html(summary, tmp_path / "r.html", rates=RateCard())


def test_csv_writes_every_table(tmp_path):
    summary = summarize(load_result(), journal=journal_frame(), now=NOW)
    written = write_csv(summary, tmp_path / "csv")
    assert set(written) == set(summary.tables)
    assert {"by_conference", "by_day", "billing_mismatches", "data_quality",
            "missing_recording_callbacks", "unexpected_callbacks",
            "missing_transcriptions"} <= set(written)
    by_conference = pd.read_csv(written["by_conference"], index_col=0)
    assert by_conference.loc["beta", "billed_minutes"] == 11
    # rX's recording callback never came: its charge is under "(no recording callback)", so
    # the rows still add up to the total of 0.90
    assert by_conference.loc["(no recording callback)", "transcription_charge"] == \
        pytest.approx(0.05)
    assert by_conference["transcription_charge"].sum() == pytest.approx(0.90)
    mismatches = pd.read_csv(written["billing_mismatches"])
    assert mismatches["recording_id"].tolist() == ["r3"]


def test_csv_floats_are_rounded_to_six_decimals(tmp_path):
    summary = summarize(load_result(), now=NOW)
    written = write_csv(summary, tmp_path / "csv")
    by_day = (tmp_path / "csv" / "by_day.csv").read_text("utf-8").splitlines()
    header = by_day[0].split(",")
    assert header[:4] == ["day", "recordings", "recorded_minutes", "billed_minutes"]
    first = dict(zip(header, by_day[1].split(","), strict=True))
    assert first["recorded_minutes"] == "2.0" and first["billed_minutes"] == "3"  # r1 + r2
    for path in written.values():
        text = Path(path).read_text("utf-8")
        for decimals in re.findall(r"(?<![\w.:-])-?\d+\.(\d+)(?![\w.:-])", text):
            assert len(decimals) <= 6, (path, decimals)   # r4's 0.4 s: 0.006667 minutes


def test_sample_data_agrees_with_what_the_sandbox_did():
    """data/ was made by the sandbox, which recorded what it sent (ground_truth.json)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "data"
    truth = json.loads((root / "ground_truth.json").read_text("utf-8"))
    summary = summarize(load_callbacks(root / "callbacks", progress=False),
                        journal=root / "journal.jsonl", now=truth["now"])
    data, details = summary.to_dict(), summary.details
    sent = truth["callbacks"]
    assert data["source"]["quarantined"] == len(truth["damaged_lines"])
    assert data["recordings"]["count"] == sent["recording"]["planned"] - \
        sent["recording"]["dropped"]
    assert data["transcriptions"]["received"] == sent["transcription"]["planned"] - \
        sent["transcription"]["dropped"]
    assert data["transcriptions"]["errors"] == {
        k: v for k, v in truth["transcriptions"].items() if k != "ok"}
    assert data["transcriptions"]["succeeded"] == truth["transcriptions"]["ok"] - \
        sent["transcription"]["dropped"]
    counts = details["reconciliation"]
    assert counts["recording_callbacks_missing"] == sent["recording"]["dropped"]
    assert counts["unexpected_after_unanswered_start"] == \
        truth["recordings"]["started_without_answer"]
    assert counts["transcriptions_missing"] == sent["transcription"]["dropped"]
    assert details["billing"]["mismatches"] == 0          # the sandbox bills by the rules
    assert details["eligibility"]["predictions_wrong"] == 0


@pytest.mark.slow
def test_sample_data_on_the_dask_loader_gives_the_same_summary():
    from pathlib import Path

    logs = Path(__file__).resolve().parent.parent / "data" / "callbacks"
    on_dask = summarize(load_callbacks(logs, engine="dask", progress=False), now=NOW)
    on_pandas = summarize(load_callbacks(logs, progress=False), now=NOW)
    assert on_dask.engine == "dask"
    assert on_dask.to_dict(details=True) == on_pandas.to_dict(details=True)


def test_backfilled_recordings_count_as_recordings_and_are_marked(tmp_path):
    logs = tmp_path / "logs"
    write_log(logs)
    # r6's callback was lost; the backfill recovered it from the Recording list API
    start, end = pd.Timestamp("2026-11-10 08:00", tz="UTC"), pd.Timestamp("2026-11-10 08:02",
                                                                          tz="UTC")
    (logs / "backfill-2026-11-10.jsonl").write_text(json.dumps({
        "event": "recording", "received_at": "2026-11-10T12:00:00.000000Z", "verified": True,
        "source": "backfill", "payload": {
            "api_id": "api-r6", "recording_id": "r6", "conference_name": "gamma",
            "record_url": "https://media.example.invalid/Recording/r6.mp3",
            "recording_duration": "120", "recording_duration_ms": "120000.00000",
            "recording_start_ms": str(start.value // 1_000_000),
            "recording_end_ms": str(end.value // 1_000_000)}}) + "\n", "utf-8")
    journal = journal_frame([{"time": start, "action": "start", "conference_name": "gamma",
                              "ok": True, "status": 202, "api_id": "api-r6",
                              "recording_id": "r6", "may_have_started": False}])
    summary = summarize(load_callbacks(logs, progress=False), journal=journal, now=NOW)
    assert summary.get("recordings.count") == 6
    assert summary.get("recordings.billed_minutes") == 16 + 2
    assert summary.details["backfilled_recordings"] == 1
    counts = summary.details["reconciliation"]
    assert counts["recording_callbacks_missing"] == 0
    assert counts["recording_callbacks_backfilled"] == 1
    missing = summary.tables["missing_recording_callbacks"]
    assert missing[["recording_id", "backfilled"]].values.tolist() == [["r6", True]]


def test_conferences_may_be_any_iterable():
    summary = summarize(load_result(), conferences=(c for c in ["beta"]), now=NOW)
    assert summary.get("recordings.count") == 2
    assert summary.details["selection"]["conferences"] == ["beta"]


def test_details_and_tables_are_computed_once_on_first_use():
    summary = summarize(load_result(), now=NOW)
    assert "_extras" not in vars(summary)          # to_dict() alone never computes them
    summary.to_dict()
    assert "_extras" not in vars(summary)
    assert summary.tables is summary.tables and "by_day" in summary.tables
    bare = Summary(data=summary.data, rates=summary.rates)
    assert bare.to_dict() == summary.to_dict()
    with pytest.raises(ValueError, match="summarize"):
        bare.details  # noqa: B018


def test_details_forecast_this_month_to_date_and_its_run_rate():
    details = summarize(load_result(), now="2026-11-04").to_dict(details=True)["details"]
    forecast = details["forecast"]
    # Three days of November's thirty: r1 0.05 + r2 0.10 + r3 0.70 + r4 0.00 came by then
    # (rX on Nov 4 12:00 after). Run rate 0.85 / 3 x 30 = 8.5. October had nothing.
    assert forecast["now"] == "2026-11-04T00:00:00+00:00"
    assert (forecast["elapsed_days"], forecast["days_in_month"]) == (3.0, 30)
    transcription = forecast["kinds"]["transcription"]
    assert transcription["month_to_date"] == 0.85
    assert transcription["projected_month_end"] == 8.5
    assert transcription["previous_period"] == 0.0
    assert transcription["change_share"] is None
    # Every recording is younger than 90 days at Nov 30: no storage bill.
    assert forecast["kinds"]["storage"]["projected_month_end"] == 0.0
    assert forecast["total"]["projected_month_end"] == 8.5
    rows = {row["conference_name"]: row for row in forecast["by_conference"]}
    assert [row["conference_name"] for row in forecast["by_conference"]][0] == "beta"
    assert rows["beta"]["projected_month_end"] == 7.0            # 0.70 / 3 x 30
    assert rows["alpha"]["month_to_date"] == 0.15
    # The stable figures do not move.
    assert set(summarize(load_result(), now="2026-11-04").to_dict()) == \
        {"source", "recordings", "transcriptions"}


def test_test_callbacks_left_out_are_always_in_the_json_and_shown_only_when_there():
    none = summarize(load_result(files=1, lines=10), now=NOW)
    assert none.to_dict()["source"]["test_callbacks"] == 0  # one shape for machines
    some = summarize(load_result(files=1, lines=12, test_callbacks=2), now=NOW)
    assert some.to_dict()["source"] == {"files": 1, "lines": 12, "quarantined": 0,
                                        "duplicates": 0, "test_callbacks": 2}
    assert some.get("source.test_callbacks") == 2
    shown = render_html(some, charts=False) + some._repr_html_()
    assert shown.count("Test callbacks left out") == 2
    assert "source.test_callbacks" in shown
    quiet = render_html(none, charts=False) + none._repr_html_()
    assert "Test callbacks" not in quiet and "source.test_callbacks" not in quiet


def test_the_source_counts_are_the_same_on_dask():
    result = load_result(files=1, lines=12, test_callbacks=2)
    lazy = LoadResult(dd.from_pandas(result.recordings, npartitions=2),
                      dd.from_pandas(result.transcriptions, npartitions=2), result.quarantine,
                      result.stats, engine="dask")
    assert summarize(lazy, now=NOW).to_dict()["source"] == \
        summarize(result, now=NOW).to_dict()["source"]
