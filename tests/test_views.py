"""The views registry: every chart computes and renders, at exactly the size asked for, and the
numbers its notes and titles state are the summary's."""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from recording_toolkit import formatting, schema, views  # noqa: E402
from recording_toolkit.config import RateCard  # noqa: E402
from recording_toolkit.load import load_callbacks  # noqa: E402
from recording_toolkit.report import summarize  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def sample():
    return load_callbacks(DATA / "callbacks")


@pytest.fixture(scope="module")
def frames(sample) -> views.Frames:
    return views.frames_of(sample.recordings, sample.transcriptions, rates=RateCard(),
                           journal=DATA / "journal.jsonl")


@pytest.fixture(scope="module")
def summary(sample):
    return summarize(sample, journal=DATA / "journal.jsonl")


@pytest.fixture(scope="module")
def results(frames) -> dict[str, object]:
    return {key: view.compute(frames) for key, view in views.VIEWS.items()}


def _size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_the_registry_holds_the_charts_in_report_order_with_titles_in_words():
    assert list(views.VIEWS) == ["minutes", "overhead", "cost", "conferences", "durations",
                                 "outcomes", "turnaround", "audit", "storage"]
    for key, view in views.VIEWS.items():
        assert view.key == key
        assert view.title[0].isupper() and "_" not in view.title, key
        assert view.table is not None and view.note is not None, key


def test_every_view_renders_the_sample_data_at_its_natural_size(results):
    for key, view in views.VIEWS.items():
        png = views.render_png(view, results[key], currency="USD")
        assert png.startswith(b"\x89PNG"), key
        assert _size(png) == (round(view.size[0] * 100), round(view.size[1] * 100)), key
        table = view.table(results[key])
        assert isinstance(table, pd.DataFrame) and len(table), key


@pytest.mark.parametrize("size", [(1004, 508), (577, 291), (333, 201)])
def test_render_png_gives_exactly_the_pixels_asked_for(results, size):
    for key in ("minutes", "outcomes", "storage"):
        view = views.VIEWS[key]
        png = views.render_png(view, results[key], currency="USD", width_px=size[0],
                               height_px=size[1])
        assert _size(png) == size, key
    with pytest.raises(ValueError, match="width_px"):
        views.render_png(views.VIEWS["minutes"], results["minutes"], currency="USD",
                         width_px=0)


def test_render_svg_is_declared_in_pixels(results):
    svg = views.render_svg(views.VIEWS["cost"], results["cost"], currency="EUR",
                           width_px=640, height_px=320)
    tag = re.search(r"<svg[^>]*>", svg).group(0)
    assert 'width="640px"' in tag and 'height="320px"' in tag and "viewBox" in tag
    assert "€" in svg or "&#8364;" in svg  # the currency of the figures, not the default


def test_every_view_computes_and_renders_empty_frames():
    empty = views.frames_of(schema.empty(schema.RECORDINGS), schema.empty(schema.TRANSCRIPTIONS))
    for key, view in views.VIEWS.items():
        result = view.compute(empty)
        png = views.render_png(view, result, currency="USD", width_px=400, height_px=250)
        assert _size(png) == (400, 250), key
        assert isinstance(view.table(result), pd.DataFrame), key
        assert view.note(result) == "", (key, view.note(result))


def _drawn(view: views.View, result) -> object:
    from matplotlib.figure import Figure

    return view.draw(result, Figure().add_subplot(), "USD")


def test_notes_and_titles_state_the_summarys_counts(summary, results):
    data = summary.to_dict()
    received = data["transcriptions"]["received"]
    audited = summary.details["billing"]["audited"]
    measured = summary.details["turnaround"]["count"]
    assert measured < received  # the sample has transcriptions with no recording callback
    # the turnaround note explains why fewer transcriptions are measured than received
    turnaround = views.VIEWS["turnaround"].note(results["turnaround"])
    assert (f"{formatting.count(measured)} of {formatting.count(received)} transcriptions"
            in turnaround)
    assert f"{formatting.count(received - measured)} have no recording callback" in turnaround
    # outcomes count recordings; the note says which callbacks are not among them
    outcomes = views.VIEWS["outcomes"].note(results["outcomes"])
    assert f"of {formatting.count(received)} transcription callbacks counted" in outcomes
    # the audit checks the same transcriptions the summary counts
    audit = views.VIEWS["audit"].note(results["audit"])
    assert formatting.count(audited) in audit
    title = _drawn(views.VIEWS["audit"], results["audit"]).get_title()
    assert title.startswith(f"{formatting.count(audited)} transcriptions checked")
    assert f"{summary.details['billing']['mismatches']} off" in title
    # money and minutes
    cost = _drawn(views.VIEWS["cost"], results["cost"]).get_title()
    assert cost.startswith(formatting.money(data["transcriptions"]["charge_total"]))
    overhead = views.VIEWS["overhead"].note(results["overhead"])
    assert formatting.count(data["recordings"]["billed_minutes"]) in overhead
    assert formatting.number(data["recordings"]["total_minutes"]) in overhead
    durations = _drawn(views.VIEWS["durations"], results["durations"])
    median = formatting.number(data["recordings"]["duration_seconds"]["median"] / 60)
    assert any(t.get_text().strip() == f"median {median} min" for t in durations.texts)
    outcomes_ax = _drawn(views.VIEWS["outcomes"], results["outcomes"])
    recordings = formatting.count(data["recordings"]["count"])
    assert outcomes_ax.get_title() == f"Outcomes of {recordings} recordings"


