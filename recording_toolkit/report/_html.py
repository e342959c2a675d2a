"""The HTML report: one self-contained page (inline CSS, charts as data URLs) of a summary.

:func:`render_html` lays out the page from a :class:`~recording_toolkit.report.Summary`'s
figures, ``details`` and ``tables``; :func:`write_html` summarizes a load result when given one
and writes the page. Only layout lives here: every number comes from the summary.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .._version import __version__
from ._charts import _charts
from ._figures import _figures_table, _fmt
from ._summary import NO_RECORDING_CALLBACK, Summary, summarize

__all__ = ["render_html", "write_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:72em;
padding:0 1em;color:#222;background:#fff}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{padding:2px 10px;text-align:left;
border-bottom:1px solid #ddd;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:1em}.charts figure{margin:0}img{max-width:100%}
.wide{overflow-x:auto}
.note{color:#555;font-size:.9em}.warn{color:#a33}
"""


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _fmt(value, "{:,.0f}" if abs(value) >= 1e6 else "{:,.6g}")
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return "–"
        if value.tzinfo is None and value == value.normalize():  # a day or month
            return value.strftime("%Y-%m-%d")
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return "–" if pd.isna(value) else str(value)
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    return str(value)


def _frame_table(frame: pd.DataFrame, *, limit: int = 50, index: bool = True,
                 empty: str = "None.") -> str:
    if frame is None or frame.empty:
        return f"<p class='note'>{html.escape(empty)}</p>"
    shown = frame.head(limit).reset_index() if index else frame.head(limit)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = "".join(
            f"<td{' class=n' if isinstance(v, int | float) and not isinstance(v, bool) else ''}>"
            f"{html.escape(_cell(v))}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    more = ""
    if len(frame) > limit:
        more = (f"<p class='note'>First {limit:,} of {len(frame):,} rows; "
                "<code>--csv</code> writes them all.</p>")
    return f"<div class='wide'><table><tr>{head}</tr>{''.join(body)}</table></div>{more}"


def _no_recording_callback_note(by_conference: pd.DataFrame, conferences: Any) -> str:
    """The footnote that says what the ``(no recording callback)`` row is, when it is there."""
    if NO_RECORDING_CALLBACK not in by_conference.index:
        return ""
    row = by_conference.loc[NO_RECORDING_CALLBACK]
    return (f"<p class='note'>{html.escape(NO_RECORDING_CALLBACK)}: {int(row['transcriptions']):,}"
            " transcription callback(s) whose recording callback is not in the logs, so their"
            " conference is not known. Their charges are listed so the column adds up to the"
            f" total; the row is not a conference and not among the {conferences or 0:,}"
            " conferences counted.</p>")


def _details_list(items: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td class='n'>"
                   f"{html.escape(_cell(v) if not isinstance(v, dict | list) else json.dumps(v))}"
                   f"</td></tr>" for k, v in items.items())
    return f"<table>{rows}</table>"


def render_html(summary: Summary, *, title: str = "Conference recordings report",
                charts: bool = True) -> str:
    """The HTML report of ``summary`` as text (what :func:`write_html` writes)."""
    d, t = summary.details, summary.tables
    currency = html.escape(summary.rates.currency)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class='note'>recording-toolkit {html.escape(__version__)}, generated"
             f" {html.escape(summary.generated_at)} ({html.escape(summary.engine)} engine)."
             " Days are UTC days.</p>"]
    selection = {k: v for k, v in d["selection"].items() if v is not None}
    if selection:
        parts.append(f"<p>Selection: {html.escape(json.dumps(selection))}</p>")
    parts += ["<h2>Key figures</h2>", _figures_table(summary)]
    if charts:
        parts.append("<h2>Charts</h2><div class='charts'>")
        for name, url in _charts(summary):
            parts.append(f"<figure><img alt='{html.escape(name)}' src='{url}'>"
                         f"<figcaption class='note'>{html.escape(name)}</figcaption></figure>")
        parts.append("</div>")
    parts += [
        "<h2>Cost</h2>", _details_list({**d["cost"], **{f"billing {k}": v
                                                       for k, v in d["billing"].items()}}),
        f"<p class='note'>Rate card (assumptions unless set): {html.escape(json.dumps(d['rates']))}."
        f" Money in {currency}.</p>",
        "<h3>Monthly costs</h3>", _frame_table(t["monthly_costs"]),
        "<h3>Storage projection (every recording kept)</h3>",
        _frame_table(t["storage_projection"]),
        "<h3>Billing mismatches</h3>",
        _frame_table(t["billing_mismatches"], index=False,
                     empty="Every charge matches rate x billed minutes."),
        "<h3>Price mismatches (callback's transcription_rate against the rate card)</h3>",
        _frame_table(t["rate_mismatches"], index=False, limit=100,
                     empty=f"Every callback's transcription_rate is the rate card's"
                           f" {summary.rates.transcription_per_minute:g}"
                           f" {summary.rates.currency} per minute."),
        "<h2>Conferences</h2>", _frame_table(t["by_conference"], limit=30),
        _no_recording_callback_note(t["by_conference"], summary.get("recordings.conferences")),
        "<h2>Days</h2>", _frame_table(t["by_day"], limit=62),
        "<h2>Formats</h2>", _frame_table(t["by_format"]),
        "<h2>Transcriptions</h2>",
        "<h3>Errors</h3>", _frame_table(t["transcription_errors"], index=False,
                                        empty="No transcription failed."),
        "<h3>Price per minute (transcription_rate)</h3>", _details_list(d["transcription_rate"]),
        "<h3>Turnaround</h3>", _details_list(d["turnaround"]),
        "<h3>Eligibility: predicted against actual</h3>",
        _frame_table(t["eligibility_vs_outcome"], index=False),
        _details_list({k: v for k, v in d["eligibility"].items() if k != "wav_to_mp3"}),
        "<h3>wav recorded as mp3</h3>", _details_list(d["eligibility"]["wav_to_mp3"]),
        "<h2>Data quality</h2>",
        _details_list({**d["quality"], "lines quarantined": summary.get("source.quarantined"),
                       "duplicates dropped": summary.get("source.duplicates")}),
        _frame_table(t["data_quality"], index=False, limit=100,
                     empty="No recording contradicts itself or the clock."),
    ]
    if "quarantine" in t:
        shown = t["quarantine"][[c for c in ("file", "line", "event", "reason")
                                 if c in t["quarantine"].columns]]
        parts += ["<h3>Quarantined lines</h3>",
                  _frame_table(shown, index=False, limit=100, empty="No line was quarantined.")]
    parts.append("<h2>Reconciliation with the request journal</h2>")
    if d["reconciliation"] is None:
        parts.append("<p class='note'>No journal given.</p>")
    else:
        parts += [_details_list(d["reconciliation"]),
                  "<h3>Started, no recording callback</h3>",
                  _frame_table(t["missing_recording_callbacks"], index=False, limit=100),
                  "<h3>Callbacks nobody here started</h3>",
                  _frame_table(t["unexpected_callbacks"], index=False, limit=100),
                  "<h3>Transcriptions requested but missing</h3>",
                  _frame_table(t["missing_transcriptions"], index=False, limit=100)]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(result_or_summary: Any, path: str | os.PathLike[str], *,
               title: str = "Conference recordings report", charts: bool = True,
               **summarize_options: Any) -> str:
    """Write the self-contained HTML report (charts embedded as PNG) and return its path.

    ``result_or_summary`` is a :class:`Summary` or a load result (then summarized with
    ``summarize_options``: ``rates``, ``journal``, ``since``, ...). ``charts=False`` leaves the
    charts out (a quicker, smaller page).

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
    text = render_html(summary, title=title, charts=charts)
    target = os.fspath(path)
    folder = os.path.dirname(target)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(text)
    return target
