"""``DayField``: a UTC day typed as ``YYYY-MM-DD``, whatever the browser's locale.

A ``DatePicker`` shows the browser's own format (``mm/dd/yyyy`` in a US locale) next to pages that
say ``2026-11-09`` everywhere else; this field shows and reads ISO days only, and says plainly
when what was typed is not one.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from typing import Any

import ipywidgets as widgets
import traitlets

__all__ = ["DayField", "parse_day"]

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TAGS = re.compile(r"<[^>]*>")


def parse_day(text: str, field: str) -> date | None:
    """The day ``text`` names as ``YYYY-MM-DD`` (None when empty); a ValueError naming ``field``.

    >>> parse_day(" 2026-11-09 ", "From")
    datetime.date(2026, 11, 9)
    >>> parse_day("11/09/2026", "From")
    Traceback (most recent call last):
    ...
    ValueError: From: '11/09/2026' is not a day; type it as YYYY-MM-DD, e.g. 2026-11-09
    """
    text = text.strip()
    if not text:
        return None
    if _ISO_DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{field}: {text!r} is not a day of the calendar") from None
    raise ValueError(f"{field}: {text!r} is not a day; type it as YYYY-MM-DD, e.g. 2026-11-09")


class DayField(widgets.VBox):
    """A text box for a day as ``YYYY-MM-DD``; :attr:`value` is a ``date`` or None (empty).

    Code sets :attr:`value` (a ``date``, an ISO string or None) and the box shows it; a person
    types into :attr:`text` and presses Enter (or leaves the box), and :attr:`value` follows. A
    day that cannot be read keeps the previous value and shows why under the box
    (:attr:`problem`), until the box holds a day again.
    """

    value = traitlets.Any(None, allow_none=True)

    def __init__(self, description: str, value: Any = None, *, width: str = "16em") -> None:
        self.description = description
        self.text = widgets.Text(description=description, placeholder="YYYY-MM-DD",
                                 continuous_update=False, style={"description_width": "3.5em"},
                                 layout=widgets.Layout(width=width))
        self.problem = widgets.HTML(layout=widgets.Layout(display="none"))
        self._syncing = False
        super().__init__([self.text, self.problem])
        self.text.observe(self._on_text, names="value")
        self.observe(self._on_value, names="value")
        self.value = value

    @traitlets.validate("value")
    def _check_value(self, proposal: dict[str, Any]) -> date | None:
        value = proposal["value"]
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return parse_day(value, self.description)
            except ValueError as exc:
                raise traitlets.TraitError(str(exc)) from None
        raise traitlets.TraitError(f"{self.description}: expected a date, a YYYY-MM-DD string "
                                   f"or None, got {type(value).__name__}")

    def _on_value(self, change: Any = None) -> None:
        self._syncing = True
        try:
            self.text.value = "" if self.value is None else self.value.isoformat()
        finally:
            self._syncing = False
        self._show_problem("")

    def _on_text(self, change: Any) -> None:
        if self._syncing:
            return
        try:
            day = parse_day(change["new"], self.description)
        except ValueError as exc:
            self._show_problem(str(exc))
            return
        if day == self.value:
            self._show_problem("")
        else:
            self.value = day

    def _show_problem(self, text: str) -> None:
        self.problem.value = (f'<span style="color:var(--jp-error-color1,#d32f2f)">'
                              f"{html.escape(text)}</span>") if text else ""
        self.problem.layout.display = None if text else "none"

    @property
    def error(self) -> str:
        """Why the text in the box is not a day ('' when it is one, or empty)."""
        return html.unescape(_TAGS.sub("", self.problem.value))

    def close(self) -> None:
        for child in (self.__dict__.get("text"), self.__dict__.get("problem")):
            if child is not None:
                child.close()
        super().close()

