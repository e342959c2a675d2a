"""Teams for chargeback: which conference names each team pays for, read from a TOML file.

Cost reports end in "who pays". Conference names carry the team (``hr-standup``,
``legal-calls``), so a teams file lists, per team, glob patterns matched against
``conference_name``::

    # teams.toml
    [teams]
    Hiring = ["*-interviews"]            # listed first: interviews go here, whoever holds them
    Engineering = ["eng-*", "ops-*"]
    Legal = ["legal-*"]

Rules, so the same file always gives the same answer:

- Teams are tried in file order and the first team with a matching pattern wins, so a
  recording is counted once.
- Patterns are shell globs (``*``, ``?``, ``[seq]``, ``[!seq]``; :func:`fnmatch.fnmatchcase`)
  matched against the whole conference name, case-sensitively (``HR-*`` does not match
  ``hr-standup``).
- A conference no pattern matches, or a recording with no conference name, goes to
  :data:`UNALLOCATED`: shown as such, never dropped.
- The file is checked when read: a key other than ``teams``, a team that is not a list of
  patterns, an empty or unclosed (``[abc``) pattern, a team named ``Unallocated``, or no team
  at all is one :class:`~recording_toolkit.errors.ConfigurationError` naming the file and line.

:func:`recording_toolkit.analytics.allocate` adds the ``team`` column to a frame;
``docs/report.md`` ("Cost by team") shows the report's section.

Examples
--------
>>> teams = Teams.from_mapping({"Hiring": ["*-interviews"], "Legal": ["legal-*"]})
>>> [teams.team_of(name) for name in ("legal-interviews", "legal-calls", "hr-sync", None)]
['Hiring', 'Legal', 'Unallocated', 'Unallocated']
>>> teams.names
('Hiring', 'Legal', 'Unallocated')
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from .errors import ConfigurationError

__all__ = ["UNALLOCATED", "Teams", "load_teams"]

#: The team of every recording no pattern matches (and of transcriptions whose recording
#: callback never came): listed last, never dropped.
UNALLOCATED = "Unallocated"


@dataclass(frozen=True)
class Teams:
    """Teams and their conference-name patterns, in the order they are tried.

    Attributes
    ----------
    patterns
        ``((team, (pattern, ...)), ...)`` in file order.
    source
        Where they came from (the file's path, or ``"mapping"``), for messages.
    """

    patterns: tuple[tuple[str, tuple[str, ...]], ...]
    source: str = "mapping"

    @classmethod
    def from_mapping(cls, teams: Mapping[str, Sequence[str]], *, source: str = "mapping"
                     ) -> Teams:
        """Teams from ``{name: [pattern, ...]}`` (in the mapping's order), checked as a file is.

        >>> Teams.from_mapping({"Legal": ["legal-["]})
        Traceback (most recent call last):
        ...
        recording_toolkit.errors.ConfigurationError: teams mapping: team 'Legal': pattern 'legal-[' has a '[' with no closing ']'
        """
        return cls(_checked(teams, f"teams {source}", {}), source=source)

    @property
    def names(self) -> tuple[str, ...]:
        """Every team in file order, then :data:`UNALLOCATED`."""
        return (*(name for name, _ in self.patterns), UNALLOCATED)

    def team_of(self, conference_name: Any) -> str:
        """The team that pays for ``conference_name`` (first match wins; else Unallocated)."""
        if not isinstance(conference_name, str):
            return UNALLOCATED
        for name, patterns in self.patterns:
            if any(fnmatchcase(conference_name, pattern) for pattern in patterns):
                return name
        return UNALLOCATED

    def as_dict(self) -> dict[str, list[str]]:
        """``{team: [pattern, ...]}`` in file order (for JSON and display)."""
        return {name: list(patterns) for name, patterns in self.patterns}


def load_teams(path: str | os.PathLike[str]) -> Teams:
    """Read and check a teams file (see the module docstring for its form and rules).

    Raises :class:`~recording_toolkit.errors.ConfigurationError` naming the file, and the line
    where the fault is.
    """
    name = os.fspath(path)
    where = f"teams file {name!r}"
    try:
        with open(name, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise ConfigurationError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{where} is a folder, not a file") from None
    except OSError as exc:
        raise ConfigurationError(f"{where}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{where}: not UTF-8 text, so not TOML") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line N, column M)"
        raise ConfigurationError(f"{where}: not valid TOML: {exc}") from None
    lines = _key_lines(text)
    unknown = [key for key in data if key != "teams"]
    if unknown:
        key = unknown[0]
        raise ConfigurationError(f"{where}{_at(lines, (key,))}: unknown key {key!r}; a teams"
                                 " file holds one [teams] table of Name = [\"glob\", ...]")
    if "teams" not in data:
        raise ConfigurationError(f"{where}: no [teams] table; write [teams] then"
                                 " Name = [\"glob\", ...] for each team")
    if not isinstance(data["teams"], dict):
        raise ConfigurationError(f"{where}{_at(lines, ('teams',))}: 'teams' must be a table"
                                 " ([teams]) of Name = [\"glob\", ...]")
    return Teams(_checked(data["teams"], where, lines), source=name)


def _checked(teams: Mapping[str, Any], where: str, lines: Mapping[tuple[str, ...], int]
             ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The teams as tuples, after checking every name and pattern (errors name the line)."""
    if not teams:
        raise ConfigurationError(f"{where}: names no team; write Name = [\"glob\", ...] under"
                                 " [teams]")
    out = []
    for team, patterns in teams.items():
        at = _at(lines, ("teams", team))
        if not isinstance(team, str) or not team.strip():
            raise ConfigurationError(f"{where}{at}: a team needs a name")
        if team == UNALLOCATED:
            raise ConfigurationError(f"{where}{at}: {UNALLOCATED!r} is the team of what no"
                                     " pattern matches; it cannot be listed")
        if isinstance(patterns, str) or not isinstance(patterns, Sequence) or not patterns:
            raise ConfigurationError(f"{where}{at}: team {team!r} must be a non-empty list of"
                                     f" glob patterns, such as [\"{team.lower()}-*\"]; got"
                                     f" {patterns!r}")
        for pattern in patterns:
            problem = _pattern_problem(pattern)
            if problem:
                raise ConfigurationError(f"{where}{at}: team {team!r}: {problem}")
        out.append((team, tuple(patterns)))
    return tuple(out)


def _pattern_problem(pattern: Any) -> str | None:
    """Why ``pattern`` is not a usable glob (None when it is)."""
    if not isinstance(pattern, str):
        return f"pattern {pattern!r} is not text"
    if not pattern.strip():
        return f"pattern {pattern!r} is empty"
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":  # a ']' first is part of the set
                j += 1
            close = pattern.find("]", j)
            if close < 0:
                return f"pattern {pattern!r} has a '[' with no closing ']'"
            i = close
        i += 1
    return None


_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """``(table, key)`` and ``(key,)`` (top level) -> the line (1-based) where it is defined.

    Enough of TOML's layout to point at a line: ``[table]`` headers and ``key =`` lines (bare
    or quoted keys); a key written any other way is reported without a line.
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    depth = 0  # inside a multi-line array: its lines hold no keys
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 0:
            header = _TABLE.match(line)
            if header:
                table = tuple(_unquote(part) for part in header.group(1).split("."))
                lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                lines.setdefault((*table, _unquote(key.group(1))), number)
        depth = max(0, depth + _brackets(line))
    return lines


def _brackets(line: str) -> int:
    """How many more '[' than ']' a line opens, outside strings and comments."""
    count, quote = 0, ""
    for char in line:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char == "[":
            count += 1
        elif char == "]":
            count -= 1
    return count


def _unquote(key: str) -> str:
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
        return key[1:-1]
    return key


def _at(lines: Mapping[tuple[str, ...], int], key: tuple[str, ...]) -> str:
    number = lines.get(key)
    return f", line {number}" if number else ""
