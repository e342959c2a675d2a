"""One summary of loaded callback logs, shared by the CLI, notebooks, the dashboard and the HTML report.

:func:`summarize` turns a :class:`~recording_toolkit.load.LoadResult` (pandas or Dask) into a
:class:`Summary`:

- ``to_dict()`` / ``to_json()``: the stable figures (the keys below, documented in the README;
  floats rounded to 6 decimals, None where a figure is undefined, e.g. a rate over nothing);
- ``details``: further figures that depend on the rate card and the journal (cost, billing audit,
  eligibility, reconciliation, data quality), also plain data;
- ``tables``: every table behind them, as pandas DataFrames (``--csv`` writes each one);
  ``details`` and ``tables`` are computed on first use, so showing the stable figures stays cheap;
- ``_repr_html_()``: the key figures as a table in a notebook.

Stable keys (``to_dict()``), each defined over the deduplicated frames::

    source.files, source.lines, source.quarantined, source.duplicates
    recordings.count, recordings.conferences, recordings.total_minutes, recordings.billed_minutes
    recordings.duration_seconds.{mean, median, p95, max}, recordings.by_format.{mp3, wav}
    transcriptions.received, .succeeded, .failed, .success_rate, .coverage, .charge_total,
    transcriptions.errors, transcriptions.turnaround_seconds.{median, p95}

:func:`write_html` writes a self-contained HTML file (charts as embedded PNG) from a summary or a
load result.

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

import base64
import html
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import pandas as pd

from .. import analytics
from .._version import __version__
from ..analytics._common import compute, distinct, is_dask, round6, to_pandas
from ..config import RateCard

__all__ = ["SUMMARY_KEYS", "Summary", "render_html", "summarize", "write_csv", "write_html"]

#: Every stable key of :meth:`Summary.to_dict`, dotted, in order.
SUMMARY_KEYS = (
    "source.files", "source.lines", "source.quarantined", "source.duplicates",
    "recordings.count", "recordings.conferences", "recordings.total_minutes",
    "recordings.billed_minutes", "recordings.duration_seconds.mean",
    "recordings.duration_seconds.median", "recordings.duration_seconds.p95",
    "recordings.duration_seconds.max", "recordings.by_format.mp3", "recordings.by_format.wav",
    "transcriptions.received", "transcriptions.succeeded", "transcriptions.failed",
    "transcriptions.success_rate", "transcriptions.coverage", "transcriptions.charge_total",
    "transcriptions.errors", "transcriptions.turnaround_seconds.median",
    "transcriptions.turnaround_seconds.p95",
)


def _plain(value: Any) -> Any:
    """Numbers as JSON-ready Python values: floats rounded to 6 decimals, NaN/NA as None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, pd.Timedelta):
        return round6(value.total_seconds())
    if isinstance(value, pd.Timestamp | datetime):
        return None if pd.isna(value) else value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round6(value)
    if value is pd.NA:
        return None
    return value


