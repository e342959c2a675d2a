"""The formatting layer: what a person reads for each kind of figure."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from recording_toolkit import formatting as fmt


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (2495.05, "USD", "$2,495.05"),
    (24.9776, "USD", "$24.98"),
    (213.8, "USD", "$213.80"),
    (0.004, "USD", "$0.00"),
    (-0.004, "USD", "$0.00"),          # no "-$0.00"
    (-12.5, "GBP", "-£12.50"),
    (1500, "JPY", "¥1,500"),
    (99.999, "CHF", "100.00 CHF"),
])
def test_money_has_its_currency_and_two_decimals(amount, currency, shown):
    assert fmt.money(amount, currency) == shown


@pytest.mark.parametrize(("rate", "shown"), [
    (0.05, "$0.05/min"),
    (0.0004, "$0.0004/min"),
    (0.050965, "$0.051/min"),
    (0.0125, "$0.0125/min"),
    (1.5, "$1.50/min"),
    (0.00001, "<$0.0001/min"),
])
def test_prices_keep_the_precision_they_need_and_never_five_decimals(rate, shown):
    assert fmt.price(rate) == shown
    decimals = shown.split(".")[-1].split("/")[0]
    assert len(decimals) <= 4


@pytest.mark.parametrize(("share", "shown"), [
    (0.911243, "91.1%"),
    (0.996, "99.6%"),
    (0.9995, ">99.9%"),
    (0.99949, "99.9%"),
    (1.0, "100.0%"),
    (0.0, "0.0%"),
    (0.0004, "<0.1%"),
    (0.0005, "0.1%"),
])
def test_percentages_never_round_to_a_perfect_or_empty_score(share, shown):
    assert fmt.percent(share) == shown


@pytest.mark.parametrize(("length", "shown"), [
    (pd.Timedelta("13 days 03:51:25.238857"), "13 d 4 h"),
    (pd.Timedelta(hours=2, minutes=5, seconds=10), "2 h 5 min"),
    (250, "4 min 10 s"),
    (45, "45 s"),
    (3, "3 s"),
    (0.25, "0.2 s"),
    (pd.Timedelta(days=2), "2 d"),
])
def test_spans_read_in_two_units(length, shown):
    assert fmt.span(length) == shown


@pytest.mark.parametrize(("n", "shown"), [
    (0, "0 B"), (999, "999 B"), (1000, "1.00 kB"), (2_500_000, "2.50 MB"),
    (45_600_000, "45.6 MB"), (1_234_567_890, "1.23 GB"), (987_000_000_000, "987 GB"),
])
def test_sizes_in_decimal_units(n, shown):
    assert fmt.size(n) == shown


def test_durations_in_minutes_or_clock_time():
    assert fmt.minutes(1845.5) == "30.8 min"
    assert fmt.clock(1845.5) == "30:46"
    assert fmt.clock(3600 * 4 + 1) == "4:00:01"
    assert fmt.count(1611.0) == "1,611"
    assert fmt.number(12345.678) == "12,345.7"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT, math.nan])
@pytest.mark.parametrize("formatter", [fmt.money, fmt.price, fmt.percent, fmt.count, fmt.number,
                                       fmt.minutes, fmt.clock, fmt.span, fmt.size, fmt.timestamp,
                                       fmt.day, fmt.value])
def test_a_missing_figure_is_a_dash_never_an_error(formatter, missing):
    assert formatter(missing) == fmt.MISSING


def test_times_are_iso_in_utc():
    moment = pd.Timestamp("2026-11-02T09:05:33+01:00")
    assert fmt.timestamp(moment) == "2026-11-02 08:05"
    assert fmt.timestamp(moment, seconds=True) == "2026-11-02 08:05:33"
    assert fmt.day(pd.Timestamp("2026-11-30")) == "2026-11-30"


@pytest.mark.parametrize(("key", "words"), [
    ("charge_total", "Transcription charges"),
    ("transcriptions.charge_total", "Transcription charges"),
    ("card_rate", "Rate card price"),
    ("as_mp3_bytes", "Size as mp3"),
    ("mean_seconds", "Mean duration"),
    ("some_new_figure", "Some new figure"),
])
def test_labels_are_words(key, words):
    assert fmt.label(key) == words
    assert "_" not in fmt.label(key)


def test_each_column_gets_the_formatter_of_its_kind():
    frame = pd.DataFrame({
        "transcription_charge": pd.array([24.9776], dtype="Float64"),
        "transcription_rate": pd.array([0.05], dtype="Float64"),
        "success_rate": [0.996],
        "as_mp3_bytes": pd.array([45_600_000], dtype="Int64"),
        "overdue": pd.to_timedelta(["13 days 03:51:25"]),
        "received_at": pd.to_datetime(["2026-11-02T14:05:33Z"]),
        "billed_minutes": pd.array([1611], dtype="Int64"),
        "recordings": pd.array([12345], dtype="Int64"),
        "mean_seconds": [1845.5],
        "turnaround_seconds": [117.0],
        "recording_duration_ms": pd.array([1_845_500], dtype="Int64"),
    })
    shown = {name: fmt.formatter_for(name, frame[name], currency="USD")(frame[name].iloc[0])
             for name in frame.columns}
    assert shown == {
        "transcription_charge": "$24.98", "transcription_rate": "$0.05/min",
        "success_rate": "99.6%", "as_mp3_bytes": "45.6 MB", "overdue": "13 d 4 h",
        "received_at": "2026-11-02 14:05", "billed_minutes": "1,611", "recordings": "12,345",
        "mean_seconds": "30.8 min", "turnaround_seconds": "1 min 57 s",
        "recording_duration_ms": "30.8 min",
    }


def test_mappings_read_as_words():
    assert fmt.value({"no speech": 3, "too long": 1200}) == "no speech: 3, too long: 1,200"
    assert fmt.value({}) == fmt.MISSING


@pytest.mark.parametrize("n, noun, plural, shown", [
    (1, "recording", None, "1 recording"),
    (1.0, "recording", None, "1 recording"),
    (0, "recording", None, "0 recordings"),
    (2, "conference", None, "2 conferences"),
    (1611.0, "transcription", None, "1,611 transcriptions"),
    (1, "match", "matches", "1 match"),
    (3, "match", "matches", "3 matches"),
    (None, "day", None, f"{fmt.MISSING} days"),
])
def test_counted_says_the_noun_in_the_singular_only_for_one(n, noun, plural, shown):
    assert fmt.counted(n, noun, plural) == shown


def test_counted_follows_the_number_as_shown_even_padded():
    assert fmt.counted(1, "recording", digits=lambda n: f"{n:>4}") == "   1 recording"
    assert fmt.counted(0.5, "day", digits=lambda d: f"{d:g}") == "0.5 days"
