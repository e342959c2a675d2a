"""One summary of loaded callback logs, shared by the CLI, notebooks, the dashboard and the HTML report.

:func:`summarize` turns a :class:`~recording_toolkit.load.LoadResult` (pandas or Dask) into a
:class:`Summary`:

- ``to_dict()`` / ``to_json()``: the stable figures (the keys below, documented in the README;
  floats rounded to 6 decimals, None where a figure is undefined, e.g. a rate over nothing);
- ``details``: further figures that depend on the rate card and the journal (cost, billing audit,
  eligibility, reconciliation, data quality), also plain data;
- ``tables``: every table behind them, as pandas DataFrames (``--csv`` writes each one);
  ``details`` and ``tables`` are computed on first use, so showing the stable figures stays cheap;
- ``_repr_html_()``: the key figures as a table in a notebook, formatted for people
  (:mod:`recording_toolkit.formatting`), each with its dotted key.

Stable keys (``to_dict()``), each defined over the deduplicated frames::

    source.files, source.lines, source.quarantined, source.duplicates
    recordings.count, recordings.conferences, recordings.total_minutes, recordings.billed_minutes
    recordings.duration_seconds.{mean, median, p95, max}, recordings.by_format.{mp3, wav}
    transcriptions.received, .succeeded, .failed, .success_rate, .coverage, .charge_total,
    transcriptions.errors, transcriptions.turnaround_seconds.{median, p95}

:func:`write_html` writes a self-contained HTML file from a summary or a load result: a
contents list, a headline band (spend, minutes, success rate and coverage against the period of
the same length just before), the key figures, the charts as embedded images at their natural
size, and every table with labels in words and formatted numbers. Raw keys appear there only
inside ``<code>``; the JSON summary and the CSV tables keep raw values and keys.

The package is split by job, one module each, so a change to the page's layout never touches how
a figure is computed: ``_summary`` (:func:`summarize`, :class:`Summary`), ``_figures`` (the key
figures table both the notebook view and the page show), ``_headline`` (the selection's
figures against the period before, by the same analytics functions), ``_html``
(:func:`render_html`, :func:`write_html`), ``_charts`` (the page's embedded charts, the one part
that needs matplotlib), ``_csv`` (:func:`write_csv`) and ``_teams`` (:func:`cost_by_team`: each
team's figures for ``report --teams``, and the page's "Cost by team" section).

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit import schema
>>> from recording_toolkit.load import LoadResult
>>> recordings = schema.coerce(pd.DataFrame({
...     "recording_id": ["a", "b"], "conference_name": ["sales", "sales"],
...     "file_format": ["mp3", "wav"], "recording_duration_ms": [30_000, 90_000]}),
...     schema.RECORDINGS)
>>> transcriptions = schema.coerce(pd.DataFrame({
...     "recording_id": ["a"], "transcription_charge": [0.05]}), schema.TRANSCRIPTIONS)
>>> result = LoadResult(recordings, transcriptions, schema.empty(schema.QUARANTINE))
>>> data = summarize(result).to_dict()
>>> data["recordings"]["billed_minutes"], data["transcriptions"]["coverage"]
(3, 0.5)
"""

from __future__ import annotations

from ._csv import write_csv
from ._figures import figure_label, figure_text, format_figure
from ._html import render_html, write_html
from ._summary import (
    NO_RECORDING_CALLBACK,  # noqa: F401  (importable as before; not in __all__)
    SUMMARY_KEYS,
    Summary,
    _stable,  # noqa: F401  (benchmarks/bench_report.py times the stable figures alone)
    summarize,
)
from ._teams import TEAM_KEYS, TeamCosts, cost_by_team

__all__ = ["SUMMARY_KEYS", "Summary", "TEAM_KEYS", "TeamCosts", "cost_by_team", "figure_label",
           "figure_text", "format_figure", "render_html", "summarize", "write_csv", "write_html"]
