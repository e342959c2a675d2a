"""Cost by team: who pays for which recordings, transcriptions and storage.

A teams file (:mod:`recording_toolkit.teams`) maps conference-name globs to teams, first match
wins. :func:`allocate` adds the ``team`` column to a frame; :func:`team_costs` gives each team's
recordings, minutes, transcription charges and storage projection, with the summary's own
definitions, so the teams add up to the report's totals: a transcription is charged to its
recording's team, and to ``Unallocated`` when its recording callback never came.
:func:`select_teams` keeps the recordings (and their transcriptions) of some teams.

For a widget (a team filter, a per-team chart) on a selection::

    rec, tr = analytics.select(recordings, transcriptions, since=..., conferences=...)
    rec, tr = analytics.select_teams(rec, tr, teams, ["Legal"])   # the team filter
    table = analytics.team_costs(rec, tr, teams, rates=rates)       # one row per team

Every function takes the teams as a :class:`~recording_toolkit.teams.Teams`, a mapping
``{team: [glob, ...]}`` or the path of a teams file.

Examples
--------
>>> import pandas as pd
>>> rec = pd.DataFrame({"recording_id": ["a", "b", "c"],
...                     "conference_name": ["legal-calls", "hr-sync", "legal-interviews"]})
>>> allocate(rec, {"Hiring": ["*-interviews"], "Legal": ["legal-*"]})["team"].tolist()
['Legal', 'Unallocated', 'Hiring']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .. import rules
from ..config import RateCard
from ..teams import UNALLOCATED, Teams, load_teams
from ._common import is_dask, lookup, needs, require, to_pandas
from .cost import projection_start, storage_projection

__all__ = ["TEAM_COLUMNS", "allocate", "as_teams", "select_teams", "team_costs"]

#: The columns of :func:`team_costs`, in order.
TEAM_COLUMNS = ["recordings", "total_minutes", "billed_minutes", "transcriptions",
                "transcription_charge", "storage_cost_next_month", "storage_cost_next_12_months"]

TeamsLike = Teams | Mapping[str, Sequence[str]] | str | os.PathLike[str]


def as_teams(teams: TeamsLike) -> Teams:
    """``teams`` as :class:`~recording_toolkit.teams.Teams`: read a path, check a mapping."""
    if isinstance(teams, Teams):
        return teams
    if isinstance(teams, str | os.PathLike):
        return load_teams(teams)
    if isinstance(teams, Mapping):
        return Teams.from_mapping(teams)
    raise TypeError(f"teams: expected Teams, a mapping of team -> globs or a teams file's"
                    f" path; got {type(teams).__name__}")


def _team_of_names(names: pd.Series, teams: Teams) -> pd.Series:
    """Each conference name's team (each distinct name matched once), as a categorical in the
    teams' order, Unallocated last."""
    text = names.astype("string")
    distinct = text.dropna().unique()
    chosen = {name: teams.team_of(name) for name in distinct}
    team = text.map(chosen).fillna(UNALLOCATED)
    return pd.Series(pd.Categorical(team.astype(object), categories=list(teams.names)),
                     index=names.index, name="team")


def _allocated(part: pd.DataFrame, teams: Teams, by_id: pd.DataFrame | None) -> pd.DataFrame:
    if "conference_name" in part.columns:
        names = part["conference_name"]
    else:
        assert by_id is not None
        names = lookup(part["recording_id"], by_id["recording_id"], by_id["conference_name"])
        names.index = part.index
    return part.assign(team=_team_of_names(names, teams))


@needs("conference_name", alternatives=[["recording_id"]])
def allocate(frame: Any, teams: TeamsLike, *, recordings: Any = None) -> Any:
    """``frame`` with a ``team`` column: the team that pays for each row.

    Parameters
    ----------
    frame
        Recordings or a joined frame (``conference_name``), or transcriptions
        (``recording_id``, with ``recordings`` to find each one's conference). Pandas or Dask.
    teams
        :class:`~recording_toolkit.teams.Teams`, ``{team: [glob, ...]}`` or a teams file.
    recordings
        The recordings, when ``frame`` has no ``conference_name``: a transcription whose
        recording is not among them (its callback never came) is ``Unallocated``.

    Returns
    -------
    DataFrame
        ``frame`` and ``team``, a categorical of the teams in file order then
        ``Unallocated``; no row is dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b"], "conference_name": ["hr-sync", None]})
    >>> tr = pd.DataFrame({"recording_id": ["a", "b", "x"]})
    >>> allocate(tr, {"People": ["hr-*"]}, recordings=rec)["team"].tolist()
    ['People', 'Unallocated', 'Unallocated']
    """
    chosen = as_teams(teams)
    by_id = None
    if "conference_name" not in frame.columns:
        if recordings is None:
            raise ValueError("allocate: the frame has no conference_name; pass recordings="
                             " to find each row's conference by recording_id")
        require(recordings, ["recording_id", "conference_name"], "allocate")
        by_id = to_pandas(recordings, ["recording_id", "conference_name"]) \
            .drop_duplicates("recording_id")
    if is_dask(frame):
        meta = _allocated(frame._meta, chosen, by_id)
        return frame.map_partitions(_allocated, chosen, by_id, meta=meta)
    return _allocated(frame, chosen, by_id)