def _stats_dict(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    return stats.to_dict() if hasattr(stats, "to_dict") else dict(stats)


@dataclass(frozen=True)
class _Inputs:
    """What :func:`summarize` was given, kept for the figures computed on first use."""

    recordings: Any
    transcriptions: Any
    quarantine: Any
    journal: pd.DataFrame | None
    selection: dict[str, Any]
    now: pd.Timestamp
    threshold: Any
    turnaround: dict[str, Any]


@dataclass(frozen=True)
class Summary:
    """The figures of one selection of callback logs (see the module docstring).

    The stable figures are computed by :func:`summarize`; ``details`` and ``tables`` on first
    use (a dashboard that shows only the stable figures never pays for them).

    Attributes
    ----------
    data
        The stable figures, nested (``data["recordings"]["count"]``); :meth:`to_dict`.
    rates
        The rate card the cost figures use.
    engine
        The engine the frames were on (``"pandas"`` or ``"dask"``).
    """

    data: dict[str, Any]
    rates: RateCard
    engine: str = "pandas"
    generated_at: str = ""
    _inputs: _Inputs | None = field(default=None, repr=False, compare=False)

    @cached_property
    def frames(self) -> dict[str, Any]:
        """The selected ``recordings`` and ``transcriptions`` (pandas) and the ``journal``."""
        inputs = self._require_inputs()
        return {"recordings": to_pandas(inputs.recordings),
                "transcriptions": to_pandas(inputs.transcriptions), "journal": inputs.journal}

    @cached_property
    def _extras(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        return _details_and_tables(self, self._require_inputs())

    @property
    def details(self) -> dict[str, Any]:
        """Further figures (``rates``, ``selection``, ``cost``, ``billing``,
        ``transcription_rate``, ``turnaround``, ``eligibility``, ``quality``,
        ``backfilled_recordings``, ``reconciliation``), plain data."""
        return self._extras[0]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> pandas DataFrame: every table behind the figures."""
        return self._extras[1]

    def _require_inputs(self) -> _Inputs:
        if self._inputs is None:
            raise ValueError("this Summary holds only its figures (no frames): make it with"
                             " summarize()")
        return self._inputs

    def to_dict(self, *, details: bool = False) -> dict[str, Any]:
        """The stable figures as plain data (a fresh copy); with ``details`` also ``details``."""
        data = json.loads(json.dumps(self.data))
        if details:
            data["details"] = json.loads(json.dumps(self.details))
        return data

    def to_json(self, *, indent: int | None = 2, details: bool = False) -> str:
        """:meth:`to_dict` as JSON text (keys in the documented order)."""
        return json.dumps(self.to_dict(details=details), indent=indent, ensure_ascii=False)

    def get(self, dotted: str) -> Any:
        """One figure by its dotted key, e.g. ``summary.get("recordings.count")``."""
        value: Any = self.data
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                raise KeyError(f"{dotted!r} is not a key of the summary")
            value = value[part]
        return value

    def __repr__(self) -> str:
        r, t = self.data["recordings"], self.data["transcriptions"]
        return (f"<Summary {r['count']:,} recordings in {r['conferences']:,} conferences,"
                f" {r['total_minutes']:,.1f} min; {t['received']:,} transcriptions,"
                f" success rate {_percent(t['success_rate'])},"
                f" coverage {_percent(t['coverage'])}>")

    def _repr_html_(self) -> str:
        return (f"<div><strong>Summary</strong> ({html.escape(self.engine)})"
                f"{_figures_table(self)}</div>")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _choose(result: Any, since: Any, until: Any, conferences: Iterable[str] | None
            ) -> tuple[Any, Any]:
    return analytics.select(result.recordings, result.transcriptions, since=since, until=until,
                            conferences=None if conferences is None else list(conferences))


def _stable(stats: Mapping[str, Any], recordings: Any, transcriptions: Any,
            turnaround: Mapping[str, Any]) -> dict[str, Any]:
    durations = analytics.duration_summary(recordings)
    counts = analytics.transcription_counts(transcriptions)
    (formats,) = compute(recordings["file_format"].value_counts())
    conferences = distinct(recordings["conference_name"])
    formats = {str(k): int(v) for k, v in formats.items()}
    return _plain({
        "source": {key: int(stats.get(key, 0)) for key in
                   ("files", "lines", "quarantined", "duplicates")},
        "recordings": {
            "count": durations["count"],
            "conferences": int(conferences),
            "total_minutes": durations["total_minutes"],
            "billed_minutes": durations["billed_minutes"],
            "duration_seconds": {"mean": durations["mean_seconds"],
                                 "median": durations["median_seconds"],
                                 "p95": durations["p95_seconds"],
                                 "max": durations["max_seconds"]},
            "by_format": {"mp3": formats.get("mp3", 0), "wav": formats.get("wav", 0)},
        },
        "transcriptions": {
            **counts,
            "success_rate": analytics.transcription_success_rate(transcriptions, counts=counts),
            "coverage": analytics.transcription_coverage(recordings, transcriptions),
            "charge_total": analytics.charge_total(transcriptions),
            "errors": analytics.transcription_errors(transcriptions),
            "turnaround_seconds": {"median": turnaround["median_seconds"],
                                   "p95": turnaround["p95_seconds"]},
        },
    })


#: The Conferences row of transcriptions whose recording callback is not in the logs (so their
#: conference is not known): there so the charges add up, not counted as a conference.
NO_RECORDING_CALLBACK = "(no recording callback)"


def _by_conference(recordings: pd.DataFrame, transcriptions: pd.DataFrame) -> pd.DataFrame:
    stats = analytics.duration_stats(recordings, by="conference_name")
    charges = analytics.transcription_charges(transcriptions, recordings, by="conference") \
        .rename(index={"(unknown)": NO_RECORDING_CALLBACK})
    out = stats.join(charges.rename(columns={"charge": "transcription_charge"}), how="outer")
    out[["transcriptions", "failed"]] = out[["transcriptions", "failed"]].fillna(0).astype(int)
    out["recordings"] = out["recordings"].fillna(0).astype(int)
    out["transcription_charge"] = out["transcription_charge"].fillna(0.0)
    return out.sort_values(["transcription_charge", "total_minutes"], ascending=False,
                           kind="stable")


def _by_day(recordings: pd.DataFrame, transcriptions: pd.DataFrame) -> pd.DataFrame:
    minutes = analytics.minutes_over_time(recordings, "D")
    charges = analytics.transcription_charges(transcriptions, by="day")["charge"]
    out = minutes.join(charges.rename("transcription_charge"), how="outer")
    out.index.name = "day"
    out["recordings"] = out["recordings"].fillna(0).astype(int)
    return out.fillna(0.0)


def _details_and_tables(summary: Summary, inputs: _Inputs
                        ) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Everything past the stable figures, on pandas (the frames hold one row per recording)."""
    rates, data = summary.rates, summary.data
    rec, tr = summary.frames["recordings"], summary.frames["transcriptions"]
    journal = inputs.journal
    tables: dict[str, pd.DataFrame] = {}
    tables["by_conference"] = _by_conference(rec, tr)
    tables["by_day"] = _by_day(rec, tr)
    tables["by_format"] = analytics.duration_stats(rec, by="file_format")
    tables["transcription_errors"] = pd.DataFrame(
        list(data["transcriptions"]["errors"].items()), columns=["error", "recordings"])
    audit = analytics.billing_audit(tr, rec, rates=rates)
    tables["billing_audit"] = audit  # the chart, the counts and the CSV: one population
    tables["billing_mismatches"] = analytics.billing.mismatches_in(audit)
    tables["rate_mismatches"] = analytics.rate_mismatches(tr, rates)
    tables["monthly_costs"] = analytics.monthly_costs(rec, tr, rates=rates)
    projection = analytics.storage_projection(rec, rates=rates, months=12, now=inputs.now)
    tables["storage_projection"] = projection
    eligibility = analytics.transcription_eligibility(rec)
    tables["eligibility_vs_outcome"] = analytics.eligibility_vs_outcome(rec, tr)
    findings = analytics.data_quality(rec, tr, now=inputs.now)
    tables["data_quality"] = findings
    if inputs.quarantine is not None:
        tables["quarantine"] = to_pandas(inputs.quarantine)
    reconciliation = None
    if journal is not None:
        options = {} if inputs.threshold is None else {"threshold": inputs.threshold}
        reconciliation = analytics.reconcile(rec, tr, journal, **options)
        tables["missing_recording_callbacks"] = reconciliation.missing_recording_callbacks
        tables["unexpected_callbacks"] = reconciliation.unexpected_callbacks
        tables["missing_transcriptions"] = reconciliation.missing_transcriptions

    versus = tables["eligibility_vs_outcome"]
    details = _plain({
        "rates": rates.as_dict(),
        "selection": inputs.selection,
        "cost": {
            "charge_total": data["transcriptions"]["charge_total"],
            "expected_charge_total": float(audit["expected_charge"].sum()),
            "effective_price_per_minute": analytics.effective_price_per_minute(tr, rec),
            "storage_cost_next_month": float(projection["cost"].iloc[0]),
            "storage_cost_next_12_months": float(projection["cost"].sum()),
        },
        "billing": {"audited": len(audit), "mismatches": len(tables["billing_mismatches"]),
                    # no expected or no charged amount: audited, but not drawn on the chart
                    "unchecked": int(audit[["expected_charge", "transcription_charge"]]
                                     .isna().any(axis=1).sum()),
                    "tolerance": analytics.billing.DEFAULT_TOLERANCE,
                    # the callback's own price against the rate card's
                    "card_rate": rates.transcription_per_minute,
                    "rate_mismatches": len(tables["rate_mismatches"])},
        "transcription_rate": analytics.transcription_rate_stats(tr),
        "turnaround": inputs.turnaround,
        "eligibility": {
            "predicted_ineligible": int((eligibility["eligible"] == False).sum()),  # noqa: E712
            "predictions_checked": int(versus["recordings"].sum()),
            "predictions_wrong": int(versus.loc[~versus["agree"], "recordings"].sum()),
            "wav_to_mp3": analytics.wav_to_mp3_savings(rec),
        },
        "quality": analytics.quality_counts(findings),
        # recovered from the Recording list API; counted as recordings everywhere above
        "backfilled_recordings": int(rec["backfilled"].astype("boolean").fillna(False).sum())
        if "backfilled" in rec.columns else 0,
        "reconciliation": None if reconciliation is None else reconciliation.counts(),
    })
    return details, tables


def summarize(result: Any, *, rates: RateCard | None = None, journal: Any = None,
              since: Any = None, until: Any = None, conferences: Iterable[str] | None = None,
              now: Any = None, transcription_threshold: Any = None) -> Summary:
    """The summary of a load result (see the module docstring for what it holds).

    Parameters
    ----------
    result
        A :class:`~recording_toolkit.load.LoadResult` (``recordings``, ``transcriptions``,
        ``quarantine``, ``stats``; pandas or Dask frames).
    rates
        The rate card for expected charges and storage cost (default: :class:`RateCard`'s
        documented defaults).
    journal
        The request journal (a ``load.load_journal`` frame, or a path): adds reconciliation.
    since, until, conferences
        Only recordings started in ``[since, until)`` in these conferences, and their
        transcriptions (:func:`recording_toolkit.analytics.select`). ``source.*`` still
        describes everything that was read.
    now
        The present, for the storage projection and future-dated callbacks (default: the
        current time). Reconciliation judges a log as of its own latest callback.
    transcription_threshold
        How long a requested transcription may take before it counts as missing (default
        :data:`recording_toolkit.analytics.reconciliation.DEFAULT_TRANSCRIPTION_THRESHOLD`).
    """
    rates = rates or RateCard()
    conferences = None if conferences is None else list(conferences)
    engine = getattr(result, "engine", "dask" if is_dask(result.recordings) else "pandas")
    recordings, transcriptions = _choose(result, since, until, conferences)
    if is_dask(recordings):
        # Every figure below is one more computation over the frames: read the logs once
        # (the frames hold one row per recording, so they fit where the cluster computes).
        recordings, transcriptions = recordings.persist(), transcriptions.persist()
    stats = _stats_dict(getattr(result, "stats", None))
    turnaround = analytics.turnaround_stats(recordings, transcriptions)
    data = _stable(stats, recordings, transcriptions, turnaround)
    now_ts = pd.Timestamp.now(tz="UTC") if now is None else analytics._common.utc(now)
    if journal is not None and not isinstance(journal, pd.DataFrame):
        from ..load import load_journal

        journal = load_journal(journal)  # now, so that a bad journal fails here
    selection = {"since": None if since is None else str(since),
                 "until": None if until is None else str(until),
                 "conferences": None if conferences is None else sorted(conferences)}
    inputs = _Inputs(recordings=recordings, transcriptions=transcriptions,
                     quarantine=getattr(result, "quarantine", None), journal=journal,
                     selection=selection, now=now_ts, threshold=transcription_threshold,
                     turnaround=turnaround)
    return Summary(data=data, rates=rates, engine=engine,
                   generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   _inputs=inputs)


# HTML ----------------------------------------------------------------------------------------

_FIGURES = [
    ("Recordings", "recordings.count", "{:,}"),
    ("Conferences", "recordings.conferences", "{:,}"),
    ("Recorded minutes", "recordings.total_minutes", "{:,.1f}"),
    ("Billed minutes", "recordings.billed_minutes", "{:,}"),
    ("Mean duration", "recordings.duration_seconds.mean", "{:,.1f} s"),
    ("Median duration", "recordings.duration_seconds.median", "{:,.1f} s"),
    ("p95 duration", "recordings.duration_seconds.p95", "{:,.1f} s"),
    ("Longest recording", "recordings.duration_seconds.max", "{:,.1f} s"),
    ("mp3 recordings", "recordings.by_format.mp3", "{:,}"),
    ("wav recordings", "recordings.by_format.wav", "{:,}"),
    ("Transcriptions received", "transcriptions.received", "{:,}"),
    ("Transcriptions succeeded", "transcriptions.succeeded", "{:,}"),
    ("Transcriptions failed", "transcriptions.failed", "{:,}"),
    ("Transcription success rate", "transcriptions.success_rate", "{:.1%}"),
    ("Transcription coverage", "transcriptions.coverage", "{:.1%}"),
    ("Transcription charges", "transcriptions.charge_total", "{:,.2f}"),
    ("Median turnaround", "transcriptions.turnaround_seconds.median", "{:,.0f} s"),
    ("p95 turnaround", "transcriptions.turnaround_seconds.p95", "{:,.0f} s"),
    ("Files read", "source.files", "{:,}"),
    ("Lines read", "source.lines", "{:,}"),
    ("Lines quarantined", "source.quarantined", "{:,}"),
    ("Duplicates dropped", "source.duplicates", "{:,}"),
]

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


def _fmt(value: Any, spec: str = "{}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    try:
        return spec.format(value)
    except (TypeError, ValueError):
        return str(value)


def _figures_table(summary: Summary) -> str:
    currency = summary.rates.currency
    rows = []
    for label, key, spec in _FIGURES:
        if key == "transcriptions.charge_total":
            label = f"{label} ({currency})"
        rows.append(f"<tr><th>{html.escape(label)}</th><td class='n'>"
                    f"{html.escape(_fmt(summary.get(key), spec))}</td>"
                    f"<td class='note'><code>{html.escape(key)}</code></td></tr>")
    return "<table>" + "".join(rows) + "</table>"


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


def _png(draw: Callable[[Any], Any], size: tuple[float, float] = (7.0, 4.0)) -> str:
    """A chart drawn by ``draw(ax)`` on its own Figure (no pyplot state), as a data URL."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    draw(figure.subplots())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _charts(summary: Summary) -> list[tuple[str, str]]:
    from .. import plots
    from ..load import join_recordings

    rec = summary.frames["recordings"]
    tr = summary.frames["transcriptions"]
    joined = join_recordings(rec, tr, journal=summary.frames["journal"])
    currency = summary.rates.currency
    draws: list[tuple[str, Callable[[Any], Any], tuple[float, float]]] = [
        ("Recorded and billed minutes per day",
         lambda ax: plots.plot_minutes_per_day(rec, ax=ax), (7.0, 4.0)),
        ("Transcription charges per day",
         lambda ax: plots.plot_cost_per_day(tr, ax=ax, currency=currency), (7.0, 4.0)),
        ("Recording durations", lambda ax: plots.plot_duration_distribution(rec, ax=ax, log=True),
         (7.0, 4.0)),
        ("Top conferences by transcription cost",
         lambda ax: plots.plot_top_conferences(joined, ax=ax, currency=currency), (7.0, 4.0)),
        ("Transcription outcomes", lambda ax: plots.plot_transcription_outcomes(joined, ax=ax),
         (9.0, 4.0)),
        ("Transcription turnaround", lambda ax: plots.plot_turnaround(joined, ax=ax), (7.0, 4.0)),
        ("Billing audit", lambda ax: plots.plot_billing_audit(summary.tables["billing_audit"],
                                                              ax=ax, currency=currency),
         (5.5, 5.0)),
        ("Storage cost projection",
         lambda ax: plots.plot_storage_projection(rec, ax=ax, rates=summary.rates),
         (7.0, 4.0)),
    ]
    return [(title, _png(draw, size)) for title, draw, size in draws]


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


def write_csv(summary: Summary, folder: str | os.PathLike[str]) -> dict[str, str]:
    """Write every table of ``summary`` as ``<name>.csv`` into ``folder``; the paths by name.

    Floats are rounded to 6 decimals, as in the JSON summary, so a CSV shows 11.2 rather than
    the 11.200000000000003 that summing minutes leaves behind.
    """
    os.makedirs(folder, exist_ok=True)
    written = {}
    for name, frame in summary.tables.items():
        target = os.path.join(os.fspath(folder), f"{name}.csv")
        keep_index = not isinstance(frame.index, pd.RangeIndex)
        floats = frame.select_dtypes(include=["floating"]).columns
        frame = frame.assign(**{str(c): frame[c].round(6) for c in floats}) if len(floats) \
            else frame
        frame.to_csv(target, index=keep_index)
        written[name] = target
    return written
