"""What a preflight found: one :class:`CheckResult` per check, gathered in a
:class:`PreflightResult` that prints one line per check and shows as a table in a notebook."""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["STATUSES", "CheckResult", "PreflightResult", "Status"]

#: What a check found: ok, warning, failed, or skipped (nothing to check with the options given).
Status = Literal["ok", "warning", "failed", "skipped"]
#: Every status, from good to bad ("skipped": nothing to check with the options given).
STATUSES: tuple[Status, ...] = ("ok", "skipped", "warning", "failed")

_COLOURS = {"ok": ("#1b5e20", "#e8f5e9"), "warning": ("#7a4f01", "#fff4e0"),
            "failed": ("#8e1b1b", "#fdecea"), "skipped": ("#4a4a4a", "#f0f0f0")}
_NAME_WIDTH = 15


@dataclass(frozen=True)
class CheckResult:
    """One check: its ``name``, ``status``, what was ``found`` and the ``fix`` (empty when
    nothing is to be done). ``details`` holds the figures behind it (JSON-ready, no secret)."""

    name: str
    status: Status
    found: str
    fix: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def line(self, width: int | None = None) -> str:
        """The check as one line: status, name, what was found, and the fix.

        With ``width`` (a terminal's columns), a line longer than that wraps at spaces, never
        inside a flag or a URL, and the continuation lines are indented under what was found,
        so the status and name columns stay clear to the eye.
        """
        text = f"{self.status:<8}{self.name:<{_NAME_WIDTH}} {self.found}"
        text = f"{text} -> fix: {self.fix}" if self.fix else text
        if width is None or len(text) <= width:
            return text
        indent = " " * (8 + _NAME_WIDTH + 1)
        return "\n".join(textwrap.wrap(text, width=max(width, len(indent) + 20),
                                        subsequent_indent=indent, break_long_words=False,
                                        break_on_hyphens=False))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "found": self.found,
                "fix": self.fix, "details": dict(self.details)}


@dataclass(frozen=True)
class PreflightResult:
    """The checks of one preflight, in the order they ran.

    ``ok`` is True when no check failed (warnings and skipped checks do not fail it); the CLI
    exits 1 otherwise. ``result["credentials"]`` is one check by name. ``str()`` / ``repr()``
    give one line per check; in a notebook it shows as a table.
    """

    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "failed"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "warning"]

    @property
    def exit_code(self) -> int:
        """0 when no check failed, else 1 (``recording-toolkit doctor``'s exit status)."""
        return 0 if self.ok else 1

    def __getitem__(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check named {name!r}; the checks are"
                       f" {[c.name for c in self.checks]}")

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def summary(self) -> str:
        """``2 ok, 1 warning, 1 failed``: the counts by status, worst last."""
        counts = {s: sum(c.status == s for c in self.checks) for s in STATUSES}
        words = {"warning": "warnings"}
        parts = [f"{n} {words.get(s, s) if n > 1 else s}" for s, n in counts.items() if n]
        return ", ".join(parts) or "no checks"

    def lines(self, width: int | None = None) -> list[str]:
        """One line per check; with ``width``, each wrapped as :meth:`CheckResult.line` says."""
        return [check.line(width) for check in self.checks]

    def to_dict(self) -> dict[str, Any]:
        """``{"ok": ..., "summary": ..., "checks": [...]}`` (what ``doctor --json`` prints)."""
        return {"ok": self.ok, "summary": self.summary(),
                "checks": [c.to_dict() for c in self.checks]}

    def __repr__(self) -> str:
        return "\n".join([f"<PreflightResult: {self.summary()}>", *self.lines()])

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return render_html(self.checks, self.summary(), self.ok)


_FLAG = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")


def _flags(text: str) -> str:
    """Command-line flags in ``text`` as code that never breaks at its hyphens."""
    return _FLAG.sub(r"<code style='white-space:nowrap'>\1</code>", text)


def render_html(checks: Sequence[CheckResult], summary: str, ok: bool) -> str:
    """The checks as an HTML table: a coloured status, the check, what was found, the fix."""
    cell = "padding:6px 10px;border-bottom:1px solid #ddd;vertical-align:top;text-align:left"
    rows = []
    for check in checks:
        ink, paper = _COLOURS[check.status]
        badge = (f"<span style='display:inline-block;min-width:4.5em;text-align:center;"
                 f"padding:1px 6px;border-radius:3px;font-weight:600;color:{ink};"
                 f"background:{paper}'>{html.escape(check.status)}</span>")
        fix = _flags(html.escape(check.fix)) if check.fix else "<span style='color:#777'>–</span>"
        rows.append(
            f"<tr><td style='{cell}'>{badge}</td>"
            f"<td style='{cell};white-space:nowrap;font-weight:600'>{html.escape(check.name)}</td>"
            f"<td style='{cell};overflow-wrap:anywhere'>{_flags(html.escape(check.found))}</td>"
            f"<td style='{cell};overflow-wrap:anywhere'>{fix}</td></tr>")
    head = "".join(f"<th style='{cell};border-bottom:2px solid #999'>{name}</th>"
                   for name in ("Status", "Check", "Found", "Fix"))
    verdict = "Ready" if ok else "Not ready"
    ink = _COLOURS["ok" if ok else "failed"][0]
    return (f"<div><p style='margin:0 0 6px 0'><strong style='color:{ink}'>{verdict}</strong>"
            f" &middot; {html.escape(summary)}</p>"
            f"<table style='border-collapse:collapse;width:100%;max-width:1400px'>"
            f"<colgroup><col style='width:6.5em'><col style='width:9em'><col style='width:52%'>"
            f"<col></colgroup><thead><tr>{head}</tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table></div>")
