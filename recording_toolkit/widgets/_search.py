"""The Dashboard's transcript search, as HTML: the hits of
:func:`recording_toolkit.analytics.search_transcripts` listed for reading.

Each hit shows its conference, the recording's start (UTC), how many times the query occurs and
the snippet around the first match, with that match marked (``<mark>``). Every piece of text from
the logs is HTML-escaped before any markup is added around it: a transcript that says
``<script>`` is shown as those characters, never run.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from .. import formatting as fmt
from ._render import html_table

__all__ = ["HITS_SHOWN", "hits_html", "marked_snippet"]

#: At most this many hits are listed (the line above the list says how many there are).
HITS_SHOWN = 50

_COLUMNS = [("conference", "Conference"), ("start", "Started (UTC)"), ("count", "Matches"),
            ("snippet", "What was said")]
_WIDTHS = {"conference": "10em", "start": "9.5em", "count": "5em"}
_MARK_STYLE = "background:#FFE08A;color:inherit;padding:0 1px;border-radius:2px"


def marked_snippet(snippet: Any, start: Any, end: Any) -> str:
    """``snippet`` as HTML with ``snippet[start:end]`` (the first match) in ``<mark>``.

    >>> marked_snippet("a <b> budget!", 6, 12)
    'a &lt;b&gt; <mark style="background:#FFE08A;color:inherit;padding:0 1px;border-radius:2px">budget</mark>!'
    >>> marked_snippet("no offsets", None, None)
    'no offsets'
    """
    text = "" if fmt.is_missing(snippet) else str(snippet)
    if fmt.is_missing(start) or fmt.is_missing(end) or not 0 <= int(start) <= int(end) <= len(
            text):
        return html.escape(text)
    a, b = int(start), int(end)
    return (html.escape(text[:a]) + f'<mark style="{_MARK_STYLE}">' + html.escape(text[a:b])
            + "</mark>" + html.escape(text[b:]))


def hits_html(hits: pd.DataFrame, *, shown: int = HITS_SHOWN) -> str:
    """A line saying what was found, then the first ``shown`` hits as a table.

    ``hits`` is :func:`~recording_toolkit.analytics.search_transcripts` run with the
    recordings (its ``attrs`` say how many transcriptions were searched, failed or had no text).
    """
    attrs = hits.attrs
    query = str(attrs.get("query", ""))
    found = len(hits)
    matches = int(hits["count"].sum()) if found else 0
    line = (f"{fmt.counted(found, 'transcription')} of {fmt.count(attrs.get('searched', 0))}"
            f" searched {'mentions' if found == 1 else 'mention'}"
            f" <b>{html.escape(query)}</b>")
    if found:
        line += f" ({fmt.counted(matches, 'time')})"
    skipped = [f"{fmt.count(attrs[key])} {words}" for key, words in
               (("failed", "failed"), ("without_text", "without text")) if attrs.get(key)]
    if skipped:
        line += f"; not searched: {', '.join(skipped)}"
    if found > shown:
        line += f"; the first {fmt.count(shown)} by recording start are listed"
    line += "."
    if not found:
        return line
    rows = []
    for hit in hits.head(shown).itertuples(index=False):
        conference = getattr(hit, "conference_name", None)
        rows.append({
            "conference": fmt.MISSING if fmt.is_missing(conference) else str(conference),
            "start": fmt.timestamp(getattr(hit, "recording_start", None)),
            "count": fmt.count(hit.count),
            "snippet": marked_snippet(hit.snippet, hit.match_start, hit.match_end),
        })
    return line + html_table(rows, _COLUMNS, raw=("snippet",), widths=_WIDTHS,
                             wrap=("conference", "snippet"))
