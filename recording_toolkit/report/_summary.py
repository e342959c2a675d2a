"""How the figures are computed: :func:`summarize` and the :class:`Summary` it returns.

The stable figures (:data:`SUMMARY_KEYS`) are computed by :func:`summarize`; ``details`` and
``tables`` only on first use, so a dashboard that shows only the stable figures never pays for
the billing audit, eligibility or reconciliation. Kept apart from the writers (``_html``,
``_csv``): they only read a :class:`Summary`, and nothing here knows about HTML or files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import pandas as pd

from .. import analytics, formatting
from ..analytics.engine import compute, distinct, is_dask, round6, to_pandas, utc
from ..config import RateCard
from ._figures import summary_html

__all__ = ["NO_RECORDING_CALLBACK", "SUMMARY_KEYS", "Summary", "summarize"]

#: The load's counts under ``source``: always all of them, so the JSON keeps one shape
#: (``test_callbacks``: the marked test callbacks the loader left out, usually 0).
SOURCE_COUNTS = ("files", "lines", "quarantined", "duplicates", "test_callbacks")

#: Every stable key of :meth:`Summary.to_dict`, dotted, in order.
SUMMARY_KEYS = (
    "source.files", "source.lines", "source.quarantined", "source.duplicates",
    "source.test_callbacks",
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
    #: the load result before the selection: the report's headline compares the selection
    #: with the period just before it
    source: Any = None
    #: ``now`` as given (None: not given), for where the storage projection starts: the data's
    #: latest recording unless told otherwise, as the Dashboard and the notebooks have it.
    given_now: pd.Timestamp | None = None
    #: on Dask, which stable quantiles are approximate and how close (None: all exact)
    quantiles: dict[str, Any] | None = None


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
        ``backfilled_recordings``, ``reconciliation``, ``forecast``; on Dask, when a median or
        95th percentile is approximate, ``quantiles``: which, and how close), plain data."""
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
        return (f"<Summary {formatting.counted(r['count'], 'recording')} in"
                f" {formatting.counted(r['conferences'], 'conference')},"
                f" {r['total_minutes']:,.1f} min;"
                f" {formatting.counted(t['received'], 'transcription')},"
                f" success rate {_percent(t['success_rate'])},"
                f" coverage {_percent(t['coverage'])}>")

    def _repr_html_(self) -> str:
        return summary_html(self)


def _percent(value: float | None) -> str:
    return formatting.percent(value)


def _choose(result: Any, since: Any, until: Any, conferences: Iterable[str] | None
            ) -> tuple[Any, Any]:
    return analytics.select(result.recordings, result.transcriptions, since=since, until=until,
                            conferences=None if conferences is None else list(conferences))


def _source(stats: Mapping[str, Any]) -> dict[str, int]:
    return {key: int(stats.get(key, 0)) for key in SOURCE_COUNTS}


def _stable(stats: Mapping[str, Any], recordings: Any, transcriptions: Any,
            turnaround: Mapping[str, Any]) -> dict[str, Any]:
    durations = analytics.duration_summary(recordings)
    counts = analytics.transcription_counts(transcriptions)
    (formats,) = compute(recordings["file_format"].value_counts())
    conferences = distinct(recordings["conference_name"])
    formats = {str(k): int(v) for k, v in formats.items()}
    return _plain({
        "source": _source(stats),
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


def _forecast_details(forecast: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`analytics.spend_forecast` as plain data: its per-conference frame as rows."""
    table = forecast["by_conference"]
    rows = [{"conference_name": str(name), **row} for name, row in
            zip(table.index, table.to_dict(orient="records"), strict=True)]
    return {**{k: v for k, v in forecast.items() if k != "by_conference"},
            "by_conference": rows}


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
    projection = analytics.storage_projection(rec, rates=rates, months=12,
                                              now=inputs.given_now)
    tables["storage_projection"] = projection
    forecast = analytics.spend_forecast(rec, tr, now=inputs.given_now, rates=rates)
    forecast["by_conference"] = forecast["by_conference"].rename(
        index={analytics.cost.UNKNOWN_CONFERENCE: NO_RECORDING_CALLBACK})
    tables["forecast_by_conference"] = forecast["by_conference"]
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
                    "unchecked": analytics.audit_counts(audit)["unchecked"],
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
        # this month to date, its run-rate month-end, the same days of last month
        # (analytics.spend_forecast: as of ``now`` when given, else the latest callback)
        "forecast": _forecast_details(forecast),
    })
    if inputs.quantiles is not None:
        details["quantiles"] = inputs.quantiles  # approximate ones (Dask): how, and which
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
        The present, for future-dated callbacks (default: the current time) and the storage
        projection's first month (default: the month of the latest recording,
        :func:`recording_toolkit.analytics.projection_start`) and the forecast's moment
        (default: the latest callback, :func:`recording_toolkit.analytics.spend_forecast`).
        Reconciliation judges a log as of its own latest callback.
    transcription_threshold
        How long a requested transcription may take before it counts as missing (default
        :data:`recording_toolkit.analytics.reconciliation.DEFAULT_TRANSCRIPTION_THRESHOLD`).
    """
    rates = rates or RateCard()
    conferences = None if conferences is None else list(conferences)
    engine = getattr(result, "engine", "dask" if is_dask(result.recordings) else "pandas")
    recordings, transcriptions = _choose(result, since, until, conferences)
    stats = _stats_dict(getattr(result, "stats", None))
    if is_dask(recordings):
        # reductions in one pass over the frames, which may be larger than the cluster's memory
        from ._dask_summary import stable_figures

        data, turnaround, quantiles = stable_figures(stats, recordings, transcriptions)
        data = _plain({**data, "source": _source(stats)})  # the same counts as on pandas
    else:
        quantiles = None
        turnaround = analytics.turnaround_stats(recordings, transcriptions)
        data = _stable(stats, recordings, transcriptions, turnaround)
    now_ts = pd.Timestamp.now(tz="UTC") if now is None else utc(now)
    if journal is not None and not isinstance(journal, pd.DataFrame):
        from ..load import load_journal

        journal = load_journal(journal)  # now, so that a bad journal fails here
    selection = {"since": None if since is None else str(since),
                 "until": None if until is None else str(until),
                 "conferences": None if conferences is None else sorted(conferences)}
    inputs = _Inputs(recordings=recordings, transcriptions=transcriptions,
                     quarantine=getattr(result, "quarantine", None), journal=journal,
                     selection=selection, now=now_ts, threshold=transcription_threshold,
                     turnaround=turnaround, source=result,
                     given_now=None if now is None else now_ts, quantiles=quantiles)
    return Summary(data=data, rates=rates, engine=engine,
                   generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   _inputs=inputs)
