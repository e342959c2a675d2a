"""Cost by team for a summary: each team's figures, as JSON and as the report's section.

:func:`cost_by_team` takes a :class:`~recording_toolkit.report.Summary` and teams and gives a
:class:`TeamCosts`: the per-team table (:func:`recording_toolkit.analytics.team_costs` over the
summary's own selection, rate card and ``now``), ``to_dict()`` for ``report --teams FILE
--json`` (team -> ``recordings``, ``billed_minutes``, ``transcription_charge``, the summary's
own definitions, so the teams add up to ``recordings.count``, ``recordings.billed_minutes`` and
``transcriptions.charge_total``) and :func:`team_section`, the HTML section.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import analytics
from .. import formatting as fmt
from ..analytics.engine import round6
from ..teams import UNALLOCATED, Teams

if TYPE_CHECKING:
    from ._summary import Summary

__all__ = ["TEAM_KEYS", "TeamCosts", "cost_by_team"]

#: Each team's keys in ``report --teams FILE --json`` (its top-level ``teams`` object).
TEAM_KEYS = ("recordings", "billed_minutes", "transcription_charge")


@dataclass(frozen=True)
class TeamCosts:
    """The figures of each team for one summary.

    Attributes
    ----------
    teams
        The teams, in file order.
    table
        :func:`recording_toolkit.analytics.team_costs`: one row per team (every team of the
        file, then ``Unallocated`` when anything fell to it).
    currency
        The rate card's currency, for display.
    """

    teams: Teams
    table: pd.DataFrame
    currency: str = "USD"

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Team -> ``{"recordings", "billed_minutes", "transcription_charge"}`` (JSON-ready;
        money rounded to 6 decimals as the summary's)."""
        return {str(team): {"recordings": int(row["recordings"]),
                            "billed_minutes": int(row["billed_minutes"]),
                            "transcription_charge": round6(row["transcription_charge"])}
                for team, row in self.table.iterrows()}

    def details(self) -> dict[str, Any]:
        """Every column of :attr:`table` per team, with the teams file and its patterns."""
        rows = {str(team): {str(k): (int(v) if k in ("recordings", "billed_minutes",
                                                     "transcriptions") else round6(v))
                            for k, v in row.items()}
                for team, row in self.table.iterrows()}
        return {"source": self.teams.source, "patterns": self.teams.as_dict(), "by_team": rows}


def cost_by_team(summary: Summary, teams: Any) -> TeamCosts:
    """Each team's figures over ``summary``'s selection (see the module docstring).

    ``teams`` is :class:`~recording_toolkit.teams.Teams`, ``{team: [glob, ...]}`` or a teams
    file's path.

    Examples
    --------
    >>> import pandas as pd
    >>> from recording_toolkit import schema
    >>> from recording_toolkit.load import LoadResult
    >>> from recording_toolkit.report import summarize
    >>> rec = schema.coerce(pd.DataFrame({
    ...     "recording_id": ["a", "b"], "conference_name": ["legal-calls", "hr-sync"],
    ...     "recording_duration_ms": [61_000, 30_000]}), schema.RECORDINGS)
    >>> tr = schema.coerce(pd.DataFrame({"recording_id": ["a", "x"],
    ...                                  "transcription_charge": [0.10, 0.05]}),
    ...                    schema.TRANSCRIPTIONS)
    >>> summary = summarize(LoadResult(rec, tr, schema.empty(schema.QUARANTINE)))
    >>> cost_by_team(summary, {"Legal": ["legal-*"]}).to_dict()
    {'Legal': {'recordings': 1, 'billed_minutes': 2, 'transcription_charge': 0.1}, \
'Unallocated': {'recordings': 1, 'billed_minutes': 1, 'transcription_charge': 0.05}}
    """
    chosen = analytics.chargeback.as_teams(teams)
    frames = summary.frames
    inputs = summary._inputs
    now = None if inputs is None else inputs.given_now
    table = analytics.team_costs(frames["recordings"], frames["transcriptions"], chosen,
                                 rates=summary.rates, now=now)
    return TeamCosts(teams=chosen, table=table, currency=summary.rates.currency)


def _share(part: float, whole: float) -> str:
    return fmt.percent(part / whole) if whole else fmt.MISSING


def team_section(costs: TeamCosts) -> str:
    """The report's "Cost by team" section body: the table, then how teams were assigned."""
    t, cur = costs.table, costs.currency
    charge_total = float(t["transcription_charge"].sum())
    storage_total = float(t["storage_cost_next_12_months"].sum())
    head = ("<tr><th scope='col'>Team</th><th scope='col' class='n'>Recordings</th>"
            "<th scope='col' class='n'>Billed minutes</th>"
            "<th scope='col' class='n'>Transcriptions</th>"
            "<th scope='col' class='n'>Transcription charges</th>"
            "<th scope='col' class='n'>Share of charges</th>"
            "<th scope='col' class='n'>Storage, next month</th>"
            "<th scope='col' class='n'>Storage, next 12 months</th></tr>")

    def row(name: str, r: Any, *, total: bool = False) -> str:
        cells = [fmt.count(r["recordings"]), fmt.count(r["billed_minutes"]),
                 fmt.count(r["transcriptions"]), fmt.money(r["transcription_charge"], cur),
                 _share(float(r["transcription_charge"]), charge_total),
                 fmt.money(r["storage_cost_next_month"], cur),
                 fmt.money(r["storage_cost_next_12_months"], cur)]
        label = f"<strong>{html.escape(name)}</strong>" if total else html.escape(name)
        css = " class='total'" if total else ""
        return (f"<tr{css}><th scope='row'>{label}</th>"
                + "".join(f"<td class='n'>{html.escape(c)}</td>" for c in cells) + "</tr>")

    body = [row(str(team), r) for team, r in t.iterrows()]
    body.append(row("All teams", t.sum(numeric_only=True), total=True))
    patterns = "".join(
        f"<li><strong>{html.escape(team)}</strong>: "
        + ", ".join(f"<code>{html.escape(p)}</code>" for p in globs) + "</li>"
        for team, globs in costs.teams.as_dict().items())
    patterns += (f"<li><strong>{UNALLOCATED}</strong>: every other conference, and recordings"
                 " with no conference name</li>")
    notes = [
        f"Teams from <code>{html.escape(costs.teams.source)}</code>, matched against each"
        " recording's conference name in the order listed (the rows' order); the first match"
        " wins, so each"
        f" recording is counted once. {UNALLOCATED} holds the recordings no pattern matches"
        " and the transcriptions whose recording callback never came (their conference is"
        " not known), so the teams add up to the report's totals.",
        "Storage is projected as in the Cost section, every recording kept. The CSV file"
        " <code>by_team.csv</code> (<code>--csv</code>) holds these rows with raw values.",
    ]
    if storage_total == 0 and len(t):
        notes.append("No storage is charged in the coming 12 months: every recording is still"
                     " in its free days.")
    elif len(t) and float(t["storage_cost_next_month"].sum()) == 0:
        notes.append("No storage is charged next month: every recording is still in its"
                     " free days then.")
    return (f"<table class='teams'><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
            + "".join(f"<p class='note'>{n}</p>" for n in notes)
            + f"<h3 id='team-patterns'>Patterns, in the order they are tried</h3>"
            f"<ol class='patterns'>{patterns}</ol>")
