"""The CSV tables: every table behind a summary, one ``<name>.csv`` each (``--csv DIR``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from ._summary import Summary

__all__ = ["write_csv"]


def write_csv(summary: Summary, folder: str | os.PathLike[str], *, teams: Any = None
              ) -> dict[str, str]:
    """Write every table of ``summary`` as ``<name>.csv`` into ``folder``; the paths by name.

    Floats are rounded to 6 decimals, as in the JSON summary, so a CSV shows 11.2 rather than
    the 11.200000000000003 that summing minutes leaves behind. ``teams`` (teams, a teams file
    or a :class:`~recording_toolkit.report.TeamCosts`) adds ``by_team.csv``.
    """
    os.makedirs(folder, exist_ok=True)
    written = {}
    tables = dict(summary.tables)
    if teams is not None:
        from ._teams import TeamCosts, cost_by_team

        costs = teams if isinstance(teams, TeamCosts) else cost_by_team(summary, teams)
        tables["by_team"] = costs.table
    for name, frame in tables.items():
        target = os.path.join(os.fspath(folder), f"{name}.csv")
        keep_index = not isinstance(frame.index, pd.RangeIndex)
        floats = frame.select_dtypes(include=[np.floating]).columns
        frame = frame.assign(**{str(c): frame[c].round(6) for c in floats}) if len(floats) \
            else frame
        frame.to_csv(target, index=keep_index)
        written[name] = target
    return written