def test_turnaround_legend_never_rounds_a_share_up_to_all(summary, results):
    share = summary.details["turnaround"]["within_30_minutes"]
    assert 0.99 < share < 1
    ax = _drawn(views.VIEWS["turnaround"], results["turnaround"])
    labels = [t.get_text().strip() for t in ax.texts]
    assert f"{formatting.percent(share)} within 30 min" in labels
    assert not any(label.startswith("100") for label in labels)


def test_storage_projection_starts_at_the_same_month_in_the_report_and_the_views(summary,
                                                                                 results):
    projection = results["storage"]["months"]
    assert projection.index[0] == pd.Timestamp("2026-11-01")  # the sample ends 15 November
    assert summary.tables["storage_projection"].index[0] == projection.index[0]
    assert summary.details["cost"]["storage_cost_next_month"] == pytest.approx(
        float(projection["cost"].iloc[0]))
    later = views.frames_of(schema.empty(schema.RECORDINGS), schema.empty(schema.TRANSCRIPTIONS),
                            now="2027-03-10")
    assert views.VIEWS["storage"].compute(later)["months"].index[0] == pd.Timestamp("2027-03-01")


def test_conferences_note_accounts_for_charges_with_no_conference(summary, results, frames):
    frames_ = frames
    by_conference = summary.tables["by_conference"]["transcription_charge"]
    shown = results["conferences"]["all"]["transcription_charge"]
    assert shown.sum() == pytest.approx(by_conference.sum())
    unknown = results["conferences"]["unknown_charge"]
    assert unknown > 0
    assert formatting.money(unknown) in views.VIEWS["conferences"].note(results["conferences"])
    euros = views.frames_of(*(getattr(frames_, n) for n in ("recordings", "transcriptions")),
                            rates=RateCard(currency="EUR"))
    note = views.VIEWS["conferences"].note(views.VIEWS["conferences"].compute(euros))
    assert note.startswith("€")  # the rate card's currency, as the chart has it


# The retention drawing (plots.draw_retention) ----------------------------------------------


def test_retention_chart_draws_each_policy_beside_keeping_everything():
    # Three 10-minute recordings at $0.01 per minute and month, 90 days free, as of 27 Nov:
    # A (1 Jun) is billed at every month-end, B (20 Aug, free until 18 Nov) from 30 Nov on, C
    # (20 Nov) not before February: $0.20 a month kept. Keeping 90 days deletes A and B now
    # and C on its 90th day, before its first bill: nothing. Keeping 120 days deletes A now and
    # B on 18 Dec, after its 30 Nov bill: $0.10 in November only.
    from recording_toolkit import analytics, plots

    rates = RateCard(storage_per_minute_month=0.01, free_storage_days=90)
    recordings = pd.DataFrame({
        "recording_id": ["A", "B", "C"], "recording_duration_ms": [600_000] * 3,
        "recording_start": pd.to_datetime(["2026-06-01", "2026-08-20", "2026-11-20"],
                                          utc=True)})
    plans = [analytics.retention_plan(recordings, keep_days=days, now="2026-11-27",
                                      rates=rates, months=3) for days in (90, 120)]
    ax = plots.plot_retention(recordings, keep_days=(90, 120), now="2026-11-27", rates=rates,
                              months=3)
    heights = [[round(bar.get_height(), 6) for bar in bars] for bars in ax.containers]
    assert heights == [[0.2, 0.2, 0.2], [0.0, 0.0, 0.0], [0.1, 0.0, 0.0]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ["Every recording kept", "Kept 90 days", "Kept 120 days"]
    assert ax.get_title().replace("\n", " ") == (
        "Storage over 3 months: $0.60 with every recording kept, $0.00 keeping 90 days,"
        " $0.10 keeping 120 days")
    assert ax.get_ylabel() == "Storage cost per month (USD)"
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    fig, other = plt.subplots()
    try:
        with pytest.raises(ValueError, match="plans: give one to three"):
            plots.draw_retention(plans * 2, other)
        later = analytics.retention_plan(recordings, keep_days=30, now="2027-01-05",
                                         rates=rates, months=3)
        with pytest.raises(ValueError, match="different months"):
            plots.draw_retention([plans[0], later], other)
        nothing = analytics.retention_plan(recordings.iloc[2:], keep_days=30,
                                           now="2026-11-27", rates=rates, months=2)
        plots.draw_retention([nothing], other)  # C is not billed before February
        assert "No storage cost" in " ".join(t.get_text() for t in other.texts)
    finally:
        plt.close(fig)


#: A count of one before a plural noun: what a title or note must never say.
ONE_PLURAL = re.compile(r"(?<![\d,.])1 (recordings|transcriptions|transcription callbacks"
                        r"|transcription charges|conferences|callbacks|minutes|days|months)\b")


def test_titles_legends_and_notes_say_one_recording_not_one_recordings(sample):
    recordings = sample.recordings.head(1)
    transcriptions = sample.transcriptions[
        sample.transcriptions["recording_id"].isin(recordings["recording_id"])].head(1)
    assert len(recordings) == 1 and len(transcriptions) == 1
    one = views.frames_of(recordings, transcriptions, rates=RateCard())
    said = {}
    for key, view in views.VIEWS.items():
        result = view.compute(one)
        ax = _drawn(view, result)
        legend = ax.get_legend()
        said[key] = " | ".join([ax.get_title(), view.note(result), *(t.get_text() for t in ax.texts),
                                *(t.get_text() for t in (legend.get_texts() if legend else []))])
    assert {key: ONE_PLURAL.findall(text) for key, text in said.items()
            if ONE_PLURAL.search(text)} == {}
    assert "Duration of 1 recording" in said["durations"]
    assert "Outcomes of 1 recording" in said["outcomes"]
