"""``ConferencePicker``: choose some of many conferences, with a search, select-all and clear.

Sixty-odd names in a six-row list cannot be scanned; a search box narrows the list, *Select all*
takes every name the search shows, *Clear* empties the choice, and a line says how many are
chosen. What was chosen stays chosen while the search hides it: the choice is :attr:`value`,
the list only shows part of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import traitlets

from .. import formatting

__all__ = ["ConferencePicker"]


class ConferencePicker(widgets.VBox):
    """Several names out of :attr:`options`; nothing chosen means every one.

    Attributes
    ----------
    value
        The chosen names, in the order of :attr:`options` (set it from code as a tuple).
    options
        Every name there is to choose from.
    search
        ``Text``: shows only the names containing it (any case).
    list
        ``SelectMultiple`` of the names the search shows; what is chosen there is chosen.
    select_all, clear
        ``Button``\\ s: choose every name the search shows; choose none.
    chosen
        ``HTML``: how many are chosen, e.g. "3 of 64 selected".
    """

    value = traitlets.Tuple()
    options = traitlets.Tuple()

    def __init__(self, options: Iterable[str] = (), *, rows: int = 8,
                 width: str = "20em") -> None:
        self._busy = False
        self.search = widgets.Text(placeholder="Search conferences",
                                   layout=widgets.Layout(width=width))
        self.list = widgets.SelectMultiple(options=[], rows=rows,
                                           layout=widgets.Layout(width=width))
        self.select_all = widgets.Button(description="Select all", icon="check-square",
                                         tooltip="Choose every conference the list shows",
                                         layout=widgets.Layout(width="auto"))
        self.clear = widgets.Button(description="Clear", icon="square",
                                    tooltip="Choose none: every conference counts",
                                    layout=widgets.Layout(width="auto"))
        self.chosen = widgets.HTML()
        super().__init__([
            widgets.HTML("<b>Conferences</b>"),
            self.search,
            self.list,
            # The count wraps below the buttons rather than widen the picker.
            widgets.HBox([self.select_all, self.clear, self.chosen],
                         layout=widgets.Layout(align_items="center", flex_flow="row wrap",
                                               max_width=width)),
        ])
        self.options = tuple(options)
        self.search.observe(self._show, names="value")
        self.list.observe(self._on_list, names="value")
        self.observe(self._on_options, names="options")
        self.observe(self._show, names="value")
        self.select_all.on_click(self._on_select_all)
        self.clear.on_click(self._on_clear)
        self._show()

    @traitlets.validate("value")
    def _check_value(self, proposal: dict[str, Any]) -> tuple[str, ...]:
        wanted = proposal["value"]
        if isinstance(wanted, str):
            wanted = (wanted,)
        unknown = [name for name in wanted if name not in self.options]
        if unknown:
            raise traitlets.TraitError(
                f"conferences: {', '.join(map(repr, unknown[:5]))} not among the "
                f"{formatting.counted(len(self.options), 'conference')} in the logs")
        chosen = set(wanted)
        return tuple(name for name in self.options if name in chosen)

    @traitlets.validate("options")
    def _check_options(self, proposal: dict[str, Any]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(str(name) for name in proposal["value"]))

    @property
    def shown(self) -> tuple[str, ...]:
        """The names the search shows (all of them without a search)."""
        needle = self.search.value.strip().casefold()
        if not needle:
            return self.options
        return tuple(name for name in self.options if needle in name.casefold())

    @property
    def every(self) -> bool:
        """True when the choice means every conference: none chosen, or all of them."""
        return not self.value or len(self.value) == len(self.options)

    def _on_options(self, change: Any) -> None:
        # Names that went away leave the choice; the rest stay chosen.
        self.value = tuple(name for name in self.value if name in self.options)
        self._show()

    def _on_list(self, change: Any) -> None:
        if self._busy:
            return
        shown = set(self.shown)
        kept = [name for name in self.value if name not in shown]  # hidden by the search
        self.value = (*kept, *change["new"])

    def _on_select_all(self, button: Any = None) -> None:
        self.value = (*self.value, *self.shown)

    def _on_clear(self, button: Any = None) -> None:
        self.value = ()

    def _show(self, change: Any = None) -> None:
        """Put the shown names and the chosen ones among them in the list; say how many."""
        shown = self.shown
        chosen = set(self.value)
        self._busy = True
        try:
            if tuple(self.list.options) != shown:
                self.list.options = shown
            self.list.value = tuple(name for name in shown if name in chosen)
        finally:
            self._busy = False
        total = len(self.options)
        if not self.value:
            text = f"All {total:,} (none selected)"
        else:
            text = f"{len(self.value):,} of {total:,} selected"
        if len(shown) != total:
            text += f"; {len(shown):,} match the search"
        self.chosen.value = f"<span>{text}</span>"

    def close(self) -> None:
        for name in ("search", "list", "select_all", "clear", "chosen"):
            child = self.__dict__.get(name)
            if child is not None:
                child.close()
        super().close()
