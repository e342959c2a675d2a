"""Analytics: pure functions over the typed frames, pandas or Dask alike.

Each function takes frames first (``schema.RECORDINGS``, ``schema.TRANSCRIPTIONS``,
``schema.JOINED``, the journal's ``schema.JOURNAL``) and returns a frame, a Series or a dict; none
reads a file, calls Plivo or draws. Each declares, where it is defined, the columns it needs of
its first frame (``@needs(...)``, :func:`._common.needs`): it checks them itself, and the
``df.rec`` accessor is generated from those declarations. The functions behind a chart return
every figure the chart shows (counts, medians, shares, what was left out), so
:mod:`recording_toolkit.plots` only draws. One module per topic:

========================  ==============================================================
:mod:`.durations`         counts, recorded and billed minutes, typical and extreme lengths,
                          the duration histogram, what whole-minute billing adds
:mod:`.cost`              charges (per day, per conference), effective price per minute,
                          storage projection and where it starts, months
:mod:`.billing`           expected against charged, per transcription and per day
:mod:`.outcomes`          coverage, success rate, errors, the price (``transcription_rate``)
:mod:`.turnaround`        recording end to transcription callback
:mod:`.eligibility`       which recordings can be transcribed; what mp3 would save
:mod:`.reconciliation`    journal against callbacks: missing, unexpected, overdue
:mod:`.quality`           durations and times that contradict themselves or the clock
:mod:`.selection`         a time range and some conferences
:mod:`.retention`         what a keep-N-days policy deletes and saves in storage
:mod:`.forecast`          this month's spend so far, its run rate to month-end, against
                          the same days of the previous month
:mod:`.search`            what was said: transcript search with snippets, keyword counts
                          per conference or day
:mod:`.chargeback`        cost by team: the ``team`` column, each team's figures, a team
                          filter (teams from :mod:`recording_toolkit.teams`)
========================  ==============================================================

Importing this package registers the ``df.rec`` accessor (:class:`RecAccessor`): every public
function here is also a method of a frame that has its columns.

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit import analytics, schema
>>> recordings = schema.coerce(pd.DataFrame({"recording_id": ["a", "b"],
...                                          "recording_duration_ms": [22_780, 61_000]}),
...                            schema.RECORDINGS)
>>> analytics.duration_summary(recordings)["billed_minutes"]        # 1 + 2
3
"""

from __future__ import annotations

from ._accessor import RecAccessor, accessor_methods
from .billing import (
    audit_counts,
    billing_audit,
    billing_by_day,
    billing_mismatches,
    rate_mismatches,
)
from .chargeback import allocate, select_teams, team_costs
from .cost import (
    charge_total,
    charges_over_time,
    conference_totals,
    effective_price_per_minute,
    monthly_costs,
    projection_start,
    storage_outlook,
    storage_projection,
    top_conferences,
    transcription_charges,
)
from .durations import (
    billed_minutes,
    duration_distribution,
    duration_stats,
    duration_summary,
    minutes_over_time,
    rounding_overhead,
)
from .eligibility import eligibility_vs_outcome, transcription_eligibility, wav_to_mp3_savings
from .forecast import spend_forecast
from .outcomes import (
    outcome_counts,
    transcription_counts,
    transcription_coverage,
    transcription_errors,
    transcription_rate_stats,
    transcription_success_rate,
)
from .quality import QUALITY_CHECKS, data_quality, quality_counts
from .reconciliation import (
    Reconciliation,
    missing_recording_callbacks,
    missing_transcriptions,
    reconcile,
    unexpected_callbacks,
)
from .retention import RetentionPlan, retention_plan
from .search import keyword_counts, search_selection, search_transcripts
from .selection import select
from .turnaround import turnaround_distribution, turnaround_seconds, turnaround_stats

__all__ = [  # every public function here is also a method of df.rec (generated below)
    "QUALITY_CHECKS",
    "allocate",
    "audit_counts",
    "billed_minutes",
    "billing_audit",
    "billing_by_day",
    "billing_mismatches",
    "charge_total",
    "charges_over_time",
    "conference_totals",
    "data_quality",
    "duration_distribution",
    "duration_stats",
    "duration_summary",
    "effective_price_per_minute",
    "eligibility_vs_outcome",
    "keyword_counts",
    "minutes_over_time",
    "missing_recording_callbacks",
    "missing_transcriptions",
    "monthly_costs",
    "outcome_counts",
    "projection_start",
    "quality_counts",
    "rate_mismatches",
    "RecAccessor",
    "reconcile",
    "Reconciliation",
    "retention_plan",
    "RetentionPlan",
    "rounding_overhead",
    "search_selection",
    "search_transcripts",
    "select",
    "select_teams",
    "spend_forecast",
    "storage_outlook",
    "storage_projection",
    "team_costs",
    "top_conferences",
    "transcription_charges",
    "transcription_counts",
    "transcription_coverage",
    "transcription_eligibility",
    "transcription_errors",
    "transcription_rate_stats",
    "transcription_success_rate",
    "turnaround_distribution",
    "turnaround_seconds",
    "turnaround_stats",
    "unexpected_callbacks",
    "wav_to_mp3_savings",
]


accessor_methods(globals()[name] for name in __all__)
