"""What a reader of the HTML report sees: the page parsed as a browser would read its text.

Checked on the sample data (data/callbacks and its journal) and on the hand-built data set
(tests/analytics_data.py), whose headline is worked out by hand: a contents list whose links
land somewhere, no internal key outside ``<code>``, every number formatted, the headline's
figures the summary's own, and the JSON summary untouched by rendering. The notebook displays
of Summary, RateCard and the load statistics are checked here too.
"""

from __future__ import annotations

import base64
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import dask.dataframe as dd
import pytest
from analytics_data import load_result

from recording_toolkit import formatting
from recording_toolkit.config import RateCard
from recording_toolkit.load import LoadResult, load_callbacks
from recording_toolkit.report import SUMMARY_KEYS, render_html, summarize

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "callbacks"
JOURNAL = ROOT / "data" / "journal.jsonl"
NOW = "2026-12-01"

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
LONG_DECIMALS = re.compile(r"\d\.\d{5,}")
BARE_INTEGER = re.compile(r"(?<![\d,.])\d{5,}(?![\d,])")


class Page(HTMLParser):
    """The parts of a page a reader and a link see: text outside code, ids, links, images."""

    HIDDEN = {"style", "script", "title", "code"}
    VOID = {"img", "br", "meta", "link", "hr", "input"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.visible: list[str] = []
        self.ids: set[str] = set()
        self.contents_links: list[str] = []
        self.images: list[dict[str, str]] = []
        self.cards: dict[str, list[str]] = {}
        self._in_nav = 0
        self._card: str | None = None
        self._card_depth = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "nav" and "contents" in (attributes.get("class") or ""):
            self._in_nav += 1
        if tag == "a" and self._in_nav and attributes.get("href", "").startswith("#"):
            self.contents_links.append(attributes["href"][1:])
        if tag == "img":
            self.images.append(attributes)
        if tag in self.VOID:
            return
        if self._card is not None:
            self._card_depth += 1
        elif "card" in (attributes.get("class") or "").split() and "data-key" in attributes:
            self._card, self._card_depth = attributes["data-key"], 1
            self.cards[self._card] = []
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if tag == "nav" and self._in_nav:
            self._in_nav -= 1
        if self._card is not None:
            self._card_depth -= 1
            if self._card_depth == 0:
                self._card = None
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        if self._card is not None and data.strip():
            self.cards[self._card].append(data.strip())
        if not any(tag in self.HIDDEN for tag in self.stack):
            self.visible.append(data)

    @property
    def text(self) -> str:
        return " ".join(self.visible)


@pytest.fixture(scope="module")
def sample():
    """The sample logs summarized with their journal, and the page without charts."""
    result = load_callbacks([str(SAMPLE)], progress=False)
    summary = summarize(result, journal=str(JOURNAL), now=NOW)
    return result, summary, Page(render_html(summary, charts=False))


@pytest.fixture(scope="module")
def week():
    """The sample's second week: its headline compares with the first week."""
    result = load_callbacks([str(SAMPLE)], progress=False)
    summary = summarize(result, journal=str(JOURNAL), now=NOW, since="2026-11-09",
                        until="2026-11-16")
    return summary, Page(render_html(summary, charts=False))


def test_contents_list_links_land_on_sections(sample):
    _, _, page = sample
    assert len(page.contents_links) >= 8
    assert {"key-figures", "cost", "conferences", "transcriptions", "data-quality",
            "reconciliation"} <= set(page.contents_links)
    assert set(page.contents_links) <= page.ids


@pytest.mark.parametrize("fixture", ["sample", "week"])
def test_no_internal_key_in_the_text_a_reader_sees(fixture, request):
    page = request.getfixturevalue(fixture)[-1]
    assert SNAKE.findall(page.text) == []


@pytest.mark.parametrize("fixture", ["sample", "week"])
def test_every_number_is_formatted(fixture, request):
    page = request.getfixturevalue(fixture)[-1]
    assert LONG_DECIMALS.findall(page.text) == []
    assert BARE_INTEGER.findall(page.text) == []
    assert re.search(r"\d,\d{3}", page.text) and re.search(r"\$\d[\d,]*\.\d\d\b", page.text)


def test_the_checks_catch_what_they_are_for():
    page = Page("<p>charge_total 2495.050000 and 62444 <code>billing.card_rate 12345</code></p>")
    assert SNAKE.findall(page.text) == ["charge_total"]
    assert LONG_DECIMALS.findall(page.text) == ["5.050000"]
    assert BARE_INTEGER.findall(page.text) == ["62444"]


def test_headline_shows_the_summary_figures(sample):
    _, summary, page = sample
    assert set(page.cards) == {"transcriptions.charge_total", "recordings.total_minutes",
                               "transcriptions.success_rate", "transcriptions.coverage"}
    big = {key: texts[1] for key, texts in page.cards.items()}
    assert big["transcriptions.charge_total"] == formatting.money(
        summary.get("transcriptions.charge_total")) == "$2,495.05"
    assert big["recordings.total_minutes"] == "61,423.4 min"
    assert big["transcriptions.success_rate"] == formatting.percent(
        summary.get("transcriptions.success_rate")) == "97.7%"
    assert big["transcriptions.coverage"] == "78.8%"
    # the logs start on the first day of the period: nothing to compare with
    assert all(texts[2] == "nothing earlier in the logs" for texts in page.cards.values())


def test_headline_compares_with_the_period_just_before(week):
    summary, page = week
    big = {key: texts[1] for key, texts in page.cards.items()}
    assert big["transcriptions.charge_total"] == formatting.money(
        summary.get("transcriptions.charge_total"))
    assert big["transcriptions.coverage"] == formatting.percent(
        summary.get("transcriptions.coverage"))
    first_week = summarize(load_callbacks([str(SAMPLE)], progress=False), now=NOW,
                           since="2026-11-02", until="2026-11-09")
    spend = page.cards["transcriptions.charge_total"][2]
    assert spend.endswith("from " + formatting.money(first_week.get(
        "transcriptions.charge_total")))
    assert "2026-11-02 to 2026-11-08" in page.text and "7 days" in page.text


def test_headline_changes_worked_out_by_hand():
    # 3 Nov: r3 (0.70, ok) and r4 (0.00, failed); 2 Nov before it: r1 (0.05) and r2 (0.10)
    summary = summarize(load_result(), now=NOW, since="2026-11-03", until="2026-11-04")
    page = Page(render_html(summary, charts=False))
    changes = {key: texts[2] for key, texts in page.cards.items()}
    assert changes == {
        "transcriptions.charge_total": "▲ $0.55 (366.7%) from $0.15",
        "recordings.total_minutes": "▲ 8.0 min (400.3%) from 2.0 min",
        "transcriptions.success_rate": "▼ 50.0 points from 100.0%",
        "transcriptions.coverage": "▼ 50.0 points from 100.0%",
    }
    assert page.cards["transcriptions.charge_total"][1] == "$0.70"


def test_headline_is_the_same_on_dask():
    result = load_result()
    lazy = LoadResult(dd.from_pandas(result.recordings, npartitions=2),
                      dd.from_pandas(result.transcriptions, npartitions=2), result.quarantine,
                      result.stats, engine="dask")
    options = {"now": NOW, "since": "2026-11-03", "until": "2026-11-04"}
    on_pandas = Page(render_html(summarize(result, **options), charts=False)).cards
    on_dask = Page(render_html(summarize(lazy, **options), charts=False)).cards
    assert on_dask == on_pandas


def test_counts_that_differ_are_explained(sample):
    _, _, page = sample
    text = " ".join(page.text.split())
    # 17 transcription callbacks have no recording callback: no end time to measure from
    assert ("1,611 of 1,628 transcriptions have a turnaround (recording end to transcription"
            " callback); the other 17 have no recording callback in the logs") in text
    assert "All 1,628 transcriptions received were audited" in text
    assert "2,016 − 21 + 2 = 1,997 recordings in the logs" in text


def test_wide_tables_keep_the_sorted_column_and_durations_in_minutes(sample):
    _, summary, _ = sample
    text = render_html(summary, charts=False)
    conferences = text[text.index("id='conferences'"):text.index("id='days'")]
    headings = re.findall(r"<th scope='col'[^>]*>([^<]*)</th>", conferences)
    assert len(headings) <= 8
    assert headings[:2] == ["Conference", "Transcription charges"]
    assert "class='n sorted'" in conferences
    assert " min</td>" in conferences and "seconds" not in conferences


def test_rate_card_is_a_table_not_json(sample):
    _, summary, page = sample
    text = render_html(summary, charts=False)
    assert '{"transcription_per_minute"' not in text
    assert "$0.05/min" in page.text and "$0.0004/min" in page.text and "90 days" in page.text


def test_charts_have_their_natural_size(sample):
    _, summary, _ = sample
    page = Page(render_html(summary))
    assert page.images
    for image in page.images:
        head, _, data = image["src"].partition(",")
        assert head == "data:image/png;base64"
        raw = base64.b64decode(data)
        width, height = struct.unpack(">II", raw[16:24])
        assert (int(image["width"]), int(image["height"])) == (width, height), image["alt"]


def test_rendering_leaves_the_json_summary_as_it_was(sample):
    _, summary, _ = sample
    before = summary.to_dict(details=True)
    render_html(summary, charts=False)
    assert summary.to_dict(details=True) == before

    def dotted(data, prefix=""):
        for key, value in data.items():
            if isinstance(value, dict) and key != "errors":
                yield from dotted(value, f"{prefix}{key}.")
            else:
                yield prefix + key

    assert tuple(dotted(summary.to_dict())) == SUMMARY_KEYS


def test_summary_rate_card_and_load_stats_show_formatted_in_a_notebook(sample):
    result, summary, _ = sample
    shown = {
        "summary": Page(summary._repr_html_()).text,
        "rates": Page(RateCard()._repr_html_()).text,
        "result": Page(result._repr_html_()).text,
        "stats": Page(result.stats._repr_html_()).text,
    }
    for text in shown.values():
        assert SNAKE.findall(text) == [] and BARE_INTEGER.findall(text) == []
    assert "$2,495.05" in shown["summary"] and "78.8%" in shown["summary"]
    assert "$0.0004/min" in shown["rates"] and "Free storage" in shown["rates"]
    # the size read, as a reader reads it (it moves whenever the sample's text is regenerated)
    assert formatting.size(result.stats.bytes).endswith(" MB")
    assert formatting.size(result.stats.bytes) in shown["result"]
    assert "Lines quarantined" in shown["stats"]
    assert "<code>transcriptions.charge_total</code>" in summary._repr_html_()


def test_every_key_shown_beside_a_figure_is_a_path_in_the_json(sample):
    _, summary, _ = sample
    text = render_html(summary, charts=False)
    keys = re.findall(r"<td class='key'[^>]*><code>([^<]+)</code></td>", text)
    data = summary.to_dict(details=True)
    assert len(keys) >= 50
    for key in keys:
        value = data
        for part in key.split("."):
            assert isinstance(value, dict) and part in value, key
            value = value[part]


def test_headline_compares_the_same_conferences():
    # beta recorded only on 3 Nov: the day before holds alpha's recordings, not beta's
    summary = summarize(load_result(), now=NOW, since="2026-11-03", until="2026-11-04",
                        conferences=["beta"])
    page = Page(render_html(summary, charts=False))
    assert {texts[2] for texts in page.cards.values()} == {"no recordings in the period before"}
    assert "which holds no recordings" in page.text


def test_a_column_missing_from_its_table_is_named_not_dropped():
    import pandas as pd

    from recording_toolkit.report._html import _table

    with pytest.raises(ValueError, match=r"report table by_day: no column\(s\) \['cost'\]"):
        _table(pd.DataFrame({"charge": [1.0]}), currency="USD", columns=["cost"], csv="by_day")


def test_forecast_section_shows_this_month_and_each_conference_formatted():
    # Three days of November: 0.85 charged so far (r1..r4), run on to 30 days: 8.50;
    # beta's 0.70 runs on to 7.00 (worked out in test_report).
    summary = summarize(load_result(), now="2026-11-04")
    text = render_html(summary, charts=False)
    page = Page(text)
    assert "forecast" in page.contents_links and "forecast-conferences" in page.ids
    assert ("<th scope='row'>Projected month-end spend</th><td class='n'>$8.50</td>"
            in text)
    assert "<th scope='row'>Spend this month to date</th><td class='n'>$0.85</td>" in text
    assert "<th scope='row'>Days of the month elapsed</th><td class='n'>3.0 of 30</td>" in text
    forecast = text[text.index("id='forecast-conferences'"):text.index("id='conferences'")]
    assert "<td class='t name'>beta</td><td class='n'>$0.70</td>" in forecast
    assert "$7.00" in forecast
    assert SNAKE.findall(page.text) == []


def test_forecast_at_the_first_instant_of_a_month_says_there_is_no_rate_yet():
    text = render_html(summarize(load_result(), now=NOW), charts=False)
    assert "<th scope='row'>Projected month-end spend</th><td class='n'>–</td>" in text
    assert "there is no daily rate to run on yet" in text


def test_one_recording_is_one_recording_in_every_sentence(sample):
    result = sample[0]
    recordings = result.recordings.head(1)
    transcriptions = result.transcriptions[
        result.transcriptions["recording_id"].isin(recordings["recording_id"])].head(1)
    one = LoadResult(recordings, transcriptions, result.quarantine, result.stats)
    summary = summarize(one, now=NOW)
    text = Page(render_html(summary, charts=False)).text
    one_plural = re.compile(r"(?<![\d,.])1 (recordings|transcriptions|transcription callbacks"
                            r"|conferences|callbacks|days|months|log files)\b")
    assert one_plural.findall(text) == []
    assert "1 recording" in text and "The only transcription received was audited" in text
    assert "1 recording in 1 conference" in summary._repr_html_() + repr(summary)


def test_load_statistics_show_test_callbacks_only_when_some_were_left_out():
    from recording_toolkit.load import LoadStats

    assert "Test callbacks" not in LoadStats(files=1, lines=3)._repr_html_()
    some = LoadStats(files=1, lines=3, recordings=1, test_callbacks=2)
    assert re.search(r"Test callbacks \(left out\)</th><td[^>]*>2<", some._repr_html_())
    result = LoadResult(None, None, None, some)
    assert "2 test callbacks left out" in repr(result)
    assert "test callbacks" not in repr(LoadResult(None, None, None, LoadStats()))
