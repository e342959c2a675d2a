"""The HTML report: one self-contained page (inline CSS, charts as data URLs) of a summary.

:func:`render_html` lays out the page from a :class:`~recording_toolkit.report.Summary`'s
figures, ``details`` and ``tables``; :func:`write_html` summarizes a load result when given one
and writes the page. Only layout lives here: every number comes from the summary (and the
headline's earlier period from :mod:`._headline`), and every number a person reads is formatted
by :mod:`recording_toolkit.formatting`. Raw keys appear only inside ``<code>``, for a reader
who cross-checks the JSON or the CSV files.

The page: a contents list, a headline band (four figures against the period before), the key
figures, the charts at their natural size (two columns on a wide screen, one below 1380 px),
then one section per subject, each table narrow enough for a 1100 px window.
"""

from __future__ import annotations

import base64
import html
import os
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import __version__
from .. import formatting as fmt
from ._charts import COLUMN_PX
from ._figures import figures_table
from ._headline import HEADLINE_KEYS, Headline, headline
from ._summary import NO_RECORDING_CALLBACK, Summary, summarize

__all__ = ["render_html", "write_html"]

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;
background:#fff;line-height:1.45;font-size:15px}
main{max-width:1400px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:1.6em;margin:.4em 0 .2em}
h2{font-size:1.3em;margin:2em 0 .6em;padding-bottom:.2em;border-bottom:1px solid #d0d7de}
h3{font-size:1.05em;margin:1.4em 0 .4em}
a{color:#0b5cad}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;
color:#57606a;overflow-wrap:anywhere}
.note{color:#57606a;font-size:.9em;max-width:60em}
.warn{color:#a3262a}
nav.contents{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;
margin:1em 0}
nav.contents ol{margin:.2em 0;padding-left:1.4em;columns:3 16em;column-gap:2em}
nav.contents li{break-inside:avoid}
nav.contents ol ol{columns:auto;padding-left:1.2em;font-size:.92em}
.band{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:12px;margin:1em 0 .4em}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.7em 1em;background:#fbfcfd}
.card .what{color:#57606a;font-size:.9em}
.card .big{font-size:1.7em;font-weight:600;font-variant-numeric:tabular-nums;margin:.1em 0}
.card .change{font-size:.88em;color:#57606a}
.card .up{color:#1a7f37}.card .down{color:#a3262a}
.grid{display:grid;grid-template-columns:minmax(0,1fr);gap:24px 32px;align-items:start}
.charts{grid-auto-flow:row dense}.charts figure{margin:0;min-width:0}
.charts img{display:block;max-width:100%;height:auto}
.charts figure.span{grid-column:1/-1}
.charts figcaption{font-size:.92em;color:#57606a;margin-top:.3em}
@media (min-width:1380px){.grid{grid-template-columns:repeat(2,minmax(0,1fr))}}
@media (max-width:900px){.band{grid-template-columns:repeat(2,minmax(0,1fr))}}
table{border-collapse:collapse;margin:.4em 0 .8em;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #e3e7eb;vertical-align:top}
thead th{vertical-align:bottom;position:sticky;top:0;background:#fff;
border-bottom:2px solid #c4ccd5;font-weight:600;
max-width:10em;white-space:normal;overflow-wrap:normal}
tbody th{font-weight:normal;color:#1f2328}
td.n{text-align:right;white-space:nowrap}th.n{text-align:right}
td.t{max-width:28em;overflow-wrap:anywhere}td.name{white-space:nowrap}
caption{text-align:left;font-weight:600;padding:.2em 0 .3em}
table.figures{min-width:min(100%,40em)}table.figures th{white-space:nowrap}
td.key{padding-left:1.5em;white-space:nowrap}td.key code{overflow-wrap:normal}
th.sorted::after{content:" \\2193";color:#57606a}
.tables{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,540px),1fr));
gap:8px 48px;align-items:start}
.tables>div{min-width:0}
tr.total th,tr.total td{border-top:2px solid #c4ccd5;font-weight:600}
ol.patterns{padding-left:1.6em;margin:.3em 0}
"""

#: Columns shown as a recording id, file name or other token: in <code>, never formatted.
_TOKENS = {"recording_id", "api_id", "call_uuid", "file", "record_url"}
_SNAKE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b")


# -- cells ---------------------------------------------------------------------------------------

def _prose(text: Any) -> str:
    """Free text from the data (an error, a quarantine reason), escaped, with any field name in
    it (``recording_duration_ms``) set as code, so it reads as a name and not as words."""
    escaped = html.escape(str(text))
    return _SNAKE.sub(lambda m: f"<code>{m.group(0)}</code>", escaped)


def _sentence(value: Any) -> str:
    """A value of words (an outcome) starting with a capital, as the other rows do."""
    if fmt.is_missing(value):
        return fmt.MISSING
    text = str(value)
    return text[:1].upper() + text[1:]


def _month(value: Any) -> str:
    return fmt.MISSING if fmt.is_missing(value) else pd.Timestamp(value).strftime("%Y-%m")


def _whole(series: pd.Series) -> bool:
    values = series.dropna()
    return bool(len(values)) and bool((values == values.round()).all())


@dataclass(frozen=True)
class Column:
    """One column of a table on the page: its name in the frame, its heading, its format."""

    name: str
    heading: str | None = None
    show: Callable[[Any], str] | None = None
    numeric: bool | None = None


def _column_format(column: Column, series: pd.Series, currency: str
                   ) -> tuple[Callable[[Any], str], str]:
    """How a column's cells are written (HTML) and its cell class."""
    name = column.name
    numeric = column.numeric
    if numeric is None:
        numeric = (pd.api.types.is_numeric_dtype(series.dtype)
                   and not pd.api.types.is_bool_dtype(series.dtype)) \
            or pd.api.types.is_timedelta64_dtype(series.dtype)
    css = "n" if numeric else "t"
    if column.show is not None:
        show = column.show
        return (lambda v: html.escape(show(v))), css
    if name == "conference_name":
        return (lambda v: fmt.MISSING if fmt.is_missing(v) else html.escape(str(v))), "t name"
    if name in _TOKENS:
        return (lambda v: fmt.MISSING if fmt.is_missing(v) else
                f"<code>{html.escape(str(v))}</code>"), "t"
    if name == "month":
        return (lambda v: html.escape(_month(v))), "t"
    if name in {"day", "date"}:
        return (lambda v: html.escape(fmt.day(v))), "t"
    if name.endswith("_seconds"):
        return (lambda v: html.escape(fmt.minutes(v))), "n"
    if name.endswith("minutes") and pd.api.types.is_float_dtype(series.dtype) and _whole(series):
        return (lambda v: html.escape(fmt.count(v))), "n"
    shown = fmt.formatter_for(name, series, currency=currency)
    if numeric or shown is not fmt.value:
        return (lambda v: html.escape(shown(v))), css
    return (lambda v: fmt.MISSING if fmt.is_missing(v) else _prose(v)), css


def _table(frame: pd.DataFrame | None, *, currency: str, columns: Sequence[Column | str] = (),
           limit: int = 100, empty: str = "None.", csv: str | None = None,
           sorted_by: str | None = None) -> str:
    """A frame as an HTML table: headings in words, every cell formatted.

    ``columns`` picks and orders the columns shown (all, when empty); ``csv`` names the table's
    CSV file for the note under it; ``sorted_by`` marks the column the rows are ordered by.
    """
    if frame is None or frame.empty:
        return f"<p class='note'>{html.escape(empty)}</p>"
    shown = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
    picked = [c if isinstance(c, Column) else Column(c) for c in columns] or \
        [Column(str(c)) for c in shown.columns]
    absent = [c.name for c in picked if c.name not in shown.columns]
    if absent:  # a column renamed where the table is computed: say so, do not drop it
        raise ValueError(f"report table {csv or '?'}: no column(s) {absent}; it has"
                         f" {[str(c) for c in shown.columns]}")
    head, writers = [], []
    for column in picked:
        series = shown[column.name]
        write, css = _column_format(column, series, currency)
        writers.append((column.name, write, css))
        classes = " ".join(x for x in (css if css == "n" else "",
                                       "sorted" if column.name == sorted_by else "") if x)
        attribute = f" class='{classes}'" if classes else ""
        head.append(f"<th scope='col'{attribute}>"
                    f"{html.escape(column.heading or fmt.label(column.name))}</th>")
    body = []
    for _, row in shown.head(limit).iterrows():
        cells = "".join(f"<td class='{css}'>{write(row[name])}</td>"
                        for name, write, css in writers)
        body.append(f"<tr>{cells}</tr>")
    notes = []
    if len(shown) > limit:
        notes.append(f"First {limit:,} of {len(shown):,} rows.")
    hidden = len(shown.columns) - len(picked)
    if csv:
        every = "every row and column" if hidden or len(shown) > limit else "the same rows"
        notes.append(f"The CSV file <code>{html.escape(csv)}.csv</code> (<code>--csv</code>)"
                     f" holds {every}, with raw values.")
    note = f"<p class='note'>{' '.join(notes)}</p>" if notes else ""
    return (f"<table><thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody>"
            f"</table>{note}")


def _pairs(rows: Iterable[tuple[str, str, str | None]], *, base: str = "") -> str:
    """A two-column table of (label, formatted value, key or None) rows; the key (after
    ``base``, its place in the JSON) as code."""
    out = []
    for label, text, key in rows:
        code = f"<td class='key'><code>{html.escape(base + key)}</code></td>" if key else ""
        out.append(f"<tr><th scope='row'>{html.escape(label)}</th>"
                   f"<td class='n'>{html.escape(text)}</td>{code}</tr>")
    return f"<table class='pairs'>{''.join(out)}</table>"


# -- the page's parts ----------------------------------------------------------------------------

@dataclass
class _Page:
    """The sections of the page, in order, with their subsections for the contents list."""

    parts: list[str] = field(default_factory=list)
    contents: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)

    def section(self, ident: str, title: str) -> None:
        self.contents.append((ident, title, []))
        self.parts.append(f"<h2 id='{ident}'>{html.escape(title)}</h2>")

    def sub(self, ident: str, title: str) -> None:
        self.contents[-1][2].append((ident, title))
        self.parts.append(f"<h3 id='{ident}'>{html.escape(title)}</h3>")

    def add(self, *parts: str) -> None:
        self.parts.extend(p for p in parts if p)

    def toc(self) -> str:
        items = []
        for ident, title, subs in self.contents:
            inner = "".join(f"<li><a href='#{s}'>{html.escape(t)}</a></li>" for s, t in subs)
            items.append(f"<li><a href='#{ident}'>{html.escape(title)}</a>"
                         f"{f'<ol>{inner}</ol>' if inner else ''}</li>")
        return (f"<nav class='contents' aria-label='Contents'><strong>Contents</strong>"
                f"<ol>{''.join(items)}</ol></nav>")


def _period(start: pd.Timestamp | None, end: pd.Timestamp | None, *, length: bool = True
            ) -> str:
    if start is None or end is None:
        return "no time range"
    if start == start.normalize() and end == end.normalize():
        last = end - pd.Timedelta(days=1)
        days = (end - start).days
        dates = fmt.day(start) if last == start else f"{fmt.day(start)} to {fmt.day(last)}"
        return dates if days == 1 or not length else f"{dates} ({fmt.counted(days, 'day')})"
    return f"{fmt.timestamp(start)} to {fmt.timestamp(end)}" + \
        (f" ({fmt.span(end - start)})" if length else "")


def _change(key: str, now: Any, before: Any, currency: str) -> tuple[str, str]:
    """The change from ``before`` to ``now`` in words, and its CSS class."""
    if fmt.is_missing(before):
        return "no figure for the period before", ""
    if fmt.is_missing(now):
        return f"was {_headline_text(key, before, currency)}", ""
    delta = float(now) - float(before)
    share = key.endswith(("success_rate", "coverage"))
    was = f"from {_headline_text(key, before, currency)}"
    if share:
        points = delta * 100
        if round(points, 1) == 0:
            return f"unchanged {was}", ""
        return (f"{'▲' if points > 0 else '▼'} {abs(points):.1f} points {was}",
                "up" if points > 0 else "down")
    if delta == 0:
        return f"unchanged {was}", ""
    amount = fmt.money(abs(delta), currency) if "charge" in key else \
        f"{fmt.number(abs(delta))} min"
    relative = f" ({fmt.percent(abs(delta) / abs(float(before)))})" if float(before) else ""
    return f"{'▲' if delta > 0 else '▼'} {amount}{relative} {was}", ""


def _headline_text(key: str, value: Any, currency: str) -> str:
    if key.endswith("charge_total"):
        return fmt.money(value, currency)
    if key.endswith("total_minutes"):
        return fmt.MISSING if fmt.is_missing(value) else f"{fmt.number(value)} min"
    return fmt.percent(value)


_HEADLINE_LABELS = {
    "transcriptions.charge_total": "Spend on transcriptions",
    "recordings.total_minutes": "Recorded minutes",
    "transcriptions.success_rate": "Transcription success rate",
    "transcriptions.coverage": "Coverage",
}


def _length(length: pd.Timedelta) -> str:
    if length == length.round("D"):
        days = length.days
        return fmt.counted(days, "day")
    return fmt.span(length)


def _headline_band(summary: Summary, head: Headline) -> str:
    currency = summary.rates.currency
    selected = any(v is not None for v in summary.details["selection"].values())
    cards = []
    for key in HEADLINE_KEYS:
        now = head.current[key]
        if head.previous is None:
            change, css = "no earlier period to compare", ""
        elif not head.previous_recordings:
            change, css = ("nothing earlier in the logs" if not selected else
                           "no recordings in the period before"), ""
        else:
            change, css = _change(key, now, head.previous[key], currency)
        cards.append(
            f"<div class='card' data-key='{html.escape(key)}'>"
            f"<div class='what'>{html.escape(_HEADLINE_LABELS[key])}</div>"
            f"<div class='big'>{html.escape(_headline_text(key, now, currency))}</div>"
            f"<div class='change{f' {css}' if css else ''}'>{html.escape(change)}</div></div>")
    if head.start is None or head.end is None:
        when = ("The recordings have no start time, so there is no period to compare."
                if summary.get("recordings.count") else
                "No recording is selected, so there is no period to compare.")
    else:
        length = _length(head.end - head.start)
        held = head.previous_recordings
        when = (f"This period: {_period(head.start, head.end)}, by recording start (UTC)."
                f" Each change is against the {length} before it"
                f" ({_period(head.previous_start, head.start, length=False)}), which holds "
                + (f"{fmt.counted(held, 'recording')}." if held else
                   "no recordings."))
    received = summary.get("transcriptions.received")
    recordings = summary.get("recordings.count")
    return (f"<section id='headline' aria-label='Headline figures'><div class='band'>"
            f"{''.join(cards)}</div><p class='note'>{html.escape(when)} Success rate: the share"
            f" of the {fmt.counted(received, 'transcription')} received that succeeded. Coverage:"
            f" the share of the {fmt.counted(recordings, 'recording')} that have a successful"
            f" transcription.</p></section>")


def _moment(when: Any) -> str:
    """A selection bound: the day alone when it is midnight UTC, else the day and time."""
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return fmt.day(stamp) if stamp == stamp.normalize() else fmt.timestamp(stamp)


def _selection(summary: Summary) -> str:
    chosen = summary.details["selection"]
    parts = []
    since, until = chosen.get("since"), chosen.get("until")
    if since and until:
        parts.append(f"started on or after {_moment(since)} and before {_moment(until)}")
    elif since:
        parts.append(f"started on or after {_moment(since)}")
    elif until:
        parts.append(f"started before {_moment(until)}")
    if chosen.get("conferences") is not None:
        names = ", ".join(chosen["conferences"]) or "none"
        parts.append(f"in the conference{'s' if len(chosen['conferences']) != 1 else ''}"
                     f" {names}")
    if not parts:
        return "<p>Every recording in the logs.</p>"
    return f"<p>Selection: recordings {html.escape('; '.join(parts))}.</p>"


def _image_size(url: str) -> tuple[int, int] | None:
    """The pixel size of a PNG (from its header) or an SVG (its width and height) data URL."""
    head, _, data = url.partition(",")
    try:
        if head.startswith("data:image/png;base64"):
            raw = base64.b64decode(data[:64] + "=" * (-len(data[:64]) % 4))
            width, height = struct.unpack(">II", raw[16:24])
            return int(width), int(height)
        if head.startswith("data:image/svg+xml"):
            text = base64.b64decode(data).decode("utf-8") if head.endswith(";base64") else \
                data
            tag = re.search(r"<svg\b[^>]*>", text)
            if tag:
                w = re.search(r'\bwidth="([\d.]+)(?:pt|px)?"', tag.group(0))
                h = re.search(r'\bheight="([\d.]+)(?:pt|px)?"', tag.group(0))
                if w and h:
                    scale = 4 / 3 if 'pt"' in tag.group(0) else 1.0
                    return round(float(w.group(1)) * scale), round(float(h.group(1)) * scale)
    except (ValueError, struct.error, UnicodeDecodeError):
        return None
    return None


#: A chart wider than a column (the outcomes chart) spans both, so it is not shrunk.
_COLUMN_PX = COLUMN_PX


def _chart_parts(chart: Any) -> tuple[str, str, str]:
    """(title, data URL, note) of one chart: a ``(title, url)`` or ``(title, url, note)``
    tuple, or an object with ``title``, ``url`` and ``note``."""
    if isinstance(chart, tuple | list):
        title, url, *rest = chart
        return str(title), str(url), str(rest[0] or "") if rest else ""
    return str(chart.title), str(chart.url), str(getattr(chart, "note", "") or "")


def _chart_figures(charts: Iterable[Any]) -> str:
    out = []
    for chart in charts:
        title, url, note = _chart_parts(chart)
        size = _image_size(url)
        dims = f" width='{size[0]}' height='{size[1]}'" if size else ""
        wide = " class='span'" if size and size[0] > _COLUMN_PX else ""
        said = f"<span class='note'> {html.escape(note)}</span>" if note else ""
        out.append(f"<figure{wide}><img alt='{html.escape(title)}' src='{url}'{dims}>"
                   f"<figcaption><strong>{html.escape(title)}</strong>{said}</figcaption>"
                   "</figure>")
    return f"<div class='grid charts'>{''.join(out)}</div>"


def _rate_card(summary: Summary) -> str:
    rates = summary.rates
    cur = rates.currency
    return _pairs([
        ("Transcription price", fmt.price(rates.transcription_per_minute, cur),
         "details.rates.transcription_per_minute"),
        ("Storage price, per minute each month", fmt.price(rates.storage_per_minute_month, cur),
         "details.rates.storage_per_minute_month"),
        ("Free storage", fmt.counted(rates.free_storage_days, "day"),
         "details.rates.free_storage_days"),
        ("Currency", cur, "details.rates.currency"),
    ])


def _audit_note(summary: Summary) -> str:
    billing = summary.details["billing"]
    received = summary.get("transcriptions.received") or 0
    audited, unchecked = billing["audited"], billing["unchecked"]
    checked = audited - unchecked
    if checked == received and audited == received:
        text = ("The only transcription received was audited" if received == 1 else
                f"All {fmt.count(received)} transcriptions received were audited")
        text += ": each charge against the rate card's price times its billed minutes."
    else:
        text = f"{fmt.count(checked)} of {fmt.counted(received, 'transcription')} audited"
        reasons = []
        if unchecked:
            reasons.append(f"{fmt.count(unchecked)} have no duration or no charge to check")
        if received > audited:
            reasons.append(f"{fmt.count(received - audited)} are not in the audit")
        text += ("; " + "; ".join(reasons) if reasons else "") + "."
    return f"<p class='note'>{html.escape(text)}</p>"


def _no_recording_callback_note(by_conference: pd.DataFrame, conferences: Any) -> str:
    """The footnote that says what the ``(no recording callback)`` row is, when it is there."""
    if NO_RECORDING_CALLBACK not in by_conference.index:
        return ""
    transcriptions = _orphan_count(by_conference)
    return (f"<p class='note'>{html.escape(NO_RECORDING_CALLBACK)}:"
            f" {fmt.counted(transcriptions, 'transcription callback')} whose recording callback"
            " is not in the logs, so their conference is not known. Their charges are listed so"
            " the column adds up to the total; the row is not a conference and not among the"
            f" {fmt.counted(conferences or 0, 'conference')} counted.</p>")


def _orphans(summary: Summary) -> int:
    """Transcriptions whose recording callback is not in the selection (no conference, no end)."""
    return _orphan_count(summary.tables["by_conference"])


def _orphan_count(by_conference: pd.DataFrame) -> int:
    """The transcriptions in the ``(no recording callback)`` row of ``by_conference`` (0 without)."""
    counts = by_conference["transcriptions"]
    return int(counts[counts.index == NO_RECORDING_CALLBACK].sum())


def _measured_note(what: str, measured: int, received: int, orphans: int, lacking: str) -> str:
    """``1,611 of 1,628 transcriptions ...; the other 17 have no recording callback ...``."""
    if measured == received:
        return f"All {fmt.counted(received, 'transcription')} received {what}."
    rest = received - measured
    why = (f"have no recording callback in the logs, so there is no {lacking}"
           if rest == orphans else "cannot be matched with a recording")
    return (f"{fmt.count(measured)} of {fmt.counted(received, 'transcription')} {what};"
            f" the other {fmt.count(rest)} {why}.")


# -- the sections --------------------------------------------------------------------------------

def _cost(page: _Page, summary: Summary) -> None:
    d, t, cur = summary.details, summary.tables, summary.rates.currency
    cost, billing = d["cost"], d["billing"]
    page.section("cost", "Cost")
    money = [("Transcription charges", fmt.money(cost["charge_total"], cur),
              "details.cost.charge_total"),
             ("Expected by the rate card", fmt.money(cost["expected_charge_total"], cur),
              "details.cost.expected_charge_total"),
             ("Price per successfully transcribed minute",
              fmt.price(cost["effective_price_per_minute"], cur),
              "details.cost.effective_price_per_minute"),
             ("Storage, next month", fmt.money(cost["storage_cost_next_month"], cur),
              "details.cost.storage_cost_next_month"),
             ("Storage, next 12 months", fmt.money(cost["storage_cost_next_12_months"], cur),
              "details.cost.storage_cost_next_12_months")]
    audit = [("Transcriptions audited", fmt.count(billing["audited"]), "details.billing.audited"),
             ("Charges that differ from the rate card", fmt.count(billing["mismatches"]),
              "details.billing.mismatches"),
             ("Audited without a duration or charge", fmt.count(billing["unchecked"]),
              "details.billing.unchecked"),
             ("Tolerance per charge", fmt.price(billing["tolerance"], cur, per=""),
              "details.billing.tolerance"),
             ("Callback prices unlike the rate card", fmt.count(billing["rate_mismatches"]),
              "details.billing.rate_mismatches")]
    page.add("<div class='tables'>",
             f"<div><h3 id='cost-figures'>Charges and storage</h3>{_pairs(money)}</div>",
             f"<div><h3 id='rate-card'>Rate card</h3>{_rate_card(summary)}"
             "<p class='note'>Prices are the documented defaults unless set with"
             " <code>--rates</code>, the environment or the price flags. Money is in"
             f" {html.escape(cur)}.</p></div>",
             f"<div><h3 id='billing-audit'>Billing audit</h3>{_pairs(audit)}"
             f"{_audit_note(summary)}</div>",
             "<div><h3 id='monthly-costs'>Monthly costs</h3>"
             + _table(t["monthly_costs"], currency=cur, csv="monthly_costs",
                      columns=["month", Column("transcription_charge", "Transcription charges"),
                               Column("storage_cost", "Storage"),
                               Column("total", show=lambda v: fmt.money(v, cur))])
             + "<h3 id='storage-projection'>Storage projection (every recording kept)</h3>"
             + _table(t["storage_projection"], currency=cur, csv="storage_projection",
                      columns=["month",
                               Column("billed_recordings", "Recordings past the free days"),
                               Column("billed_minutes", "Minutes stored at a price"), "cost"])
             + "</div>",
             "</div>")
    page.contents[-1][2].extend([("cost-figures", "Charges and storage"),
                                 ("rate-card", "Rate card"), ("billing-audit", "Billing audit"),
                                 ("monthly-costs", "Monthly costs"),
                                 ("storage-projection", "Storage projection")])
    page.sub("billing-mismatches", "Charges that differ from the rate card")
    page.add(_table(t["billing_mismatches"], currency=cur, csv="billing_mismatches",
                    columns=["recording_id", Column("duration_ms", "Duration",
                                                    lambda v: fmt.minutes(float(v) / 1000)
                                                    if not fmt.is_missing(v) else fmt.MISSING),
                             "billed_minutes", "transcription_rate", "expected_charge",
                             Column("transcription_charge", "Charged"),
                             Column("difference", "Charged minus expected",
                                    lambda v: fmt.money(v, cur))],
                    empty="Every charge matches the rate card's price times the billed"
                          " minutes."))
    page.sub("price-mismatches", "Callback prices unlike the rate card")
    page.add(_table(t["rate_mismatches"], currency=cur, csv="rate_mismatches",
                    columns=["recording_id", Column("transcription_rate", "Callback's price"),
                             "card_rate", Column("difference", "Difference",
                                                 lambda v: fmt.price(v, cur))],
                    empty=f"Every callback's price is the rate card's"
                          f" {fmt.price(summary.rates.transcription_per_minute, cur)}."))


def _signed_money(amount: Any, currency: str) -> str:
    """A change of money: ``+$0.15``, ``-$0.05``, ``$0.00``."""
    if fmt.is_missing(amount):
        return fmt.MISSING
    text = fmt.money(amount, currency)
    return f"+{text}" if float(amount) > 0 and text != fmt.money(0.0, currency) else text


def _signed_share(share: Any) -> str:
    if fmt.is_missing(share):
        return "no spend to compare with"
    return ("+" if float(share) > 0 else "-" if float(share) < 0 else "") + \
        fmt.percent(abs(float(share)))


def _forecast(page: _Page, summary: Summary) -> None:
    forecast, cur = summary.details["forecast"], summary.rates.currency
    total, kinds = forecast["total"], forecast["kinds"]
    base = "details.forecast."
    previous = forecast["previous_period"]
    compared = _period(pd.Timestamp(previous["start"]), pd.Timestamp(previous["end"]),
                       length=False)
    page.section("forecast", "Forecast")
    money = lambda v: fmt.money(v, cur)  # noqa: E731
    figures = [
        ("As of", fmt.timestamp(pd.Timestamp(forecast["now"])), "now"),
        ("Days of the month elapsed", f"{fmt.number(forecast['elapsed_days'])} of"
                                      f" {fmt.count(forecast['days_in_month'])}", "elapsed_days"),
        ("Spend this month to date", money(total["month_to_date"]), "total.month_to_date"),
        ("Projected month-end spend", money(total["projected_month_end"]),
         "total.projected_month_end"),
        ("Same days of last month", money(total["previous_period"]), "total.previous_period"),
        ("Change to date", f"{_signed_money(total['change'], cur)}"
                           f" ({_signed_share(total['change_share'])})", "total.change"),
        ("Last month in full", money(total["previous_month"]), "total.previous_month"),
    ]
    per_kind = pd.DataFrame([{"kind": label, **kinds[kind]} for kind, label in
                             (("transcription", "Transcriptions"), ("storage", "Storage"))])
    columns = [Column("kind", "Spend", show=str, numeric=False),
               Column("month_to_date", "To date", money),
               Column("previous_period", "Same days of last month", money),
               Column("change", "Change", lambda v: _signed_money(v, cur)),
               Column("projected_month_end", "Projected month-end", money),
               Column("previous_month", "Last month", money)]
    run_rate = "" if total["projected_month_end"] is not None else \
        " The month had only just begun: there is no daily rate to run on yet."
    # one under the other: the figures' keys make the first table too wide to share a row
    page.add("<div>",
             f"<div><h3 id='forecast-figures'>This month</h3>{_pairs(figures, base=base)}</div>",
             "<div><h3 id='forecast-kinds'>By kind</h3>"
             + _table(per_kind, currency=cur, columns=columns)
             + "<p class='note'>Transcription charges to date are run on to the month's end at"
             " the same daily rate (to date ÷ days elapsed × days in the month). Storage is"
             " billed once, at the end of the month, for recordings stored longer than the"
             " free days: its projection is that bill, every recording kept, so it has"
             f" nothing to date. Compared with {html.escape(compared)}, the same days of the"
             f" previous month.{run_rate} As of the latest callback, unless the summary was"
             " made with another time (<code>summarize(now=...)</code>).</p></div>",
             "</div>")
    page.contents[-1][2].extend([("forecast-figures", "This month"),
                                 ("forecast-kinds", "By kind")])
    page.sub("forecast-conferences", "Forecast per conference")
    page.add("<p class='note'>Ordered by projected month-end spend, highest first.</p>",
             _table(summary.tables["forecast_by_conference"], currency=cur,
                    csv="forecast_by_conference", sorted_by="projected_month_end", limit=20,
                    columns=["conference_name", Column("month_to_date", "To date", money),
                             Column("previous_period", "Same days of last month", money),
                             Column("change", "Change", lambda v: _signed_money(v, cur)),
                             Column("transcription_projected_month_end",
                                    "Transcriptions by month-end", money),
                             Column("storage_projected_month_end", "Storage at month-end",
                                    money),
                             Column("projected_month_end", "Projected month-end", money)],
                    empty="No spend this month or on the same days of last month."))


def _conferences(page: _Page, summary: Summary) -> None:
    t, cur = summary.tables, summary.rates.currency
    page.section("conferences", "Conferences")
    page.add("<p class='note'>Ordered by transcription charges, highest first. Durations in"
             " minutes. The billed minutes and the mean and longest duration of each"
             " conference are in the CSV file.</p>",
             _table(t["by_conference"], currency=cur, csv="by_conference",
                    sorted_by="transcription_charge",
                    columns=["conference_name",
                             Column("transcription_charge", "Transcription charges"),
                             "transcriptions", Column("failed", "Of them failed"),
                             "recordings", "total_minutes", "median_seconds",
                             Column("p95_seconds", "95th percentile duration")]),
             _no_recording_callback_note(t["by_conference"],
                                         summary.get("recordings.conferences")))


def _days_and_formats(page: _Page, summary: Summary) -> None:
    t, cur = summary.tables, summary.rates.currency
    page.section("days", "Days and formats")
    page.add("<div class='tables'>",
             "<div><h3 id='by-day'>Days (UTC, by recording start)</h3>"
             + _table(t["by_day"], currency=cur, csv="by_day", limit=62,
                      columns=["day", "recordings", "recorded_minutes", "billed_minutes",
                               Column("transcription_charge", "Transcription charges")])
             + "<p class='note'>A day's charges are those of transcriptions received that"
               " day.</p></div>",
             "<div><h3 id='by-format'>Formats</h3>"
             + _table(t["by_format"], currency=cur, csv="by_format",
                      columns=["file_format", "recordings", "total_minutes", "billed_minutes",
                               "median_seconds",
                               Column("p95_seconds", "95th percentile duration")])
             + "</div>", "</div>")
    page.contents[-1][2].extend([("by-day", "Days"), ("by-format", "Formats")])


def _transcriptions(page: _Page, summary: Summary) -> None:
    d, t, cur = summary.details, summary.tables, summary.rates.currency
    received = summary.get("transcriptions.received") or 0
    orphans = _orphans(summary)
    page.section("transcriptions", "Transcriptions")
    rate = d["transcription_rate"]
    distinct = rate.get("distinct") or []
    prices = _pairs([
        ("Callbacks stating a price", fmt.count(rate.get("count")), None),
        ("Lowest", fmt.price(rate.get("min"), cur), None),
        ("Median", fmt.price(rate.get("median"), cur), None),
        ("Mean", fmt.price(rate.get("mean"), cur), None),
        ("Highest", fmt.price(rate.get("max"), cur), None),
        ("Prices seen", ", ".join(fmt.price(p, cur) for p in distinct[:5])
         + (f" and {len(distinct) - 5:,} more" if len(distinct) > 5 else "")
         if distinct else fmt.MISSING, None),
    ])
    turn = d["turnaround"]
    marks = [(k, v) for k, v in turn.items() if k.startswith("within_")]
    turnaround = _pairs([
        ("Transcriptions measured", fmt.count(turn.get("count")), "count"),
        ("Median", fmt.span(turn.get("median_seconds")), "median_seconds"),
        ("95th percentile", fmt.span(turn.get("p95_seconds")), "p95_seconds"),
        ("Longest", fmt.span(turn.get("max_seconds")), "max_seconds"),
        *[(fmt.label(k), fmt.percent(v), k) for k, v in marks],
    ], base="details.turnaround.")
    measured = _measured_note("have a turnaround (recording end to transcription callback)",
                              int(turn.get("count") or 0), received, orphans,
                              "recording end to measure from")
    errors = t["transcription_errors"]
    failed = summary.get("transcriptions.failed") or 0
    page.add("<div class='tables'>",
             "<div><h3 id='errors'>Errors</h3>"
             + _table(errors, currency=cur, csv="transcription_errors",
                      columns=["error", Column("recordings", "Transcriptions")],
                      empty="No transcription failed.")
             + (f"<p class='note'>{fmt.count(failed)} of {fmt.counted(received, 'transcription')}"
                " failed.</p>" if failed else "")
             + "</div>",
             f"<div><h3 id='turnaround'>Turnaround</h3>{turnaround}"
             f"<p class='note'>{html.escape(measured)}</p></div>",
             f"<div><h3 id='prices'>Price per minute stated by the callbacks</h3>{prices}</div>",
             "</div>")
    page.contents[-1][2].extend([("errors", "Errors"), ("turnaround", "Turnaround"),
                                 ("prices", "Prices")])
    elig = d["eligibility"]
    page.sub("eligibility", "Eligibility: predicted against actual")
    checked = _measured_note("were checked against the prediction from their duration",
                             int(elig["predictions_checked"]), received, orphans,
                             "duration to predict from")
    page.add(_table(t["eligibility_vs_outcome"], currency=cur, csv="eligibility_vs_outcome",
                    columns=[Column("predicted", "Predicted from the duration", _sentence),
                             Column("actual", "What happened", _sentence), "recordings",
                             Column("agree", "Prediction right")]),
             _pairs([("Recordings predicted not eligible",
                      fmt.count(elig["predicted_ineligible"]), "predicted_ineligible"),
                     ("Predictions checked", fmt.count(elig["predictions_checked"]),
                      "predictions_checked"),
                     ("Predictions wrong", fmt.count(elig["predictions_wrong"]),
                      "predictions_wrong")], base="details.eligibility."),
             f"<p class='note'>{html.escape(checked)}</p>")
    wav = elig["wav_to_mp3"]
    page.sub("wav-as-mp3", "If the wav recordings had been mp3")
    page.add(_pairs([
        ("wav recordings", fmt.count(wav.get("wav_recordings")), "wav_recordings"),
        ("Their size as wav", fmt.size(wav.get("wav_bytes")), "wav_bytes"),
        ("Their size as mp3", fmt.size(wav.get("as_mp3_bytes")), "as_mp3_bytes"),
        ("Saved", fmt.size(wav.get("saved_bytes")), "saved_bytes"),
        ("Saved share", fmt.percent(wav.get("saved_share")), "saved_share"),
        ("Recordings that would become eligible for transcription",
         fmt.count(wav.get("newly_eligible")), "newly_eligible"),
    ], base="details.eligibility.wav_to_mp3."))


def _quality(page: _Page, summary: Summary) -> None:
    d, t, cur = summary.details, summary.tables, summary.rates.currency
    page.section("data-quality", "Data quality")
    rows = [(fmt.label(k), fmt.count(v), f"details.quality.{k}") for k, v in d["quality"].items()]
    rows += [("Lines quarantined", fmt.count(summary.get("source.quarantined")),
              "source.quarantined"),
             ("Duplicates dropped", fmt.count(summary.get("source.duplicates")),
              "source.duplicates"),
             ("Backfilled recordings (from the Recording list API)",
              fmt.count(d.get("backfilled_recordings")), "details.backfilled_recordings")]
    page.add(_pairs(rows))
    page.sub("findings", "Recordings that contradict themselves or the clock")
    page.add(_table(t["data_quality"], currency=cur, csv="data_quality",
                    columns=[Column("check", show=fmt.label), "event", "recording_id",
                             "detail"],
                    empty="No recording contradicts itself or the clock."))
    if "quarantine" in t:
        page.sub("quarantine", "Quarantined lines")
        page.add(_table(t["quarantine"], currency=cur, csv="quarantine",
                        columns=["file", Column("line", numeric=True), "event", "reason"],
                        empty="No line was quarantined."))


def _reconciliation_note(summary: Summary, counts: Mapping[str, Any]) -> str:
    """How the journal's starts become the recordings counted, when the numbers add up."""
    started = counts.get("started")
    missing = counts.get("recording_callbacks_missing")
    unexpected = counts.get("unexpected_callbacks")
    recordings = summary.get("recordings.count")
    if started is None or missing is None or unexpected is None \
            or started - missing + unexpected != recordings:
        return ""
    return (f"<p class='note'>The journal started {fmt.counted(started, 'recording')};"
            f" {fmt.count(missing)} sent no recording callback and"
            f" {fmt.counted(unexpected, 'callback')} came for recordings not started here:"
            f" {fmt.count(started)} − {fmt.count(missing)} + {fmt.count(unexpected)} ="
            f" {fmt.counted(recordings, 'recording')} in the logs.</p>")


def _reconciliation(page: _Page, summary: Summary) -> None:
    d, t, cur = summary.details, summary.tables, summary.rates.currency
    page.section("reconciliation", "Reconciliation with the request journal")
    if d["reconciliation"] is None:
        page.add("<p class='note'>No journal given (<code>--journal</code>).</p>")
        return
    counts = d["reconciliation"]
    page.add(_pairs([(fmt.label(k), fmt.count(v), f"details.reconciliation.{k}")
                     for k, v in counts.items()]), _reconciliation_note(summary, counts))
    page.sub("missing-recording-callbacks", "Started, no recording callback")
    page.add(_table(t["missing_recording_callbacks"], currency=cur,
                    csv="missing_recording_callbacks",
                    columns=["recording_id", "conference_name",
                             Column("started_at", "Started (UTC)"),
                             "transcription_requested", "backfilled"]))
    page.sub("unexpected-callbacks", "Callbacks nobody here started")
    page.add(_table(t["unexpected_callbacks"], currency=cur, csv="unexpected_callbacks",
                    columns=["recording_id", "conference_name", "recording_start",
                             "received_at", "backfilled",
                             Column("unanswered_start", "After a start that got no answer")]))
    page.sub("missing-transcriptions", "Transcriptions requested but missing")
    page.add(_table(t["missing_transcriptions"], currency=cur, csv="missing_transcriptions",
                    columns=["recording_id", "conference_name",
                             Column("recording_end", "Recording ended (UTC)"), "overdue"]))


def _teams(page: _Page, costs: Any) -> None:
    from ._teams import team_section

    page.section("teams", "Cost by team")
    page.add(team_section(costs))
    page.contents[-1][2].append(("team-patterns", "Patterns"))


def render_html(summary: Summary, *, title: str = "Conference recordings report",
                charts: bool = True, teams: Any = None) -> str:
    """The HTML report of ``summary`` as text (what :func:`write_html` writes).

    ``teams`` (:class:`~recording_toolkit.teams.Teams`, ``{team: [glob, ...]}``, a teams file
    or a :class:`~recording_toolkit.report.TeamCosts`) adds the "Cost by team" section.
    """
    costs = None
    if teams is not None:
        from ._teams import TeamCosts, cost_by_team

        costs = teams if isinstance(teams, TeamCosts) else cost_by_team(summary, teams)
    page = _Page()
    page.section("key-figures", "Key figures")
    page.add("<div class='tables'>",
             f"<div>{figures_table(summary, part='recordings')}</div>",
             f"<div>{figures_table(summary, part='transcriptions')}"
             f"{figures_table(summary, part='source')}</div>", "</div>",
             "<p class='note'>The last column is each figure's key in the JSON summary"
             " (<code>report --json</code>).</p>")
    if charts:
        from ._charts import _charts

        page.section("charts", "Charts")
        page.add(_chart_figures(_charts(summary)))
    _cost(page, summary)
    if costs is not None:
        _teams(page, costs)
    _forecast(page, summary)
    _conferences(page, summary)
    _days_and_formats(page, summary)
    _transcriptions(page, summary)
    _quality(page, summary)
    _reconciliation(page, summary)
    generated = summary.generated_at.replace("T", " ")[:16]
    top = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           "<meta name='viewport' content='width=device-width, initial-scale=1'>"
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><main>",
           f"<h1>{html.escape(title)}</h1>",
           f"<p class='note'>Made by recording-toolkit {html.escape(__version__)} on"
           f" {html.escape(generated)} UTC from the"
           f" {fmt.counted(summary.get('source.files'), 'log file')} read"
           f" ({html.escape(summary.engine)} engine). Times and days are"
           " UTC.</p>",
           _selection(summary), _headline_band(summary, headline(summary)), page.toc()]
    return "\n".join([*top, *page.parts, "</main></body></html>\n"])


def write_html(result_or_summary: Any, path: str | os.PathLike[str], *,
               title: str = "Conference recordings report", charts: bool = True,
               teams: Any = None, **summarize_options: Any) -> str:
    """Write the self-contained HTML report (charts embedded as images) and return its path.

    ``result_or_summary`` is a :class:`Summary` or a load result (then summarized with
    ``summarize_options``: ``rates``, ``journal``, ``since``, ...). ``charts=False`` leaves the
    charts out (a quicker, smaller page); ``teams`` adds the "Cost by team" section
    (:func:`render_html`).

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from recording_toolkit import schema
    >>> from recording_toolkit.load import LoadResult
    >>> recordings = schema.coerce(pd.DataFrame({"recording_id": ["a"],
    ...                                          "recording_duration_ms": [61_000]}),
    ...                            schema.RECORDINGS)
    >>> result = LoadResult(recordings, schema.empty(schema.TRANSCRIPTIONS),
    ...                     schema.empty(schema.QUARANTINE))
    >>> path = write_html(result, os.path.join(tempfile.mkdtemp(), "report.html"), charts=False)
    >>> from pathlib import Path
    >>> "recordings.billed_minutes" in Path(path).read_text("utf-8")
    True
    """
    summary = result_or_summary if isinstance(result_or_summary, Summary) else \
        summarize(result_or_summary, **summarize_options)
    if summarize_options and isinstance(result_or_summary, Summary):
        raise TypeError("write_html: summarize options apply to a load result, not a Summary:"
                        f" {sorted(summarize_options)}")
    text = render_html(summary, title=title, charts=charts, teams=teams)
    target = os.fspath(path)
    folder = os.path.dirname(target)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(text)
    return target