@needs("recording_id", "conference_name", "recording_duration_ms", "recording_start")
def team_costs(recordings: Any, transcriptions: Any, teams: TeamsLike, *,
               rates: RateCard | None = None, months: int = 12, now: Any = None
               ) -> pd.DataFrame:
    """Each team's recordings, minutes, transcription charges and storage projection.

    The figures use the summary's definitions (``report --json``), so the teams add up to its
    totals: ``recordings`` counts distinct recording ids, ``billed_minutes`` rounds each
    recording up to whole minutes, ``transcription_charge`` sums the callbacks' charges, each
    charged to its recording's team (``Unallocated`` when the recording callback never came).
    Storage is :func:`~recording_toolkit.analytics.storage_projection` of the team's
    recordings from the same first month as the whole data's.

    Parameters
    ----------
    recordings, transcriptions
        ``schema.RECORDINGS`` and ``schema.TRANSCRIPTIONS`` rows (pandas or Dask), e.g. a
        selection from :func:`~recording_toolkit.analytics.select`.
    teams
        :class:`~recording_toolkit.teams.Teams`, ``{team: [glob, ...]}`` or a teams file.
    rates, months, now
        As for :func:`~recording_toolkit.analytics.storage_projection`.

    Returns
    -------
    DataFrame
        Indexed by ``team`` in file order: every team of the file (zeros when it has
        nothing), then ``Unallocated`` when anything fell to it; :data:`TEAM_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b", "c"],
    ...                     "conference_name": ["legal-calls", "legal-review", "hr-sync"],
    ...                     "recording_duration_ms": [61_000, 30_000, 120_000],
    ...                     "recording_start": pd.to_datetime(["2026-11-02"] * 3, utc=True)})
    >>> tr = pd.DataFrame({"recording_id": ["a", "x"], "transcription_charge": [0.10, 0.05]})
    >>> table = team_costs(rec, tr, {"Legal": ["legal-*"]})
    >>> table[["recordings", "billed_minutes", "transcription_charge"]].to_dict("index")
    {'Legal': {'recordings': 2, 'billed_minutes': 3, 'transcription_charge': 0.1}, \
'Unallocated': {'recordings': 1, 'billed_minutes': 2, 'transcription_charge': 0.05}}
    """
    chosen = as_teams(teams)
    require(transcriptions, ["recording_id", "transcription_charge"], "team_costs")
    rec = allocate(to_pandas(recordings, ["recording_id", "conference_name",
                                          "recording_duration_ms", "recording_start"]), chosen)
    tr = allocate(to_pandas(transcriptions, ["recording_id", "transcription_charge"]), chosen,
                  recordings=rec)
    ms = rec["recording_duration_ms"].astype("Int64")
    values = pd.DataFrame({"recording_id": rec["recording_id"],
                           "ms": ms.astype("Float64").fillna(0.0).astype(float),
                           "billed": rules.billed_minutes(ms).fillna(0).astype("int64")},
                          index=rec.index)
    by_rec = values.groupby(rec["team"], observed=False)
    charge = tr["transcription_charge"].astype("Float64").fillna(0.0).astype(float)
    by_tr = charge.groupby(tr["team"], observed=False)
    first = projection_start(recordings, now=now)
    storage = {team: storage_projection(rec[rec["team"] == team], rates=rates, months=months,
                                        now=first)["cost"] for team in chosen.names}
    out = pd.DataFrame({
        "recordings": by_rec["recording_id"].nunique(),
        "total_minutes": by_rec["ms"].sum() / 60_000,
        "billed_minutes": by_rec["billed"].sum().astype("int64"),
        "transcriptions": by_tr.size().astype("int64"),
        "transcription_charge": by_tr.sum(),
        "storage_cost_next_month": pd.Series({t: float(c.iloc[0]) for t, c in storage.items()}),
        "storage_cost_next_12_months": pd.Series({t: float(c.sum()) for t, c in storage.items()}),
    }).reindex(list(chosen.names))
    out.index = pd.Index(out.index.astype(str), name="team")
    unallocated = out.loc[UNALLOCATED]
    if not (unallocated["recordings"] or unallocated["transcriptions"]):
        out = out.drop(index=UNALLOCATED)
    return out[TEAM_COLUMNS]


@needs("recording_id", "conference_name")
def select_teams(recordings: Any, transcriptions: Any, teams: TeamsLike, names: Iterable[str]
                 ) -> tuple[Any, Any]:
    """The recordings of the teams ``names`` and their transcriptions (a team filter).

    ``"Unallocated"`` among ``names`` also keeps the transcriptions whose recording callback
    never came, as :func:`team_costs` charges them. A name that is not a team is a
    ``ValueError`` naming the teams. Pandas frames (a widget's selection).

    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b"], "conference_name": ["hr-x", "eng-y"]})
    >>> tr = pd.DataFrame({"recording_id": ["a", "b", "z"]})
    >>> rec2, tr2 = select_teams(rec, tr, {"People": ["hr-*"]}, ["Unallocated"])
    >>> rec2["recording_id"].tolist(), tr2["recording_id"].tolist()
    (['b'], ['b', 'z'])
    """
    chosen = as_teams(teams)
    wanted = list(names)
    unknown = [name for name in wanted if name not in chosen.names]
    if unknown:
        raise ValueError(f"select_teams: {unknown} not among the teams"
                         f" {list(chosen.names)}")
    rec = to_pandas(recordings)
    tr = to_pandas(transcriptions)
    rec_team = allocate(rec[["conference_name"]], chosen)["team"]
    tr_team = allocate(tr[["recording_id"]], chosen, recordings=rec)["team"]
    return rec[rec_team.isin(wanted).to_numpy()], tr[tr_team.isin(wanted).to_numpy()]
